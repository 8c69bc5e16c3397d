//! `cargo xtask`: deploykit's workflows.
//!
//! Every command lives in its own module; this file only parses the command line and
//! dispatches. The library crates under `crates/` do the work and never print: the
//! modules here own the terminal (progress, colour, exit codes).

mod bench;
mod build_images;
mod compose;
mod conformance;
mod dev;
mod project;
mod render;
mod test;

use clap::{Parser, Subcommand};

/// deploykit: build, configure and deploy the Todo Chatbot app.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every check CI runs: fmt, clippy (warnings are errors) and all test suites.
    Test(test::Args),
    /// Run the backend (and the frontend) on this machine with the embedded SQLite default.
    Dev(dev::Args),
    /// Build the service images (skipped when their inputs are unchanged).
    BuildImages(build_images::Args),
    /// Bring the whole app up with Docker Compose at http://127.0.0.1:3000.
    ComposeUp(compose::UpArgs),
    /// Stop and remove the compose app (and its data with --volumes).
    ComposeDown(compose::DownArgs),
    /// Show the compose app's logs.
    ComposeLogs(compose::LogsArgs),
    /// Show the compose app's containers and their health.
    ComposePs(compose::PsArgs),
    /// Render a Helm chart as `helm template` does (or as the engine's JSON map).
    Render(render::Args),
    /// Render every case of a chart corpus and compare with Helm's output byte for byte.
    HelmConformance(conformance::Args),
    /// Measure performance and print figures (see docs/benchmarks.md).
    Bench(bench::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(args) => test::run(args),
        Command::Dev(args) => dev::run(args),
        Command::BuildImages(args) => build_images::run(args),
        Command::ComposeUp(args) => compose::up(args),
        Command::ComposeDown(args) => compose::down(args),
        Command::ComposeLogs(args) => compose::logs(args),
        Command::ComposePs(args) => compose::ps(args),
        Command::Render(args) => render::run(args),
        Command::HelmConformance(args) => conformance::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
