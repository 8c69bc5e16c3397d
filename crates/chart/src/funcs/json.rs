//! Go's `encoding/json` for template values: `json.Marshal` output (sorted keys, HTML
//! escaping, Go's float format), `MarshalIndent`, and `json.Unmarshal` into
//! `interface{}` (numbers become float64) with Go's error texts.

use super::gofmt::{format_float_g, format_float_json};
use crate::value::{Map, Value};

/// Options of one JSON encoding.
#[derive(Clone, Copy)]
pub struct Style {
    /// Escape `<`, `>` and `&` as `\u003c`... (`json.Marshal`; off for `toRawJson`).
    pub escape_html: bool,
    /// Indent with two spaces per level (`json.MarshalIndent(v, "", "  ")`).
    pub indent: bool,
}

/// `json.Marshal` of a value, or Go's error (`json: unsupported value: NaN`).
pub fn marshal(value: &Value, style: Style) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, value, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write(out: &mut String, value: &Value, style: Style, depth: usize) -> Result<(), String> {
    if depth > crate::value::MAX_NESTING {
        return Err(crate::value::JSON_CYCLE_ERROR.to_string());
    }
    match value {
        Value::Nil => out.push_str("null"),
        Value::List(_) | Value::Map(_) if value.is_nil_container() => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint64(u) => out.push_str(&u.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("json: unsupported value: {}", format_float_g(*f)));
            }
            out.push_str(&format_float_json(*f));
        }
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::ByteString(b) => write_byte_string(out, b.bytes(), style.escape_html),
        Value::Bytes(b) => {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            write_string(out, &encoded, style.escape_html);
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write(out, item, style, depth + 1)?;
            }
            if !items.is_empty() {
                newline(out, style, depth);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            let map = map.read();
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, key, style.escape_html);
                out.push(':');
                if style.indent {
                    out.push(' ');
                }
                write(out, item, style, depth + 1)?;
            }
            if !map.is_empty() {
                newline(out, style, depth);
            }
            out.push('}');
        }
        Value::Object(object) => match object.json_fields() {
            // A struct's fields in declaration order, as `encoding/json` writes them.
            Some(fields) => write_fields(out, &fields, style, depth)?,
            None => write(out, &super::object_data(object.as_ref()), style, depth)?,
        },
    }
    Ok(())
}

