//! A quick reader for the plain block YAML that values files are mostly made of:
//! block mappings and sequences, one-line plain and quoted scalars, literal block
//! scalars (`|`, `|-`, `|+`), `[]`, `{}` and comments.
//!
//! It gives the same nodes as the full reader (yaml-rust2 and the builder in
//! [`super::parse`]) or declines: anything else (anchors, tags, flow collections,
//! folded or multi-line scalars, escapes, tabs, several documents, odd indentation,
//! anything that might be an error) sends the whole text to the full reader, so that
//! meanings and error messages stay the full reader's. It is line based: one pass,
//! no token queue, scalars sliced out of the text.

use std::borrow::Cow;

use super::parse::Node;

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

/// The first document of `text` as nodes (`Some(None)` for no document), or `None`
/// when the text is not of the kind this reader takes.
pub(super) fn parse(text: &str) -> Option<Option<Node<'_>>> {
    let bytes = text.as_bytes();
    if !text.ends_with('\n')
        || has_control_bytes(bytes)
        || (!text.is_ascii() && text.contains(['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}']))
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
        return Some(None);
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
    let node = reader.node_at(0)?;
    if reader.peek().is_some() {
        return None;
    }
    Some(Some(node))
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

struct Reader<'t> {
    lines: Vec<Line<'t>>,
    /// The next line to read.
    at: usize,
    /// Anchored scalars so far (`&name value`), the latest last.
    anchors: Vec<(&'t str, Node<'t>)>,
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
    fn node_at(&mut self, indent: usize) -> Option<Node<'t>> {
        let line = self.peek()?;
        if is_sequence_entry(line.text) {
            self.sequence(indent)
        } else if split_entry(line.text).is_some() {
            self.mapping(indent)
        } else {
            None
        }
    }

    fn mapping(&mut self, indent: usize) -> Option<Node<'t>> {
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
        Some(Node::Map(entries))
    }

    fn sequence(&mut self, indent: usize) -> Option<Node<'t>> {
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
            if is_sequence_entry(rest) || split_entry(rest).is_some() {
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
        Some(Node::Seq(items))
    }

    /// The value after `key:` or `-` (`rest` is what follows on the line) in a
    /// collection indented by `indent`. A block sequence may sit at the key's own
    /// indentation (`compact`).
    fn value(&mut self, indent: usize, rest: &'t str, compact: bool) -> Option<Node<'t>> {
        if is_empty_or_comment(rest) {
            return match self.peek() {
                Some(next) if next.indent > indent && next.text.starts_with(['[', '{']) => {
                    let (node, after) = flow(next.text)?;
                    if !is_blank_or_comment(after) {
                        return None;
                    }
                    self.at += 1;
                    match self.peek() {
                        Some(after) if after.indent > indent => None,
                        _ => Some(node),
                    }
                }
                Some(next) if next.indent > indent => self.node_at(next.indent),
                Some(next) if next.indent == indent && compact && is_sequence_entry(next.text) => {
                    self.sequence(indent)
                }
                _ => Some(scalar("~", true)),
            };
        }
        let node = match rest.as_bytes()[0] {
            b'&' => {
                // An anchored one-line scalar (an anchored collection is left to the
                // full reader).
                let (name, value) = anchor_name(rest)?;
                let value = value.trim_start_matches(' ');
                if is_empty_or_comment(value) || value.starts_with(['&', '*', '|', '[', '{']) {
                    return None;
                }
                let node = self.value(indent, value, compact)?;
                self.anchors.push((name, node.clone()));
                return Some(node);
            }
            b'*' => {
                let (name, after) = anchor_name(rest)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                let (_, node) = self.anchors.iter().rev().find(|(n, _)| *n == name)?;
                node.clone()
            }
            b'|' => self.literal(indent, rest)?,
            b'"' | b'\'' => {
                let (text, after) = quoted(rest)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                scalar(text, false)
            }
            b'[' | b'{' => {
                let (node, after) = flow(rest)?;
                if !is_blank_or_comment(after) {
                    return None;
                }
                node
            }
            _ => scalar(plain(rest)?, true),
        };
        // A more indented line after a scalar would continue it or be an error.
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(node),
        }
    }

    /// A literal block scalar (`|`, `|-`, `|+`, an optional comment after) whose
    /// content follows, more indented than the collection (`indent`).
    fn literal(&mut self, indent: usize, header: &str) -> Option<Node<'t>> {
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
        // Content lines (`None` for empty ones) and the content indentation.
        let mut content: Vec<Option<String>> = Vec::new();
        let mut content_indent: Option<usize> = None;
        let mut leading_spaces = 0;
        while let Some(line) = self.lines.get(self.at) {
            if line.text.is_empty() {
                match content_indent {
                    Some(m) if line.indent > m => {
                        content.push(Some(" ".repeat(line.indent - m)));
                    }
                    Some(_) => content.push(None),
                    None => {
                        leading_spaces = leading_spaces.max(line.indent);
                        content.push(None);
                    }
                }
                self.at += 1;
                continue;
            }
            let m = match content_indent {
                Some(m) => m,
                None if line.indent > indent => {
                    content_indent = Some(line.indent);
                    line.indent
                }
                None => break,
            };
            if line.indent < m {
                if line.indent > indent && !line.text.starts_with('#') {
                    return None;
                }
                break;
            }
            let mut text = " ".repeat(line.indent - m);
            text.push_str(line.text);
            content.push(Some(text));
            self.at += 1;
        }
        let Some(m) = content_indent else {
            // No content: empty, unless kept (`|+` keeps its line breaks: left to the
            // full reader, as are blank lines with spaces).
            if chomp == b'+' || leading_spaces > 0 {
                return None;
            }
            return Some(scalar("", false));
        };
        if leading_spaces > m {
            return None;
        }
        let last = content.iter().rposition(Option::is_some)?;
        let mut text = String::new();
        for (i, line) in content[..=last].iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(line.as_deref().unwrap_or_default());
        }
        match chomp {
            b'-' => {}
            b'+' => {
                text.push('\n');
                for _ in last + 1..content.len() {
                    text.push('\n');
                }
            }
            _ => text.push('\n'),
        }
        Some(scalar(text, false))
    }
}

