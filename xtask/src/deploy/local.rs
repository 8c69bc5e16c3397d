//! `deploy-local` (minikube, kind, k3d, Docker Desktop) and `deploy` (any cluster).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use deploykit_chart::{Chart, Map};
use deploykit_cluster::{CancellationToken, Cluster, ConnectOptions, DeployOutcome};
use deploykit_image::DockerHost;
use deploykit_release::{Rollback, Test, Upgrade};

use super::display::DeployDisplay;
use super::minikube::Minikube;
use super::nodes;
use super::release::{self, Overrides, ValueFlags};
use super::watch::{self, Delivery, Watched};
use super::{Target, connect, runtime};
use crate::build_images::{self, BuildOptions, BuiltImage, ClusterLoader};
use crate::project;

/// Options of `deploy-local`.
#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    #[command(flatten)]
    target: Target,
    /// The minikube profile (when the context is minikube's).
    #[arg(long, default_value = "minikube")]
    profile: String,
    /// minikube's driver when it has to be started (docker, kvm2, hyperkit, ...).
    #[arg(long)]
    driver: Option<String>,
    /// Fail instead of running `minikube start` when minikube is stopped.
    #[arg(long)]
    no_start: bool,
    #[command(flatten)]
    common: CommonDeployArgs,
    /// Keep a port-forward of the frontend on 127.0.0.1:LOCAL_PORT (default 3000) until
    /// Ctrl-C.
    #[arg(
        long,
        value_name = "LOCAL_PORT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "3000"
    )]
    port_forward: Option<u16>,
}

/// Options of `deploy` (any cluster).
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    target: Target,
    /// Push the images to this registry (e.g. registry.example.com/team) and deploy them
    /// from there; without it the cluster must already reach the local images.
    #[arg(long, value_name = "REGISTRY")]
    registry: Option<String>,
    #[command(flatten)]
    common: CommonDeployArgs,
}

/// What both deploy commands take.
#[derive(clap::Args, Debug)]
pub(super) struct CommonDeployArgs {
    #[command(flatten)]
    pub values: ValueFlags,
    /// Roll back by itself when the new revision does not become ready.
    #[arg(long)]
    atomic: bool,
    /// How long to wait for readiness, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
    /// Take over fields that another field manager owns.
    #[arg(long)]
    force_conflicts: bool,
    /// Deploy this image for a service instead of building one: SERVICE=REPOSITORY:TAG
    /// (repeatable).
    #[arg(long, value_name = "SERVICE=IMAGE")]
    image: Vec<String>,
    /// Do not run the chart's test pods (`helm.sh/hook: test`) after a deploy that changed
    /// the release.
    #[arg(long)]
    skip_tests: bool,
    /// Then watch backend/, frontend/, the chart, the values files and `.env`: rebuild and
    /// roll only the Deployment a change affects, apply only the objects a chart change
    /// changes (images built with the `watch` profile; see docs/watch.md). Ctrl-C stops
    /// watching and leaves the last good revision deployed.
    #[arg(long)]
    watch: bool,
}

/// How images reach a local cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LocalCluster {
    /// Built straight into minikube's Docker daemon.
    Minikube,
    /// Built locally, then loaded with the cluster's own tool.
    Loaded(ClusterLoader),
    /// Built into the local Docker daemon, which the cluster shares (Docker Desktop).
    SharedDocker,
}

impl LocalCluster {
    /// Recognises a local cluster by its context name, as each tool names its contexts.
    fn detect(context: &str, profile: &str) -> anyhow::Result<LocalCluster> {
        if context == profile || context == "minikube" {
            return Ok(LocalCluster::Minikube);
        }
        if let Some(name) = context.strip_prefix("kind-") {
            return Ok(LocalCluster::Loaded(ClusterLoader::Kind(Some(
                name.to_string(),
            ))));
        }
        if let Some(name) = context.strip_prefix("k3d-") {
            return Ok(LocalCluster::Loaded(ClusterLoader::K3d(Some(
                name.to_string(),
            ))));
        }
        if context == "docker-desktop" || context == "rancher-desktop" || context == "orbstack" {
            return Ok(LocalCluster::SharedDocker);
        }
        bail!(
            "context `{context}` is not a local cluster deploykit knows (minikube, kind-*, k3d-*, \
             docker-desktop): use `cargo xtask deploy --context {context} --registry REGISTRY` \
             for other clusters, or pass --context for a local one"
        )
    }
}

