//! deploykit-chart against Helm's engine on generated charts: a fixed seed, at most
//! 4,000 cases (`DEPLOYKIT_DIFFERENTIAL_CASES`) for at most
//! `DEPLOYKIT_DIFFERENTIAL_SECONDS` (80 by default;
//! `DEPLOYKIT_DIFFERENTIAL_SEED` to change the seed; `DEPLOYKIT_DIFFERENTIAL_FINDINGS`
//! differences to collect before it stops, 1 by default). `cargo xtask differential` runs
//! longer, with new seeds. Requires Helm's engine (`helm_python`) under `CI=true`.

use std::time::Duration;

use deploykit_chart_fuzz::differential::{Differential, RunOptions};
use deploykit_chart_fuzz::oracle::HelmEngine;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn generated_charts_render_as_helm_renders_them() {
    if !deploykit_testkit::require("Helm's engine (helm_python)", HelmEngine::available()) {
        return;
    }
    let options = RunOptions {
        seed: env_number("DEPLOYKIT_DIFFERENTIAL_SEED", 20_261_206),
        // At most the cases checked when this seed was last changed, so that a faster
        // machine meets no case that was never run here.
        cases: Some(env_number("DEPLOYKIT_DIFFERENTIAL_CASES", 4_000)),
        budget: Some(Duration::from_secs(env_number(
            "DEPLOYKIT_DIFFERENTIAL_SECONDS",
            80,
        ))),
        shapes: Default::default(),
        reduce_budget: Duration::from_secs(60),
        max_findings: usize::try_from(env_number("DEPLOYKIT_DIFFERENTIAL_FINDINGS", 1))
            .unwrap_or(1),
    };
    let mut tester = Differential::start().expect("Helm's engine starts");
    let summary = tester
        .run(&options, &mut |_| {})
        .expect("the run completes");
    eprintln!(
        "differential: seed {}: {} cases in {:.1} s ({} identical, {} refused by both, {} of them with another message, {} Helm timeouts or crashes)",
        options.seed,
        summary.cases,
        summary.elapsed.as_secs_f64(),
        summary.same,
        summary.both_refused,
        summary.message_differs,
        summary.helm_timeouts,
    );
    if !summary.findings.is_empty() {
        panic!(
            "deploykit-chart and Helm's engine differ:\n{}",
            summary
                .findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
}
