//! YAML to [`Value`], as Helm reads values files and `fromYaml` input.
//!
//! Helm decodes YAML with sigs.k8s.io/yaml: go-yaml v2 reads the first document (YAML
//! 1.1 scalars: `yes`/`on`/`y` are booleans, `010` is octal, `0x1F` hex, `1_000` an int,
//! dates stay strings), the result is converted to JSON (map keys become strings,
//! numbers JSON numbers) and decoded again with `encoding/json`, so every number ends up
//! a `float64`. Duplicate keys are not an error: the last one wins.

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::go_scanner::{Scan, scan};
use crate::value::{Map, Value};

/// Why a YAML document could not be read, in the words Helm prints.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// The text is not valid YAML (`yaml: line 3: mapping values are not allowed...`).
    #[error("error converting YAML to JSON: yaml: {}{message}", line_prefix(*.line))]
    Syntax {
        /// The line go-yaml reports (it omits the line for errors on the first line).
        line: Option<usize>,
        /// libyaml's description of the problem.
        message: String,
    },
    /// A map key that JSON cannot hold (null, a list, a huge unsigned number).
    #[error("error converting YAML to JSON: {0}")]
    Key(String),
    /// A number JSON cannot hold (`.inf`, `.nan`).
    #[error("error converting YAML to JSON: json: unsupported value: {0}")]
    Unsupported(String),
    /// The document is valid YAML but not of the kind asked for (a list where a map
    /// was expected).
    #[error(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {found} into Go value of type {want}"
    )]
    WrongKind {
        /// The JSON kind found (`array`, `string`, `number`, `bool`, `object`).
        found: &'static str,
        /// The Go type that was asked for (`common.Values`, `map[string]interface {}`).
        want: &'static str,
    },
    /// A document of a values file could not be read (Helm v4's `LoadValues`).
    #[error("cannot unmarshal yaml document: {0}")]
    Document(Box<YamlError>),
    /// A values file line starts with `---` followed by more than a comment.
    #[error("error reading yaml document: invalid Yaml document separator: {0}")]
    Separator(String),
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

/// Parses the first YAML document of `text` into a value (`Nil` for an empty document).
pub fn parse(text: &str) -> Result<Value, YamlError> {
    // Most values files are plain block YAML, which a quick reader takes; the rest
    // (and every error) is yaml-rust2's.
    match super::block::parse(text) {
        Some(value) => Ok(value),
        None => parse_full(text, Numbers::Json),
    }
}

/// Parses the first YAML document of `text` keeping go-yaml's scalar types, as
/// sigs.k8s.io/yaml sees them when it decodes into a Go struct (`Chart.yaml`,
/// `Chart.lock`): integers are `Value::Int64` (`Value::Uint64` past `i64`), floats
/// `Value::Float`, so that a struct's string field can take their text as Go writes it
/// ([`go_scalar_text`]).
pub fn parse_typed(text: &str) -> Result<Value, YamlError> {
    parse_full(text, Numbers::Typed)
}

/// The text sigs.k8s.io/yaml gives a scalar decoded into a Go `string` field: integers
/// in decimal, floats with `strconv.FormatFloat(f, 'g', -1, 32)`, booleans as
/// `true`/`false`; `None` for what is no scalar of those kinds (strings included).
pub fn go_scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) | Value::Int64(i) => Some(i.to_string()),
        Value::Uint64(u) => Some(u.to_string()),
        Value::Float(f) if f.is_nan() => Some("NaN".to_string()),
        Value::Float(f) if f.is_infinite() => Some(if *f > 0.0 { "+Inf" } else { "-Inf" }.into()),
        Value::Float(f) => Some(go_format_g(&format!("{:e}", *f as f32))),
        _ => None,
    }
}

/// What numbers become: JSON's `float64` (values, `fromYaml`), or go-yaml's own types
/// for a decoder into a Go struct ([`parse_typed`]).
#[derive(Clone, Copy, PartialEq)]
enum Numbers {
    Json,
    Typed,
}

/// [`parse`] with yaml-rust2 and the node builder, for any YAML. Tabs and anchor names
/// are go-yaml's business first (`go_scanner`): tabs refused where it refuses them,
/// read as spaces where it skips them; anchors refused where it finds no name.
fn parse_full(text: &str, numbers: Numbers) -> Result<Value, YamlError> {
    let has_tab = memchr::memchr(b'\t', text.as_bytes()).is_some();
    let may_cut_block_scalar = !text.ends_with(['\n', '\r']) && text.contains(['|', '>']);
    let anchors = text.contains(['&', '*']);
    if !has_tab && !may_cut_block_scalar && !anchors {
        let read = parse_spaced(text, numbers, None);
        if read.is_ok()
            && text.contains(['{', '['])
            && let Some(error) = flow_key_over_two_lines(text)
        {
            return Err(error);
        }
        return read;
    }
    let Scan { reading, refusal } = scan(text);
    let read = parse_spaced(
        &with_spaces(text, &reading.separators),
        numbers,
        reading.cut_block_scalar,
    );
    let Some(refusal) = refusal else {
        return read;
    };
    // go-yaml's parser stops on its own errors before the point it reached (as
    // yaml-rust2 sees them once that tab is a space, unless they are about tabs too);
    // past it, the tab's.
    let earlier = match read {
        Err(_) => {
            let mut separators = reading.separators;
            separators.extend(refusal.tab);
            refusal_before(&with_spaces(text, &separators), refusal.parsed_to)
        }
        Ok(_) => None,
    };
    Err(earlier.unwrap_or_else(|| YamlError::Syntax {
        line: refusal.line,
        message: refusal.message.to_string(),
    }))
}

/// go-yaml's refusal of a key that runs over two lines in a flow collection
/// (`{a: 1, b\n c: 2}`), which yaml-rust2 reads as the key `b c`.
fn flow_key_over_two_lines(text: &str) -> Option<YamlError> {
    let refusal = scan(text).refusal?;
    refusal
        .message
        .starts_with("did not find expected ',' or")
        .then(|| YamlError::Syntax {
            line: refusal.line,
            message: refusal.message.to_string(),
        })
}

/// yaml-rust2's refusal of `text` before `limit` (line and column from 0), but for a
/// tab. Indentation go-yaml does not check is re-indented first, as [`parse_spaced`]
/// does.
fn refusal_before(text: &str, limit: (usize, usize)) -> Option<YamlError> {
    let mut error = first_scan_error(text)?;
    let mut source = Cow::Borrowed(text);
    if error.info().contains("invalid indentation")
        && let Some(lenient) = super::flow_indent::reindent(text)
    {
        error = first_scan_error(&lenient)?;
        source = Cow::Owned(lenient);
    }
    let marker = error.marker();
    let place = (marker.line().saturating_sub(1), marker.col());
    (place < limit && !error.info().contains("tab")).then(|| syntax_error(&error, &source))
}

/// `text` with the tabs at `separators` (byte offsets) made spaces: same lines and
/// columns, read by yaml-rust2 as go-yaml read the tabs.
fn with_spaces<'t>(text: &'t str, separators: &[usize]) -> Cow<'t, str> {
    if separators.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for &at in separators {
        bytes[at] = b' ';
    }
    String::from_utf8(bytes).map_or(Cow::Borrowed(text), Cow::Owned)
}

/// yaml-rust2's scanner or parser's refusal of `text`, if it refuses it.
fn first_scan_error(text: &str) -> Option<ScanError> {
    struct Ignore;
    impl MarkedEventReceiver for Ignore {
        fn on_event(&mut self, _: Event, _: Marker) {}
    }
    Parser::new_from_str(text).load(&mut Ignore, false).err()
}

