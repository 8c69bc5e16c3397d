//! Sprig's case functions with the exact rules of the Go code Helm runs:
//! `camelcase` (xstrings `ToPascalCase`), `snakecase` and `kebabcase` (xstrings'
//! word splitter), `swapcase` and `initials` (goutils), `title` (Go's
//! `strings.Title`). Each rule is written from the behaviour of that code, with Go's
//! `unicode` predicates (general categories, not Rust's derived properties:
//! `unicode.IsUpper('Ⓐ')` is false where `char::is_uppercase` is true).

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Go's `unicode.IsUpper`: category Lu.
pub(crate) fn is_upper(c: char) -> bool {
    c.general_category() == GeneralCategory::UppercaseLetter
}

/// Go's `unicode.IsLower`: category Ll.
pub(crate) fn is_lower(c: char) -> bool {
    c.general_category() == GeneralCategory::LowercaseLetter
}

/// Go's `unicode.IsTitle`: category Lt.
fn is_title(c: char) -> bool {
    c.general_category() == GeneralCategory::TitlecaseLetter
}

/// Go's `unicode.IsLetter`: categories L*.
fn is_letter(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Letter
}

/// Go's `unicode.IsNumber`: categories N*.
fn is_number(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Number
}

/// Go's `unicode.IsDigit`: category Nd.
fn is_digit(c: char) -> bool {
    c.general_category() == GeneralCategory::DecimalNumber
}

/// Go's `unicode.IsPunct`: categories P*.
fn is_punct(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Punctuation
}

