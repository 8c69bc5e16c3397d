//! Delta debugging: the smallest case that still fails the same way.
//!
//! [`ddmin`] is Zeller's minimising delta debugging over any list of pieces. A case is
//! reduced in passes until none removes anything more: the main template's pieces
//! (actions and lines of text), whole blocks (`if`...`end` dropped, or unwrapped to
//! their body), the words inside each action, the helpers' pieces, then the values
//! document's lines.

use std::time::Instant;

use crate::generate::Case;

/// Removes pieces of `items` while `fails` still holds for what is left, until no
/// single piece can go (1-minimal), or `keep_going` says stop.
pub fn ddmin<T: Clone>(
    items: Vec<T>,
    fails: &mut dyn FnMut(&[T]) -> bool,
    keep_going: &mut dyn FnMut() -> bool,
) -> Vec<T> {
    let mut items = items;
    let mut chunks = 2usize;
    while items.len() >= 2 && keep_going() {
        let size = items.len().div_ceil(chunks);
        let mut reduced = false;
        let mut start = 0;
        while start < items.len() && keep_going() {
            let end = (start + size).min(items.len());
            let complement: Vec<T> = items[..start]
                .iter()
                .chain(&items[end..])
                .cloned()
                .collect();
            if fails(&complement) {
                items = complement;
                chunks = chunks.saturating_sub(1).max(2);
                reduced = true;
                break;
            }
            start = end;
        }
        if !reduced {
            if chunks >= items.len() {
                break;
            }
            chunks = (chunks * 2).min(items.len());
        }
    }
    if items.len() == 1 && keep_going() && fails(&[]) {
        items.clear();
    }
    items
}

/// Splits template text into pieces: each action (`{{ ... }}`, strings and comments
/// inside kept whole) and each line of text between them.
pub fn template_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find("{{") {
            Some(0) => {
                let end = action_end(rest);
                pieces.push(rest[..end].to_string());
                rest = &rest[end..];
            }
            Some(at) => {
                push_text_lines(&rest[..at], &mut pieces);
                rest = &rest[at..];
            }
            None => {
                push_text_lines(rest, &mut pieces);
                rest = "";
            }
        }
    }
    pieces
}

fn push_text_lines(text: &str, pieces: &mut Vec<String>) {
    pieces.extend(text.split_inclusive('\n').map(str::to_string));
}

/// The length of the action that `text` starts with (all of `text` if unclosed).
fn action_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 2;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q != b'`' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if text[i..].starts_with("/*") {
                    match text[i + 2..].find("*/") {
                        Some(at) => i += 2 + at + 1,
                        None => return text.len(),
                    }
                } else if matches!(b, b'"' | b'`' | b'\'') {
                    quote = Some(b);
                } else if text[i..].starts_with("}}") {
                    return i + 2;
                }
            }
        }
        i += 1;
    }
    text.len()
}

/// The keyword an action starts with (`if`, `end`...), if any.
fn keyword(piece: &str) -> Option<&str> {
    let inner = piece.strip_prefix("{{")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner).trim_start();
    let word = inner.split(|c: char| !c.is_ascii_alphabetic()).next()?;
    Some(word)
}

fn opens(piece: &str) -> bool {
    matches!(
        keyword(piece),
        Some("if" | "with" | "range" | "define" | "block")
    )
}

/// Pairs of (opening action, its `end`) by index, and the `else` actions between.
fn blocks(pieces: &[String]) -> Vec<(usize, usize, Vec<usize>)> {
    let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if opens(piece) {
            stack.push((i, Vec::new()));
        } else if keyword(piece) == Some("else") {
            if let Some(top) = stack.last_mut() {
                top.1.push(i);
            }
        } else if keyword(piece) == Some("end")
            && let Some((start, elses)) = stack.pop()
        {
            out.push((start, i, elses));
        }
    }
    out
}

