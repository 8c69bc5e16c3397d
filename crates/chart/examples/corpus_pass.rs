//! One pass over the shared chart corpus (`../shared/chart-corpus`, or the folder
//! given), every renderable case loaded and rendered once: a steady target for
//! profilers (`valgrind --tool=callgrind`, `perf record`).

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
    let mut failed = 0;
    for _ in 0..passes {
        for case in cases.iter().filter(|case| case.expected_error.is_none()) {
            failed += usize::from(case.render(&corpus).is_err());
        }
    }
    println!("{} cases, {failed} failed to render", cases.len());
    Ok(())
}
