//! Sprig's string functions (strings.go, goutils, xstrings) with Go's semantics: byte
//! offsets for `trunc`/`substr`, Go's Unicode space set, `%q`/`%v` quoting.

use rand::Rng;
use rand::seq::SliceRandom;

use super::args::{go_bytes, int, reflect_slice, string, want};
use super::gofmt::{format_v, quote as go_quote, strval};
use super::{FuncError, Result, case, cut_text};
use crate::value::{Map, MapRef, MapType, SliceType, Value};

fn s1(name: &str, args: &[Value], f: impl Fn(&str) -> String) -> Result {
    want(name, args, 1)?;
    Ok(Value::string(f(string(&args[0])?)))
}

fn s2(name: &str, args: &[Value], f: impl Fn(&str, &str) -> Value) -> Result {
    want(name, args, 2)?;
    Ok(f(string(&args[0])?, string(&args[1])?))
}

/// Go string slicing by byte offsets; a cut inside a UTF-8 sequence keeps the bytes
/// Go would keep (a [`Value::ByteString`]).
fn byte_slice(s: &[u8], start: usize, end: usize) -> Value {
    Value::from_go_bytes(s[start..end].to_vec())
}

pub fn hello(args: &[Value]) -> Result {
    want("hello", args, 0)?;
    Ok(Value::string("Hello!"))
}

pub fn trim(args: &[Value]) -> Result {
    if cut_text::any_cut(args) {
        want("trim", args, 1)?;
        let trimmed = cut_text::trim_runes(go_bytes(&args[0])?, char::is_whitespace);
        return Ok(Value::from_go_bytes(trimmed));
    }
    s1("trim", args, |s| s.trim().to_string())
}

pub fn upper(args: &[Value]) -> Result {
    s1("upper", args, |s| s.chars().map(case::to_upper).collect())
}

pub fn lower(args: &[Value]) -> Result {
    s1("lower", args, |s| s.chars().map(case::to_lower).collect())
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each word.
pub fn title(args: &[Value]) -> Result {
    s1("title", args, case::title)
}

/// goutils `Uncapitalize`: lower-cases the first letter of each space-separated word.
pub fn untitle(args: &[Value]) -> Result {
    s1("untitle", args, |s| {
        let mut out = String::with_capacity(s.len());
        let mut next = true;
        for c in s.chars() {
            if c.is_whitespace() {
                out.push(c);
                next = true;
            } else if next {
                out.push(case::to_lower(c));
                next = false;
            } else {
                out.push(c);
            }
        }
        out
    })
}

pub fn substr(args: &[Value]) -> Result {
    want("substr", args, 3)?;
    let start = int(&args[0])?;
    let end = int(&args[1])?;
    let s = go_bytes(&args[2])?;
    let len = s.len() as i64;
    if start < 0 {
        if end < 0 || end > len {
            return Err(FuncError::Call(format!(
                "runtime error: slice bounds out of range [:{end}] with length {len}"
            )));
        }
        return Ok(byte_slice(s, 0, end as usize));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(FuncError::Call(format!(
                "runtime error: slice bounds out of range [{start}:{len}]"
            )));
        }
        return Ok(byte_slice(s, start as usize, s.len()));
    }
    if start > end {
        return Err(FuncError::Call(format!(
            "runtime error: slice bounds out of range [{start}:{end}]"
        )));
    }
    Ok(byte_slice(s, start as usize, end as usize))
}

pub fn repeat(args: &[Value]) -> Result {
    want("repeat", args, 2)?;
    let count = int(&args[0])?;
    let s = go_bytes(&args[1])?;
    if count < 0 {
        return Err(FuncError::Call("strings: negative Repeat count".into()));
    }
    Ok(Value::from_go_bytes(s.repeat(count as usize)))
}