/// Runs `deploy-local`.
pub fn deploy_local(args: LocalArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.common.watch && args.port_forward.is_some() {
        bail!(
            "--watch and --port-forward both run until Ctrl-C: run `cargo xtask port-forward` \
             in another terminal while deploy-local --watch runs"
        );
    }
    if let Some(local_port) = args.port_forward {
        let port = crate::doctor::local_port("frontend", local_port);
        if port.state != crate::doctor::State::Ok {
            bail!("{}", port.detail);
        }
    }
    let runtime = runtime()?;
    let context = match &args.target.context {
        Some(context) => context.clone(),
        None => current_context().unwrap_or_else(|| args.profile.clone()),
    };
    let kind = LocalCluster::detect(&context, &args.profile)?;
    let base = vec![project::root().join(project::LOCAL_VALUES)];
    let chart = release::chart()?;
    check_values(&chart, &args.target, &args.common, &base)?;
    let minikube = Minikube::new(&args.profile);
    let docker_host = match kind {
        LocalCluster::Minikube => Some(prepare_minikube(&minikube, &args)?),
        _ => None,
    };
    step(&format!("connecting to context `{context}`"));
    let cluster = runtime.block_on(connect(Some(&context)))?;
    let images = images(&args.common, docker_host.clone())?;
    if let LocalCluster::Loaded(loader) = &kind {
        let missing = runtime.block_on(nodes::missing_from_nodes(&cluster, &images));
        if missing.is_empty() {
            step("images already on every node: nothing to load");
        } else {
            build_images::load_images(loader, &missing)?;
        }
    }
    let pull_policy = local_pull_policy(&args.common.values)?;
    let release = Release {
        runtime: &runtime,
        cluster: &cluster,
        chart: &chart,
        target: &args.target,
        common: &args.common,
    };
    let outcome = release.deploy(&images, &base, pull_policy.clone())?;
    report(&outcome, started);
    release.test(&outcome)?;
    print_access(&kind, &minikube, &args.target.namespace);
    if let Some(local_port) = args.port_forward {
        super::ops::forward_until_ctrl_c(&runtime, &cluster, &args.target.namespace, local_port)?;
    }
    if args.common.watch {
        let url = access_url(&kind, &minikube);
        let delivery = match kind {
            LocalCluster::Minikube => Delivery::Minikube(minikube.clone()),
            LocalCluster::Loaded(loader) => Delivery::Load(loader),
            LocalCluster::SharedDocker => Delivery::Local,
        };
        let watched = Watched {
            release,
            base_files: base,
            pull_policy,
            docker_host,
            delivery,
            url,
        };
        return watch::run(watched, images.clone(), images);
    }
    Ok(())
}

/// Runs `deploy`.
pub fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let chart = release::chart()?;
    check_values(&chart, &args.target, &args.common, &[])?;
    let runtime = runtime()?;
    let cluster = runtime.block_on(connect(args.target.context.as_deref()))?;
    let built = images(&args.common, None)?;
    let deployed = match &args.registry {
        Some(registry) => build_images::push_images(registry, &built)?,
        None => built.clone(),
    };
    let release = Release {
        runtime: &runtime,
        cluster: &cluster,
        chart: &chart,
        target: &args.target,
        common: &args.common,
    };
    let outcome = release.deploy(&deployed, &[], None)?;
    report(&outcome, started);
    release.test(&outcome)?;
    if args.common.watch {
        let watched = Watched {
            release,
            base_files: Vec::new(),
            pull_policy: None,
            docker_host: None,
            delivery: match args.registry {
                Some(registry) => Delivery::Push(registry),
                None => Delivery::Local,
            },
            url: forward_hint(),
        };
        return watch::run(watched, built, deployed);
    }
    Ok(())
}

