//! YAML in and out with Helm's exact semantics.
//!
//! [`parse`] reads YAML the way Helm reads values files and `fromYaml` input
//! (sigs.k8s.io/yaml: YAML through JSON, so every number is a `float64`). [`emit`] writes
//! a value the way Helm's `toYaml` does (JSON marshalling, then go-yaml's emitter).

mod block;
pub mod emit;
mod flow_indent;
pub mod parse;
