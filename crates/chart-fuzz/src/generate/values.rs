//! Random values documents: a tree of values first (so templates know the keys), then
//! written as YAML in a random mix of styles.
//!
//! Coverage (each chosen at random, per node):
//! - maps in block style (indented by 1 to 4 spaces) or flow style (`{a: 1, b: [x]}`),
//!   lists in block style (items indented under their key, or at the key's own
//!   indentation) or flow style, flow collections split over several lines;
//! - scalars plain, single-quoted, double-quoted (with escapes), literal (`|`, `|-`,
//!   `|+`) and folded (`>`, `>-`) blocks, multi-line plain and quoted scalars;
//! - numbers and not-quite-numbers: `0x1F`, `0o17`, `017`, `1_000`, `1e3`, `.5`, `5.`,
//!   `+1`, `-0`, `1:30`, `0b101`, `1.2.3`, `08`, big integers, YAML 1.1 booleans and
//!   nulls (`yes`, `off`, `~`, `Null`), dates;
//! - anchors (`&a`), aliases (`*a`) and merge keys (`<<: *a`, `<<: [*a, *b]`);
//! - comments after values and on their own lines, keys quoted, numeric or with dots;
//! - now and then, top-level entries in YAML's corners (tags, YAML 1.1 numbers, tabs
//!   go-yaml skips or refuses: see `CORNERS`) and no line break at the end.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// What the generator may produce (shapes that a known, still open bug breaks can be
/// turned off until it is fixed).
#[derive(Debug, Clone, Copy)]
pub struct ValueShapes {
    /// Flow collections split over several lines (`b: [\n "x",\n "y"\n ]`).
    pub multiline_flow: bool,
}

impl ValueShapes {
    /// Every shape.
    pub fn all() -> ValueShapes {
        ValueShapes {
            multiline_flow: true,
        }
    }
}

impl Default for ValueShapes {
    /// Every shape (multi-line flow collections were off until issue #16's fix
    /// landed).
    fn default() -> ValueShapes {
        ValueShapes::all()
    }
}

/// A generated value: what the document holds, before YAML styles are chosen.
#[derive(Debug, Clone)]
pub enum GenValue {
    /// A map, keys in document order.
    Map(Vec<(String, GenValue)>),
    /// A list.
    List(Vec<GenValue>),
    /// A scalar, as the exact text YAML should read (plain, quoted, or a number).
    Scalar(Scalar),
}

/// A scalar with the way it is written.
#[derive(Debug, Clone)]
pub struct Scalar {
    /// The value's text (unquoted).
    pub text: String,
    /// Whether it may be written plain (it reads back as intended either way: plain
    /// text is whatever YAML makes of it, which is the point).
    pub kind: ScalarKind,
}

/// How a scalar reads: which template expressions suit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// Text (any style).
    Str,
    /// A number written plain.
    Number,
    /// A boolean or null written plain.
    Word,
}

/// A path into the values (`a.b`) with what sits there.
#[derive(Debug, Clone)]
pub struct ValuePath {
    /// Keys from the top.
    pub keys: Vec<String>,
    /// What the path holds.
    pub shape: PathShape,
}

/// The kind of value at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathShape {
    /// A map.
    Map,
    /// A list.
    List,
    /// A scalar of this kind.
    Scalar(ScalarKind),
}

const WORDS: &[&str] = &[
    "a", "b", "name", "image", "tag", "port", "x", "y", "enabled", "items", "env", "labels",
];

const STRINGS: &[&str] = &[
    "web",
    "nginx",
    "hello world",
    "",
    " ",
    "a:b",
    "a: b",
    "#x",
    "x #y",
    "- z",
    "quo\"te",
    "it's",
    "back\\slash",
    "tab\there",
    "ünï",
    "日本",
    "{x}",
    "[y]",
    "*star",
    "&amp",
    "!bang",
    "%pct",
    "@at",
    "`tick",
    "a,b",
    "1.0.0",
    "v1",
    "true-ish",
    "null-ish",
];

const NOT_QUITE_NUMBERS: &[&str] = &[
    "0x1F",
    "0o17",
    "017",
    "08",
    "09",
    "1_000",
    "1e3",
    "1E3",
    "1.5e-3",
    ".5",
    "5.",
    "+1",
    "-0",
    "-1",
    "0",
    "1:30",
    "0b101",
    "1.2.3",
    "3.0",
    "1e400",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "123456789012345678901",
    "0.1",
    "-.5",
    "1,000",
    "12e",
    "0x",
    "+.5",
    "6.02e23",
    "100",
    "7",
];

