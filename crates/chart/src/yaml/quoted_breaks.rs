//! Quoted scalars holding U+0085 (NEL), U+2028 or U+2029, read as libyaml reads them.
//!
//! libyaml (YAML 1.1) takes those three characters for line breaks, yaml-rust2 (YAML
//! 1.2) for ordinary characters. In a quoted scalar a line break folds: blanks before
//! it are dropped, and so are those starting the next line; a lone NEL becomes a space
//! (libyaml reads it as `\n`), a lone U+2028 or U+2029 stays itself, and a break
//! followed by more breaks gives those breaks. PyYAML writes strings holding these
//! characters in quotes, so values files written from Python meet them.

/// Whether yaml-rust2's reading of a quoted scalar may differ from libyaml's: the
/// text holds one of the characters libyaml takes for a line break.
pub(super) fn has_unicode_breaks(text: &str) -> bool {
    text.contains(['\u{85}', '\u{2028}', '\u{2029}'])
}

/// libyaml's reading of the quoted scalar that starts at `source`'s first character
/// (its opening quote). `None` when `source` does not start with a quote or the scalar
/// is not one this reader follows (a bad escape, no closing quote): the caller keeps
/// yaml-rust2's reading, which refuses those itself.
pub(super) fn read(source: &str) -> Option<String> {
    let mut chars = source.chars().peekable();
    let quote = chars.next().filter(|c| *c == '\'' || *c == '"')?;
    let single = quote == '\'';
    let mut out = String::new();
    loop {
        let mut leading_blanks = false;
        // Non-blank characters, escapes and the closing quote.
        loop {
            let c = *chars.peek()?;
            if is_blank(c) || is_break(c) {
                break;
            }
            chars.next();
            if single && c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                return Some(out);
            }
            if !single && c == '"' {
                return Some(out);
            }
            if !single && c == '\\' {
                let next = *chars.peek()?;
                if is_break(next) {
                    // An escaped line break joins the lines without a space.
                    read_line(&mut chars);
                    leading_blanks = true;
                    break;
                }
                chars.next();
                out.push(unescape(next, &mut chars)?);
                continue;
            }
            out.push(c);
        }
        // Blanks and line breaks, then how they fold.
        let mut whitespace = String::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        while let Some(&c) = chars.peek() {
            if is_blank(c) {
                chars.next();
                if !leading_blanks {
                    whitespace.push(c);
                }
            } else if is_break(c) {
                if leading_blanks {
                    trailing_breaks.push_str(&read_line(&mut chars));
                } else {
                    whitespace.clear();
                    leading_break = read_line(&mut chars);
                    leading_blanks = true;
                }
            } else {
                break;
            }
        }
        if leading_blanks {
            if leading_break.starts_with('\n') || leading_break.is_empty() {
                if trailing_breaks.is_empty() && !leading_break.is_empty() {
                    out.push(' ');
                } else {
                    out.push_str(&trailing_breaks);
                }
            } else {
                out.push_str(&leading_break);
                out.push_str(&trailing_breaks);
            }
        } else {
            out.push_str(&whitespace);
        }
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `READ_LINE`: CR LF, CR, LF and NEL are `\n`; U+2028 and U+2029 stay.
fn read_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    match chars.next() {
        Some('\r') => {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            "\n".to_string()
        }
        Some(c @ ('\u{2028}' | '\u{2029}')) => c.to_string(),
        _ => "\n".to_string(),
    }
}

/// A double-quoted scalar's escape after its `\`.
fn unescape(c: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let digits = match c {
        '0' => return Some('\0'),
        'a' => return Some('\u{7}'),
        'b' => return Some('\u{8}'),
        't' | '\t' => return Some('\t'),
        'n' => return Some('\n'),
        'v' => return Some('\u{b}'),
        'f' => return Some('\u{c}'),
        'r' => return Some('\r'),
        'e' => return Some('\u{1b}'),
        ' ' | '"' | '/' | '\\' | '\'' => return Some(c),
        'N' => return Some('\u{85}'),
        '_' => return Some('\u{a0}'),
        'L' => return Some('\u{2028}'),
        'P' => return Some('\u{2029}'),
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let mut code = 0u32;
    for _ in 0..digits {
        code = code * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::read;

    #[test]
    fn unicode_breaks_fold_as_libyaml_folds_them() {
        assert_eq!(read("'\u{2028}    '").as_deref(), Some("\u{2028}"));
        assert_eq!(read("'\u{85}z'").as_deref(), Some(" z"));
        assert_eq!(read("\"a  \u{2029}  b\"").as_deref(), Some("a\u{2029}b"));
        assert_eq!(read("\"a\n\u{2028}b\"").as_deref(), Some("a\u{2028}b"));
        assert_eq!(read("'a\u{2028}\nb'").as_deref(), Some("a\u{2028}\nb"));
        assert_eq!(read("\"x\\Ny\"").as_deref(), Some("x\u{85}y"));
        assert_eq!(read("'it''s'").as_deref(), Some("it's"));
    }

    #[test]
    fn what_it_does_not_follow_is_left_to_yaml_rust2() {
        assert_eq!(read("\"bad \\q\""), None);
        assert_eq!(read("'open"), None);
        assert_eq!(read("plain"), None);
    }
}
