//! Whether Go's `regexp.Compile` accepts a pattern, and Go's error when it does not.
//!
//! Helm's validator (santhosh-tekuri/jsonschema v6) checks the `regex` format and
//! compiles `pattern`s and `patternProperties` names with Go's `regexp` (RE2 syntax,
//! Perl flags). This follows the error checks of Go's `regexp/syntax` parser step by
//! step, with its error codes and the slice of the pattern each error quotes; it builds
//! no syntax tree, only the parser's stack of open groups. Not modelled: Go's limits on
//! the size of the compiled program and on nesting depth (patterns of thousands of
//! operators).

/// Go's `syntax.ErrorCode`s this parser reports.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Code {
    InvalidCharRange,
    InvalidEscape,
    InvalidNamedCapture,
    InvalidPerlOp,
    InvalidRepeatOp,
    InvalidRepeatSize,
    MissingBracket,
    MissingParen,
    MissingRepeatArgument,
    TrailingBackslash,
    UnexpectedParen,
}

impl Code {
    fn text(self) -> &'static str {
        match self {
            Code::InvalidCharRange => "invalid character class range",
            Code::InvalidEscape => "invalid escape sequence",
            Code::InvalidNamedCapture => "invalid named capture",
            Code::InvalidPerlOp => "invalid or unsupported Perl syntax",
            Code::InvalidRepeatOp => "invalid nested repetition operator",
            Code::InvalidRepeatSize => "invalid repeat count",
            Code::MissingBracket => "missing closing ]",
            Code::MissingParen => "missing closing )",
            Code::MissingRepeatArgument => "missing argument to repetition operator",
            Code::TrailingBackslash => "trailing backslash at end of expression",
            Code::UnexpectedParen => "unexpected )",
        }
    }
}

/// A parse error: the code and the part of the pattern Go quotes.
struct Error<'a> {
    code: Code,
    expr: &'a str,
}

type Parsed<'a, T> = Result<T, Error<'a>>;

fn fail<T>(code: Code, expr: &str) -> Parsed<'_, T> {
    Err(Error { code, expr })
}

/// `None` when Go's `regexp.Compile(pattern)` succeeds, else its error text
/// (`error parsing regexp: missing closing ): `(``).
pub(super) fn compile_error(pattern: &str) -> Option<String> {
    match parse(pattern) {
        Ok(()) => None,
        Err(Error { code, expr }) => {
            Some(format!("error parsing regexp: {}: `{expr}`", code.text()))
        }
    }
}

/// One entry of the parser's stack.
#[derive(Clone, Copy)]
enum Item {
    /// An open group.
    Paren,
    /// A `|` inside the current group.
    Bar,
    /// An expression: `worst` is the largest product of counted repeats on any path
    /// inside it (Go's `repeatIsValid` refuses more than 1000).
    Expr { worst: u64 },
}

struct Parser {
    stack: Vec<Item>,
}

impl Parser {
    fn push(&mut self) {
        self.stack.push(Item::Expr { worst: 1 });
    }

    /// Collapses the expressions above the innermost open group (and its `|`s) into
    /// one, as Go's `concat` and `alternate` do; `false` when nothing is open.
    fn close_group(&mut self) -> bool {
        let mut worst = 1;
        while let Some(item) = self.stack.pop() {
            match item {
                Item::Expr { worst: w } => worst = worst.max(w),
                Item::Bar => {}
                Item::Paren => {
                    self.stack.push(Item::Expr { worst });
                    return true;
                }
            }
        }
        false
    }

    /// Go's `repeat`: the operator spans `before[..before.len() - after.len()]`.
    fn repeat<'a>(
        &mut self,
        counted: Option<(i64, i64)>,
        before: &'a str,
        mut after: &'a str,
        last_repeat: &'a str,
    ) -> Parsed<'a, &'a str> {
        if let Some(rest) = after.strip_prefix('?') {
            after = rest;
        }
        if !last_repeat.is_empty() {
            return fail(
                Code::InvalidRepeatOp,
                &last_repeat[..last_repeat.len() - after.len()],
            );
        }
        let op = &before[..before.len() - after.len()];
        let Some(Item::Expr { worst }) = self.stack.last().copied() else {
            return fail(Code::MissingRepeatArgument, op);
        };
        let worst = match counted {
            None => worst,
            Some((_, 0)) => 1,
            Some((min, max)) => {
                let factor = if max < 0 { min.max(1) } else { max } as u64;
                let product = factor.saturating_mul(worst);
                if (min >= 2 || max >= 2) && product > 1000 {
                    return fail(Code::InvalidRepeatSize, op);
                }
                product
            }
        };
        self.stack.pop();
        self.stack.push(Item::Expr { worst });
        Ok(after)
    }
}

