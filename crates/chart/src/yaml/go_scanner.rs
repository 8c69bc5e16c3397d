//! go-yaml's scanner (libyaml's, as Helm's sigs.k8s.io/yaml runs it), reduced to what
//! yaml-rust2 reads differently: tabs, anchor names, and a block scalar cut by the end
//! of the text.
//!
//! go-yaml skips a tab as a space in a flow collection and after a token that cannot
//! be followed by a simple key (`a:\t1`, `[1,\t2]`), and between the lines of plain and
//! quoted scalars; it refuses a tab where a block token may start (a line's start,
//! after `- `, `? ` or a complex key's `: `), a tab line inside a plain scalar's
//! indentation (`a: 1\n\t`) and a tab in a block scalar's indentation. yaml-rust2 follows
//! YAML 1.2's rules instead, which differ both ways. This scanner walks the text with
//! go-yaml's state (flow level, indentation stack, simple keys) and token extents, and
//! says where go-yaml refuses a tab, or which tabs it skipped as separation. It builds
//! no tokens: the document itself is still read by yaml-rust2.
//!
//! A block scalar whose last line ends the text without a line break (`a: |\n  x`) is
//! `x` in go-yaml (the missing break is not added), `x\n` in yaml-rust2.

/// What go-yaml's scanner makes of a text's first document.
#[derive(Debug, PartialEq, Default)]
pub(super) struct Scan {
    /// How yaml-rust2 reads the text as go-yaml does, as far as the scan went (up to
    /// the end of the first document, a refused tab, or another problem go-yaml meets
    /// first and yaml-rust2 is left to report).
    pub reading: Reading,
    /// The scanner error go-yaml stops on, if this scanner knows it: a tab, or a token
    /// where the context allows none.
    pub refusal: Option<Refusal>,
}

/// What yaml-rust2 must be told to read a document as go-yaml does.
#[derive(Debug, PartialEq, Default)]
pub(super) struct Reading {
    /// The byte offsets of the tabs go-yaml skipped as separation (a space there reads
    /// the same).
    pub separators: Vec<usize>,
    /// Which block scalar of the document (counted from 0) has its last line end the
    /// text without a line break.
    pub cut_block_scalar: Option<usize>,
}

/// A scanner error go-yaml stops on, with libyaml's words and position.
#[derive(Debug, PartialEq)]
pub(super) struct Refusal {
    /// How far go-yaml's parser got before the scanner met the tab (line and column
    /// from 0, columns in characters): the parser's own errors before it come first.
    /// The parser lags behind the scanner: it cannot take a token that may still turn
    /// out to be a simple key, nor the one being scanned.
    pub parsed_to: (usize, usize),
    /// The refused tab's byte offset (`None` for other errors).
    pub tab: Option<usize>,
    /// The line go-yaml prints (`None` on the first line, where it prints none).
    pub line: Option<usize>,
    /// libyaml's description of the problem.
    pub message: &'static str,
}

/// go-yaml's scan of `text`'s first document.
pub(super) fn scan(text: &str) -> Scan {
    if text.chars().any(go_yaml_refuses_char) {
        // go-yaml's reader refuses the text before its scanner sees a tab.
        return Scan::default();
    }
    let mut scanner = Scanner::new(text.as_bytes());
    let refusal = loop {
        match scanner.fetch_next_token() {
            Ok(()) => {}
            Err(Stop::Refused(refusal)) => break Some(refusal),
            Err(Stop::End | Stop::Unknown) => break None,
        }
    };
    Scan {
        reading: scanner.reading,
        refusal,
    }
}

/// Characters go-yaml's reader does not accept in a document (YAML's printable set).
fn go_yaml_refuses_char(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A position as libyaml counts it: characters, lines and columns from 0.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    index: usize,
    line: usize,
    column: usize,
}

/// A place where a simple key (`key: value`) may start, as libyaml tracks it.
#[derive(Debug, Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    required: bool,
    mark: Mark,
    /// The key was dropped because the scan left its line (`{a\n b: 1}`): a `:` after
    /// it in a flow collection then has no key, which go-yaml's parser refuses.
    stale: bool,
}

/// Why the scan stopped.
enum Stop {
    /// The first document ended (or the text did).
    End,
    /// go-yaml stops on a scanner error.
    Refused(Refusal),
    /// go-yaml refuses something else, or this scanner does not follow it.
    Unknown,
}

