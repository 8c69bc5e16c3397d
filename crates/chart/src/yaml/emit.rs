//! [`Value`] to YAML, as Helm's `toYaml` writes it.
//!
//! Helm's `toYaml` is `sigs.k8s.io/yaml.Marshal`: the value goes through `encoding/json`
//! (so floats that print as integers become integers, keys are strings), is read back by
//! go-yaml v2, and written by go-yaml v2's emitter. This module reproduces the result:
//! go-yaml's key order (digit runs compare as numbers, non-letters before letters), its
//! scalar styles (plain, single-quoted, double-quoted, literal `|`), YAML 1.1 quoting
//! (`"yes"`, `"1.5"`, `"2006-01-02"`), folding of long plain lines at 80 columns, and
//! indentation (sequences under a mapping key are not indented).
//!
//! `toYamlPretty` (go-yaml v3 on the value itself) differs in two ways reproduced by
//! [`to_yaml_pretty`]: sequences under a key are indented, and floats are not turned
//! into integers.

use std::cmp::Ordering;

use crate::funcs::gofmt::{format_float_g, format_float_json};
use crate::value::Value;

/// Writes `value` as Helm's `toYaml` does (without the trailing newline `toYaml` trims).
///
/// Fails, as `json.Marshal` does, on a NaN or infinite float.
pub fn to_yaml(value: &Value) -> Result<String, String> {
    render(value, Flavor::Json)
}

/// Writes `value` as Helm's `toYamlPretty` does (go-yaml v3, sequences indented), without
/// the trailing newline.
pub fn to_yaml_pretty(value: &Value) -> Result<String, String> {
    render(value, Flavor::Pretty)
}

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    /// sigs.k8s.io/yaml: JSON semantics, go-yaml v2 emitter.
    Json,
    /// go-yaml v3 with indentation 2 on the raw value.
    Pretty,
}

fn render(value: &Value, flavor: Flavor) -> Result<String, String> {
    check_marshalable(value, 0, flavor)?;
    let mut emitter = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        flavor,
    };
    emitter.node(value, -1, Context::Root);
    if !emitter.out.ends_with('\n') {
        emitter.out.push('\n');
    }
    let mut out = emitter.out;
    out.pop();
    Ok(out)
}

/// What `json.Marshal` refuses, for `toYaml` (through JSON); `toYamlPretty` (go-yaml v3
/// on the value) writes NaN and infinities as `.nan`, `.inf`, and only a map that
/// contains itself stops it.
fn check_marshalable(value: &Value, depth: usize, flavor: Flavor) -> Result<(), String> {
    match value {
        Value::Float(f) if !f.is_finite() && flavor != Flavor::Pretty => {
            Err(format!("json: unsupported value: {}", format_float_g(*f)))
        }
        Value::List(_) | Value::Map(_) if depth > crate::value::MAX_NESTING => {
            Err(crate::value::JSON_CYCLE_ERROR.to_string())
        }
        Value::List(items) => items
            .iter()
            .try_for_each(|item| check_marshalable(item, depth + 1, flavor)),
        Value::Map(map) => map
            .read()
            .values()
            .try_for_each(|item| check_marshalable(item, depth + 1, flavor)),
        _ => Ok(()),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Root,
    MappingValue,
    SequenceItem,
}

/// The scalar text of a non-string leaf, as the JSON round trip leaves it.
fn leaf_text(value: &Value, flavor: Flavor) -> Option<String> {
    Some(match value {
        Value::Nil => "null".to_string(),
        // Go's nil slice and nil map go through JSON as `null`.
        Value::List(_) | Value::Map(_) if value.is_nil_container() => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Uint64(u) => u.to_string(),
        Value::Float(f) => float_text(*f, flavor),
        _ => return None,
    })
}

fn float_text(f: f64, flavor: Flavor) -> String {
    if flavor == Flavor::Pretty {
        return match format_float_g(f).as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            other => other.to_string(),
        };
    }
    // JSON writes the float; go-yaml reads it back as an int when it parses as one.
    let json = format_float_json(f);
    if let Ok(i) = json.parse::<i64>() {
        i.to_string()
    } else if json.parse::<u64>().is_ok() {
        json
    } else {
        format_float_g(f)
    }
}