/// `trimAll`/`trimall` (Go's `strings.Trim(s, cutset)`).
fn trim_cutset(name: &str, args: &[Value]) -> Result {
    if cut_text::any_cut(args) {
        want(name, args, 2)?;
        let cutset = args[0].go_bytes().map(crate::value::lossy_text);
        let cutset = cutset.ok_or_else(|| FuncError::Args(format!("{name}: cutset")))?;
        let trimmed = cut_text::trim_runes(go_bytes(&args[1])?, |c| cutset.contains(c));
        return Ok(Value::from_go_bytes(trimmed));
    }
    s2(name, args, |cut, s| {
        Value::string(s.trim_matches(|c| cut.contains(c)))
    })
}

pub fn trim_all(args: &[Value]) -> Result {
    trim_cutset("trimAll", args)
}

pub fn trimall(args: &[Value]) -> Result {
    trim_cutset("trimall", args)
}

/// `trimPrefix`/`trimSuffix` on Go's bytes.
fn trim_affix(name: &str, args: &[Value], prefix: bool) -> Result {
    want(name, args, 2)?;
    let affix = go_bytes(&args[0])?;
    let s = go_bytes(&args[1])?;
    let trimmed = match prefix {
        true => s.strip_prefix(affix),
        false => s.strip_suffix(affix),
    };
    Ok(match trimmed {
        Some(rest) => Value::from_go_bytes(rest.to_vec()),
        None => args[1].clone(),
    })
}

pub fn trim_suffix(args: &[Value]) -> Result {
    trim_affix("trimSuffix", args, false)
}

pub fn trim_prefix(args: &[Value]) -> Result {
    trim_affix("trimPrefix", args, true)
}

pub fn nospace(args: &[Value]) -> Result {
    s1("nospace", args, case::delete_white_space)
}

/// goutils `Initials`: the first byte of each space-separated word.
pub fn initials(args: &[Value]) -> Result {
    s1("initials", args, case::initials)
}

