//! Sprig's encodings, checksums, paths, URLs, UUIDs and network stub.

use base64::Engine as _;
use rand::RngCore;
use sha1::Digest as _;

use super::args::{go_bytes, int, map, string, want};
use super::gofmt::{self, strval};
use super::{FuncError, Result};
use crate::value::{Map, Value};

fn s1(name: &str, args: &[Value], f: impl Fn(&str) -> String) -> Result {
    want(name, args, 1)?;
    Ok(Value::string(f(string(&args[0])?)))
}

fn s1_value(name: &str, args: &[Value], f: impl Fn(&str) -> Value) -> Result {
    want(name, args, 1)?;
    Ok(f(string(&args[0])?))
}

/// A function of one Go string read as its bytes (encodings, checksums): a string cut
/// inside a character gives Go's answer, not that of its U+FFFD text.
fn b1(name: &str, args: &[Value], f: impl Fn(&[u8]) -> String) -> Result {
    want(name, args, 1)?;
    Ok(Value::string(f(go_bytes(&args[0])?)))
}

/// Like [`b1`] for functions whose answer is a Go string of any bytes (decoders).
fn b1_bytes(name: &str, args: &[Value], f: impl Fn(&[u8]) -> Vec<u8>) -> Result {
    want(name, args, 1)?;
    Ok(Value::from_go_bytes(f(go_bytes(&args[0])?)))
}

// ---- encodings ------------------------------------------------------------------------

pub fn b64enc(args: &[Value]) -> Result {
    b1("b64enc", args, |s| {
        base64::engine::general_purpose::STANDARD.encode(s)
    })
}

/// `b64dec`: the decoded text, or Go's error text (Sprig returns it as the result).
pub fn b64dec(args: &[Value]) -> Result {
    b1_bytes("b64dec", args, |s| match go_base64_decode(s) {
        Ok(bytes) => bytes,
        Err(offset) => format!("illegal base64 data at input byte {offset}").into_bytes(),
    })
}

/// The value of a standard base64 character, `None` for any other byte.
fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Go's `base64.StdEncoding.DecodeString`, quantum by quantum as Go reads it, so that
/// an error names the byte Go names (offsets count the line breaks it skips): the
/// decoded bytes, or the offset of Go's `CorruptInputError`.
fn go_base64_decode(src: &[u8]) -> std::result::Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let (next, quantum) = decode_quantum(src, si)?;
        out.extend_from_slice(&quantum);
        if next >= src.len() || quantum.len() < 3 {
            return Ok(out);
        }
        si = next;
    }
}

