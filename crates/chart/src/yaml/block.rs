//! A quick reader for the plain block YAML that values files are mostly made of:
//! block mappings and sequences, one-line plain and quoted scalars, literal block
//! scalars (`|`, `|-`, `|+`), one-line flow collections, anchored scalars and comments.
//!
//! It gives the same value as the full reader (yaml-rust2, the builder and the
//! resolution in [`super::parse`]) or declines: anything else (anchored collections,
//! tags, merge keys, folded or multi-line scalars, unknown escapes, tabs, several
//! documents, odd indentation, anything that might be an error, a scalar or key that
//! does not convert to JSON) sends the whole text to the full reader, so that meanings
//! and error messages stay the full reader's. It is line based: one pass, no token
//! queue, no node tree: values are built as the lines are read, each map from its
//! entries at once (a sorted bulk build, the last of duplicate keys winning as with
//! inserts), scalars resolved straight from slices of the text.

use std::borrow::Cow;

use super::parse::{plain_key, plain_value};
use crate::value::{Map, Value};

/// One line of the text: its indentation (spaces) and the rest, without the break.
#[derive(Clone, Copy)]
struct Line<'t> {
    indent: usize,
    text: &'t str,
}

impl Line<'_> {
    /// Blank or only a comment.
    fn is_insignificant(&self) -> bool {
        self.text.is_empty() || self.text.starts_with('#')
    }
}

/// The first document of `text` as a value (`Nil` for no document), or `None` when
/// the text is not of the kind this reader takes.
pub(super) fn parse(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    if !text.ends_with('\n')
        || has_control_bytes(bytes)
        || (!text.is_ascii() && has_special_breaks(bytes))
    {
        return None;
    }
    let mut lines = Vec::with_capacity(text.len() / 24);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let indent = bytes[start..end].iter().take_while(|b| **b == b' ').count();
        lines.push(Line {
            indent,
            text: &text[start + indent..end],
        });
        start = end + 1;
    }
    let mut reader = Reader {
        lines,
        at: 0,
        anchors: Vec::new(),
    };
    let Some(first) = reader.peek() else {
        return Some(Value::Nil);
    };
    if first.indent != 0 {
        return None;
    }
    if let Some(rest) = first.text.strip_prefix("---") {
        if !is_blank_or_comment(rest) {
            return None;
        }
        reader.at += 1;
        if reader.peek()?.indent != 0 {
            return None;
        }
    }
    let value = reader.node_at(0)?;
    if reader.peek().is_some() {
        return None;
    }
    Some(value)
}

/// Whether UTF-8 `bytes` hold a character YAML treats as a line break or a byte order
/// mark (U+0085, U+2028, U+2029, U+FEFF), found through their lead bytes.
fn has_special_breaks(bytes: &[u8]) -> bool {
    memchr::memchr3_iter(0xc2, 0xe2, 0xef, bytes).any(|i| {
        matches!(
            bytes[i..],
            [0xc2, 0x85, ..] | [0xe2, 0x80, 0xa8 | 0xa9, ..] | [0xef, 0xbb, 0xbf, ..]
        )
    })
}

/// Whether `bytes` hold a control character other than a line feed (tabs, carriage
/// returns, DEL...): checked a block at a time without branching per byte, so that
/// the compiler can use vector instructions.
fn has_control_bytes(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|block| {
        block.iter().fold(false, |bad, &b| {
            bad | ((b < 0x20) & (b != b'\n')) | (b == 0x7f)
        })
    })
}

/// The lines of a text and how far they have been read.
struct Reader<'t> {
    lines: Vec<Line<'t>>,
    /// The next line to read.
    at: usize,
    /// Anchored scalars so far (`&name value`), the latest last.
    anchors: Vec<(&'t str, Value)>,
}