/// Renders once with stand-in image tags, so that a malformed values file or a value the
/// chart's schema refuses stops the deploy before minutes of building, and before any
/// write to the cluster.
fn check_values(
    chart: &Chart,
    target: &Target,
    common: &CommonDeployArgs,
    base_files: &[PathBuf],
) -> anyhow::Result<()> {
    let overrides = Overrides {
        images: project::SERVICES
            .iter()
            .map(|service| {
                let repository = service.repository.to_string();
                (service.name.to_string(), repository, "values-check".into())
            })
            .collect(),
        pull_policy: None,
        existing_secret: Some(project::SECRET_NAME.to_string()),
        env_digest: None,
    };
    let values = release::values(base_files, &common.values, &overrides)?;
    release::check_renders(chart, &values, &target.release, &target.namespace)
}

/// Makes sure minikube runs and returns how to reach its Docker daemon.
fn prepare_minikube(minikube: &Minikube, args: &LocalArgs) -> anyhow::Result<DockerHost> {
    if !Minikube::is_installed() {
        bail!(
            "minikube is not installed: install it (https://minikube.sigs.k8s.io/docs/start/), \
             or pass --context for a kind, k3d or Docker Desktop cluster"
        );
    }
    let running = minikube.status()?.is_some_and(|status| status.is_running());
    if !running {
        if args.no_start {
            bail!(
                "minikube profile `{}` is not running: start it with `minikube start -p {}`, \
                 or drop --no-start to let deploy-local start it",
                minikube.profile(),
                minikube.profile()
            );
        }
        step(&format!(
            "starting minikube profile `{}`",
            minikube.profile()
        ));
        minikube.start(args.driver.as_deref())?;
    }
    let env = minikube.docker_env()?;
    let host = DockerHost::from_vars(|key| env.variables.get(key).cloned())
        .context("minikube's docker-env names a Docker daemon deploykit cannot use")?;
    Ok(host)
}

/// Builds the images (skipped when unchanged), or takes the ones given with --image.
fn images(
    common: &CommonDeployArgs,
    docker_host: Option<DockerHost>,
) -> anyhow::Result<Vec<BuiltImage>> {
    let given = parse_image_overrides(&common.image)?;
    let to_build: Vec<String> = project::SERVICES
        .iter()
        .filter(|service| !given.iter().any(|(name, _, _)| name == service.name))
        .map(|service| service.name.to_string())
        .collect();
    let mut images = Vec::new();
    if !to_build.is_empty() {
        let options = BuildOptions {
            services: to_build,
            docker_host,
            show_progress: true,
            // The watch loop's rebuilds use the `watch` profile: so does its first build,
            // so that an unchanged service keeps its image.
            watch_profile: common.watch,
            ..Default::default()
        };
        images = build_images::build_services(&options)?;
    }
    for (service, repository, tag) in given {
        images.push(BuiltImage::given(
            project::service(&service)?.name,
            &repository,
            &tag,
        ));
    }
    Ok(images)
}

/// Reads `SERVICE=REPOSITORY:TAG` flags.
fn parse_image_overrides(flags: &[String]) -> anyhow::Result<Vec<(String, String, String)>> {
    flags
        .iter()
        .map(|flag| {
            let parsed = flag.split_once('=').and_then(|(service, image)| {
                let (repository, tag) = image.rsplit_once(':')?;
                (!repository.is_empty() && !tag.is_empty() && !tag.contains('/'))
                    .then(|| (service.to_string(), repository.to_string(), tag.to_string()))
            });
            parsed.with_context(|| {
                format!(
                    "--image {flag}: write SERVICE=REPOSITORY:TAG, e.g. backend=todo-backend:1a2b3c"
                )
            })
        })
        .collect()
}

