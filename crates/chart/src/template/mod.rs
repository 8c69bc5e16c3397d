//! Go's `text/template`, with Go's exact semantics and Helm's engine options.
//!
//! A [`Templates`] set is what Helm's engine builds for one render: every file parsed
//! once into the set (its `define`s shared by all), then executed by name with
//! `missingkey=zero`, `include` and `tpl`, and `<no value>` removed from the output.
//!
//! ```
//! use deploykit_chart::template::Templates;
//! use deploykit_chart::{Map, Value};
//!
//! let mut set = Templates::new();
//! set.parse("c/templates/_helpers.tpl", r#"{{ define "name" }}{{ .Values.name | default "x" }}{{ end }}"#)
//!     .unwrap();
//! set.parse("c/templates/cm.yaml", r#"name: {{ include "name" . }}{{ .Values.missing }}"#).unwrap();
//! let mut values = Map::new();
//! values.insert("name".into(), Value::string("web"));
//! let mut dot = Map::new();
//! dot.insert("Values".into(), Value::map(values));
//! # if deploykit_chart::funcs::lookup("default").is_some() {
//! assert_eq!(set.execute("c/templates/cm.yaml", &Value::map(dot)).unwrap(), "name: web");
//! # }
//! ```

mod ast;
mod builtins;
mod error;
mod exec;
pub mod fmt;
mod lex;
mod parse;

use std::sync::{Arc, Mutex};

pub use error::{ErrorKind, TemplateError};

use crate::value::{GoBuf, Value};

/// Templates by name (names come from the chart itself, so a fast hash will do).
pub(crate) type TreeMap = rustc_hash::FxHashMap<Arc<str>, Arc<ast::Tree>>;

/// A parsed set of named templates (Go's `*template.Template` tree set).
#[derive(Default)]
pub struct Templates {
    trees: TreeMap,
    /// Buffers each parse hands to the next (capacity only).
    scratch: parse::Scratch,
}

impl Clone for Templates {
    fn clone(&self) -> Self {
        Templates {
            trees: self.trees.clone(),
            scratch: parse::Scratch::default(),
        }
    }
}

impl Templates {
    /// An empty set.
    pub fn new() -> Self {
        Templates::default()
    }

    /// Parses `text` as template `name`, adding its `define`s to the set (a later
    /// definition replaces an earlier one unless it is empty, as Go's `AddParseTree`
    /// does). Errors are Go's parse errors as Helm reports them:
    /// `parse error at (NAME:LINE): unexpected "}" in operand`.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), TemplateError> {
        self.parse_shared(name, Arc::from(text))
    }

    /// [`Templates::parse`] of text already shared (a chart's template file): the
    /// parsed trees keep it without copying it.
    pub fn parse_shared(&mut self, name: &str, text: Arc<str>) -> Result<(), TemplateError> {
        let trees = parse_file(name, text, &mut self.scratch)?;
        for tree in trees {
            let empty = ast::is_empty_tree(&tree.root, &tree.source);
            if empty && self.trees.contains_key(&tree.name) {
                continue;
            }
            self.trees.insert(tree.name.clone(), tree);
        }
        Ok(())
    }

    /// Whether a template called `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes template `name` with `dot` as data, as Helm's engine does: missing map
    /// keys are Go's zero value, `include` and `tpl` work, and every `<no value>` is
    /// removed from the output.
    pub fn execute(&self, name: &str, dot: &Value) -> Result<String, TemplateError> {
        // A template's output is usually about as long as its text.
        let mut out = String::with_capacity(self.trees.get(name).map_or(0, |t| t.source.len()));
        self.execute_into(name, dot, &mut out)?;
        Ok(out)
    }

    /// Like [`Templates::execute`], appending to `out` (which is left as it was on error).
    pub fn execute_into(
        &self,
        name: &str,
        dot: &Value,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let Some(tree) = self.trees.get(name) else {
            let msg = format!(
                "template: no template {} associated with template \"gotpl\"",
                fmt::quote(name)
            );
            return Err(TemplateError::exec(name, error::GoError::plain(msg)));
        };
        let scope = exec::Scope {
            trees: &self.trees,
            parent: None,
        };
        let shared = exec::Shared {
            included: Mutex::new(rustc_hash::FxHashMap::default()),
        };
        let start = out.len();
        // Go's output is bytes: pieces of a cut character printed side by side join.
        let mut buf = GoBuf::from(std::mem::take(out));
        let result = exec::execute(&scope, &shared, tree, name, dot.clone(), &mut buf, 0);
        *out = buf.into_text();
        if let Err(e) = result {
            out.truncate(start);
            return Err(TemplateError::exec(name, e));
        }
        if has_no_value(&out.as_bytes()[start..]) {
            let cleaned = out[start..].replace("<no value>", "");
            out.truncate(start);
            out.push_str(&cleaned);
        }
        Ok(())
    }
}

/// Whether `text` holds a `<no value>` (memmem's vector search: outputs are often
/// long and rarely have one).
fn has_no_value(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"<no value>").is_some()
}

/// The trees of one parsed file.
type ParsedFile = Vec<Arc<ast::Tree>>;

/// Parses one file into its trees (the file's own and its `define`s). Every render
/// parses its chart's files afresh, as Helm's engine does: nothing is kept between
/// renders. Never inlined, so that profiles show what parsing costs.
#[inline(never)]
fn parse_file(
    name: &str,
    source: Arc<str>,
    scratch: &mut parse::Scratch,
) -> Result<ParsedFile, TemplateError> {
    let trees =
        parse::parse(name, &source, scratch).map_err(|e| TemplateError::parse(name, e.0))?;
    Ok(trees.into_iter().map(Arc::new).collect())
}