impl<'t> Reader<'t> {
    /// The next line that is not blank or a comment (moving past those).
    fn peek(&mut self) -> Option<Line<'t>> {
        while let Some(line) = self.lines.get(self.at) {
            if !line.is_insignificant() {
                return Some(*line);
            }
            self.at += 1;
        }
        None
    }

    /// The collection that starts at the next line, indented by `indent`.
    fn node_at(&mut self, indent: usize) -> Option<Value> {
        let line = self.peek()?;
        if is_sequence_entry(line.text) {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        }
    }

    /// A block mapping indented by `indent`, built from its entries at once.
    fn mapping(&mut self, indent: usize) -> Option<Value> {
        let mut entries = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_sequence_entry(line.text) {
                return None;
            }
            let (key, rest) = split_entry(line.text)?;
            self.at += 1;
            let value = self.value(indent, rest, true)?;
            entries.push((key, value));
        }
        Some(Value::map(Map::from_iter(entries)))
    }

    /// A block sequence indented by `indent`.
    fn sequence(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if !is_sequence_entry(line.text) {
                break;
            }
            let after_dash = &line.text[1..];
            let rest = after_dash.trim_start_matches(' ');
            if is_sequence_entry(rest) || raw_entry(rest).is_some() {
                // A collection starting on the entry's line: read it as if its first
                // line began at the column where it stands.
                let column = indent + 1 + (after_dash.len() - rest.len());
                self.lines[self.at] = Line {
                    indent: column,
                    text: rest,
                };
                items.push(self.node_at(column)?);
                continue;
            }
            self.at += 1;
            items.push(self.value(indent, rest, false)?);
        }
        Some(Value::list(items))
    }

    /// The value after `key:` or `-` (`rest` is what follows on the line) in a
    /// collection indented by `indent`. A block sequence may sit at the key's own
    /// indentation (`compact`).
    fn value(&mut self, indent: usize, rest: &'t str, compact: bool) -> Option<Value> {
        if is_empty_or_comment(rest) {
            return self.value_below(indent, compact);
        }
        let value = match rest.as_bytes()[0] {
            b'&' => return self.anchored(indent, rest, compact),
            b'*' => {
                let (name, after) = anchor_name(rest)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                let (_, value) = self.anchors.iter().rev().find(|(n, _)| *n == name)?;
                value.clone()
            }
            b'|' => self.literal(indent, rest)?,
            b'"' | b'\'' => {
                let (text, after) = quoted(rest)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                Value::string(text)
            }
            b'[' | b'{' => {
                let (value, after) = flow(rest)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                value
            }
            _ => plain_value(plain(rest)?)?,
        };
        // A more indented line after a scalar would continue it or be an error.
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(value),
        }
    }

    /// The value of a `key:` or `-` with nothing after it on its line: what the next
    /// lines hold, or null.
    fn value_below(&mut self, indent: usize, compact: bool) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > indent && next.text.starts_with(['[', '{']) => {
                let (value, after) = flow(next.text)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                self.at += 1;
                match self.peek() {
                    Some(after) if after.indent > indent => None,
                    _ => Some(value),
                }
            }
            Some(next) if next.indent > indent => self.node_at(next.indent),
            Some(next) if next.indent == indent && compact && is_sequence_entry(next.text) => {
                self.sequence(indent)
            }
            _ => Some(Value::Nil),
        }
    }

    /// An anchored one-line scalar (`&name value`, `rest` from the `&`), remembered for
    /// later aliases (an anchored collection is left to the full reader).
    fn anchored(&mut self, indent: usize, rest: &'t str, compact: bool) -> Option<Value> {
        let (name, value) = anchor_name(rest)?;
        let value = value.trim_start_matches(' ');
        if is_empty_or_comment(value) || value.starts_with(['&', '*', '|', '[', '{']) {
            return None;
        }
        let value = self.value(indent, value, compact)?;
        self.anchors.push((name, value.clone()));
        Some(value)
    }

    /// A literal block scalar (`|`, `|-`, `|+`, an optional comment after) whose
    /// content follows, more indented than the collection (`indent`).
    fn literal(&mut self, indent: usize, header: &str) -> Option<Value> {
        let mut rest = &header[1..];
        let chomp = match rest.as_bytes().first() {
            Some(b'-') => b'-',
            Some(b'+') => b'+',
            _ => b' ',
        };
        if chomp != b' ' {
            rest = &rest[1..];
        }
        if !is_blank_or_comment(rest) {
            return None;
        }
        let mut text = Literal::default();
        let mut leading_spaces = 0;
        while let Some(line) = self.lines.get(self.at) {
            if line.text.is_empty() {
                match text.indent {
                    Some(m) if line.indent > m => text.push(line.indent - m, ""),
                    Some(_) => text.lines += 1,
                    None => {
                        leading_spaces = leading_spaces.max(line.indent);
                        text.lines += 1;
                    }
                }
                self.at += 1;
                continue;
            }
            let m = match text.indent {
                Some(m) => m,
                None if line.indent > indent => *text.indent.insert(line.indent),
                None => break,
            };
            if line.indent < m {
                if line.indent > indent && !line.text.starts_with('#') {
                    return None;
                }
                break;
            }
            text.push(line.indent - m, line.text);
            self.at += 1;
        }
        let Some(m) = text.indent else {
            // No content: empty, unless kept (`|+` keeps its line breaks: left to the
            // full reader, as are blank lines with spaces).
            if chomp == b'+' || leading_spaces > 0 {
                return None;
            }
            return Some(Value::string(""));
        };
        if leading_spaces > m {
            return None;
        }
        Some(Value::string(text.finish(chomp)?))
    }
}