fn parse(whole: &str) -> Parsed<'_, ()> {
    let mut parser = Parser { stack: Vec::new() };
    let mut t = whole;
    let mut last_repeat = "";
    while let Some(c) = t.chars().next() {
        let mut repeat = "";
        match c {
            '(' => {
                if t.starts_with("(?") {
                    t = perl_flags(&mut parser, t)?;
                } else {
                    parser.stack.push(Item::Paren);
                    t = &t[1..];
                }
            }
            '|' => {
                parser.stack.push(Item::Bar);
                t = &t[1..];
            }
            ')' => {
                if !parser.close_group() {
                    return fail(Code::UnexpectedParen, whole);
                }
                t = &t[1..];
            }
            '^' | '$' | '.' => {
                parser.push();
                t = &t[1..];
            }
            '[' => {
                t = class(t)?;
                parser.push();
            }
            '*' | '+' | '?' => {
                let before = t;
                t = parser.repeat(None, before, &t[1..], last_repeat)?;
                repeat = before;
            }
            '{' => {
                let before = t;
                match parse_repeat(t) {
                    None => {
                        // Not a repeat: `{` is a literal.
                        parser.push();
                        t = &t[1..];
                    }
                    Some((min, max, after)) => {
                        if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                            return fail(
                                Code::InvalidRepeatSize,
                                &before[..before.len() - after.len()],
                            );
                        }
                        t = parser.repeat(Some((min, max)), before, after, last_repeat)?;
                        repeat = before;
                    }
                }
            }
            '\\' => t = backslash(&mut parser, t)?,
            _ => {
                parser.push();
                t = &t[c.len_utf8()..];
            }
        }
        last_repeat = repeat;
    }
    // Whatever is still open was never closed.
    if parser.stack.iter().any(|item| matches!(item, Item::Paren)) {
        return fail(Code::MissingParen, whole);
    }
    Ok(())
}

/// A `\` outside a class: assertions, `\Q...\E`, classes, then escapes.
fn backslash<'a>(parser: &mut Parser, t: &'a str) -> Parsed<'a, &'a str> {
    match t.as_bytes().get(1) {
        Some(b'A' | b'b' | b'B' | b'z') => {
            parser.push();
            Ok(&t[2..])
        }
        Some(b'C') => fail(Code::InvalidEscape, &t[..2]),
        Some(b'Q') => {
            let literal = &t[2..];
            let (text, rest) = match literal.find("\\E") {
                Some(at) => (&literal[..at], &literal[at + 2..]),
                None => (literal, ""),
            };
            if !text.is_empty() {
                parser.push();
            }
            Ok(rest)
        }
        Some(b'p' | b'P') => {
            let rest = unicode_class(t)?;
            parser.push();
            Ok(rest)
        }
        Some(b'd' | b'D' | b's' | b'S' | b'w' | b'W') => {
            parser.push();
            Ok(&t[2..])
        }
        _ => {
            let rest = escape(t)?;
            parser.push();
            Ok(rest)
        }
    }
}

/// Go's `parseEscape`: `s` starts with `\`; returns the text after the escape.
fn escape(s: &str) -> Parsed<'_, &str> {
    let e = &s[1..];
    let Some(c) = e.chars().next() else {
        return fail(Code::TrailingBackslash, "");
    };
    let mut t = &e[c.len_utf8()..];
    let octal = |t: &str| {
        t.as_bytes()
            .first()
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    let valid = match c {
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => true,
        '1'..='7' if !octal(t) => false,
        '0'..='7' => {
            // Up to two more octal digits.
            for _ in 0..2 {
                if octal(t) {
                    t = &t[1..];
                }
            }
            true
        }
        'x' => {
            let mut chars = t.chars();
            match chars.next() {
                Some('{') => {
                    let mut digits = 0;
                    let mut value: u32 = 0;
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        let Some(v) = c.to_digit(16) else { break };
                        value = value * 16 + v;
                        if value > 0x10FFFF {
                            break;
                        }
                        digits += 1;
                    }
                    t = chars.as_str();
                    closed && digits > 0
                }
                Some(first) => {
                    let second = chars.next();
                    t = chars.as_str();
                    first.is_ascii_hexdigit() && second.is_some_and(|c| c.is_ascii_hexdigit())
                }
                None => false,
            }
        }
        'a' | 'f' | 'n' | 'r' | 't' | 'v' => true,
        _ => false,
    };
    if valid {
        Ok(t)
    } else {
        fail(Code::InvalidEscape, &s[..s.len() - t.len()])
    }
}

