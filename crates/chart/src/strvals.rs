//! `--set name=value` expressions, parsed exactly as Helm's `pkg/strvals` parses them
//! (`a.b=c`, `list[0]=x`, `{a,b}` lists, `\` escapes, typed values: `true`, `null`,
//! integers as `int64`), plus the `--set-string`, `--set-json`, `--set-file` and
//! `--set-literal` variants.

use crate::value::{Map, Value};

/// Helm's largest list index.
const MAX_INDEX: i64 = 65536;
/// Helm's deepest `a.b.c...` nesting.
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// How the value part of an expression is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: `true`/`false`/`null`/integers are typed, the rest are strings.
    Typed,
    /// `--set-string`: every value is a string.
    String,
    /// `--set-json`: every value is a JSON document.
    Json,
    /// `--set-file`: every value is a file path whose contents become the value.
    File,
    /// `--set-literal`: one key, and the whole rest of the text is the value.
    Literal,
}

impl SetKind {
    /// The command-line flag of this kind, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Typed => "--set",
            SetKind::String => "--set-string",
            SetKind::Json => "--set-json",
            SetKind::File => "--set-file",
            SetKind::Literal => "--set-literal",
        }
    }
}

/// Why an expression failed: Helm's message (without the `failed parsing` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError(pub String);

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a `--set-file` path (the caller decides where files come from).
pub type FileReader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Parses `expression` into a fresh map (Helm's `strvals.Parse` family).
pub fn parse(expression: &str, kind: SetKind) -> Result<Map, SetError> {
    let mut map = Map::new();
    parse_into(expression, &mut map, kind, None)?;
    Ok(map)
}

/// Parses `expression` into `dest`, overwriting what it names (Helm's `ParseInto`).
/// `files` reads `--set-file` paths; without it they are read from disk.
pub fn parse_into(
    expression: &str,
    dest: &mut Map,
    kind: SetKind,
    files: Option<FileReader<'_>>,
) -> Result<(), SetError> {
    let mut parser = Parser {
        chars: expression.chars().collect(),
        pos: 0,
        kind,
        files,
    };
    loop {
        match parser.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Error(message)) => return Err(SetError(message)),
        }
    }
}

enum Stop {
    Eof,
    Error(String),
}

fn fail<T>(message: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Error(message.into()))
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
    files: Option<FileReader<'a>>,
}

/// Go's `%q` of a rune slice.
/// Go's `%q` of a `[]rune`: each rune quoted as a character literal (`['b' 'c']`).
fn quote_runes(chars: &[char]) -> String {
    let quoted: Vec<String> = chars
        .iter()
        .map(|c| crate::template::fmt::quote_rune(*c))
        .collect();
    format!("[{}]", quoted.join(" "))
}

fn quote(chars: &[char]) -> String {
    let text: String = chars.iter().collect();
    go_quote(&text)
}

fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        _ => "interface {}",
    }
}

fn conversion_panic(found: &Value, want: &str) -> Stop {
    if matches!(found, Value::Nil) {
        Stop::Error(format!(
            "unable to parse key: interface conversion: interface {{}} is nil, not {want}"
        ))
    } else {
        Stop::Error(format!(
            "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
            go_type_name(found)
        ))
    }
}

