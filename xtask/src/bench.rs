//! `cargo xtask bench <target>`: benchmarks that print figures.
//!
//! Each target lives in `bench/<target>.rs`, measures deploykit against an anchor in the
//! same run, and prints the ratio (this machine is noisy: never compare across runs).

mod backend;
mod compose;
// The deploy benchmark runs an in-process fake API server, which xtask carries only with
// the `bench-deploy` feature (and in its own tests).
#[cfg(any(test, feature = "bench-deploy"))]
mod deploy;
#[cfg(not(any(test, feature = "bench-deploy")))]
mod deploy {
    /// Options of `bench deploy`.
    #[derive(clap::Args)]
    pub struct Args {
        /// How many no-change runs of each tool.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    }

    /// Says how to build xtask with the benchmark.
    pub fn run(args: Args) -> anyhow::Result<()> {
        anyhow::bail!(
            "bench deploy needs the fake API server, which this build of xtask leaves out: run \
             `cargo run -p xtask --features bench-deploy -- bench deploy --runs {}`",
            args.runs
        )
    }
}
mod images;
mod latest_tags;
mod render;
mod watch;

use clap::Subcommand;

/// Options of `bench`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    target: Target,
}

/// What to measure.
#[derive(Subcommand)]
enum Target {
    /// todo-backend's release build under wrk: GET and POST /api/tasks, requests/s and p99.
    Backend(backend::Args),
    /// compose-up cold and warm, next to docker-compose on the same files.
    Compose(compose::Args),
    /// A no-change deploy-local, next to Helm's client upgrading the same release.
    Deploy(deploy::Args),
    /// Image sizes, packaging time and the no-change rebuild, next to `docker build`.
    Images(images::Args),
    /// Load + render of every chart-corpus case, next to Helm's engine on the same corpus.
    Render(render::Args),
    /// From saving a changed handler to the new response served, through the watch loops
    /// and through the same commands without --watch.
    Watch(watch::Args),
}

/// Runs the chosen benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.target {
        Target::Backend(args) => backend::run(args),
        Target::Compose(args) => compose::run(args),
        Target::Deploy(args) => deploy::run(args),
        Target::Images(args) => images::run(args),
        Target::Render(args) => render::run(args),
        Target::Watch(args) => watch::run(args),
    }
}

/// The middle of `times` (the upper one of an even count; zero when there are none).
fn median(times: &[std::time::Duration]) -> std::time::Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The 1-minute load average, for reading the figures ("unknown" off Linux).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}