/// Go's `parseUnicodeClass`: `s` starts with `\p` or `\P`.
fn unicode_class(s: &str) -> Parsed<'_, &str> {
    let after = &s[2..];
    let (sequence, rest, mut name) = match after.chars().next() {
        Some('{') => {
            let Some(end) = s.find('}') else {
                return fail(Code::InvalidCharRange, s);
            };
            (&s[..=end], &s[end + 1..], &s[3..end])
        }
        Some(c) => {
            let end = 2 + c.len_utf8();
            (&s[..end], &s[end..], &s[2..end])
        }
        None => (s, "", ""),
    };
    if let Some(positive) = name.strip_prefix('^') {
        name = positive;
    }
    if unicode_table(name) {
        Ok(rest)
    } else {
        fail(Code::InvalidCharRange, sequence)
    }
}

/// Whether Go's `regexp` (Go 1.26, as in Helm v4.2) knows a `\p{name}`: names are
/// matched without case and underscores against the general categories (short and
/// long names), `Any`, `ASCII`, `Assigned` and the scripts whose names have no
/// underscore (`Old_Italic` is refused however it is spelled, as Helm's Go does).
fn unicode_table(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "any",
        "ascii",
        "assigned",
        "c",
        "cc",
        "cf",
        "cn",
        "co",
        "cs",
        "l",
        "lc",
        "ll",
        "lm",
        "lo",
        "lt",
        "lu",
        "m",
        "mc",
        "me",
        "mn",
        "n",
        "nd",
        "nl",
        "no",
        "p",
        "pc",
        "pd",
        "pe",
        "pf",
        "pi",
        "po",
        "ps",
        "s",
        "sc",
        "sk",
        "sm",
        "so",
        "z",
        "zl",
        "zp",
        "zs",
        "other",
        "control",
        "format",
        "unassigned",
        "privateuse",
        "surrogate",
        "letter",
        "casedletter",
        "lowercaseletter",
        "modifierletter",
        "otherletter",
        "titlecaseletter",
        "uppercaseletter",
        "mark",
        "spacingmark",
        "enclosingmark",
        "nonspacingmark",
        "number",
        "decimalnumber",
        "letternumber",
        "othernumber",
        "punctuation",
        "connectorpunctuation",
        "dashpunctuation",
        "closepunctuation",
        "finalpunctuation",
        "initialpunctuation",
        "otherpunctuation",
        "openpunctuation",
        "symbol",
        "currencysymbol",
        "modifiersymbol",
        "mathsymbol",
        "othersymbol",
        "separator",
        "lineseparator",
        "paragraphseparator",
        "spaceseparator",
    ];
    let folded: String = name
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if NAMES.contains(&folded.as_str()) {
        return true;
    }
    // A script: letters only, and not one of the four-letter script codes (`Latn`)
    // that the `regex` crate knows and Go does not.
    const FOUR_LETTER_SCRIPTS: [&str; 6] = ["cham", "lisu", "modi", "newa", "thai", "toto"];
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphabetic())
        && (folded.len() != 4 || FOUR_LETTER_SCRIPTS.contains(&folded.as_str()))
        && regex::Regex::new(&format!(r"\p{{Script={name}}}")).is_ok()
}

/// Go's `parseRepeat`: `{min}`, `{min,}` or `{min,max}` (`max` -1: none; a number too
/// big is -1, which Go then refuses), and the text after it; `None` when `s` does not
/// start with one (`{` is then a literal).
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (min, s) = parse_int(s)?;
    let (min, max, s) = match s.strip_prefix(',') {
        None if s.is_empty() => return None,
        None => (min, min, s),
        Some("") => return None,
        Some(rest) if rest.starts_with('}') => (min, -1, rest),
        Some(rest) => match parse_int(rest)? {
            (max, rest) if max < 0 => (-1, max, rest),
            (max, rest) => (min, max, rest),
        },
    };
    Some((min, max, s.strip_prefix('}')?))
}