fn random_from(name: &str, args: &[Value], alphabet: &[u8]) -> Result {
    want(name, args, 1)?;
    let count = int(&args[0])?;
    if count <= 0 {
        return Ok(Value::string(""));
    }
    let mut rng = rand::thread_rng();
    let text: String = (0..count)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect();
    Ok(Value::string(text))
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub fn rand_alpha_num(args: &[Value]) -> Result {
    random_from("randAlphaNum", args, ALNUM)
}

pub fn rand_alpha(args: &[Value]) -> Result {
    random_from("randAlpha", args, &ALNUM[..52])
}

pub fn rand_numeric(args: &[Value]) -> Result {
    random_from("randNumeric", args, &ALNUM[52..])
}

pub fn rand_ascii(args: &[Value]) -> Result {
    let printable: Vec<u8> = (32u8..127).collect();
    random_from("randAscii", args, &printable)
}

pub fn swapcase(args: &[Value]) -> Result {
    s1("swapcase", args, case::swapcase)
}

pub fn shuffle(args: &[Value]) -> Result {
    s1("shuffle", args, |s| {
        let mut chars: Vec<char> = s.chars().collect();
        chars.shuffle(&mut rand::thread_rng());
        chars.into_iter().collect()
    })
}

/// xstrings `ToPascalCase`: words joined, each capitalised (`http_server` →
/// `HttpServer`).
pub fn camelcase(args: &[Value]) -> Result {
    s1("camelcase", args, case::camelcase)
}

pub fn snakecase(args: &[Value]) -> Result {
    s1("snakecase", args, |s| case::lower_words(s, '_'))
}

pub fn kebabcase(args: &[Value]) -> Result {
    s1("kebabcase", args, |s| case::lower_words(s, '-'))
}

/// goutils `WrapCustom` (byte offsets, wrapping at spaces): Go's bytes, which a cut
/// inside a character leaves not UTF-8.
fn wrap_custom(bytes: &[u8], width: i64, newline: &[u8], wrap_long: bool) -> Vec<u8> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let newline = if newline.is_empty() { b"\n" } else { newline };
    let width = width.max(1) as usize;
    let len = bytes.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::with_capacity(len + 8);
    while len - offset > width {
        if bytes[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        let space = bytes[offset..end].iter().rposition(|b| *b == b' ');
        if let Some(space) = space {
            out.extend_from_slice(&bytes[offset..offset + space]);
            out.extend_from_slice(newline);
            offset += space + 1;
        } else if wrap_long {
            out.extend_from_slice(&bytes[offset..offset + width]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = width + offset;
            match bytes[end..].iter().position(|b| *b == b' ') {
                None => {
                    out.extend_from_slice(&bytes[offset..]);
                    offset = len;
                }
                Some(index) => {
                    out.extend_from_slice(&bytes[offset..index + end]);
                    out.extend_from_slice(newline);
                    offset = index + end + 1;
                }
            }
        }
    }
    out.extend_from_slice(&bytes[offset..]);
    out
}

pub fn wrap(args: &[Value]) -> Result {
    want("wrap", args, 2)?;
    let width = int(&args[0])?;
    let text = go_bytes(&args[1])?;
    Ok(Value::from_go_bytes(wrap_custom(text, width, b"", false)))
}

pub fn wrap_with(args: &[Value]) -> Result {
    want("wrapWith", args, 3)?;
    let width = int(&args[0])?;
    let sep = go_bytes(&args[1])?;
    let text = go_bytes(&args[2])?;
    Ok(Value::from_go_bytes(wrap_custom(text, width, sep, true)))
}

/// goutils `AbbreviateFull` (byte offsets, so a cut may fall inside a character).
fn abbreviate_full(s: &[u8], offset: i64, max_width: i64) -> Vec<u8> {
    if s.is_empty() || max_width < 4 {
        return Vec::new();
    }
    let len = s.len() as i64;
    if len <= max_width {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return [&s[..(max_width - 3) as usize], b"..."].concat();
    }
    if max_width < 7 {
        return Vec::new();
    }
    if offset + max_width - 3 < len {
        let rest = &s[offset as usize..];
        return [b"...", &abbreviate_full(rest, 0, max_width - 3)[..]].concat();
    }
    [b"...", &s[(len - (max_width - 3)) as usize..]].concat()
}

pub fn abbrev(args: &[Value]) -> Result {
    want("abbrev", args, 2)?;
    let width = int(&args[0])?;
    let s = go_bytes(&args[1])?;
    if width < 4 {
        return Ok(args[1].clone());
    }
    Ok(Value::from_go_bytes(abbreviate_full(s, 0, width)))
}

pub fn abbrevboth(args: &[Value]) -> Result {
    want("abbrevboth", args, 3)?;
    let left = int(&args[0])?;
    let right = int(&args[1])?;
    let s = go_bytes(&args[2])?;
    if right < 4 || left > 0 && right < 7 {
        return Ok(args[2].clone());
    }
    Ok(Value::from_go_bytes(abbreviate_full(s, left, right)))
}

/// `contains`, `hasPrefix`, `hasSuffix`: Go compares the bytes.
fn byte_test(name: &str, args: &[Value], test: impl Fn(&[u8], &[u8]) -> bool) -> Result {
    want(name, args, 2)?;
    Ok(Value::Bool(test(go_bytes(&args[0])?, go_bytes(&args[1])?)))
}

pub fn contains(args: &[Value]) -> Result {
    byte_test("contains", args, |sub, s| cut_text::find(s, sub).is_some())
}

pub fn has_prefix(args: &[Value]) -> Result {
    byte_test("hasPrefix", args, |p, s| s.starts_with(p))
}

pub fn has_suffix(args: &[Value]) -> Result {
    byte_test("hasSuffix", args, |p, s| s.ends_with(p))
}

pub fn quote(args: &[Value]) -> Result {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| match v {
            Value::ByteString(b) => crate::template::fmt::quote_bytes(b.bytes()),
            other => go_quote(&strval(other)),
        })
        .collect();
    Ok(Value::string(parts.join(" ")))
}

/// Sprig's `squote` and `cat` when a part is not UTF-8: Go joins the bytes.
fn join_bytes(args: &[Value], quote: &str) -> Value {
    let mut out = crate::value::GoBuf::default();
    for (i, v) in args.iter().filter(|v| !matches!(v, Value::Nil)).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(quote);
        match v {
            Value::ByteString(b) => out.push_bytes(b.bytes()),
            other => out.push_str(&format_v(other)),
        }
        out.push_str(quote);
    }
    out.into_value()
}

