//! `deploy-local --watch` and `deploy --watch`: once the release is deployed, watches each
//! service's source folder, the chart, the values files given and `.env`, and for every
//! batch of saved changes does the least work:
//!
//! - a service's source: compile (the `watch` profile, statically) and package that
//!   service only; a new content tag reaches the cluster (packaged into minikube's Docker,
//!   loaded with kind or k3d, pushed to `--registry`) and the release is upgraded with
//!   it, so only that Deployment rolls;
//! - the chart or a values file: no build; the upgrade renders again and writes only the
//!   objects that changed (deploykit-release leaves the others alone);
//! - `.env`: the Secret is written when its data changed, and the pods that read it roll
//!   through their digest annotation ([`release::ENV_DIGEST_ANNOTATION`]);
//! - the same image, or a render that changes nothing: nothing is written, and the block
//!   says so;
//! - a compile error or a value the chart refuses: shown, nothing written;
//! - a rollout that fails: its diagnosis is shown, the release goes back to the last good
//!   revision (cycles are atomic), and the loop keeps watching;
//! - Ctrl-C (or SIGTERM): stops watching; a cycle under way is cancelled and the last good
//!   revision restored, so no revision is left pending.
//!
//! What was redeployed is read from the release's own progress events (the objects it
//! wrote), not guessed. Images that cycles superseded are removed from the nodes
//! ([`nodes::remove_superseded`]), keeping each service's current and previous one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use deploykit_chart::Chart;
use deploykit_cluster::{
    CancellationToken, Change, DeployOutcome, Progress, Release as ReleaseRecord, Status,
};
use deploykit_image::DockerHost;
use deploykit_release::History;
use tokio::signal::unix::{SignalKind, signal};

use super::local::Release;
use super::minikube::Minikube;
use super::nodes;
use super::release;
use crate::build_images::{self, BuiltImage, ClusterLoader};
use crate::changes::{self, Affected, Batch, ChangeFilter, seconds};
use crate::project::{self, Service};
use crate::rebuild::{ImageHistory, Rebuild, rebuild};

/// How a rebuilt image reaches the cluster's nodes.
pub(super) enum Delivery {
    /// Packaged straight into minikube's Docker daemon (`Watched::docker_host`).
    Minikube(Minikube),
    /// Loaded with the cluster's own tool (kind, k3d).
    Load(ClusterLoader),
    /// Pushed to this registry, which the cluster pulls from.
    Push(String),
    /// Left in the local Docker daemon, which the cluster shares (Docker Desktop), or which
    /// `deploy` without `--registry` expects the cluster to reach.
    Local,
}

/// What the loop deploys with, as the command's first deploy did.
pub(super) struct Watched<'a> {
    /// The release, its cluster and the user's flags.
    pub release: Release<'a>,
    /// Values files under the user's (values-minikube.yaml for deploy-local).
    pub base_files: Vec<PathBuf>,
    /// The pull policy forced on the images, if any.
    pub pull_policy: Option<String>,
    /// The Docker daemon images are packaged into (`None`: DOCKER_HOST's).
    pub docker_host: Option<DockerHost>,
    /// How images reach the nodes.
    pub delivery: Delivery,
    /// Where the app answers, printed with each redeploy.
    pub url: String,
}

/// Watches and applies changes until Ctrl-C (or SIGTERM). `built` are the images as built
/// (in the daemon that built them), `deployed` the same images as the release runs them
/// (with the registry's name after a push).
pub(super) fn run(
    watched: Watched<'_>,
    built: Vec<BuiltImage>,
    deployed: Vec<BuiltImage>,
) -> anyhow::Result<()> {
    let runtime = watched.release.runtime;
    let stop = CancellationToken::new();
    cancel_on_signals(runtime, &stop)?;

    let root = project::root();
    let filter = ChangeFilter::new(&root)?;
    let (env_file, _) = project::env_files();
    let chart_dir = root.join(project::CHART);
    let user_files = watched
        .release
        .common
        .values
        .files
        .iter()
        .map(std::path::absolute)
        .collect::<Result<Vec<_>, _>>()
        .context("cannot resolve the values files' paths")?;
    let config: Vec<PathBuf> = std::iter::once(chart_dir.clone())
        .chain(user_files.iter().cloned())
        .collect();
    let files: Vec<PathBuf> = std::iter::once(env_file.clone())
        .chain(user_files)
        .collect();
    let (watcher, mut events) = changes::watch(&root, std::slice::from_ref(&chart_dir), &files)?;
    let mut cycles = Cycles {
        chart: release::chart()?,
        history: ImageHistory::new(
            built
                .iter()
                .map(|image| (image.service.to_string(), image.reference.clone())),
        ),
        built: built
            .into_iter()
            .map(|image| (image.service, image))
            .collect(),
        deployed: deployed
            .into_iter()
            .map(|image| (image.service, image))
            .collect(),
        watched,
        stop: stop.clone(),
        count: 0,
        env_file,
    };
    println!(
        "\nwatching backend/, frontend/, {}, the values files and {}; press Ctrl-C to stop \
         watching (the last good revision stays deployed)",
        project::CHART,
        cycles.env_file.display()
    );

    loop {
        let next = runtime.block_on(async {
            tokio::select! {
                () = stop.cancelled() => None,
                Some(result) = events.recv() => Some(result),
            }
        });
        let Some(result) = next else { break };
        let batch = Batch::of(&filter, &cycles.env_file, &config, result);
        if !batch.is_empty() {
            cycles.cycle(&batch);
        }
    }
    drop(watcher);
    cycles.print_final_state();
    Ok(())
}