/// Images loaded into the node are never pulled: `Always` would fail, so it is replaced.
fn local_pull_policy(values: &ValueFlags) -> anyhow::Result<Option<String>> {
    let base = [project::root().join(project::LOCAL_VALUES)];
    for service in project::SERVICES {
        if release::requested_pull_policy(values, &base, service.name)?.as_deref() == Some("Always")
        {
            warn(&format!(
                "{}.image.pullPolicy=Always would make the pods pull images that exist only in \
                 the cluster's runtime: deploying with IfNotPresent",
                service.name
            ));
        }
    }
    Ok(Some("IfNotPresent".to_string()))
}

/// One deploy of the app's release: what `deploy-local`, `deploy` and their watch loop
/// share.
pub(super) struct Release<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub cluster: &'a Cluster,
    pub chart: &'a Chart,
    pub target: &'a Target,
    pub common: &'a CommonDeployArgs,
}

impl Release<'_> {
    /// The Secret from `.env`, then deploykit-release's upgrade-or-install of the chart
    /// with `base_files` under the user's values and the images' tags over them: render,
    /// apply, prune, wait, with live progress; Ctrl-C records the revision as failed.
    fn deploy(
        &self,
        images: &[BuiltImage],
        base_files: &[PathBuf],
        pull_policy: Option<String>,
    ) -> anyhow::Result<DeployOutcome> {
        for key in release::ensure_env()? {
            step(&format!("generated {key} in .env"));
        }
        let namespace = &self.target.namespace;
        if self
            .runtime
            .block_on(self.cluster.ensure_namespace(namespace))?
        {
            step(&format!("created namespace {namespace}"));
        }
        if self.apply_env_secret()? {
            step(&format!(
                "Secret {namespace}/{} updated from .env",
                project::SECRET_NAME
            ));
        }
        let values = self.values(images, base_files, pull_policy)?;
        let upgrade = self.upgrade();
        step(&format!(
            "deploying release {} to namespace {namespace}",
            self.target.release
        ));
        let mut display = DeployDisplay::new();
        let deployed = self.runtime.block_on(async {
            let cancel = cancel_on_ctrl_c();
            let deployed = upgrade
                .run_with(
                    self.chart,
                    &values,
                    &mut |event| display.show(&event),
                    &cancel,
                )
                .await;
            cancel.cancel();
            deployed
        });
        display.finish();
        Ok(deployed?.outcome)
    }

    /// The same release with another load of the chart (after it changed).
    pub fn with_chart<'b>(&'b self, chart: &'b Chart) -> Release<'b> {
        Release {
            runtime: self.runtime,
            cluster: self.cluster,
            chart,
            target: self.target,
            common: self.common,
        }
    }

    /// Writes the Secret `todo-app-env` from `.env` when its data changed; returns whether
    /// it did.
    pub fn apply_env_secret(&self) -> anyhow::Result<bool> {
        self.runtime.block_on(release::apply_env_secret(
            self.cluster,
            &self.target.namespace,
        ))
    }

    /// The values of a revision running `images`: `base_files`, the user's flags, then
    /// deploykit's overrides (the images, the pull policy, the Secret and its digest).
    pub fn values(
        &self,
        images: &[BuiltImage],
        base_files: &[PathBuf],
        pull_policy: Option<String>,
    ) -> anyhow::Result<Map> {
        let overrides = Overrides {
            images: images
                .iter()
                .map(|image| {
                    (
                        image.service.to_string(),
                        image.repository.clone(),
                        image.tag.clone(),
                    )
                })
                .collect(),
            pull_policy,
            existing_secret: Some(project::SECRET_NAME.to_string()),
            env_digest: Some(release::env_secret_digest()?),
        };
        release::values(base_files, &self.common.values, &overrides)
    }

    /// deploykit-release's upgrade-or-install with the user's options.
    pub fn upgrade(&self) -> Upgrade<'_> {
        let mut upgrade = Upgrade::new(self.cluster, &self.target.release, &self.target.namespace);
        upgrade.options.atomic = self.common.atomic;
        upgrade.options.timeout = self.timeout();
        upgrade.options.force_conflicts = self.common.force_conflicts;
        upgrade
    }

    /// deploykit-release's rollback to `revision` with the user's options.
    pub fn rollback_to(&self, revision: u32) -> Rollback<'_> {
        let mut rollback =
            Rollback::new(self.cluster, &self.target.release, &self.target.namespace);
        rollback.revision = Some(revision);
        rollback.timeout = self.timeout();
        rollback.force_conflicts = self.common.force_conflicts;
        rollback
    }

    /// How long to wait for readiness (`--timeout`).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.common.timeout)
    }

    /// Runs the chart's test pods (`helm test`) on the revision just deployed, unless
    /// `--skip-tests` or nothing changed (the deployed revision was tested when it was
    /// made, and a no-change deploy writes nothing). A failed test fails the command and
    /// prints its logs; the release stays deployed.
    fn test(&self, outcome: &DeployOutcome) -> anyhow::Result<()> {
        if self.common.skip_tests || outcome.unchanged {
            return Ok(());
        }
        step(&format!(
            "testing revision {} (the chart's helm.sh/hook: test pods; --skip-tests skips them)",
            outcome.revision
        ));
        let mut test = Test::new(self.cluster, &self.target.release, &self.target.namespace);
        test.timeout = Duration::from_secs(self.common.timeout);
        let mut display = DeployDisplay::new();
        let tested = self.runtime.block_on(async {
            let cancel = cancel_on_ctrl_c();
            let tested = test
                .run_with(&mut |event| display.show(&event), &cancel)
                .await;
            cancel.cancel();
            tested
        });
        display.finish();
        let tested = tested?;
        if tested.passed() {
            match tested.tests.len() {
                0 => println!("the chart has no tests"),
                count => println!("tests passed: {count} of {count}"),
            }
            return Ok(());
        }
        for run in tested.tests.iter().filter(|run| run.phase != "Succeeded") {
            let phase = if run.phase.is_empty() {
                "not run"
            } else {
                &run.phase
            };
            eprintln!("test {}: {phase}", run.object);
            for line in &run.logs {
                eprintln!("    {line}");
            }
        }
        bail!(
            "the chart's tests failed on revision {} ({}): the release stays deployed; see the \
             logs above, fix and deploy again, or pass --skip-tests",
            tested.revision,
            tested
                .failure
                .as_deref()
                .unwrap_or("a test did not succeed")
        )
    }
}

