//! `cargo xtask bench render`: load + render time of every corpus case with
//! deploykit-chart, next to Helm's own engine on the same corpus in the same run.
//!
//! Our figure is the best of several passes in-process; Helm's comes from
//! `../shared/helm-oracle/helm-time` (libhelm in-process, best of its passes). The
//! benchmark re-runs itself in release mode, as a debug build would measure the
//! compiler's settings rather than the renderer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deploykit_chart::corpus::{Case, load_cases};

use crate::conformance::{default_corpus, render_case};
use crate::project;

/// Options of `bench render`.
#[derive(clap::Args)]
pub struct Args {
    /// The corpus folder (default: ../shared/chart-corpus from the workspace root).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Passes over the corpus; the best one counts.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// Passes for Helm's engine.
    #[arg(long, default_value_t = 3)]
    helm_passes: usize,
}

/// Runs the benchmark and prints `render: X ms/case, helm Y ms/case, Z.ZZx`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let corpus = args.corpus.clone().unwrap_or_else(default_corpus);
    if cfg!(debug_assertions) {
        println!("re-running in release mode for a fair measurement...");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(project::root())
            .args([
                "run",
                "--release",
                "--quiet",
                "--package",
                "xtask",
                "--",
                "bench",
                "render",
            ])
            .arg("--corpus")
            .arg(&corpus)
            .args(["--passes", &args.passes.to_string()])
            .args(["--helm-passes", &args.helm_passes.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "the release-mode benchmark failed");
        return Ok(());
    }
    let cases: Vec<Case> = load_cases(&corpus)?
        .into_iter()
        .filter(|case| case.expected_error.is_none())
        .collect();
    anyhow::ensure!(
        !cases.is_empty(),
        "no renderable cases in {}",
        corpus.display()
    );
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut best: Option<Duration> = None;
    let mut failures = 0;
    for _ in 0..args.passes.max(1) {
        failures = 0;
        let start = Instant::now();
        for case in &cases {
            if render_case(case, &corpus).is_err() {
                failures += 1;
            }
        }
        let elapsed = start.elapsed();
        best = Some(best.map_or(elapsed, |b| b.min(elapsed)));
    }
    std::panic::set_hook(hook);
    let ours = best.unwrap_or_default().as_secs_f64() * 1000.0 / cases.len() as f64;
    println!(
        "deploykit-chart: {} cases ({} failed to render), best of {}: {:.2} ms/case",
        cases.len(),
        failures,
        args.passes,
        ours
    );
    let helm = helm_time(&corpus, args.helm_passes)?;
    println!(
        "render: {ours:.2} ms/case, helm {helm:.2} ms/case, {:.2}x",
        helm / ours
    );
    Ok(())
}

/// Runs `helm-time` and reads its `... X ms/case` figure.
fn helm_time(corpus: &Path, passes: usize) -> anyhow::Result<f64> {
    let tool = project::root().join("../shared/helm-oracle/helm-time");
    anyhow::ensure!(
        tool.is_file(),
        "{} is missing: Helm's engine timing needs ../shared/helm-oracle (see its README)",
        tool.display()
    );
    let output = Command::new(&tool)
        .arg(corpus)
        .arg(passes.to_string())
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "helm-time failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{}", text.trim());
    parse_helm_time(&text)
        .ok_or_else(|| anyhow::anyhow!("cannot read helm-time's output: {}", text.trim()))
}

/// `helm-v4 engine: 242 cases, best of 3: 2034.1 ms total, 8.41 ms/case` -> 8.41.
fn parse_helm_time(text: &str) -> Option<f64> {
    let before = text.split(" ms/case").next()?;
    before.rsplit([' ', ',']).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_helm_time_output() {
        let line = "helm-v4 engine: 242 cases, best of 3: 2034.1 ms total, 8.41 ms/case\n";
        assert_eq!(super::parse_helm_time(line), Some(8.41));
    }
}
