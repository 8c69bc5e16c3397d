//! Helm's own functions (pkg/engine/funcs.go) and Sprig's JSON functions: YAML, JSON
//! and TOML in and out, `required`, `fail`, `lookup`.

use super::args::{go_bytes, string, want};
use super::json::{self, Style};
use super::{FuncError, Result};
use crate::value::{Map, Value};
use crate::yaml;

const COMPACT: Style = Style {
    escape_html: true,
    indent: false,
};
const PRETTY: Style = Style {
    escape_html: true,
    indent: true,
};
const RAW: Style = Style {
    escape_html: false,
    indent: false,
};

pub fn to_yaml(args: &[Value]) -> Result {
    want("toYaml", args, 1)?;
    Ok(Value::string(
        yaml::emit::to_yaml(&args[0]).unwrap_or_default(),
    ))
}

pub fn must_to_yaml(args: &[Value]) -> Result {
    want("mustToYaml", args, 1)?;
    yaml::emit::to_yaml(&args[0])
        .map(Value::string)
        .map_err(|e| FuncError::Call(format!("error marshaling into JSON: {e}")))
}

pub fn to_yaml_pretty(args: &[Value]) -> Result {
    want("toYamlPretty", args, 1)?;
    Ok(Value::string(
        yaml::emit::to_yaml_pretty(&args[0]).unwrap_or_default(),
    ))
}

/// `fromYaml`: a map, or `{"Error": message}` when the text is not a YAML map.
pub fn from_yaml(args: &[Value]) -> Result {
    want("fromYaml", args, 1)?;
    let text = string(&args[0])?;
    if let Some(error) = args[0].go_bytes().and_then(yaml::parse::utf8_error) {
        return Ok(error_map(error.to_string()));
    }
    Ok(
        match yaml::parse::parse_map(text, "map[string]interface {}") {
            Ok(map) => Value::map(map),
            Err(error) => error_map(error.to_string()),
        },
    )
}

/// `fromYamlArray`: a list, or `[message]` when the text is not a YAML list.
pub fn from_yaml_array(args: &[Value]) -> Result {
    want("fromYamlArray", args, 1)?;
    let text = string(&args[0])?;
    if let Some(error) = args[0].go_bytes().and_then(yaml::parse::utf8_error) {
        return Ok(Value::list(vec![Value::string(error.to_string())]));
    }
    Ok(match yaml::parse::parse_list(text) {
        Ok(items) => Value::list(items),
        Err(error) => Value::list(vec![Value::string(error.to_string())]),
    })
}

fn error_map(message: String) -> Value {
    let mut map = Map::new();
    map.insert("Error".to_string(), Value::string(message));
    Value::map(map)
}

pub fn to_json(args: &[Value]) -> Result {
    want("toJson", args, 1)?;
    Ok(Value::string(
        json::marshal(&args[0], COMPACT).unwrap_or_default(),
    ))
}

pub fn must_to_json(args: &[Value]) -> Result {
    want("mustToJson", args, 1)?;
    json::marshal(&args[0], COMPACT)
        .map(Value::string)
        .map_err(FuncError::Call)
}

pub fn to_pretty_json(args: &[Value]) -> Result {
    want("toPrettyJson", args, 1)?;
    Ok(Value::string(
        json::marshal(&args[0], PRETTY).unwrap_or_default(),
    ))
}

pub fn must_to_pretty_json(args: &[Value]) -> Result {
    want("mustToPrettyJson", args, 1)?;
    json::marshal(&args[0], PRETTY)
        .map(Value::string)
        .map_err(FuncError::Call)
}

pub fn to_raw_json(args: &[Value]) -> Result {
    want("toRawJson", args, 1)?;
    // Sprig's toRawJson panics on a marshal error (a NaN, a map that contains itself)
    // where toJson returns "".
    json::marshal(&args[0], RAW)
        .map(Value::string)
        .map_err(FuncError::Call)
}

pub fn must_to_raw_json(args: &[Value]) -> Result {
    want("mustToRawJson", args, 1)?;
    json::marshal(&args[0], RAW)
        .map(Value::string)
        .map_err(FuncError::Call)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => "number",
        Value::String(_) | Value::ByteString(_) => "string",
        Value::List(_) => "array",
        _ => "object",
    }
}

