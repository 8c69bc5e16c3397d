//! Template errors: Go's error chains, and the way Helm's engine rewrites them
//! (`cleanupParseError`, `cleanupExecError`, `reformatExecErrorMsg`).

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// One error of a Go error chain (what `errors.Unwrap` walks), by its message.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    pub msg: String,
    /// Whether this is a `template.ExecError`.
    pub exec: bool,
}

impl Layer {
    pub fn exec(msg: String) -> Layer {
        Layer { msg, exec: true }
    }

    pub fn other(msg: String) -> Layer {
        Layer { msg, exec: false }
    }
}

/// A Go error with its unwrap chain; the first layer's message is `err.Error()`.
#[derive(Clone, Debug)]
pub(crate) struct GoError {
    pub layers: Vec<Layer>,
}

impl GoError {
    pub fn plain(msg: String) -> GoError {
        GoError {
            layers: vec![Layer::other(msg)],
        }
    }

    pub fn message(&self) -> &str {
        self.layers.first().map_or("", |l| l.msg.as_str())
    }
}

/// Whether the template failed to parse or to execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not a valid template.
    Parse,
    /// The template ran into an error (a missing value, a failing function...).
    Exec,
}

/// A template error. `Display` prints what Helm's engine reports (for example
/// `parse error at (mychart/templates/x.yaml:3): unexpected "}" in operand`, or Go's
/// own text when Helm keeps it); [`TemplateError::go_message`] is Go's raw text.
#[derive(Clone, Debug)]
pub struct TemplateError {
    kind: ErrorKind,
    file: String,
    go: GoError,
}

impl TemplateError {
    pub(crate) fn parse(file: &str, msg: String) -> TemplateError {
        TemplateError {
            kind: ErrorKind::Parse,
            file: file.to_string(),
            go: GoError::plain(msg),
        }
    }

    pub(crate) fn exec(file: &str, go: GoError) -> TemplateError {
        TemplateError {
            kind: ErrorKind::Exec,
            file: file.to_string(),
            go,
        }
    }

    /// Parse or execution error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The template (file) the error is about.
    pub fn template(&self) -> &str {
        &self.file
    }

    /// Go's `err.Error()`, before Helm rewrites it
    /// (`template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`).
    pub fn go_message(&self) -> &str {
        self.go.message()
    }

    /// The message as Helm's engine returns it.
    pub fn helm_message(&self) -> String {
        match self.kind {
            ErrorKind::Parse => cleanup_parse_error(&self.file, self.go.message()),
            ErrorKind::Exec => cleanup_exec_error(&self.file, &self.go),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.helm_message())
    }
}

impl std::error::Error for TemplateError {}

fn cleanup_parse_error(file: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({file}): {msg}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

static WARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"HELM_ERR_START((?s).*)HELM_ERR_END").unwrap_or_else(|_| unreachable!())
});
static EXEC_FMT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^template: (?P<templateName>(?U).+): executing (?P<functionName>(?U).+) at (?P<location>(?U).+): (?P<errMsg>(?U).+)(?P<nextErr>( template:.*)?)$",
    )
    .unwrap_or_else(|_| unreachable!())
});
static EXEC_FMT_NO_TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^template: (?P<templateName>(?U).+): (?P<errMsg>.*)(?P<nextErr>( template:.*)?)$")
        .unwrap_or_else(|_| unreachable!())
});
static NO_TEMPLATE_ASSOCIATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^template: no template (?P<location>.*) associated with template (?P<functionName>.*)$",
    )
    .unwrap_or_else(|_| unreachable!())
});

#[derive(PartialEq, Eq, Clone)]
struct Traceable {
    location: String,
    message: String,
    executed_function: String,
}

impl Traceable {
    fn text(&self) -> String {
        let mut s = String::new();
        if !self.location.is_empty() {
            s.push_str(&self.location);
            s.push_str("\n  ");
        }
        if !self.executed_function.is_empty() {
            s.push_str(&self.executed_function);
            s.push_str("\n    ");
        }
        if !self.message.is_empty() {
            s.push_str(&self.message);
            s.push('\n');
        }
        s
    }
}

fn cleanup_exec_error(file: &str, err: &GoError) -> String {
    let msg = err.message();
    if !err.layers.first().is_some_and(|l| l.exec) {
        return msg.to_string();
    }
    let tokens: Vec<&str> = msg.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({file}): {msg}");
    }
    let location = tokens[1];
    if let Some(caps) = WARN.captures(tokens[2]) {
        return format!("execution error at ({location}): {}", &caps[1]);
    }
    let matches = |m: &str| {
        EXEC_FMT.is_match(m)
            || EXEC_FMT_NO_TEMPLATE.is_match(m)
            || NO_TEMPLATE_ASSOCIATED.is_match(m)
    };
    // Helm gives up (and keeps Go's text) at the first layer it can't read; deep chains
    // usually end in such a layer, so look there first.
    if err.layers.iter().rev().any(|l| !matches(&l.msg)) {
        return msg.to_string();
    }
    let mut traces: Vec<Traceable> = Vec::new();
    for layer in &err.layers {
        let m = layer.msg.as_str();
        let trace = if let Some(c) = EXEC_FMT.captures(m) {
            Traceable {
                location: c["templateName"].to_string(),
                message: c["errMsg"].to_string(),
                executed_function: format!(
                    "executing {} at {}:",
                    &c["functionName"], &c["location"]
                ),
            }
        } else if let Some(c) = EXEC_FMT_NO_TEMPLATE.captures(m) {
            Traceable {
                location: c["templateName"].to_string(),
                message: c["errMsg"].to_string(),
                executed_function: String::new(),
            }
        } else if NO_TEMPLATE_ASSOCIATED.is_match(m) {
            Traceable {
                location: String::new(),
                message: m.to_string(),
                executed_function: String::new(),
            }
        } else {
            return msg.to_string();
        };
        if traces.last() != Some(&trace) {
            traces.push(trace);
        }
    }
    let mut prev = String::new();
    for i in (0..traces.len()).rev() {
        let current = traces[i].message.clone();
        if i != traces.len() - 1 && current != prev {
            traces[i].message = current.replace(&prev, "");
        }
        prev = current;
    }
    let text: String = traces.iter().map(Traceable::text).collect();
    text.trim().to_string()
}