type Step = Result<(), Stop>;

struct Scanner<'t> {
    text: &'t [u8],
    pos: usize,
    mark: Mark,
    flow_level: usize,
    /// The current block indentation (-1 outside any block collection).
    indent: isize,
    indents: Vec<isize>,
    /// One possible simple key per flow level (the block context's first).
    simple_keys: Vec<SimpleKey>,
    simple_key_allowed: bool,
    /// The open flow collections' closing brackets (`}` or `]`), innermost last.
    flow_ends: Vec<u8>,
    /// Whether the first document has begun (`---` or any content token).
    in_document: bool,
    /// The block scalars scanned so far.
    block_scalars: usize,
    /// The first token that may still be a simple key when a token's fetch begins.
    held_key: Option<Mark>,
    reading: Reading,
}

impl<'t> Scanner<'t> {
    fn new(text: &'t [u8]) -> Self {
        Scanner {
            text,
            pos: 0,
            mark: Mark::default(),
            flow_level: 0,
            indent: -1,
            indents: Vec::new(),
            simple_keys: vec![SimpleKey::default()],
            simple_key_allowed: true,
            flow_ends: Vec::new(),
            in_document: false,
            block_scalars: 0,
            held_key: None,
            reading: Reading::default(),
        }
    }

    /// The byte `k` places ahead, 0 past the end (libyaml's buffer ends with a NUL).
    fn byte(&self, k: usize) -> u8 {
        self.text.get(self.pos + k).copied().unwrap_or(0)
    }

    fn is_z(&self, k: usize) -> bool {
        self.pos + k >= self.text.len()
    }

    fn is_blank(&self, k: usize) -> bool {
        matches!(self.byte(k), b' ' | b'\t')
    }

    /// libyaml's line breaks: CR, LF, NEL (U+0085), LS and PS (U+2028, U+2029).
    fn is_break(&self, k: usize) -> bool {
        match self.byte(k) {
            b'\r' | b'\n' => true,
            0xC2 => self.byte(k + 1) == 0x85,
            0xE2 => self.byte(k + 1) == 0x80 && matches!(self.byte(k + 2), 0xA8 | 0xA9),
            _ => false,
        }
    }

    fn is_breakz(&self, k: usize) -> bool {
        self.is_break(k) || self.is_z(k)
    }

    fn is_blankz(&self, k: usize) -> bool {
        self.is_blank(k) || self.is_breakz(k)
    }

    /// libyaml's `is_alpha`: the characters of anchor names and tag handles.
    fn is_alpha(&self, k: usize) -> bool {
        matches!(self.byte(k), b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'_' | b'-')
    }

    fn is_hex(&self, k: usize) -> bool {
        self.byte(k).is_ascii_hexdigit()
    }