/// Helm's `fromJson`: a map, or `{"Error": message}`.
pub fn from_json(args: &[Value]) -> Result {
    want("fromJson", args, 1)?;
    let bytes = go_bytes(&args[0])?;
    Ok(match json::unmarshal_bytes(bytes) {
        Ok(Value::Map(m)) => Value::Map(m),
        Ok(Value::Nil) => Value::map(Map::new()),
        Ok(other) => error_map(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
        Err(e) => error_map(e),
    })
}

/// Helm's `fromJsonArray`: a list, or `[message]`.
pub fn from_json_array(args: &[Value]) -> Result {
    want("fromJsonArray", args, 1)?;
    let bytes = go_bytes(&args[0])?;
    Ok(match json::unmarshal_bytes(bytes) {
        Ok(Value::List(l)) => Value::List(l),
        Ok(Value::Nil) => Value::list(Vec::new()),
        Ok(other) => Value::list(vec![Value::string(format!(
            "json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&other)
        ))]),
        Err(e) => Value::list(vec![Value::string(e)]),
    })
}

/// Sprig's `mustFromJson`: any JSON value, or the decoding error.
pub fn must_from_json(args: &[Value]) -> Result {
    want("mustFromJson", args, 1)?;
    json::unmarshal_bytes(go_bytes(&args[0])?).map_err(FuncError::Call)
}

pub fn to_toml(args: &[Value]) -> Result {
    want("toToml", args, 1)?;
    // The encoder reflects on its argument: Go's reflect panics on nil.
    if matches!(args[0], Value::Nil) {
        return Err(FuncError::Call(
            "reflect: call of reflect.Value.Type on zero Value".into(),
        ));
    }
    // A map that contains itself: BurntSushi's encoder recurses until Go's stack
    // overflows.
    if args[0].nesting_exceeds(crate::value::MAX_NESTING) {
        return Err(FuncError::Call(
            "toml: a value nested too deeply (a map that contains itself)".into(),
        ));
    }
    let mut encoder = TomlEncoder { out: String::new() };
    Ok(Value::string(match encoder.encode(&[], &args[0]) {
        Ok(()) => encoder.out,
        Err(e) => e,
    }))
}

/// Helm's `fromToml`: a map, or `{"Error": message}`.
pub fn from_toml(args: &[Value]) -> Result {
    want("fromToml", args, 1)?;
    let text = string(&args[0])?;
    Ok(match text.parse::<toml::Table>() {
        Ok(table) => Value::map(table.into_iter().map(|(k, v)| (k, toml_value(v))).collect()),
        Err(e) => error_map(format!("toml: {}", e.message())),
    })
}

fn toml_value(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::string(s),
        toml::Value::Integer(i) => Value::Int64(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => toml_time(&d).unwrap_or_else(|| Value::string(d.to_string())),
        toml::Value::Array(items) => Value::list(items.into_iter().map(toml_value).collect()),
        toml::Value::Table(t) => {
            Value::map(t.into_iter().map(|(k, v)| (k, toml_value(v))).collect())
        }
    }
}

/// BurntSushi/toml decodes a date-time as Go's `time.Time` (printed `1979-05-27
/// 07:32:00 +0000 UTC`): `Z` is UTC, another offset Go's nameless fixed zone, and a
/// local date-time, date or time its fixed zones `datetime-local`, `date-local`,
/// `time-local` at the local offset (0); a time alone is on Go's year 0.
fn toml_time(datetime: &toml::value::Datetime) -> Option<Value> {
    let (hour, minute, second, nanos) = datetime
        .time
        .map(|t| (t.hour, t.minute, t.second, t.nanosecond))
        .unwrap_or_default();
    let (year, month, day) = datetime.date.map_or((0, 1, 1), |d| {
        (i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let wall = chrono::NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(
        u32::from(hour),
        u32::from(minute),
        u32::from(second),
        nanos,
    )?;
    let (name, offset) = match (datetime.offset, datetime.date, datetime.time) {
        (Some(toml::value::Offset::Z), _, _) => ("", 0),
        (Some(toml::value::Offset::Custom { minutes }), _, _) => ("", i32::from(minutes) * 60),
        (None, Some(_), Some(_)) => ("datetime-local", 0),
        (None, Some(_), None) => ("date-local", 0),
        (None, None, _) => ("time-local", 0),
    };
    Some(super::dates::fixed_zone_time_value(wall, name, offset))
}

/// BurntSushi/toml's encoder, as `toToml` uses it.
struct TomlEncoder {
    out: String,
}

fn is_table(value: &Value) -> bool {
    match value {
        Value::Map(_) => true,
        // A Go struct (`.Capabilities.KubeVersion`) or named map type (`.Files`).
        Value::Object(o) => {
            o.toml_fields().is_some() || matches!(o.underlying(), Some(Value::Map(_)))
        }
        _ => false,
    }
}

/// A table's entries in the order BurntSushi walks them: a struct's fields in
/// declaration order, a map's keys sorted.
fn table_entries(value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Map(map) => map
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        Value::Object(o) => match o.toml_fields() {
            Some(fields) => fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            None => o
                .underlying()
                .map_or_else(Vec::new, |plain| table_entries(&plain)),
        },
        _ => Vec::new(),
    }
}

fn is_table_array(value: &Value) -> bool {
    match value {
        Value::List(items) => !items.is_empty() && items.iter().all(is_table),
        _ => false,
    }
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        toml_string(key)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl TomlEncoder {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn header(key: &[String]) -> String {
        key.iter()
            .map(|k| toml_key(k))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn indent(key: &[String]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn encode(&mut self, key: &[String], value: &Value) -> std::result::Result<(), String> {
        match value {
            Value::Nil => Ok(()),
            table if is_table(table) => {
                if key.len() == 1 {
                    self.newline();
                }
                if !key.is_empty() {
                    self.out
                        .push_str(&format!("{}[{}]", Self::indent(key), Self::header(key)));
                    self.newline();
                }
                self.map_body(key, table_entries(table))
            }
            Value::List(items) if is_table_array(value) => {
                for item in items.iter() {
                    self.newline();
                    self.out
                        .push_str(&format!("{}[[{}]]", Self::indent(key), Self::header(key)));
                    self.newline();
                    self.map_body(key, table_entries(item))?;
                }
                Ok(())
            }
            other => {
                if key.is_empty() {
                    return self.element(other);
                }
                let last = key.last().map(String::as_str).unwrap_or_default();
                self.out
                    .push_str(&format!("{}{} = ", Self::indent(key), toml_key(last)));
                self.element(other)?;
                self.out.push('\n');
                Ok(())
            }
        }
    }

    fn map_body(
        &mut self,
        key: &[String],
        entries: Vec<(String, Value)>,
    ) -> std::result::Result<(), String> {
        let (subs, direct): (Vec<_>, Vec<_>) = entries
            .iter()
            .partition(|(_, v)| is_table(v) || is_table_array(v));
        for (k, v) in direct.into_iter().chain(subs) {
            // BurntSushi/toml leaves out nil values, nil slices included.
            if matches!(v, Value::Nil) || v.is_nil_list() {
                continue;
            }
            let mut child = key.to_vec();
            child.push(k.clone());
            self.encode(&child, v)?;
        }
        Ok(())
    }

    /// An inline table: as for a table, keys with plain values first, then the
    /// sub-tables, each group in the given order (sorted for a map).
    fn inline_table(&mut self, entries: Vec<(String, Value)>) -> std::result::Result<(), String> {
        self.out.push('{');
        let (subs, direct): (Vec<_>, Vec<_>) = entries
            .iter()
            .filter(|(_, v)| !matches!(v, Value::Nil) && !v.is_nil_list())
            .partition(|(_, v)| is_table(v) || is_table_array(v));
        for (i, (k, v)) in direct.into_iter().chain(subs).enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&format!("{} = ", toml_key(k)));
            self.element(v)?;
        }
        self.out.push('}');
        Ok(())
    }

    fn element(&mut self, value: &Value) -> std::result::Result<(), String> {
        match value {
            Value::Nil => return Err("toml: cannot encode a nil value".into()),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.out.push_str(&i.to_string()),
            Value::Uint64(u) => self.out.push_str(&u.to_string()),
            Value::Float(f) => {
                let text = if f.is_nan() {
                    "nan".to_string()
                } else if f.is_infinite() {
                    if *f > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    let g = super::gofmt::format_float_g(*f);
                    if g.contains('.') || g.contains('e') {
                        g
                    } else {
                        format!("{g}.0")
                    }
                };
                self.out.push_str(&text);
            }
            Value::String(s) => self.out.push_str(&toml_string(s)),
            Value::ByteString(b) => self.out.push_str(&toml_string(b.text())),
            // A `[]byte` is a slice of integers to BurntSushi.
            Value::Bytes(b) => {
                let items: Vec<String> = b.iter().map(u8::to_string).collect();
                self.out.push_str(&format!("[{}]", items.join(", ")));
            }
            Value::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if matches!(item, Value::Nil) {
                        return Err("toml: cannot encode array with nil element".into());
                    }
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.element(item)?;
                }
                self.out.push(']');
            }
            Value::Map(_) => self.inline_table(table_entries(value))?,
            // BurntSushi writes a `time.Time` as a TOML date-time (RFC 3339, nanoseconds).
            Value::Object(o) if o.type_name() == "time.Time" => {
                match super::object_data(o.as_ref()) {
                    Value::String(text) => self.out.push_str(&text),
                    _ => self.out.push_str(&toml_string(&o.go_string())),
                }
            }
            Value::Object(o) => match o.toml_fields() {
                // An inline table of a struct's fields, in declaration order.
                Some(fields) => {
                    let entries = fields.into_iter().map(|(k, v)| (k.to_string(), v));
                    self.inline_table(entries.collect())?;
                }
                None => match o.underlying() {
                    Some(plain) => self.element(&plain)?,
                    None => self.out.push_str(&toml_string(&o.go_string())),
                },
            },
        }
        Ok(())
    }
}

/// `required`: the value, or an error with the chart's message when it is nil or "".
pub fn required(args: &[Value]) -> Result {
    want("required", args, 2)?;
    let message = string(&args[0])?;
    match &args[1] {
        Value::Nil => Err(FuncError::Call(message.to_string())),
        Value::String(s) if s.is_empty() => Err(FuncError::Call(message.to_string())),
        other => Ok(other.clone()),
    }
}

/// `fail`: always an error with the chart's message.
pub fn fail(args: &[Value]) -> Result {
    want("fail", args, 1)?;
    Err(FuncError::Call(string(&args[0])?.to_string()))
}

/// `lookup`: no cluster offline, so always an empty map (as `helm template` gives).
pub fn lookup(args: &[Value]) -> Result {
    want("lookup", args, 4)?;
    for arg in args {
        string(arg)?;
    }
    Ok(Value::map(Map::new()))
}