fn scalar<'t>(text: impl Into<Cow<'t, str>>, plain: bool) -> Node<'t> {
    Node::Scalar {
        text: text.into(),
        plain,
        tag: None,
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
    let end = rest.find(" #").unwrap_or(rest.len());
    let value = rest[..end].trim_end_matches(' ');
    if value.is_empty() || value.contains(": ") || value.ends_with(':') {
        return None;
    }
    Some(value)
}

/// A flow collection (`[a, "b"]`, `{k: v}`, nested) that closes on its line, at the
/// start of `text`: its node and what follows it.
fn flow(text: &str) -> Option<(Node<'_>, &str)> {
    let is_map = text.starts_with('{');
    let close = if is_map { b'}' } else { b']' };
    let mut items = Vec::new();
    let mut entries = Vec::new();
    let mut rest = text[1..].trim_start_matches(' ');
    if rest.as_bytes().first() == Some(&close) {
        rest = &rest[1..];
    } else {
        loop {
            let (node, after) = flow_item(rest)?;
            rest = after.trim_start_matches(' ');
            if is_map {
                let after = rest.strip_prefix(": ")?;
                let (value, after) = flow_item(after.trim_start_matches(' '))?;
                entries.push((node, value));
                rest = after.trim_start_matches(' ');
            } else {
                items.push(node);
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
    let node = if is_map {
        Node::Map(entries)
    } else {
        Node::Seq(items)
    };
    Some((node, rest))
}

/// One item of a flow collection: a nested collection, a quoted scalar, or a plain
/// scalar up to the next `,`, bracket or `:` (a plain scalar holding `:` or `#` is
/// left to the full reader).
fn flow_item(text: &str) -> Option<(Node<'_>, &str)> {
    let first = *text.as_bytes().first()?;
    match first {
        b'[' | b'{' => flow(text),
        b'"' | b'\'' => {
            let (value, after) = quoted(text)?;
            Some((scalar(value, false), after))
        }
        _ if starts_with_indicator(text) => None,
        _ => {
            let end = text.find([',', '[', ']', '{', '}', ':', '#'])?;
            if text.as_bytes()[end] == b'#' {
                return None;
            }
            let value = text[..end].trim_end_matches(' ');
            if value.is_empty() {
                return None;
            }
            Some((scalar(value, true), &text[end..]))
        }
    }
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

/// A one-line quoted scalar at the start of `text`: its value and what follows it.
/// Double-quoted scalars with escapes are left to the full reader.
fn quoted(text: &str) -> Option<(String, &str)> {
    let quote = text.as_bytes()[0];
    let body = &text[1..];
    if quote == b'"' {
        let close = body.find(['"', '\\'])?;
        if body.as_bytes()[close] == b'"' {
            return Some((body[..close].to_string(), &body[close + 1..]));
        }
        return unescape(body);
    }
    let mut value = String::new();
    let mut rest = body;
    loop {
        let close = rest.find('\'')?;
        value.push_str(&rest[..close]);
        if rest[close + 1..].starts_with('\'') {
            value.push('\'');
            rest = &rest[close + 2..];
        } else {
            return Some((value, &rest[close + 1..]));
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

/// A mapping entry `key: rest` (or `key:`): the key's node and the text after the
/// colon and its spaces. `None` when the line is not a simple one-line key.
fn split_entry(text: &str) -> Option<(Node<'_>, &str)> {
    let (key, after) = match text.as_bytes().first()? {
        b'"' | b'\'' => {
            let (value, after) = quoted(text)?;
            (scalar(value, false), after)
        }
        b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
        | b'|' | b'>' | b'%' | b'@' | b'`' => return None,
        _ => {
            let bytes = text.as_bytes();
            let colon = (0..bytes.len())
                .find(|&i| bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' '))?;
            let key = text[..colon].trim_end_matches(' ');
            if (key.as_bytes().contains(&b'#') && key.contains(" #"))
                || key.len() > 1000
                || matches!(key, "~" | "null" | "Null" | "NULL" | "<<")
            {
                return None;
            }
            (scalar(key, true), &text[colon..])
        }
    };
    let rest = after.strip_prefix(':')?;
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}
