//! `cargo xtask differential`: generated charts rendered by Helm's engine
//! (`helm_python`, one long-lived process) and by deploykit-chart; every difference is
//! reduced to a minimal case and printed. Seeded: `--seed S --cases 1` reproduces the
//! case of seed S.

use std::time::Duration;

use anyhow::bail;
use deploykit_chart_fuzz::differential::{Differential, RunOptions, Summary};
use deploykit_chart_fuzz::generate::Shapes;
use deploykit_chart_fuzz::oracle::HelmEngine;

/// Options of `differential`.
#[derive(clap::Args)]
pub struct Args {
    /// How many cases to run.
    #[arg(long, default_value_t = 2000)]
    cases: u64,
    /// Stop after this many seconds, even if cases remain.
    #[arg(long)]
    seconds: Option<u64>,
    /// The first case's seed (case i uses SEED + i; default: a new one, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Also generate the shapes of known, still open failures (see docs/fuzzing.md).
    #[arg(long)]
    all_shapes: bool,
    /// Stop after this many differences.
    #[arg(long, default_value_t = 5)]
    max_findings: usize,
    /// Seconds allowed to reduce each difference.
    #[arg(long, default_value_t = 60)]
    reduce_seconds: u64,
}

/// Runs the comparison and fails when a difference is found.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Err(reason) = HelmEngine::available() {
        bail!("Helm's engine is not available: {reason}");
    }
    let seed = args.seed.unwrap_or_else(crate::fuzz::new_seed);
    let options = RunOptions {
        seed,
        cases: Some(args.cases),
        budget: args.seconds.map(Duration::from_secs),
        shapes: if args.all_shapes {
            Shapes::all()
        } else {
            Shapes::default()
        },
        reduce_budget: Duration::from_secs(args.reduce_seconds),
        max_findings: args.max_findings,
    };
    eprintln!("differential: seed {seed}, up to {} cases", args.cases);
    let mut tester = Differential::start()?;
    let summary = tester.run(&options, &mut |summary| {
        if summary.cases % 250 == 0 {
            eprintln!(
                "  {} cases, {} differences ...",
                summary.cases,
                summary.findings.len()
            );
        }
    })?;
    for finding in &summary.findings {
        println!("=== difference\n{finding}");
    }
    print_summary(seed, &summary);
    if !summary.findings.is_empty() {
        bail!(
            "{} differences with Helm's engine (seed {seed})",
            summary.findings.len()
        );
    }
    Ok(())
}

fn print_summary(seed: u64, summary: &Summary) {
    println!(
        "differential: seed {seed}: {} cases in {:.1} s ({:.0} cases/s): {} identical, {} refused by both ({} with another message), {} skipped (Helm timed out or died), {} differences",
        summary.cases,
        summary.elapsed.as_secs_f64(),
        summary.cases as f64 / summary.elapsed.as_secs_f64().max(0.001),
        summary.same,
        summary.both_refused,
        summary.message_differs,
        summary.helm_timeouts,
        summary.findings.len(),
    );
}