/// A literal block scalar's value as its lines are read.
#[derive(Default)]
struct Literal {
    /// The content so far, up to the last line with content.
    text: String,
    /// The content indentation, once a line with content has set it.
    indent: Option<usize>,
    /// The lines read so far, empty ones included.
    lines: usize,
    /// How many lines had been read when the last one with content came.
    content_lines: Option<usize>,
}

impl Literal {
    /// Adds a content line: `spaces` beyond the content indentation, then `line`.
    /// Empty lines since the last content line become line breaks.
    fn push(&mut self, spaces: usize, line: &str) {
        let breaks = match self.content_lines {
            Some(before) => self.lines - before + 1,
            None => self.lines,
        };
        self.text.extend(std::iter::repeat_n('\n', breaks));
        self.text.extend(std::iter::repeat_n(' ', spaces));
        self.text.push_str(line);
        self.lines += 1;
        self.content_lines = Some(self.lines);
    }

    /// The value with chomping applied (`-` strips the final line break, `+` keeps
    /// the trailing empty lines), or `None` without a content line.
    fn finish(mut self, chomp: u8) -> Option<String> {
        let content_lines = self.content_lines?;
        match chomp {
            b'-' => {}
            b'+' => self
                .text
                .extend(std::iter::repeat_n('\n', self.lines - content_lines + 1)),
            _ => self.text.push('\n'),
        }
        Some(self.text)
    }
}

