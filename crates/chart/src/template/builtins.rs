//! Go's builtin template functions (`text/template/funcs.go`) other than `and`, `or`
//! and `not`, which the executor evaluates itself (they short-circuit).

use super::ast::Builtin;
use super::fmt;
use crate::value::Value;
use std::cmp::Ordering;

/// Calls builtin `b`; the error is the message Go's function returns.
pub(crate) fn call(b: Builtin, args: &[Value]) -> Result<Value, String> {
    if matches!(b, Builtin::Len | Builtin::Index)
        && let Some(Value::Object(object)) = args.first()
        && let Some(plain) = object.underlying()
    {
        let mut args = args.to_vec();
        args[0] = plain;
        return call(b, &args);
    }
    match b {
        Builtin::Len => length(&args[0]),
        Builtin::Index => index(&args[0], &args[1..]),
        Builtin::Slice => slice(&args[0], &args[1..]),
        Builtin::Print => Ok(fmt::sprint_value(args)),
        Builtin::Println => Ok(fmt::sprintln_value(args)),
        Builtin::Printf => {
            let format = args[0].as_str().unwrap_or_default();
            Ok(fmt::sprintf_value(format, &args[1..]))
        }
        Builtin::Html => Ok(Value::string(html_escape(&eval_args(args)))),
        Builtin::Js => Ok(Value::string(js_escape(&eval_args(args)))),
        Builtin::Urlquery => Ok(Value::string(match args {
            // Go escapes a string's bytes, stray ones too.
            _ if args.iter().any(|a| matches!(a, Value::ByteString(_)))
                && !args.iter().any(|a| matches!(a, Value::Nil)) =>
            {
                let mut bytes = crate::value::GoBuf::default();
                fmt::sprint_into(&mut bytes, args);
                query_escape(bytes.as_bytes())
            }
            _ => query_escape(eval_args(args).as_bytes()),
        })),
        Builtin::Call => Err(format!(
            "non-function {} of type {}",
            text(&args[0]),
            args[0].type_name()
        )),
        Builtin::Eq => eq(&args[0], &args[1..]).map(Value::Bool),
        Builtin::Ne => eq(&args[0], &args[1..2]).map(|t| Value::Bool(!t)),
        Builtin::Lt => lt(&args[0], &args[1]).map(Value::Bool),
        Builtin::Le => le(&args[0], &args[1]).map(Value::Bool),
        Builtin::Gt => le(&args[0], &args[1]).map(|t| Value::Bool(!t)),
        Builtin::Ge => lt(&args[0], &args[1]).map(|t| Value::Bool(!t)),
        Builtin::And | Builtin::Or | Builtin::Not => Ok(Value::Nil),
    }
}

fn text(v: &Value) -> String {
    let mut s = String::new();
    fmt::write_value(&mut s, v);
    s
}

/// Go's `evalArgs`: a lone string as is, else `fmt.Sprint` (nil prints `<no value>`).
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    if args.iter().any(|a| matches!(a, Value::Nil)) {
        let mut out = String::new();
        let mut prev_string = false;
        for (i, arg) in args.iter().enumerate() {
            let is_string = matches!(arg, Value::String(_) | Value::ByteString(_) | Value::Nil);
            if i > 0 && !is_string && !prev_string {
                out.push(' ');
            }
            match arg {
                Value::Nil => out.push_str("<no value>"),
                other => fmt::write_value(&mut out, other),
            }
            prev_string = is_string;
        }
        return out;
    }
    fmt::sprint(args)
}

