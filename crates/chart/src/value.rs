//! [`Value`]: what a template sees, with Go's dynamic types.
//!
//! Helm's data is Go's `interface{}`: values files decode numbers as `float64` (YAML goes
//! through JSON), `--set` and template literals give `int64`, maps are
//! `map[string]interface{}` (always printed and ranged in sorted key order), lists are
//! `[]interface{}`. A missing value is `nil`. Special objects (`.Files`,
//! `.Capabilities.APIVersions`, semver versions) are [`Value::Object`]s that answer
//! fields and methods.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A map from key to value, sorted by key as Go prints and ranges maps.
pub type Map = BTreeMap<String, Value>;

/// A dynamically typed template value (Go's `interface{}`).
#[derive(Clone, Default)]
pub enum Value {
    /// Go's `nil`: a missing key, an unset value.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int` / `int64` (template literals, `--set`, `len`, integer math).
    Int(i64),
    /// `float64` (every number in a values file, `fromYaml`, `fromJson`).
    Float(f64),
    /// `string`.
    String(Arc<str>),
    /// `[]byte` (`.Files.GetBytes`).
    Bytes(Arc<[u8]>),
    /// `[]interface{}`.
    List(Arc<Vec<Value>>),
    /// `map[string]interface{}`.
    Map(Arc<Map>),
    /// A Go object with fields and methods (`.Files`, `.Capabilities`, semver...).
    Object(Arc<dyn GoObject>),
}

/// A Go value with fields and methods, reached in templates as `.Field` or `.Method args`.
pub trait GoObject: Send + Sync {
    /// Go's type name, used in error messages (`chartutil.Files`, `*semver.Version`).
    fn type_name(&self) -> &str;
    /// The value of field `name`, or `None` when there is no such field.
    fn field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }
    /// Calls method `name`; `None` when there is no such method, else its result or
    /// the error text Go would give.
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// How `{{ . }}` prints this object (Go's `%v`).
    fn go_string(&self) -> String;
}

impl Value {
    /// A string value.
    pub fn string(text: impl Into<Arc<str>>) -> Value {
        Value::String(text.into())
    }

    /// A map value.
    pub fn map(map: Map) -> Value {
        Value::Map(Arc::new(map))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// Go's type name of this value, as Go's errors print it.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(object) => object.type_name(),
        }
    }

    /// Go template truthiness: false, 0, nil, and empty strings, lists and maps are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The string inside, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The map inside, when this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}f"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "bytes{b:?}"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Object(o) => write!(f, "<{}>", o.type_name()),
        }
    }
}