/// [`parse_full`] once tabs are settled (`cut` is the block scalar, counted from 0,
/// that ends the text without a line break). Where yaml-rust2 refuses the indentation
/// of a flow collection or quoted scalar that go-yaml takes, it reads a copy
/// re-indented as go-yaml reads it (`flow_indent`).
fn parse_spaced(text: &str, numbers: Numbers, cut: Option<usize>) -> Result<Value, YamlError> {
    let error = match parse_strict(text, numbers, cut) {
        Err(error @ YamlError::Syntax { .. })
            if error.to_string().contains("invalid indentation") =>
        {
            error
        }
        Err(error @ YamlError::Syntax { .. })
            if error.to_string().contains("invalid trailing content") =>
        {
            return root_quoted_scalar(text, numbers).ok_or(error);
        }
        other => return other,
    };
    // go-yaml does not check that indentation: what else is wrong is its refusal.
    match super::flow_indent::reindent(text).map(|lenient| parse_strict(&lenient, numbers, cut)) {
        Some(read) => read,
        None => Err(error),
    }
}

/// A document that starts with a quoted scalar and goes on after it (`"a" b`): go-yaml
/// reads one document and stops at its root scalar, where yaml-rust2 refuses the rest.
fn root_quoted_scalar(text: &str, numbers: Numbers) -> Option<Value> {
    let start = text.len() - text.trim_start().len();
    let quote = *text.as_bytes().get(start)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let bytes = text.as_bytes();
    let mut i = start + 1;
    let end = loop {
        match bytes.get(i)? {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if *b == quote => break i + 1,
            _ => i += 1,
        }
    };
    match parse_strict(&text[..end], numbers, None) {
        Ok(value @ Value::String(_)) => Some(value),
        _ => None,
    }
}

/// yaml-rust2's reading of `text`, with its YAML 1.2 indentation rules; block scalar
/// number `cut_block_scalar` (from 0) ends the text without a line break.
fn parse_strict(
    text: &str,
    numbers: Numbers,
    cut_block_scalar: Option<usize>,
) -> Result<Value, YamlError> {
    let mut builder = Builder {
        source: text,
        cut_block_scalar,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(error) = parser.load(&mut builder, false) {
        return Err(syntax_error(&error, text));
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    match builder.root {
        Some(node) => to_value(node, numbers),
        None => Ok(Value::Nil),
    }
}

/// Parses a values document into a map as Helm's `chartutil.ReadValues` does: an empty
/// or `null` document is an empty map, anything but a map is an error naming `want`
/// (Helm says `common.Values` for values files, `map[string]interface {}` for
/// `fromYaml`).
pub fn parse_map(text: &str, want: &'static str) -> Result<Map, YamlError> {
    into_map(parse(text)?, want)
}

/// [`parse_map`] with go-yaml's scalar types kept ([`parse_typed`]), for documents Helm
/// decodes into a Go struct (`want` names it: `chart.Metadata`, `chart.Lock`...).
pub fn parse_typed_map(text: &str, want: &'static str) -> Result<Map, YamlError> {
    into_map(parse_typed(text)?, want)
}

fn into_map(value: Value, want: &'static str) -> Result<Map, YamlError> {
    match value {
        Value::Nil => Ok(Map::new()),
        Value::Map(map) => Ok(map.into_inner()),
        other => Err(YamlError::WrongKind {
            found: json_kind(&other),
            want,
        }),
    }
}

/// Parses a document that must be a list (`fromYamlArray`): `null` is an empty list.
pub fn parse_list(text: &str) -> Result<Vec<Value>, YamlError> {
    match parse(text)? {
        Value::Nil => Ok(Vec::new()),
        Value::List(list) => Ok(list.into_vec()),
        other => Err(YamlError::WrongKind {
            found: json_kind(&other),
            want: "[]interface {}",
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => "number",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        _ => "string",
    }
}

/// libyaml's reader on bytes that are not UTF-8 (a Go string cut inside a character,
/// `fromYaml (substr 1 5 "😀x")`): the first bad sequence's refusal, which comes before
/// any parsing (Helm v4.2's engine, session 11).
pub fn utf8_error(bytes: &[u8]) -> Option<YamlError> {
    let refuse = |message: &str| {
        Some(YamlError::Syntax {
            line: None,
            message: message.to_string(),
        })
    };
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        let width = match lead {
            0x00..=0x7f => 1,
            _ if lead & 0xe0 == 0xc0 => 2,
            _ if lead & 0xf0 == 0xe0 => 3,
            _ if lead & 0xf8 == 0xf0 => 4,
            _ => return refuse("invalid leading UTF-8 octet"),
        };
        let Some(sequence) = bytes.get(i..i + width) else {
            return refuse("incomplete UTF-8 octet sequence");
        };
        let mut value = u32::from(lead) & [0x7f, 0x1f, 0x0f, 0x07][width - 1];
        for &octet in &sequence[1..] {
            if octet & 0xc0 != 0x80 {
                return refuse("invalid trailing UTF-8 octet");
            }
            value = (value << 6) | u32::from(octet & 0x3f);
        }
        let shortest = [0, 0x80, 0x800, 0x10000][width - 1];
        if value < shortest {
            return refuse("invalid length of a UTF-8 sequence");
        }
        if (0xd800..=0xdfff).contains(&value) || value > 0x10ffff {
            return refuse("invalid Unicode character");
        }
        i += width;
    }
    None
}

/// The 0-based line libyaml is on at the end of `text` (a line break is `\n`, `\r\n`
/// or a lone `\r`; a NUL byte ends the stream).
fn end_line(text: &str) -> usize {
    let bytes = text.as_bytes();
    let bytes = &bytes[..memchr::memchr(0, bytes).unwrap_or(bytes.len())];
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// The 1-based line of the first document marker (`---` or `...` at the start of a
/// line, then a blank or the end) after char index `from`: where libyaml stops inside
/// a quoted scalar (yaml-rust2 names the scalar's first line).
fn document_marker_line(text: &str, from: usize) -> Option<usize> {
    let start = text.char_indices().nth(from).map_or(text.len(), |(i, _)| i);
    let before = text[..start].matches('\n').count();
    text[start..]
        .split('\n')
        .enumerate()
        .skip(1)
        .find(|(_, line)| {
            (line.starts_with("---") || line.starts_with("..."))
                && line[3..].chars().next().is_none_or(char::is_whitespace)
        })
        .map(|(index, _)| before + index + 1)
}

/// The flow collection open at char index `at` of `text` (`[` or `{`), quotes skipped.
fn open_flow_collection(text: &str, at: usize) -> Option<char> {
    let mut open = Vec::new();
    let mut quote = None;
    let mut chars = text.chars().take(at).peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => {
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => open.push(c),
            (None, ']' | '}') => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

/// go-yaml prints scanner errors with the 1-based line, parser errors with the line of
/// the token after the problem, and nothing for problems on the first line. yaml-rust2
/// words a few problems differently from libyaml (which go-yaml ports): those get
/// libyaml's words.
fn syntax_error(error: &ScanError, text: &str) -> YamlError {
    // libyaml stops at a directive it does not know (`%x` at the start of a line) as
    // soon as it reaches it; yaml-rust2 reads on and reports something later.
    if let Some(line) = unknown_directive_line(text)
        && error.marker().line() >= line
    {
        return YamlError::Syntax {
            line: (line > 1).then_some(line),
            message: "found unknown directive name".to_string(),
        };
    }
    let info = error.info();
    let info = info
        .split_once(", ")
        .filter(|(context, _)| context.starts_with("while "))
        .map_or(info, |(_, rest)| rest);
    if info == "found unexpected end of stream" {
        // libyaml reports where it stopped (the end), yaml-rust2 where the scalar began.
        let line0 = end_line(text);
        return YamlError::Syntax {
            line: (line0 > 0).then_some(line0 + 1),
            message: info.to_string(),
        };
    }
    if info == "found unexpected document indicator" {
        return YamlError::Syntax {
            line: document_marker_line(text, error.marker().index()),
            message: info.to_string(),
        };
    }
    let message = if info.starts_with("expected ',' or") {
        format!("did not find {info}")
    } else if info == "illegal placement of ':' indicator" {
        // A key running over lines inside `[...]`/`{...}`: libyaml drops it as a key
        // and its parser then meets the `:` where a `,` or the end was due.
        match open_flow_collection(text, error.marker().index()) {
            Some('{') => "did not find expected ',' or '}'".to_string(),
            _ => "did not find expected ',' or ']'".to_string(),
        }
    } else if info.starts_with("tabs disallowed") || info.starts_with("unexpected character") {
        "found character that cannot start any token".to_string()
    } else if info.starts_with("simple key expect") {
        "could not find expected ':'".to_string()
    } else if info.contains("unknown anchor") {
        let name: String = text
            .get(error.marker().index()..)
            .unwrap_or_default()
            .trim_start_matches('*')
            .chars()
            .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
            .collect();
        return YamlError::Syntax {
            line: None,
            message: format!("unknown anchor '{name}' referenced"),
        };
    } else {
        info.to_string()
    };
    let line0 = error.marker().line().saturating_sub(1);
    let parser_error = message.starts_with("did not find expected");
    let line = if line0 == 0 {
        None
    } else if parser_error {
        Some(line0)
    } else {
        Some(line0 + 1)
    };
    YamlError::Syntax { line, message }
}

/// The line (from 1) of the first directive libyaml does not know: `%NAME` at the
/// start of a line, NAME made of letters, digits, `-` and `_`, then a blank or the end
/// of the line, and neither `YAML` nor `TAG`.
fn unknown_directive_line(text: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(index, line)| {
        let rest = line.strip_prefix('%')?;
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        let known = name.is_empty() || name == "YAML" || name == "TAG";
        let blank_after = after.is_empty() || after.starts_with([' ', '\t', '\r']);
        (!known && blank_after).then_some(index + 1)
    })
}

/// A YAML node as yaml-rust2 reported it, before go-yaml's scalar resolution.
#[derive(Debug, Clone)]
enum Node {
    /// A scalar: its text, whether it was plain (unquoted) and its tag.
    Scalar {
        text: String,
        plain: bool,
        tag: Option<String>,
    },
    /// A sequence's items.
    Seq(Vec<Node>),
    /// A mapping's entries in document order.
    Map(Vec<(Node, Node)>),
}

#[derive(Default)]
struct Builder<'t> {
    /// The source, to read block scalar headers yaml-rust2 does not report.
    source: &'t str,
    stack: Vec<(Node, usize)>,
    /// Map keys waiting for their value, one slot per open mapping.
    keys: Vec<Option<Node>>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    /// The block scalar (counted from 0) whose last line ends the text without a line
    /// break, and the block scalars seen so far.
    cut_block_scalar: Option<usize>,
    block_scalars: usize,
    done: bool,
    error: Option<YamlError>,
}

fn tag_name(tag: Option<Tag>) -> Option<String> {
    tag.map(|tag| {
        if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
            format!("!!{}", tag.suffix)
        } else {
            format!("{}{}", tag.handle, tag.suffix)
        }
    })
}

impl Builder<'_> {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.insert(node);
    }

    fn insert(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
                self.done = true;
            }
            Some((Node::Seq(items), _)) => items.push(node),
            Some((Node::Map(entries), _)) => {
                let slot = self.keys.last_mut();
                match slot {
                    Some(slot) => match slot.take() {
                        Some(key) => entries.push((key, node)),
                        None => *slot = Some(node),
                    },
                    None => self.fail("internal: mapping without key slot"),
                }
            }
            Some((Node::Scalar { .. }, _)) => self.fail("internal: scalar container"),
        }
    }

    /// Whether the block scalar starting at `mark` has the keep indicator (`|+`, `>+`).
    /// The quoted scalar at `mark` as libyaml reads it, U+0085, U+2028 and U+2029 taken
    /// for line breaks ([`super::quoted_breaks`]).
    fn quoted_as_libyaml(&self, mark: Marker) -> Option<String> {
        let (start, _) = self.source.char_indices().nth(mark.index())?;
        super::quoted_breaks::read(&self.source[start..])
    }

    fn keeps(&self, mark: Marker) -> bool {
        let before: Vec<char> = self.source.chars().take(mark.index() + 1).collect();
        let Some(start) = before.iter().rposition(|c| *c == '|' || *c == '>') else {
            return false;
        };
        self.source
            .chars()
            .skip(start + 1)
            .take_while(|c| *c != '\n' && *c != '#')
            .any(|c| c == '+')
    }

    fn fail(&mut self, message: &str) {
        if self.error.is_none() {
            self.error = Some(YamlError::Syntax {
                line: None,
                message: message.to_string(),
            });
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.done || self.error.is_some() {
            return;
        }
        match event {
            Event::Scalar(mut text, style, anchor, tag) => {
                let plain = matches!(style, TScalarStyle::Plain);
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                let quoted = matches!(
                    style,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                );
                if quoted
                    && super::quoted_breaks::has_unicode_breaks(&text)
                    && let Some(libyaml) = self.quoted_as_libyaml(mark)
                {
                    text = libyaml;
                }
                if block && !text.is_empty() && text.chars().all(|c| c == '\n') && !self.keeps(mark)
                {
                    // A block scalar without content is empty unless kept (`|+`), as in
                    // libyaml; yaml-rust2 leaves a line break.
                    text.clear();
                }
                if block {
                    if self.cut_block_scalar == Some(self.block_scalars) && text.ends_with('\n') {
                        // libyaml adds no line break the text does not have.
                        text.pop();
                    }
                    self.block_scalars += 1;
                }
                let node = Node::Scalar {
                    text,
                    plain,
                    tag: tag_name(tag),
                };
                self.push_node(node, anchor);
            }
            Event::SequenceStart(anchor, _tag) => {
                self.stack.push((Node::Seq(Vec::new()), anchor));
            }
            Event::MappingStart(anchor, _tag) => {
                self.stack.push((Node::Map(Vec::new()), anchor));
                self.keys.push(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor)) = self.stack.pop() {
                    if matches!(node, Node::Map(_)) {
                        self.keys.pop();
                    }
                    self.push_node(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let node = node.clone();
                    self.insert(node);
                }
                None => self.fail("unknown anchor referenced"),
            },
            _ => {}
        }
    }
}

