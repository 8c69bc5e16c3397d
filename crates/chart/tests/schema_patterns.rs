//! Schemas whose `pattern`s or `patternProperties` names Go's `regexp` refuses: Helm
//! refuses the chart whatever the values (the pattern reached by them or not), with its
//! metaschema report; valid patterns still check the values.
//!
//! `tests/fixtures/schema-patterns/cases.json` holds Helm v4.2's answers, written by
//! `regenerate.py` there with `../shared/helm-oracle`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploykit_chart::{Chart, ReleaseOptions, ValueSources, render};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-patterns")
}

#[derive(Deserialize)]
struct Case {
    chart: String,
    values: String,
    #[serde(default)]
    expected: Option<BTreeMap<String, String>>,
    #[serde(default)]
    expected_error: Option<String>,
}

fn render_case(case: &Case) -> Result<BTreeMap<String, String>, String> {
    let base = fixtures();
    let chart = Chart::load(base.join(&case.chart)).map_err(|e| e.to_string())?;
    let values = ValueSources::default()
        .file(base.join(&case.values))
        .merge()
        .map_err(|e| e.to_string())?;
    render(&chart, &values, &ReleaseOptions::default()).map_err(|e| e.to_string())
}

#[test]
fn invalid_patterns_fail_as_helm_fails() {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in &cases {
        let got = render_case(case);
        let same = match (&case.expected, &case.expected_error, &got) {
            (Some(want), _, Ok(got)) => want == got,
            (_, Some(want), Err(got)) => want.trim_end() == got.trim_end(),
            _ => false,
        };
        if !same {
            failures.push(format!(
                "{} with {}:\n  want {:?}\n   got {:?}",
                case.chart,
                case.values,
                case.expected_error
                    .clone()
                    .map(Err)
                    .unwrap_or(Ok(case.expected.clone().unwrap_or_default())),
                got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
