//! What the differential tester found, kept: each folder under `tests/regressions/` is
//! a case (`values.yaml`, `main.yaml`, optional `helpers.tpl`) with Helm's answer
//! recorded in `helm.json` (`{"rendered": {...}}` or `{"refused": "..."}`).
//! deploykit-chart must render each as Helm did, or refuse where Helm refused.
//! `DEPLOYKIT_RECORD_HELM=1` re-records the answers with Helm's engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploykit_chart_fuzz::differential::{Ours, render_ours};
use deploykit_chart_fuzz::generate::Case;
use deploykit_chart_fuzz::oracle::{HelmAnswer, HelmEngine};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Recorded {
    Rendered(BTreeMap<String, String>),
    Refused(String),
}

fn regressions() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/regressions exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read_case(dir: &Path) -> Case {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    Case {
        values: read("values.yaml"),
        main: read("main.yaml"),
        helpers: read("helpers.tpl"),
    }
}

#[test]
fn found_differences_stay_fixed() {
    let record = std::env::var("DEPLOYKIT_RECORD_HELM").is_ok_and(|v| v == "1");
    let mut helm = record.then(|| HelmEngine::start().expect("Helm's engine starts"));
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let chart = scratch.path().join("fuzz");
    let mut broken = Vec::new();
    for dir in regressions() {
        let case = read_case(&dir);
        case.write_chart(&chart)
            .expect("the case's chart is written");
        if let Some(helm) = helm.as_mut() {
            let answer = match helm.render(&chart).expect("Helm answers") {
                HelmAnswer::Rendered(map) => Recorded::Rendered(map),
                HelmAnswer::Refused(message) => Recorded::Refused(message),
            };
            let json = serde_json::to_string_pretty(&answer).expect("JSON");
            std::fs::write(dir.join("helm.json"), json + "\n").expect("helm.json is written");
        }
        let recorded: Recorded = serde_json::from_str(
            &std::fs::read_to_string(dir.join("helm.json")).expect("helm.json exists"),
        )
        .expect("helm.json is readable");
        let ours = render_ours(&chart);
        let same = match (&recorded, &ours) {
            (Recorded::Rendered(helm), Ours::Rendered(ours)) => helm == ours,
            (Recorded::Refused(_), Ours::Refused(_)) => true,
            _ => false,
        };
        if !same {
            broken.push(format!(
                "{}:\n  Helm: {recorded:?}\n  ours: {ours:?}",
                dir.display()
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