/// A scalar after go-yaml's resolution, before the trip through JSON.
enum Scalar<'t> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'t, str>),
    Merge,
}

fn to_value(node: Node, numbers: Numbers) -> Result<Value, YamlError> {
    match node {
        Node::Scalar { text, plain, tag } => {
            let scalar = resolve(Cow::Owned(text), plain, tag.as_deref())?;
            match (numbers, scalar) {
                (Numbers::Typed, Scalar::Int(i)) => Ok(Value::Int64(i)),
                (Numbers::Typed, Scalar::Uint(u)) => Ok(Value::Uint64(u)),
                (Numbers::Typed, Scalar::Float(f)) => Ok(Value::Float(f)),
                (_, scalar) => scalar_value(scalar),
            }
        }
        Node::Seq(items) => Ok(Value::list(
            items
                .into_iter()
                .map(|item| to_value(item, numbers))
                .collect::<Result<_, _>>()?,
        )),
        Node::Map(entries) => {
            let mut map = Map::new();
            fill_map(&mut map, entries, numbers)?;
            Ok(Value::map(map))
        }
    }
}

fn fill_map(map: &mut Map, entries: Vec<(Node, Node)>, numbers: Numbers) -> Result<(), YamlError> {
    for (key, value) in entries {
        let key = match key {
            Node::Scalar { text, plain, tag } => {
                match resolve(Cow::Owned(text), plain, tag.as_deref())? {
                    Scalar::Merge => {
                        merge_into(map, value, numbers)?;
                        continue;
                    }
                    scalar => key_string(scalar, &value)?,
                }
            }
            _ => {
                return Err(YamlError::Syntax {
                    line: None,
                    message: "invalid map key: a list or map cannot be a map key".to_string(),
                });
            }
        };
        map.insert(key, to_value(value, numbers)?);
    }
    Ok(())
}

