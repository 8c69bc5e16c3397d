//! `cargo xtask build-images`: the app's images, content-addressed and skipped when
//! unchanged.
//!
//! Two ways to build, same image layout (a static binary on `scratch`, uid 10001, `/data`,
//! CA roots, a `healthcheck` subcommand as the Docker healthcheck):
//! - `package` (the default on Linux when the daemon's architecture is this machine's):
//!   compile the service statically here, then wrap the binary in an image from an
//!   in-memory context. No base image, no registry: works offline.
//! - `dockerfile`: `docker build -f <service>/Dockerfile .` through the Engine API
//!   (needs the official Rust image, so a registry, unless it is cached).
//!
//! [`build_services`] is what compose-up and deploy-local call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use deploykit_image::{
    BuildContext, BuildEvent, BuildSpec, ContextSource, DockerConfig, DockerHost, Engine,
    Healthcheck, ImageReference, LoaderCommand, PackageRecipe,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::project::{self, SERVICES, Service};

/// How images are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Compile statically on this machine and package the binary on `scratch`.
    Package,
    /// Build the service's Dockerfile (multi-stage, official Rust image).
    Dockerfile,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Package => "package",
            Mode::Dockerfile => "dockerfile",
        }
    }
}

/// Options of `build-images`.
#[derive(clap::Args)]
pub struct Args {
    /// Build only this service (backend or frontend); default: all.
    #[arg(long, value_name = "NAME")]
    service: Option<String>,
    /// package: static binary on scratch (default on Linux when the daemon's architecture
    /// matches); dockerfile: the service's multi-stage Dockerfile.
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Dockerfile mode: build without the layer cache, even when the inputs are unchanged.
    #[arg(long)]
    no_cache: bool,
    /// Prefix of the image repositories (e.g. `registry.local:5000/team/`).
    #[arg(long, value_name = "PREFIX", default_value = "")]
    repository_prefix: String,
    /// Then load the images into a local cluster: `kind[:NAME]`, `k3d[:NAME]` or
    /// `minikube[:PROFILE]` (for minikube you can also build against its daemon:
    /// `eval $(minikube docker-env)`).
    #[arg(long, value_name = "TOOL[:NAME]")]
    load: Option<ClusterLoader>,
    /// Then push the images to REGISTRY (e.g. localhost:5000) with the credentials of
    /// ~/.docker/config.json.
    #[arg(long, value_name = "REGISTRY")]
    push: Option<String>,
}

/// What [`build_services`] builds.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Service names (`backend`, `frontend`); empty means all.
    pub services: Vec<String>,
    /// The build mode; `None` picks the default for this machine and daemon.
    pub mode: Option<Mode>,
    /// Build without cache and never skip.
    pub no_cache: bool,
    /// Prefix of the image repositories (empty: `todo-backend`, `todo-frontend`).
    pub repository_prefix: String,
    /// The daemon to build on; `None` reads DOCKER_HOST like the docker CLI.
    pub docker_host: Option<DockerHost>,
    /// Show spinners and a line per image on the terminal.
    pub show_progress: bool,
    /// Compile with the `watch` profile (incremental, no LTO; the watch loops) instead of
    /// `release`.
    pub watch_profile: bool,
    /// The binaries are compiled already, in this folder: package them without running
    /// cargo (`compose-up --watch`, which runs the new binary before packaging it).
    pub precompiled: Option<PathBuf>,
}

/// One service's image, as [`build_services`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The service (`backend`).
    pub service: &'static str,
    /// `repository:content-tag`: the reference to run or deploy.
    pub reference: String,
    /// The repository (`todo-backend`, with the prefix if any).
    pub repository: String,
    /// The content tag (12 hex digits of the inputs' digest); `latest` points here too,
    /// except for the watch profile's builds (`latest` names release builds only).
    pub tag: String,
    /// Image size in bytes.
    pub size: u64,
    /// True when the image existed and nothing was built.
    pub skipped: bool,
    /// Time to package or build (or to find it unchanged), compilation excluded.
    pub build_time: Duration,
    /// The part of `build_time` spent loading a packaged image into Docker (zero for a
    /// Dockerfile build).
    pub load_time: Duration,
    /// The mode used; `None` for an image given by reference ([`BuiltImage::given`]).
    pub mode: Option<Mode>,
}

