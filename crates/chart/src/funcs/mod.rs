//! Helm's template function set: Sprig's functions that Helm exposes plus Helm's own
//! pure functions (`toYaml`, `required`, `fail`, `lookup`...).
//!
//! Functions that need the template set (`include`, `tpl`) live in the engine
//! (`crate::template`), which asks [`lookup`] for every other name.

use crate::value::Value;

/// Why a function call failed, in the two forms Go's `text/template` prints.
#[derive(Debug, Clone, PartialEq)]
pub enum FuncError {
    /// The arguments did not fit the Go signature (printed as is, e.g. `wrong number of
    /// args for upper: want 1 got 2` or `wrong type for value; expected string; got int`).
    Args(String),
    /// The function ran and returned an error (printed as `error calling NAME: MSG`).
    Call(String),
}

/// A template function: arguments in, value or error out.
pub type Function = fn(&[Value]) -> Result<Value, FuncError>;

/// The function named `name`, or `None` when Helm has no such function.
pub fn lookup(name: &str) -> Option<Function> {
    let _ = name;
    None
}