fn has_byte_string(args: &[Value]) -> bool {
    args.iter().any(|v| matches!(v, Value::ByteString(_)))
}

pub fn squote(args: &[Value]) -> Result {
    if has_byte_string(args) {
        return Ok(join_bytes(args, "'"));
    }
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| format!("'{}'", format_v(v)))
        .collect();
    Ok(Value::string(parts.join(" ")))
}

pub fn cat(args: &[Value]) -> Result {
    if has_byte_string(args) {
        return Ok(join_bytes(args, ""));
    }
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(format_v)
        .collect();
    Ok(Value::string(parts.join(" ")))
}

/// Sprig's indent: a negative count panics in Go's `strings.Repeat`, which Helm
/// reports as the call's error.
fn indent_text(spaces: i64, text: &str) -> std::result::Result<String, FuncError> {
    let Ok(spaces) = usize::try_from(spaces) else {
        return Err(FuncError::Call("strings: negative Repeat count".into()));
    };
    let pad = " ".repeat(spaces);
    let mut out = String::with_capacity(text.len() + pad.len() * 4);
    out.push_str(&pad);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    Ok(out)
}

/// Sprig's `indent` on Go's bytes: the pad first and after every line feed.
fn indent_bytes(spaces: i64, text: &[u8]) -> std::result::Result<Vec<u8>, FuncError> {
    let Ok(spaces) = usize::try_from(spaces) else {
        return Err(FuncError::Call("strings: negative Repeat count".into()));
    };
    let pad = vec![b' '; spaces];
    let newline_pad = [b"\n".as_slice(), &pad].concat();
    Ok([pad, cut_text::replace_all(text, b"\n", &newline_pad)].concat())
}

pub fn indent(args: &[Value]) -> Result {
    want("indent", args, 2)?;
    let spaces = int(&args[0])?;
    if cut_text::any_cut(args) {
        return Ok(Value::from_go_bytes(indent_bytes(
            spaces,
            go_bytes(&args[1])?,
        )?));
    }
    Ok(Value::string(indent_text(spaces, string(&args[1])?)?))
}

pub fn nindent(args: &[Value]) -> Result {
    want("nindent", args, 2)?;
    let spaces = int(&args[0])?;
    if cut_text::any_cut(args) {
        let indented = indent_bytes(spaces, go_bytes(&args[1])?)?;
        return Ok(Value::from_go_bytes([b"\n".as_slice(), &indented].concat()));
    }
    Ok(Value::string(format!(
        "\n{}",
        indent_text(spaces, string(&args[1])?)?
    )))
}

pub fn replace(args: &[Value]) -> Result {
    want("replace", args, 3)?;
    if cut_text::any_cut(args) {
        let (old, new, s) = (
            go_bytes(&args[0])?,
            go_bytes(&args[1])?,
            go_bytes(&args[2])?,
        );
        return Ok(Value::from_go_bytes(cut_text::replace_all(s, old, new)));
    }
    let old = string(&args[0])?;
    let new = string(&args[1])?;
    Ok(Value::string(string(&args[2])?.replace(old, new)))
}

pub fn plural(args: &[Value]) -> Result {
    want("plural", args, 3)?;
    let one = string(&args[0])?;
    let many = string(&args[1])?;
    let count = int(&args[2])?;
    Ok(Value::string(if count == 1 { one } else { many }))
}

pub fn to_string(args: &[Value]) -> Result {
    want("toString", args, 1)?;
    match &args[0] {
        Value::ByteString(_) => return Ok(args[0].clone()),
        // Go's string(bytes): the bytes as they are.
        Value::Bytes(bytes) => return Ok(Value::from_go_bytes(bytes.to_vec())),
        _ => {}
    }
    Ok(Value::string(strval(&args[0])))
}