const WORDS_BOOL_NULL: &[&str] = &[
    "true",
    "false",
    "True",
    "FALSE",
    "yes",
    "no",
    "on",
    "off",
    "Yes",
    "y",
    "n",
    "~",
    "null",
    "Null",
    "NULL",
    "2001-12-14",
    "2001-12-14T21:59:43.10-05:00",
    "=",
];

/// Generates a values tree (a map at the top).
pub fn tree(rng: &mut StdRng) -> GenValue {
    gen_map(rng, 0)
}

fn gen_key(rng: &mut StdRng) -> String {
    match rng.gen_range(0..12) {
        0 => [
            "1", "01", "true", "on", "a.b", "a-b", "a b", "_x", "A", "2.5",
        ]
        .choose(rng)
        .map_or("k", |k| k)
        .to_string(),
        _ => WORDS.choose(rng).map_or("k", |w| w).to_string(),
    }
}

/// The JSON key a YAML key becomes (YAML 1.1 booleans and numbers by their value),
/// near enough to tell keys that collide.
fn json_key(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    match lower.as_str() {
        "y" | "yes" | "on" | "true" => "true".into(),
        "n" | "no" | "off" | "false" => "false".into(),
        _ => match lower.parse::<f64>() {
            Ok(number) => format!("{number}"),
            Err(_) => key.to_string(),
        },
    }
}

fn gen_map(rng: &mut StdRng, depth: usize) -> GenValue {
    let count = rng.gen_range(1..=if depth == 0 { 6 } else { 4 });
    let mut entries: Vec<(String, GenValue)> = Vec::new();
    for _ in 0..count {
        let key = gen_key(rng);
        // Duplicate keys are legal YAML for go-yaml v2 (the last wins)... but an
        // error for yaml.v3: keep them rare, they are a case of their own.
        if entries.iter().any(|(k, _)| *k == key) && !rng.gen_bool(0.05) {
            continue;
        }
        // Keys of different texts that read as one JSON key (`on`, `y` and `'true'`
        // are all "true") make Helm's result depend on Go's map order: never.
        if entries
            .iter()
            .any(|(k, _)| *k != key && json_key(k) == json_key(&key))
        {
            continue;
        }
        entries.push((key, gen_value(rng, depth + 1)));
    }
    GenValue::Map(entries)
}

fn gen_value(rng: &mut StdRng, depth: usize) -> GenValue {
    let nest = depth < 4;
    match rng.gen_range(0..10) {
        0 | 1 if nest => gen_map(rng, depth),
        2 if nest => {
            let count = rng.gen_range(0..4);
            GenValue::List((0..count).map(|_| gen_value(rng, depth + 1)).collect())
        }
        _ => GenValue::Scalar(gen_scalar(rng)),
    }
}

fn gen_scalar(rng: &mut StdRng) -> Scalar {
    match rng.gen_range(0..10) {
        0..=3 => Scalar {
            text: STRINGS.choose(rng).map_or("s", |s| s).to_string(),
            kind: ScalarKind::Str,
        },
        4 => Scalar {
            text: format!(
                "line one\nline two{}",
                if rng.gen_bool(0.5) { "\n" } else { "" }
            ),
            kind: ScalarKind::Str,
        },
        5..=7 => Scalar {
            text: NOT_QUITE_NUMBERS.choose(rng).map_or("1", |s| s).to_string(),
            kind: ScalarKind::Number,
        },
        _ => Scalar {
            text: WORDS_BOOL_NULL
                .choose(rng)
                .map_or("true", |s| s)
                .to_string(),
            kind: ScalarKind::Word,
        },
    }
}

/// Every path of `tree` (maps only are walked), top-level first.
pub fn paths(tree: &GenValue) -> Vec<ValuePath> {
    let mut out = Vec::new();
    walk_paths(tree, &mut Vec::new(), &mut out);
    out
}

fn walk_paths(value: &GenValue, prefix: &mut Vec<String>, out: &mut Vec<ValuePath>) {
    if let GenValue::Map(entries) = value {
        for (key, child) in entries {
            prefix.push(key.clone());
            let shape = match child {
                GenValue::Map(_) => PathShape::Map,
                GenValue::List(_) => PathShape::List,
                GenValue::Scalar(s) => PathShape::Scalar(s.kind),
            };
            out.push(ValuePath {
                keys: prefix.clone(),
                shape,
            });
            walk_paths(child, prefix, out);
            prefix.pop();
        }
    }
}

