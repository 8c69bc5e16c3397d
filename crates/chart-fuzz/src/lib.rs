//! deploykit-chart-fuzz (dev-only): finds what deploykit-chart gets wrong before its
//! users do.
//!
//! - [`targets`]: fuzz targets (proptest, stable Rust) for the template parser and
//!   executor, the YAML values reader, `--set` parsing and chart loading: no input may
//!   panic. Each runs for a time budget ([`targets::run`]).
//! - [`differential`]: random charts ([`generate`]: templates from Go `text/template`'s
//!   grammar, values documents in every YAML style) rendered by Helm's engine
//!   ([`oracle`], one long-lived Python process) and by deploykit-chart; any
//!   difference is reduced to a minimal case ([`reduce`]).
//!
//! `cargo xtask fuzz` and `cargo xtask differential` drive both; `cargo test` runs
//! each for a bounded time. Nothing here prints: the caller reports.
//!
//! ```no_run
//! use deploykit_chart_fuzz::differential::{Differential, RunOptions};
//!
//! let mut tester = Differential::start()?;
//! let options = RunOptions {
//!     seed: 1,
//!     cases: Some(100),
//!     budget: None,
//!     shapes: Default::default(),
//!     reduce_budget: std::time::Duration::from_secs(30),
//!     max_findings: 1,
//! };
//! let summary = tester.run(&options, &mut |_| {})?;
//! assert!(summary.findings.is_empty(), "{}", summary.findings[0]);
//! # Ok::<(), deploykit_chart_fuzz::FuzzError>(())
//! ```

pub mod differential;
mod error;
pub mod generate;
pub mod oracle;
pub mod panics;
pub mod reduce;
pub mod targets;

pub use error::FuzzError;
