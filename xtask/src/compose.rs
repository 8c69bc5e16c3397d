//! `cargo xtask compose-up|down|logs|ps`: the Todo app on Docker Compose.
//!
//! `compose-up` checks that Docker answers, finds compose (v2 `docker compose`, else v1
//! `docker-compose`), makes sure `.env` exists with its secrets, builds the images
//! (skipped when unchanged), checks the host ports, runs `up` with the built tags, waits
//! until both containers are healthy, smoke-tests `/readyz` of both and prints the URLs.
//! Compose itself keeps containers whose configuration and image did not change, so a
//! second run with no change recreates nothing.

mod docker;
mod health;
mod images;
mod settings;
mod swap;
pub mod tool;
mod up;
mod watch;

use crate::project;
use deploykit_secret::EnvFile;
use settings::Settings;
use std::path::PathBuf;
use tool::{ComposeTool, Target};
use xshell::Shell;

pub use up::up;

/// Options every compose command shares.
#[derive(clap::Args)]
pub struct Common {
    /// The app's settings and secrets (created from .env.example when missing).
    #[arg(long, value_name = "PATH", env = "TODO_ENV_FILE")]
    env_file: Option<PathBuf>,
    /// The compose project name: the network and the data volume are prefixed with it.
    #[arg(
        long,
        value_name = "NAME",
        env = "COMPOSE_PROJECT_NAME",
        default_value = "todo"
    )]
    project_name: String,
}

/// Options of `compose-up`.
#[derive(clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    common: Common,
    /// Use the images named by TODO_BACKEND_IMAGE / TODO_FRONTEND_IMAGE (default
    /// `todo-backend:latest`, `todo-frontend:latest`) instead of building them.
    #[arg(long)]
    no_build: bool,
    /// How long to wait for the containers to be healthy, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Then watch backend/, frontend/ and the .env file: rebuild, repackage and recreate
    /// only the container a change affects (images built with the `watch` profile; see
    /// docs/watch.md). Ctrl-C stops watching and leaves the app running.
    #[arg(long, conflicts_with = "no_build")]
    watch: bool,
}

/// Options of `compose-down`.
#[derive(clap::Args)]
pub struct DownArgs {
    #[command(flatten)]
    common: Common,
    /// Also delete the data volume (every account and task is lost).
    #[arg(long)]
    volumes: bool,
}

/// Options of `compose-logs`.
#[derive(clap::Args)]
pub struct LogsArgs {
    #[command(flatten)]
    common: Common,
    /// Only this service's logs.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        project::SERVICES.iter().map(|service| service.name)
    ))]
    service: Option<String>,
    /// Keep printing new lines.
    #[arg(long, short)]
    follow: bool,
    /// Only the last N lines of each container.
    #[arg(long, value_name = "N")]
    tail: Option<usize>,
}

/// Options of `compose-ps`.
#[derive(clap::Args)]
pub struct PsArgs {
    #[command(flatten)]
    common: Common,
}

/// Runs `compose-down`.
pub fn down(args: DownArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.common)?;
    session
        .compose(&session.tool.down_args(args.volumes))
        .run()?;
    if !args.volumes {
        eprintln!("(the data volume is kept; `cargo xtask compose-down --volumes` deletes it)");
    }
    Ok(())
}

/// Runs `compose-logs`.
pub fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.common)?;
    let tail = args.tail.map(|lines| lines.to_string());
    session
        .compose(
            &session
                .tool
                .logs_args(args.service.as_deref(), args.follow, tail.as_deref()),
        )
        .run()?;
    Ok(())
}

/// Runs `compose-ps`.
pub fn ps(args: PsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.common)?;
    session.compose(&["ps"]).run()?;
    Ok(())
}

/// What every command works with: a shell in the repository, the settings, compose.
struct Session {
    sh: Shell,
    settings: Settings,
    tool: ComposeTool,
}

impl Session {
    /// Checks Docker and compose, reads `.env` (when it exists) and resolves the settings.
    fn open(common: &Common) -> anyhow::Result<Self> {
        let sh = Shell::new()?;
        sh.change_dir(project::root());
        docker::check_daemon(&sh)?;
        let tool = ComposeTool::detect(&sh)?;
        let settings = resolve_settings(common)?;
        Ok(Self { sh, settings, tool })
    }

    /// A compose command on this project. The backend's `env_file` must be a regular file
    /// even for `down` or `ps` (v1 refuses /dev/null), so a missing `.env` is replaced by
    /// .env.example there, which has every key and no value.
    fn compose(&self, args: &[&str]) -> xshell::Cmd<'_> {
        let env_file = self
            .settings
            .env_file
            .is_file()
            .then_some(self.settings.env_file.as_path());
        let target = Target {
            file: &self.settings.compose_file,
            project: &self.settings.project,
            env_file,
        };
        let line = self.tool.command_line(&target, args);
        self.sh
            .cmd(&line[0])
            .args(&line[1..])
            .env(
                "TODO_ENV_FILE",
                env_file.unwrap_or(&self.settings.env_template),
            )
            .quiet()
    }
}

/// The settings: `.env` path made absolute, then variables from the environment or `.env`.
fn resolve_settings(common: &Common) -> anyhow::Result<Settings> {
    let root = project::root();
    let env_file = match &common.env_file {
        Some(path) => std::env::current_dir()?.join(path),
        None => root.join(".env"),
    };
    let env = if env_file.exists() {
        Some(EnvFile::load(&env_file)?)
    } else {
        None
    };
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.is_empty())
            .or_else(|| {
                env.as_ref()
                    .and_then(|env| env.get_non_empty(name))
                    .map(|value| value.expose().to_owned())
            })
    };
    Settings::resolve(root, env_file.clone(), common.project_name.clone(), lookup)
}
