//! The fast path of `compose-up --watch`: a service's new binary is copied into its
//! running container, and the service restarts in place: `SIGHUP` (the Docker Engine API's
//! kill with a signal) makes it drain and re-execute the binary at its path, keeping its
//! process id and its listening socket (`crates/reexec`). The loop reads the
//! process's instance id (`x-instance-id` on `/healthz`) before the signal and waits until
//! a new one answers. When the running binary has no instance id (an image from before the
//! restart in place), the signal cannot be sent, or no new process answers within
//! [`REEXEC_BOUND`] (a crash at start), Docker restarts the container instead, and the
//! block says why.
//!
//! The copy goes through the archive endpoint (`PUT /containers/{id}/archive`, by
//! `docker cp`, else by bollard from here): the daemon unpacks a one-file tar into the
//! container's writable layer, so the
//! `FROM scratch` image needs no shell and no `tar`. The daemon removes the old file before
//! writing the new one, so the running process keeps its own copy until the restart. The
//! container keeps its id, name, labels, volume and published ports: `compose ps` and
//! `compose down` see the same project as before. The image with the new binary is still
//! packaged and loaded (by the caller, after the new version answers), so that the next
//! `compose up` creates the container from an image that holds what it runs.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bollard::query_parameters::{
    KillContainerOptions, RestartContainerOptions, UploadToContainerOptions,
};
use deploykit_image::Engine;

use crate::build_images::{self, Mode};

/// How long Docker lets the old process exit gracefully before killing it (compose's own
/// default for `stop`).
const STOP_GRACE_SECONDS: i32 = 10;

/// How long the new process may take to answer after `SIGHUP` (the old one drains its
/// requests first) before Docker restarts the container instead.
const REEXEC_BOUND: Duration = Duration::from_secs(15);

/// The response header naming the process that answered (`crates/reexec`).
const INSTANCE_HEADER: &str = "x-instance-id";

/// A connection to the Docker Engine that runs the app, able to swap binaries.
pub(crate) struct Swapper {
    runtime: tokio::runtime::Runtime,
    engine: Engine,
}

/// The time of each step of one swap.
pub(crate) struct Swapped {
    /// Copying the binary into the container.
    pub copy: Duration,
    /// How the new binary was started.
    pub restart: Restart,
}

/// How the new binary was started.
pub(crate) enum Restart {
    /// The service re-executed itself: from the signal to the new process answering.
    InPlace(Duration),
    /// Docker restarted the container (the service is not answering yet).
    ByDocker {
        /// Stopping the old process and starting the container again.
        took: Duration,
        /// Why the restart in place was not used, or did not work.
        why: String,
    },
}

impl Swapper {
    /// Connects to the daemon DOCKER_HOST names; `None` when that daemon cannot run the
    /// binaries built here (another OS or architecture: images are built from
    /// Dockerfiles there, and the loop recreates containers through compose instead).
    pub(crate) fn connect() -> anyhow::Result<Option<Self>> {
        let runtime = build_images::runtime()?;
        let engine = runtime.block_on(Engine::connect())?;
        let mode = runtime.block_on(build_images::default_mode(&engine))?;
        Ok((mode == Mode::Package).then_some(Self { runtime, engine }))
    }

