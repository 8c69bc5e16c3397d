//! `.helmignore` rules, matched exactly as Helm's `pkg/ignore` matches them.
//!
//! Each line is a Go `filepath.Match` pattern: with a leading `/` it matches from the
//! chart root, with a `/` inside it matches the whole relative path, otherwise only the
//! file's base name. A trailing `/` limits it to directories. `!pattern` is Helm's
//! negation, which (as in Helm) ignores every path the pattern does *not* match.
//! `templates/.?*` (hidden files in templates/) is always ignored.

/// The parsed `.helmignore` of one chart.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The pattern's characters, split once (matching runs per file of the chart).
    glob: Vec<char>,
    /// The same as bytes when the pattern is ASCII, to match ASCII paths without
    /// splitting them into characters.
    ascii: Option<Vec<u8>>,
    /// The glob's meaning when it has a simple form (most `.helmignore` lines).
    literal: Option<Literal>,
    /// Whether the glob is well-formed; Go's `Match` fails (no match) on every name
    /// otherwise.
    valid: bool,
    negate: bool,
    must_dir: bool,
    anchor: Anchor,
}

/// A glob without wildcards (`.git`), or `*` then such text (`*.bak`).
#[derive(Debug, Clone)]
enum Literal {
    Whole(String),
    Suffix(String),
}

impl Literal {
    fn of(glob: &str) -> Option<Literal> {
        let plain = |s: &str| !s.contains(['*', '?', '[', '\\']);
        if plain(glob) {
            return Some(Literal::Whole(glob.to_string()));
        }
        let rest = glob.strip_prefix('*')?;
        (plain(rest) && !rest.contains('/')).then(|| Literal::Suffix(rest.to_string()))
    }