/// The string form of a value that is written as a YAML string.
fn string_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_string()),
        Value::ByteString(b) => Some(b.text().to_string()),
        Value::Bytes(b) => {
            use base64::Engine as _;
            Some(base64::engine::general_purpose::STANDARD.encode(b))
        }
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break_char(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `is_printable` (with unicode output on).
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

/// go-yaml's `yaml_emitter_analyze_scalar`.
fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let chars: Vec<char> = value.chars().collect();
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t' || is_break_char(n));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        let last = i + 1 == chars.len();
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break_char(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break_char(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Whether go-yaml would read `s` back as something other than a string when plain
/// (YAML 1.1 booleans, null, numbers, timestamps, base-60 floats, `<<`).
fn resolves_to_non_string(s: &str, flavor: Flavor) -> bool {
    let Some(first) = s.bytes().next() else {
        return true;
    };
    const MAP_WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            MAP_WORDS.contains(&s)
        }
        b'.' => MAP_WORDS.contains(&s) || yaml_style_float(s),
        b'+' | b'-' | b'0'..=b'9' => {
            if MAP_WORDS.contains(&s) {
                return true;
            }
            if first.is_ascii_digit() && is_timestamp(s) {
                return true;
            }
            let plain = s.replace('_', "");
            if crate::funcs::args::parse_go_int(&plain).is_some() || parse_go_uint(&plain).is_some()
            {
                return true;
            }
            if yaml_style_float(&plain) {
                return true;
            }
            if let Some(bin) = plain
                .strip_prefix("0b")
                .or_else(|| plain.strip_prefix("-0b"))
                && i64::from_str_radix(bin, 2).is_ok()
            {
                return true;
            }
            flavor == Flavor::Json && is_base60_float(s)
        }
        _ => false,
    }
}

fn parse_go_uint(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = lower.strip_prefix("0o") {
        u64::from_str_radix(oct, 8).ok()
    } else if let Some(bin) = lower.strip_prefix("0b") {
        u64::from_str_radix(bin, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') {
        u64::from_str_radix(&lower[1..], 8).ok()
    } else if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
        lower.parse().ok()
    } else {
        None
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, and in `float64`'s range:
/// Go's `ParseFloat` refuses `1e400` (Rust's gives infinity), so go-yaml reads it as a
/// string and writes it plain.
fn yaml_style_float(s: &str) -> bool {
    super::parse::is_yaml_style_float(s) && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    if !s.contains(':') {
        return false;
    }
    let b = s.as_bytes();
    let mut i = 0;
    if b[i] == b'-' || b[i] == b'+' {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &s[start..i];
        let ok = match group.len() {
            1 => true,
            2 => group.as_bytes()[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's timestamp check: `YYYY-M-D`, optionally followed by a time
/// (`T`/`t`/space separated, fractional seconds, `Z` or a numeric zone).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        if *i == start {
            None
        } else {
            s[start..*i].parse().ok()
        }
    };
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return false;
    }
    i += 1;
    let Some(hour) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(minute) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(second) = num(&mut i, 2) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i == b.len() {
        return true;
    }
    if sep == b' ' {
        return false;
    }
    if b[i] == b'Z' && i + 1 == b.len() {
        return true;
    }
    if b[i] == b'+' || b[i] == b'-' {
        let rest = &s[i + 1..];
        let rb = rest.as_bytes();
        return rb.len() == 5
            && rb[2] == b':'
            && rb[..2].iter().all(u8::is_ascii_digit)
            && rb[3..].iter().all(u8::is_ascii_digit);
    }
    false
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) {
                29
            } else {
                28
            }
        }
    }
}

/// go-yaml v2's map key order (`keyList.Less`) for string keys.
pub fn key_less(a: &str, b: &str) -> Ordering {
    // ASCII keys that first differ at two non-digits: no allocation needed.
    if a.is_ascii() && b.is_ascii() {
        let (ab, bb) = (a.as_bytes(), b.as_bytes());
        match ab.iter().zip(bb).position(|(x, y)| x != y) {
            None => return ab.len().cmp(&bb.len()),
            Some(i) => {
                let (x, y) = (ab[i], bb[i]);
                let (xl, yl) = (x.is_ascii_alphabetic(), y.is_ascii_alphabetic());
                if xl && yl {
                    return x.cmp(&y);
                }
                if xl || yl {
                    return if yl {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    };
                }
                if !x.is_ascii_digit() && !y.is_ascii_digit() {
                    return x.cmp(&y);
                }
            }
        }
    }
    key_less_slow(a, b)
}

fn key_less_slow(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// go-yaml v2 folds long lines at 80 columns; v3 (`toYamlPretty`) as Helm sets it up
/// does not fold.
const BEST_WIDTH: usize = 80;

/// Strings that go-yaml writes plain without looking further (no spaces, so no folding;
/// no indicator characters; printable ASCII), when they do not read as another type.
fn is_simple_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_' || bytes[0] == b'/')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    flavor: Flavor,
}