/// Cancels `stop` on SIGINT or SIGTERM; the handlers are in place when this returns.
fn cancel_on_signals(
    runtime: &tokio::runtime::Runtime,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let _entered = runtime.enter();
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    let stop = stop.clone();
    runtime.spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        stop.cancel();
    });
    Ok(())
}

/// The loop's state between cycles.
struct Cycles<'a> {
    watched: Watched<'a>,
    /// The chart as last loaded (again after each chart change).
    chart: Chart,
    /// Each service's image as built, as the release runs it now.
    built: BTreeMap<&'static str, BuiltImage>,
    /// The same images as the release names them (a registry's name after a push).
    deployed: BTreeMap<&'static str, BuiltImage>,
    /// Each service's current and previous image as built, by service name.
    history: ImageHistory,
    /// Cancelled on Ctrl-C: ends the loop and any upgrade under way.
    stop: CancellationToken,
    /// Cycles so far (each block's number).
    count: u32,
    /// The `.env` file watched.
    env_file: PathBuf,
}

/// A rebuilt image that differs from the running one, ready to deploy.
struct NewImage {
    built: BuiltImage,
    deployed: BuiltImage,
}

impl Cycles<'_> {
    /// One cycle: rebuild what changed, upgrade the release, print one block.
    fn cycle(&mut self, batch: &Batch) {
        self.count += 1;
        println!();
        println!("[{}] {}", self.count, batch.header(&self.env_file));
        let Some(new_images) = self.rebuild(&batch.affected) else {
            if !batch.config.is_empty() || batch.env_changed {
                println!(
                    "    chart, values and .env: not applied either, so that the running version stays whole"
                );
            }
            return;
        };
        if new_images.is_empty() && batch.config.is_empty() && !batch.env_changed {
            return;
        }
        if self.stop.is_cancelled() {
            println!("    stopping: not deployed");
            return;
        }
        if let Err(error) = self.apply(batch, &new_images) {
            // The error's later lines (a diagnosis per workload) stay inside the block.
            let error = format!("{error:#}").replace('\n', "\n      ");
            println!("    not deployed: {error}");
            if self.stop.is_cancelled() {
                self.restore_last_good();
            } else {
                println!("    the last good revision stays deployed; the loop keeps watching");
            }
        }
    }

    /// Compiles, packages and delivers the affected services' images. `None` when that
    /// failed (the block says why); else the images that differ from the running ones.
    fn rebuild(&mut self, affected: &[Affected]) -> Option<Vec<NewImage>> {
        let services = self.services_to_rebuild(affected);
        if services.is_empty() {
            return Some(Vec::new());
        }
        let rebuilt = match rebuild(&services, self.watched.docker_host.clone()) {
            Ok(rebuilt) => rebuilt,
            Err(line) => {
                for service in &services {
                    println!("    {}: {line}", service.name);
                }
                return None;
            }
        };
        let mut new_images = Vec::new();
        for image in &rebuilt.images {
            let running = self.built.get(image.service).map(|image| &image.reference);
            if running == Some(&image.reference) {
                println!(
                    "    {}: rebuilt ({}), image unchanged: nothing written",
                    image.service,
                    rebuilt.times(image)
                );
                continue;
            }
            new_images.push(self.delivered(image, &rebuilt)?);
        }
        Some(new_images)
    }

    /// The affected services, but for those deployed from `--image` (the block says so).
    fn services_to_rebuild(&self, affected: &[Affected]) -> Vec<&'static Service> {
        let mut services = Vec::new();
        for item in affected {
            let given = self
                .built
                .get(item.service.name)
                .is_some_and(|image| image.mode.is_none());
            if given {
                println!(
                    "    {}: deployed from --image, not rebuilt",
                    item.service.name
                );
            } else {
                services.push(item.service);
            }
        }
        services
    }

    /// Delivers a rebuilt image to the cluster and prints its line, with the phases' times
    /// (`load`: into the daemon it was packaged for, then to the nodes); `None` when that
    /// failed.
    fn delivered(&self, image: &BuiltImage, rebuilt: &Rebuild) -> Option<NewImage> {
        let started = Instant::now();
        match self.deliver(image) {
            Ok(deployed) => {
                println!(
                    "    {}: rebuilt ({}): {}",
                    image.service,
                    rebuilt.times_delivered(image, started.elapsed()),
                    deployed.reference
                );
                Some(NewImage {
                    built: image.clone(),
                    deployed,
                })
            }
            Err(error) => {
                println!(
                    "    {}: rebuilt ({}), not loaded into the cluster: {error:#}; the running version stays up",
                    image.service,
                    rebuilt.times(image)
                );
                None
            }
        }
    }

    /// Makes `image` reachable by the cluster; returns it as the release names it.
    fn deliver(&self, image: &BuiltImage) -> anyhow::Result<BuiltImage> {
        let images = std::slice::from_ref(image);
        match &self.watched.delivery {
            Delivery::Minikube(_) | Delivery::Local => Ok(image.clone()),
            Delivery::Load(loader) => {
                build_images::load_images(loader, images)?;
                Ok(image.clone())
            }
            Delivery::Push(registry) => build_images::push_images(registry, images)?
                .pop()
                .context("the push returned no image"),
        }
    }

    /// Checks the values, writes the Secret when `.env` changed it, and upgrades the
    /// release with the new images.
    fn apply(&mut self, batch: &Batch, new_images: &[NewImage]) -> anyhow::Result<()> {
        if !batch.config.is_empty() {
            self.chart = release::chart()?;
        }
        let images = self.images_with(new_images);
        let release = self.watched.release.with_chart(&self.chart);
        let values = release.values(
            &images,
            &self.watched.base_files,
            self.watched.pull_policy.clone(),
        )?;
        let target = release.target;
        release::check_renders(&self.chart, &values, &target.release, &target.namespace)?;
        if batch.env_changed {
            self.report_secret(release.apply_env_secret()?);
        }
        let mut upgrade = release.upgrade();
        // A failing rollout goes back to the last good revision, as `dev --watch` starts
        // the previous version again.
        upgrade.options.atomic = true;
        let mut events: Vec<(Instant, Progress)> = Vec::new();
        let started = Instant::now();
        let result = release.runtime.block_on(upgrade.run_with(
            &self.chart,
            &values,
            &mut |event| events.push((Instant::now(), event)),
            &self.stop,
        ));
        let deployed = result?;
        let phases = Phases::of(started, &events);
        self.report_outcome(&deployed.outcome, &events, &phases);
        self.now_running(new_images);
        Ok(())
    }

    /// Every service's deployed image, the new ones in place of the running ones.
    fn images_with(&self, new_images: &[NewImage]) -> Vec<BuiltImage> {
        let mut images = self.deployed.clone();
        for image in new_images {
            images.insert(image.deployed.service, image.deployed.clone());
        }
        images.into_values().collect()
    }

    /// Records that the release runs `new_images`, and removes the images that makes
    /// older than the previous ones.
    fn now_running(&mut self, new_images: &[NewImage]) {
        for image in new_images {
            let service = image.built.service;
            let superseded = self.history.replace(service, &image.built.reference);
            self.built.insert(service, image.built.clone());
            self.deployed.insert(service, image.deployed.clone());
            if let Some(reference) = superseded {
                self.remove_superseded(&reference);
            }
        }
    }

    /// The block's line for a `.env` change: whether the Secret changed with it.
    fn report_secret(&self, changed: bool) {
        let namespace = &self.watched.release.target.namespace;
        if changed {
            println!(
                "    .env: Secret {namespace}/{} updated; the pods that read it roll",
                project::SECRET_NAME
            );
        } else {
            println!(
                "    .env: Secret {namespace}/{} unchanged (it holds only {})",
                project::SECRET_NAME,
                project::SECRET_REQUIRED_KEYS
                    .iter()
                    .chain(project::SECRET_OPTIONAL_KEYS)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }

    /// The block's lines for the upgrade: what it wrote with the phases' times, and the
    /// workloads it left alone.
    fn report_outcome(
        &self,
        outcome: &DeployOutcome,
        events: &[(Instant, Progress)],
        phases: &Phases,
    ) {
        if outcome.unchanged {
            println!(
                "    release unchanged at revision {}: nothing written",
                outcome.revision
            );
            return;
        }
        let mut written = Vec::new();
        let mut untouched = Vec::new();
        for (_, event) in events {
            match event {
                Progress::Applied { object, change } => {
                    let name = format!("{}/{}", object.kind, object.name);
                    match change {
                        Change::Created => written.push(format!("created {name}")),
                        Change::Configured => written.push(format!("configured {name}")),
                        Change::Unchanged if is_workload(&object.kind) => untouched.push(name),
                        Change::Unchanged => {}
                    }
                }
                Progress::Deleted { object } => {
                    written.push(format!("deleted {}/{}", object.kind, object.name));
                }
                _ => {}
            }
        }
        if written.is_empty() {
            written.push("no object changed".to_string());
        }
        println!(
            "    revision {}: {} (rollout {}, ready {}): {}",
            outcome.revision,
            written.join(", "),
            seconds(phases.rollout),
            seconds(phases.ready),
            self.watched.url
        );
        if !untouched.is_empty() {
            println!("    not rolled: {}", untouched.join(", "));
        }
    }

    /// Removes a superseded image from where the nodes hold it, and says so.
    fn remove_superseded(&self, reference: &str) {
        match nodes::remove_superseded(&self.watched.delivery, reference) {
            Ok(place) => println!(
                "    removed superseded image {reference} from {place}; the current and the previous one are kept"
            ),
            Err(why) => println!("    kept superseded image {reference}: {why}"),
        }
    }

    /// After a cancelled upgrade: when the latest revision is not the deployed one, rolls
    /// back to the last deployed revision, so that it runs again and no revision stays
    /// pending.
    fn restore_last_good(&self) {
        let release = &self.watched.release;
        let history = match self.history() {
            Ok(history) => history,
            Err(error) => {
                println!("    cannot read the release's history to restore it: {error}");
                return;
            }
        };
        let Some(latest) = history.last() else { return };
        if latest.info.status == Status::Deployed {
            return;
        }
        let Some(good) = history
            .iter()
            .rev()
            .find(|record| record.info.status == Status::Deployed)
        else {
            println!(
                "    revision {} is {}; no deployed revision to go back to",
                latest.version,
                latest.info.status.as_str()
            );
            return;
        };
        println!("    cancelled: rolling back to revision {}", good.version);
        let rollback = release.rollback_to(good.version);
        // Not cancellable: the record must end consistent (bounded by --timeout).
        let restored = release
            .runtime
            .block_on(rollback.run_with(&mut |_| {}, &CancellationToken::new()));
        match restored {
            Ok(outcome) => println!(
                "    revision {} deployed (the same as revision {})",
                outcome.revision, good.version
            ),
            Err(error) => println!("    rollback failed: {error}"),
        }
    }

    /// The release's revisions, oldest first.
    fn history(&self) -> deploykit_release::Result<Vec<ReleaseRecord>> {
        let release = &self.watched.release;
        let target = release.target;
        release
            .runtime
            .block_on(History::new(release.cluster, &target.release, &target.namespace).run())
    }

    /// The release's state when the loop ends.
    fn print_final_state(&self) {
        match self
            .history()
            .ok()
            .as_ref()
            .and_then(|history| history.last())
        {
            Some(latest) => println!(
                "stopped watching; release {} is at revision {} ({})",
                self.watched.release.target.release,
                latest.version,
                latest.info.status.as_str()
            ),
            None => println!("stopped watching"),
        }
    }
}

/// Whether pods of a `kind` roll when their template changes.
fn is_workload(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet")
}

/// The phases of an upgrade, from its progress events.
#[derive(Debug, PartialEq)]
struct Phases {
    /// From the start to the last object written or deleted (render, hooks, apply).
    rollout: Duration,
    /// From then to the end (the wait for readiness).
    ready: Duration,
}

impl Phases {
    fn of(started: Instant, events: &[(Instant, Progress)]) -> Self {
        let applied = events
            .iter()
            .filter(|(_, event)| {
                matches!(event, Progress::Applied { .. } | Progress::Deleted { .. })
            })
            .map(|(at, _)| *at)
            .max()
            .unwrap_or(started);
        Phases {
            rollout: applied.saturating_duration_since(started),
            ready: applied.elapsed(),
        }
    }
}
