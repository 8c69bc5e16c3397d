//! `cargo xtask`: deploykit's workflows.
//!
//! Every command lives in its own module; this file only parses the command line and
//! dispatches. The library crates under `crates/` do the work and never print: the
//! modules here own the terminal (progress, colour, exit codes).

mod bench;
mod build_images;
mod cargo_build;
mod changes;
mod compose;
mod conformance;
mod deploy;
mod dev;
mod differential;
mod doctor;
mod e2e_cluster;
mod fuzz;
mod project;
mod rebuild;
mod render;
mod test;

use clap::{Parser, Subcommand};

/// deploykit: build, configure and deploy the Todo Chatbot app.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    /// Work on the project in DIR (a copy of this workspace) instead of the workspace
    /// this xtask was built from.
    #[arg(long, global = true, value_name = "DIR", env = "DEPLOYKIT_PROJECT_DIR")]
    project_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every check CI runs: fmt, clippy and doc (warnings are errors), all test suites.
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
    /// Fuzz deploykit-chart (templates, values, --set, chart folders): no input may panic.
    Fuzz(fuzz::Args),
    /// Render generated charts with Helm's engine and deploykit-chart; report differences.
    Differential(differential::Args),
    /// Measure performance and print figures (see docs/benchmarks.md).
    Bench(bench::Args),
    /// Check what this machine has for each workflow, with the fix for what it lacks.
    Doctor(doctor::Args),
    /// Build and deploy the app to minikube (or kind, k3d, Docker Desktop) in one command.
    DeployLocal(deploy::LocalArgs),
    /// Deploy the app to any cluster (pushing the images to a registry).
    Deploy(deploy::DeployArgs),
    /// Remove the release from the cluster (objects marked keep stay).
    Undeploy(deploy::UndeployArgs),
    /// Show the release's revision and its workloads' readiness.
    Status(deploy::StatusArgs),
    /// Show the release's revisions.
    History(deploy::HistoryArgs),
    /// Go back to a previous revision (recorded as a new one).
    Rollback(deploy::RollbackArgs),
    /// Show the logs of the backend's or frontend's pods.
    Logs(deploy::LogsArgs),
    /// Forward 127.0.0.1:PORT to a Service of the release until Ctrl-C.
    PortForward(deploy::PortForwardArgs),
    /// Show what a deploy would change in the cluster, without changing it.
    Diff(deploy::DiffArgs),
    /// Run the deploy scenarios against a real cluster when one is reachable.
    E2eCluster(e2e_cluster::Args),
}

/// mimalloc instead of glibc's malloc: chart rendering allocates millions of small,
/// short-lived values, and takes about a tenth less time with it (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(dir) = &cli.project_dir
        && let Err(error) = project::set_root(dir)
    {
        eprintln!("error: {error:#}");
        return std::process::ExitCode::FAILURE;
    }
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
        Command::Fuzz(args) => fuzz::run(args),
        Command::Differential(args) => differential::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::DeployLocal(args) => deploy::deploy_local(args),
        Command::Deploy(args) => deploy::deploy(args),
        Command::Undeploy(args) => deploy::undeploy(args),
        Command::Status(args) => deploy::status(args),
        Command::History(args) => deploy::history(args),
        Command::Rollback(args) => deploy::rollback(args),
        Command::Logs(args) => deploy::logs(args),
        Command::PortForward(args) => deploy::port_forward(args),
        Command::Diff(args) => match deploy::diff(args) {
            Ok(code) => return code,
            Err(error) => Err(error),
        },
        Command::E2eCluster(args) => e2e_cluster::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
