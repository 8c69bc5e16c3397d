//! `cargo xtask fuzz`: runs deploykit-chart's fuzz targets (deploykit-chart-fuzz) for
//! longer than `cargo test` does, from a new seed each time unless `--seed` is given.

use std::time::Duration;

use anyhow::bail;
use deploykit_chart_fuzz::targets::{self, Target};

/// Options of `fuzz`.
#[derive(clap::Args)]
pub struct Args {
    /// Only this target: template, values, set or chart (default: all, one after another).
    #[arg(long)]
    target: Option<String>,
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The seed to start from (default: a new one, printed).
    #[arg(long)]
    seed: Option<u64>,
}

/// Runs the chosen targets and fails on the first panic found.
pub fn run(args: Args) -> anyhow::Result<()> {
    let chosen: Vec<Target> = match &args.target {
        Some(name) => match Target::from_name(name) {
            Some(target) => vec![target],
            None => bail!("no fuzz target {name:?}: choose template, values, set or chart"),
        },
        None => Target::ALL.to_vec(),
    };
    let seed = args.seed.unwrap_or_else(new_seed);
    let mut failed = Vec::new();
    for target in chosen {
        eprintln!(
            "fuzz {}: seed {seed}, {} s ...",
            target.name(),
            args.seconds
        );
        let report = targets::run(target, seed, Duration::from_secs(args.seconds));
        println!(
            "fuzz {}: {} inputs in {:.1} s: {}",
            target.name(),
            report.cases,
            report.elapsed.as_secs_f64(),
            if report.failure.is_some() {
                "PANIC"
            } else {
                "no panic"
            }
        );
        if let Some(failure) = report.failure {
            println!("  {}\n  input: {}", failure.panic, failure.input);
            failed.push(target.name());
        }
    }
    if !failed.is_empty() {
        bail!(
            "panics found by {} (seed {seed}; rerun with --seed {seed} --target NAME)",
            failed.join(", ")
        );
    }
    Ok(())
}

/// A seed from the clock, for runs that should cover new ground.
pub fn new_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}
