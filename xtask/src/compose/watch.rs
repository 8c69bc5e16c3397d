//! `compose-up --watch`: once the app is up, watches each service's source folder and the
//! `.env` file, and for every batch of saved changes does the least work:
//!
//! - a service's source: compile (the `watch` profile, statically); when the binary
//!   changed, copy it into the service's running container and restart that container
//!   (`swap.rs`: no compose round trip, no image on the way to the new version), then
//!   package and load its image, so that the next `compose up` creates the container from
//!   an image holding what it runs. Where the daemon cannot run the binaries built here
//!   (images built from Dockerfiles), or the copy fails: package the image, then
//!   `compose up` with every service's current image, so compose recreates only the
//!   container whose image changed;
//! - `.env`: `compose up`, so compose recreates the containers whose configuration reads it
//!   (the backend's `env_file`, and any service whose `${VAR}` it sets);
//! - a change that gives the same image: nothing is recreated;
//! - a compile error: shown by cargo; nothing is recreated, the running version stays up.
//!
//! What was recreated is read from the container ids before and after, not guessed. Images
//! that watch cycles superseded are removed, keeping each service's current and previous
//! one (and the one each container was created from, until compose recreates it), so a day
//! of editing does not fill the disk. Ctrl-C stops watching and leaves the
//! last good version running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};

use super::Session;
use super::docker;
use super::swap::{Restart, Swapper};
use super::up::wait_healthy;
use crate::build_images::{
    BuildOptions, BuiltImage, CargoProfile, build_services, static_binaries, static_build,
    static_target,
};
use crate::cargo_build::{self, Compiled};
use crate::changes::{self, Affected, Batch, ChangeFilter, seconds};
use crate::dev::same_contents;
use crate::project;
use crate::rebuild::{ImageHistory, rebuild};

/// Watches and applies changes until Ctrl-C (or SIGTERM); `images` are the compose
/// variables naming each service's image (`TODO_BACKEND_IMAGE`) and the references the app
/// runs now.
pub fn run(
    session: &Session,
    images: Vec<(String, String)>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _entered = runtime.enter();
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;

    let root = project::root();
    let filter = ChangeFilter::new(&root)?;
    let env_file = session.settings.env_file.clone();
    let (watcher, mut events) = changes::watch(&root, &[], std::slice::from_ref(&env_file))?;
    let swapper = match Swapper::connect() {
        Ok(swapper) => swapper,
        Err(error) => {
            eprintln!(
                "cannot reach the Docker Engine API ({error:#}): changed services will be recreated through compose"
            );
            None
        }
    };
    let binaries = static_binaries(&root, CargoProfile::Watch);
    if swapper.is_some() {
        // compose-up just packaged and started these.
        for service in project::SERVICES {
            note_in_container(&binaries, service.binary, &binaries.join(service.binary));
        }
    }
    let mut app = App {
        session,
        created_from: images.iter().cloned().collect(),
        images: ImageHistory::new(images),
        superseded: Vec::new(),
        timeout,
        cycles: 0,
        swapper,
        root,
        binaries,
    };
    println!(
        "\nwatching backend/, frontend/ and {}; press Ctrl-C to stop watching (the app keeps running)",
        env_file.display()
    );

    loop {
        let wakeup = runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => None,
                _ = terminate.recv() => None,
                Some(result) = events.recv() => Some(result),
            }
        });
        let Some(result) = wakeup else { break };
        let batch = Batch::of(&filter, &env_file, &[], result);
        if !batch.is_empty() {
            app.cycle(&batch);
        }
    }
    drop(watcher);
    println!(
        "stopped watching; the app keeps running the last good version (`cargo xtask compose-down` stops it)"
    );
    Ok(())
}

/// Where the loop keeps a hard link to the binary `binary`'s container runs, next to
/// the binaries cargo writes (cargo replaces its own output, never this link), so that a
/// new build is compared with it byte for byte.
fn in_container(folder: &Path, binary: &str) -> PathBuf {
    folder.join(format!("{binary}.in-container"))
}

/// Notes `built` as the binary `binary`'s container runs (a hard link, else a copy). When
/// that fails, no binary is noted, and the next build is taken as changed.
fn note_in_container(folder: &Path, binary: &str, built: &Path) {
    let link = in_container(folder, binary);
    let _ = std::fs::remove_file(&link);
    if std::fs::hard_link(built, &link).is_err() {
        let _ = std::fs::copy(built, &link);
    }
}

