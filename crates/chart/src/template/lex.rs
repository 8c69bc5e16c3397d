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

fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c == '_' || c.is_ascii_alphanumeric();
    }
    c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(char::from(b[1]))
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(char::from(b[0])) && b[1] == b'-'
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
    items.clear();
    items.reserve(input.len() / 6 + 4);
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

    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
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
        loop {
            let step = if inside {
                self.inside_action(&mut inside)
            } else {
                self.text(&mut inside)
            };
            if step.is_err() {
                return;
            }
            if let Some(last) = self.items.last()
                && last.typ == ItemType::Eof
            {
                return;
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
        Ok(())
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        if rest.starts_with(RIGHT) {
            return (true, false);
        }
        (false, false)
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
        // `}}` and ` -}}` start with `}` or a space: only then look for them.
        let may_close = matches!(
            self.input.as_bytes().get(self.pos),
            Some(b'}' | b' ' | b'\t' | b'\r' | b'\n')
        );
        if may_close && self.at_right_delim().0 {
            if self.paren_depth == 0 {
                return self.right_delim(inside);
            }
            return self.error("unclosed left paren".to_string());
        }
        let Some(r) = self.next() else {
            return self.error("unclosed action".to_string());
        };
        match r {
            c if is_space(c) => {
                self.backup(Some(c));
                self.space(inside)
            }
            '=' => {
                self.emit(ItemType::Assign);
                Ok(())
            }
            ':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".to_string());
                }
                self.emit(ItemType::Declare);
                Ok(())
            }
            '|' => {
                self.emit(ItemType::Pipe);
                Ok(())
            }
            '"' => self.quote(),
            '`' => self.raw_quote(),
            '$' => self.variable(),
            '\'' => self.char_constant(),
            '.' => {
                if let Some(c) = self.peek()
                    && !c.is_ascii_digit()
                {
                    return self.field_or_variable(ItemType::Field);
                }
                if self.peek().is_none() {
                    return self.field_or_variable(ItemType::Field);
                }
                self.backup(Some('.'));
                self.number()
            }
            '+' | '-' | '0'..='9' => {
                self.backup(Some(r));
                self.number()
            }
            c if is_alnum(c) => {
                self.backup(Some(c));
                self.identifier()
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(ItemType::LeftParen);
                Ok(())
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".to_string());
                }
                self.emit(ItemType::RightParen);
                Ok(())
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                self.emit(ItemType::Char);
                Ok(())
            }
            c => self.error(format!("unrecognized character in action: {}", go_u(c))),
        }
    }

    fn space(&mut self, inside: &mut bool) -> Step {
        // Spaces are ASCII: count them bytewise.
        let num = self.input.as_bytes()[self.pos..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        self.pos += num;
        let before = &self.input[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with(RIGHT) {
            let c = self.input[..self.pos].chars().next_back();
            self.backup(c);
            if num == 1 {
                return self.right_delim(inside);
            }
        }
        self.emit(ItemType::Space);
        Ok(())
    }

    /// Moves past ASCII letters, digits and `_` bytewise (the char loop that follows
    /// takes any other alphanumerics).
    fn skip_ascii_alnum(&mut self) {
        self.pos += self.input.as_bytes()[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn identifier(&mut self) -> Step {
        self.skip_ascii_alnum();
        loop {
            let r = self.next();
            match r {
                Some(c) if is_alnum(c) => {}
                _ => {
                    self.backup(r);
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        return self.error(format!("bad character {}", go_u(r.unwrap_or('\0'))));
                    }
                    let typ = match word {
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
                    self.emit(typ);
                    return Ok(());
                }
            }
        }
    }

    fn variable(&mut self) -> Step {
        if self.at_terminator() {
            self.emit(ItemType::Variable);
            return Ok(());
        }
        self.field_or_variable(ItemType::Variable)
    }

    fn field_or_variable(&mut self, typ: ItemType) -> Step {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
            return Ok(());
        }
        self.skip_ascii_alnum();
        let mut r;
        loop {
            r = self.next();
            match r {
                Some(c) if is_alnum(c) => {}
                _ => {
                    self.backup(r);
                    break;
                }
            }
        }
        if !self.at_terminator() {
            return self.error(format!("bad character {}", go_u(r.unwrap_or('\0'))));
        }
        self.emit(typ);
        Ok(())
    }

    fn char_constant(&mut self) -> Step {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => {
                        return self.error("unterminated character constant".to_string());
                    }
                    Some(_) => {}
                },
                None | Some('\n') => {
                    return self.error("unterminated character constant".to_string());
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemType::CharConstant);
        Ok(())
    }

    fn accept(&mut self, valid: &str) -> bool {
        if let Some(c) = self.peek()
            && valid.contains(c)
        {
            self.next();
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
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => {
                        return self.error("unterminated quoted string".to_string());
                    }
                    Some(_) => {}
                },
                None | Some('\n') => return self.error("unterminated quoted string".to_string()),
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemType::String);
        Ok(())
    }

    fn raw_quote(&mut self) -> Step {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".to_string()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemType::RawString);
        Ok(())
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