/// Nothing, or a comment after at least one space: what may follow a token.
fn is_blank_or_comment(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// Nothing or a comment, in text that already follows a space.
fn is_empty_or_comment(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with('#')
}

/// `-` alone or `- ...`: an entry of a block sequence.
fn is_sequence_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// A plain scalar that ends the line (before a comment), or `None` when the text could
/// mean something else (an indicator first, `: ` inside, `:` last).
fn plain(rest: &str) -> Option<&str> {
    if starts_with_indicator(rest) {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut end = bytes.len();
    for i in memchr::memchr2_iter(b':', b'#', bytes) {
        if bytes[i] == b':' {
            if bytes.get(i + 1) == Some(&b' ') {
                return None;
            }
        } else if i > 0 && bytes[i - 1] == b' ' {
            end = i;
            break;
        }
    }
    let value = rest[..end].trim_end_matches(' ');
    if value.is_empty() || value.ends_with(':') {
        return None;
    }
    Some(value)
}

/// A flow collection (`[a, "b"]`, `{k: v}`, nested) that closes on its line, at the
/// start of `text`: its value and what follows it.
fn flow(text: &str) -> Option<(Value, &str)> {
    let is_map = text.starts_with('{');
    let close = if is_map { b'}' } else { b']' };
    let mut items = Vec::new();
    let mut entries = Vec::new();
    let mut rest = text[1..].trim_start_matches(' ');
    if rest.as_bytes().first() == Some(&close) {
        rest = &rest[1..];
    } else {
        loop {
            if is_map {
                let (key, after) = flow_key(rest)?;
                let after = after.trim_start_matches(' ').strip_prefix(": ")?;
                let (value, after) = flow_item(after.trim_start_matches(' '))?;
                entries.push((key, value));
                rest = after.trim_start_matches(' ');
            } else {
                let (item, after) = flow_item(rest)?;
                items.push(item);
                rest = after.trim_start_matches(' ');
            }
            match rest.as_bytes().first()? {
                b',' => {
                    rest = rest[1..].trim_start_matches(' ');
                    if rest.as_bytes().first() == Some(&close) {
                        return None;
                    }
                }
                c if *c == close => {
                    rest = &rest[1..];
                    break;
                }
                _ => return None,
            }
        }
    }
    let value = if is_map {
        Value::map(Map::from_iter(entries))
    } else {
        Value::list(items)
    };
    Some((value, rest))
}

/// One item of a flow collection: a nested collection, a quoted scalar, or a plain
/// scalar (see [`flow_plain`]).
fn flow_item(text: &str) -> Option<(Value, &str)> {
    match *text.as_bytes().first()? {
        b'[' | b'{' => flow(text),
        b'"' | b'\'' => {
            let (value, after) = quoted(text)?;
            Some((Value::string(value), after))
        }
        _ => {
            let (value, after) = flow_plain(text)?;
            Some((plain_value(value)?, after))
        }
    }
}

/// The key of a flow mapping entry as a JSON key: a quoted or plain scalar (a
/// collection as a key is left to the full reader).
fn flow_key(text: &str) -> Option<(String, &str)> {
    match *text.as_bytes().first()? {
        b'"' | b'\'' => {
            let (key, after) = quoted(text)?;
            Some((key.into_owned(), after))
        }
        _ => {
            let (key, after) = flow_plain(text)?;
            Some((plain_key(key)?, after))
        }
    }
}

/// A plain scalar in a flow collection, up to the next `,`, bracket or `:`, and what
/// follows it (one holding `#`, or starting with an indicator, is left to the full
/// reader).
fn flow_plain(text: &str) -> Option<(&str, &str)> {
    if starts_with_indicator(text) {
        return None;
    }
    let end = text.find([',', '[', ']', '{', '}', ':', '#'])?;
    if text.as_bytes()[end] == b'#' {
        return None;
    }
    let value = text[..end].trim_end_matches(' ');
    if value.is_empty() {
        return None;
    }
    Some((value, &text[end..]))
}

/// Whether `text` starts with a YAML indicator, which a plain scalar may not (`-`
/// followed by a non-space, as in `-1`, is allowed).
fn starts_with_indicator(text: &str) -> bool {
    let bytes = text.as_bytes();
    matches!(
        bytes[0],
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    ) && !(bytes[0] == b'-' && bytes.len() > 1 && bytes[1] != b' ')
}

/// The name after `&` or `*` at the start of `text` (letters, digits, `-`, `_`) and
/// what follows it.
fn anchor_name(text: &str) -> Option<(&str, &str)> {
    let rest = &text[1..];
    let end = rest
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .unwrap_or(rest.len());
    if end == 0 || !matches!(rest.as_bytes().get(end), None | Some(b' ')) {
        return None;
    }
    Some((&rest[..end], &rest[end..]))
}

/// A one-line quoted scalar at the start of `text`: its value (a slice of the text
/// when it has no escapes or doubled quotes) and what follows it.
fn quoted(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let quote = text.as_bytes()[0];
    let body = &text[1..];
    if quote == b'"' {
        let close = memchr::memchr2(b'"', b'\\', body.as_bytes())?;
        if body.as_bytes()[close] == b'"' {
            return Some((Cow::Borrowed(&body[..close]), &body[close + 1..]));
        }
        let (value, after) = unescape(body)?;
        return Some((Cow::Owned(value), after));
    }
    let close = memchr::memchr(b'\'', body.as_bytes())?;
    if body.as_bytes().get(close + 1) != Some(&b'\'') {
        return Some((Cow::Borrowed(&body[..close]), &body[close + 1..]));
    }
    let mut value = String::new();
    let mut rest = body;
    loop {
        let close = memchr::memchr(b'\'', rest.as_bytes())?;
        value.push_str(&rest[..close]);
        if rest[close + 1..].starts_with('\'') {
            value.push('\'');
            rest = &rest[close + 2..];
        } else {
            return Some((Cow::Owned(value), &rest[close + 1..]));
        }
    }
}

/// The rest of a one-line double-quoted scalar with escapes (after the opening quote):
/// its value and what follows the closing quote. Escapes are YAML's; an unknown one is
/// left to the full reader (which reports it).
fn unescape(body: &str) -> Option<(String, &str)> {
    let mut value = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &body[i + 1..])),
            '\\' => {}
            c => {
                value.push(c);
                continue;
            }
        }
        let (_, escape) = chars.next()?;
        let simple = match escape {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' | 'u' | 'U' => {
                let digits = match escape {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let start = i + 2;
                let hex = body.get(start..start + digits)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let code = u32::from_str_radix(hex, 16).ok()?;
                for _ in 0..digits {
                    chars.next();
                }
                char::from_u32(code)?
            }
            _ => return None,
        };
        value.push(simple);
    }
    None
}

