//! Conformance cases: a chart, values and release with Helm's exact output (or error),
//! and the comparison of a render against it.
//!
//! A corpus folder holds `cases/<case>.json` (see the corpus README for the format);
//! chart and values paths are relative to the corpus folder. Templates listed as
//! `nondeterministic` (random strings, generated certificates, dates) are compared by
//! YAML shape with string values masked; everything else byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::render::{ReleaseOptions, Rendered, ValueSources, render_owned};
use crate::value::Value;
use crate::{Chart, ChartError};

/// One conformance case as stored in `cases/<name>.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// The case's name (its file name without `.json`).
    #[serde(skip)]
    pub name: String,
    /// Chart folder, relative to the corpus folder.
    pub chart: String,
    /// Values files, relative to the corpus folder, merged left to right.
    #[serde(default)]
    pub values: Vec<String>,
    /// Release name.
    #[serde(default = "default_release")]
    pub release: String,
    /// Release namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Release revision.
    #[serde(default = "default_revision")]
    pub revision: i64,
    /// Whether this is an install (else an upgrade).
    #[serde(default = "default_true")]
    pub is_install: bool,
    /// Helm's engine result, when Helm rendered it.
    #[serde(default)]
    pub expected: Option<BTreeMap<String, String>>,
    /// Templates whose output differs between two Helm runs.
    #[serde(default)]
    pub nondeterministic: Vec<String>,
    /// Helm's error, when Helm refused to render.
    #[serde(default)]
    pub expected_error: Option<String>,
}

fn default_release() -> String {
    "release-name".to_string()
}
fn default_namespace() -> String {
    "default".to_string()
}
fn default_revision() -> i64 {
    1
}
fn default_true() -> bool {
    true
}

/// Reads every case of a corpus, sorted by name.
pub fn load_cases(corpus: &Path) -> Result<Vec<Case>, ChartError> {
    let dir = corpus.join("cases");
    let io = |path: &Path, error| ChartError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| io(&dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let mut case: Case = serde_json::from_str(&text).map_err(|error| {
            ChartError::load(format!("cannot read case {}: {error}", path.display()))
        })?;
        case.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push(case);
    }
    Ok(cases)
}

impl Case {
    /// The release options of this case.
    pub fn release_options(&self) -> ReleaseOptions {
        ReleaseOptions {
            name: self.release.clone(),
            namespace: self.namespace.clone(),
            revision: self.revision,
            is_install: self.is_install,
            is_upgrade: !self.is_install,
        }
    }

    /// Loads the chart and values and renders the case.
    pub fn render(&self, corpus: &Path) -> Result<Rendered, ChartError> {
        let chart = Chart::load(corpus.join(&self.chart))?;
        let mut sources = ValueSources::default();
        for file in &self.values {
            sources = sources.file(corpus.join(file));
        }
        let values = sources.merge()?;
        render_owned(chart, values, &self.release_options())
    }

    /// Compares a render with Helm's answer.
    pub fn judge(&self, result: &Result<Rendered, ChartError>) -> Verdict {
        match (&self.expected_error, result) {
            (Some(want), Err(got)) => {
                let got = got.to_string();
                if &got == want {
                    Verdict::Identical
                } else {
                    Verdict::FailedDifferently {
                        want: want.clone(),
                        got,
                    }
                }
            }
            (Some(want), Ok(_)) => Verdict::ShouldHaveFailed { want: want.clone() },
            (None, Err(error)) => Verdict::Failed {
                error: error.to_string(),
            },
            (None, Ok(rendered)) => {
                let expected = self.expected.clone().unwrap_or_default();
                let mut differences = Vec::new();
                let names: std::collections::BTreeSet<&String> =
                    expected.keys().chain(rendered.keys()).collect();
                for name in names {
                    let want = expected.get(name);
                    let got = rendered.get(name);
                    let same = match (want, got) {
                        (Some(w), Some(g)) if self.nondeterministic.contains(name) => {
                            same_shape(w, g)
                        }
                        (Some(w), Some(g)) => w == g,
                        _ => false,
                    };
                    if !same {
                        differences.push(Difference {
                            template: name.clone(),
                            want: want.cloned(),
                            got: got.cloned(),
                        });
                    }
                }
                if differences.is_empty() {
                    Verdict::Identical
                } else {
                    Verdict::Different(differences)
                }
            }
        }
    }
}

/// How a render compares with Helm's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Same output (or the same error).
    Identical,
    /// Helm failed and so did we, with another message (counts as a pass: the case
    /// must fail).
    FailedDifferently {
        /// Helm's message.
        want: String,
        /// Ours.
        got: String,
    },
    /// Helm failed but we rendered.
    ShouldHaveFailed {
        /// Helm's message.
        want: String,
    },
    /// We failed where Helm rendered.
    Failed {
        /// Our error.
        error: String,
    },
    /// Some templates differ.
    Different(Vec<Difference>),
}

impl Verdict {
    /// Whether the case passes.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Identical | Verdict::FailedDifferently { .. })
    }
}

/// One template whose output differs (`None`: missing on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The template path.
    pub template: String,
    /// Helm's output.
    pub want: Option<String>,
    /// Ours.
    pub got: Option<String>,
}

/// Whether two renders of a nondeterministic template have the same YAML shape: the
/// same documents, keys, list lengths and non-string scalars; strings may differ.
pub fn same_shape(want: &str, got: &str) -> bool {
    let want_docs = crate::manifest::split_manifests(want);
    let got_docs = crate::manifest::split_manifests(got);
    if want_docs.len() != got_docs.len() {
        return false;
    }
    want_docs.iter().zip(&got_docs).all(|(w, g)| {
        match (crate::yaml::parse::parse(w), crate::yaml::parse::parse(g)) {
            (Ok(w), Ok(g)) => shape_eq(&w, &g),
            _ => w.lines().count() == g.lines().count(),
        }
    })
}

fn shape_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(_), Value::String(_)) => true,
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.to_map(), y.to_map());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| shape_eq(v, w)))
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(v, w)| shape_eq(v, w))
        }
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint64(x), Value::Uint64(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_mask_strings_only() {
        assert!(same_shape("a: x\nb: [1, 2]\n", "a: z\nb: [1, 2]\n"));
        assert!(!same_shape("a: x\nb: [1, 2]\n", "a: x\nb: [1]\n"));
        assert!(!same_shape("a: x\n", "c: x\n"));
    }
}
