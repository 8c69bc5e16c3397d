//! The fast path of `compose-up --watch`: a service's new binary is copied into its
//! running container and the container is restarted, through the Docker Engine API.
//!
//! The copy goes through the archive endpoint (`PUT /containers/{id}/archive`): the
//! daemon unpacks a one-file tar made here into the container's writable layer, so the
//! `FROM scratch` image needs no shell and no `tar`. The daemon removes the old file before
//! writing the new one, so the running process keeps its own copy until the restart. The
//! container keeps its id, name, labels, volume and published ports: `compose ps` and
//! `compose down` see the same project as before. The image with the new binary is still
//! packaged and loaded (by the caller, after the new version answers), so that the next
//! `compose up` creates the container from an image that holds what it runs.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bollard::query_parameters::{RestartContainerOptions, UploadToContainerOptions};
use deploykit_image::Engine;

use crate::build_images::{self, Mode};

/// How long Docker lets the old process exit gracefully before killing it (compose's own
/// default for `stop`).
const STOP_GRACE_SECONDS: i32 = 10;

/// A connection to the Docker Engine that runs the app, able to swap binaries.
pub(crate) struct Swapper {
    runtime: tokio::runtime::Runtime,
    engine: Engine,
}

/// The time of each step of one swap.
pub(crate) struct Swapped {
    /// Copying the binary into the container.
    pub copy: Duration,
    /// Stopping the old process and starting the new one.
    pub restart: Duration,
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
    /// image's layer has it), then restarts the container.
    pub(crate) fn swap(
        &self,
        container: &str,
        binary: &Path,
        name: &str,
    ) -> anyhow::Result<Swapped> {
        let started = Instant::now();
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
            .with_context(|| format!("cannot copy {} into {container}", binary.display()))?;
        let copy = started.elapsed();
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
        Ok(Swapped {
            copy,
            restart: restarting.elapsed(),
        })
    }
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
