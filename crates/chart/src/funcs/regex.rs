//! Sprig's regular-expression functions over Go's RE2 syntax (the `regex` crate speaks
//! the same dialect), with Go's `$1`/`${name}` replacement expansion and Go's `Split`
//! and `FindAll` limits.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use super::args::{int, string, want};
use super::{FuncError, Result};
use crate::value::Value;

thread_local! {
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Compiles `pattern` (cached per thread), or Go's `error parsing regexp: ...` text.
fn compile(pattern: &str) -> std::result::Result<Regex, String> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Regex::new(pattern).map_err(|e| go_regex_error(&e, pattern))?;
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

/// Go's `error parsing regexp: CODE: `FRAGMENT`` for the regex crate's error.
fn go_regex_error(error: &regex::Error, pattern: &str) -> String {
    let text = error.to_string();
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
fn must_compile(pattern: &str) -> std::result::Result<Regex, FuncError> {
    compile(pattern).map_err(|e| FuncError::Call(format!("regexp: Compile(`{pattern}`): {e}")))
}

fn try_compile(pattern: &str) -> std::result::Result<Regex, FuncError> {
    compile(pattern).map_err(FuncError::Call)
}

fn strings(items: Vec<&str>) -> Value {
    Value::list(items.into_iter().map(Value::string).collect())
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

fn find_all<'a>(re: &Regex, s: &'a str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    re.find_iter(s).take(limit).map(|m| m.as_str()).collect()
}

pub fn regex_find_all(args: &[Value]) -> Result {
    want("regexFindAll", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    Ok(strings(find_all(&must_compile(pattern)?, s, n)))
}

pub fn must_regex_find_all(args: &[Value]) -> Result {
    want("mustRegexFindAll", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    Ok(strings(find_all(&try_compile(pattern)?, s, n)))
}

pub fn regex_find(args: &[Value]) -> Result {
    want("regexFind", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    let re = must_compile(pattern)?;
    Ok(Value::string(re.find(s).map_or("", |m| m.as_str())))
}

pub fn must_regex_find(args: &[Value]) -> Result {
    want("mustRegexFind", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    let re = try_compile(pattern)?;
    Ok(Value::string(re.find(s).map_or("", |m| m.as_str())))
}

pub fn regex_replace_all(args: &[Value]) -> Result {
    want("regexReplaceAll", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = must_compile(pattern)?;
    Ok(Value::string(re.replace_all(s, repl).into_owned()))
}

pub fn must_regex_replace_all(args: &[Value]) -> Result {
    want("mustRegexReplaceAll", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = try_compile(pattern)?;
    Ok(Value::string(re.replace_all(s, repl).into_owned()))
}

pub fn regex_replace_all_literal(args: &[Value]) -> Result {
    want("regexReplaceAllLiteral", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = must_compile(pattern)?;
    Ok(Value::string(
        re.replace_all(s, regex::NoExpand(repl)).into_owned(),
    ))
}

pub fn must_regex_replace_all_literal(args: &[Value]) -> Result {
    want("mustRegexReplaceAllLiteral", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    let re = try_compile(pattern)?;
    Ok(Value::string(
        re.replace_all(s, regex::NoExpand(repl)).into_owned(),
    ))
}

/// Go's `Regexp.Split`.
fn split<'a>(re: &Regex, pattern: &str, s: &'a str, n: i64) -> Vec<&'a str> {
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
        end = m.start();
        if m.end() != 0 {
            out.push(&s[beg..end]);
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(&s[beg..]);
    }
    out
}

pub fn regex_split(args: &[Value]) -> Result {
    want("regexSplit", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    Ok(strings(split(&must_compile(pattern)?, pattern, s, n)))
}

pub fn must_regex_split(args: &[Value]) -> Result {
    want("mustRegexSplit", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    Ok(strings(split(&try_compile(pattern)?, pattern, s, n)))
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
