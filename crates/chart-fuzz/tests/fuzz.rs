//! The fuzz targets, each for a bounded time (`DEPLOYKIT_FUZZ_SECONDS`, 20 by default;
//! `DEPLOYKIT_FUZZ_SEED` to start elsewhere): no input may panic deploykit-chart.
//! `cargo xtask fuzz` runs them longer, from new seeds.

use std::time::Duration;

use deploykit_chart_fuzz::targets::{Target, run};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fuzz(target: Target) {
    let seed = env_number("DEPLOYKIT_FUZZ_SEED", 20_261_206);
    let budget = Duration::from_secs(env_number("DEPLOYKIT_FUZZ_SECONDS", 20));
    let report = run(target, seed, budget);
    eprintln!(
        "fuzz {}: seed {seed}: {} inputs in {:.1} s",
        target.name(),
        report.cases,
        report.elapsed.as_secs_f64()
    );
    if let Some(failure) = report.failure {
        panic!(
            "fuzz target {} (seed {seed}) found a panic:\n{}\ninput: {}",
            target.name(),
            failure.panic,
            failure.input
        );
    }
}

#[test]
fn templates_never_panic() {
    fuzz(Target::Template);
}

#[test]
fn values_documents_never_panic() {
    fuzz(Target::Values);
}

#[test]
fn set_expressions_never_panic() {
    fuzz(Target::Set);
}

#[test]
fn chart_folders_never_panic() {
    fuzz(Target::Chart);
}