impl Parser<'_> {
    fn literal(&self) -> bool {
        self.kind == SetKind::Literal
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to one of `stop`; `Err(Eof)` with the runes read when input ends.
    fn runes_until(&mut self, stop: &[char]) -> (Vec<char>, Option<char>) {
        let mut out = Vec::new();
        loop {
            let Some(c) = self.read() else {
                return (out, None);
            };
            if stop.contains(&c) {
                return (out, Some(c));
            }
            if c == '\\' && !self.literal() {
                match self.read() {
                    Some(next) => out.push(next),
                    None => return (out, None),
                }
                continue;
            }
            out.push(c);
        }
    }

    fn key(&mut self, data: &mut Map, level: usize) -> Result<(), Stop> {
        let stop: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.runes_until(stop);
        let key: String = k.iter().collect();
        match last {
            None => {
                if k.is_empty() {
                    Err(Stop::Eof)
                } else {
                    fail(format!("key {} has no value", quote(&k)))
                }
            }
            Some('[') => {
                let index = self.key_index()?;
                let list = match data.get(&key) {
                    None => Vec::new(),
                    Some(Value::List(list)) => (**list).clone(),
                    Some(other) => return Err(conversion_panic(other, "[]interface {}")),
                };
                let (list, result) = self.list_item(list, index, level);
                set(data, &key, Value::list(list));
                result
            }
            Some('=') => {
                if self.literal() {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    self.pos = self.chars.len();
                    set(data, &key, Value::string(rest));
                    return Ok(());
                }
                if self.kind == SetKind::Json {
                    if self.empty_val() {
                        set(data, &key, Value::Nil);
                        return Ok(());
                    }
                    let value = self.json_value()?;
                    set(data, &key, value);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    ValList::List(list) => {
                        set(data, &key, Value::list(list?));
                        Ok(())
                    }
                    ValList::Eof => {
                        set(data, &key, Value::string(""));
                        Err(Stop::Eof)
                    }
                    ValList::NotList => {
                        let (rs, _) = self.runes_until(&[',']);
                        let value = self.read_value(&rs)?;
                        set(data, &key, value);
                        Ok(())
                    }
                }
            }
            Some(',') => {
                set(data, &key, Value::string(""));
                fail(format!(
                    "key {} has no value (cannot end with ,)",
                    quote(&k)
                ))
            }
            Some(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return fail(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let mut inner = match data.get(&key) {
                    None => Map::new(),
                    Some(Value::Map(map)) => map.to_map(),
                    Some(other) => {
                        return Err(conversion_panic(other, "map[string]interface {}"));
                    }
                };
                let result = self.key(&mut inner, level);
                if result.is_ok() && inner.is_empty() {
                    return fail(format!("key map {} has no value", quote(&k)));
                }
                if !inner.is_empty() {
                    set(data, &key, Value::map(inner));
                }
                result
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, Stop> {
        let (v, last) = self.runes_until(&[']']);
        if last.is_none() {
            // Helm v4 wraps the reader's io.EOF ("error parsing index: EOF"), and its
            // parse loop takes any error that is io.EOF as the end: what was set stays.
            return Err(Stop::Eof);
        }
        let text: String = v.iter().collect();
        go_atoi(&text).map_err(|message| Stop::Error(format!("error parsing index: {message}")))
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        index: i64,
        level: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        if index < 0 {
            return (list, fail(format!("negative {index} index not allowed")));
        }
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                fail(format!(
                    "unexpected data at end of array index: {}",
                    quote_runes(&k)
                )),
            );
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => {
                if self.literal() {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    self.pos = self.chars.len();
                    return set_index(list, index, Value::string(rest));
                }
                if self.kind == SetKind::Json {
                    if self.empty_val() {
                        return set_index(list, index, Value::Nil);
                    }
                    let value = match self.json_value() {
                        Ok(value) => value,
                        Err(error) => return (list, Err(error)),
                    };
                    let (list, result) = set_index(list, index, value);
                    if result.is_err() {
                        return (list, result);
                    }
                    self.empty_val();
                    return (list, Ok(()));
                }
                match self.val_list() {
                    ValList::List(Ok(items)) => set_index(list, index, Value::list(items)),
                    ValList::List(Err(error)) => (list, Err(error)),
                    ValList::Eof => set_index(list, index, Value::string("")),
                    ValList::NotList => {
                        let (rs, _) = self.runes_until(&[',']);
                        match self.read_value(&rs) {
                            Ok(value) => set_index(list, index, value),
                            Err(error) => (list, Err(error)),
                        }
                    }
                }
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(next) => next,
                    Err(error) => return (list, Err(error)),
                };
                let current = match list.get(index as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(inner)) => (**inner).clone(),
                    Some(other) => {
                        let error = conversion_panic(other, "[]interface {}");
                        return (list, Err(error));
                    }
                };
                let (inner, result) = self.list_item(current, next, level);
                if result.is_err() {
                    return (list, result);
                }
                set_index(list, index, Value::list(inner))
            }
            Some(_) => {
                let mut inner = Map::new();
                let mut existing = false;
                if let Some(slot) = list.get_mut(index as usize) {
                    match slot {
                        Value::Map(map) => {
                            inner = map.to_map();
                            existing = true;
                        }
                        _ => *slot = Value::map(Map::new()),
                    }
                }
                if let Err(error) = self.key(&mut inner, level) {
                    // Go changes a map already in the list in place, so what `key` set
                    // before it stopped (at the end: `b[0].c=`) stays; a new map is lost.
                    if existing && let Some(slot) = list.get_mut(index as usize) {
                        *slot = Value::map(inner);
                    }
                    return (list, Err(error));
                }
                set_index(list, index, Value::map(inner))
            }
        }
    }

    /// Skips spaces; true (and the comma consumed) when the value is empty.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => continue,
                Some(_) => {
                    self.pos -= 1;
                    return false;
                }
            }
        }
    }

    fn json_value(&mut self) -> Result<Value, Stop> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(json)) => {
                let consumed = rest[..stream.byte_offset()].chars().count();
                self.pos += consumed;
                Ok(Value::from_json(&json))
            }
            Some(Err(error)) => fail(json_error_text(&error)),
            None => fail("EOF"),
        }
    }

    fn val_list(&mut self) -> ValList {
        let Some(first) = self.read() else {
            return ValList::Eof;
        };
        if first != '{' {
            self.pos -= 1;
            return ValList::NotList;
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                None => {
                    return ValList::List(fail("list must terminate with '}'"));
                }
                Some('}') => {
                    if let Some(c) = self.read()
                        && c != ','
                    {
                        self.pos -= 1;
                    }
                    return ValList::List(self.read_value(&rs).map(|v| {
                        list.push(v);
                        list
                    }));
                }
                Some(_) => match self.read_value(&rs) {
                    Ok(v) => list.push(v),
                    Err(error) => return ValList::List(Err(error)),
                },
            }
        }
    }

    fn read_value(&self, rs: &[char]) -> Result<Value, Stop> {
        let text: String = rs.iter().collect();
        match self.kind {
            SetKind::String | SetKind::Literal => Ok(Value::string(text)),
            SetKind::Typed | SetKind::Json => Ok(typed_value(&text)),
            SetKind::File => {
                let read = match self.files {
                    Some(reader) => reader(&text),
                    None => std::fs::read_to_string(&text)
                        .map_err(|error| format!("open {text}: {}", go_io_error(&error))),
                };
                read.map(Value::string).map_err(Stop::Error)
            }
        }
    }
}