/// Go's `unicode.IsSpace`: the White_Space property, which Rust's `is_whitespace`
/// follows too (Latin-1 `\t \n \v \f \r`, space, U+0085, U+00A0 included).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.ToUpper`: the simple (one-rune) mapping, so `ß` stays `ß`.
pub(crate) fn to_upper(c: char) -> char {
    let mut mapped = c.to_uppercase();
    match (mapped.next(), mapped.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`: the simple mapping, without context (`Σ` is always `σ`).
pub(crate) fn to_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut mapped = c.to_lowercase();
    match (mapped.next(), mapped.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: upper case, except the Latin digraphs' title forms and the
/// Georgian letters, whose title case is themselves.
pub(crate) fn to_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        '\u{10D0}'..='\u{10FA}' | '\u{10FD}'..='\u{10FF}' => c,
        other => to_upper(other),
    }
}

/// xstrings' connectors: `-`, `_` and white space.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_space(c)
}

/// xstrings' `isAlphabet`: a letter, but not a CJK ideograph of the ranges it lists.
fn is_alphabet(c: char) -> bool {
    is_letter(c)
        && !matches!(c,
            '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4D85}' | '\u{20000}'..='\u{2B81D}')
}

/// Go's `strings.Title`: the first rune after a separator goes to title case.
pub fn title(s: &str) -> String {
    let mut prev_separates = true;
    s.chars()
        .map(|c| {
            let out = if prev_separates { to_title(c) } else { c };
            prev_separates = is_title_separator(c);
            out
        })
        .collect()
}

/// `strings.Title`'s separators: ASCII other than letters, digits and `_`; beyond
/// ASCII, white space only (letters and decimal digits never separate).
fn is_title_separator(c: char) -> bool {
    if c.is_ascii() {
        !(c.is_ascii_alphanumeric() || c == '_')
    } else if is_letter(c) || is_digit(c) {
        false
    } else {
        is_space(c)
    }
}

/// goutils `SwapCase`: upper and title case go to lower; lower case goes to title case
/// at the start or after white space, else to upper; a rune that is not a letter of
/// those cases decides whether the next counts as after white space.
pub fn swapcase(s: &str) -> String {
    let mut after_space = true;
    s.chars()
        .map(|c| {
            if is_upper(c) || is_title(c) {
                after_space = false;
                to_lower(c)
            } else if is_lower(c) {
                let swapped = if after_space {
                    to_title(c)
                } else {
                    to_upper(c)
                };
                after_space = false;
                swapped
            } else {
                after_space = is_space(c);
                c
            }
        })
        .collect()
}

/// goutils `Initials`: it walks the string's bytes, each read as a Latin-1 rune, so a
/// multi-byte character's first byte is what is kept (`ünï` gives `Ã`), and a byte
/// 0x85 or 0xA0 inside a character separates words as U+0085 and U+00A0 do.
pub fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut gap = true;
    for byte in s.bytes() {
        let c = char::from(byte);
        if is_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils `DeleteWhiteSpace` (Sprig's `nospace`): like `initials` it reads bytes as
/// Latin-1 runes, so a string with a space byte comes back with each of its other
/// bytes as a rune of its own (`é x` gives `Ã©x`); one without is returned as it is.
pub fn delete_white_space(s: &str) -> String {
    if !s.bytes().any(|byte| is_space(char::from(byte))) {
        return s.to_string();
    }
    s.bytes()
        .map(char::from)
        .filter(|c| !is_space(*c))
        .collect()
}

/// xstrings `ToPascalCase` (Sprig's `camelcase`): connectors between words are dropped
/// and the next rune upper-cased; a run of connectors keeps all but its last; a word
/// that starts upper case is lower-cased until its first rune that is not upper case.
pub fn camelcase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut first_upper = false;
    let mut current = None;
    // Leading connectors are kept as they are.
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = is_upper(c);
            current = Some(to_upper(c));
            break;
        }
        out.push(c);
        current = Some(c);
    }
    let Some(mut r0) = current else {
        return out;
    };
    let rest = chars.as_str();
    if rest.is_empty() {
        // xstrings writes the last rune read again here, even when it was a
        // connector already written (`camelcase "_"` is `__`).
        out.push(r0);
        return out;
    }
    for next in rest.chars() {
        let r1 = r0;
        r0 = next;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = is_upper(r0);
            r0 = to_upper(r0);
        } else {
            if first_upper {
                if is_upper(r0) {
                    r0 = to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// The kinds of word xstrings splits a string into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    /// Nothing left, or only U+FFFD runes (Go's decoder error rune).
    Invalid,
    Number,
    /// A word that starts upper case (`HTTP` of `HTTPServer`, `Server`).
    Upper,
    /// Letters that start lower case.
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextValidRune`: the next rune that is not U+FFFD and the bytes up to and
/// including it; `prev` and every byte left when only U+FFFD runes remain.
fn next_valid_rune(s: &str, prev: char) -> (char, usize) {
    let mut size = 0;
    for c in s.chars() {
        size += c.len_utf8();
        if c != char::REPLACEMENT_CHARACTER {
            return (c, size);
        }
    }
    (prev, size)
}

/// The bytes of the run at the start of `s` whose runes all pass `keep`, starting
/// after the first `offset` bytes (already taken).
fn run_length(s: &str, mut offset: usize, mut last: char, keep: impl Fn(char) -> bool) -> usize {
    while offset < s.len() {
        let (c, size) = next_valid_rune(&s[offset..], last);
        if !keep(c) {
            break;
        }
        last = c;
        offset += size;
    }
    offset
}

/// xstrings' `nextWord`: the kind of the word at the start of `s`, the word and the
/// rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    if s.is_empty() {
        return (Word::Invalid, "", "");
    }
    let (first, size) = next_valid_rune(s, char::REPLACEMENT_CHARACTER);
    let (kind, end) = if first == char::REPLACEMENT_CHARACTER {
        (Word::Invalid, size)
    } else if is_connector(first) {
        (Word::Connector, run_length(s, size, first, is_connector))
    } else if is_punct(first) {
        (Word::Punct, run_length(s, size, first, is_punct))
    } else if is_upper(first) {
        (Word::Upper, upper_word_end(s, size, first))
    } else if is_alphabet(first) {
        let end = run_length(s, size, first, |c| is_alphabet(c) && !is_upper(c));
        (Word::Alphabet, end)
    } else if is_number(first) {
        (Word::Number, run_length(s, size, first, is_number))
    } else {
        let other = |c: char| !(is_connector(c) || is_alphabet(c) || is_number(c) || is_punct(c));
        (Word::Other, run_length(s, size, first, other))
    };
    (kind, &s[..end], &s[end..])
}

/// Where an upper-case word ends: `Server` after its lower-case letters; an
/// abbreviation (`HTTP` of `HTTPStatus`) before the upper-case letter that starts the
/// next word.
fn upper_word_end(s: &str, start: usize, first: char) -> usize {
    if start == s.len() {
        return start;
    }
    let (second, size) = next_valid_rune(&s[start..], first);
    if is_upper(second) {
        let mut offset = start + size;
        let mut last_size = size;
        let mut last = second;
        while offset < s.len() {
            let (c, size) = next_valid_rune(&s[offset..], last);
            last = c;
            if !is_upper(c) {
                break;
            }
            last_size = size;
            offset += size;
        }
        if offset < s.len() && is_alphabet(last) {
            offset -= last_size;
        }
        offset
    } else if is_alphabet(second) {
        run_length(s, start + size, second, |c| is_alphabet(c) && !is_upper(c))
    } else {
        start
    }
}

/// xstrings' `toLower`: upper-case words and connector runs are lower-cased (each
/// connector written as `connector`); other words are kept as they are.
fn push_lowered(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        out.push(if is_connector(c) {
            connector
        } else if is_upper(c) {
            to_lower(c)
        } else {
            c
        });
    }
}

/// Whether a connector goes between the word before and a word of this kind.
fn joins(kind: Word) -> bool {
    !matches!(kind, Word::Invalid | Word::Connector | Word::Punct)
}