/// Go's `decodeQuantum`: up to four characters from `si` (line breaks skipped) to up
/// to three bytes; the index after them.
fn decode_quantum(src: &[u8], mut si: usize) -> std::result::Result<(usize, Vec<u8>), usize> {
    let is_break = |b: u8| b == b'\n' || b == b'\r';
    let mut buf = [0u8; 4];
    let mut len = 4;
    let mut j = 0;
    while j < 4 {
        if si == src.len() {
            if j == 0 {
                return Ok((si, Vec::new()));
            }
            // Standard encoding wants padding: a short quantum is an error.
            return Err(si - j);
        }
        let byte = src[si];
        si += 1;
        if let Some(value) = base64_value(byte) {
            buf[j] = value;
            j += 1;
            continue;
        }
        if is_break(byte) {
            continue;
        }
        if byte != b'=' || j < 2 {
            return Err(si - 1);
        }
        if j == 2 {
            // "==": the first "=" is read; skip line breaks to the second.
            while si < src.len() && is_break(src[si]) {
                si += 1;
            }
            if si == src.len() {
                return Err(src.len());
            }
            if src[si] != b'=' {
                return Err(si - 1);
            }
            si += 1;
        }
        while si < src.len() && is_break(src[si]) {
            si += 1;
        }
        if si < src.len() {
            // Trailing garbage after the padding.
            return Err(si);
        }
        len = j;
        break;
    }
    let value = (u32::from(buf[0]) << 18)
        | (u32::from(buf[1]) << 12)
        | (u32::from(buf[2]) << 6)
        | u32::from(buf[3]);
    let bytes = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
    Ok((si, bytes[..len - 1].to_vec()))
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(text: &str) -> std::result::Result<Vec<u8>, String> {
    let src: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    let corrupt = |at: usize| format!("illegal base32 data at input byte {at}");
    let value_of = |b: u8| B32.iter().position(|c| *c == b).map(|v| v as u8);
    let olen = src.len();
    let mut at = 0;
    let mut out = Vec::new();
    let mut end = false;
    // Go's decoder, quantum by quantum (8 characters, 5 bytes), so its errors name
    // Go's byte offset.
    while at < olen && !end {
        let mut quantum = [0u8; 8];
        let mut len = 8;
        let mut j = 0;
        while j < 8 {
            if at == olen {
                // The end without the padding the standard encoding wants.
                return Err(corrupt(olen - j));
            }
            let byte = src[at];
            at += 1;
            let left = olen - at;
            if byte == b'=' && j >= 2 && left < 8 {
                if left + j < 7 {
                    return Err(corrupt(olen));
                }
                for k in 0..7 - j {
                    if k < left && src[at + k] != b'=' {
                        return Err(corrupt(at + k - 1));
                    }
                }
                (len, end) = (j, true);
                // 1, 3 and 6 characters make no whole byte (RFC 4648, section 6).
                if matches!(len, 1 | 3 | 6) {
                    return Err(corrupt(at - 1));
                }
                break;
            }
            quantum[j] = value_of(byte).ok_or_else(|| corrupt(at - 1))?;
            j += 1;
        }
        let bits = quantum
            .iter()
            .fold(0u64, |bits, v| (bits << 5) | u64::from(*v));
        let bytes = match len {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            _ => 1,
        };
        for i in 0..bytes {
            out.push(((bits >> (32 - i * 8)) & 0xFF) as u8);
        }
    }
    Ok(out)
}

pub fn b32enc(args: &[Value]) -> Result {
    b1("b32enc", args, base32_encode)
}

pub fn b32dec(args: &[Value]) -> Result {
    s1_value("b32dec", args, |s| match base32_decode(s) {
        Ok(bytes) => Value::from_go_bytes(bytes),
        Err(e) => Value::string(e),
    })
}

// ---- checksums ------------------------------------------------------------------------

pub fn sha256sum(args: &[Value]) -> Result {
    b1("sha256sum", args, |s| hex::encode(sha2::Sha256::digest(s)))
}

pub fn sha1sum(args: &[Value]) -> Result {
    b1("sha1sum", args, |s| hex::encode(sha1::Sha1::digest(s)))
}

pub fn sha512sum(args: &[Value]) -> Result {
    b1("sha512sum", args, |s| hex::encode(sha2::Sha512::digest(s)))
}

/// Adler-32 as a decimal number (`hash/adler32`).
pub fn adler32sum(args: &[Value]) -> Result {
    b1("adler32sum", args, |s| {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in s {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        ((b << 16) | a).to_string()
    })
}

pub fn uuidv4(args: &[Value]) -> Result {
    want("uuidv4", args, 0)?;
    Ok(Value::string(uuid::Uuid::new_v4().to_string()))
}

pub fn rand_bytes(args: &[Value]) -> Result {
    want("randBytes", args, 1)?;
    let count = int(&args[0])?;
    if count < 0 {
        return Err(FuncError::Call(
            "runtime error: makeslice: len out of range".into(),
        ));
    }
    let mut bytes = vec![0u8; count as usize];
    rand::thread_rng().fill_bytes(&mut bytes);
    Ok(Value::string(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

// ---- paths (Go's `path` package) ------------------------------------------------------

/// Go's `path.Clean`.
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

fn base_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

fn dir_path(path: &str) -> String {
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    clean_path(dir)
}

fn ext_path(path: &str) -> String {
    for (i, c) in path.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return path[i..].to_string();
        }
    }
    String::new()
}

macro_rules! path_fn {
    ($fn_name:ident, $go_name:literal, $body:expr) => {
        pub fn $fn_name(args: &[Value]) -> Result {
            s1($go_name, args, $body)
        }
    };
}

path_fn!(base, "base", base_path);
path_fn!(dir, "dir", dir_path);
path_fn!(clean, "clean", clean_path);
path_fn!(ext, "ext", ext_path);
path_fn!(os_base, "osBase", base_path);
path_fn!(os_dir, "osDir", dir_path);
path_fn!(os_clean, "osClean", clean_path);
path_fn!(os_ext, "osExt", ext_path);

pub fn is_abs(args: &[Value]) -> Result {
    want("isAbs", args, 1)?;
    Ok(Value::Bool(string(&args[0])?.starts_with('/')))
}

pub fn os_is_abs(args: &[Value]) -> Result {
    want("osIsAbs", args, 1)?;
    Ok(Value::Bool(string(&args[0])?.starts_with('/')))
}

// ---- URLs -----------------------------------------------------------------------------

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    crate::value::lossy_text(&out).into_owned()
}

/// The errors of Go's `url.Parse` on `raw`, in its words (`parse "a b%": invalid URL
/// escape "%"`): control characters, a scheme that starts with `:`, a colon in the
/// first segment of a relative path, a bad port or `[` host, and bad `%` escapes in
/// the path, host, user and fragment.
pub(crate) fn go_url_check(raw: &str) -> std::result::Result<(), String> {
    let (without_fragment, fragment) = raw.split_once('#').unwrap_or((raw, ""));
    let fail = |input: &str, why: String| Err(format!("parse {}: {why}", gofmt::quote(input)));
    if let Err(why) = go_url_structure(without_fragment) {
        return fail(without_fragment, why);
    }
    if let Err(why) = check_escapes(fragment, false) {
        return fail(raw, why);
    }
    Ok(())
}

/// Go's `url.parse` checks on a URL without its fragment.
fn go_url_structure(raw: &str) -> std::result::Result<(), String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    if raw == "*" {
        return Ok(());
    }
    let mut scheme = "";
    let mut rest = raw;
    for (i, b) in raw.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => {
                (scheme, rest) = (&raw[..i], &raw[i + 1..]);
                break;
            }
            _ => break,
        }
    }
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(path, _)| path)
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            return Ok(());
        }
        let segment = rest.split_once('/').map_or(rest, |(first, _)| first);
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if let Some(after) = rest.strip_prefix("//")
        && (!scheme.is_empty() || !rest.starts_with("///"))
    {
        let (authority, tail) = after.find('/').map_or((after, ""), |i| after.split_at(i));
        go_url_authority(authority)?;
        path = tail;
    }
    check_escapes(path, false)
}

