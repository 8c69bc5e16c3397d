//! [`Value`] to YAML, as Helm's `toYaml` writes it (being built).

use crate::value::Value;

/// Writes `value` as Helm's `toYaml` does (without the trailing newline `toYaml` trims).
pub fn to_yaml(value: &Value) -> Result<String, String> {
    let _ = value;
    Err("YAML output is not built yet".to_string())
}
