//! Sprig's regular-expression functions over Go's RE2 syntax (the `regex` crate's
//! engine speaks the same dialect), with Go's `$1`/`${name}` replacement expansion and
//! Go's `Split` and `FindAll` limits.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use regex_automata::meta;

use super::args::{int, string, want};
use super::{FuncError, Result};
use crate::value::{SliceType, Value};

/// A compiled pattern: the engine behind the `regex` crate, configured without the
/// full DFA. A template runs a pattern over a few short strings, and building a full
/// DFA (which the `regex` crate does for small patterns when the feature is on, as
/// another dependency turns it on) costs far more than those searches save.
struct Pattern(meta::Regex);

impl Pattern {
    /// Compiles Go's `pattern`, or Go's `error parsing regexp: ...` text.
    fn new(pattern: &str) -> std::result::Result<Pattern, String> {
        if let Some(escape) = escape_go_refuses(pattern) {
            return Err(format!(
                "error parsing regexp: invalid escape sequence: `{escape}`"
            ));
        }
        meta::Regex::builder()
            .configure(meta::Regex::config().dfa(false))
            .build(&go_pattern(pattern))
            .map(Pattern)
            .map_err(|e| go_regex_error(&e, pattern))
    }

    fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }

    fn find<'a>(&self, s: &'a str) -> Option<&'a str> {
        self.0.find(s).map(|m| &s[m.range()])
    }

    fn find_iter<'a>(&'a self, s: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
        self.0.find_iter(s).map(|m| m.range())
    }

    /// Every match replaced by `replacement`, with `$1`/`${name}` expanded when
    /// `expand` is set (Go's `ReplaceAllString`), else as is (`ReplaceAllLiteralString`).
    fn replace_all(&self, s: &str, replacement: &str, expand: bool) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for captures in self.0.captures_iter(s) {
            let Some(whole) = captures.get_match() else {
                continue;
            };
            out.push_str(&s[last..whole.start()]);
            if expand {
                captures.interpolate_string_into(s, replacement, &mut out);
            } else {
                out.push_str(replacement);
            }
            last = whole.end();
        }
        out.push_str(&s[last..]);
        out
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<Pattern>>> = RefCell::new(HashMap::new());
}

/// Forgets the compiled patterns: a render starts and ends with none, so patterns are
/// compiled once per render (as Helm's engine compiles them per call, or better), never
/// reused from another render.
pub(crate) fn forget_compiled() {
    CACHE.with(|c| c.borrow_mut().clear());
}

/// Compiles `pattern` (kept for the rest of the render on this thread), or Go's
/// `error parsing regexp: ...` text.
fn compile(pattern: &str) -> std::result::Result<Rc<Pattern>, String> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Rc::new(Pattern::new(pattern)?);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

/// Rewrites Go's ASCII-only Perl classes and word boundaries (`\w`, `\d`, `\s`, `\b`)
/// into the regex crate's ASCII forms (the crate's own are Unicode-aware), and escapes
/// a `{` that starts no repetition (Go reads it as a literal, the crate refuses it).
fn go_pattern(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains(['\\', '[', '{']) {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let replacement = match (in_class, next) {
                    (false, 'w') => Some("[[:word:]]"),
                    (false, 'W') => Some("[[:^word:]]"),
                    (false, 'd') => Some("[0-9]"),
                    (false, 'D') => Some("[^0-9]"),
                    (false, 's') => Some("[\\t\\n\\x0C\\r ]"),
                    (false, 'S') => Some("[^\\t\\n\\x0C\\r ]"),
                    (false, 'b') => Some("(?-u:\\b)"),
                    (false, 'B') => Some("(?-u:\\B)"),
                    (true, 'w') => Some("[:word:]"),
                    (true, 'W') => Some("[:^word:]"),
                    (true, 'd') => Some("0-9"),
                    (true, 'D') => Some("[^0-9]"),
                    (true, 's') => Some("\\t\\n\\x0C\\r "),
                    (true, 'S') => Some("[^\\t\\n\\x0C\\r ]"),
                    _ => None,
                };
                match replacement {
                    Some(r) => out.push_str(r),
                    None => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                // A `]` right after the opening bracket is a literal.
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
                continue;
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // POSIX class `[:alpha:]` inside a bracket expression.
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' if in_class => out.push_str("\\["),
            '{' if !in_class && !starts_repetition(chars.clone()) => out.push_str("\\{"),
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
        class_start = false;
    }
    std::borrow::Cow::Owned(out)
}

/// The first escape Go's regexp refuses and the regex crate takes (`\u0041`, `\e`...):
/// a backslash before a letter Go does not know.
fn escape_go_refuses(pattern: &str) -> Option<String> {
    const GO_LETTERS: &str = "aftnrvxAbBzQEpPdDsSwW";
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            // `\Q...\E` is literal text.
            Some('Q') => {
                let rest = chars.as_str();
                let end = rest.find("\\E").map_or(rest.len(), |at| at + 2);
                chars = rest[end..].chars();
            }
            Some(letter) if letter.is_ascii_alphabetic() && !GO_LETTERS.contains(letter) => {
                return Some(format!("\\{letter}"));
            }
            _ => {}
        }
    }
    None
}