/// `<<: *base` (or a list of them) copies the referenced mappings' entries in place.
fn merge_into(map: &mut Map, value: Node, numbers: Numbers) -> Result<(), YamlError> {
    match value {
        Node::Map(entries) => fill_map(map, entries, numbers),
        Node::Seq(items) => {
            for item in items {
                match item {
                    Node::Map(entries) => fill_map(map, entries, numbers)?,
                    _ => return Err(merge_error()),
                }
            }
            Ok(())
        }
        _ => Err(merge_error()),
    }
}

fn merge_error() -> YamlError {
    YamlError::Syntax {
        line: None,
        message: "map merge requires map or sequence of maps as the value".to_string(),
    }
}

/// A resolved scalar key as the JSON object key sigs.k8s.io/yaml makes of it.
fn key_string(key: Scalar<'_>, value: &Node) -> Result<String, YamlError> {
    match key {
        Scalar::Str(s) => Ok(s.into_owned()),
        Scalar::Bool(b) => Ok(b.to_string()),
        Scalar::Int(i) => Ok(i.to_string()),
        Scalar::Float(f) => Ok(float_key(f)),
        Scalar::Uint(u) => Err(YamlError::Key(format!(
            "unsupported map key of type: uint64, key: {u:#x}, value: {}",
            go_quote_value(value)
        ))),
        Scalar::Null => Err(YamlError::Key(format!(
            "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
            go_quote_value(value)
        ))),
        Scalar::Merge => Ok("<<".to_string()),
    }
}

fn go_quote_value(value: &Node) -> String {
    match value {
        Node::Scalar { text, .. } => format!("{text:?}"),
        _ => "<collection>".to_string(),
    }
}

/// sigs.k8s.io/yaml writes float keys with `strconv.FormatFloat(f, 'g', -1, 32)`.
fn float_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    // Rust's `{:e}` on f32 gives the shortest digits that round-trip as f32, as Go's
    // FormatFloat(.., -1, 32) does.
    go_format_g(&format!("{:e}", f as f32))
}

/// Go's `'g'` layout with shortest digits: exponent form when exp < -4 || exp >= 6.
fn go_format_g(sci: &str) -> String {
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => return sci.to_string(),
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut out = String::from(sign);
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
        out
    } else if exp < 0 {
        format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else {
        let point = (exp + 1) as usize;
        if digits.len() <= point {
            format!("{sign}{}{}", digits, "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

fn scalar_value(scalar: Scalar<'_>) -> Result<Value, YamlError> {
    Ok(match scalar {
        Scalar::Null => Value::Nil,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::Float(i as f64),
        Scalar::Uint(u) => Value::Float(u as f64),
        Scalar::Float(f) if f.is_nan() => return Err(YamlError::Unsupported("NaN".to_string())),
        Scalar::Float(f) if f.is_infinite() => {
            let text = if f > 0.0 { "+Inf" } else { "-Inf" };
            return Err(YamlError::Unsupported(text.to_string()));
        }
        Scalar::Float(f) => Value::Float(f),
        Scalar::Str(s) => Value::string(s),
        Scalar::Merge => Value::string("<<"),
    })
}

/// A plain scalar as the value it becomes through go-yaml and JSON (what [`to_value`]
/// makes of it), `None` when that is an error (`.inf`, `.nan`: left to the full
/// reader, which reports it).
pub(super) fn plain_value(text: &str) -> Option<Value> {
    match resolve_plain(text) {
        None => Some(Value::string(text)),
        Some(scalar) => scalar_value(scalar).ok(),
    }
}

/// A plain scalar key as the JSON key it becomes (what [`fill_map`] makes of it),
/// `None` for a null or uint64 key (errors) and the merge key `<<` (left to the full
/// reader).
pub(super) fn plain_key(text: &str) -> Option<String> {
    match resolve_plain(text) {
        None => Some(text.to_string()),
        Some(Scalar::Bool(b)) => Some(b.to_string()),
        Some(Scalar::Int(i)) => Some(i.to_string()),
        Some(Scalar::Float(f)) => Some(float_key(f)),
        Some(Scalar::Null | Scalar::Uint(_) | Scalar::Merge | Scalar::Str(_)) => None,
    }
}

/// go-yaml v2's `resolve`: what a scalar means given its text, style and tag.
fn resolve<'t>(
    text: Cow<'t, str>,
    plain: bool,
    tag: Option<&str>,
) -> Result<Scalar<'t>, YamlError> {
    match tag {
        None if !plain => return Ok(Scalar::Str(text)),
        // The non-specific tag `!` makes any scalar a string (`a: !` is `""`), as
        // go-yaml resolves no tag it does not know.
        Some("!!str" | "!") => return Ok(Scalar::Str(text)),
        Some("!!binary") => return decode_binary(&text),
        Some(t)
            if !matches!(
                t,
                "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp" | "!!merge"
            ) =>
        {
            // Custom tags (`!foo`) and collection tags on scalars leave the text as is.
            return Ok(Scalar::Str(text));
        }
        _ => {}
    }
    let Some(tag) = tag else {
        return Ok(resolve_plain(&text).unwrap_or(Scalar::Str(text)));
    };
    let resolved = resolve_plain(&text).unwrap_or_else(|| Scalar::Str(text.clone()));
    let fits = matches!(
        (tag, &resolved),
        ("!!bool", Scalar::Bool(_))
            | ("!!int", Scalar::Int(_) | Scalar::Uint(_))
            | ("!!float", Scalar::Float(_))
            | ("!!null", Scalar::Null)
            | ("!!merge", Scalar::Merge)
    );
    if fits {
        return Ok(resolved);
    }
    match (tag, resolved) {
        ("!!float", Scalar::Int(i)) => Ok(Scalar::Float(i as f64)),
        ("!!float", Scalar::Uint(u)) => Ok(Scalar::Float(u as f64)),
        ("!!timestamp", Scalar::Str(s)) => Ok(Scalar::Str(s)),
        (tag, resolved) => Err(YamlError::Syntax {
            line: None,
            message: format!(
                "cannot decode {} `{text}` as a {tag}",
                match resolved {
                    Scalar::Null => "!!null",
                    Scalar::Bool(_) => "!!bool",
                    Scalar::Int(_) | Scalar::Uint(_) => "!!int",
                    Scalar::Float(_) => "!!float",
                    Scalar::Merge => "!!merge",
                    Scalar::Str(_) => "!!str",
                }
            ),
        }),
    }
}

fn decode_binary(text: &str) -> Result<Scalar<'static>, YamlError> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(bytes) => Ok(Scalar::Str(Cow::Owned(
            crate::value::lossy_text(&bytes).into_owned(),
        ))),
        Err(_) => Err(YamlError::Syntax {
            line: None,
            message: "!!binary value contains invalid base64 data".to_string(),
        }),
    }
}

/// What a plain scalar means, `None` for a string.
fn resolve_plain(text: &str) -> Option<Scalar<'static>> {
    if !text.is_empty() && !may_not_be_a_string(text.as_bytes()[0]) {
        return None;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Scalar::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Scalar::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Scalar::Bool(false));
        }
        ".nan" | ".NaN" | ".NAN" => return Some(Scalar::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Scalar::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Scalar::Float(f64::NEG_INFINITY)),
        "<<" => return Some(Scalar::Merge),
        _ => {}
    }
    let first = text.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = go_parse_float(text) {
                return Some(Scalar::Float(f));
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            let plain: Cow<'_, str> = if text.contains('_') {
                Cow::Owned(text.replace('_', ""))
            } else {
                Cow::Borrowed(text)
            };
            if let Some(i) = go_parse_int(&plain) {
                return Some(Scalar::Int(i));
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Some(Scalar::Uint(u));
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Some(Scalar::Float(f));
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(rest, 2) {
                    return Some(Scalar::Int(i));
                }
                if let Ok(u) = u64::from_str_radix(rest, 2) {
                    return Some(Scalar::Uint(u));
                }
            } else if let Some(rest) = plain.strip_prefix("-0b")
                && let Ok(i) = i64::from_str_radix(&format!("-{rest}"), 2)
            {
                return Some(Scalar::Int(i));
            }
        }
        _ => {}
    }
    None
}