/// Sprig's `strslice`: a list's non-nil elements as strings; nil is empty; any other
/// value is a one-element list.
pub fn strslice(value: &Value) -> Vec<String> {
    match value {
        Value::Nil => Vec::new(),
        other => match reflect_slice(other) {
            Some(items) => items
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(strval)
                .collect(),
            None => vec![strval(other)],
        },
    }
}

/// A Go `[]string`.
fn strings_value(items: Vec<String>) -> Value {
    Value::string_list(items)
}

pub fn to_strings(args: &[Value]) -> Result {
    want("toStrings", args, 1)?;
    // Sprig hands a `[]string` back as it is: a nil one stays nil.
    if let Value::List(items) = &args[0]
        && items.slice_type() == SliceType::String
    {
        return Ok(args[0].clone());
    }
    Ok(strings_value(strslice(&args[0])))
}

pub fn join(args: &[Value]) -> Result {
    want("join", args, 2)?;
    let sep = string(&args[0])?;
    if let Value::List(items) = &args[1]
        && items
            .iter()
            .any(|item| matches!(item, Value::ByteString(_)))
    {
        // Go joins bytes: the halves of a cut character join into the character.
        let mut out = crate::value::GoBuf::default();
        for (i, item) in items
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .enumerate()
        {
            if i > 0 {
                out.push_str(sep);
            }
            match item {
                Value::ByteString(b) => out.push_bytes(b.bytes()),
                other => out.push_str(&strval(other)),
            }
        }
        return Ok(out.into_value());
    }
    Ok(Value::string(strslice(&args[1]).join(sep)))
}

/// Go's `strings.SplitN` (`n < 0`: all parts; an empty separator splits into runes).
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let mut parts: Vec<String> = if sep.is_empty() {
        s.chars().map(String::from).collect()
    } else {
        s.split(sep).map(String::from).collect()
    };
    if n > 0 && parts.len() > n as usize {
        if sep.is_empty() {
            let tail: String = parts[n as usize - 1..].concat();
            parts.truncate(n as usize - 1);
            parts.push(tail);
        } else {
            let tail = parts[n as usize - 1..].join(sep);
            parts.truncate(n as usize - 1);
            parts.push(tail);
        }
    }
    parts
}

/// Sprig's `map[string]string` of the parts, keyed `_0`, `_1`...
fn indexed_map(parts: Vec<String>) -> Value {
    let map: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| (format!("_{i}"), Value::string(part)))
        .collect();
    Value::Map(MapRef::new(map).with_type(MapType::StringMap))
}

pub fn split(args: &[Value]) -> Result {
    want("split", args, 2)?;
    let sep = string(&args[0])?;
    Ok(indexed_map(go_split(string(&args[1])?, sep, -1)))
}

pub fn splitn(args: &[Value]) -> Result {
    want("splitn", args, 3)?;
    let sep = string(&args[0])?;
    let n = int(&args[1])?;
    Ok(indexed_map(go_split(string(&args[2])?, sep, n)))
}

pub fn split_list(args: &[Value]) -> Result {
    want("splitList", args, 2)?;
    let sep = string(&args[0])?;
    Ok(strings_value(go_split(string(&args[1])?, sep, -1)))
}

pub fn sort_alpha(args: &[Value]) -> Result {
    want("sortAlpha", args, 1)?;
    match reflect_slice(&args[0]) {
        Some(_) => {
            let mut items = strslice(&args[0]);
            items.sort();
            Ok(strings_value(items))
        }
        None => Ok(strings_value(vec![strval(&args[0])])),
    }
}

pub fn trunc(args: &[Value]) -> Result {
    want("trunc", args, 2)?;
    let c = int(&args[0])?;
    let s = go_bytes(&args[1])?;
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return Ok(byte_slice(s, (len + c) as usize, s.len()));
    }
    if c >= 0 && len > c {
        return Ok(byte_slice(s, 0, c as usize));
    }
    Ok(args[1].clone())
}