/// The words of an action, strings and parenthesised groups kept whole enough to be
/// removed one by one (`{{`, `}}` and trim markers stay).
fn action_words(piece: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in piece.chars() {
        current.push(c);
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if matches!(c, '"' | '`' | '\'') => quote = Some(c),
            None if c == ' ' => words.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Reduces `case` while `fails` holds, until `deadline`.
pub fn reduce_case(case: &Case, fails: &mut dyn FnMut(&Case) -> bool, deadline: Instant) -> Case {
    let mut best = case.clone();
    let mut keep_going = || Instant::now() < deadline;
    loop {
        let before = best.clone();
        best = reduce_template(best, fails, &mut keep_going, |c| &mut c.main);
        best = reduce_template(best, fails, &mut keep_going, |c| &mut c.helpers);
        let lines: Vec<String> = best
            .values
            .split_inclusive('\n')
            .map(str::to_string)
            .collect();
        let base = best.clone();
        let kept = ddmin(
            lines,
            &mut |lines| {
                let mut candidate = base.clone();
                candidate.values = lines.concat();
                fails(&candidate)
            },
            &mut keep_going,
        );
        best.values = kept.concat();
        if best == before || !keep_going() {
            return best;
        }
    }
}

fn reduce_template(
    case: Case,
    fails: &mut dyn FnMut(&Case) -> bool,
    keep_going: &mut dyn FnMut() -> bool,
    field: fn(&mut Case) -> &mut String,
) -> Case {
    let mut best = case;
    let with = |base: &Case, pieces: &[String]| {
        let mut candidate = base.clone();
        *field(&mut candidate) = pieces.concat();
        candidate
    };
    // Whole pieces.
    let pieces = template_pieces(field(&mut best.clone()));
    let base = best.clone();
    let pieces = ddmin(pieces, &mut |p| fails(&with(&base, p)), keep_going);
    best = with(&base, &pieces);
    // Blocks: dropped whole, or unwrapped to their first branch.
    let mut pieces = pieces;
    let mut changed = true;
    while changed && keep_going() {
        changed = false;
        for (start, end, elses) in blocks(&pieces) {
            let dropped: Vec<String> = pieces[..start]
                .iter()
                .chain(&pieces[end + 1..])
                .cloned()
                .collect();
            let first_branch_end = elses.first().copied().unwrap_or(end);
            let unwrapped: Vec<String> = pieces[..start]
                .iter()
                .chain(&pieces[start + 1..first_branch_end])
                .chain(&pieces[end + 1..])
                .cloned()
                .collect();
            for candidate in [dropped, unwrapped] {
                if keep_going() && fails(&with(&best, &candidate)) {
                    pieces = candidate;
                    best = with(&best, &pieces);
                    changed = true;
                    break;
                }
            }
            if changed {
                break;
            }
        }
    }
    // Words inside each action.
    for i in 0..pieces.len() {
        if !pieces[i].starts_with("{{") || !keep_going() {
            continue;
        }
        let words = action_words(&pieces[i]);
        let base_pieces = pieces.clone();
        let kept = ddmin(
            words,
            &mut |words| {
                let mut candidate = base_pieces.clone();
                candidate[i] = words.concat();
                fails(&with(&best, &candidate))
            },
            keep_going,
        );
        pieces[i] = kept.concat();
    }
    with(&best, &pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_two_pieces_that_matter() {
        let items: Vec<u32> = (0..40).collect();
        let kept = ddmin(
            items,
            &mut |xs| xs.contains(&7) && xs.contains(&31),
            &mut || true,
        );
        assert_eq!(kept, vec![7, 31]);
    }

    #[test]
    fn template_pieces_keep_actions_whole() {
        let pieces = template_pieces("a: {{ \"}}\" }}\nb{{/* }} */}}{{ x");
        assert_eq!(
            pieces,
            vec!["a: ", "{{ \"}}\" }}", "\n", "b", "{{/* }} */}}", "{{ x"]
        );
    }

    #[test]
    fn blocks_pair_opening_actions_with_their_end() {
        let pieces = template_pieces("{{ if a }}x{{ else }}y{{ range b }}{{ end }}{{ end }}");
        let found = blocks(&pieces);
        assert_eq!(found, vec![(4, 5, vec![]), (0, 6, vec![2])]);
    }

    #[test]
    fn a_case_reduces_to_the_action_that_fails() {
        let case = Case {
            values: "a: 1\nb: 2\n".into(),
            main: "x: {{ .Values.a }}\n{{ if true }}{{ upper \"boom\" }}{{ end }}\ny\n".into(),
            helpers: String::new(),
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let reduced = reduce_case(&case, &mut |c| c.main.contains("boom"), deadline);
        assert_eq!(reduced.main, "\"boom\" ");
        assert_eq!(reduced.values, "");
    }
}