    /// Go's `Match` for this form: `*` matches any run of characters but `/`.
    fn matches(&self, name: &str) -> bool {
        match self {
            Literal::Whole(text) => name == text,
            Literal::Suffix(text) => name
                .strip_suffix(text.as_str())
                .is_some_and(|head| !head.contains('/')),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Anchor {
    Root,
    Path,
    BaseName,
}

impl Anchor {
    /// What the pattern is matched against: the whole path or its base name.
    fn pick<T>(self, path: T, base: T) -> T {
        match self {
            Anchor::Root | Anchor::Path => path,
            Anchor::BaseName => base,
        }
    }
}

impl IgnoreRules {
    /// Parses `.helmignore` text (plus Helm's default rule). Bad patterns are errors
    /// worded as Helm's.
    pub fn parse(text: &str) -> Result<IgnoreRules, String> {
        let mut rules = IgnoreRules::default();
        for line in text.lines() {
            rules.add(line)?;
        }
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    /// Only Helm's default rule (a chart without `.helmignore`).
    pub fn defaults() -> IgnoreRules {
        let mut rules = IgnoreRules::default();
        // The default rule is a valid pattern.
        let _ = rules.add("templates/.?*");
        rules
    }

    fn add(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".to_string());
        }
        if go_match(rule, "abc").is_none() {
            return Err("syntax error in pattern".to_string());
        }
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, rule),
        };
        let (must_dir, rule) = match rule.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, rule),
        };
        let (anchor, glob) = if let Some(rest) = rule.strip_prefix('/') {
            (Anchor::Root, rest)
        } else if rule.contains('/') {
            (Anchor::Path, rule)
        } else {
            (Anchor::BaseName, rule)
        };
        let ascii = glob.is_ascii().then(|| glob.as_bytes().to_vec());
        let literal = Literal::of(glob);
        let glob: Vec<char> = glob.chars().collect();
        self.patterns.push(Pattern {
            valid: validate(&glob).is_ok(),
            glob,
            ascii,
            literal,
            negate,
            must_dir,
            anchor,
        });
        Ok(())
    }

    /// Whether the chart-relative `path` (with `/` separators) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let base = base_name(path);
        // Characters are split out only for a pattern or path beyond ASCII.
        let mut chars: Option<(Vec<char>, Vec<char>)> = None;
        for pattern in &self.patterns {
            let name = pattern.anchor.pick(path, base);
            // A well-formed glob never fails part-way (every token is checked), so
            // the result is Go's `Match` result.
            let matched = pattern.valid
                && match (&pattern.literal, &pattern.ascii, name.is_ascii()) {
                    (Some(literal), _, _) => Ok(literal.matches(name)),
                    (None, Some(glob), true) => match_from(glob, name.as_bytes()),
                    _ => {
                        let (path_chars, base_chars) = chars.get_or_insert_with(|| {
                            (path.chars().collect(), base.chars().collect())
                        });
                        match_from(&pattern.glob, pattern.anchor.pick(path_chars, base_chars))
                    }
                }
                .unwrap_or(false);
            if pattern.negate {
                if pattern.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if pattern.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Base` for `/` paths.
fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Go's `path/filepath.Match`: `*` any run of non-`/`, `?` one non-`/`, `[...]` a class
/// (`^` negates, ranges, `\` escapes), `\x` a literal. `None` on a malformed pattern.
pub fn go_match(pattern: &str, name: &str) -> Option<bool> {
    try_match(pattern, name).ok()
}

fn try_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let result = match_from(&p, &n)?;
    if !result {
        // Go validates the rest of the pattern even when matching stops early.
        validate(&p)?;
    }
    Ok(result)
}

/// A unit of a glob or a name: a `char`, or a byte when both are ASCII.
trait Glyph: Copy + Ord {
    /// The glyph for the ASCII character `c`.
    fn ascii(c: u8) -> Self;
}

impl Glyph for char {
    fn ascii(c: u8) -> char {
        char::from(c)
    }
}

impl Glyph for u8 {
    fn ascii(c: u8) -> u8 {
        c
    }
}

fn validate<C: Glyph>(p: &[C]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        if p[i] == C::ascii(b'\\') {
            if i + 1 >= p.len() {
                return Err(());
            }
            i += 2;
        } else if p[i] == C::ascii(b'[') {
            let (_, next) = class_match(p, i, C::ascii(b'a'))?;
            i = next;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn match_from<C: Glyph>(p: &[C], n: &[C]) -> Result<bool, ()> {
    let slash = C::ascii(b'/');
    let Some(&first) = p.first() else {
        return Ok(n.is_empty());
    };
    if first == C::ascii(b'*') {
        let mut rest = 1;
        while rest < p.len() && p[rest] == first {
            rest += 1;
        }
        let mut k = 0;
        loop {
            if match_from(&p[rest..], &n[k..])? {
                return Ok(true);
            }
            if k >= n.len() || n[k] == slash {
                return Ok(false);
            }
            k += 1;
        }
    } else if first == C::ascii(b'?') {
        if n.is_empty() || n[0] == slash {
            validate(&p[1..])?;
            return Ok(false);
        }
        match_from(&p[1..], &n[1..])
    } else if first == C::ascii(b'[') {
        let Some(&c) = n.first() else {
            class_match(p, 0, C::ascii(b'a'))?;
            return Ok(false);
        };
        let (ok, next) = class_match(p, 0, c)?;
        if !ok || c == slash {
            return Ok(false);
        }
        match_from(&p[next..], &n[1..])
    } else if first == C::ascii(b'\\') {
        if p.len() < 2 {
            return Err(());
        }
        if n.first() == Some(&p[1]) {
            match_from(&p[2..], &n[1..])
        } else {
            Ok(false)
        }
    } else if n.first() == Some(&first) {
        match_from(&p[1..], &n[1..])
    } else {
        Ok(false)
    }
}

/// Matches `c` against the class starting at `p[start] == '['`; returns the verdict and
/// the index after `]`.
fn class_match<C: Glyph>(p: &[C], start: usize, c: C) -> Result<(bool, usize), ()> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&C::ascii(b'^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let Some(&ch) = p.get(i) else {
            return Err(());
        };
        if ch == C::ascii(b']') && !first {
            i += 1;
            break;
        }
        first = false;
        let (lo, next) = class_char(p, i)?;
        i = next;
        let hi = if p.get(i) == Some(&C::ascii(b'-')) {
            let (hi, next) = class_char(p, i + 1)?;
            i = next;
            hi
        } else {
            lo
        };
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    Ok((matched != negated, i))
}

fn class_char<C: Glyph>(p: &[C], i: usize) -> Result<(C, usize), ()> {
    let &c = p.get(i).ok_or(())?;
    if c == C::ascii(b'-') || c == C::ascii(b']') {
        Err(())
    } else if c == C::ascii(b'\\') {
        p.get(i + 1).map(|&c| (c, i + 2)).ok_or(())
    } else {
        Ok((c, i + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        assert_eq!(go_match("*.txt", "a.txt"), Some(true));
        assert_eq!(go_match("*.txt", "d/a.txt"), Some(false));
        assert_eq!(go_match("a?c", "abc"), Some(true));
        assert_eq!(go_match("[a-c]x", "bx"), Some(true));
        assert_eq!(go_match("[^a-c]x", "bx"), Some(false));
        assert_eq!(go_match("templates/.?*", "templates/.hidden"), Some(true));
        assert_eq!(go_match("templates/.?*", "templates/x.yaml"), Some(false));
        assert!(go_match("[", "a").is_none());
    }

    #[test]
    fn helmignore_rules() {
        let rules = IgnoreRules::parse("# comment\n*.md\n/ci/\nfiles/*.bak\n.git/\n").unwrap();
        assert!(rules.ignore("README.md", false));
        assert!(rules.ignore("docs/README.md", false));
        assert!(rules.ignore("ci", true));
        assert!(!rules.ignore("ci", false));
        assert!(rules.ignore("files/a.bak", false));
        assert!(!rules.ignore("other/files/a.bak", false));
        assert!(rules.ignore("templates/.swp", false));
        assert!(!rules.ignore("templates/a.yaml", false));
        // Helm's negation: everything the negated pattern does not match is ignored.
        let rules = IgnoreRules::parse("!keep.txt\n").unwrap();
        assert!(rules.ignore("values.yaml", false));
        assert!(!rules.ignore("keep.txt", false));
        assert!(IgnoreRules::parse("a/**/b").is_err());
    }

    #[test]
    fn ascii_and_unicode_names_match_alike() {
        let rules = IgnoreRules::parse("*.bak\n[a-c]?.txt\nd\\*r/\nnötig\n").unwrap();
        assert!(rules.ignore("x/ä.bak", false));
        assert!(rules.ignore("x/a.bak", false));
        assert!(rules.ignore("bé.txt", false));
        assert!(rules.ignore("be.txt", false));
        assert!(!rules.ignore("dé.txt", false));
        assert!(rules.ignore("d*r", true));
        assert!(!rules.ignore("dxr", true));
        assert!(rules.ignore("a/nötig", false));
        assert!(!rules.ignore("a/notig", false));
    }

    #[test]
    fn simple_globs_match_as_the_general_matcher_does() {
        let names = [
            "a.bak", ".bak", "x/a.bak", "a.bak/x", ".git", "x.git", "", "é.bak",
        ];
        for glob in ["*.bak", "*", ".git", "*~", "a.bak"] {
            let literal = Literal::of(glob).expect("a simple glob");
            for name in names {
                assert_eq!(
                    literal.matches(name),
                    go_match(glob, name) == Some(true),
                    "{glob} on {name}"
                );
            }
        }
        assert!(Literal::of("*.b?k").is_none() && Literal::of("a*").is_none());
    }
}