/// Writes `tree` as a YAML document in random styles.
pub fn write(rng: &mut StdRng, tree: &GenValue, shapes: ValueShapes) -> String {
    let mut writer = Writer {
        rng,
        shapes,
        out: String::new(),
        anchors: Vec::new(),
        next_anchor: 0,
    };
    if writer.rng.gen_bool(0.1) {
        writer.out.push_str("# generated values\n");
    }
    if let GenValue::Map(entries) = tree {
        writer.block_map(entries, 0);
    }
    if writer.rng.gen_bool(0.3) {
        let corners = corner_entries(writer.rng);
        writer.out.push_str(&corners);
    }
    if writer.rng.gen_bool(0.05) {
        writer.out.push_str("...\n");
    }
    if writer.rng.gen_bool(0.1) {
        // No line break at the end: a block scalar's last line then has none either.
        writer.out.pop();
    }
    writer.out
}

/// Top-level entries in YAML's corners, each checked first against Helm's engine
/// (`{k}` is the entry's key): tags, YAML 1.1 numbers and nulls, sexagesimals,
/// infinities, block scalars with indentation indicators and chomping, keys that are
/// not strings, merges, duplicates, escapes.
const CORNERS: &[&str] = &[
    "{k}: !!str 123\n",
    "{k}: !!int \"7\"\n",
    "{k}: !!float 1\n",
    "{k}: !!bool \"true\"\n",
    "{k}: !!binary aGVsbG8=\n",
    "{k}: !!null \"\"\n",
    "{k}: !!str\n",
    "{k}: .inf\n",
    "{k}: -.Inf\n",
    "{k}: [~, null, Null, NULL]\n",
    "{k}: 0o17\n",
    "{k}: 0x_1F\n",
    "{k}: 1:20:30\n",
    "{k}: 190:20:30.15\n",
    "{k}: |2\n   x\n  y\n",
    "{k}: >-\n  x\n\n  y\n",
    "{k}: |+\n  x\n\n",
    "{k}: >2\n    x\n   y\n",
    "{k}: {1: x, 2.5: y, true: z, null: w}\n",
    "{k}: &{k}a {b: 1}\n{k}c: *{k}a\n{k}d:\n  <<: *{k}a\n  e: 2\n",
    "{k}: 1\n{k}: 2\n",
    "{k}: \"\\u00e9\\x41\\t\"\n",
    "{k}: 'it''s'\n",
    "{k}: 12e\n",
    "{k}: 1_2\n",
    "{k}: +.5\n",
    "{k}: 0b1_0\n",
    "{k}: 2001-12-14t21:59:43.10-05:00\n",
    "{k}: !custom x\n",
    "{k}: ! x\n",
    "{k}: !!map {b: 1}\n",
    "{k}: !!seq [1]\n",
    "{k}: !!set {x, y}\n",
    "{k}: !!timestamp 2001-12-14\n",
    "{k}:\t1\n",
    // Tabs go-yaml skips (session 11): in flows, between a multi-line scalar's lines,
    // before a comment; in a block scalar's text; and two it refuses (a tab where a
    // block token may start, a tab line inside a plain scalar's indentation).
    "{k}: [1,\t2]\n",
    "{k}: {a:\t1}\n",
    "{k}: [\n\t1,\n\t2]\n",
    "{k}: \"x\n\ty\"\n",
    "{k}: a\n  \tb\n",
    "{k}: 1\t# c\n",
    "{k}: |\n  x\n  \ty\n",
    "{k}:\n  - x\n  -\ty\n",
    "{k}: 1\n\t\n",
    // Quoted scalars whose later lines start left of the block (libyaml reads them).
    "{k}: \"x\ny \\\"z\\\"\"\n",
    "{k}: 'a''\n\nb'\n",
];

/// One to three [`CORNERS`] entries, now and then a second document after them.
fn corner_entries(rng: &mut StdRng) -> String {
    let mut out = String::new();
    for i in 0..rng.gen_range(1..4) {
        let corner = CORNERS.choose(rng).copied().unwrap_or("{k}: 1\n");
        out.push_str(&corner.replace("{k}", &format!("yc{i}")));
    }
    if rng.gen_bool(0.1) {
        out.push_str("---\nyc9: 2\n");
    }
    out
}

struct Writer<'a> {
    rng: &'a mut StdRng,
    shapes: ValueShapes,
    out: String,
    /// Anchors of maps already written (name, whether it is a map), for aliases and
    /// merge keys.
    anchors: Vec<(String, bool)>,
    next_anchor: usize,
}

