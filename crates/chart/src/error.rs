//! [`ChartError`]: why a chart could not be loaded, its values read or its templates
//! rendered, worded as Helm words it.

use std::path::PathBuf;

use crate::yaml::parse::YamlError;

/// Everything that can go wrong between a chart on disk and its rendered manifests.
///
/// The messages are Helm's (so a user who knows Helm recognises them), with the file
/// or expression that failed.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A file or folder could not be read. (The message holds the cause, so it is not
    /// also a `source()`: a reporter that prints the chain would say it twice.)
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The chart itself is malformed (Chart.yaml missing or invalid, bad archive...).
    #[error("{message}")]
    Load {
        /// Helm's message, e.g. `validation: chart.metadata.name is required`.
        message: String,
    },
    /// A values file (`values.yaml`, `-f FILE`) is not valid YAML or not a map.
    #[error("failed to parse {file}: {error}")]
    Values {
        /// The values file as the user named it.
        file: String,
        /// The YAML problem, with its line (in the message, not as a `source()`).
        error: YamlError,
    },
    /// A `--set`-family expression could not be parsed.
    #[error("{message}")]
    Set {
        /// Helm's message, e.g. `failed parsing --set data: key "a" has no value`.
        message: String,
    },
    /// Values do not satisfy a chart's `values.schema.json`.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"
    )]
    Schema {
        /// One block per chart: `<chart>:\n- at '/path': message\n`.
        report: String,
    },
    /// A template failed to parse or execute (Go's message with file, line and column).
    #[error("{message}")]
    Template {
        /// The message Helm prints, e.g. `template: c/templates/x.yaml:3:5: ...`.
        message: String,
    },
}

impl ChartError {
    pub(crate) fn load(message: impl Into<String>) -> ChartError {
        ChartError::Load {
            message: message.into(),
        }
    }
}
