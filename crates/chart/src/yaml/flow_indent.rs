//! go-yaml's leniency about the indentation of flow collections and quoted scalars
//! that span lines.
//!
//! libyaml (which go-yaml ports) does not check indentation inside a flow collection
//! or a quoted scalar, so Helm reads
//!
//! ```yaml
//! a:
//!   b: [
//!     "x",
//!     "y"
//!   ]
//! ```
//!
//! as `{a: {b: [x, y]}}`. yaml-rust2 follows YAML 1.2, where such lines must be indented
//! more than the enclosing block, and refuses the closing `]` with `invalid
//! indentation`. [`reindent`] gives yaml-rust2 a copy of the text where every line that
//! starts inside a flow collection or a quoted scalar is indented past the column of
//! the bracket or quote that opened it. Inside those, YAML folds the line breaks and
//! drops the leading spaces of a continuation line, so the added spaces change nothing
//! the document means, and lines keep their numbers for error messages.

#![deny(clippy::indexing_slicing)]

/// What the scanner is inside of at a point of the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inside {
    /// Block context: indentation matters.
    Block,
    /// A flow collection (`[` or `{`), this deep.
    Flow(usize),
    /// A quoted scalar, in a flow collection this deep (0: in block context).
    Quoted { double: bool, depth: usize },
}

/// A copy of `text` with lines that start inside a flow collection or a quoted scalar
/// indented past the column that opened it; `None` when there are no such lines (the
/// text's problem is elsewhere).
pub(super) fn reindent(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut inside = Inside::Block;
    // The column just past the outermost open bracket or quote: continuation lines are
    // moved right of it.
    let mut opened_at = 0usize;
    let mut changed = false;
    // Set by a block scalar header (`|`, `>`): lines indented past this are its text.
    let mut block_scalar_parent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = block_scalar_parent {
            if line.trim().is_empty() || indent > parent {
                out.push_str(line);
                continue;
            }
            block_scalar_parent = None;
        }
        if inside != Inside::Block {
            out.extend(std::iter::repeat_n(' ', opened_at + 1));
            changed = true;
        }
        let (after, opened, header) = scan_line(line, inside);
        if inside == Inside::Block && after != Inside::Block {
            opened_at = opened;
        }
        if after == Inside::Block && header {
            block_scalar_parent = Some(indent);
        }
        inside = after;
        out.push_str(line);
    }
    changed.then_some(out)
}

/// Scans one line from state `inside`: the state at its end, the column of the first
/// bracket or quote that left block context, and whether the line ends in a block
/// scalar header.
fn scan_line(line: &str, mut inside: Inside) -> (Inside, usize, bool) {
    let bytes = line.as_bytes();
    let mut opened = 0;
    // Whether the next token starts a node (line start, or after `- `, `: `, `? `, a
    // flow indicator, an anchor or a tag), where `[`, `{` and quotes are indicators.
    let mut node_start = true;
    let mut last_token_header = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match inside {
            Inside::Quoted { double, depth } => {
                if double && b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == if double { b'"' } else { b'\'' } {
                    if !double && bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    inside = if depth == 0 {
                        Inside::Block
                    } else {
                        Inside::Flow(depth)
                    };
                    node_start = false;
                }
            }
            Inside::Block | Inside::Flow(_) => {
                let depth = match inside {
                    Inside::Flow(d) => d,
                    _ => 0,
                };
                let prev_blank = i == 0 || matches!(bytes.get(i - 1), Some(b' ' | b'\t'));
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        i += 1;
                        continue;
                    }
                    b'#' if prev_blank => break,
                    b'[' | b'{' if node_start || depth > 0 => {
                        if depth == 0 {
                            opened = i;
                        }
                        inside = Inside::Flow(depth + 1);
                        node_start = true;
                        last_token_header = false;
                        i += 1;
                        continue;
                    }
                    b']' | b'}' if depth > 0 => {
                        inside = if depth == 1 {
                            Inside::Block
                        } else {
                            Inside::Flow(depth - 1)
                        };
                        node_start = false;
                        i += 1;
                        continue;
                    }
                    b',' if depth > 0 => {
                        node_start = true;
                        i += 1;
                        continue;
                    }
                    b'"' | b'\'' if node_start => {
                        if depth == 0 {
                            opened = i;
                        }
                        inside = Inside::Quoted {
                            double: b == b'"',
                            depth,
                        };
                        last_token_header = false;
                        i += 1;
                        continue;
                    }
                    b'-' | b':' | b'?' if next_is_blank(bytes, i) => {
                        node_start = true;
                        last_token_header = false;
                        i += 1;
                        continue;
                    }
                    _ => {}
                }
                // Any other token: read it to its end.
                let start = i;
                while let Some(&c) = bytes.get(i) {
                    let ends = matches!(c, b' ' | b'\t' | b'\r' | b'\n')
                        || (depth > 0 && matches!(c, b',' | b']' | b'}'))
                        || (c == b':' && next_is_blank(bytes, i));
                    if ends {
                        break;
                    }
                    i += 1;
                }
                let token = bytes.get(start..i).unwrap_or_default();
                let first = token.first().copied().unwrap_or(b' ');
                // Anchors and tags leave the node to come; anything else is a scalar.
                node_start = matches!(first, b'&' | b'!');
                last_token_header = depth == 0 && matches!(first, b'|' | b'>');
                continue;
            }
        }
        i += 1;
    }
    (inside, opened, last_token_header)
}

/// Whether the byte after `i` is a blank or the end of the line.
fn next_is_blank(bytes: &[u8], i: usize) -> bool {
    matches!(bytes.get(i + 1), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

#[cfg(test)]
mod tests {
    use super::reindent;

    #[test]
    fn flow_lines_move_past_their_bracket() {
        let text = "a:\n  b: [\n    \"x\",\n    \"y\"\n  ]\nc: 1\n";
        let want = "a:\n  b: [\n          \"x\",\n          \"y\"\n        ]\nc: 1\n";
        assert_eq!(reindent(text).as_deref(), Some(want));
    }

    #[test]
    fn quoted_scalars_and_comments_do_not_open_flows() {
        let text = "a: \"[x\" # [\nb: x[0]\nc: 'it''s [\n  y'\n";
        let want = "a: \"[x\" # [\nb: x[0]\nc: 'it''s [\n      y'\n";
        assert_eq!(reindent(text).as_deref(), Some(want));
    }

    #[test]
    fn block_scalars_are_left_alone() {
        let text = "a: |\n  [\n  x\nb: 1\n";
        assert_eq!(reindent(text), None);
    }
}