impl Writer<'_> {
    fn indent_step(&mut self) -> usize {
        *[2, 2, 2, 4, 1, 3].choose(self.rng).unwrap_or(&2)
    }

    fn pad(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    fn key_text(&mut self, key: &str) -> String {
        let needs_quotes = key.contains(' ') && self.rng.gen_bool(0.3);
        match self.rng.gen_range(0..10) {
            0 => format!("\"{key}\""),
            1 => format!("'{key}'"),
            _ if needs_quotes => format!("\"{key}\""),
            _ => key.to_string(),
        }
    }

    fn block_map(&mut self, entries: &[(String, GenValue)], indent: usize) {
        let merge =
            self.anchors.iter().filter(|(_, map)| *map).count() > 0 && self.rng.gen_bool(0.15);
        if merge {
            let maps: Vec<String> = self
                .anchors
                .iter()
                .filter(|(_, map)| *map)
                .map(|(name, _)| name.clone())
                .collect();
            self.pad(indent);
            if maps.len() > 1 && self.rng.gen_bool(0.4) {
                let picked: Vec<String> = maps.iter().take(2).map(|m| format!("*{m}")).collect();
                self.out.push_str(&format!("<<: [{}]\n", picked.join(", ")));
            } else if let Some(name) = maps.choose(self.rng) {
                self.out.push_str(&format!("<<: *{name}\n"));
            }
        }
        for (key, value) in entries {
            if self.rng.gen_bool(0.05) {
                self.pad(indent);
                self.out.push_str("# a comment\n");
            }
            self.pad(indent);
            let key = self.key_text(key);
            self.out.push_str(&key);
            self.out.push(':');
            self.value_after_key(value, indent);
        }
    }

    /// Writes `value` after `key:` (the colon is written), ending with a newline.
    fn value_after_key(&mut self, value: &GenValue, indent: usize) {
        match value {
            GenValue::Map(entries) if !entries.is_empty() => {
                let (anchor, pending) = self.maybe_anchor(true);
                if self.rng.gen_bool(0.25) {
                    self.out.push(' ');
                    self.out.push_str(&anchor);
                    self.flow(value, indent + 2);
                    self.out.push('\n');
                } else {
                    if !anchor.is_empty() {
                        self.out.push(' ');
                        self.out.push_str(anchor.trim_end());
                    }
                    self.out.push('\n');
                    let step = self.indent_step();
                    self.block_map(entries, indent + step);
                }
                self.complete(pending);
            }
            GenValue::List(items) if !items.is_empty() => {
                if self.rng.gen_bool(0.3) {
                    self.out.push(' ');
                    self.flow(value, indent + 2);
                    self.out.push('\n');
                } else {
                    self.out.push('\n');
                    // Items at the key's own indentation are legal and common.
                    let item_indent = if self.rng.gen_bool(0.4) {
                        indent
                    } else {
                        indent + self.indent_step()
                    };
                    self.block_list(items, item_indent);
                }
            }
            GenValue::Map(_) => self.out.push_str(" {}\n"),
            GenValue::List(_) => self.out.push_str(" []\n"),
            GenValue::Scalar(scalar) => {
                if !self.anchors.is_empty() && self.rng.gen_bool(0.05) {
                    let name = self.anchors.choose(self.rng).map(|a| a.0.clone());
                    if let Some(name) = name {
                        self.out.push_str(&format!(" *{name}\n"));
                        return;
                    }
                }
                self.out.push(' ');
                let (anchor, pending) = self.maybe_anchor(false);
                self.out.push_str(&anchor);
                self.block_scalar(scalar, indent);
                self.complete(pending);
                if self.rng.gen_bool(0.05) {
                    self.out.push_str(" # trailing");
                }
                self.out.push('\n');
            }
        }
    }

    /// Maybe an anchor for the value about to be written: its `&name ` text, and the
    /// anchor to [`Writer::complete`] once the value is written (an alias to a node
    /// still being written would be a recursive document).
    fn maybe_anchor(&mut self, map: bool) -> (String, Option<(String, bool)>) {
        if !self.rng.gen_bool(0.12) {
            return (String::new(), None);
        }
        let name = format!("a{}", self.next_anchor);
        self.next_anchor += 1;
        (format!("&{name} "), Some((name, map)))
    }

    fn complete(&mut self, anchor: Option<(String, bool)>) {
        self.anchors.extend(anchor);
    }

    fn block_list(&mut self, items: &[GenValue], indent: usize) {
        for item in items {
            self.pad(indent);
            self.out.push('-');
            match item {
                GenValue::Map(entries) if !entries.is_empty() && self.rng.gen_bool(0.7) => {
                    // `- key: value` with the rest of the map aligned under the key.
                    let (first, rest) = entries.split_at(1);
                    self.out.push(' ');
                    let key = self.key_text(&first[0].0);
                    self.out.push_str(&key);
                    self.out.push(':');
                    self.value_after_key(&first[0].1, indent + 2);
                    self.block_map(rest, indent + 2);
                }
                GenValue::Scalar(scalar) => {
                    self.out.push(' ');
                    self.block_scalar(scalar, indent + 2);
                    self.out.push('\n');
                }
                other => {
                    self.out.push(' ');
                    self.flow(other, indent + 2);
                    self.out.push('\n');
                }
            }
        }
    }

    /// Writes a scalar in a block context (any style, multi-line ones indented past
    /// `indent`).
    fn block_scalar(&mut self, scalar: &Scalar, indent: usize) {
        let multi_line = scalar.text.contains('\n');
        let style = self.rng.gen_range(0..10);
        if multi_line && style < 5 {
            let header = ["|", "|-", "|+", ">", ">-"]
                .choose(self.rng)
                .unwrap_or(&"|");
            self.out.push_str(header);
            self.out.push('\n');
            let body_indent = indent + self.indent_step().max(1);
            for line in scalar.text.trim_end_matches('\n').split('\n') {
                self.pad(body_indent);
                self.out.push_str(line);
                self.out.push('\n');
            }
            // The caller adds the newline after a scalar; a block ends with its own.
            self.out.pop();
            return;
        }
        self.inline_scalar(scalar, indent, style);
    }

    fn inline_scalar(&mut self, scalar: &Scalar, indent: usize, style: u32) {
        let text = &scalar.text;
        let plain_ok = scalar.kind != ScalarKind::Str || is_plain_safe(text);
        match style {
            0..=5 if plain_ok => self.out.push_str(text),
            0..=2 if !text.contains('\n') => {
                self.out.push('\'');
                self.out.push_str(&text.replace('\'', "''"));
                self.out.push('\'');
            }
            6 if text.contains('\n') => {
                // A multi-line double-quoted scalar: the line break folds to a space
                // unless escaped.
                self.out.push('"');
                let continuation = " ".repeat(indent + 1);
                self.out
                    .push_str(&go_escape(text).replace("\\n", &format!("\\n\\\n{continuation}")));
                self.out.push('"');
            }
            _ => {
                self.out.push('"');
                self.out.push_str(&go_escape(text));
                self.out.push('"');
            }
        }
    }

    /// Writes `value` in flow style, sometimes over several lines.
    fn flow(&mut self, value: &GenValue, indent: usize) {
        let multi = self.shapes.multiline_flow && self.rng.gen_bool(0.2);
        let (open, close, items): (char, char, Vec<(Option<&str>, &GenValue)>) = match value {
            GenValue::Map(entries) => (
                '{',
                '}',
                entries.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
            ),
            GenValue::List(items) => ('[', ']', items.iter().map(|v| (None, v)).collect()),
            GenValue::Scalar(scalar) => {
                let style = self.rng.gen_range(3..10);
                let flow_safe = Scalar {
                    text: scalar.text.clone(),
                    kind: if is_flow_safe(&scalar.text) {
                        scalar.kind
                    } else {
                        ScalarKind::Str
                    },
                };
                self.inline_scalar(&flow_safe, indent, style);
                return;
            }
        };
        self.out.push(open);
        for (i, (key, item)) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
                if !multi {
                    self.out.push(' ');
                }
            }
            if multi {
                self.out.push('\n');
                self.pad(indent + 2);
            }
            if let Some(key) = key {
                let key = if is_flow_safe(key) {
                    self.key_text(key)
                } else {
                    format!("\"{key}\"")
                };
                self.out.push_str(&key);
                self.out.push_str(": ");
            }
            self.flow(item, indent + 2);
        }
        if multi {
            if self.rng.gen_bool(0.3) && !items.is_empty() {
                self.out.push(',');
            }
            self.out.push('\n');
            self.pad(indent);
        }
        self.out.push(close);
    }
}

/// Whether `text` reads back as the same string when written plain in block context.
fn is_plain_safe(text: &str) -> bool {
    !text.is_empty()
        && !text.contains([
            '\n', '\t', ':', '#', '"', '\'', '\\', '`', '{', '}', '[', ']', ',', '&', '*', '!',
            '%', '@', '|', '>',
        ])
        && !text.starts_with(['-', ' ', '?'])
        && !text.ends_with(' ')
        && text.chars().any(|c| c.is_alphabetic())
        && !WORDS_BOOL_NULL.iter().any(|w| w.eq_ignore_ascii_case(text))
}

/// Whether `text` may be written plain inside a flow collection.
fn is_flow_safe(text: &str) -> bool {
    !text.contains([',', '[', ']', '{', '}', ':', '#', '\n'])
}

/// Escapes text for a YAML double-quoted scalar.
fn go_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}