impl BuiltImage {
    /// An image the user names (`repository:tag`) instead of building it.
    pub fn given(service: &'static str, repository: &str, tag: &str) -> Self {
        Self {
            service,
            reference: format!("{repository}:{tag}"),
            repository: repository.to_string(),
            tag: tag.to_string(),
            size: 0,
            skipped: true,
            build_time: Duration::ZERO,
            load_time: Duration::ZERO,
            mode: None,
        }
    }
}

/// A tool that loads an image tar into a local cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterLoader {
    /// `kind load image-archive` (cluster name, default `kind`).
    Kind(Option<String>),
    /// `k3d image import` (cluster name, default `k3s-default`).
    K3d(Option<String>),
    /// `minikube image load` (profile, default `minikube`).
    Minikube(Option<String>),
}

impl FromStr for ClusterLoader {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (tool, name) = match text.split_once(':') {
            Some((tool, name)) if !name.is_empty() => (tool, Some(name.to_string())),
            Some((tool, _)) => (tool, None),
            None => (text, None),
        };
        match tool {
            "kind" => Ok(Self::Kind(name)),
            "k3d" => Ok(Self::K3d(name)),
            "minikube" => Ok(Self::Minikube(name)),
            _ => Err(format!(
                "unknown loader `{tool}`: use kind[:CLUSTER], k3d[:CLUSTER] or minikube[:PROFILE]"
            )),
        }
    }
}

impl ClusterLoader {
    /// The command that loads a tar (`{tar}`) into the cluster.
    pub fn command(&self) -> LoaderCommand {
        let with_name = |program: &str, args: &[&str], flag: &str, name: &Option<String>| {
            let mut args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
            if let Some(name) = name {
                args.push(flag.to_string());
                args.push(name.clone());
            }
            LoaderCommand {
                program: program.to_string(),
                args,
            }
        };
        match self {
            Self::Kind(name) => {
                with_name("kind", &["load", "image-archive", "{tar}"], "--name", name)
            }
            Self::K3d(name) => with_name("k3d", &["image", "import", "{tar}"], "--cluster", name),
            Self::Minikube(name) => {
                with_name("minikube", &["image", "load", "{tar}"], "--profile", name)
            }
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = BuildOptions {
        services: args.service.into_iter().collect(),
        mode: args.mode,
        no_cache: args.no_cache,
        repository_prefix: args.repository_prefix,
        docker_host: None,
        show_progress: true,
        watch_profile: false,
        precompiled: None,
    };
    let images = build_services(&options)?;
    if let Some(loader) = &args.load {
        load_images(loader, &images)?;
    }
    if let Some(registry) = &args.push {
        push_images(registry, &images)?;
    }
    Ok(())
}

/// Exports each image and loads it into a local cluster with `loader` (DOCKER_HOST names
/// the daemon that holds the images).
pub fn load_images(loader: &ClusterLoader, images: &[BuiltImage]) -> anyhow::Result<()> {
    let command = loader.command();
    let temp = tempfile::tempdir().context("cannot create a temporary folder")?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        for image in images {
            let started = Instant::now();
            engine
                .load_with(&image.reference, &command, temp.path())
                .await?;
            println!(
                "{}  loaded with {} in {:.1}s",
                image.reference,
                command.program,
                started.elapsed().as_secs_f64()
            );
        }
        anyhow::Ok(())
    })
}

/// Tags each image as `<registry>/<repository>:<tag>` and pushes it with the credentials
/// of ~/.docker/config.json; returns the images with their registry references.
pub fn push_images(registry: &str, images: &[BuiltImage]) -> anyhow::Result<Vec<BuiltImage>> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        push(&engine, registry, images).await
    })
}

