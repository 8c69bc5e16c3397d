//! `compose-up --watch`: once the app is up, watches each service's source folder and the
//! `.env` file, and for every batch of saved changes does the least work:
//!
//! - a service's source: compile (the `watch` profile, statically), package its image
//!   (a new content tag only when the binary changed), then `compose up` with every
//!   service's current image, so compose recreates only the container whose image
//!   changed;
//! - `.env`: `compose up`, so compose recreates the containers whose configuration reads it
//!   (the backend's `env_file`, and any service whose `${VAR}` it sets);
//! - a change that gives the same image: nothing is recreated;
//! - a compile error: shown by cargo; nothing is recreated, the running version stays up.
//!
//! What was recreated is read from the container ids before and after, not guessed. Images
//! that watch cycles superseded are removed, keeping each service's current and previous
//! one, so a day of editing does not fill the disk. Ctrl-C stops watching and leaves the
//! last good version running.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};

use super::Session;
use super::docker;
use super::up::wait_healthy;
use crate::changes::{self, Affected, Batch, ChangeFilter, seconds};
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
    let mut app = App {
        session,
        images: ImageHistory::new(images),
        superseded: Vec::new(),
        timeout,
        cycles: 0,
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

/// The running app and what it runs.
struct App<'a> {
    session: &'a Session,
    /// Each service's current and previous image.
    images: ImageHistory,
    /// Images neither current nor previous any more, removed once the cycle applied.
    superseded: Vec<String>,
    timeout: Duration,
    cycles: u32,
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
    /// One cycle: rebuild what changed, recreate what compose finds changed, print one block.
    fn cycle(&mut self, batch: &Batch) {
        self.cycles += 1;
        println!();
        println!(
            "[{}] {}",
            self.cycles,
            batch.header(&self.session.settings.env_file)
        );
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
        for reference in std::mem::take(&mut self.superseded) {
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
    fn apply(&self, only: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
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

/// Whether every URL answers a success within `limit` (polled every 20 ms).
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
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