/// Decimal digits without a leading zero; from 10^8 on the value is -1 (too big).
fn parse_int(s: &str) -> Option<(i64, &str)> {
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() >= 2 && bytes[0] == b'0' && bytes[1].is_ascii_digit() {
        return None;
    }
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut n: i64 = 0;
    for b in &bytes[..digits] {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some((n, &s[digits..]))
}

/// Go's `parsePerlFlags`: `s` starts with `(?`.
fn perl_flags<'a>(parser: &mut Parser, s: &'a str) -> Parsed<'a, &'a str> {
    let b = s.as_bytes();
    if (b.len() > 4 && b[2] == b'P' && b[3] == b'<') || (b.len() > 3 && b[2] == b'<') {
        let begin = if b[2] == b'P' { 4 } else { 3 };
        let Some(end) = s.find('>') else {
            return fail(Code::InvalidNamedCapture, s);
        };
        let capture = &s[..=end];
        let name = &s[begin..end];
        let valid = !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
        if !valid {
            return fail(Code::InvalidNamedCapture, capture);
        }
        parser.stack.push(Item::Paren);
        return Ok(&s[end + 1..]);
    }
    let mut t = &s[2..];
    let mut negated = false;
    let mut saw_flag = false;
    while let Some(c) = t.chars().next() {
        t = &t[c.len_utf8()..];
        match c {
            'i' | 'm' | 's' | 'U' => saw_flag = true,
            '-' if !negated => {
                negated = true;
                saw_flag = false;
            }
            ':' | ')' if !negated || saw_flag => {
                if c == ':' {
                    parser.stack.push(Item::Paren);
                }
                return Ok(t);
            }
            _ => break,
        }
    }
    fail(Code::InvalidPerlOp, &s[..s.len() - t.len()])
}

/// Go's `parseClass`: `s` starts with `[`; returns the text after the class.
fn class(s: &str) -> Parsed<'_, &str> {
    let mut t = &s[1..];
    if let Some(rest) = t.strip_prefix('^') {
        t = rest;
    }
    let mut first = true;
    while !t.starts_with(']') || first {
        first = false;
        // POSIX classes: `[:alpha:]`, `[:^alpha:]`.
        if t.len() > 2
            && t.starts_with("[:")
            && let Some(at) = t[2..].find(":]")
        {
            let name = &t[..at + 4];
            const POSIX: [&str; 14] = [
                "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print",
                "punct", "space", "upper", "word", "xdigit",
            ];
            let inner = &name[2..name.len() - 2];
            let inner = inner.strip_prefix('^').unwrap_or(inner);
            if !POSIX.contains(&inner) {
                return fail(Code::InvalidCharRange, name);
            }
            t = &t[at + 4..];
            continue;
        }
        if t.starts_with("\\p") || t.starts_with("\\P") {
            t = unicode_class(t)?;
            continue;
        }
        if t.len() >= 2 && t.starts_with('\\') && b"dDsSwW".contains(&t.as_bytes()[1]) {
            t = &t[2..];
            continue;
        }
        let range = t;
        let lo;
        (lo, t) = class_char(t, s)?;
        if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
            let hi;
            (hi, t) = class_char(&t[1..], s)?;
            if hi < lo {
                return fail(Code::InvalidCharRange, &range[..range.len() - t.len()]);
            }
        }
    }
    Ok(&t[1..])
}

/// Go's `parseClassChar`: one character or escape inside a class, as a code point.
fn class_char<'a>(t: &'a str, whole_class: &'a str) -> Parsed<'a, (u32, &'a str)> {
    let Some(c) = t.chars().next() else {
        return fail(Code::MissingBracket, whole_class);
    };
    if c != '\\' {
        return Ok((u32::from(c), &t[c.len_utf8()..]));
    }
    let rest = escape(t)?;
    Ok((escaped_value(&t[1..t.len() - rest.len()]), rest))
}

/// The code point of a valid escape's text after the `\` (`n`, `x41`, `x{263a}`, `101`).
fn escaped_value(text: &str) -> u32 {
    let mut chars = text.chars();
    let Some(c) = chars.next() else { return 0 };
    match c {
        '0'..='7' => u32::from_str_radix(text, 8).unwrap_or(0),
        'x' => {
            let hex = chars.as_str().trim_start_matches('{').trim_end_matches('}');
            u32::from_str_radix(hex, 16).unwrap_or(0)
        }
        'a' => 7,
        'f' => 12,
        'n' => 10,
        'r' => 13,
        't' => 9,
        'v' => 11,
        other => u32::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_verdicts() {
        // (pattern, Go's error, or "" when Go accepts it). The errors were read off
        // Helm v4.2's validator.
        let cases: &[(&str, &str)] = &[
            ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", ""),
            ("(", "missing closing ): `(`"),
            (")", "unexpected ): `)`"),
            ("[a", "missing closing ]: `[a`"),
            ("a**", "invalid nested repetition operator: `**`"),
            ("\\q", "invalid escape sequence: `\\q`"),
            ("x{1001}", "invalid repeat count: `{1001}`"),
            ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
            ("\\", "trailing backslash at end of expression: ``"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("a{,3}", ""),
            ("(?P<n>a)(?<m>b)", ""),
            ("\\Q(\\E", ""),
            ("[[:alpha:]\\d\\pL\\p{Greek}]+", ""),
        ];
        for (pattern, error) in cases {
            let got = compile_error(pattern);
            let want = (!error.is_empty()).then(|| format!("error parsing regexp: {error}"));
            assert_eq!(got, want, "{pattern}");
        }
    }
}