/// Builds the chosen services' images (skipping unchanged ones) and returns their
/// references; the stable entry point for compose-up and deploy-local.
pub fn build_services(options: &BuildOptions) -> anyhow::Result<Vec<BuiltImage>> {
    let services: Vec<&'static Service> = if options.services.is_empty() {
        SERVICES.iter().collect()
    } else {
        options
            .services
            .iter()
            .map(|name| project::service(name))
            .collect::<anyhow::Result<_>>()?
    };
    let runtime = runtime()?;
    let engine = runtime.block_on(connect(options))?;
    let mode = match options.mode {
        Some(mode) => mode,
        None => runtime.block_on(default_mode(&engine))?,
    };
    let root = project::root();
    let labels = image_labels(&root)?;
    let binaries = match (mode, &options.precompiled) {
        (Mode::Package, Some(folder)) => Some(folder.clone()),
        (Mode::Package, None) => {
            let profile = if options.watch_profile {
                CargoProfile::Watch
            } else {
                CargoProfile::Release
            };
            Some(compile_static(
                &root,
                &services,
                profile,
                options.show_progress,
            )?)
        }
        (Mode::Dockerfile, _) => None,
    };
    let mut built = Vec::new();
    for service in services {
        let repository = format!("{}{}", options.repository_prefix, service.repository);
        let spinner = Spinner::new(service.name, options.show_progress);
        let mut on_event = spinner.handler();
        let started = Instant::now();
        let mut load_time = Duration::ZERO;
        let result = match &binaries {
            Some(binaries) => {
                let mut recipe = package_recipe(service, binaries.join(service.binary));
                if options.watch_profile {
                    // `latest` is what `compose-up --no-build` and a user's `docker run`
                    // take: it keeps naming the last release build, never a watch cycle's.
                    recipe.extra_tags.clear();
                }
                let packaged = recipe.package(&repository, &labels)?;
                let loading = Instant::now();
                let installed = runtime.block_on(engine.install(&packaged, &mut on_event));
                load_time = loading.elapsed();
                installed
            }
            None => {
                let context = BuildContext::scan(&root, Path::new(service.dockerfile))?;
                let mut spec = BuildSpec::new(&repository, ContextSource::Folder(context));
                spec.labels = labels.clone();
                spec.no_cache = options.no_cache;
                runtime.block_on(engine.build(&spec, &mut on_event))
            }
        };
        spinner.finish();
        let image = result?;
        let result = BuiltImage {
            service: service.name,
            reference: image.reference,
            repository,
            tag: image.tag,
            size: image.size,
            skipped: image.skipped,
            build_time: started.elapsed(),
            load_time,
            mode: Some(mode),
        };
        if options.show_progress {
            print_result(&result);
        }
        built.push(result);
    }
    Ok(built)
}

/// The packaging recipe of a service (the same layout as its Dockerfile's final stage),
/// with the Docker healthcheck `/<binary> healthcheck` that the Todo binaries answer.
pub fn package_recipe(service: &Service, binary: PathBuf) -> PackageRecipe {
    let mut recipe = PackageRecipe::new(binary, service.binary);
    recipe.healthcheck = Some(Healthcheck::default());
    recipe.ports = vec![service.port];
    recipe.env = service
        .image_env
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    recipe
}

/// The async runtime on which the xtask commands call the crates' async APIs.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn connect(options: &BuildOptions) -> anyhow::Result<Engine> {
    let engine = match &options.docker_host {
        Some(host) => Engine::connect_to(host.clone()).await?,
        None => Engine::connect().await?,
    };
    Ok(engine)
}

/// How this machine builds images for the daemon `engine`: packages binaries compiled here
/// when the daemon runs Linux on this machine's architecture, else builds Dockerfiles.
pub(crate) async fn default_mode(engine: &Engine) -> anyhow::Result<Mode> {
    let (os, arch) = engine.platform().await?;
    let native = cfg!(target_os = "linux")
        && os == "linux"
        && arch == deploykit_image::go_arch(std::env::consts::ARCH);
    Ok(if native {
        Mode::Package
    } else {
        Mode::Dockerfile
    })
}

