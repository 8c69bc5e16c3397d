//! One pass over the shared chart corpus (`../shared/chart-corpus`, or the folder
//! given), every renderable case loaded and rendered once: a steady target for
//! profilers (`valgrind --tool=callgrind`, `perf record`). `PASSES=N` runs N passes;
//! it prints the best pass's time per case, as `cargo xtask bench render` does, and with
//! `CASE_TIMES=1` each case's best time over the passes, slowest first.

use std::path::PathBuf;

use deploykit_chart::corpus::load_cases;

/// The allocator `cargo xtask` renders with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corpus = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/chart-corpus"),
        PathBuf::from,
    );
    let cases = load_cases(&corpus)?;
    let passes: usize = std::env::var("PASSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let renderable: Vec<_> = cases
        .iter()
        .filter(|case| case.expected_error.is_none())
        .collect();
    let mut best = vec![f64::INFINITY; renderable.len()];
    let mut failed = 0;
    let mut best_pass = f64::INFINITY;
    for _ in 0..passes {
        let pass_start = std::time::Instant::now();
        for (case, best) in renderable.iter().zip(&mut best) {
            let start = std::time::Instant::now();
            failed += usize::from(case.render(&corpus).is_err());
            *best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        }
        best_pass = best_pass.min(pass_start.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{} cases ({} renderable), {failed} failed to render; best of {passes} passes: {:.2} ms/case",
        cases.len(),
        renderable.len(),
        best_pass / renderable.len() as f64
    );
    if std::env::var_os("CASE_TIMES").is_some() {
        let mut times: Vec<_> = renderable.iter().zip(best).collect();
        times.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (case, ms) in times {
            println!("{ms:10.2} ms  {}", case.name);
        }
    }
    Ok(())
}