    /// Installs `binary` as `/<name>` in `container` (mode 0755, owned by root, as the
    /// image's layer has it), then has the service restart in place (its `/healthz` at
    /// `health`), or Docker restart the container.
    pub(crate) fn swap(
        &self,
        container: &str,
        binary: &Path,
        name: &str,
        health: &str,
    ) -> anyhow::Result<Swapped> {
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(1))
            .build()
            .context("cannot make an HTTP client")?;
        let running = instance(&http, health);
        let started = Instant::now();
        self.copy_in(container, binary, name)?;
        let copy = started.elapsed();
        let why = match running {
            Ok(old) => match self.reexec(container, &http, health, &old) {
                Ok(took) => {
                    return Ok(Swapped {
                        copy,
                        restart: Restart::InPlace(took),
                    });
                }
                Err(why) => why,
            },
            Err(why) => why,
        };
        let took = self.restart(container)?;
        Ok(Swapped {
            copy,
            restart: Restart::ByDocker { took, why },
        })
    }

    /// Copies `binary` into `container` as `/<name>`: with the Docker CLI's `docker cp`
    /// (the same archive endpoint), else, when there is no `docker` to run, through the
    /// API from here. At a load of 7-8 `docker cp` took 0.2 s for the 36 MB binary, where
    /// the same upload from xtask's unoptimised dev build (bollard) took 0.9-1.1 s.
    fn copy_in(&self, container: &str, binary: &Path, name: &str) -> anyhow::Result<()> {
        let destination = format!("{container}:/{name}");
        let copied = std::process::Command::new("docker")
            .arg("cp")
            .arg(binary)
            .arg(&destination)
            .stdin(std::process::Stdio::null())
            .output();
        match copied {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => anyhow::bail!(
                "cannot copy {} into {container}: docker cp: {}",
                binary.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(_) => self.upload(container, binary, name),
        }
    }

    /// Copies `binary` into `container` as `/<name>` through the Engine API's archive
    /// upload.
    fn upload(&self, container: &str, binary: &Path, name: &str) -> anyhow::Result<()> {
        let archive = one_file_tar(binary, name)?;
        let options = UploadToContainerOptions {
            path: "/".to_string(),
            ..UploadToContainerOptions::default()
        };
        self.runtime
            .block_on(self.engine.client().upload_to_container(
                container,
                Some(options),
                bollard::body_full(archive.into()),
            ))
            .with_context(|| format!("cannot copy {} into {container}", binary.display()))
    }

    /// Sends `SIGHUP` to `container` and waits until a process other than `old` answers
    /// `health`; how long that took, or why it did not happen.
    fn reexec(
        &self,
        container: &str,
        http: &reqwest::blocking::Client,
        health: &str,
        old: &str,
    ) -> Result<Duration, String> {
        let started = Instant::now();
        let options = KillContainerOptions {
            signal: "SIGHUP".to_string(),
        };
        self.runtime
            .block_on(
                self.engine
                    .client()
                    .kill_container(container, Some(options)),
            )
            .map_err(|error| format!("cannot send SIGHUP: {error}"))?;
        while started.elapsed() < REEXEC_BOUND {
            if instance(http, health).is_ok_and(|now| now != old) {
                return Ok(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!(
            "no new process answered {health} within {} s of SIGHUP (did the new binary crash at start? `docker logs {container}` tells)",
            REEXEC_BOUND.as_secs()
        ))
    }

    /// Docker's restart of `container`; how long it took.
    fn restart(&self, container: &str) -> anyhow::Result<Duration> {
        let restarting = Instant::now();
        let options = RestartContainerOptions {
            t: Some(STOP_GRACE_SECONDS),
            ..RestartContainerOptions::default()
        };
        self.runtime
            .block_on(
                self.engine
                    .client()
                    .restart_container(container, Some(options)),
            )
            .with_context(|| format!("cannot restart {container}"))?;
        Ok(restarting.elapsed())
    }
}

/// The instance id of the process answering `health`, or why there is none.
fn instance(http: &reqwest::blocking::Client, health: &str) -> Result<String, String> {
    let response = http
        .get(health)
        .send()
        .map_err(|error| format!("{health} does not answer ({error})"))?;
    if !response.status().is_success() {
        return Err(format!("{health} answers {}", response.status()));
    }
    response
        .headers()
        .get(INSTANCE_HEADER)
        .and_then(|id| id.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            format!("the running binary cannot restart in place (no {INSTANCE_HEADER} on {health})")
        })
}

/// A tar archive holding `binary` as `name`, executable, owned by root.
fn one_file_tar(binary: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let data =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    let mut builder = tar::Builder::new(Vec::with_capacity(data.len() + 2048));
    builder
        .append_data(&mut header, name, data.as_slice())
        .with_context(|| format!("cannot archive {}", binary.display()))?;
    builder
        .into_inner()
        .with_context(|| format!("cannot archive {}", binary.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_holds_the_binary_executable_and_owned_by_root() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let binary = folder.path().join("built");
        std::fs::write(&binary, b"\x7fELF new version").expect("write");
        let archive = one_file_tar(&binary, "todo-backend").expect("archive");
        let mut entries = tar::Archive::new(archive.as_slice());
        let mut found = Vec::new();
        for entry in entries.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let header = entry.header().clone();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).expect("content");
            found.push((
                entry.path().expect("path").display().to_string(),
                header.mode().expect("mode"),
                header.uid().expect("uid"),
                content,
            ));
        }
        assert_eq!(
            found,
            vec![(
                "todo-backend".to_string(),
                0o755,
                0,
                b"\x7fELF new version".to_vec()
            )]
        );
        let missing = one_file_tar(&folder.path().join("missing"), "todo-backend");
        assert!(
            missing.is_err_and(|error| error.to_string().contains("cannot read")),
            "a missing binary is an error naming it"
        );
    }
}
