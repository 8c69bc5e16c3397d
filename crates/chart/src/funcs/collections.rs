//! Sprig's lists (list.go), dicts (dict.go, mergo), defaults (defaults.go) and
//! reflection helpers (reflect.go).
//!
//! Maps are shared references ([`MapRef`]), so `set`, `unset`, `merge` and
//! `mergeOverwrite` change the map in place, visible through every other reference to
//! it, exactly as Go's maps behave.

use super::args::{
    boolean, go_float_to_int64, int, kind_name, map, reflect_slice, string, to_int64, want,
    want_at_least,
};
use super::gofmt::strval;
use super::{FuncError, Result};
use crate::value::{GoObject, Map, MapRef, MapType, SliceType, Value};
use std::sync::Arc;

/// Sprig's `empty`: nil, false, 0, and empty strings, lists and maps.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Uint64(u) => *u == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::ByteString(_) => false,
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(_) => false,
    }
}

/// Go's `reflect.DeepEqual` on template values (an int never equals a float).
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > crate::value::MAX_NESTING {
        // Only maps that contain themselves get here; Go's DeepEqual remembers the
        // maps it has seen and takes a pair met again as equal.
        return true;
    }
    let deep_equal = |p: &Value, q: &Value| deep_equal_at(p, q, depth + 1);
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint64(x), Value::Uint64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::ByteString(x), Value::ByteString(y)) => x.bytes() == y.bytes(),
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y))
            if x.is_nil() != y.is_nil() || x.slice_type() != y.slice_type() =>
        {
            false
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        // `common.Values`, `map[string]interface {}` and `map[string]string` are
        // different Go types; a nil map equals only a nil map.
        (Value::Map(x), Value::Map(y))
            if x.map_type() != y.map_type() || x.is_nil() != y.is_nil() =>
        {
            false
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.ptr_eq(y) {
                return true;
            }
            let (x, y) = (x.read(), y.read());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => same_object(x, y),
        _ => false,
    }
}

/// Go's `==` on two objects: the same pointer, or structs of one type with equal
/// fields (a `KubeVersion` and its copy).
pub fn same_object(x: &Arc<dyn GoObject>, y: &Arc<dyn GoObject>) -> bool {
    if std::ptr::addr_eq(Arc::as_ptr(x), Arc::as_ptr(y)) {
        return true;
    }
    x.type_name() == y.type_name()
        && x.go_fields().is_some()
        && y.go_fields().is_some()
        && x.go_string() == y.go_string()
}

/// A deep copy: maps and lists are fresh (`copystructure.Copy`).
pub fn deep_copy_value(value: &Value) -> Value {
    match value {
        // copystructure keeps a nil slice nil.
        Value::List(_) if value.is_nil_list() => value.clone(),
        // copystructure keeps the copied value's type (`[]string`, `common.Values`...).
        Value::List(items) => Value::typed_list(
            items.iter().map(deep_copy_value).collect(),
            items.slice_type(),
        ),
        Value::Map(m) if m.is_nil() => value.clone(),
        Value::Map(m) => {
            let copy = MapRef::new(
                m.read()
                    .iter()
                    .map(|(k, v)| (k.clone(), deep_copy_value(v)))
                    .collect(),
            );
            Value::Map(copy.with_type(m.map_type()))
        }
        other => other.clone(),
    }
}

// ---- defaults -------------------------------------------------------------------------

