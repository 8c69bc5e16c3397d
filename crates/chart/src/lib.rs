//! deploykit-chart: Helm-compatible chart loading and rendering, in pure Rust.
//!
//! Files and values in, rendered text out: no network, no Docker, no Kubernetes client,
//! no printing.

pub mod funcs;
pub mod template;
pub mod value;
pub mod yaml;

pub use value::{GoObject, Map, Value};
