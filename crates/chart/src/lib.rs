//! deploykit-chart: Helm-compatible chart loading and rendering, in pure Rust.
//!
//! Files and values in, rendered text out: no network, no Docker, no Kubernetes client,
//! no printing.

pub mod value;

pub use value::{GoObject, Map, Value};
