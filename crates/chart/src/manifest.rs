//! The `helm template` form of a render: NOTES and blank results dropped, documents
//! split, hooks set apart, everything sorted in Helm's install order, each document
//! under a `# Source:` header.

use std::collections::BTreeMap;

use crate::error::ChartError;
use crate::value::Value;
use crate::yaml::parse::parse;

/// Kinds in the order Helm installs them (the one copy lives in deploykit-kind-order).
pub use deploykit_kind_order::INSTALL_ORDER;

const HOOK_EVENTS: [&str; 10] = [
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One YAML document of a rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The template it came from (`chart/templates/x.yaml`).
    pub source: String,
    /// The document, trimmed.
    pub content: String,
    /// Its `kind` (empty when it has none).
    pub kind: String,
    /// Its `helm.sh/hook` events, empty for a plain resource.
    pub hook_events: Vec<String>,
}

/// Manifests and hooks in install order, as `helm template` would print them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortedManifests {
    /// Plain resources.
    pub manifests: Vec<Manifest>,
    /// Hook resources (printed after the plain ones).
    pub hooks: Vec<Manifest>,
}

/// Helm's `releaseutil.SplitManifests`: the documents of a YAML stream, trimmed, empty
/// ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    let trimmed = text.trim_matches(go_space);
    let mut docs = Vec::new();
    let bytes = trimmed.as_bytes();
    let mut start = 0;
    let mut i = 0;
    // Separator: `---` at the very start, or preceded by (spaces and) a newline; then
    // any whitespace.
    while i + 3 <= bytes.len() {
        let at_sep = &bytes[i..i + 3] == b"---";
        if at_sep && (i == 0 || (i > start && bytes[i - 1] == b'\n')) {
            let mut sep_start = i;
            if i > 0 {
                sep_start = i - 1;
                while sep_start > start && is_go_space_byte(bytes[sep_start - 1]) {
                    sep_start -= 1;
                }
            }
            let mut end = i + 3;
            while end < bytes.len() && is_go_space_byte(bytes[end]) {
                end += 1;
            }
            docs.push(&trimmed[start..sep_start]);
            start = end;
            i = end;
            continue;
        }
        i += 1;
    }
    docs.push(&trimmed[start..]);
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(go_space).to_string())
        .collect()
}

fn go_space(c: char) -> bool {
    c.is_whitespace()
}

fn is_go_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Helm's `releaseutil.SortManifests` over an engine result: partials, NOTES and blank
/// results skipped, documents split, hooks set apart, both sorted by kind.
pub fn sort_manifests(rendered: &BTreeMap<String, String>) -> Result<SortedManifests, ChartError> {
    let mut result = SortedManifests::default();
    for (path, content) in rendered {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || path.ends_with("NOTES.txt") || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = parse(&doc).map_err(|error| ChartError::Template {
                message: format!("YAML parse error on {path}: {error}"),
            })?;
            let kind = match &head {
                Value::Map(map) => match map.get("kind") {
                    Some(Value::String(s)) => s.to_string(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let hook = match &head {
                Value::Map(map) => match map.get("metadata") {
                    Some(Value::Map(meta)) => match meta.get("annotations") {
                        Some(Value::Map(annotations)) => annotations
                            .get("helm.sh/hook")
                            .map(|v| v.as_str().unwrap_or_default().to_string()),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            };
            let manifest = Manifest {
                source: path.clone(),
                content: doc,
                kind,
                hook_events: Vec::new(),
            };
            match hook {
                None => result.manifests.push(manifest),
                Some(events) => {
                    let events: Vec<String> = events
                        .split(',')
                        .map(|e| e.trim().to_ascii_lowercase())
                        .collect();
                    if events.iter().all(|e| HOOK_EVENTS.contains(&e.as_str())) {
                        result.hooks.push(Manifest {
                            hook_events: events,
                            ..manifest
                        });
                    }
                }
            }
        }
    }
    sort_by_kind(&mut result.manifests);
    sort_by_kind(&mut result.hooks);
    Ok(result)
}

fn sort_by_kind(manifests: &mut [Manifest]) {
    deploykit_kind_order::sort_by_kind(manifests, INSTALL_ORDER, |m| m.kind.as_str());
}

/// What `helm template` prints for an engine result (without `--include-crds`).
pub fn helm_template_output(rendered: &BTreeMap<String, String>) -> Result<String, ChartError> {
    let sorted = sort_manifests(rendered)?;
    let mut body = String::new();
    for m in &sorted.manifests {
        body.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
    }
    let mut out = body.trim().to_string();
    out.push('\n');
    for h in &sorted.hooks {
        out.push_str(&format!("---\n# Source: {}\n{}\n", h.source, h.content));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), ["a: 1", "b: 2"]);
        // As Go's regexp: the second separator swallows the newline the third needs.
        assert_eq!(
            split_manifests("---\na: 1\n  \n---   \n\n---\n"),
            ["a: 1", "---"]
        );
        assert_eq!(
            split_manifests("x: |\n  ---\n"),
            ["x: |\n  ---"].map(String::from)
        );
    }

    #[test]
    fn sorts_in_install_order_with_hooks_last() {
        let mut rendered = BTreeMap::new();
        rendered.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Deployment\n---\nkind: Foo\n---\nkind: Bar\n".to_string(),
        );
        rendered.insert(
            "c/templates/b.yaml".to_string(),
            "kind: ConfigMap\n".to_string(),
        );
        rendered.insert(
            "c/templates/h.yaml".to_string(),
            "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n".to_string(),
        );
        rendered.insert("c/templates/NOTES.txt".to_string(), "hi".to_string());
        let out = helm_template_output(&rendered).unwrap();
        assert_eq!(
            out,
            "---\n# Source: c/templates/b.yaml\nkind: ConfigMap\n---\n# Source: c/templates/a.yaml\nkind: Deployment\n---\n# Source: c/templates/a.yaml\nkind: Bar\n---\n# Source: c/templates/a.yaml\nkind: Foo\n---\n# Source: c/templates/h.yaml\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n"
        );
    }
}
