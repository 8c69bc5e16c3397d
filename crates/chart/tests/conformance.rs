//! Keeps what passes passing: every case listed in `tests/conformance-passing.txt` must
//! still render exactly as Helm does on the shared chart corpus
//! (`../shared/chart-corpus`, required under `CI=true`). `cargo xtask helm-conformance
//! --update-passing` rewrites the list.

use std::path::{Path, PathBuf};

use deploykit_chart::corpus::load_cases;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/chart-corpus")
}

#[test]
fn listed_corpus_cases_stay_identical_to_helm() {
    let corpus = corpus();
    let present = if corpus.join("cases").is_dir() {
        Ok(())
    } else {
        Err(format!("no chart corpus at {}", corpus.display()))
    };
    if !deploykit_testkit::require("the chart corpus", present) {
        return;
    }
    let listed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-passing.txt"),
    )
    .unwrap();
    let listed: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let cases = load_cases(&corpus).unwrap();
    let mut broken = Vec::new();
    for name in &listed {
        let Some(case) = cases.iter().find(|c| c.name == *name) else {
            broken.push(format!("{name}: no such case in the corpus"));
            continue;
        };
        let verdict = case.judge(&case.render(&corpus));
        if !verdict.passed() {
            broken.push(format!("{name}: {verdict:?}").chars().take(600).collect());
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {} listed cases no longer match Helm (run `cargo xtask helm-conformance --case NAME`):\n{}",
        broken.len(),
        listed.len(),
        broken.join("\n")
    );
}