/// Go's `parseAuthority` and `parseHost` checks.
fn go_url_authority(authority: &str) -> std::result::Result<(), String> {
    let (user, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let valid_port = |port: &str| {
        port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
    };
    if host.starts_with('[') {
        let Some(close) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[close + 1..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", gofmt::quote(port)));
        }
    } else if let Some(colon) = host.rfind(':') {
        let port = &host[colon..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", gofmt::quote(port)));
        }
    }
    check_escapes(host, true)?;
    if let Some(user) = user {
        let valid_user = user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
        if !valid_user {
            return Err("net/url: invalid userinfo".into());
        }
        check_escapes(user, false)?;
    }
    Ok(())
}

/// Go's `unescape` errors: a `%` without two hex digits (`invalid URL escape "%zz"`);
/// in a host, a character Go would have escaped (`invalid character " " in host name`).
fn check_escapes(text: &str, host: bool) -> std::result::Result<(), String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
                if !hex(i + 1) || !hex(i + 2) {
                    let bad = &bytes[i..bytes.len().min(i + 3)];
                    let bad = crate::value::lossy_text(bad);
                    return Err(format!("invalid URL escape {}", gofmt::quote(&bad)));
                }
                i += 3;
                continue;
            }
            b if host && b < 0x80 && !is_host_byte(b) => {
                let bad = char::from(b).to_string();
                return Err(format!(
                    "invalid character {} in host name",
                    gofmt::quote(&bad)
                ));
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The ASCII bytes Go's `shouldEscape` leaves alone in a host (`encodeHost`).
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]<>\"".contains(&b)
}