/// Whether a plain scalar starting with `first` may resolve to something other than a
/// string: null (`~`, `null`), a bool (`yes`, `No`, `on`, `true`, `F`...), a number,
/// `.inf`/`.nan` or the merge key `<<`. Any other first byte means a string.
fn may_not_be_a_string(first: u8) -> bool {
    matches!(
        first,
        b'~' | b'n'
            | b'N'
            | b'y'
            | b'Y'
            | b't'
            | b'T'
            | b'f'
            | b'F'
            | b'o'
            | b'O'
            | b'.'
            | b'+'
            | b'-'
            | b'<'
            | b'0'..=b'9'
    )
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Splits Go's base prefix (`strconv.ParseInt(s, 0, 64)`): sign, radix and digits.
fn go_int_parts(s: &str) -> Option<(bool, u32, &str)> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = match rest.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &rest[2..]),
        [b'0', b'o' | b'O', ..] => (8, &rest[2..]),
        [b'0', b'b' | b'B', ..] => (2, &rest[2..]),
        [b'0', _, ..] => (8, &rest[1..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.bytes().all(|b| char::from(b).is_digit(radix)) {
        return None;
    }
    Some((negative, radix, digits))
}

fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, radix, digits) = go_int_parts(s)?;
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn go_parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['-', '+']) {
        return None;
    }
    let (_, radix, digits) = go_int_parts(s)?;
    u64::from_str_radix(digits, radix).ok()
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms YAML lets through; out of range is
/// an error in Go (the scalar then stays a string).
fn go_parse_float(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() { None } else { Some(f) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> String {
        match parse(text) {
            Ok(value) => format!("{value:?}"),
            Err(error) => format!("ERR {error}"),
        }
    }

    #[test]
    fn yaml_1_1_scalars_resolve_as_go_yaml_v2_does() {
        assert_eq!(
            json("a: yes\nb: on\nc: y\nd: Off\ne: tRue\nf: ~\ng:\n"),
            r#"{"a": true, "b": true, "c": true, "d": false, "e": "tRue", "f": nil, "g": nil}"#
        );
        assert_eq!(
            json("a: 010\nb: 0x1F\nc: 1_000\nd: 0o17\ne: 0b101\nf: 089\ng: 1:30\nh: 1e400"),
            r#"{"a": 8f, "b": 31f, "c": 1000f, "d": 15f, "e": 5f, "f": 89f, "g": "1:30", "h": "1e400"}"#
        );
        assert_eq!(
            json("a: 2001-12-14\nb: '1'\nc: !!str 1\nd: !!int \"2\"\ne: !foo x\nf: .5"),
            r#"{"a": "2001-12-14", "b": "1", "c": "1", "d": 2f, "e": "x", "f": 0.5f}"#
        );
    }

    #[test]
    fn keys_are_stringified_like_sigs_k8s_yaml() {
        assert_eq!(
            json("1: a\ntrue: b\n1.5: c\n1.0: d\n1.25e10: e\non: f\n0x10: g"),
            r#"{"1": "a", "1.25e+10": "e", "1.5": "c", "16": "g", "true": "f"}"#
                .replace(r#""1": "a""#, r#""1": "d""#)
        );
        assert_eq!(
            json("~: x"),
            r#"ERR error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: "x""#
        );
    }

    #[test]
    fn anchors_merges_and_duplicates() {
        assert_eq!(
            json("base: &b {x: 1, z: 2}\nc:\n  <<: *b\n  z: 3\nd: *b\nx: 1\nx: 2"),
            r#"{"base": {"x": 1f, "z": 2f}, "c": {"x": 1f, "z": 3f}, "d": {"x": 1f, "z": 2f}, "x": 2f}"#
        );
        assert_eq!(json("a: 1\n---\nb: 2\n"), r#"{"a": 1f}"#);
        assert_eq!(
            json("a: |\n\nb: |+\n\nc: >\n"),
            r#"{"a": "", "b": "\n", "c": ""}"#
        );
        assert_eq!(json(""), "nil");
        assert_eq!(json("# only\n"), "nil");
    }

    /// Documents whose flow collections or quoted scalars span lines with less
    /// indentation than YAML 1.2 asks for, and what Helm v4 reads them as (checked with
    /// `helm-oracle render` and `toJson .Values`).
    const LENIENT_INDENTATION: &[(&str, &str)] = &[
        (
            "a:\n  b: [\n    \"x\",\n    \"y\"\n  ]\nc: 1\n",
            "{a: {b: [x, \"y\"]}, c: 1}",
        ),
        ("a:\n  b: [\n    x,\n  y\n]\n", "{a: {b: [x, true]}}"),
        (
            "a:\n  b: {\n  k: v, j: [1,\n2]\n  }\n",
            "{a: {b: {j: [1, 2], k: v}}}",
        ),
        ("a:\n  b: \"x\ny\"\n", "{a: {b: x y}}"),
        ("l:\n- [\n  a,\n b]\n", "{l: [[a, b]]}"),
        ("a:\n  b: 'it''s\n a'\n", "{a: {b: \"it's a\"}}"),
        ("a:\n  b: [x, # c [\n  y]\n", "{a: {b: [x, y]}}"),
        (
            "a:\n  b: |\n    [\n  c: [\n  1]\n",
            "{a: {b: \"[\\n\", c: [1]}}",
        ),
    ];

    #[test]
    fn flows_and_quoted_scalars_ignore_indentation_as_go_yaml_does() {
        for (lenient, canonical) in LENIENT_INDENTATION {
            assert_eq!(json(lenient), json(canonical), "{lenient:?}");
        }
        // Block structure still needs its indentation.
        assert!(json("a:\n  b: 1\n c: [\n1]\n").starts_with("ERR"));
    }

    /// Inputs and the errors Helm v4 prints for them (from `helm_values_from_yaml`).
    const HELM_ERRORS: &[(&str, &str)] = &[
        // Directives libyaml does not know (found by the differential tester).
        ("%x", "yaml: found unknown directive name"),
        ("a: 1\n%x", "yaml: line 2: found unknown directive name"),
        (
            "\n\n%foo bar\na: 1",
            "yaml: line 3: found unknown directive name",
        ),
        ("a: |\n%x", "yaml: line 2: found unknown directive name"),
        (
            "a: [1, 2\n",
            "yaml: line 1: did not find expected ',' or ']'",
        ),
        (
            "a: {b: 1\n",
            "yaml: line 1: did not find expected ',' or '}'",
        ),
        (
            "a: b: c",
            "yaml: mapping values are not allowed in this context",
        ),
        (
            "a: 1\n b: 2",
            "yaml: line 2: mapping values are not allowed in this context",
        ),
        (
            "a:\n\tb: 1",
            "yaml: line 2: found character that cannot start any token",
        ),
        ("a: 'x", "yaml: found unexpected end of stream"),
        ("a: \"x", "yaml: found unexpected end of stream"),
        // libyaml stops at the end (or a NUL byte), where yaml-rust2 names the
        // scalar's first line (found on charts outside the corpus, session 11).
        (
            "a: \"x\nb: 2\n",
            "yaml: line 3: found unexpected end of stream",
        ),
        (
            "a: \"x\n  y\n",
            "yaml: line 3: found unexpected end of stream",
        ),
        ("a: \"\0\"\nb: 1\n", "yaml: found unexpected end of stream"),
        // A key over two lines inside a flow collection: libyaml's parser meets `:`.
        (
            "a: [1, 2\nb: 3\n",
            "yaml: line 1: did not find expected ',' or ']'",
        ),
        (
            "a: !!binary notbase64!\n",
            "yaml: !!binary value contains invalid base64 data",
        ),
        (
            "a:\n  - 1\n  b: 2",
            "yaml: line 2: did not find expected '-' indicator",
        ),
        (
            "a:\n  b: 1\n c: 2",
            "yaml: line 2: did not find expected key",
        ),
        ("a: *y", "yaml: unknown anchor 'y' referenced"),
        (
            "x:\n  y: 1\n  z\n",
            "yaml: line 4: could not find expected ':'",
        ),
        ("a: b\nc", "yaml: line 3: could not find expected ':'"),
        (
            "key: value\n- item",
            "yaml: line 1: did not find expected key",
        ),
        ("a: [1, 2]]", "yaml: did not find expected key"),
        ("a: @x", "yaml: found character that cannot start any token"),
        (
            "- a\nb: 1",
            "yaml: line 1: did not find expected '-' indicator",
        ),
        ("a: !!int x", "yaml: cannot decode !!str `x` as a !!int"),
    ];

    #[test]
    fn a_root_quoted_scalar_with_more_after_it_is_that_string() {
        // Found by the differential tester: go-yaml stops at the root scalar.
        assert!(matches!(parse("\"a\" \"b\""), Ok(Value::String(s)) if &*s == "a"));
        assert!(matches!(parse("'a''b' c\nd: 1"), Ok(Value::String(s)) if &*s == "a'b"));
        assert!(parse("x: \"a\" b").is_err());
    }

    #[test]
    fn tabs_after_a_colon_separate_as_spaces_do() {
        // Found by probing Helm: go-yaml reads `a:\tb`; yaml-rust2 refused it.
        let map = parse_map("é: ü\na:\t1\nb:\tx\nc:\n  d: \t[1, 2]\n", "common.Values").unwrap();
        assert!(matches!(map.get("a"), Some(Value::Float(f)) if *f == 1.0));
        assert_eq!(map.get("b").and_then(Value::as_str), Some("x"));
        assert!(parse("a:\tb:\tc").is_err());
    }

    #[test]
    fn tabs_are_refused_and_skipped_where_go_yaml_does() {
        // Helm v4.2's engine (`fromYaml`) on each, session 11.
        let refused = [
            (
                "\ta: 1",
                "yaml: found character that cannot start any token",
            ),
            ("-\t1", "yaml: found character that cannot start any token"),
            (
                "a: [1]\n\t",
                "yaml: line 2: found character that cannot start any token",
            ),
            (
                "a: 1\n\t# c",
                "yaml: line 2: found a tab character that violates indentation",
            ),
            (
                "a:\n- 1\n\t- 2",
                "yaml: line 3: found a tab character that violates indentation",
            ),
            (
                "a: |\n  x\n\tb: 1",
                "yaml: line 3: found a tab character where an indentation space is expected",
            ),
            // go-yaml's parser meets an earlier error first...
            ("a: *x\n\t", "yaml: unknown anchor 'x' referenced"),
            // ...unless its scanner is still looking past a possible key.
            (
                "- *x\n\t",
                "yaml: line 2: found character that cannot start any token",
            ),
        ];
        for (text, want) in refused {
            let got = parse(text).map(|value| value.to_json().to_string());
            let got = got.map_err(|e| e.to_string());
            assert_eq!(
                got,
                Err(format!("error converting YAML to JSON: {want}")),
                "{text:?}"
            );
        }
        let read = [
            ("a: [\n\t1,\t2]", r#"{"a":[1,2]}"#),
            ("a: \"x\n\ty\"\nb: 'x\n\t'", r#"{"a":"x y","b":"x "}"#),
            ("a: b\n  \tc\nd: e\tf", r#"{"a":"b c","d":"e\tf"}"#),
            ("? a\n: b\t# c", r#"{"a":"b"}"#),
            ("---\t\na: |\n  x\n  \ty", r#"{"a":"x\n\ty"}"#),
            ("a: 1\n---\n\tb", r#"{"a":1}"#),
        ];
        for (text, want) in read {
            let got = parse(text).map(|value| value.to_json().to_string());
            assert_eq!(got, Ok(want.to_string()), "{text:?}");
        }
    }

    #[test]
    fn bare_tags_and_odd_anchor_names_read_as_go_yaml_reads_them() {
        // Helm v4.2's engine (`fromYaml`), session 11.
        let got = |text: &str| parse(text).map(|value| value.to_json().to_string());
        assert_eq!(
            got("a: !\nb: ! 1\nc: ! ~"),
            Ok(r#"{"a":"","b":"1","c":"~"}"#.into())
        );
        let no_name = "error converting YAML to JSON: yaml: did not find expected alphabetic or numeric character";
        // `html nil` gives `&lt;nil&gt;`, which a template may hand to `fromYaml`.
        assert_eq!(
            got("a: &lt;nil&gt;").map_err(|e| e.to_string()),
            Err(no_name.into())
        );
        assert_eq!(
            got("a: *.x").map_err(|e| e.to_string()),
            Err(no_name.into())
        );
        assert_eq!(got("a: &x-y_z 1\nb: *x-y_z"), Ok(r#"{"a":1,"b":1}"#.into()));
    }

    #[test]
    fn a_block_scalar_ending_the_text_gets_no_line_break_it_lacks() {
        // go-yaml adds no line break the text does not have; Helm v4.2's answers.
        let cases = [
            ("a: |\n  x", r#"{"a":"x"}"#),
            ("a: |+\n  x", r#"{"a":"x"}"#),
            ("a: >\n  x\n  y", r#"{"a":"x y"}"#),
            ("a: |\n  x\n  ", r#"{"a":"x\n"}"#),
            ("a: |+\n  x\n\n  ", r#"{"a":"x\n\n"}"#),
            ("a: |+\n  ", r#"{"a":""}"#),
            ("a: |\n  x\n ", r#"{"a":"x\n"}"#),
            ("a: |\n  x\nb: 1", r#"{"a":"x\n","b":1}"#),
        ];
        for (text, want) in cases {
            let got = parse(text).map(|value| value.to_json().to_string());
            assert_eq!(got, Ok(want.to_string()), "{text:?}");
        }
    }

    #[test]
    fn quoted_scalars_continue_at_any_indentation() {
        // libyaml does not check a quoted scalar's later lines against the block's
        // indentation; yaml-rust2 did (found on charts outside the corpus, session 11).
        assert_eq!(json("a: \"x\nb\"\nc: 1\n"), r#"{"a": "x b", "c": 1f}"#);
        assert_eq!(
            json("top:\n  a: 'it''s\nnext\n\n  end'\n"),
            r#"{"top": {"a": "it's next\nend"}}"#
        );
        assert_eq!(json("a: \"x\\\ny\"\n"), r#"{"a": "xy"}"#);
        assert_eq!(
            json("a: \"x\n---\ny\"\n"),
            "ERR error converting YAML to JSON: yaml: line 2: found unexpected document indicator"
        );
    }

    #[test]
    fn syntax_errors_read_like_helm() {
        let mut wrong = Vec::new();
        for (input, want) in HELM_ERRORS {
            let want = format!("ERR error converting YAML to JSON: {want}");
            let got = json(input);
            if got != want {
                wrong.push(format!("{input:?}\n   got {got}\n  want {want}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn comment_like_lines_inside_scalars_are_content() {
        assert_eq!(
            json("a: |\n  # x\n  y\n# c\nb: >-\n  # z\n"),
            r##"{"a": "# x\ny\n", "b": "# z"}"##
        );
        assert_eq!(
            json("list:\n  # c\n  - a\n  # c\n  - 'b\n  # c'\n"),
            r##"{"list": ["a", "b # c"]}"##
        );
    }

    /// The quick reader's answer and yaml-rust2's, when the quick reader takes `text`.
    fn both(text: &str) -> Option<(String, String)> {
        let quick: Result<Value, YamlError> = Ok(super::super::block::parse(text)?);
        Some((
            format!("{quick:?}"),
            format!("{:?}", parse_full(text, Numbers::Json)),
        ))
    }

    #[test]
    fn quick_reader_agrees_with_yaml_rust2() {
        let taken = [
            "# only a comment\n\n",
            "a: 1\nb: yes\nc: ~\nd:\ne: 'it''s'\nf: \"x: y\" # c\ng: -1\nh: a:b\n",
            "---\na: 1\n",
            "a:\n  b:\n    c: 1\n  d: [] # none\n  e: {}\nf: x#y\n",
            "list:\n- a\n- b: 1\n  c: 2\n-\n- - x\n  - y\nnext: 1\n",
            "list:\n  - name: a\n    value: |\n      line 1\n\n        indented\n      # not a comment\n    # a comment\n  - 2\n",
            "a: |-\n  x\n\n\nb: |+\n  y\n\n\nc: |\n\n  z\n  \n",
            "a: | # header comment\n   three\n    four\n",
            "\"quoted key\": 1\n'single': 2\nkey with spaces : 3\non: 4\n010: 5\n",
            "a:\n  # comment between\n  b: 1\n# top comment\nc: \"\"\n",
            "a: 1\na: 2\n",
            "a: [1, \"two\", 'three', [x, y z], {k: v, \"q\": [1]}, -1]\nb: { }\nc: [ ] # c\n",
            "- [a, b]\n- {c: d}\n",
            "a: |\n\nb: 1\n",
            "a: &x 1\nb: *x\nc:\n  - *x\n  - &y 'q' # c\nd: *y\na2: &x two\ne: *x\n",
            "a: |\n\n# comment\nb: |-\nc:\n  {}\nd:\n  [1, 2] # c\ne: |\n",
            "a: \"say \\\"hi\\\" \\\\ \\/ \\t\\n \\x41\\u00e9\\U0001F600 \\e\\0\\_\\N\" # c\n",
            // Maps built at once: unsorted and duplicate keys, the last one winning.
            "b: 2\na: 1\nb: 3\nc: {z: 1, a: 2, z: 3}\nd:\n  - {y: 1, x: 2}\n",
            // Plain keys that resolve: JSON keys of bools, ints and floats.
            "1.5: a\ntrue: b\n0x1F: c\n1_000: d\nyes: e\n+1: f\n1e3: g\n",
            // Quoted scalars sliced out of the text, or unquoted where they must be.
            "a: 'it''s' # c\nb: \"plain\"\nc: 'x'\nd: ''\n'k''q': \"v\"\n",
            // Literal scalars: kept blank lines, lines with spaces, chomping.
            "a: |\n  x\n\n   \n    y\n\n\nb: |+\n  k\n\n\nc: |-\n  m\n\n  n\n\nd: 1\n",
            // Text beyond ASCII, `#` and `:` inside plain scalars.
            "a: é – ü\nb: \"日本\"\nc: x:y\nd: x #c\ne: a#b\nf: ‘q’ # é\n",
        ];
        for text in taken {
            let (quick, full) = both(text).unwrap_or_else(|| panic!("not taken: {text:?}"));
            assert_eq!(quick, full, "{text:?}");
        }
    }

    /// Random documents mixing the shapes values files are made of with the ones the
    /// quick reader must decline (tabs, odd indentation, folded scalars, anchors, CRLF):
    /// whenever it takes a text, its answer is yaml-rust2's.
    /// `YAML_FUZZ_RUNS=300000` runs more than the 20,000 documents CI runs.
    #[test]
    fn quick_reader_agrees_with_yaml_rust2_on_random_documents() {
        use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
        const SCALARS: &[&str] = &[
            "1",
            "-1",
            "+1",
            "0",
            "010",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            "1e3",
            "1.5",
            ".5",
            "-.5e-3",
            ".inf",
            "-.Inf",
            ".NaN",
            "true",
            "True",
            "FALSE",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "n",
            "null",
            "Null",
            "~",
            "",
            "a b",
            "a#b",
            "a #b",
            "a:b",
            "a: b",
            "http://x/y?z=1",
            "'it''s'",
            "''",
            "\"\"",
            "\"x: y # z\"",
            "\"\\t\\u00e9\\\"\"",
            "'a # b'",
            "[]",
            "{}",
            "[ ]",
            "{ }",
            "[1, a, 'b', \"c\"]",
            "{k: v, q: [1]}",
            "[a, [b, c], {d: e}]",
            "&x 1",
            "*x",
            "!!str 1",
            "!custom x",
            "2001-12-14",
            "12:30",
            "-",
            "- a",
            ":",
            "a:",
            "@x",
            "`x",
            "%x",
            "é",
            "日本",
            "a\tb",
            "a  ",
            "x # comment",
            "'open",
            "\"open",
            "[1,",
            "{a",
            "a ]",
            "? x",
            ">",
            "|",
            "|-",
            "|+",
            "|2",
            ">-",
            "\"a\\qb\"",
            "\"\\ud800\"",
            "-5",
            "- - x",
            "0.0",
            "-0",
            "1.0e+10",
            "9223372036854775808",
            "-9223372036854775809",
            "0777",
            "+.inf",
        ];
        const KEYS: &[&str] = &[
            "a",
            "b",
            "name",
            "on",
            "010",
            "1",
            "1.5",
            "true",
            "null",
            "~",
            "key with spaces",
            "\"quoted\"",
            "'single'",
            "\"a: b\"",
            "a.b",
            "a-b",
            "a/b",
            "-x",
            "x-",
            "é",
            "?",
            "a#b",
            "",
            "[k]",
            "{k: v}",
            "&a k",
            "*a",
            "!!int 2",
            "<<",
            "a ",
            " a",
        ];
        const SEPARATORS: &[&str] = &[": ", ":", ":  ", " : ", ":\t"];
        const COMMENTS: &[&str] = &["", "", "", " # c", "# c", " #", "  # c: d"];

        fn indent(rng: &mut StdRng, base: usize, wild: bool) -> String {
            if !wild {
                return " ".repeat(base);
            }
            let spaces = match rng.gen_range(0..20) {
                0 => base.saturating_sub(1),
                1 => base + 1,
                2 => base + 3,
                _ => base,
            };
            let mut text = " ".repeat(spaces);
            if rng.gen_range(0..60) == 0 {
                text.push('\t');
            }
            text
        }

        fn noise(rng: &mut StdRng, base: usize, wild: bool, out: &mut String) {
            match rng.gen_range(0..12) {
                0 => out.push('\n'),
                1 => out.push_str(&format!("{}# comment\n", indent(rng, base, wild))),
                2 => out.push_str(&format!("{}#\n", " ".repeat(rng.gen_range(0..6)))),
                3 => out.push_str("   \n"),
                _ => {}
            }
        }

        fn block_scalar(rng: &mut StdRng, base: usize, out: &mut String) {
            let content = base + rng.gen_range(1..4);
            for _ in 0..rng.gen_range(0..4) {
                match rng.gen_range(0..6) {
                    0 => out.push('\n'),
                    1 => out.push_str(&format!("{}# kept\n", " ".repeat(content))),
                    2 => out.push_str(&format!("{}more  indented\n", " ".repeat(content + 2))),
                    3 => out.push_str(&format!("{}  \n", " ".repeat(content))),
                    _ => out.push_str(&format!(
                        "{}line {}\n",
                        " ".repeat(content),
                        SCALARS.choose(rng).unwrap_or(&"")
                    )),
                }
            }
        }

        fn node(rng: &mut StdRng, base: usize, depth: usize, wild: bool, out: &mut String) {
            let sequence = rng.gen_bool(0.35);
            for _ in 0..rng.gen_range(1..5) {
                noise(rng, base, wild, out);
                out.push_str(&indent(rng, base, wild));
                if sequence {
                    out.push_str(if rng.gen_range(0..10) == 0 { "-" } else { "- " });
                } else {
                    out.push_str(KEYS.choose(rng).unwrap_or(&"a"));
                    out.push_str(SEPARATORS.choose(rng).unwrap_or(&": "));
                }
                let nested = depth < 3 && rng.gen_bool(0.3);
                if nested {
                    out.push_str(COMMENTS.choose(rng).unwrap_or(&""));
                    out.push('\n');
                    let step = if sequence && rng.gen_bool(0.5) {
                        2
                    } else {
                        rng.gen_range(1..4)
                    };
                    node(rng, base + step, depth + 1, wild, out);
                    continue;
                }
                let scalar = SCALARS.choose(rng).unwrap_or(&"");
                out.push_str(scalar);
                out.push_str(COMMENTS.choose(rng).unwrap_or(&""));
                out.push_str(if wild && rng.gen_range(0..40) == 0 {
                    "\r\n"
                } else {
                    "\n"
                });
                if scalar.starts_with(['|', '>']) {
                    block_scalar(rng, base, out);
                }
            }
        }

        let mut taken = 0;
        let runs: u64 = std::env::var("YAML_FUZZ_RUNS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        for seed in 0..runs {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut text = String::new();
            if rng.gen_range(0..10) == 0 {
                text.push_str("---\n");
            }
            let wild = rng.gen_bool(0.3);
            node(&mut rng, 0, 0, wild, &mut text);
            noise(&mut rng, 0, wild, &mut text);
            if wild && rng.gen_range(0..30) == 0 {
                text.pop();
            }
            if let Some((quick, full)) = both(&text) {
                taken += 1;
                assert_eq!(quick, full, "seed {seed}: {text:?}");
            }
        }
        assert!(
            taken > 2_000,
            "the quick reader took only {taken} documents"
        );
    }

    #[test]
    fn quick_reader_leaves_the_rest_to_yaml_rust2() {
        let declined = [
            "a: 1",
            "a: &x\n  b: 1\nc: *x\n",
            "a: *nope\n",
            "a: &x [1]\nb: *x\n",
            "a: &x 1\nb: *x.y\n",
            "a: !!str 1\n",
            "a: [1, 2,]\n",
            "a: [b: 1]\n",
            "a: [http://x]\n",
            "a: [1,\n  2]\n",
            "a: {b}\n",
            "a: {b:1}\n",
            "a: \"bad \\q escape\"\n",
            "a: \"\\ud800\"\n",
            "a: |+\n\nb: 1\n",
            "a:\n  {}\n  b: 1\n",
            "a: [x] y\n",
            "a: >\n  folded\n",
            "a: |2\n  x\n",
            "a: b: c\n",
            "a: plain\n  continued\n",
            "a:\n  - 1\n  b: 2\n",
            "a:\n  b: 1\n c: 2\n",
            "a:\tb\n",
            "a: 1\r\n",
            "a: 1\n---\nb: 2\n",
            "- a\nb: 1\n",
            "key: value\n- item\n",
            "  a: 1\n",
            "~: x\n",
            "a: 'open\n  quote'\n",
            "a:\n  just a scalar\n",
            "a: \"x\"y\n",
            "a: -\n",
            // Scalars and keys JSON cannot hold: the full reader reports them.
            "a: .inf\n",
            "a: [1, .nan]\n",
            "18446744073709551615: x\n",
            "a: {~: 1}\n",
            "a: {<<: {b: 1}}\n",
            // YAML's line breaks and byte order mark beyond ASCII.
            "a: x\u{2028}y\n",
            "a: x\u{2029}y\n",
            "a: x\u{85}y\n",
            "\u{feff}a: 1\n",
            "a: é\u{feff}\n",
        ];
        for text in declined {
            assert!(both(text).is_none(), "taken: {text:?}");
            // Declined texts still read exactly as before.
            assert_eq!(
                format!("{:?}", parse(text)),
                format!("{:?}", parse_full(text, Numbers::Json)),
                "{text:?}"
            );
        }
    }

    /// Every values file of the conformance corpus (when it is there) reads the same
    /// through the quick reader as through yaml-rust2.
    #[test]
    fn quick_reader_agrees_on_the_corpus() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/chart-corpus");
        if !corpus.is_dir() {
            return;
        }
        let mut differ = Vec::new();
        for entry in walkdir::WalkDir::new(&corpus).into_iter().flatten() {
            let name = entry.file_name().to_string_lossy();
            if !name.ends_with(".yaml") || !name.contains("values") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            if let Some((quick, full)) = both(&text)
                && quick != full
            {
                differ.push(entry.path().display().to_string());
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }

    /// Every plain scalar that is not a string starts with a byte the quick
    /// resolution looks at; anything else is a string without more checks.
    #[test]
    fn only_strings_skip_plain_resolution() {
        let special = [
            "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
            "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off",
            "OFF", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
            "-.inf", "-.Inf", "-.INF", "<<", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
            ".5", "+1", "-1", "0x1F", "1_0",
        ];
        for text in special {
            assert!(resolve_plain(text).is_some(), "{text:?}");
            assert!(may_not_be_a_string(text.as_bytes()[0]), "{text:?}");
        }
        let strings = [
            "nginx",
            "tcp",
            "1.2.3",
            "0x",
            "0xG",
            "-",
            "+",
            ".",
            "<",
            "Never",
            "ClusterIP",
            "@x",
            "é",
            "a b",
            "1:30",
            "2001-12-14",
            "0b12",
            "_1",
        ];
        for text in strings {
            assert!(resolve_plain(text).is_none(), "{text:?}");
        }
    }

    /// What the quick reader makes of plain keys and values: [`fill_map`]'s and
    /// [`to_value`]'s answers, or `None` where those are errors or merges.
    #[test]
    fn plain_keys_and_values_resolve_as_the_full_reader() {
        let keys: &[(&str, Option<&str>)] = &[
            ("on", Some("true")),
            ("Off", Some("false")),
            ("010", Some("8")),
            ("1_000", Some("1000")),
            ("0b101", Some("5")),
            ("1.5", Some("1.5")),
            ("1e3", Some("1000")),
            ("0.1", Some("0.1")),
            ("a b", Some("a b")),
            ("oN", Some("oN")),
            ("~", None),
            ("", None),
            ("18446744073709551615", None),
            ("<<", None),
        ];
        for (text, want) in keys {
            assert_eq!(plain_key(text).as_deref(), *want, "{text:?}");
        }
        let values: &[(&str, Option<&str>)] = &[
            ("1_000", Some("1000f")),
            ("-0x10", Some("-16f")),
            ("18446744073709551615", Some("18446744073709552000f")),
            ("yes", Some("true")),
            ("null", Some("nil")),
            ("<<", Some("\"<<\"")),
            ("x", Some("\"x\"")),
            (".inf", None),
            ("-.Inf", None),
            (".NaN", None),
        ];
        for (text, want) in values {
            let got = plain_value(text).map(|value| format!("{value:?}"));
            assert_eq!(got.as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn json_limits_read_like_helm() {
        assert_eq!(
            json("a: .inf"),
            "ERR error converting YAML to JSON: json: unsupported value: +Inf"
        );
        assert_eq!(
            parse_map("- 1\n", "common.Values").unwrap_err().to_string(),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type common.Values"
        );
    }

    #[test]
    fn struct_string_fields_take_go_yamls_scalar_texts() {
        let map = parse_typed_map(
            "a: 10\nb: 1.10\nc: yes\nd: 1e6\ne: 12345678901234567890\nf: 0.1234567891\ng: x\n",
            "chart.Metadata",
        )
        .unwrap();
        let text = |key: &str| go_scalar_text(map.get(key).unwrap());
        assert_eq!(text("a").as_deref(), Some("10"));
        assert_eq!(text("b").as_deref(), Some("1.1"));
        assert_eq!(text("c").as_deref(), Some("true"));
        assert_eq!(text("d").as_deref(), Some("1e+06"));
        assert_eq!(text("e").as_deref(), Some("12345678901234567890"));
        // FormatFloat(f, 'g', -1, 32): float32's shortest digits.
        assert_eq!(text("f").as_deref(), Some("0.12345679"));
        assert_eq!(text("g"), None);
        // Values files keep JSON's float64 for every number.
        assert!(matches!(
            parse_map("a: 10\n", "x").unwrap().get("a"),
            Some(Value::Float(_))
        ));
    }
}
