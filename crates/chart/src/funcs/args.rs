//! Arguments as Go's `text/template` hands them to a function: the arity check and the
//! reflect conversions to each Go parameter type, with Go's error texts; plus the
//! `spf13/cast` conversions Sprig's numeric functions use.

use super::FuncError;
use crate::value::{MapRef, MapType, SliceType, Value};

/// Checks a fixed arity: `wrong number of args for NAME: want N got M`.
pub fn want(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(FuncError::Args(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )))
    }
}

/// Checks a variadic arity: `wrong number of args for NAME: want at least N got M`.
pub fn want_at_least(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() >= n {
        Ok(())
    } else {
        Err(FuncError::Args(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        )))
    }
}

/// Go's `validateType` error. A nil argument is a nil `interface {}` (a missing map
/// key, a function's nil result), which Go refuses for every concrete parameter type.
fn wrong_type(expected: &str, value: &Value) -> FuncError {
    let got = match value {
        Value::Nil => "interface {}",
        other => other.type_name(),
    };
    FuncError::Args(format!(
        "wrong type for value; expected {expected}; got {got}"
    ))
}

/// A Go `string` parameter: only a string fits.
pub fn string(value: &Value) -> Result<&str, FuncError> {
    match value {
        Value::String(s) => Ok(s),
        // Functions that read text see a cut character as Go's output shows it.
        Value::ByteString(b) => Ok(b.text()),
        other => Err(wrong_type("string", other)),
    }
}

/// A Go `string` parameter read as Go reads it: its bytes, which need not be UTF-8.
pub fn go_bytes(value: &Value) -> Result<&[u8], FuncError> {
    value.go_bytes().ok_or_else(|| wrong_type("string", value))
}

/// A Go `int` parameter: only an integer fits (a values-file number is a float64 and
/// is refused, as Go refuses it).
pub fn int(value: &Value) -> Result<i64, FuncError> {
    match value {
        Value::Int(i) => Ok(*i),
        // Go reports a values-file float64 reaching an int parameter as the map's
        // element type.
        Value::Float(_) => Err(wrong_type("int", &Value::Nil)),
        other => Err(wrong_type("int", other)),
    }
}

/// A Go `float64` parameter (an integer constant converts, as Go converts literals).
pub fn float(value: &Value) -> Result<f64, FuncError> {
    match value {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        other => Err(wrong_type("float64", other)),
    }
}

/// A Go `bool` parameter.
pub fn boolean(value: &Value) -> Result<bool, FuncError> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type("bool", other)),
    }
}

/// A Go `map[string]interface{}` parameter (a nil interface is refused, as in Go).
pub fn map(value: &Value) -> Result<&MapRef, FuncError> {
    match value {
        // `common.Values` is assignable to the parameter; `map[string]string` is not.
        Value::Map(m) if m.map_type() != MapType::StringMap => Ok(m),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

/// A Go `[]interface{}` parameter.
pub fn list(value: &Value) -> Result<&[Value], FuncError> {
    match value {
        // A typed slice (`[]string` from `splitList`) is not assignable to it.
        Value::List(l) if l.slice_type() == SliceType::Interface => Ok(l),
        other => Err(wrong_type("[]interface {}", other)),
    }
}

/// The elements of a Go slice or array reached through reflection (`interface{}`
/// parameters Sprig inspects with `reflect`): lists, byte slices, and objects whose Go
/// type is a slice (`.Capabilities.APIVersions`, a `VersionSet`).
pub fn reflect_slice(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::List(l) => Some(l.to_vec()),
        Value::Bytes(b) => Some(b.iter().map(|b| Value::Int(i64::from(*b))).collect()),
        Value::Object(object) => match object.underlying()? {
            plain @ (Value::List(_) | Value::Bytes(_)) => reflect_slice(&plain),
            _ => None,
        },
        _ => None,
    }
}

/// Go's `reflect.Kind` name of a value (`slice`, `map`, `string`, `int`, `float64`...).
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Uint64(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) | Value::ByteString(_) => "string",
        Value::Bytes(_) | Value::List(_) => "slice",
        Value::Map(_) => "map",
        // A named slice or map type (`VersionSet`, `files`) has its underlying kind.
        Value::Object(object) => match object.underlying() {
            Some(plain) => kind_name(&plain),
            None => object.go_kind(),
        },
    }
}

