//! Semantic versions and ranges as Helm reads them (Masterminds/semver v3): lenient
//! versions (`v1.2`, `1`), and constraints such as `>=1.19.0-0`, `~1.2`, `^0.3`,
//! `1.2.x`, `1.0 - 2.0`, `>=1, <3 || 4.x`.

use std::cmp::Ordering;

/// A parsed version: `major.minor.patch[-pre][+build]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release (after `-`), empty when none.
    pub pre: String,
    /// Build metadata (after `+`), empty when none.
    pub build: String,
}

impl Version {
    /// Parses leniently as Masterminds' `NewVersion`: `v` prefix, missing minor and
    /// patch allowed. `None` when it is not a version.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, build),
            None => (text, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, pre),
            None => (rest, ""),
        };
        let ident_ok = |s: &str| {
            s.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        };
        if (!pre.is_empty() || rest.contains('-')) && !ident_ok(pre) {
            return None;
        }
        if (!build.is_empty() || text.contains('+')) && !ident_ok(build) {
            return None;
        }
        let mut numbers = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        Some(Version {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre: pre.to_string(),
            build: build.to_string(),
        })
    }

    fn cmp_precedence(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// One `op version` term; `wild` counts how many of major/minor/patch were wildcards or
/// missing (`1.2` has one, `1.x` two, `*` three).
#[derive(Debug, Clone)]
struct Term {
    op: String,
    version: Version,
    wild: u8,
}

/// A version range (`>=1.2 <2 || 3.x`).
#[derive(Debug, Clone)]
pub struct Range {
    groups: Vec<Vec<Term>>,
}

impl Range {
    /// Parses a constraint; `Err` names the part that is not a constraint.
    pub fn parse(text: &str) -> Result<Range, String> {
        let mut groups = Vec::new();
        for group in text.split("||") {
            let mut terms = Vec::new();
            let tokens = tokenize(group);
            let mut i = 0;
            while i < tokens.len() {
                if i + 2 < tokens.len() && tokens[i + 1] == "-" {
                    let low = term(&tokens[i])?;
                    let high = term(&tokens[i + 2])?;
                    terms.push(Term {
                        op: ">=".into(),
                        ..low
                    });
                    terms.push(Term {
                        op: "<=".into(),
                        ..high
                    });
                    i += 3;
                    continue;
                }
                terms.push(term(&tokens[i])?);
                i += 1;
            }
            if terms.is_empty() {
                terms.push(term("*")?);
            }
            groups.push(terms);
        }
        Ok(Range { groups })
    }

    /// Whether `version` satisfies the range.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups
            .iter()
            .any(|terms| terms.iter().all(|t| term_matches(t, version)))
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(range: &str, version: &str) -> bool {
    match (Range::parse(range), Version::parse(version)) {
        (Ok(range), Some(version)) => range.matches(&version),
        _ => false,
    }
}

fn tokenize(group: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for raw in group.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
        if raw.chars().all(|c| "<>=!~^".contains(c)) {
            pending_op.push_str(raw);
            continue;
        }
        tokens.push(format!("{pending_op}{raw}"));
        pending_op.clear();
    }
    tokens
}

fn term(token: &str) -> Result<Term, String> {
    let split = token
        .find(|c: char| !"<>=!~^".contains(c))
        .unwrap_or(token.len());
    let (op, rest) = token.split_at(split);
    let op = match op {
        "=>" => ">=",
        "=<" => "<=",
        "~>" => "~",
        other => other,
    };
    if !matches!(op, "" | "=" | "!=" | ">" | "<" | ">=" | "<=" | "~" | "^") {
        return Err(format!("improper constraint: {token}"));
    }
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let (core, tail) = match rest.find(['-', '+']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || core.is_empty() {
        return Err(format!("improper constraint: {token}"));
    }
    let mut numbers = [0u64; 3];
    let mut wild = 3 - parts.len() as u8;
    let mut seen_wild = false;
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if matches!(*part, "x" | "X" | "*") {
            seen_wild = true;
            wild += 1;
            continue;
        }
        if seen_wild {
            continue;
        }
        *slot = part
            .parse()
            .map_err(|_| format!("improper constraint: {token}"))?;
    }
    let text = format!("{}.{}.{}{}", numbers[0], numbers[1], numbers[2], tail);
    let version = Version::parse(&text).ok_or_else(|| format!("improper constraint: {token}"))?;
    Ok(Term {
        op: op.to_string(),
        version,
        wild,
    })
}

fn term_matches(term: &Term, v: &Version) -> bool {
    let c = &term.version;
    if !v.pre.is_empty() && c.pre.is_empty() {
        return false;
    }
    let next = |level: u8| -> Version {
        // The first version past the wildcard span (`1.2.x` -> 1.3.0).
        match level {
            3 => Version {
                major: u64::MAX,
                minor: 0,
                patch: 0,
                pre: String::new(),
                build: String::new(),
            },
            2 => Version {
                major: c.major + 1,
                minor: 0,
                patch: 0,
                pre: String::new(),
                build: String::new(),
            },
            1 => Version {
                major: c.major,
                minor: c.minor + 1,
                patch: 0,
                pre: String::new(),
                build: String::new(),
            },
            _ => c.clone(),
        }
    };
    let ge = |x: &Version| v.cmp_precedence(x) != Ordering::Less;
    let lt = |x: &Version| v.cmp_precedence(x) == Ordering::Less;
    match term.op.as_str() {
        "" | "=" => {
            if term.wild == 0 {
                v.cmp_precedence(c) == Ordering::Equal
            } else {
                ge(c) && lt(&next(term.wild))
            }
        }
        "!=" => {
            if term.wild == 0 {
                v.cmp_precedence(c) != Ordering::Equal
            } else {
                !(ge(c) && lt(&next(term.wild)))
            }
        }
        ">" => {
            if term.wild == 0 {
                v.cmp_precedence(c) == Ordering::Greater
            } else {
                ge(&next(term.wild))
            }
        }
        ">=" => ge(c),
        "<" => lt(c),
        "<=" => {
            if term.wild == 0 {
                v.cmp_precedence(c) != Ordering::Greater
            } else {
                lt(&next(term.wild))
            }
        }
        "~" => {
            let upper = if term.wild >= 2 { next(2) } else { next(1) };
            ge(c) && lt(&upper)
        }
        "^" => {
            let upper = if c.major > 0 || term.wild >= 2 {
                next(2)
            } else if c.minor > 0 || term.wild == 1 {
                next(1)
            } else {
                Version {
                    patch: c.patch + 1,
                    pre: String::new(),
                    build: String::new(),
                    ..c.clone()
                }
            };
            ge(c) && lt(&upper)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_as_masterminds_semver() {
        let cases = [
            (">=1.19.0-0", "1.36.0", true),
            (">=1.19-0", "v1.36.0", true),
            ("<1.19", "1.36.0", false),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^1.2", "1.9.0", true),
            ("1.2.x", "1.2.7", true),
            ("1.2.x", "1.3.0", false),
            ("*", "4.5.6", true),
            ("", "4.5.6", true),
            ("1.0 - 2.0", "1.5.0", true),
            (">=1, <3 || 4.x", "4.2.0", true),
            (">=1, <3 || 4.x", "3.2.0", false),
            ("1.2.3", "1.2.3", true),
            (">=1.0.0", "1.0.0-rc1", false),
        ];
        for (range, version, want) in cases {
            assert_eq!(
                is_compatible_range(range, version),
                want,
                "{range} vs {version}"
            );
        }
    }

    #[test]
    fn lenient_versions() {
        assert!(Version::parse("1.2").is_some());
        assert!(Version::parse("v1.2.3-rc.1+b").is_some());
        assert!(Version::parse("abc").is_none());
        assert!(Version::parse("1.2.3.4").is_none());
    }
}