fn length(item: &Value) -> Result<Value, String> {
    let n = match item {
        Value::String(s) => s.len(),
        Value::ByteString(b) => b.bytes().len(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Nil => return Err("len of nil pointer".to_string()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Value::Nil => return Err("cannot index slice/array with nil".to_string()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if let Value::Nil = item {
        return Err("index of untyped nil".to_string());
    }
    let mut item = item.clone();
    for index in indexes {
        item = match &item {
            Value::Nil => return Err("index of nil pointer".to_string()),
            Value::List(l) => {
                let x = index_arg(index, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or_else(|| "reflect: slice index out of range".to_string())?
            }
            Value::String(_) | Value::ByteString(_) => {
                let s = item.go_bytes().unwrap_or_default();
                let x = index_arg(index, s.len())?;
                let b = s
                    .get(x)
                    .ok_or_else(|| "reflect: string index out of range".to_string())?;
                Value::Int(i64::from(*b))
            }
            Value::Bytes(bytes) => {
                let x = index_arg(index, bytes.len())?;
                let b = bytes
                    .get(x)
                    .ok_or_else(|| "reflect: slice index out of range".to_string())?;
                Value::Int(i64::from(*b))
            }
            Value::Map(m) => match index {
                Value::String(k) => m.get_or_zero(k),
                Value::Nil => return Err("value is nil; should be of type string".to_string()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if let Value::Nil = item {
        return Err("slice of untyped nil".to_string());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::String(_) | Value::ByteString(_) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_string());
            }
            item.go_bytes().map_or(0, <[u8]>::len)
        }
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(_) | Value::ByteString(_) => {
            let bytes = item.go_bytes().unwrap_or_default();
            Value::from_go_bytes(bytes[idx[0]..idx[1]].to_vec())
        }
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        // Go compares signed and unsigned integers by value.
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) | Value::ByteString(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

/// Go's comparison of two integers, signed or unsigned, by value.
fn int_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    let wide = |v: &Value| match v {
        Value::Int(i) | Value::Int64(i) => Some(i128::from(*i)),
        Value::Uint64(u) => Some(i128::from(*u)),
        _ => None,
    };
    Some(wide(a)?.cmp(&wide(b)?))
}

fn go_type(v: &Value) -> &str {
    v.type_name()
}

fn eq(arg1: &Value, arg2: &[Value]) -> Result<bool, String> {
    if arg2.is_empty() {
        return Err("missing argument for comparison".to_string());
    }
    let k1 = basic_kind(arg1);
    for arg in arg2 {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            if !matches!(arg1, Value::Nil) && !matches!(arg, Value::Nil) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    go_type(arg1),
                    go_type(arg)
                ));
            }
            false
        } else {
            match (arg1, arg) {
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (a, b) if basic_kind(a) == Kind::Int => int_cmp(a, b) == Some(Ordering::Equal),
                (Value::Float(a), Value::Float(b)) => a == b,
                (a, b) if basic_kind(a) == Kind::String => a.go_bytes() == b.go_bytes(),
                (Value::Nil, Value::Nil) => true,
                (Value::Nil, _) | (_, Value::Nil) => false,
                // Go compares slices only with nil: a nil slice equals a nil one.
                (Value::List(_), Value::List(_)) if a_or_b_nil(arg1, arg) => {
                    arg1.is_nil_list() == arg.is_nil_list()
                }
                (a, b) => {
                    if go_type(a) != go_type(b) {
                        return Err(format!(
                            "incompatible types for comparison: {} and {}",
                            go_type(a),
                            go_type(b)
                        ));
                    }
                    match (a, b) {
                        (Value::Object(x), Value::Object(y)) => {
                            crate::funcs::collections::same_object(x, y)
                        }
                        _ => {
                            return Err(format!("non-comparable type {}: {}", text(a), go_type(a)));
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn a_or_b_nil(a: &Value, b: &Value) -> bool {
    a.is_nil_list() || b.is_nil_list()
}

fn lt(arg1: &Value, arg2: &Value) -> Result<bool, String> {
    let k1 = basic_kind(arg1);
    if k1 == Kind::Invalid {
        return Err("invalid type for comparison".to_string());
    }
    let k2 = basic_kind(arg2);
    if k2 == Kind::Invalid {
        return Err("invalid type for comparison".to_string());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            go_type(arg1),
            go_type(arg2)
        ));
    }
    match (arg1, arg2) {
        (a, b) if basic_kind(a) == Kind::Int => Ok(int_cmp(a, b) == Some(Ordering::Less)),
        (Value::Float(a), Value::Float(b)) => Ok(a < b),
        (a, b) if basic_kind(a) == Kind::String => Ok(a.go_bytes() < b.go_bytes()),
        _ => Err("invalid type for comparison".to_string()),
    }
}

fn le(arg1: &Value, arg2: &Value) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