/// Whether the text after a `{` makes it a repetition for Go's parser (`{n}`, `{n,}`,
/// `{n,m}`); otherwise the `{` is a literal.
fn starts_repetition(after: impl Iterator<Item = char>) -> bool {
    let mut min_digits = 0;
    let mut comma = false;
    for c in after {
        match c {
            '0'..='9' if !comma => min_digits += 1,
            '0'..='9' => {}
            ',' if !comma && min_digits > 0 => comma = true,
            '}' => return min_digits > 0,
            _ => return false,
        }
    }
    false
}

/// Go's `error parsing regexp: CODE: `FRAGMENT`` for the regex crate's error.
fn go_regex_error(error: &meta::BuildError, pattern: &str) -> String {
    let text = match (error.size_limit(), error.syntax_error()) {
        (Some(_), _) => "exceeds size limit".to_string(),
        (None, Some(syntax)) => syntax.to_string(),
        (None, None) => error.to_string(),
    };
    let code = if text.contains("unclosed group") {
        "missing closing )"
    } else if text.contains("unopened group") {
        "unexpected )"
    } else if text.contains("unclosed character class") {
        "missing closing ]"
    } else if text.contains("repetition operator missing expression") {
        "missing argument to repetition operator"
    } else if text.contains("escape sequence") {
        "invalid escape sequence"
    } else if text.contains("invalid character class range") || text.contains("class range") {
        "invalid character class range"
    } else if text.contains("repetition quantifier") || text.contains("exceeds size limit") {
        "invalid repeat count"
    } else {
        "invalid or unsupported Perl syntax"
    };
    format!("error parsing regexp: {code}: `{pattern}`")
}

/// `regexp.MustCompile`: the panic a non-`must` function turns into a template error.
fn must_compile(pattern: &str) -> std::result::Result<Rc<Pattern>, FuncError> {
    compile(pattern).map_err(|e| FuncError::Call(format!("regexp: Compile(`{pattern}`): {e}")))
}

fn try_compile(pattern: &str) -> std::result::Result<Rc<Pattern>, FuncError> {
    compile(pattern).map_err(FuncError::Call)
}

/// A Go `[]string`.
fn strings(items: Vec<&str>) -> Value {
    Value::string_list(items)
}