    /// Moves past one character.
    fn skip(&mut self) {
        let width = match self.byte(0) {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        self.pos = (self.pos + width).min(self.text.len());
        self.mark.index += 1;
        self.mark.column += 1;
    }

    /// Moves past one line break (CR LF counts as one, two characters long).
    fn skip_line(&mut self) {
        if self.byte(0) == b'\r' && self.byte(1) == b'\n' {
            self.pos += 2;
            self.mark.index += 2;
        } else if self.is_break(0) {
            self.skip();
        } else {
            return;
        }
        self.mark.column = 0;
        self.mark.line += 1;
    }

    fn column(&self) -> isize {
        self.mark.column as isize
    }

    /// A refusal of the tab under the cursor: go-yaml prints the problem's line (from
    /// 1), or else the context's (from 0, as it does), or none.
    fn refuse_tab(&self, context: Mark, message: &'static str) -> Stop {
        let mut refusal = self.refusal(context, message);
        refusal.tab = Some(self.pos);
        Stop::Refused(refusal)
    }

    /// A scanner error at the cursor, in `context` (where the token began).
    fn refuse(&self, context: Mark, message: &'static str) -> Stop {
        Stop::Refused(self.refusal(context, message))
    }

    fn refusal(&self, context: Mark, message: &'static str) -> Refusal {
        let parsed_to = self.held_key.map_or(context, |held| {
            if held.index < context.index {
                held
            } else {
                context
            }
        });
        let line = if self.mark.line != 0 {
            Some(self.mark.line + 1)
        } else {
            (context.line != 0).then_some(context.line)
        };
        Refusal {
            parsed_to: (parsed_to.line, parsed_to.column),
            tab: None,
            line,
            message,
        }
    }

    /// go-yaml's parser at a `:` whose key began on an earlier line in a flow
    /// collection: the key was a node of its own, and a `,` or the end had to follow.
    /// go-yaml prints the line before the `:`'s (its parser errors count lines from 0).
    fn key_over_two_lines(&self) -> Refusal {
        let message = match self.flow_ends.last() {
            Some(b']') => "did not find expected ',' or ']'",
            _ => "did not find expected ',' or '}'",
        };
        Refusal {
            parsed_to: (self.mark.line, self.mark.column),
            tab: None,
            line: (self.mark.line != 0).then_some(self.mark.line),
            message,
        }
    }

    fn at_document_indicator(&self) -> bool {
        self.mark.column == 0
            && ((self.byte(0) == b'-' && self.byte(1) == b'-' && self.byte(2) == b'-')
                || (self.byte(0) == b'.' && self.byte(1) == b'.' && self.byte(2) == b'.'))
            && self.is_blankz(3)
    }

    /// libyaml's `yaml_parser_fetch_next_token`, without the tokens.
    fn fetch_next_token(&mut self) -> Step {
        // go-yaml checks keys at the end of the last token too, before it decides
        // whether the parser may take it (`yaml_parser_fetch_more_tokens`).
        self.stale_simple_keys()?;
        self.held_key = self
            .simple_keys
            .iter()
            .filter(|key| key.possible)
            .map(|key| key.mark)
            .min_by_key(|mark| mark.index);
        self.scan_to_next_token();
        self.stale_simple_keys()?;
        self.unroll_indent(self.column());
        if self.is_z(0) {
            // The stream's end is on a line of its own, where a required key is stale.
            if self.mark.column != 0 {
                self.mark.column = 0;
                self.mark.line += 1;
            }
            self.remove_simple_key()?;
            return Err(Stop::End);
        }
        if self.mark.column == 0 && self.byte(0) == b'%' {
            return self.fetch_directive();
        }
        if self.at_document_indicator() {
            return self.fetch_document_indicator();
        }
        self.in_document = true;
        let c = self.byte(0);
        let flow = self.flow_level > 0;
        match c {
            b'[' | b'{' => self.fetch_flow_collection_start(),
            b']' | b'}' => self.fetch_flow_collection_end(),
            b',' => {
                self.remove_simple_key()?;
                self.simple_key_allowed = true;
                self.skip();
                Ok(())
            }
            b'-' if self.is_blankz(1) => self.fetch_block_entry(),
            b'?' if flow || self.is_blankz(1) => self.fetch_key(),
            b':' if flow || self.is_blankz(1) => self.fetch_value(),
            b'*' | b'&' => {
                self.save_simple_key()?;
                self.simple_key_allowed = false;
                self.scan_anchor()
            }
            b'!' => {
                self.save_simple_key()?;
                self.simple_key_allowed = false;
                self.scan_tag()
            }
            b'|' | b'>' if !flow => {
                self.remove_simple_key()?;
                self.simple_key_allowed = true;
                self.scan_block_scalar()
            }
            b'\'' | b'"' => {
                self.save_simple_key()?;
                self.simple_key_allowed = false;
                self.scan_flow_scalar(c == b'\'')
            }
            _ if self.starts_plain_scalar() => {
                self.save_simple_key()?;
                self.simple_key_allowed = false;
                self.scan_plain_scalar()
            }
            b'\t' => Err(self.refuse_tab(self.mark, "found character that cannot start any token")),
            _ => Err(Stop::Unknown),
        }
    }

    /// libyaml's test for a plain scalar's first character.
    fn starts_plain_scalar(&self) -> bool {
        let c = self.byte(0);
        let indicator = self.is_blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || (c == b'-' && !self.is_blank(1))
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !self.is_blankz(1))
    }

    /// Skips spaces, comments and line breaks; tabs only in a flow collection or where
    /// no simple key may start (the tabs skipped are separators).
    fn scan_to_next_token(&mut self) {
        loop {
            if self.mark.column == 0 && self.text[self.pos..].starts_with("\u{FEFF}".as_bytes()) {
                self.skip();
            }
            loop {
                match self.byte(0) {
                    b' ' => {}
                    b'\t' if self.flow_level > 0 || !self.simple_key_allowed => {
                        self.reading.separators.push(self.pos);
                    }
                    _ => break,
                }
                self.skip();
            }
            if self.byte(0) == b'#' {
                while !self.is_breakz(0) {
                    self.skip();
                }
            }
            if !self.is_break(0) {
                return;
            }
            self.skip_line();
            if self.flow_level == 0 {
                self.simple_key_allowed = true;
            }
        }
    }