/// `urlParse`: Go's `url.Parse` parts as a dict.
pub fn url_parse(args: &[Value]) -> Result {
    want("urlParse", args, 1)?;
    let raw = string(&args[0])?;
    go_url_check(raw).map_err(|why| FuncError::Call(format!("unable to parse url: {why}")))?;
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, percent_decode(f)),
        None => (raw, String::new()),
    };
    let mut scheme = String::new();
    let mut rest = rest.to_string();
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = rest[colon + 1..].to_string();
        } else if colon == 0 {
            return Err(FuncError::Call(format!(
                "unable to parse url: parse \"{raw}\": missing protocol scheme"
            )));
        }
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r.to_string(), q.to_string()),
        None => (rest, String::new()),
    };
    let mut opaque = String::new();
    let mut host = String::new();
    let mut userinfo = String::new();
    let mut path = String::new();
    if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest;
    } else if let Some(after) = rest.strip_prefix("//") {
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        match authority.rsplit_once('@') {
            Some((u, h)) => {
                userinfo = u.to_string();
                host = h.to_string();
            }
            None => host = authority.to_string(),
        }
        path = percent_decode(p);
    } else {
        path = percent_decode(&rest);
    }
    let hostname = if let Some(stripped) = host.strip_prefix('[') {
        stripped.split(']').next().unwrap_or_default().to_string()
    } else {
        host.rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_else(|| host.clone())
    };
    let mut out = Map::new();
    for (k, v) in [
        ("scheme", scheme),
        ("host", host),
        ("hostname", hostname),
        ("path", path),
        ("query", query),
        ("opaque", opaque),
        ("fragment", fragment),
        ("userinfo", userinfo),
    ] {
        out.insert(k.to_string(), Value::string(v));
    }
    Ok(Value::map(out))
}

/// `urlJoin`: Go's `url.URL.String()` of a dict of parts.
pub fn url_join(args: &[Value]) -> Result {
    want("urlJoin", args, 1)?;
    let d = map(&args[0])?;
    let part = |k: &str| {
        d.get(k)
            .map(|v| match v {
                Value::String(s) => s.to_string(),
                Value::Nil => String::new(),
                other => strval(&other),
            })
            .unwrap_or_default()
    };
    let (scheme, host, path, query, opaque, fragment, userinfo) = (
        part("scheme"),
        part("host"),
        part("path"),
        part("query"),
        part("opaque"),
        part("fragment"),
        part("userinfo"),
    );
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            if !host.is_empty() || !path.is_empty() || !userinfo.is_empty() {
                out.push_str("//");
            }
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&go_url_escape(&host, UrlPart::Host));
        }
        // Go's `EscapedPath`: the path escaped as a whole (`/` kept, `?` escaped).
        let path = if path == "*" {
            path
        } else {
            go_url_escape(&path, UrlPart::Path)
        };
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        // A relative path whose first segment has a colon would read as a scheme.
        if out.is_empty()
            && path
                .split('/')
                .next()
                .is_some_and(|first| first.contains(':'))
        {
            out.push_str("./");
        }
        out.push_str(&path);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&go_url_escape(&fragment, UrlPart::Fragment));
    }
    Ok(Value::string(out))
}