/// A token cancelled on Ctrl-C or SIGTERM, as Helm 4 catches both (the operation stops
/// waiting and records its revision failed; with `--atomic` it is rolled back, a first
/// install removed); call inside the runtime, and cancel it when done so the watcher ends.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            signal = tokio::signal::ctrl_c() => if signal.is_ok() { token.cancel() },
            () = terminated() => token.cancel(),
            () = token.cancelled() => {}
        }
    });
    cancel
}

/// Resolves on SIGTERM (never where it cannot be listened for).
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut signal) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        signal.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}

fn report(outcome: &DeployOutcome, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    if outcome.unchanged {
        println!(
            "release unchanged at revision {} ({seconds:.1}s)",
            outcome.revision
        );
    } else {
        println!(
            "revision {} deployed: {} created, {} configured, {} unchanged, {} deleted ({seconds:.1}s)",
            outcome.revision,
            outcome.created,
            outcome.configured,
            outcome.unchanged_objects,
            outcome.deleted
        );
    }
    if let Some(message) = &outcome.took_over {
        println!("note: {message}");
    }
}

/// Where the app answers: the NodePort on minikube's IP, else how to forward a port.
fn access_url(kind: &LocalCluster, minikube: &Minikube) -> String {
    match (kind, minikube.ip()) {
        (LocalCluster::Minikube, Ok(ip)) => {
            format!("http://{ip}:{}/", project::FRONTEND_NODE_PORT)
        }
        _ => forward_hint(),
    }
}

