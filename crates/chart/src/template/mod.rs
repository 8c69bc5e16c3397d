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

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

pub use error::{ErrorKind, TemplateError};

use crate::value::Value;

/// A parsed set of named templates (Go's `*template.Template` tree set).
#[derive(Default, Clone)]
pub struct Templates {
    trees: HashMap<Arc<str>, Arc<ast::Tree>>,
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
        let trees = parse_cached(name, text)?;
        for tree in trees.iter() {
            let empty = ast::is_empty_tree(&tree.root, &tree.source);
            if empty && self.trees.contains_key(&tree.name) {
                continue;
            }
            self.trees.insert(tree.name.clone(), tree.clone());
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
        let mut out = String::new();
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
            included: Mutex::new(HashMap::new()),
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

/// The trees of one parsed file.
type ParsedFile = Arc<[Arc<ast::Tree>]>;

/// Parsed files by (name, text): a chart's templates are parsed once per process, not
/// once per render. Bounded: the cache starts over when it holds `CACHE_LIMIT` files.
static PARSE_CACHE: LazyLock<Mutex<HashMap<u64, Vec<ParsedFile>>>> = LazyLock::new(Mutex::default);
const CACHE_LIMIT: usize = 16384;

/// A cheap key: the name, the length and both ends of the text (a hit is confirmed by
/// comparing the whole text).
fn cache_key(name: &str, text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    text.len().hash(&mut h);
    let bytes = text.as_bytes();
    bytes[..bytes.len().min(256)].hash(&mut h);
    bytes[bytes.len().saturating_sub(256)..].hash(&mut h);
    h.finish()
}

fn parse_cached(name: &str, text: &str) -> Result<ParsedFile, TemplateError> {
    let key = cache_key(name, text);
    let same = |file: &ParsedFile| {
        file.last()
            .is_some_and(|tree| &*tree.parse_name == name && &*tree.source == text)
    };
    {
        let cache = PARSE_CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache
            .get(&key)
            .and_then(|files| files.iter().find(|f| same(f)))
        {
            return Ok(hit.clone());
        }
    }
    let source: Arc<str> = Arc::from(text);
    let trees = parse::parse(name, &source).map_err(|e| TemplateError::parse(name, e.0))?;
    let file: ParsedFile = trees.into_iter().map(Arc::new).collect();
    let mut cache = PARSE_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.entry(key).or_default().push(file.clone());
    Ok(file)
}
