//! Fixture charts rendered by deploykit-chart and compared with Helm's own answers.
//!
//! `tests/fixtures/charts/cases.json` lists each case (chart, values files, `--set`
//! expressions, release) with what Helm v4's engine returned for it (the engine map, or
//! its error). `tests/fixtures/charts/set-cases.json` holds Helm's parse of `--set`
//! expressions. Both were generated with `../shared/helm-oracle`; see
//! `tests/fixtures/charts/README.md` to regenerate them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploykit_chart::strvals::{self, SetKind};
use deploykit_chart::{Chart, ReleaseOptions, Value, ValueSources, render};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts")
}

#[derive(Deserialize)]
struct ChartCase {
    name: String,
    chart: String,
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    expected: Option<BTreeMap<String, String>>,
    #[serde(default)]
    expected_error: Option<String>,
}

fn render_case(case: &ChartCase) -> Result<BTreeMap<String, String>, String> {
    let base = fixtures();
    let chart = Chart::load(base.join(&case.chart)).map_err(|e| e.to_string())?;
    let mut sources = ValueSources::default();
    for file in &case.values {
        sources = sources.file(base.join(file));
    }
    for expression in &case.set {
        sources = sources.set(SetKind::Typed, expression.clone());
    }
    let values = sources.merge().map_err(|e| e.to_string())?;
    let mut release = ReleaseOptions::default();
    if let Some(name) = &case.release {
        release.name = name.clone();
    }
    if let Some(namespace) = &case.namespace {
        release.namespace = namespace.clone();
    }
    render(&chart, &values, &release).map_err(|e| e.to_string())
}

/// Helm lists schema failures in Go map order (it varies between runs): those
/// messages are compared as sets of lines, every other message exactly.
fn same_error(want: &str, got: &str) -> bool {
    if !want.starts_with("values don't meet the specifications") {
        return want == got;
    }
    let lines = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    lines(want) == lines(got) && want.ends_with('\n') == got.ends_with('\n')
}

#[test]
fn fixture_charts_render_as_helm_renders_them() {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let cases: Vec<ChartCase> = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let got = render_case(case);
        match (&case.expected, &case.expected_error, got) {
            (Some(want), _, Ok(got)) if *want == got => {}
            (_, Some(want), Err(got)) if same_error(want, &got) => {}
            (want, want_error, got) => {
                let mut report = format!("case {}:\n", case.name);
                match got {
                    Ok(got) => {
                        let want = want.clone().unwrap_or_default();
                        for (name, text) in &got {
                            if want.get(name) != Some(text) {
                                report += &format!(
                                    "  {name}:\n    want {:?}\n     got {text:?}\n",
                                    want.get(name)
                                );
                            }
                        }
                        for name in want.keys().filter(|n| !got.contains_key(*n)) {
                            report += &format!("  {name}: missing\n");
                        }
                        if let Some(error) = want_error {
                            report += &format!("  Helm fails with: {error}\n");
                        }
                    }
                    Err(error) => {
                        report += &format!("  error: {error}\n");
                        if let Some(want_error) = want_error {
                            report += &format!("  Helm: {want_error}\n");
                        }
                    }
                }
                failures.push(report);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[derive(Deserialize)]
struct SetCase {
    expr: String,
    #[serde(default)]
    expected: Option<serde_json::Value>,
    #[serde(default)]
    expected_error: Option<String>,
}

/// A parsed value as JSON, keeping integers apart from floats as Helm's JSON does.
fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) | Value::Int64(i) => (*i).into(),
        Value::Float(f) => (*f).into(),
        Value::String(s) => s.to_string().into(),
        Value::List(items) => items.iter().map(json).collect(),
        Value::Map(map) => serde_json::Value::Object(
            map.to_map()
                .iter()
                .map(|(k, v)| (k.clone(), json(v)))
                .collect(),
        ),
        other => format!("{other:?}").into(),
    }
}

#[test]
fn set_expressions_parse_as_helm_parses_them() {
    let text = std::fs::read_to_string(fixtures().join("set-cases.json")).unwrap();
    let cases: Vec<SetCase> = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let got = strvals::parse(&case.expr, SetKind::Typed)
            .map(|map| json(&Value::map(map)))
            .map_err(|e| e.to_string());
        let ok = match (&case.expected, &case.expected_error, &got) {
            (Some(want), _, Ok(got)) => want == got,
            (_, Some(want), Err(got)) => want == got,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: want {:?} / {:?}, got {got:?}",
                case.expr, case.expected, case.expected_error
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_values_files_name_the_file_and_the_line() {
    let dir = std::env::temp_dir().join(format!("dk-chart-values-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(&file, "a: 1\n b: 2\n").unwrap();
    let error = ValueSources::default()
        .file(&file)
        .merge()
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "failed to parse {}: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this context",
            file.display()
        )
    );
    let error = ValueSources::default()
        .set(SetKind::Typed, "a")
        .merge()
        .unwrap_err()
        .to_string();
    assert_eq!(error, "failed parsing --set data: key \"a\" has no value");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn values_files_with_tabs_are_read_or_refused_as_helm_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tabs.yaml");
    // A tab line inside a plain scalar's indentation: Helm v4.2 refuses the file.
    std::fs::write(&file, "image:\n  tag: 1.2\n\t\n").unwrap();
    let error = ValueSources::default().file(&file).merge().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "failed to parse {}: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 3: found a tab character that violates indentation",
            file.display()
        )
    );
    // Tabs go-yaml skips; the last line gets a line break (Helm reads values files
    // line by line), which a block scalar there keeps.
    std::fs::write(&file, "a:\t1\nb: [\n\t1,\t2]\nc: |\n  x\n  \ty").unwrap();
    let values = ValueSources::default().file(&file).merge().unwrap();
    assert_eq!(
        Value::map(values).to_json().to_string(),
        r#"{"a":1,"b":[1,2],"c":"x\n\ty\n"}"#
    );
}