/// How to reach the app where the cluster gives no address of its own.
fn forward_hint() -> String {
    format!(
        "cargo xtask port-forward (then http://127.0.0.1:{}/)",
        project::FORWARD_PORT
    )
}

fn print_access(kind: &LocalCluster, minikube: &Minikube, namespace: &str) {
    match kind {
        LocalCluster::Minikube => match minikube.ip() {
            Ok(ip) => println!("open http://{ip}:{}/", project::FRONTEND_NODE_PORT),
            Err(_) => println!(
                "reach the app with: minikube service {} -n {namespace} --url",
                project::FRONTEND_SERVICE
            ),
        },
        _ => println!(
            "reach the app with: cargo xtask port-forward (then open http://127.0.0.1:{}/)",
            project::FORWARD_PORT
        ),
    }
    println!("next: cargo xtask status | cargo xtask logs backend | cargo xtask undeploy");
}

/// The kubeconfig's current context, when there is a kubeconfig.
fn current_context() -> Option<String> {
    deploykit_cluster::current_context(&ConnectOptions::default())
        .ok()
        .flatten()
}

fn step(text: &str) {
    eprintln!("==> {text}");
}

fn warn(text: &str) {
    eprintln!("warning: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_clusters_are_recognised_by_their_context_names() {
        assert_eq!(
            LocalCluster::detect("minikube", "minikube").unwrap(),
            LocalCluster::Minikube
        );
        assert_eq!(
            LocalCluster::detect("dev", "dev").unwrap(),
            LocalCluster::Minikube
        );
        assert_eq!(
            LocalCluster::detect("kind-kind", "minikube").unwrap(),
            LocalCluster::Loaded(ClusterLoader::Kind(Some("kind".into())))
        );
        assert_eq!(
            LocalCluster::detect("k3d-dev", "minikube").unwrap(),
            LocalCluster::Loaded(ClusterLoader::K3d(Some("dev".into())))
        );
        assert_eq!(
            LocalCluster::detect("docker-desktop", "minikube").unwrap(),
            LocalCluster::SharedDocker
        );
        let error = LocalCluster::detect("prod-eu", "minikube")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cargo xtask deploy --context prod-eu --registry"),
            "{error}"
        );
    }

    #[test]
    fn port_forward_takes_an_optional_local_port() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            args: LocalArgs,
        }
        let parse = |args: &[&str]| {
            <Command as clap::Parser>::try_parse_from([&["deploy-local"], args].concat())
                .map(|command| command.args.port_forward)
        };
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(
            parse(&["--port-forward"]).unwrap(),
            Some(project::FORWARD_PORT)
        );
        assert_eq!(parse(&["--port-forward=8080"]).unwrap(), Some(8080));
        assert!(parse(&["--port-forward=http"]).is_err());
    }

    #[test]
    fn image_overrides_need_a_service_a_repository_and_a_tag() {
        let parsed =
            parse_image_overrides(&["backend=localhost:5000/todo-backend:abc".into()]).unwrap();
        assert_eq!(
            parsed,
            vec![(
                "backend".into(),
                "localhost:5000/todo-backend".into(),
                "abc".into()
            )]
        );
        for bad in [
            "backend",
            "backend=todo-backend",
            "backend=localhost:5000/todo",
        ] {
            let error = parse_image_overrides(&[bad.into()])
                .unwrap_err()
                .to_string();
            assert!(error.contains("SERVICE=REPOSITORY:TAG"), "{bad}: {error}");
        }
    }
}
