//! Sprig's text functions on Go strings that are not UTF-8 (a [`Value::ByteString`], a
//! string cut inside a character): Go's `strings` package works on the bytes, reading
//! a stray byte as one `utf8.RuneError` where it decodes runes, and keeps the bytes it
//! does not touch. The plain-string paths stay in `strings.rs`; these run only when an
//! argument is such a string.

use crate::value::Value;

/// Whether any argument is a Go string that is not UTF-8.
pub(super) fn any_cut(args: &[Value]) -> bool {
    args.iter()
        .any(|value| matches!(value, Value::ByteString(_)))
}

/// Go's `utf8.DecodeRune`: the first rune and its width (`None`, 1 for a stray byte).
fn first_rune(bytes: &[u8]) -> (Option<char>, usize) {
    let end = bytes.len().min(4);
    (1..=end)
        .find_map(|width| {
            let text = std::str::from_utf8(&bytes[..width]).ok()?;
            text.chars().next().map(|c| (Some(c), width))
        })
        .unwrap_or((None, 1))
}

/// Go's `utf8.DecodeLastRune`: the last rune and its width.
fn last_rune(bytes: &[u8]) -> (Option<char>, usize) {
    let len = bytes.len();
    (1..=len.min(4))
        .find_map(|width| {
            let text = std::str::from_utf8(&bytes[len - width..]).ok()?;
            let mut chars = text.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some((Some(c), width))
        })
        .unwrap_or((None, 1))
}

/// Go's `strings.TrimFunc`: runes that `cut` takes off both ends (a stray byte is
/// `RuneError`, U+FFFD).
pub(super) fn trim_runes(bytes: &[u8], cut: impl Fn(char) -> bool) -> Vec<u8> {
    let cut_rune = |rune: Option<char>| cut(rune.unwrap_or(char::REPLACEMENT_CHARACTER));
    let mut start = 0;
    while start < bytes.len() {
        let (rune, width) = first_rune(&bytes[start..]);
        if !cut_rune(rune) {
            break;
        }
        start += width;
    }
    let mut end = bytes.len();
    while end > start {
        let (rune, width) = last_rune(&bytes[start..end]);
        if !cut_rune(rune) {
            break;
        }
        end -= width;
    }
    bytes[start..end].to_vec()
}

/// Go's `strings.Replace(s, old, new, -1)`: an empty `old` matches before every rune
/// (a stray byte counts as one) and at the end.
pub(super) fn replace_all(s: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    if old.is_empty() {
        let mut at = 0;
        out.extend_from_slice(new);
        while at < s.len() {
            let (_, width) = first_rune(&s[at..]);
            out.extend_from_slice(&s[at..at + width]);
            out.extend_from_slice(new);
            at += width;
        }
        return out;
    }
    let mut at = 0;
    while let Some(found) = find(&s[at..], old) {
        out.extend_from_slice(&s[at..at + found]);
        out.extend_from_slice(new);
        at += found + old.len();
    }
    out.extend_from_slice(&s[at..]);
    out
}

/// The first place `needle` occurs in `haystack`.
pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::{replace_all, trim_runes};

    #[test]
    fn stray_bytes_are_one_rune_error_each() {
        // "€" cut after two bytes, between spaces: trimming stops at the stray bytes.
        let cut = b" \xe2\x82 ";
        assert_eq!(trim_runes(cut, char::is_whitespace), b"\xe2\x82");
        assert_eq!(trim_runes(b"\xe2\x82", |c| c == '\u{FFFD}'), b"");
        assert_eq!(replace_all(b"a\xe2b", b"", b"|"), b"|a|\xe2|b|");
        assert_eq!(replace_all(b"\xe2\n\xe2", b"\n", b"\n  "), b"\xe2\n  \xe2");
    }
}