/// Where [`compile_static`] puts the binaries of `profile`.
pub(crate) fn static_binaries(root: &Path, profile: CargoProfile) -> PathBuf {
    project::target_dir(root)
        .join(static_target())
        .join(profile.name())
}

/// The cargo profile the images' binaries are compiled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CargoProfile {
    /// `release`: what `build-images`, compose-up and the deploys ship.
    Release,
    /// `watch` (Cargo.toml): incremental and without LTO, for the watch loops' rebuilds.
    Watch,
}

impl CargoProfile {
    /// Its name for `cargo build --profile` and its output folder.
    fn name(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Watch => "watch",
        }
    }
}

/// `cargo build --profile <profile>` of the services for this machine's Linux target with
/// a static C runtime; returns the folder holding the binaries.
///
/// One cargo run per service, as each service's Dockerfile builds it: cargo unifies the
/// features of dependencies across the packages of one run, so building the backend
/// together with the frontend gives a different backend binary (another content tag, a
/// needless rollout) than building it alone, as `--image frontend=...` does. (The watch
/// loops rely on it too: a service rebuilt alone keeps its dependencies' features, so
/// they are never recompiled.)
pub(crate) fn compile_static(
    root: &Path,
    services: &[&Service],
    profile: CargoProfile,
    show: bool,
) -> anyhow::Result<PathBuf> {
    let target = static_target();
    let started = Instant::now();
    for service in services {
        compile_one_static(root, service.package, &target, profile, show)?;
    }
    if show {
        eprintln!(
            "compiled {} statically for {target} in {:.1}s",
            services
                .iter()
                .map(|service| service.package)
                .collect::<Vec<_>>()
                .join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(static_binaries(root, profile))
}

/// One package's static build for `target` with `profile`.
fn compile_one_static(
    root: &Path,
    package: &str,
    target: &str,
    profile: CargoProfile,
    show: bool,
) -> anyhow::Result<()> {
    let mut command = static_build(root, package, target, profile, show);
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", command.get_program().to_string_lossy()))?;
    if !status.success() {
        anyhow::bail!(
            "compiling {package} failed ({status}): fix the errors above, or build with --mode dockerfile"
        );
    }
    Ok(())
}

/// The `cargo build` command of one package's static binary for `target` with `profile`
/// (`show`: with cargo's progress); the binary lands in [`static_binaries`] for `target`.
pub(crate) fn static_build(
    root: &Path,
    package: &str,
    target: &str,
    profile: CargoProfile,
    show: bool,
) -> std::process::Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = std::process::Command::new(cargo);
    command
        .args(["build", "--profile", profile.name(), "--target", target])
        .args(["-p", package])
        .current_dir(root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static");
    if !show {
        command.arg("--quiet");
    }
    command
}

/// The Linux target this machine builds the images' static binaries for.
pub(crate) fn static_target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// OCI labels: the commit and the source's date (`SOURCE_DATE_EPOCH`, else the commit's
/// time, else now). Neither is part of the content tag, so unchanged inputs keep it.
pub(crate) fn image_labels(root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    let created = deploykit_image::source_date_epoch(root)?;
    Ok(deploykit_image::oci_labels(
        project::SOURCE_URL,
        &revision,
        created,
    ))
}

/// A spinner showing one service's build events (hidden unless asked for).
struct Spinner(ProgressBar);

impl Spinner {
    fn new(service: &str, show: bool) -> Self {
        let bar = if show {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(service.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    fn handler(&self) -> impl FnMut(BuildEvent) + Send + use<> {
        let bar = self.0.clone();
        move |event| match event {
            BuildEvent::Checking { reference } => bar.set_message(format!("checking {reference}")),
            BuildEvent::Skipped { reference } => bar.set_message(format!("{reference} exists")),
            BuildEvent::Step {
                number,
                total,
                instruction,
            } => bar.set_message(format!("step {number}/{total}: {instruction}")),
            BuildEvent::Output(line) => bar.set_message(line),
        }
    }

    fn finish(self) {
        self.0.finish_and_clear();
    }
}

fn print_result(image: &BuiltImage) {
    let size = format!("{:.1} MB", image.size as f64 / 1e6);
    let what = if image.skipped {
        format!(
            "unchanged, build skipped ({:.2}s)",
            image.build_time.as_secs_f64()
        )
    } else {
        format!(
            "built in {:.2}s ({})",
            image.build_time.as_secs_f64(),
            image.mode.map_or("given", Mode::name)
        )
    };
    println!("{}  {size}  {what}", image.reference);
}

/// The name [`push_images`] gives the image `repository:tag` in `registry` (also the tag it
/// leaves on the local copy).
pub fn pushed_reference(registry: &str, reference: &str) -> anyhow::Result<ImageReference> {
    let registry = registry.trim_end_matches('/');
    Ok(ImageReference::parse(&format!("{registry}/{reference}"))?)
}

async fn push(
    engine: &Engine,
    registry: &str,
    images: &[BuiltImage],
) -> anyhow::Result<Vec<BuiltImage>> {
    let config = DockerConfig::load_default()?;
    let registry = registry.trim_end_matches('/');
    let mut pushed = Vec::new();
    for image in images {
        let target = pushed_reference(registry, &format!("{}:{}", image.repository, image.tag))?;
        let name = target.name();
        engine.tag(&image.reference, &name, &image.tag).await?;
        let credentials = config.credentials_for(&target.registry)?;
        let started = Instant::now();
        engine
            .push(&target, credentials.as_ref(), &mut |_line| {})
            .await?;
        println!(
            "{target}  pushed in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        pushed.push(BuiltImage {
            reference: target.to_string(),
            repository: name,
            ..image.clone()
        });
    }
    Ok(pushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaders_parse_and_name_their_cluster() {
        let kind: ClusterLoader = "kind:dev".parse().unwrap();
        assert_eq!(
            kind.command().args,
            ["load", "image-archive", "{tar}", "--name", "dev"]
        );
        let minikube: ClusterLoader = "minikube".parse().unwrap();
        assert_eq!(minikube.command().args, ["image", "load", "{tar}"]);
        let k3d: ClusterLoader = "k3d:".parse().unwrap();
        assert_eq!(k3d, ClusterLoader::K3d(None));
        let error = "podman".parse::<ClusterLoader>().unwrap_err();
        assert!(error.contains("kind[:CLUSTER]"), "{error}");
    }

    #[test]
    fn recipes_follow_the_service_table() {
        let backend = project::service("backend").unwrap();
        let recipe = package_recipe(backend, PathBuf::from("/bin/todo-backend"));
        let dockerfile = recipe.dockerfile();
        assert!(dockerfile.contains("EXPOSE 8000"), "{dockerfile}");
        assert!(
            dockerfile.contains("ENV DATABASE_URL=\"sqlite:///data/todo.db\""),
            "{dockerfile}"
        );
        assert!(
            dockerfile.contains("CMD [\"/todo-backend\",\"healthcheck\"]"),
            "{dockerfile}"
        );
    }

    /// The final stage of each service's Dockerfile sets what the packaging recipe sets.
    #[test]
    fn dockerfiles_stay_in_step_with_the_packaging_recipe() {
        for service in SERVICES {
            let path = project::root().join(service.dockerfile);
            let text = std::fs::read_to_string(&path).unwrap();
            let final_stage = text.rsplit("FROM scratch").next().unwrap();
            let flat = final_stage.replace("\\\n", " ");
            let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
            let recipe = package_recipe(service, PathBuf::from("unused")).dockerfile();
            for line in recipe.lines() {
                let line = line.replace("\",\"", "\", \"");
                if let Some(env) = line.strip_prefix("ENV ") {
                    assert!(flat.contains(env), "{}: ENV {env} missing", path.display());
                } else if ["USER", "WORKDIR", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT"]
                    .iter()
                    .any(|keyword| line.starts_with(keyword))
                {
                    assert!(
                        flat.lines()
                            .any(|candidate| words(candidate) == words(&line)),
                        "{}: `{line}` missing from the final stage",
                        path.display()
                    );
                }
            }
        }
    }
}