impl Emitter {
    fn best_width(&self) -> usize {
        match self.flavor {
            Flavor::Json => BEST_WIDTH,
            Flavor::Pretty => usize::MAX,
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: i64) {
        let indent = indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        text: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// Emits one node; `indent` is the indentation of the enclosing collection (-1 at
    /// the root).
    fn node(&mut self, value: &Value, indent: i64, context: Context) {
        if let Value::Object(object) = value {
            let data = crate::funcs::object_data(object.as_ref());
            // go-yaml v3 writes a time.Time as a plain RFC 3339 scalar, where the JSON
            // round trip of `toYaml` gives a string that must be quoted.
            if self.flavor == Flavor::Pretty
                && object.type_name() == "time.Time"
                && let Some(text) = data.as_str()
            {
                let scalar_indent = if indent < 0 { 2 } else { indent + 2 };
                self.write_plain(text, scalar_indent, true);
                return;
            }
            return self.node(&data, indent, context);
        }
        match value {
            Value::Map(map) if !map.is_empty() => {
                let guard = map.read();
                let mut entries: Vec<(&String, &Value)> = guard.iter().collect();
                entries.sort_by(|a, b| key_less(a.0, b.0));
                let inner = if indent < 0 { 0 } else { indent + 2 };
                for (key, item) in entries {
                    self.write_indent(inner);
                    if key.len() <= 128 && !key.chars().any(is_break_char) {
                        self.scalar(key, inner, true);
                        self.write_indicator(":", false, false, false);
                    } else {
                        // go-yaml's complex key form for long or multi-line keys.
                        self.write_indicator("?", true, false, true);
                        self.scalar(key, inner, false);
                        self.write_indent(inner);
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(item, inner, Context::MappingValue);
                }
            }
            Value::List(items) if !items.is_empty() => {
                let indentless = context == Context::MappingValue
                    && !self.indention
                    && self.flavor == Flavor::Json;
                let inner = if indent < 0 {
                    0
                } else if indentless {
                    indent
                } else {
                    indent + 2
                };
                for item in items.iter() {
                    self.write_indent(inner);
                    self.write_indicator("-", true, false, true);
                    self.node(item, inner, Context::SequenceItem);
                }
            }
            // `toYaml` goes through JSON, where Go's nil slice or map is `null` (a
            // leaf); go-yaml itself writes `[]` or `{}`.
            Value::Map(_) if !(value.is_nil_container() && self.flavor == Flavor::Json) => {
                self.flow_empty("{}")
            }
            Value::List(_) if !(value.is_nil_list() && self.flavor == Flavor::Json) => {
                self.flow_empty("[]")
            }
            other => {
                let scalar_indent = if indent < 0 { 2 } else { indent + 2 };
                if let Some(text) = leaf_text(other, self.flavor) {
                    self.write_plain(&text, scalar_indent, true);
                } else if let Some(text) = string_text(other) {
                    self.scalar(&text, indent, false);
                }
            }
        }
    }

    fn flow_empty(&mut self, text: &str) {
        self.write_indicator(text, true, false, false);
    }

    /// A string scalar: chooses the style as go-yaml does and writes it.
    fn scalar(&mut self, text: &str, indent: i64, simple_key: bool) {
        if is_simple_plain(text) && !resolves_to_non_string(text, self.flavor) {
            if !self.whitespace {
                self.put(' ');
            }
            self.out.push_str(text);
            self.column += text.len();
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let scalar_indent = if indent < 0 { 2 } else { indent + 2 };
        let can_use_plain = !resolves_to_non_string(text, self.flavor);
        let mut style = if text.contains('\n') {
            Style::Literal
        } else if can_use_plain {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        let a = analyze(text);
        if simple_key && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && (!a.block_plain_allowed || (text.is_empty() && simple_key)) {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::DoubleQuoted;
        }
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(text, scalar_indent, allow_breaks),
            Style::SingleQuoted => self.write_single(text, scalar_indent, allow_breaks),
            Style::DoubleQuoted => self.write_double(text, scalar_indent, allow_breaks),
            Style::Literal => self.write_literal(text, scalar_indent),
        }
    }

    fn write_plain(&mut self, text: &str, indent: i64, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, text: &str, indent: i64, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width()
                    && i > 0
                    && i + 1 < chars.len()
                    && chars[i + 1] != ' '
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break_char(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                    breaks = false;
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, text: &str, indent: i64, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        // go-yaml's `is_bom(value, i)` looks at the start of the scalar, not at `i`: a
        // scalar that starts with a byte order mark has every character escaped.
        let starts_with_bom = text.starts_with('\u{FEFF}');
        for (i, &c) in chars.iter().enumerate() {
            if starts_with_bom
                || !is_printable(c)
                || c == '\u{FEFF}'
                || is_break_char(c)
                || c == '"'
                || c == '\\'
            {
                self.put('\\');
                let v = c as u32;
                match v {
                    0x00 => self.put('0'),
                    0x07 => self.put('a'),
                    0x08 => self.put('b'),
                    0x09 => self.put('t'),
                    0x0A => self.put('n'),
                    0x0B => self.put('v'),
                    0x0C => self.put('f'),
                    0x0D => self.put('r'),
                    0x1B => self.put('e'),
                    0x22 => self.put('"'),
                    0x5C => self.put('\\'),
                    0x85 => self.put('N'),
                    0xA0 => self.put('_'),
                    0x2028 => self.put('L'),
                    0x2029 => self.put('P'),
                    _ => {
                        let (letter, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for ch in format!("{v:0width$X}").chars() {
                            self.put(ch);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width()
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent(indent);
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, text: &str, indent: i64) {
        self.write_indicator("|", true, false, false);
        let first = text.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break_char(c)) {
            self.write_indicator("2", false, false, false);
        }
        let chars: Vec<char> = text.chars().collect();
        let chomp = match chars.last() {
            None => Some('-'),
            Some(&last) if !is_break_char(last) => Some('-'),
            Some(_) if chars.len() == 1 => Some('+'),
            Some(_) if is_break_char(chars[chars.len() - 2]) => Some('+'),
            Some(_) => None,
        };
        if let Some(chomp) = chomp {
            let mut buf = [0u8; 4];
            self.write_indicator(chomp.encode_utf8(&mut buf), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break_char(c) {
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map>(),
        )
    }

    #[test]
    fn nested_structures_indent_as_go_yaml() {
        let v = map(&[
            (
                "b",
                Value::list(vec![Value::Int(1), Value::Float(2.5), Value::string("x")]),
            ),
            (
                "c",
                map(&[
                    ("z", Value::Float(1.0)),
                    ("a", Value::string("multi\nline\n")),
                ]),
            ),
            ("f", Value::Float(1e6)),
            ("g", Value::Float(1e21)),
        ]);
        assert_eq!(
            to_yaml(&v).unwrap(),
            "b:\n- 1\n- 2.5\n- x\nc:\n  a: |\n    multi\n    line\n  z: 1\nf: 1000000\ng: 1e+21"
        );
    }

    #[test]
    fn floats_out_of_float64_range_are_plain_strings() {
        // Go's ParseFloat refuses them, so go-yaml does not quote them (found by the
        // differential tester); in range, or underflowing to 0, they are quoted.
        let v = map(&[
            ("big", Value::string("1e400")),
            ("neg", Value::string("-1E+999")),
            ("dot", Value::string(".5e999")),
            ("tiny", Value::string("1e-999")),
            ("max", Value::string("1e308")),
        ]);
        assert_eq!(
            to_yaml(&v).unwrap(),
            "big: 1e400\ndot: .5e999\nmax: \"1e308\"\nneg: -1E+999\ntiny: \"1e-999\""
        );
    }

    #[test]
    fn to_yaml_pretty_writes_nan_and_infinities_as_go_yaml_v3() {
        // Found by the differential tester: only toYaml goes through JSON, which
        // refuses them.
        assert_eq!(to_yaml_pretty(&Value::Float(f64::NAN)).unwrap(), ".nan");
        assert_eq!(
            to_yaml_pretty(&Value::list(vec![Value::Float(f64::NEG_INFINITY)])).unwrap(),
            "- -.inf"
        );
        assert!(to_yaml(&Value::Float(f64::NAN)).is_err());
    }

    #[test]
    fn keys_sort_naturally() {
        let mut keys = vec!["a10", "a2", "B", "_x"];
        keys.sort_by(|a, b| key_less(a, b));
        assert_eq!(keys, ["_x", "B", "a2", "a10"]);
    }

    #[test]
    fn a_scalar_starting_with_a_byte_order_mark_is_escaped_whole() {
        // Found on charts outside the corpus: go-yaml's `is_bom` looks at the scalar's
        // first bytes whatever the position, so every character is escaped.
        let v = map(&[
            ("a", Value::string("\u{FEFF}a b\n")),
            ("b", Value::string("a\u{FEFF}b")),
        ]);
        assert_eq!(
            to_yaml(&v).unwrap(),
            "a: \"\\uFEFF\\x61\\x20\\x62\\n\"\nb: \"a\\uFEFFb\""
        );
    }
}
