//! The lexer of Go's `text/template` (`text/template/parse/lex.go`), run to the end
//! (or to the first error) before parsing starts.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // keywords
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemType {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

/// One token: its type and byte range in the input (an error's range is empty: the
/// message is in [`Lexed::error`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub typ: ItemType,
    pub pos: usize,
    pub end: usize,
}

impl Item {
    /// The token's text in `input`, the text it was lexed from.
    pub fn val<'s>(&self, input: &'s str) -> &'s str {
        &input[self.pos..self.end]
    }

    /// Go's `item.String()`, as parse errors print tokens (`error` is the lexer's
    /// message, which error items stand for).
    pub fn describe(&self, input: &str, error: &str) -> String {
        let val = self.val(input);
        match self.typ {
            ItemType::Eof => "EOF".to_string(),
            ItemType::Error => error.to_string(),
            t if t.is_keyword() => format!("<{val}>"),
            _ => {
                if val.chars().count() > 10 {
                    let cut: String = val.chars().take(10).collect();
                    format!("{}...", super::fmt::quote(&cut))
                } else {
                    super::fmt::quote(val)
                }
            }
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

/// The offset of the first `{{` (memchr for `{`, then a check of the next byte).
fn find_left(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'{', &bytes[from..]) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The bytes [`is_alnum`] takes in ASCII (letters, digits and `_`), by value.
const WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = b == b'_' as usize || (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

fn is_alnum(c: char) -> bool {
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() => WORD_BYTES[usize::from(b)],
        _ => c.is_alphabetic() || c.is_numeric(),
    }
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(char::from(b[1]))
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item>,
    error: String,
    paren_depth: i32,
}

/// The tokens of a text: the last item is `Eof` or `Error` (then `error` says why).
pub(crate) struct Lexed {
    pub items: Vec<Item>,
    pub error: String,
}

/// Lexes `input` into tokens, in `items` (emptied first; a list lent by an earlier
/// parse keeps its allocation).
pub(crate) fn lex(input: &str, mut items: Vec<Item>) -> Lexed {
    let wanted = input.len() / 6 + 4;
    if items.capacity() < wanted {
        // A new list: growing the lent one would copy its stale tokens.
        items = Vec::with_capacity(wanted);
    } else {
        items.clear();
    }
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        items,
        error: String::new(),
        paren_depth: 0,
    };
    l.run();
    Lexed {
        items: l.items,
        error: l.error,
    }
}

/// What a state returns: `Err` when lexing stops (after an error or at the end of
/// the input).
type Step = Result<(), ()>;

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        match self.input.as_bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(char::from(b)),
            Some(_) => self.rest().chars().next(),
            None => None,
        }
    }

    fn emit(&mut self, typ: ItemType) {
        self.items.push(Item {
            typ,
            pos: self.start,
            end: self.pos,
        });
        self.start = self.pos;
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) -> Step {
        self.error = msg;
        self.items.push(Item {
            typ: ItemType::Error,
            pos: self.start,
            end: self.start,
        });
        Err(())
    }

    fn run(&mut self) {
        let mut inside = false;
        // Text, then the action it leads to, token by token, until lexing stops.
        while self.text(&mut inside).is_ok() {
            while inside {
                if self.inside_action(&mut inside).is_err() {
                    return;
                }
            }
        }
    }

    fn text(&mut self, inside: &mut bool) -> Step {
        if let Some(x) = find_left(self.rest()) {
            if x > 0 {
                self.pos += x;
                let mut trim = 0;
                let delim_end = self.pos + LEFT.len();
                if has_left_trim(&self.input[delim_end..]) {
                    let text = &self.input[self.start..self.pos];
                    trim = text.len() - text.trim_end_matches(is_space).len();
                }
                self.pos -= trim;
                let item = Item {
                    typ: ItemType::Text,
                    pos: self.start,
                    end: self.pos,
                };
                self.start = self.pos;
                self.pos += trim;
                self.ignore();
                if item.end > item.pos {
                    self.items.push(item);
                }
            }
            return self.left_delim(inside);
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            let item = Item {
                typ: ItemType::Text,
                pos: self.start,
                end: self.pos,
            };
            self.items.push(item);
            self.start = self.pos;
        }
        self.emit(ItemType::Eof);
        Err(())
    }

    /// Whether the input continues with `}}` or ` -}}`, and whether with the latter.
    fn at_right_delim(&self) -> (bool, bool) {
        match &self.input.as_bytes()[self.pos..] {
            [b' ' | b'\t' | b'\r' | b'\n', b'-', b'}', b'}', ..] => (true, true),
            [b'}', b'}', ..] => (true, false),
            _ => (false, false),
        }
    }

    fn left_delim(&mut self, inside: &mut bool) -> Step {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.ignore();
            return self.comment();
        }
        let item = Item {
            typ: ItemType::LeftDelim,
            pos: self.start,
            end: self.pos,
        };
        self.items.push(item);
        self.start = self.pos;
        *inside = true;
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        Ok(())
    }

    fn comment(&mut self) -> Step {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".to_string());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".to_string());
        }
        let comment_start = self.start;
        let comment_end = self.pos;
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(is_space).len();
        }
        self.ignore();
        self.items.push(Item {
            typ: ItemType::Comment,
            pos: comment_start,
            end: comment_end,
        });
        Ok(())
    }

    fn right_delim(&mut self, inside: &mut bool) -> Step {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(ItemType::RightDelim);
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(is_space).len();
            self.ignore();
        }
        *inside = false;
        Ok(())
    }

    fn inside_action(&mut self, inside: &mut bool) -> Step {
        let Some(&b) = self.input.as_bytes().get(self.pos) else {
            return self.error("unclosed action".to_string());
        };
        // `}}` and ` -}}` start with `}` or a space: only then look for them.
        if matches!(b, b'}' | b' ' | b'\t' | b'\r' | b'\n') && self.at_right_delim().0 {
            if self.paren_depth == 0 {
                return self.right_delim(inside);
            }
            return self.error("unclosed left paren".to_string());
        }
        if !b.is_ascii() {
            return self.non_ascii_in_action();
        }
        self.pos += 1;
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                self.pos -= 1;
                self.space(inside)
            }
            b'=' => self.emit_ok(ItemType::Assign),
            b':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".to_string());
                }
                self.emit_ok(ItemType::Declare)
            }
            b'|' => self.emit_ok(ItemType::Pipe),
            b'"' => self.quote(),
            b'`' => self.raw_quote(),
            b'$' => self.variable(),
            b'\'' => self.char_constant(),
            b'.' => match self.input.as_bytes().get(self.pos) {
                Some(c) if c.is_ascii_digit() => {
                    self.pos -= 1;
                    self.number()
                }
                _ => self.field_or_variable(ItemType::Field),
            },
            b'+' | b'-' | b'0'..=b'9' => {
                self.pos -= 1;
                self.number()
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                self.pos -= 1;
                self.identifier()
            }
            b'(' => {
                self.paren_depth += 1;
                self.emit_ok(ItemType::LeftParen)
            }
            b')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".to_string());
                }
                self.emit_ok(ItemType::RightParen)
            }
            c if !c.is_ascii_control() => self.emit_ok(ItemType::Char),
            c => self.error(format!(
                "unrecognized character in action: {}",
                go_u(char::from(c))
            )),
        }
    }

    /// A character outside ASCII in an action: it starts an identifier when it is
    /// alphanumeric, else it is an error.
    fn non_ascii_in_action(&mut self) -> Step {
        match self.peek() {
            Some(c) if is_alnum(c) => self.identifier(),
            c => {
                self.next();
                let c = c.unwrap_or('\0');
                self.error(format!("unrecognized character in action: {}", go_u(c)))
            }
        }
    }

    /// Emits a token of type `typ` and goes on.
    fn emit_ok(&mut self, typ: ItemType) -> Step {
        self.emit(typ);
        Ok(())
    }

    fn space(&mut self, inside: &mut bool) -> Step {
        // Spaces are ASCII: count them bytewise.
        let bytes = self.input.as_bytes();
        let num = bytes[self.pos..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        self.pos += num;
        // The last space and `-}}` make a right trim marker: leave that space to it.
        if bytes[self.pos..].starts_with(b"-}}") {
            self.pos -= 1;
            if num == 1 {
                return self.right_delim(inside);
            }
        }
        self.emit(ItemType::Space);
        Ok(())
    }

    /// Moves past alphanumerics and `_`: ASCII ones bytewise, others as chars.
    fn skip_alnum(&mut self) {
        let bytes = self.input.as_bytes();
        loop {
            while let Some(&b) = bytes.get(self.pos)
                && WORD_BYTES[usize::from(b)]
            {
                self.pos += 1;
            }
            match bytes.get(self.pos) {
                Some(b) if !b.is_ascii() => match self.peek() {
                    Some(c) if is_alnum(c) => self.pos += c.len_utf8(),
                    _ => return,
                },
                _ => return,
            }
        }
    }

    /// Whether the next character may end a word (identifier, field or variable).
    fn at_terminator(&self) -> bool {
        let bytes = self.input.as_bytes();
        match bytes.get(self.pos) {
            None => true,
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            Some(b'}') => bytes.get(self.pos + 1) == Some(&b'}'),
            _ => false,
        }
    }

    /// The "bad character" error for the character that ends a word.
    fn bad_character(&mut self) -> Step {
        let c = self.peek().unwrap_or('\0');
        self.error(format!("bad character {}", go_u(c)))
    }

    fn identifier(&mut self) -> Step {
        self.skip_alnum();
        if !self.at_terminator() {
            return self.bad_character();
        }
        let typ = match &self.input[self.start..self.pos] {
            "block" => ItemType::Block,
            "break" => ItemType::Break,
            "continue" => ItemType::Continue,
            "define" => ItemType::Define,
            "else" => ItemType::Else,
            "end" => ItemType::End,
            "if" => ItemType::If,
            "range" => ItemType::Range,
            "nil" => ItemType::Nil,
            "template" => ItemType::Template,
            "with" => ItemType::With,
            "true" | "false" => ItemType::Bool,
            _ => ItemType::Identifier,
        };
        self.emit_ok(typ)
    }

    fn variable(&mut self) -> Step {
        if self.at_terminator() {
            return self.emit_ok(ItemType::Variable);
        }
        self.field_or_variable(ItemType::Variable)
    }

    fn field_or_variable(&mut self, typ: ItemType) -> Step {
        if self.at_terminator() {
            return self.emit_ok(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
        }
        self.skip_alnum();
        if !self.at_terminator() {
            return self.bad_character();
        }
        self.emit_ok(typ)
    }

    /// Moves to just past the closing `close` of a quoted literal whose opening quote
    /// was just read, jumping (memchr3) from one quote, backslash or newline to the
    /// next: a backslash escapes the next byte (an escaped character's other bytes
    /// are not ASCII, so they are skipped as plain text). `None` when the line or
    /// the input ends first.
    fn skip_quoted(&mut self, close: u8) -> Option<()> {
        let bytes = self.input.as_bytes();
        let mut i = self.pos;
        loop {
            i += memchr::memchr3(close, b'\\', b'\n', &bytes[i..])?;
            match bytes[i] {
                b'\\' => match bytes.get(i + 1)? {
                    b'\n' => return None,
                    _ => i += 2,
                },
                b'\n' => return None,
                _ => break,
            }
        }
        self.pos = i + 1;
        Some(())
    }

    fn char_constant(&mut self) -> Step {
        if self.skip_quoted(b'\'').is_none() {
            return self.error("unterminated character constant".to_string());
        }
        self.emit_ok(ItemType::CharConstant)
    }

    /// Moves past the next byte when it is one of `valid` (all ASCII).
    fn accept(&mut self, valid: &str) -> bool {
        if let Some(b) = self.input.as_bytes().get(self.pos)
            && valid.as_bytes().contains(b)
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek()
            && is_alnum(c)
        {
            self.next();
            return false;
        }
        true
    }

    fn number(&mut self) -> Step {
        if !self.scan_number() {
            let text = super::fmt::quote(&self.input[self.start..self.pos]);
            return self.error(format!("bad number syntax: {text}"));
        }
        if let Some('+' | '-') = self.peek() {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = super::fmt::quote(&self.input[self.start..self.pos]);
                return self.error(format!("bad number syntax: {text}"));
            }
            self.emit(ItemType::Complex);
            return Ok(());
        }
        self.emit(ItemType::Number);
        Ok(())
    }

    fn quote(&mut self) -> Step {
        if self.skip_quoted(b'"').is_none() {
            return self.error("unterminated quoted string".to_string());
        }
        self.emit_ok(ItemType::String)
    }

    fn raw_quote(&mut self) -> Step {
        let Some(x) = memchr::memchr(b'`', &self.input.as_bytes()[self.pos..]) else {
            return self.error("unterminated raw quoted string".to_string());
        };
        self.pos += x + 1;
        self.emit_ok(ItemType::RawString)
    }
}

/// Go's `%#U`: `U+007D '}'`.
fn go_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}
