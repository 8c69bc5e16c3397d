//! Criterion benchmark: load + render of every renderable case of the shared chart
//! corpus (`../shared/chart-corpus`). Skips (with a note) when the corpus is absent.
//! `cargo xtask bench render` gives the same figure next to Helm's engine.

use std::path::Path;

use criterion::Criterion;
use deploykit_chart::corpus::load_cases;

/// The allocator `cargo xtask` renders with, so that both figures agree.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn corpus_render(c: &mut Criterion) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/chart-corpus");
    let Ok(cases) = load_cases(&corpus) else {
        eprintln!("skipped: no chart corpus at {}", corpus.display());
        return;
    };
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.expected_error.is_none())
        .collect();
    c.bench_function("corpus load+render (all cases)", |b| {
        b.iter(|| {
            for case in &cases {
                let _ = std::hint::black_box(case.render(&corpus));
            }
        })
    });
}

fn main() {
    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    corpus_render(&mut criterion);
    criterion.final_summary();
}