pub fn atoi(args: &[Value]) -> Result {
    want("atoi", args, 1)?;
    let s = string(&args[0])?;
    // strconv.Atoi: one sign, then at least one digit and nothing else.
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    // strconv.Atoi returns the clamped value with its range error; Sprig keeps it.
    let value = if !valid {
        0
    } else {
        let text = if negative {
            format!("-{digits}")
        } else {
            digits.to_string()
        };
        text.parse()
            .unwrap_or(if negative { i64::MIN } else { i64::MAX })
    };
    Ok(Value::Int(value))
}

/// Sprig's `seq`: numbers from start to end (1, 2 or 3 int arguments) joined by spaces.
pub fn seq(args: &[Value]) -> Result {
    let params = args
        .iter()
        .map(int)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let text = match params.as_slice() {
        [end] => {
            let start = 1;
            let inc = if *end < start { -1 } else { 1 };
            join_ints(&super::math::until_step(start, end + inc, inc))
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            join_ints(&super::math::until_step(*start, end + step, step))
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(Value::string(""));
                }
            }
            join_ints(&super::math::until_step(*start, end + inc, *step))
        }
        _ => String::new(),
    };
    Ok(Value::string(text))
}

fn join_ints(items: &[i64]) -> String {
    items
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_reads_one_sign_then_digits_as_strconv() {
        // Found by the differential tester: a sign alone is no number.
        let atoi_of = |s: &str| atoi(&[Value::string(s)]).unwrap().as_int();
        assert_eq!(atoi_of("-"), Some(0));
        assert_eq!(atoi_of("+-5"), Some(0));
        assert_eq!(atoi_of("-12"), Some(-12));
        assert_eq!(atoi_of("+7"), Some(7));
        assert_eq!(atoi_of("-99999999999999999999"), Some(i64::MIN));
    }

    #[test]
    fn a_cut_character_keeps_its_bytes_as_go_strings_do() {
        // Found by the differential tester: Go's strings are bytes, so the halves of a
        // cut character count, encode and join as bytes.
        let half = substr(&[Value::Int(0), Value::Int(2), Value::string("€")]).unwrap();
        let rest = substr(&[Value::Int(2), Value::Int(3), Value::string("€")]).unwrap();
        assert_eq!(half.go_bytes(), Some(&b"\xe2\x82"[..]));
        let list = Value::list(vec![half.clone(), rest]);
        let joined = join(&[Value::string(""), list]).unwrap();
        assert_eq!(joined.as_str(), Some("€"));
        assert!(matches!(joined, Value::String(_)));
        let quoted = quote(std::slice::from_ref(&half)).unwrap();
        assert_eq!(quoted.as_str(), Some("\"\\xe2\\x82\""));
        let encoded = crate::funcs::misc::b64enc(&[half]).unwrap();
        assert_eq!(encoded.as_str(), Some("4oI="));
    }

    #[test]
    fn a_cut_character_prints_one_replacement_per_byte_as_go() {
        // Go decodes the two bytes left of `€` one by one: two U+FFFD.
        let cut = substr(&[Value::Int(0), Value::Int(2), Value::string("€")]).unwrap();
        assert_eq!(cut.as_str(), Some("\u{FFFD}\u{FFFD}"));
        let cut = trunc(&[Value::Int(3), Value::string("😀x")]).unwrap();
        assert_eq!(cut.as_str(), Some("\u{FFFD}\u{FFFD}\u{FFFD}"));
    }

    #[test]
    fn negative_indents_fail_as_go_strings_repeat_does() {
        // Found by the differential tester: Helm reports Go's panic as the call's error.
        for f in [indent, nindent] {
            let Err(error) = f(&[Value::Int(-1), Value::string("a")]) else {
                panic!("a negative indent must fail");
            };
            assert!(matches!(error, FuncError::Call(m) if m == "strings: negative Repeat count"));
        }
        let indented = indent(&[Value::Int(2), Value::string("a\nb")]).unwrap();
        assert_eq!(indented.as_str(), Some("  a\n  b"));
    }
}
