//! Renders a fixture chart with the engine the way Helm's engine drives it: every file
//! under `templates/` parsed into one set (deepest paths first, reverse lexical order,
//! as Helm's `sortTemplates`), then every non-partial executed with Helm's top-level
//! object (`.Values`, `.Release`, `.Template`).

use std::collections::BTreeMap;
use std::path::Path;

use deploykit_chart::template::Templates;
use deploykit_chart::{Map, Value};

/// What a fixture chart renders to: Helm's engine map, or Helm's error text.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Template path to rendered text.
    Rendered(BTreeMap<String, String>),
    /// The error Helm reported.
    Error(String),
}

fn chart_name(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("name:"))
        .unwrap()
        .trim()
        .to_string()
}

fn template_files(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            template_files(&path, base, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// Renders the chart at `dir`.
pub fn render(dir: &Path) -> Outcome {
    let name = chart_name(dir);
    let values_text = std::fs::read_to_string(dir.join("values.yaml")).unwrap_or_default();
    let values: serde_json::Value = if values_text.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_yaml::from_str(&values_text).unwrap()
    };
    let mut files = Vec::new();
    template_files(&dir.join("templates"), dir, &mut files);
    let mut files: Vec<(String, String)> = files
        .into_iter()
        .map(|(rel, text)| (format!("{name}/{rel}"), text))
        .collect();
    // Helm's sortTemplates: more path segments first, then reverse lexical order.
    files.sort_by(|(a, _), (b, _)| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    let mut set = Templates::new();
    for (path, text) in &files {
        if let Err(e) = set.parse(path, text) {
            return Outcome::Error(e.to_string());
        }
    }
    let values = Value::from(values);
    let mut release = Map::new();
    release.insert("Name".into(), Value::string("release-name"));
    release.insert("Namespace".into(), Value::string("default"));
    release.insert("IsInstall".into(), Value::Bool(true));
    release.insert("IsUpgrade".into(), Value::Bool(false));
    release.insert("Revision".into(), Value::Int(1));
    release.insert("Service".into(), Value::string("Helm"));
    let release = Value::map(release);
    let mut rendered = BTreeMap::new();
    for (path, _) in &files {
        if path
            .rsplit('/')
            .next()
            .is_some_and(|base| base.starts_with('_'))
        {
            continue;
        }
        let mut template = Map::new();
        template.insert("Name".into(), Value::string(path.as_str()));
        template.insert(
            "BasePath".into(),
            Value::string(format!("{name}/templates")),
        );
        let mut top = Map::new();
        top.insert("Values".into(), values.clone());
        top.insert("Release".into(), release.clone());
        top.insert("Template".into(), Value::map(template));
        match set.execute(path, &Value::map(top)) {
            Ok(text) => {
                rendered.insert(path.clone(), text);
            }
            Err(e) => return Outcome::Error(e.to_string()),
        }
    }
    Outcome::Rendered(rendered)
}