pub fn default(args: &[Value]) -> Result {
    want_at_least("default", args, 1)?;
    match args.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

pub fn empty(args: &[Value]) -> Result {
    want("empty", args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

pub fn coalesce(args: &[Value]) -> Result {
    Ok(args
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Nil))
}

pub fn all(args: &[Value]) -> Result {
    Ok(Value::Bool(args.iter().all(|v| !is_empty(v))))
}

pub fn any(args: &[Value]) -> Result {
    Ok(Value::Bool(args.iter().any(|v| !is_empty(v))))
}

pub fn ternary(args: &[Value]) -> Result {
    want("ternary", args, 3)?;
    Ok(if boolean(&args[2])? {
        args[0].clone()
    } else {
        args[1].clone()
    })
}

pub fn deep_copy(args: &[Value]) -> Result {
    want("deepCopy", args, 1)?;
    copy_non_nil(&args[0])
}

pub fn must_deep_copy(args: &[Value]) -> Result {
    want("mustDeepCopy", args, 1)?;
    copy_non_nil(&args[0])
}

/// copystructure reflects on its argument: `nil` panics in Go's reflect, which Helm
/// reports as the call's error (for `deepCopy` too).
fn copy_non_nil(value: &Value) -> Result {
    if matches!(value, Value::Nil) {
        return Err(FuncError::Call(
            "reflect: call of reflect.Value.Type on zero Value".into(),
        ));
    }
    if value.nesting_exceeds(crate::value::MAX_NESTING) {
        return Err(FuncError::Call(format!(
            "cannot copy a value nested more than {} levels deep (a map that contains itself)",
            crate::value::MAX_NESTING
        )));
    }
    Ok(deep_copy_value(value))
}

// ---- reflection -----------------------------------------------------------------------

fn type_of(value: &Value) -> String {
    value.type_name().to_string()
}

pub fn type_of_fn(args: &[Value]) -> Result {
    want("typeOf", args, 1)?;
    Ok(Value::string(type_of(&args[0])))
}

pub fn type_is(args: &[Value]) -> Result {
    want("typeIs", args, 2)?;
    Ok(Value::Bool(string(&args[0])? == type_of(&args[1])))
}

pub fn type_is_like(args: &[Value]) -> Result {
    want("typeIsLike", args, 2)?;
    let target = string(&args[0])?;
    let t = type_of(&args[1]);
    Ok(Value::Bool(target == t || format!("*{target}") == t))
}

pub fn kind_of(args: &[Value]) -> Result {
    want("kindOf", args, 1)?;
    Ok(Value::string(kind_name(&args[0])))
}

pub fn kind_is(args: &[Value]) -> Result {
    want("kindIs", args, 2)?;
    Ok(Value::Bool(string(&args[0])? == kind_name(&args[1])))
}

pub fn deep_equal_fn(args: &[Value]) -> Result {
    want("deepEqual", args, 2)?;
    Ok(Value::Bool(deep_equal(&args[0], &args[1])))
}

// ---- lists ----------------------------------------------------------------------------

pub fn list(args: &[Value]) -> Result {
    Ok(Value::list(args.to_vec()))
}

/// The elements of a slice argument, or Sprig's error naming the value's kind.
fn slice_arg(value: &Value, what: &str) -> std::result::Result<Vec<Value>, FuncError> {
    if matches!(value, Value::Nil) {
        return Err(FuncError::Call(
            "runtime error: invalid memory address or nil pointer dereference".into(),
        ));
    }
    reflect_slice(value).ok_or_else(|| FuncError::Call(what.replace("{}", kind_name(value))))
}

fn push_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 2)?;
    let mut items = slice_arg(&args[0], "Cannot push on type {}")?;
    items.push(args[1].clone());
    Ok(Value::list(items))
}

pub fn push(args: &[Value]) -> Result {
    push_impl("append", args)
}

pub fn push_alias(args: &[Value]) -> Result {
    push_impl("push", args)
}

pub fn must_push(args: &[Value]) -> Result {
    push_impl("mustPush", args)
}

pub fn must_append(args: &[Value]) -> Result {
    push_impl("mustAppend", args)
}

fn prepend_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 2)?;
    let mut items = slice_arg(&args[0], "Cannot prepend on type {}")?;
    items.insert(0, args[1].clone());
    Ok(Value::list(items))
}

pub fn prepend(args: &[Value]) -> Result {
    prepend_impl("prepend", args)
}

pub fn must_prepend(args: &[Value]) -> Result {
    prepend_impl("mustPrepend", args)
}

fn first_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let items = slice_arg(&args[0], "Cannot find first on type {}")?;
    Ok(items.into_iter().next().unwrap_or(Value::Nil))
}

pub fn first(args: &[Value]) -> Result {
    first_impl("first", args)
}

pub fn must_first(args: &[Value]) -> Result {
    first_impl("mustFirst", args)
}

fn last_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let items = slice_arg(&args[0], "Cannot find last on type {}")?;
    Ok(items.into_iter().last().unwrap_or(Value::Nil))
}

pub fn last(args: &[Value]) -> Result {
    last_impl("last", args)
}

pub fn must_last(args: &[Value]) -> Result {
    last_impl("mustLast", args)
}

fn rest_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let items = slice_arg(&args[0], "Cannot find rest on type {}")?;
    // Sprig returns a nil slice for an empty list.
    if items.is_empty() {
        return Ok(Value::nil_list());
    }
    Ok(Value::list(items.into_iter().skip(1).collect()))
}