    /// Drops simple keys that can no longer be keys (another line, or 1024 characters
    /// on); a required one is go-yaml's `could not find expected ':'`.
    fn stale_simple_keys(&mut self) -> Step {
        let mark = self.mark;
        for key in &mut self.simple_keys {
            if key.possible && (key.mark.line < mark.line || key.mark.index + 1024 < mark.index) {
                if key.required {
                    let context = key.mark;
                    return Err(self.refuse(context, "could not find expected ':'"));
                }
                key.possible = false;
                key.stale = true;
            }
        }
        Ok(())
    }

    fn save_simple_key(&mut self) -> Step {
        let required = self.flow_level == 0 && self.indent == self.column();
        if self.simple_key_allowed {
            self.remove_simple_key()?;
            let mark = self.mark;
            if let Some(key) = self.simple_keys.last_mut() {
                *key = SimpleKey {
                    possible: true,
                    required,
                    mark,
                    stale: false,
                };
            }
        }
        Ok(())
    }

    fn remove_simple_key(&mut self) -> Step {
        if let Some(key) = self.simple_keys.last()
            && key.possible
            && key.required
        {
            return Err(self.refuse(key.mark, "could not find expected ':'"));
        }
        if let Some(key) = self.simple_keys.last_mut() {
            key.possible = false;
            key.stale = false;
        }
        Ok(())
    }