enum ValList {
    List(Result<Vec<Value>, Stop>),
    Eof,
    NotList,
}

fn go_io_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => error.to_string(),
    }
}

fn set(data: &mut Map, key: &str, value: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), value);
    }
}

fn set_index(mut list: Vec<Value>, index: i64, value: Value) -> (Vec<Value>, Result<(), Stop>) {
    if index < 0 {
        return (list, fail(format!("negative {index} index not allowed")));
    }
    if index > MAX_INDEX {
        return (
            list,
            fail(format!(
                "index of {index} is greater than maximum supported index of {MAX_INDEX}"
            )),
        );
    }
    let index = index as usize;
    if list.len() <= index {
        list.resize(index + 1, Value::Nil);
    }
    list[index] = value;
    (list, Ok(()))
}

/// Go's `strconv.Atoi` with its error text.
fn go_atoi(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(text)
        ));
    }
    text.parse::<i64>().map_err(|_| {
        format!(
            "strconv.Atoi: parsing {}: value out of range",
            go_quote(text)
        )
    })
}

/// Helm's `typedVal`: booleans and `null` case-insensitively, integers not starting
/// with `0` as `int64`, everything else a string.
pub fn typed_value(text: &str) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if text == "0" {
        return Value::Int64(0);
    }
    if !text.is_empty() && !text.starts_with('0') {
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        if !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && let Ok(i) = text.parse::<i64>()
        {
            return Value::Int64(i);
        }
    }
    Value::string(text)
}

fn json_error_text(error: &serde_json::Error) -> String {
    if error.is_eof() {
        "unexpected EOF".to_string()
    } else {
        format!("invalid character in JSON value: {error}")
    }
}

/// Helm's `loader.MergeMaps`: `b` over `a`, maps merged recursively.
pub fn merge_maps(a: &mut Map, b: Map) {
    for (key, value) in b {
        if let Value::Map(incoming) = &value
            && let Some(Value::Map(existing)) = a.get(&key)
        {
            let mut merged = existing.to_map();
            merge_maps(&mut merged, incoming.to_map());
            a.insert(key, Value::map(merged));
            continue;
        }
        a.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(expression: &str, kind: SetKind) -> String {
        match parse(expression, kind) {
            Ok(map) => format!("{:?}", Value::map(map)),
            Err(error) => format!("ERR {error}"),
        }
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            show("a=1,b=true,c=null,d=0x10,e=1.5,f=007,g=0", SetKind::Typed),
            r#"{"a": 1i64, "b": true, "c": nil, "d": "0x10", "e": "1.5", "f": "007", "g": 0i64}"#
        );
        assert_eq!(show("a=1", SetKind::String), r#"{"a": "1"}"#);
    }

    #[test]
    fn an_index_cut_by_the_end_ends_the_expression_as_in_helm_v4() {
        // Found by comparing with Helm's strvals: v4 takes a wrapped io.EOF as the end.
        assert_eq!(show("b=2,a[1", SetKind::Typed), r#"{"b": 2i64}"#);
        assert_eq!(show("a[=1e3", SetKind::Json), "{}");
        assert!(show("a[x]=1", SetKind::Typed).starts_with("ERR"));
    }

    #[test]
    fn an_empty_value_in_a_list_items_map_overwrites_as_in_go() {
        // Go changes the item's map in place before the end stops the parse.
        assert_eq!(
            show("b[0].c=1,b[0].c=", SetKind::Typed),
            r#"{"b": [{"c": ""}]}"#
        );
        assert_eq!(show("b[0].c=", SetKind::String), r#"{"b": []}"#);
    }
}