pub fn rest(args: &[Value]) -> Result {
    rest_impl("rest", args)
}

pub fn must_rest(args: &[Value]) -> Result {
    rest_impl("mustRest", args)
}

fn initial_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let mut items = slice_arg(&args[0], "Cannot find initial on type {}")?;
    // Sprig returns a nil slice for an empty list.
    if items.is_empty() {
        return Ok(Value::nil_list());
    }
    items.pop();
    Ok(Value::list(items))
}

pub fn initial(args: &[Value]) -> Result {
    initial_impl("initial", args)
}

pub fn must_initial(args: &[Value]) -> Result {
    initial_impl("mustInitial", args)
}

fn reverse_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let mut items = slice_arg(&args[0], "Cannot find reverse on type {}")?;
    items.reverse();
    Ok(Value::list(items))
}

pub fn reverse(args: &[Value]) -> Result {
    reverse_impl("reverse", args)
}

pub fn must_reverse(args: &[Value]) -> Result {
    reverse_impl("mustReverse", args)
}

fn compact_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let items = slice_arg(&args[0], "Cannot compact on type {}")?;
    Ok(Value::list(
        items.into_iter().filter(|v| !is_empty(v)).collect(),
    ))
}

pub fn compact(args: &[Value]) -> Result {
    compact_impl("compact", args)
}

pub fn must_compact(args: &[Value]) -> Result {
    compact_impl("mustCompact", args)
}

fn uniq_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 1)?;
    let items = slice_arg(&args[0], "Cannot find uniq on type {}")?;
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.iter().any(|o| deep_equal(o, &item)) {
            out.push(item);
        }
    }
    Ok(Value::list(out))
}

pub fn uniq(args: &[Value]) -> Result {
    uniq_impl("uniq", args)
}

pub fn must_uniq(args: &[Value]) -> Result {
    uniq_impl("mustUniq", args)
}

fn without_impl(name: &str, args: &[Value]) -> Result {
    want_at_least(name, args, 1)?;
    let items = slice_arg(&args[0], "Cannot find without on type {}")?;
    let omit = &args[1..];
    Ok(Value::list(
        items
            .into_iter()
            .filter(|item| !omit.iter().any(|o| deep_equal(o, item)))
            .collect(),
    ))
}

pub fn without(args: &[Value]) -> Result {
    without_impl("without", args)
}

pub fn must_without(args: &[Value]) -> Result {
    without_impl("mustWithout", args)
}

fn has_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 2)?;
    if matches!(args[1], Value::Nil) {
        return Ok(Value::Bool(false));
    }
    let items = slice_arg(&args[1], "Cannot find has on type {}")?;
    Ok(Value::Bool(
        items.iter().any(|item| deep_equal(&args[0], item)),
    ))
}

pub fn has(args: &[Value]) -> Result {
    has_impl("has", args)
}

pub fn must_has(args: &[Value]) -> Result {
    has_impl("mustHas", args)
}