/// xstrings' `camelCaseToLowerCase` (`snakecase`, `kebabcase`): words lower-cased and
/// joined by `connector`, with its rules for numbers (`Bld4Floor3rd` →
/// `bld4_floor_3rd`, `HTTP2xx` → `http_2xx`) and punctuation (`a: 1` → `a:-1`).
pub fn lower_words(s: &str, connector: char) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let (mut kind, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if kind != Word::Connector {
            push_lowered(&mut out, kind, word, connector);
        }
        let (prev, last) = (kind, word);
        (kind, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while matches!(kind, Word::Alphabet | Word::Number) {
                    push_lowered(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if joins(kind) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lowered(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if kind != Word::Number {
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = next_word(rest);
                // A number is part of the word before it ("Bld4Floor" → "bld4_floor")
                // unless letters follow it ("HTTP2xx" → "http_2xx").
                if kind != Word::Alphabet {
                    push_lowered(&mut out, Word::Number, number, connector);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lowered(&mut out, Word::Number, number, connector);
                while matches!(kind, Word::Alphabet | Word::Number) {
                    push_lowered(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if joins(kind) {
                    out.push(connector);
                }
            }
        }
    }
    push_lowered(&mut out, kind, word, connector);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outputs recorded from Helm v4.2's engine (Sprig v3, xstrings,
    /// goutils).
    #[test]
    fn lower_words_follow_xstrings() {
        let cases = [
            ("a: 1", "a:-1"),
            ("HTTP20xOK Bld4Floor3rd", "http-20x-ok-bld4-floor-3rd"),
            ("FirstName", "first-name"),
            ("HTTPServer", "http-server"),
            ("NoHTTPS", "no-https"),
            ("GO_PATH", "go-path"),
            ("http2xx", "http-2xx"),
            ("Duration2m3s", "duration-2m3s"),
        ];
        for (input, want) in cases {
            assert_eq!(lower_words(input, '-'), want, "kebabcase {input:?}");
        }
        assert_eq!(lower_words("GO PATH", '_'), "go_path");
    }

    #[test]
    fn odd_text_never_panics() {
        // U+FFFD is what Go's decoder calls an error: xstrings skips it when it looks
        // for the next rune, so every word boundary must still fall on a character.
        let texts = [
            "",
            "\u{FFFD}",
            "\u{FFFD}\u{FFFD}a",
            "A\u{FFFD}",
            "AB\u{FFFD}c",
            "1\u{FFFD}x",
            "-\u{FFFD}",
            "é\u{FFFD}É",
            "ǅ",
            "ǄǄa",
            " ",
            "__",
            "A1b2C3",
            "日本語ABc",
        ];
        for text in texts {
            let _ = (camelcase(text), lower_words(text, '_'), swapcase(text));
            let _ = (initials(text), title(text), delete_white_space(text));
        }
        assert_eq!(lower_words("\u{FFFD}", '-'), "\u{FFFD}");
        // Recorded from Helm's engine.
        assert_eq!(lower_words("AB\u{FFFD}c", '-'), "a-b\u{FFFD}c");
        assert_eq!(lower_words("1\u{FFFD}x", '-'), "1\u{FFFD}x");
        assert_eq!(lower_words("\u{FFFD}\u{FFFD}a", '-'), "\u{FFFD}\u{FFFD}a");
        assert_eq!(lower_words("é\u{FFFD}É", '-'), "é-\u{FFFD}é");
        assert_eq!(camelcase("a\u{FFFD}_b"), "A\u{FFFD}B");
    }

    #[test]
    fn camelcase_is_xstrings_pascal_case() {
        assert_eq!(camelcase("http_server"), "HttpServer");
        assert_eq!(camelcase("some words"), "SomeWords");
        assert_eq!(camelcase("_complex__case_"), "_Complex_Case_");
        assert_eq!(camelcase("GOLANG_IS_GREAT"), "GolangIsGreat");
    }

    #[test]
    fn swapcase_initials_and_title_follow_goutils_and_go() {
        assert_eq!(swapcase("Hello wORLD é 1a"), "hELLO World É 1A");
        assert_eq!(initials("hello  World  ünï x"), "hWÃx");
        // Found by the differential tester: `nospace` mangles non-ASCII text with a
        // space byte in it, as goutils does.
        assert_eq!(delete_white_space("ünï"), "ünï");
        assert_eq!(delete_white_space("é x"), "Ã\u{a9}x");
        assert_eq!(
            delete_white_space("ǅa Ⓐb ªc ΣΑΣ ß"),
            "Çaâ\u{92}¶bÂªcÎ£Î\u{91}Î£Ã\u{9f}"
        );
        assert_eq!(
            title("hello_world a.b c-d éa 1a"),
            "Hello_world A.B C-D Éa 1a"
        );
    }
}