/// The parts of a URL Go's `net/url` escapes differently.
#[derive(Clone, Copy, PartialEq)]
enum UrlPart {
    Host,
    Path,
    Fragment,
}

/// Go's `url.escape`: each byte `shouldEscape` refuses as `%XX` (upper-case hex).
fn go_url_escape(text: &str, part: UrlPart) -> String {
    let keep = |c: u8| {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            return true;
        }
        match part {
            UrlPart::Host => b"!$&'()*+,;=:[]<>\"".contains(&c),
            UrlPart::Path => b"$&+,/:;=@".contains(&c),
            UrlPart::Fragment => b"$&+,/:;=?@!()*".contains(&c),
        }
    };
    let mut out = String::with_capacity(text.len());
    for &c in text.as_bytes() {
        if keep(c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// `getHostByName`: Helm replaces Sprig's DNS lookup with a function that returns `""`
/// unless DNS is enabled (`helm template --enable-dns`), which this renderer never
/// does: it touches no network.
pub fn get_host_by_name(args: &[Value]) -> Result {
    want("getHostByName", args, 1)?;
    string(&args[0])?;
    Ok(Value::string(""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn b32dec_names_go_decoders_offsets() {
        // Found by the differential tester: Go stops at the first byte it cannot read.
        let dec = |s: &str| super::base32_decode(s);
        assert_eq!(
            dec("[]interface {}").unwrap_err(),
            "illegal base32 data at input byte 0"
        );
        assert_eq!(
            dec("MZXW6").unwrap_err(),
            "illegal base32 data at input byte 0"
        );
        assert_eq!(
            dec("MZXW6==x").unwrap_err(),
            "illegal base32 data at input byte 6"
        );
        assert_eq!(dec("MZXW6YQ=").unwrap(), b"foob");
    }

    #[test]
    fn url_parse_refuses_what_go_refuses() {
        // Found by the differential tester.
        for (raw, why) in [
            ("%%", "invalid URL escape \"%%\""),
            (
                "2006-01-02T15:04",
                "first path segment in URL cannot contain colon",
            ),
            ("a\nb", "net/url: invalid control character in URL"),
            ("http://host:port/", "invalid port \":port\" after host"),
        ] {
            let error = super::go_url_check(raw).unwrap_err();
            assert!(error.ends_with(why), "{raw}: {error}");
        }
        assert!(super::go_url_check("https://u:p@example.com:8443/a%20b?x=%zz#f").is_ok());
        assert!(super::go_url_check("mailto:a@b.c").is_ok());
    }

    #[test]
    fn b64dec_names_the_first_byte_go_cannot_read() {
        // Found by the differential tester: Go stops at the first byte outside the
        // alphabet, even when the length is wrong too.
        for (input, want) in [
            ("ünï", "illegal base64 data at input byte 0"),
            ("YWJj$", "illegal base64 data at input byte 4"),
            ("YWJjZ", "illegal base64 data at input byte 4"),
            ("YW=j", "illegal base64 data at input byte 2"),
            ("YWJj\nZ$", "illegal base64 data at input byte 6"),
        ] {
            let decoded = b64dec(&[Value::string(input)]).ok();
            assert_eq!(
                decoded.as_ref().and_then(Value::as_str),
                Some(want),
                "{input}"
            );
        }
    }

    use super::*;

    #[test]
    fn paths_follow_go() {
        assert_eq!(clean_path("a//b/../c/."), "a/c");
        assert_eq!(clean_path("/../x"), "/x");
        assert_eq!(base_path("/a/b/"), "b");
        assert_eq!(dir_path("a/b/c.txt"), "a/b");
        assert_eq!(dir_path("c.txt"), ".");
        assert_eq!(ext_path("a/b.tar.gz"), ".gz");
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32_encode(b"hello"), "NBSWY3DP");
        assert_eq!(base32_encode(b"hi"), "NBUQ====");
        assert_eq!(base32_decode("NBUQ====").unwrap(), b"hi");
    }
}