/// `cast.ToInt64`: numbers truncate, strings parse (base prefixes, `1.0`), bools are
/// 1/0, anything else is 0.
pub fn to_int64(value: &Value) -> i64 {
    match value {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Float(f) => go_float_to_int64(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// Go's `int64(f)` as amd64 computes it (CVTTSD2SI): NaN and anything out of int64's
/// range give `math.MinInt64` (Rust's `as` saturates instead).
pub fn go_float_to_int64(f: f64) -> i64 {
    // -2^63 is exact in f64; 2^63 is the first value out of range above.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// `cast.ToFloat64`: numbers convert, strings parse, bools are 1/0, anything else 0.
pub fn to_float64(value: &Value) -> f64 {
    match value {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint64(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// cast's `trimZeroDecimal`: `"1.00"` → `"1"`, other strings unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=bytes.len()).rev() {
        match bytes[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, `0x`/`0o`/`0b`/leading-zero octal prefixes,
/// underscores between digits.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    let digits = if digits.contains('_') {
        // Underscores are only allowed between digits (or after a base prefix).
        if digits.ends_with('_') || digits.contains("__") || (!prefixed && digits.starts_with('_'))
        {
            return None;
        }
        digits.replace('_', "")
    } else {
        digits
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms charts use (decimal, exponent,
/// `Inf`, `NaN`).
pub fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.strip_prefix('+').unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    match lower.trim_start_matches('-') {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if lower.is_empty()
        || !lower
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'-' | b'+' | b'_'))
    {
        return None;
    }
    if lower.contains('_') {
        // Go accepts underscores only between digits, as in Go literals.
        let b = lower.as_bytes();
        let ok = b.iter().enumerate().all(|(i, c)| {
            *c != b'_'
                || (i > 0
                    && b[i - 1].is_ascii_digit()
                    && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        if !ok {
            return None;
        }
        return finite(lower.replace('_', "").parse::<f64>().ok());
    }
    finite(lower.parse::<f64>().ok())
}

/// Go's ParseFloat refuses a number out of float64's range (`1e400`), where Rust's
/// gives infinity.
fn finite(parsed: Option<f64>) -> Option<f64> {
    parsed.filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_out_of_float64_range_are_not_numbers() {
        // Found by the differential tester: cast.ToFloat64("1e400") is 0.
        assert_eq!(parse_go_float("1e400"), None);
        assert_eq!(parse_go_float("-1_0e400"), None);
        assert_eq!(parse_go_float("inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("1e308"), Some(1e308));
    }

    #[test]
    fn floats_out_of_int64_range_convert_as_go_on_amd64() {
        // Found by the differential tester (`max 1e300` is -9223372036854775808 in Helm).
        assert_eq!(go_float_to_int64(1e300), i64::MIN);
        assert_eq!(go_float_to_int64(-1e300), i64::MIN);
        assert_eq!(go_float_to_int64(f64::NAN), i64::MIN);
        assert_eq!(go_float_to_int64(9_223_372_036_854_775_808.0), i64::MIN);
        assert_eq!(go_float_to_int64(-9_223_372_036_854_775_808.0), i64::MIN);
        assert_eq!(go_float_to_int64(-2.9), -2);
        assert_eq!(go_float_to_int64(1e18), 1_000_000_000_000_000_000);
    }

    use super::*;

    #[test]
    fn cast_int64_follows_spf13_cast() {
        assert_eq!(to_int64(&Value::string("0x1F")), 31);
        assert_eq!(to_int64(&Value::string("010")), 8);
        assert_eq!(to_int64(&Value::string("1.00")), 1);
        assert_eq!(to_int64(&Value::string("1.5")), 0);
        assert_eq!(to_int64(&Value::Float(2.9)), 2);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(to_int64(&Value::string("-42")), -42);
    }
}