/// The running app and what it runs.
struct App<'a> {
    session: &'a Session,
    /// Each service's current and previous image.
    images: ImageHistory,
    /// The image each container was created from (by compose-variable), which Docker
    /// refuses to remove while the container exists, even once its binary was swapped.
    created_from: BTreeMap<String, String>,
    /// Images neither current nor previous any more, removed once the cycle applied (and
    /// no container was created from them).
    superseded: Vec<String>,
    timeout: Duration,
    cycles: u32,
    /// Swaps binaries into running containers; `None` when the daemon cannot run the
    /// binaries built here (then containers are recreated through compose).
    swapper: Option<Swapper>,
    root: PathBuf,
    /// Where the `watch` profile's static binaries are built (and the links to those the
    /// containers run: [`in_container`]).
    binaries: PathBuf,
}

/// What a cycle did for one service, before the containers are touched.
struct Rebuilt {
    service: &'static str,
    /// `compile ..., package ..., load ...`.
    times: String,
    /// The new image, when it differs from the running one.
    new_image: Option<String>,
}

impl App<'_> {
    /// One cycle: rebuild what changed and put it in place, print one block.
    fn cycle(&mut self, batch: &Batch) {
        self.cycles += 1;
        println!();
        println!(
            "[{}] {}",
            self.cycles,
            batch.header(&self.session.settings.env_file)
        );
        if self.swapper.is_some() {
            self.cycle_swapping(batch);
        } else {
            self.cycle_recreating(batch);
        }
    }

    /// A cycle where changed binaries are swapped into the running containers; `.env`
    /// still goes through `compose up` (the containers' configuration changes).
    fn cycle_swapping(&mut self, batch: &Batch) {
        let services: Vec<&'static project::Service> =
            batch.affected.iter().map(|item| item.service).collect();
        let compile_started = Instant::now();
        let compiled = match self.compile(&services) {
            Ok(compiled) => compiled,
            Err(error) => {
                for service in &services {
                    println!(
                        "    {}: not rebuilt: {error:#} ({}); the running version stays up",
                        service.name,
                        seconds(compile_started.elapsed())
                    );
                }
                if batch.env_changed {
                    println!(
                        "    .env: not applied either, so that the running version stays whole"
                    );
                }
                return;
            }
        };
        let compile = compile_started.elapsed();
        let mut replaced: Vec<&str> = Vec::new();
        for service in &services {
            if self.put_in_place(service, compile) {
                replaced.push(service.name);
            }
        }
        for (service, compiled) in services.iter().zip(compiled) {
            compiled.finish(service.package);
        }
        let mut recreated_for_env = Vec::new();
        if batch.env_changed {
            match self.apply(&[]) {
                Ok(recreated) => recreated_for_env = recreated,
                Err(error) => println!("    .env: not applied: {error:#}; the loop keeps watching"),
            }
        }
        let mut untouched = Vec::new();
        for service in &self.session.settings.services {
            let times = recreated_for_env
                .iter()
                .find(|(container, _)| *container == service.container)
                .map(|(_, times)| times);
            match times {
                Some(times) => println!(
                    "    {}: recreated for .env ({times}): {}",
                    service.name,
                    self.session.settings.url(service)
                ),
                None if !services.iter().any(|built| built.name == service.name) => {
                    untouched.push(service.name)
                }
                None => {}
            }
        }
        if !untouched.is_empty() {
            println!("    not affected: {}", untouched.join(", "));
        }
        if !replaced.is_empty() || !recreated_for_env.is_empty() {
            self.remove_superseded();
        }
    }

    /// Compiles `services` (the `watch` profile, statically, one cargo run each), each up
    /// to cargo's message that its binary is written: the last cargo run may still be
    /// finishing while its binary is put in place. On a compile error, the runs made so
    /// far are waited for and nothing is returned.
    fn compile(&self, services: &[&'static project::Service]) -> anyhow::Result<Vec<Compiled>> {
        let mut compiled = Vec::new();
        for service in services {
            let command = static_build(
                &self.root,
                service.package,
                &static_target(),
                CargoProfile::Watch,
                false,
            );
            match cargo_build::until_binary(command, service.package) {
                Ok(done) => compiled.push(done),
                Err(error) => {
                    for (done, service) in compiled.into_iter().zip(services) {
                        done.finish(service.package);
                    }
                    return Err(error);
                }
            }
        }
        Ok(compiled)
    }

    /// After `service` compiled (in `compile`): restarts its container with the new binary
    /// when the binary changed, then packages its image; prints the service's lines.
    /// Whether the running version was replaced.
    fn put_in_place(&mut self, service: &project::Service, compile: Duration) -> bool {
        let Some(settings) = self.session.settings.service(service.name).cloned() else {
            return false;
        };
        let binary = self.binaries.join(service.binary);
        let compare_started = Instant::now();
        // Not noted (or unreadable): taken as changed.
        let unchanged =
            same_contents(&in_container(&self.binaries, service.binary), &binary).unwrap_or(false);
        let built = format!(
            "compile {}, compare {}",
            seconds(compile),
            seconds(compare_started.elapsed())
        );
        if unchanged {
            println!(
                "    {}: rebuilt ({built}), binary unchanged: nothing restarted",
                service.name
            );
            return false;
        }
        let url = self.session.settings.url(&settings);
        let health = format!("{url}/healthz");
        let swapped = self
            .swapper
            .as_ref()
            .map(|swapper| swapper.swap(&settings.container, &binary, service.binary, &health));
        match swapped {
            Some(Ok(swapped)) => {
                note_in_container(&self.binaries, service.binary, &binary);
                let (how, ready) = match swapped.restart {
                    Restart::InPlace(took) => (
                        format!(
                            "restarted in place with the new binary (copy {}, re-exec {})",
                            seconds(swapped.copy),
                            seconds(took)
                        ),
                        Ok(()),
                    ),
                    Restart::ByDocker { took, why } => {
                        let ready_started = Instant::now();
                        let ready = self.wait_ready(&[settings.container.as_str()]);
                        let how = format!(
                            "restarted by Docker, not in place ({why}), with the new binary (copy {}, restart {}, ready {})",
                            seconds(swapped.copy),
                            seconds(took),
                            seconds(ready_started.elapsed())
                        );
                        (how, ready)
                    }
                };
                match ready {
                    Ok(()) => println!("    {}: rebuilt ({built}), {how}: {url}", service.name),
                    Err(error) => println!(
                        "    {}: rebuilt ({built}), {how}, but {error:#}",
                        service.name
                    ),
                }
                self.package(service, &settings.image_var);
                true
            }
            Some(Err(error)) => {
                self.recreate_instead(service, &settings, &built, &format!("{error:#}"))
            }
            None => false,
        }
    }

    /// Packages the image of `service` from the binary just put in place (its content tag
    /// names what the container now runs), makes it the service's current image and prints
    /// its line; the image it supersedes is removed at the end of the cycle.
    fn package(&mut self, service: &project::Service, image_var: &str) -> Option<BuiltImage> {
        let options = BuildOptions {
            services: vec![service.name.to_string()],
            watch_profile: true,
            precompiled: Some(self.binaries.clone()),
            ..BuildOptions::default()
        };
        let image = match build_services(&options).map(|mut images| images.pop()) {
            Ok(Some(image)) => image,
            Ok(None) => return None,
            Err(error) => {
                println!(
                    "    {} image: not packaged: {error:#}; the next `compose up` recreates the container from its previous image",
                    service.name
                );
                return None;
            }
        };
        println!(
            "    {} image: {} (package {}, load {})",
            service.name,
            image.reference,
            seconds(image.build_time.saturating_sub(image.load_time)),
            seconds(image.load_time)
        );
        if self.images.current.get(image_var) != Some(&image.reference) {
            self.superseded
                .extend(self.images.replace(image_var, &image.reference));
        }
        Some(image)
    }

    /// When the binary could not be swapped in (`why`): packages the image and has compose
    /// recreate the container from it. Whether the container was recreated.
    fn recreate_instead(
        &mut self,
        service: &project::Service,
        settings: &super::settings::Service,
        built: &str,
        why: &str,
    ) -> bool {
        println!(
            "    {}: cannot restart its container with the new binary ({why}): recreating it through compose",
            service.name
        );
        if self.package(service, &settings.image_var).is_none() {
            return false;
        }
        match self.apply(&[service.name]) {
            Ok(recreated) => {
                let url = self.session.settings.url(settings);
                match recreated
                    .iter()
                    .find(|(container, _)| *container == settings.container)
                {
                    Some((_, times)) => {
                        let binary = self.binaries.join(service.binary);
                        note_in_container(&self.binaries, service.binary, &binary);
                        println!(
                            "    {}: rebuilt ({built}), recreated ({times}): {url}",
                            service.name
                        );
                        true
                    }
                    None => {
                        println!(
                            "    {}: rebuilt ({built}), but compose did not recreate its container",
                            service.name
                        );
                        false
                    }
                }
            }
            Err(error) => {
                println!(
                    "    {}: not applied: {error:#}; the loop keeps watching",
                    service.name
                );
                false
            }
        }
    }

    /// A cycle where changed services' images are packaged and compose recreates their
    /// containers (images built from Dockerfiles: the binaries built here do not run on
    /// the daemon).
    fn cycle_recreating(&mut self, batch: &Batch) {
        let rebuilt = match self.rebuild(&batch.affected) {
            Ok(rebuilt) => rebuilt,
            Err(line) => {
                for item in &batch.affected {
                    println!("    {}: {line}", item.service.name);
                }
                if batch.env_changed {
                    println!(
                        "    .env: not applied either, so that the running version stays whole"
                    );
                }
                return;
            }
        };
        for item in &rebuilt {
            if item.new_image.is_none() {
                println!(
                    "    {}: rebuilt ({}), image unchanged: nothing recreated",
                    item.service, item.times
                );
            }
        }
        let changed: Vec<&str> = rebuilt
            .iter()
            .filter(|item| item.new_image.is_some())
            .map(|item| item.service)
            .collect();
        let recreated = if batch.env_changed {
            // `.env` may concern any service: compose decides which to recreate.
            self.apply(&[])
        } else if !changed.is_empty() {
            self.apply(&changed)
        } else {
            Ok(Vec::new())
        };
        match recreated {
            Ok(recreated) => {
                self.report(&rebuilt, &recreated);
                self.remove_superseded();
            }
            Err(error) => println!("    not applied: {error:#}; the loop keeps watching"),
        }
    }

    /// Removes the superseded images; one a container still uses is kept, and said so.
    fn remove_superseded(&mut self) {
        let (pinned, removable): (Vec<String>, Vec<String>) = std::mem::take(&mut self.superseded)
            .into_iter()
            .partition(|reference| self.created_from.values().any(|from| from == reference));
        // A container created from it still exists: removed once compose recreates it.
        self.superseded = pinned;
        for reference in removable {
            match docker::remove_image(&self.session.sh, &reference) {
                Ok(()) => println!(
                    "    removed superseded image {reference} (the current and the previous one are kept)"
                ),
                Err(why) => println!("    kept superseded image {reference}: {why}"),
            }
        }
    }

    /// Compiles and packages the affected services; the error line when compiling fails.
    fn rebuild(&mut self, affected: &[Affected]) -> Result<Vec<Rebuilt>, String> {
        if affected.is_empty() {
            return Ok(Vec::new());
        }
        let services: Vec<&project::Service> = affected.iter().map(|item| item.service).collect();
        let built = rebuild(&services, None)?;
        let mut rebuilt = Vec::new();
        for image in &built.images {
            let Some(service) = self.session.settings.service(image.service) else {
                continue;
            };
            let running = self.images.current.get(&service.image_var);
            let new_image = (running != Some(&image.reference)).then(|| image.reference.clone());
            if new_image.is_some() {
                self.superseded
                    .extend(self.images.replace(&service.image_var, &image.reference));
            }
            rebuilt.push(Rebuilt {
                service: image.service,
                times: built.times(image),
                new_image,
            });
        }
        Ok(rebuilt)
    }

    /// `compose up` with every service's current image, of `only` these services when
    /// given (`--no-deps`: compose v1 would otherwise wait for the backend's Docker
    /// healthcheck, a 2 s interval, before it looks at the frontend, which depends on it);
    /// waits until the recreated containers answer. Returns them with each phase's time.
    fn apply(&mut self, only: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
        let containers: Vec<&str> = self
            .session
            .settings
            .services
            .iter()
            .map(|service| service.container.as_str())
            .collect();
        let before = self.container_ids(&containers)?;
        let mut args: Vec<&str> = self
            .session
            .tool
            .up_args()
            .into_iter()
            .filter(|arg| *arg != "--wait")
            .collect();
        if !only.is_empty() {
            args.push("--no-deps");
            args.extend(only);
        }
        let mut up = self.session.compose(&args);
        for (variable, reference) in &self.images.current {
            up = up.env(variable, reference);
        }
        let started = Instant::now();
        up.run()
            .context("compose up failed (its message is above)")?;
        let recreate = started.elapsed();
        let after = self.container_ids(&containers)?;
        let recreated: Vec<&str> = containers
            .iter()
            .copied()
            .filter(|name| before.get(*name) != after.get(*name))
            .collect();
        for service in &self.session.settings.services {
            if recreated.contains(&service.container.as_str())
                && let Some(image) = self.images.current.get(&service.image_var)
            {
                self.created_from
                    .insert(service.image_var.clone(), image.clone());
            }
        }
        let ready_started = Instant::now();
        if !recreated.is_empty() {
            self.wait_ready(&recreated)?;
        }
        let times = format!(
            "recreate {}, ready {}",
            seconds(recreate),
            seconds(ready_started.elapsed())
        );
        Ok(recreated
            .into_iter()
            .map(|name| (name.to_string(), times.clone()))
            .collect())
    }

    /// Waits until the services of `containers` answer `/healthz` on their published
    /// ports, which is when the next request sees the change; Docker's healthcheck only
    /// runs every 2 s. When they do not answer within [`READY_BY_HTTP`], Docker's health
    /// verdict decides, with its diagnosis if a container fails.
    fn wait_ready(&self, containers: &[&str]) -> anyhow::Result<()> {
        let urls: Vec<String> = self
            .session
            .settings
            .services
            .iter()
            .filter(|service| containers.contains(&service.container.as_str()))
            .map(|service| format!("{}/healthz", self.session.settings.url(service)))
            .collect();
        if answer_within(&urls, READY_BY_HTTP) {
            return Ok(());
        }
        wait_healthy(self.session, containers, self.timeout)
    }

    /// Container name -> id, for the containers that exist.
    fn container_ids(&self, containers: &[&str]) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(docker::inspect(&self.session.sh, containers)?
            .into_iter()
            .map(|container| (container.short_name().to_string(), container.id))
            .collect())
    }

    /// The block's lines for the services rebuilt with a new image or recreated.
    fn report(&self, rebuilt: &[Rebuilt], recreated: &[(String, String)]) {
        let mut untouched = Vec::new();
        for service in &self.session.settings.services {
            let built = rebuilt.iter().find(|item| item.service == service.name);
            let times = recreated
                .iter()
                .find(|(container, _)| *container == service.container)
                .map(|(_, times)| times);
            let url = self.session.settings.url(service);
            match (built, times) {
                (Some(built), Some(times)) => println!(
                    "    {}: rebuilt ({}), recreated ({times}): {url}",
                    service.name, built.times
                ),
                (Some(built), None) if built.new_image.is_some() => println!(
                    "    {}: rebuilt ({}), but compose did not recreate its container",
                    service.name, built.times
                ),
                (Some(_), None) => {}
                (None, Some(times)) => {
                    println!("    {}: recreated for .env ({times}): {url}", service.name)
                }
                (None, None) => untouched.push(service.name),
            }
        }
        if !untouched.is_empty() {
            println!("    not affected: {}", untouched.join(", "));
        }
    }
}

/// How long a recreated service may take to answer `/healthz` before Docker's health
/// verdict is asked instead.
const READY_BY_HTTP: Duration = Duration::from_secs(15);

/// Whether every URL answers a success within `limit` (polled every 10 ms: a refused
/// connection on loopback costs microseconds).
fn answer_within(urls: &[String], limit: Duration) -> bool {
    let Ok(client) = reqwest::blocking::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(1))
        .build()
    else {
        return false;
    };
    let started = Instant::now();
    let mut waiting: Vec<&String> = urls.iter().collect();
    while started.elapsed() < limit {
        waiting.retain(|url| {
            !client
                .get(url.as_str())
                .send()
                .is_ok_and(|response| response.status().is_success())
        });
        if waiting.is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