fn slice_impl(name: &str, args: &[Value]) -> Result {
    want_at_least(name, args, 1)?;
    let items = slice_arg(&args[0], "list should be type of slice or array but {}")?;
    // reflect's Slice keeps the slice's type (`[]string` stays `[]string`).
    let slice_type = match &args[0] {
        Value::List(list) => list.slice_type(),
        _ => SliceType::Interface,
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map(to_int64).unwrap_or(0);
    let end = if args.len() < 3 {
        items.len() as i64
    } else {
        to_int64(&args[2])
    };
    if start < 0 || end < start || end > items.len() as i64 {
        return Err(FuncError::Call(
            "reflect.Value.Slice: slice index out of range".into(),
        ));
    }
    let part = items[start as usize..end as usize].to_vec();
    if let Value::Bytes(_) = &args[0] {
        let bytes: Vec<u8> = part
            .iter()
            .filter_map(|b| b.as_int())
            .map(|b| b as u8)
            .collect();
        return Ok(Value::Bytes(bytes.into()));
    }
    Ok(Value::typed_list(part, slice_type))
}

pub fn slice(args: &[Value]) -> Result {
    slice_impl("slice", args)
}

pub fn must_slice(args: &[Value]) -> Result {
    slice_impl("mustSlice", args)
}

pub fn concat(args: &[Value]) -> Result {
    let mut out = Vec::new();
    for value in args {
        match reflect_slice(value) {
            Some(items) => out.extend(items),
            None => {
                return Err(FuncError::Call(format!(
                    "Cannot concat type {} as list",
                    kind_name(value)
                )));
            }
        }
    }
    // Sprig appends to a nil slice: nothing appended leaves it nil.
    Ok(Value::list_or_nil(out))
}

fn chunk_impl(name: &str, args: &[Value]) -> Result {
    want(name, args, 2)?;
    let size = int(&args[0])?;
    let items = slice_arg(&args[1], "Cannot chunk type {}")?;
    let chunks = go_chunks(&items, size)?;
    Ok(Value::typed_list(chunks, SliceType::InterfaceSlices))
}

/// Sprig's `chunk` arithmetic, in floats as Sprig does it: a size of 0 or below gives
/// no chunks, or a chunk of negative length that Go's `make` refuses.
fn go_chunks(items: &[Value], size: i64) -> std::result::Result<Vec<Value>, FuncError> {
    let len = items.len() as f64;
    let count = go_float_to_int64((((len - 1.0) / size as f64).floor()) + 1.0);
    let too_long = || FuncError::Call("runtime error: makeslice: len out of range".into());
    if count < 0 {
        return Err(too_long());
    }
    let mut chunks = Vec::new();
    for i in 0..count {
        let mut chunk_len = size;
        if i == count - 1 {
            // Go's math.Mod keeps the dividend's sign; NaN for a size of 0.
            chunk_len = go_float_to_int64((len % size as f64).floor());
            if chunk_len == 0 {
                chunk_len = size;
            }
        }
        if chunk_len < 0 {
            return Err(too_long());
        }
        let start = i.checked_mul(size).ok_or_else(too_long)?;
        let chunk = (start..start.saturating_add(chunk_len))
            .map(|at| {
                usize::try_from(at)
                    .ok()
                    .and_then(|at| items.get(at).cloned())
                    .ok_or_else(|| FuncError::Call("reflect: slice index out of range".into()))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        chunks.push(Value::list(chunk));
    }
    Ok(chunks)
}

pub fn chunk(args: &[Value]) -> Result {
    chunk_impl("chunk", args)
}

pub fn must_chunk(args: &[Value]) -> Result {
    chunk_impl("mustChunk", args)
}

// ---- dicts ----------------------------------------------------------------------------

pub fn dict(args: &[Value]) -> Result {
    let mut out = Map::new();
    for pair in args.chunks(2) {
        let key = strval(&pair[0]);
        out.insert(
            key,
            pair.get(1).cloned().unwrap_or_else(|| Value::string("")),
        );
    }
    Ok(Value::map(out))
}

pub fn get(args: &[Value]) -> Result {
    want("get", args, 2)?;
    let d = map(&args[0])?;
    let key = string(&args[1])?;
    Ok(d.get(key).unwrap_or_else(|| Value::string("")))
}

pub fn set(args: &[Value]) -> Result {
    want("set", args, 3)?;
    let d = map(&args[0])?;
    let key = string(&args[1])?;
    if d.is_nil() {
        return Err(FuncError::Call("assignment to entry in nil map".into()));
    }
    d.write().insert(key.to_string(), args[2].clone());
    // Go hands the function a `map[string]interface {}`: that is what comes back, even
    // for `.Values`.
    Ok(Value::Map(d.clone().into_plain()))
}

pub fn unset(args: &[Value]) -> Result {
    want("unset", args, 2)?;
    let d = map(&args[0])?;
    let key = string(&args[1])?;
    if !d.is_nil() {
        d.write().remove(key);
    }
    Ok(Value::Map(d.clone().into_plain()))
}

pub fn has_key(args: &[Value]) -> Result {
    want("hasKey", args, 2)?;
    let d = map(&args[0])?;
    let key = string(&args[1])?;
    Ok(Value::Bool(d.read().contains_key(key)))
}

pub fn pluck(args: &[Value]) -> Result {
    want_at_least("pluck", args, 1)?;
    let key = string(&args[0])?;
    let mut out = Vec::new();
    for d in &args[1..] {
        if let Some(v) = map(d)?.get(key) {
            out.push(v);
        }
    }
    Ok(Value::list(out))
}

pub fn keys(args: &[Value]) -> Result {
    let mut out = Vec::new();
    for d in args {
        out.extend(map(d)?.read().keys().map(|k| Value::string(k.as_str())));
    }
    Ok(Value::typed_list(out, SliceType::String))
}

pub fn values(args: &[Value]) -> Result {
    want("values", args, 1)?;
    let d = map(&args[0])?;
    Ok(Value::list(d.read().values().cloned().collect()))
}

pub fn pick(args: &[Value]) -> Result {
    want_at_least("pick", args, 1)?;
    let d = map(&args[0])?;
    let mut out = Map::new();
    for key in &args[1..] {
        let key = string(key)?;
        if let Some(v) = d.get(key) {
            out.insert(key.to_string(), v);
        }
    }
    Ok(Value::map(out))
}

pub fn omit(args: &[Value]) -> Result {
    want_at_least("omit", args, 1)?;
    let d = map(&args[0])?;
    let omitted = args[1..]
        .iter()
        .map(string)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let out = d
        .read()
        .iter()
        .filter(|(k, _)| !omitted.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Value::map(out))
}

/// mergo's `Merge` of `src` into `dst` (in place): keys missing or empty in `dst` take
/// `src`'s value, nested maps merge recursively; with `overwrite` (`WithOverride`),
/// every non-nil `src` value wins, and nil overwrites too.
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if dst.ptr_eq(src) || depth > 64 {
        return;
    }
    let entries: Vec<(String, Value)> = src
        .read()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, src_value) in entries {
        let dst_value = dst.get(&key);
        if matches!(src_value, Value::Nil) {
            if overwrite {
                dst.write().insert(key, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(s), Some(Value::Map(d))) = (&src_value, &dst_value) {
            merge_into(d, s, overwrite, depth + 1);
            if !d.is_empty() {
                continue;
            }
        }
        let dst_empty = dst_value.as_ref().is_none_or(is_empty);
        if !dst_empty && matches!(src_value, Value::List(_)) && !overwrite {
            continue;
        }
        if overwrite || dst_empty {
            dst.write().insert(key, src_value);
        }
    }
}

fn merge_impl(name: &str, args: &[Value], overwrite: bool) -> Result {
    want_at_least(name, args, 1)?;
    let mut dst = map(&args[0])?.clone().into_plain();
    let srcs = args[1..]
        .iter()
        .map(map)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // mergo makes a map for a nil destination once a source is not nil.
    if dst.is_nil() && srcs.iter().any(|src| !src.is_nil()) {
        dst = MapRef::new(Map::new());
    }
    for src in srcs {
        merge_into(&dst, src, overwrite, 0);
    }
    Ok(Value::Map(dst))
}

pub fn merge(args: &[Value]) -> Result {
    merge_impl("merge", args, false)
}

pub fn must_merge(args: &[Value]) -> Result {
    merge_impl("mustMerge", args, false)
}

pub fn merge_overwrite(args: &[Value]) -> Result {
    merge_impl("mergeOverwrite", args, true)
}

pub fn must_merge_overwrite(args: &[Value]) -> Result {
    merge_impl("mustMergeOverwrite", args, true)
}

pub fn dig(args: &[Value]) -> Result {
    if args.len() < 3 {
        return Err(FuncError::Call("dig needs at least three arguments".into()));
    }
    // Sprig asserts the type: Helm's `common.Values` is not a `map[string]interface {}`.
    let dict = match &args[args.len() - 1] {
        Value::Map(m) if m.map_type() == MapType::Plain => m.clone(),
        other => {
            return Err(FuncError::Call(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                go_dynamic_type(other)
            )));
        }
    };
    let default = &args[args.len() - 2];
    let mut keys = Vec::new();
    for key in &args[..args.len() - 2] {
        match key {
            Value::String(_) | Value::ByteString(_) => {
                keys.push(key.as_str().unwrap_or_default().to_string())
            }
            other => {
                return Err(FuncError::Call(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    go_dynamic_type(other)
                )));
            }
        }
    }
    let mut current = dict;
    for (i, key) in keys.iter().enumerate() {
        let Some(step) = current.get(key) else {
            return Ok(default.clone());
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        current = match step {
            Value::Map(m) if m.map_type() == MapType::Plain => m,
            other => {
                return Err(FuncError::Call(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    go_dynamic_type(&other)
                )));
            }
        };
    }
    Ok(default.clone())
}

/// The dynamic type Go names in an `interface conversion` panic (`nil` for nil).
fn go_dynamic_type(value: &Value) -> &str {
    match value {
        Value::Nil => "nil",
        other => other.type_name(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn deep_copy_of_nil_fails_as_reflect_does() {
        // Found by the differential tester.
        for f in [deep_copy, must_deep_copy] {
            let Err(FuncError::Call(message)) = f(&[Value::Nil]) else {
                panic!("deepCopy nil must fail");
            };
            assert_eq!(message, "reflect: call of reflect.Value.Type on zero Value");
        }
        assert!(deep_copy(&[Value::string("a")]).is_ok());
    }

    use super::*;

    fn m(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn chunk_sizes_follow_sprigs_float_arithmetic() {
        // Found by the differential tester: a negative size is no error for 2 items.
        let two = Value::list(vec![Value::Int(1), Value::Int(2)]);
        let got = chunk(&[Value::Int(-1), two.clone()]).unwrap();
        assert_eq!(got.type_name(), "[][]interface {}");
        assert!(matches!(&got, Value::List(l) if l.is_empty()));
        let got = chunk(&[Value::Int(1), Value::list(vec![])]).unwrap();
        assert!(matches!(&got, Value::List(l) if l.is_empty()));
        assert!(chunk(&[Value::Int(0), two.clone()]).is_err());
        assert!(chunk(&[Value::Int(-1), Value::list(vec![Value::Int(1)])]).is_err());
        let got = chunk(&[Value::Int(3), two]).unwrap();
        assert_eq!(got.to_string(), "[[1 2]]");
    }

    #[test]
    fn typed_slices_and_maps_keep_go_types() {
        let strings = Value::string_list(["a"]);
        assert_eq!(strings.type_name(), "[]string");
        assert!(!deep_equal(
            &strings,
            &Value::list(vec![Value::string("a")])
        ));
        let copy = deep_copy(std::slice::from_ref(&strings)).unwrap();
        assert_eq!(copy.type_name(), "[]string");
        let part = slice(&[strings.clone(), Value::Int(0)]).unwrap();
        assert_eq!(part.type_name(), "[]string");
        assert_eq!(
            push(&[strings, Value::Int(1)]).unwrap().type_name(),
            "[]interface {}"
        );
        assert_eq!(keys(&[m(&[])]).unwrap().type_name(), "[]string");
        // `split`'s map[string]string is no map[string]interface {} argument.
        let string_map = Value::Map(MapRef::new(Map::new()).with_type(MapType::StringMap));
        assert!(matches!(
            set(&[string_map.clone(), Value::string("k"), Value::Int(1)]),
            Err(FuncError::Args(message)) if message.ends_with("got map[string]string")
        ));
        assert!(dig(&[Value::string("a"), Value::Nil, string_map]).is_err());
    }

    #[test]
    fn a_nil_map_reads_as_empty_and_refuses_set() {
        let nil_map = Value::Map(MapRef::nil_map());
        let unset_result = unset(&[nil_map.clone(), Value::string("k")]).unwrap();
        assert!(unset_result.is_nil_container());
        assert!(matches!(
            set(&[unset_result, Value::string("k"), Value::Int(1)]),
            Err(FuncError::Call(message)) if message == "assignment to entry in nil map"
        ));
        assert!(!deep_equal(&nil_map, &m(&[])));
        // mergo makes a map for a nil destination.
        let merged = merge(&[nil_map.clone(), m(&[("a", Value::Int(1))])]).unwrap();
        assert!(!merged.is_nil_container());
        assert!(merge(&[nil_map]).unwrap().is_nil_container());
    }

    #[test]
    fn set_mutates_every_reference() {
        let d = m(&[]);
        let alias = d.clone();
        set(&[d, Value::string("k"), Value::Int(1)]).unwrap();
        assert!(matches!(
            alias.as_map().unwrap().get("k"),
            Some(Value::Int(1))
        ));
    }

    #[test]
    fn merge_keeps_non_empty_destination_values() {
        let dst = m(&[
            ("a", Value::Int(1)),
            ("b", Value::Bool(false)),
            ("n", m(&[("x", Value::Int(1))])),
        ]);
        let src = m(&[
            ("a", Value::Int(2)),
            ("b", Value::Bool(true)),
            ("c", Value::Int(3)),
            ("n", m(&[("y", Value::Int(2))])),
        ]);
        merge(&[dst.clone(), src]).unwrap();
        let got = dst.as_map().unwrap().to_map();
        assert!(matches!(got["a"], Value::Int(1)));
        assert!(matches!(got["b"], Value::Bool(true)));
        assert!(matches!(got["c"], Value::Int(3)));
        assert_eq!(got["n"].as_map().unwrap().len(), 2);
    }
}
