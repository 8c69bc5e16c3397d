//! YAML in and out with Helm's exact semantics.
//!
//! [`parse`] reads YAML the way Helm reads values files and `fromYaml` input
//! (sigs.k8s.io/yaml: YAML through JSON, so every number is a `float64`). [`emit`] writes
//! a value the way Helm's `toYaml` does (JSON marshalling, then go-yaml's emitter).
//! [`documents`] reads values files as Helm v4 does: every YAML document, merged.

mod block;
pub mod documents;
pub mod emit;
mod flow_indent;
mod go_scanner;
pub mod parse;
mod quoted_breaks;