/// A mapping entry `key: rest` (or `key:`): the key as a JSON key and the text after
/// the colon and its spaces. `None` when the line is not a simple one-line key or the
/// key does not convert to a JSON key.
fn split_entry(text: &str) -> Option<(String, &str)> {
    let (key, rest) = raw_entry(text)?;
    let key = match key {
        RawKey::Plain(key) => plain_key(key)?,
        RawKey::Quoted(key) => key.into_owned(),
    };
    Some((key, rest))
}

/// A mapping entry's key as written.
enum RawKey<'t> {
    /// A plain scalar, to be resolved.
    Plain(&'t str),
    /// A quoted scalar's value.
    Quoted(Cow<'t, str>),
}

/// A mapping entry `key: rest` (or `key:`) split at its colon: the key and the text
/// after the colon and its spaces. `None` when the line is not a simple one-line key
/// (or its key is null or a merge key).
fn raw_entry(text: &str) -> Option<(RawKey<'_>, &str)> {
    let (key, after) = match text.as_bytes().first()? {
        b'"' | b'\'' => {
            let (value, after) = quoted(text)?;
            (RawKey::Quoted(value), after)
        }
        b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
        | b'|' | b'>' | b'%' | b'@' | b'`' => return None,
        _ => {
            let bytes = text.as_bytes();
            let colon = memchr::memchr_iter(b':', bytes)
                .find(|&i| i + 1 == bytes.len() || bytes[i + 1] == b' ')?;
            let key = text[..colon].trim_end_matches(' ');
            if (key.as_bytes().contains(&b'#') && key.contains(" #"))
                || key.len() > 1000
                || matches!(key, "~" | "null" | "Null" | "NULL" | "<<")
            {
                return None;
            }
            (RawKey::Plain(key), &text[colon..])
        }
    };
    let rest = after.strip_prefix(':')?;
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}
