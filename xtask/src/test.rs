//! `cargo xtask test`: the one test command, the same locally and in CI.
//!
//! Order: formatting, clippy with warnings as errors, the docs (`cargo doc`, warnings as
//! errors), then every test suite of the workspace. Services the suites need and that a
//! test cannot start by itself (the Docker daemon) are started first when this machine
//! can (root with `dockerd` installed); suites whose service is still missing skip with
//! a printed reason, except under `CI=true`, where they fail.

use crate::project;
use xshell::{Shell, cmd};

/// Options of `test`.
#[derive(clap::Args)]
pub struct Args {
    /// Only run the tests whose name contains this filter (fmt, clippy and doc still run).
    filter: Option<String>,
    /// Skip the fmt, clippy and doc checks.
    #[arg(long)]
    no_lint: bool,
}

/// Runs fmt, clippy, doc and every test suite.
pub fn run(args: Args) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project::root());
    if !args.no_lint {
        step("cargo fmt --check");
        cmd!(sh, "cargo fmt --all --check").run()?;
        step("cargo clippy (warnings are errors)");
        cmd!(
            sh,
            "cargo clippy --workspace --all-targets --quiet -- -D warnings"
        )
        .run()?;
        // The crates' docs are their API for other projects: a broken link or a bad code
        // block fails here. About 30 s of CPU once clippy has checked the dependencies.
        step("cargo doc (warnings are errors)");
        cmd!(sh, "cargo doc --workspace --no-deps --quiet")
            .env("RUSTDOCFLAGS", "-D warnings")
            .run()?;
    }
    start_services(&sh)?;
    step("cargo test (every suite)");
    let filter = args.filter.as_slice();
    cmd!(sh, "cargo test --workspace --no-fail-fast {filter...}").run()?;
    Ok(())
}

/// Starts the Docker daemon when it is installed, not answering, and we may start it.
fn start_services(sh: &Shell) -> anyhow::Result<()> {
    let script = project::root().join("ci/start-docker.sh");
    if cmd!(sh, "docker info")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
    {
        return Ok(());
    }
    if which::which("dockerd").is_ok() && is_root(sh) {
        step("starting dockerd");
        cmd!(sh, "bash {script}").run()?;
    }
    Ok(())
}

fn is_root(sh: &Shell) -> bool {
    cmd!(sh, "id -u")
        .quiet()
        .read()
        .map(|uid| uid.trim() == "0")
        .unwrap_or(false)
}

fn step(what: &str) {
    eprintln!("==> {what}");
}
