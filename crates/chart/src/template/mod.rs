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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub use error::{ErrorKind, TemplateError};

use crate::value::Value;

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
        let trees = parse_file(name, text, &mut self.scratch)?;
        self.add(trees);
        Ok(())
    }

    /// Adds the trees of one parsed file, as [`Templates::parse`] does.
    fn add(&mut self, trees: ParsedFile) {
        for tree in trees {
            let empty = ast::is_empty_tree(&tree.root, &tree.source);
            if empty && self.trees.contains_key(&tree.name) {
                continue;
            }
            self.trees.insert(tree.name.clone(), tree);
        }
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
        if let Err(e) = exec::execute(&scope, &shared, tree, name, dot.clone(), out, 0) {
            out.truncate(start);
            return Err(TemplateError::exec(name, e));
        }
        if out[start..].contains("<no value>") {
            let cleaned = out[start..].replace("<no value>", "");
            out.truncate(start);
            out.push_str(&cleaned);
        }
        Ok(())
    }
}

/// Files to parse into one [`Templates`] set, shared by the threads that parse them.
///
/// Parsing a file needs nothing from the others, so several threads may call
/// [`ParseBatch::work`] at once, each taking the next file not yet taken;
/// [`ParseBatch::into_templates`] then adds the results in the files' order, so the
/// set is exactly what [`Templates::parse`] called on each file in turn would build,
/// and the first error in that order is the one reported.
pub struct ParseBatch<'a> {
    files: &'a [(String, std::borrow::Cow<'a, str>)],
    next: AtomicUsize,
    parsed: Vec<OnceLock<Result<ParsedFile, TemplateError>>>,
    cancelled: AtomicBool,
}

impl<'a> ParseBatch<'a> {
    /// A batch of `(name, text)` files, to be added to the set in this order.
    pub fn new(files: &'a [(String, std::borrow::Cow<'a, str>)]) -> ParseBatch<'a> {
        ParseBatch {
            files,
            next: AtomicUsize::new(0),
            parsed: files.iter().map(|_| OnceLock::new()).collect(),
            cancelled: AtomicBool::new(false),
        }
    }

    /// The total length of the files' texts (what parsing them costs, roughly).
    pub fn text_len(&self) -> usize {
        self.files.iter().map(|(_, text)| text.len()).sum()
    }

    /// Parses files not yet taken by another thread until none is left (or the batch
    /// is cancelled).
    pub fn work(&self) {
        let mut scratch = parse::Scratch::default();
        while !self.cancelled.load(Ordering::Relaxed) {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some((name, text)) = self.files.get(index) else {
                return;
            };
            // Each index is taken once, so its slot is empty.
            let _ = self.parsed[index].set(parse_file(name, text, &mut scratch));
        }
    }

    /// Stops the threads in [`ParseBatch::work`] after the file each is parsing (the
    /// render failed before its templates were needed).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// The set built from every file in order: the first parse error, if any.
    /// Files no thread took (after [`ParseBatch::cancel`]) are parsed here.
    pub fn into_templates(self) -> Result<Templates, TemplateError> {
        let mut templates = Templates::new();
        for ((name, text), parsed) in self.files.iter().zip(self.parsed) {
            let trees = match parsed.into_inner() {
                Some(result) => result?,
                None => parse_file(name, text, &mut templates.scratch)?,
            };
            templates.add(trees);
        }
        Ok(templates)
    }
}

/// The trees of one parsed file.
type ParsedFile = Vec<Arc<ast::Tree>>;

/// Parses one file into its trees (the file's own and its `define`s). Every render
/// parses its chart's files afresh, as Helm's engine does: nothing is kept between
/// renders.
fn parse_file(
    name: &str,
    text: &str,
    scratch: &mut parse::Scratch,
) -> Result<ParsedFile, TemplateError> {
    let source: Arc<str> = Arc::from(text);
    let trees =
        parse::parse(name, &source, scratch).map_err(|e| TemplateError::parse(name, e.0))?;
    Ok(trees.into_iter().map(Arc::new).collect())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn files(texts: &[(&str, &'static str)]) -> Vec<(String, Cow<'static, str>)> {
        texts
            .iter()
            .map(|(name, text)| (name.to_string(), Cow::Borrowed(*text)))
            .collect()
    }

    /// Parses `files` with two threads sharing the batch.
    fn parse_in_two_threads(files: &[(String, Cow<'static, str>)]) -> Result<Templates, String> {
        let batch = ParseBatch::new(files);
        std::thread::scope(|scope| {
            scope.spawn(|| batch.work());
            batch.work();
        });
        batch.into_templates().map_err(|error| error.to_string())
    }

    #[test]
    fn a_batch_builds_what_parsing_each_file_in_turn_builds() {
        let files = files(&[
            (
                "c/charts/s/templates/_h.tpl",
                r#"{{ define "n" }}sub{{ end }}"#,
            ),
            (
                "c/templates/_h.tpl",
                r#"{{ define "n" }}top{{ end }}{{ define "e" }}e{{ end }}"#,
            ),
            ("c/templates/_z.tpl", r#"{{ define "e" }}{{ end }}"#),
            (
                "c/templates/a.yaml",
                r#"{{ include "n" . }}{{ include "e" . }}"#,
            ),
        ]);
        let templates = parse_in_two_threads(&files).expect("parses");
        let dot = Value::map(crate::value::Map::new());
        // The later definition wins, except an empty one (Go's AddParseTree).
        assert_eq!(
            templates.execute("c/templates/a.yaml", &dot).unwrap(),
            "tope"
        );
    }

    #[test]
    fn a_batch_reports_the_first_error_in_file_order() {
        let mut texts = vec![("c/templates/a.yaml", "{{ .Values.a }}"); 40];
        texts.push(("c/templates/bad1.yaml", "{{ if }}"));
        texts.push(("c/templates/bad2.yaml", "{{ end }}"));
        let files = files(&texts);
        for _ in 0..20 {
            let error = parse_in_two_threads(&files).err().expect("fails");
            assert!(error.contains("bad1.yaml"), "{error}");
        }
    }

    #[test]
    fn a_cancelled_batch_still_parses_every_file_when_asked() {
        let files = files(&[("a", "{{ 1 }}"), ("b", "{{ 2 }}")]);
        let batch = ParseBatch::new(&files);
        batch.cancel();
        batch.work();
        let templates = batch.into_templates().expect("parses");
        assert!(templates.contains("a") && templates.contains("b"));
    }
}