pub fn regex_match(args: &[Value]) -> Result {
    want("regexMatch", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    Ok(Value::Bool(compile(pattern).is_ok_and(|re| re.is_match(s))))
}

pub fn must_regex_match(args: &[Value]) -> Result {
    want("mustRegexMatch", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    Ok(Value::Bool(try_compile(pattern)?.is_match(s)))
}

/// Go's `FindAllString` returns a nil slice when nothing matches (`toJson` writes
/// `null`).
fn found_or_nil(found: Vec<&str>) -> Value {
    if found.is_empty() {
        Value::nil_typed_list(SliceType::String)
    } else {
        strings(found)
    }
}

fn find_all<'a>(re: &Pattern, s: &'a str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    re.find_iter(s).take(limit).map(|m| &s[m]).collect()
}

pub fn regex_find_all(args: &[Value]) -> Result {
    want("regexFindAll", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = must_compile(pattern)?;
    Ok(found_or_nil(find_all(&re, s, n)))
}

pub fn must_regex_find_all(args: &[Value]) -> Result {
    want("mustRegexFindAll", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = try_compile(pattern)?;
    Ok(found_or_nil(find_all(&re, s, n)))
}

pub fn regex_find(args: &[Value]) -> Result {
    want("regexFind", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    let re = must_compile(pattern)?;
    Ok(Value::string(re.find(s).unwrap_or_default()))
}

pub fn must_regex_find(args: &[Value]) -> Result {
    want("mustRegexFind", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    let re = try_compile(pattern)?;
    Ok(Value::string(re.find(s).unwrap_or_default()))
}

pub fn regex_replace_all(args: &[Value]) -> Result {
    want("regexReplaceAll", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = must_compile(pattern)?;
    Ok(Value::string(re.replace_all(s, repl, true)))
}

pub fn must_regex_replace_all(args: &[Value]) -> Result {
    want("mustRegexReplaceAll", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = try_compile(pattern)?;
    Ok(Value::string(re.replace_all(s, repl, true)))
}

pub fn regex_replace_all_literal(args: &[Value]) -> Result {
    want("regexReplaceAllLiteral", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = must_compile(pattern)?;
    Ok(Value::string(re.replace_all(s, repl, false)))
}

pub fn must_regex_replace_all_literal(args: &[Value]) -> Result {
    want("mustRegexReplaceAllLiteral", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = try_compile(pattern)?;
    Ok(Value::string(re.replace_all(s, repl, false)))
}

/// Go's `Regexp.Split`.
fn split<'a>(re: &Pattern, pattern: &str, s: &'a str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    if !pattern.is_empty() && s.is_empty() {
        return vec![""];
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(s).take(limit) {
        if n > 0 && out.len() == limit - 1 {
            break;
        }
        end = m.start;
        if m.end != 0 {
            out.push(&s[beg..end]);
        }
        beg = m.end;
    }
    if end != s.len() {
        out.push(&s[beg..]);
    }
    out
}

pub fn regex_split(args: &[Value]) -> Result {
    want("regexSplit", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = must_compile(pattern)?;
    Ok(split_value(split(&re, pattern, s, n), n))
}

/// Go's `Regexp.Split` gives a nil `[]string` for `n == 0`, else a non-nil one.
fn split_value(parts: Vec<&str>, n: i64) -> Value {
    if n == 0 {
        Value::nil_typed_list(SliceType::String)
    } else {
        strings(parts)
    }
}

pub fn must_regex_split(args: &[Value]) -> Result {
    want("mustRegexSplit", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = try_compile(pattern)?;
    Ok(split_value(split(&re, pattern, s, n), n))
}

/// Go's `regexp.QuoteMeta`.
pub fn regex_quote_meta(args: &[Value]) -> Result {
    want("regexQuoteMeta", args, 1)?;
    let s = string(&args[0])?;
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::string(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_go_does_not_know_are_refused() {
        // Found by the differential tester: `\u003C` compiles in the regex crate.
        assert_eq!(escape_go_refuses("a\\u003Cb"), Some("\\u".to_string()));
        assert_eq!(escape_go_refuses("\\e"), Some("\\e".to_string()));
        assert_eq!(escape_go_refuses("\\d\\w\\x41\\pL\\Q\\u\\E\\n"), None);
        assert_eq!(escape_go_refuses("\\\\u"), None);
    }

    #[test]
    fn a_brace_that_starts_no_repetition_is_a_literal_as_in_go() {
        // Found by the differential tester: Go compiles `{"a": 1}`.
        assert_eq!(go_pattern("{\"a\": 1}"), "\\{\"a\": 1}");
        assert_eq!(go_pattern("a{2}b{1,}c{1,3}"), "a{2}b{1,}c{1,3}");
        assert_eq!(go_pattern("a{,2}{x}{"), "a\\{,2}\\{x}\\{");
        assert_eq!(go_pattern("[{]"), "[{]");
    }
}