    fn roll_indent(&mut self, column: isize) {
        if self.flow_level == 0 && self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
        }
    }

    fn unroll_indent(&mut self, column: isize) {
        if self.flow_level > 0 {
            return;
        }
        while self.indent > column {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    /// `%YAML 1.1` or `%TAG ! prefix`: one line (a wrong one is yaml-rust2's to refuse).
    fn fetch_directive(&mut self) -> Step {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        while !self.is_breakz(0) {
            self.skip();
        }
        Ok(())
    }

    /// `---` or `...`: the end of the first document once it has begun.
    fn fetch_document_indicator(&mut self) -> Step {
        if self.in_document {
            return Err(Stop::End);
        }
        self.in_document = self.byte(0) == b'-';
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        for _ in 0..3 {
            self.skip();
        }
        Ok(())
    }

    fn fetch_flow_collection_start(&mut self) -> Step {
        self.save_simple_key()?;
        self.simple_keys.push(SimpleKey::default());
        self.flow_ends
            .push(if self.byte(0) == b'{' { b'}' } else { b']' });
        self.flow_level += 1;
        self.simple_key_allowed = true;
        self.skip();
        Ok(())
    }

    fn fetch_flow_collection_end(&mut self) -> Step {
        self.remove_simple_key()?;
        if self.flow_level > 0 {
            self.flow_level -= 1;
            self.simple_keys.pop();
            self.flow_ends.pop();
        }
        self.simple_key_allowed = false;
        self.skip();
        Ok(())
    }

    fn fetch_block_entry(&mut self) -> Step {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                let message = "block sequence entries are not allowed in this context";
                return Err(self.refuse(self.mark, message));
            }
            self.roll_indent(self.column());
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        self.skip();
        Ok(())
    }

    fn fetch_key(&mut self) -> Step {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                let message = "mapping keys are not allowed in this context";
                return Err(self.refuse(self.mark, message));
            }
            self.roll_indent(self.column());
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = self.flow_level == 0;
        self.skip();
        Ok(())
    }

    fn fetch_value(&mut self) -> Step {
        let key = self.simple_keys.last().copied().unwrap_or_default();
        if key.possible {
            self.roll_indent(key.mark.column as isize);
            if let Some(key) = self.simple_keys.last_mut() {
                key.possible = false;
            }
            self.simple_key_allowed = false;
        } else {
            if key.stale && self.flow_level > 0 {
                return Err(Stop::Refused(self.key_over_two_lines()));
            }
            // The value of a complex key (`? k` then `: v`), or of no key.
            if self.flow_level == 0 {
                if !self.simple_key_allowed {
                    let message = "mapping values are not allowed in this context";
                    return Err(self.refuse(self.mark, message));
                }
                self.roll_indent(self.column());
            }
            self.simple_key_allowed = self.flow_level == 0;
        }
        self.skip();
        Ok(())
    }

    /// `&name` or `*name`: the name's characters, then a blank or an indicator.
    fn scan_anchor(&mut self) -> Step {
        let start = self.mark;
        self.skip();
        let mut length = 0;
        while self.is_alpha(0) {
            self.skip();
            length += 1;
        }
        let ends = self.is_blankz(0) || b"?:,]}%@`".contains(&self.byte(0));
        if length == 0 || !ends {
            // `&lt;nil&gt;` (what `html nil` gives) is no anchor to go-yaml.
            let message = "did not find expected alphabetic or numeric character";
            return Err(self.refuse(start, message));
        }
        Ok(())
    }

    /// `!<uri>`, `!handle!suffix`, `!suffix` or `!`, then a blank.
    fn scan_tag(&mut self) -> Step {
        if self.byte(1) == b'<' {
            self.skip();
            self.skip();
            self.scan_tag_uri()?;
            if self.byte(0) != b'>' {
                return Err(Stop::Unknown);
            }
            self.skip();
        } else {
            self.skip();
            while self.is_alpha(0) {
                self.skip();
            }
            let handle = self.byte(0) == b'!';
            if handle {
                self.skip();
            }
            if self.scan_tag_uri()? == 0 && handle {
                return Err(Stop::Unknown);
            }
        }
        if !self.is_blankz(0) {
            return Err(Stop::Unknown);
        }
        Ok(())
    }

    /// The characters of a tag's URI (with `%XX` escapes), counted.
    fn scan_tag_uri(&mut self) -> Result<usize, Stop> {
        let mut length = 0;
        while self.is_alpha(0) || b";/?:@&=+$,.!~*'()[]%".contains(&self.byte(0)) {
            if self.byte(0) == b'%' {
                if !(self.is_hex(1) && self.is_hex(2)) {
                    return Err(Stop::Unknown);
                }
                self.skip();
                self.skip();
            }
            self.skip();
            length += 1;
        }
        Ok(length)
    }

    /// A literal or folded scalar: its header, then lines while they are indented
    /// enough; a tab in the indentation is refused.
    fn scan_block_scalar(&mut self) -> Step {
        let start = self.mark;
        self.skip();
        let mut increment = 0;
        if matches!(self.byte(0), b'+' | b'-') {
            self.skip();
            increment = self.indentation_indicator()?;
        } else if self.byte(0).is_ascii_digit() {
            increment = self.indentation_indicator()?;
            if matches!(self.byte(0), b'+' | b'-') {
                self.skip();
            }
        }
        while self.is_blank(0) {
            self.skip();
        }
        if self.byte(0) == b'#' {
            while !self.is_breakz(0) {
                self.skip();
            }
        }
        if !self.is_breakz(0) {
            return Err(Stop::Unknown);
        }
        self.skip_line();
        let mut indent = match increment {
            0 => 0,
            _ if self.indent >= 0 => self.indent + increment,
            _ => increment,
        };
        self.block_scalar_breaks(&mut indent, start)?;
        while self.column() == indent && !self.is_z(0) {
            while !self.is_breakz(0) {
                self.skip();
            }
            self.skip_line();
            self.block_scalar_breaks(&mut indent, start)?;
        }
        // The text ends on a line of this scalar (text, or its indentation) without a
        // line break.
        if self.is_z(0) && self.column() >= indent.max(1) {
            self.reading.cut_block_scalar = Some(self.block_scalars);
        }
        self.block_scalars += 1;
        Ok(())
    }

    /// A block scalar's indentation indicator (`1` to `9`), if there is one.
    fn indentation_indicator(&mut self) -> Result<isize, Stop> {
        match self.byte(0) {
            b'0' => Err(Stop::Unknown),
            digit @ b'1'..=b'9' => {
                self.skip();
                Ok(isize::from(digit - b'0'))
            }
            _ => Ok(0),
        }
    }

    /// The indentation and empty lines before a block scalar's next line; the first
    /// time, the scalar's indentation when no indicator gave it.
    fn block_scalar_breaks(&mut self, indent: &mut isize, start: Mark) -> Step {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || self.column() < *indent) && self.byte(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.column());
            if (*indent == 0 || self.column() < *indent) && self.byte(0) == b'\t' {
                return Err(self.refuse_tab(
                    start,
                    "found a tab character where an indentation space is expected",
                ));
            }
            if !self.is_break(0) {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        Ok(())
    }

    /// A single- or double-quoted scalar; tabs at the start of its lines are skipped.
    fn scan_flow_scalar(&mut self, single: bool) -> Step {
        let quote = if single { b'\'' } else { b'"' };
        self.skip();
        loop {
            if self.at_document_indicator() || self.is_z(0) {
                return Err(Stop::Unknown);
            }
            let mut leading_blanks = false;
            while !self.is_blankz(0) {
                let c = self.byte(0);
                if single && c == b'\'' && self.byte(1) == b'\'' {
                    self.skip();
                    self.skip();
                } else if c == quote {
                    break;
                } else if !single && c == b'\\' && self.is_break(1) {
                    self.skip();
                    self.skip_line();
                    leading_blanks = true;
                    break;
                } else if !single && c == b'\\' {
                    self.skip_escape()?;
                } else {
                    self.skip();
                }
            }
            if self.byte(0) == quote {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    if leading_blanks && self.byte(0) == b'\t' {
                        self.reading.separators.push(self.pos);
                    }
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
        }
        self.skip();
        Ok(())
    }

    /// A double-quoted scalar's escape sequence, as far as go-yaml accepts it.
    fn skip_escape(&mut self) -> Step {
        let code_length = match self.byte(1) {
            b'0' | b'a' | b'b' | b't' | b'\t' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"'
            | b'\'' | b'\\' | b'N' | b'_' | b'L' | b'P' => 0,
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => return Err(Stop::Unknown),
        };
        self.skip();
        self.skip();
        let mut value: u32 = 0;
        for k in 0..code_length {
            if !self.is_hex(k) {
                return Err(Stop::Unknown);
            }
            let digit = char::from(self.byte(k)).to_digit(16).unwrap_or(0);
            value = (value << 4) | digit;
        }
        if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
            return Err(Stop::Unknown);
        }
        for _ in 0..code_length {
            self.skip();
        }
        Ok(())
    }

    /// A plain scalar, over as many lines as stay indented past the block's
    /// indentation; a tab there is refused, a tab past it skipped.
    fn scan_plain_scalar(&mut self) -> Step {
        let start = self.mark;
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if self.at_document_indicator() || self.byte(0) == b'#' {
                break;
            }
            while !self.is_blankz(0) {
                let c = self.byte(0);
                let ends_flow = self.flow_level > 0 && b",?[]{}".contains(&c);
                if (c == b':' && self.is_blankz(1)) || ends_flow {
                    break;
                }
                leading_blanks = false;
                self.skip();
            }
            if !(self.is_blank(0) || self.is_break(0)) {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    let tab = self.byte(0) == b'\t';
                    if leading_blanks && tab && self.column() < indent {
                        return Err(self
                            .refuse_tab(start, "found a tab character that violates indentation"));
                    }
                    if leading_blanks && tab {
                        self.reading.separators.push(self.pos);
                    }
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
            if self.flow_level == 0 && self.column() < indent {
                break;
            }
        }
        if leading_blanks {
            self.simple_key_allowed = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Scan, scan};

    fn refusal(text: &str) -> Option<(Option<usize>, &'static str)> {
        scan(text)
            .refusal
            .map(|refusal| (refusal.line, refusal.message))
    }

    fn separators(text: &str) -> Option<Vec<usize>> {
        let scan = scan(text);
        scan.refusal.is_none().then_some(scan.reading.separators)
    }

    const START: &str = "found character that cannot start any token";
    const PLAIN: &str = "found a tab character that violates indentation";
    const BLOCK: &str = "found a tab character where an indentation space is expected";

    #[test]
    fn tabs_where_a_block_token_may_start_are_refused() {
        // Each recorded from Helm v4.2's engine (`fromYaml`).
        assert_eq!(refusal("\ta: 1"), Some((None, START)));
        assert_eq!(refusal(" \ta: 1"), Some((None, START)));
        assert_eq!(refusal("\t# c\na: 1"), Some((None, START)));
        assert_eq!(refusal("-\t1"), Some((None, START)));
        assert_eq!(refusal("- 1\n-\t2"), Some((Some(2), START)));
        assert_eq!(refusal("? a\n:\tb"), Some((Some(2), START)));
        assert_eq!(refusal("a: \"x\"\n\t"), Some((Some(2), START)));
        assert_eq!(refusal("a: {b: 1}\n\tc: 2"), Some((Some(2), START)));
        assert_eq!(refusal("a:\n\t\n  b: 1"), Some((Some(2), START)));
        assert_eq!(refusal("\t"), Some((None, START)));
    }

    #[test]
    fn tab_lines_in_a_scalars_indentation_are_refused() {
        assert_eq!(refusal("a: 1\n\t"), Some((Some(2), PLAIN)));
        assert_eq!(refusal("a: 1\r\n\t"), Some((Some(2), PLAIN)));
        assert_eq!(refusal("a:\n  b: x\n  \tc"), Some((Some(3), PLAIN)));
        assert_eq!(refusal("a: [b\n\tc]"), Some((Some(2), PLAIN)));
        assert_eq!(refusal("a: b\n\n\tc"), Some((Some(3), PLAIN)));
        assert_eq!(refusal("a: |\n\tx"), Some((Some(2), BLOCK)));
        assert_eq!(refusal("a: |\n  x\n\t"), Some((Some(3), BLOCK)));
        assert_eq!(refusal("a: |\n  x\n \tb: 1"), Some((Some(3), BLOCK)));
    }

    #[test]
    fn tabs_go_yaml_skips_are_separators() {
        assert_eq!(separators("a:\t1"), Some(vec![2]));
        assert_eq!(separators("a: [\n\t1]"), Some(vec![5]));
        assert_eq!(separators("a: \"x\n\ty\""), Some(vec![6]));
        assert_eq!(separators("a: b\n  \tc"), Some(vec![7]));
        // Content, not separation: inside a scalar's line, in a block scalar's text.
        assert_eq!(separators("a: b\tc"), Some(vec![]));
        assert_eq!(separators("a: |\n  x\n  \ty"), Some(vec![]));
        assert_eq!(separators("[b\n\tc]"), Some(vec![3]));
        assert_eq!(separators("b\n\tc"), Some(vec![2]));
    }

    #[test]
    fn only_the_first_document_counts() {
        assert_eq!(separators("a: 1\n---\n\tb"), Some(vec![]));
        assert_eq!(separators("---\t\na: 1"), Some(vec![3]));
        assert_eq!(separators("a: 1\n...\n\t"), Some(vec![]));
    }

    #[test]
    fn other_refusals_are_left_to_yaml_rust2() {
        assert_eq!(scan("a: \"x"), Scan::default());
        let anchor = "did not find expected alphabetic or numeric character";
        assert_eq!(refusal("a: &lt;nil&gt;"), Some((None, anchor)));
        assert_eq!(refusal("- a\n- *\n"), Some((Some(2), anchor)));
        assert_eq!(scan("a: @x\n\t"), Scan::default());
        assert_eq!(scan("a: 1\u{1}\n\t"), Scan::default());
        // The tabs skipped before go-yaml stops are known all the same.
        assert_eq!(scan("a:\t@x\n\t").reading.separators, vec![2]);
    }

    #[test]
    fn tokens_where_the_context_allows_none_are_refused() {
        let not_allowed = "mapping values are not allowed in this context";
        assert_eq!(refusal("a:\tb:\tc"), Some((None, not_allowed)));
        assert_eq!(scan("a:\tb:\tc").reading.separators, vec![2]);
        let key = "could not find expected ':'";
        assert_eq!(refusal("a:\t1\nb"), Some((Some(3), key)));
    }

    #[test]
    fn a_block_scalar_cut_by_the_end_of_the_text_is_found() {
        let cut = |text: &str| scan(text).reading.cut_block_scalar;
        assert_eq!(cut("a: |\n  x"), Some(0));
        assert_eq!(cut("a: 1\nb: >+\n  x\n  y"), Some(0));
        assert_eq!(cut("a: |\n  x\nb: |-\n  y"), Some(1));
        assert_eq!(cut("a: |\n  x\n  "), Some(0));
        assert_eq!(cut("a: |+\n  "), Some(0));
        assert_eq!(cut("a: |\n  x\n "), None);
        assert_eq!(cut("a: |\n  x\n"), None);
        assert_eq!(cut("a: |\n  x\n# c"), None);
        assert_eq!(cut("a: |\nb: 1"), None);
    }
}
