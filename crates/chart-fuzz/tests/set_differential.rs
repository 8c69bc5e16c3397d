//! `--set`, `--set-string`, `--set-json` and `--set-literal` expressions with odd paths
//! (escaped dots, list indexes, nested indexes, cut-off indexes, empty keys, nulls,
//! `{a,b}` lists, JSON documents) parsed by Helm's strvals (through its engine) and by
//! deploykit-chart's: the values, or both refusing, must be the same.
//! `DEPLOYKIT_SET_SEED` and `DEPLOYKIT_SET_CASES` run other or more expressions.

use deploykit_chart::{SetKind, Value};
use deploykit_chart_fuzz::oracle::HelmEngine;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const KEYS: &[&str] = &[
    "a", "b", "a.b", "a\\.b", "a[0]", "a[1]", "a[2]", "b[0].c", "x-y", "a.b[0]", "[0]", "a..b",
    "a[", "a]", "a[-1]", "a[3].b", "a.b.c", "c[0][1]", "\\a", "a\\,b", "é", "a b", "", ".a", "a.",
    "a[0]x", "a[01]",
];
const VALUES: &[&str] = &[
    "1",
    "true",
    "null",
    "",
    "x",
    "{1,2}",
    "{a}",
    "\"q\"",
    "1.5",
    "007",
    "0x1F",
    "[1]",
    "{\"a\":1}",
    "a\\,b",
    "a=b",
    "~",
    "-1",
    "9223372036854775808",
    "{}",
    "{,}",
    "x\\\\y",
    "1e3",
    "False",
    "{a,{b}}",
    "[1,2]",
    "{\"a\":[1,{\"b\":null}]}",
    "nul",
    "0",
    "+1",
];
const FLAGS: &[(&str, SetKind)] = &[
    ("set", SetKind::Typed),
    ("set-string", SetKind::String),
    ("set-json", SetKind::Json),
    ("set-literal", SetKind::Literal),
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One to three `key=value` parts, now and then without the `=`.
fn expression(rng: &mut StdRng) -> String {
    let mut expression = String::new();
    for i in 0..rng.gen_range(1..4) {
        if i > 0 {
            expression.push(',');
        }
        expression.push_str(KEYS.choose(rng).copied().unwrap_or("a"));
        if rng.gen_bool(0.93) {
            expression.push('=');
        }
        expression.push_str(VALUES.choose(rng).copied().unwrap_or("1"));
    }
    expression
}

/// Numbers compared as Go's float64 (Helm's JSON writes 2^63 as an integer).
fn normalized(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Number(n) => serde_json::json!(n.as_f64()),
        serde_json::Value::Array(items) => items.iter().map(normalized).collect(),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn set_expressions_parse_as_helms_strvals() {
    if !deploykit_testkit::require("Helm's engine (helm_python)", HelmEngine::available()) {
        return;
    }
    let mut helm = HelmEngine::start().expect("Helm's engine starts");
    let mut rng = StdRng::seed_from_u64(env_number("DEPLOYKIT_SET_SEED", 20261206));
    let mut differences = Vec::new();
    for _ in 0..env_number("DEPLOYKIT_SET_CASES", 3000) {
        let expression = expression(&mut rng);
        let (flag, kind) = *FLAGS.choose(&mut rng).expect("flags");
        let theirs = helm.set_as(flag, &expression).expect("Helm answers");
        let ours = deploykit_chart::strvals::parse(&expression, kind)
            .map(|map| Value::map(map).to_json())
            .map_err(|error| error.to_string());
        let same = match (&theirs, &ours) {
            (Ok(a), Ok(b)) => normalized(a) == normalized(b),
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !same {
            differences.push(format!(
                "--{flag} {expression:?}\n  Helm: {theirs:?}\n  ours: {ours:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
