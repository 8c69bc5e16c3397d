//! `cargo xtask bench <target>`: benchmarks that print figures.
//!
//! Each target lives in `bench/<target>.rs`, measures deploykit against an anchor in the
//! same run, and prints the ratio (this machine is noisy: never compare across runs).

mod backend;
mod compose;
mod images;
mod render;

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
    /// Image sizes, packaging time and the no-change rebuild, next to `docker build`.
    Images(images::Args),
    /// Load + render of every chart-corpus case, next to Helm's engine on the same corpus.
    Render(render::Args),
}

/// Runs the chosen benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.target {
        Target::Backend(args) => backend::run(args),
        Target::Compose(args) => compose::run(args),
        Target::Images(args) => images::run(args),
        Target::Render(args) => render::run(args),
    }
}