/// A Go struct's fields as a JSON object, in the order given.
fn write_fields(
    out: &mut String,
    fields: &[(&'static str, Value)],
    style: Style,
    depth: usize,
) -> std::result::Result<(), String> {
    out.push('{');
    for (i, (name, item)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, style, depth + 1);
        write_string(out, name, style.escape_html);
        out.push(':');
        if style.indent {
            out.push(' ');
        }
        write(out, item, style, depth + 1)?;
    }
    if !fields.is_empty() {
        newline(out, style, depth);
    }
    out.push('}');
    Ok(())
}

/// A JSON string literal as Go writes it.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A Go string that is not UTF-8 as `encoding/json` writes it: its characters as
/// [`write_string`] does, `\ufffd` for each stray byte.
fn write_byte_string(out: &mut String, bytes: &[u8], escape_html: bool) {
    let mut quoted = String::new();
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        quoted.clear();
        write_string(&mut quoted, chunk.valid(), escape_html);
        out.push_str(&quoted[1..quoted.len() - 1]);
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

/// `json.Unmarshal` into `interface{}`: objects become maps, arrays lists, numbers
/// float64. Errors read as Go's (`unexpected end of JSON input`, `invalid character
/// 'x' looking for beginning of value`).
#[cfg(test)]
pub fn unmarshal(text: &str) -> Result<Value, String> {
    unmarshal_bytes(text.as_bytes())
}

/// [`unmarshal`] of a Go string's bytes, which need not be UTF-8: an error names the
/// byte Go's scanner stopped at, and a string literal's stray bytes read as U+FFFD,
/// one for each byte, as Go's decoder reads them.
pub fn unmarshal_bytes(bytes: &[u8]) -> Result<Value, String> {
    let mut parser = Parser { bytes, pos: 0 };
    parser.skip_ws();
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.invalid("after top-level value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        c => {
            let q = super::gofmt::quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.bytes.len()
            && matches!(self.bytes[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
    }

    /// Go's `utf8.DecodeRune` at the position: the character and its length, or U+FFFD
    /// and one byte where the bytes are no UTF-8.
    fn current_char(&self) -> (char, usize) {
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        let len = match rest.first() {
            Some(0xC2..=0xDF) => 2,
            Some(0xE0..=0xEF) => 3,
            Some(0xF0..=0xF4) => 4,
            _ => 1,
        };
        rest.get(..len)
            .and_then(|head| std::str::from_utf8(head).ok())
            .and_then(|head| head.chars().next())
            .map_or(('\u{FFFD}', 1), |c| (c, len))
    }

    fn invalid(&self, context: &str) -> String {
        if self.pos >= self.bytes.len() {
            return "unexpected end of JSON input".to_string();
        }
        // Go's scanner reports the byte it stopped at, as the rune of that value
        // (`日`, bytes E6 97 A5, is `'æ'`).
        format!(
            "invalid character {} {context}",
            quote_char(char::from(self.bytes[self.pos]))
        )
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.bytes.get(self.pos) {
            None => Err("unexpected end of JSON input".into()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::string(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
        for (i, expected) in word.bytes().enumerate() {
            match self.bytes.get(self.pos) {
                None => return Err("unexpected end of JSON input".into()),
                Some(b) if *b == expected => self.pos += 1,
                Some(_) => {
                    let context = format!(
                        "in literal {word} (expecting {})",
                        quote_char(expected as char)
                    );
                    let _ = i;
                    return Err(self.invalid(&context));
                }
            }
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        let digits = |p: &mut Parser<'_>| {
            let s = p.pos;
            while p.pos < p.bytes.len() && p.bytes[p.pos].is_ascii_digit() {
                p.pos += 1;
            }
            p.pos - s
        };
        match self.bytes.get(self.pos) {
            None => return Err("unexpected end of JSON input".into()),
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            Some(_) => return Err(self.invalid("in numeric literal")),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.invalid("after decimal point in numeric literal"));
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.invalid("in exponent of numeric literal"));
            }
        }
        // The scanner let only ASCII digits, signs, `.` and exponents through.
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default();
        let f: f64 = text.parse().map_err(|_| {
            format!("json: cannot unmarshal number {text} into Go value of type float64")
        })?;
        if !f.is_finite() {
            return Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            ));
        }
        Ok(Value::Float(f))
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err("unexpected end of JSON input".into());
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&e) = self.bytes.get(self.pos) else {
                        return Err("unexpected end of JSON input".into());
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code)
                                && self.bytes.get(self.pos) == Some(&b'\\')
                                && self.bytes.get(self.pos + 1) == Some(&b'u')
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    let c = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                                } else {
                                    out.push('\u{FFFD}');
                                    self.pos = save;
                                }
                            } else {
                                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            }
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.invalid("in string escape code"));
                        }
                    }
                }
                b if b < 0x20 => return Err(self.invalid("in string literal")),
                _ => {
                    let (c, len) = self.current_char();
                    out.push(c);
                    self.pos += len;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut code = 0;
        for _ in 0..4 {
            let Some(&h) = self.bytes.get(self.pos) else {
                return Err("unexpected end of JSON input".into());
            };
            let digit = (h as char)
                .to_digit(16)
                .ok_or_else(|| self.invalid("in \\u hexadecimal character escape"))?;
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }

    fn object(&mut self) -> Result<Value, String> {
        self.pos += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::map(map));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.invalid("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.invalid("after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            map.insert(key, value);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::map(map));
                }
                _ => return Err(self.invalid("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::list(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::list(items));
                }
                _ => return Err(self.invalid("after array element")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPACT: Style = Style {
        escape_html: true,
        indent: false,
    };

    #[test]
    fn marshal_matches_go() {
        let v = unmarshal(r#"{"b":[1,2.5,"x<y"],"a":1e21,"c":{}}"#).unwrap();
        assert_eq!(
            marshal(&v, COMPACT).unwrap(),
            r#"{"a":1e+21,"b":[1,2.5,"x\u003cy"],"c":{}}"#
        );
    }

    #[test]
    fn unmarshal_errors_read_as_go() {
        assert_eq!(unmarshal("{").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(
            unmarshal("x").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            unmarshal("[1 2]").unwrap_err(),
            "invalid character '2' after array element"
        );
        // Found by the differential tester: Go names the byte, as a Latin-1 rune.
        assert_eq!(
            unmarshal("日本").unwrap_err(),
            "invalid character 'æ' looking for beginning of value"
        );
    }
}
