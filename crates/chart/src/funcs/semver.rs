//! `semver` and `semverCompare` with Masterminds/semver v3 rules: loose versions
//! (`v1.2`, `1`), constraints with `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, wildcards
//! (`1.2.x`, `*`), hyphen ranges (`1.2 - 1.4`), `,`/space for AND, `||` for OR, and the
//! prerelease rule (a prerelease version only matches a constraint group that names a
//! prerelease, e.g. `>=1.20.0-0`).

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::args::{string, want};
use super::{FuncError, Result};
use crate::value::{GoObject, Value};

/// Why a version or constraint was refused, in Masterminds' words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SemverError {
    /// The text is not a semantic version.
    #[error("invalid semantic version")]
    InvalidVersion,
    /// A numeric prerelease part with a leading zero (`1.0.0-01`).
    #[error("Version segment starts with 0")]
    SegmentStartsZero,
    /// A malformed constraint.
    #[error("improper constraint: {0:?}")]
    ImproperConstraint(String),
}

/// A parsed semantic version (Masterminds `*semver.Version`).
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static CONSTRAINT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^\s*({OPS})\s*({CV})\s*$"))
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static FIND_CONSTRAINT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"({OPS})\s*({CV})")).unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static VALID_CONSTRAINT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(\s*({OPS})\s*({CV})\s*\,?)+$"))
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static RANGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*"))
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

impl Version {
    /// Masterminds `NewVersion`: a loose semantic version.
    pub fn parse(text: &str) -> std::result::Result<Version, SemverError> {
        let caps = VERSION_RE
            .captures(text)
            .ok_or(SemverError::InvalidVersion)?;
        let num = |i: usize| -> std::result::Result<u64, SemverError> {
            match caps.get(i) {
                Some(m) => m
                    .as_str()
                    .trim_start_matches('.')
                    .parse()
                    .map_err(|_| SemverError::InvalidVersion),
                None => Ok(0),
            }
        };
        let pre = caps.get(5).map_or("", |m| m.as_str()).to_string();
        let metadata = caps.get(8).map_or("", |m| m.as_str()).to_string();
        for part in pre.split('.').filter(|_| !pre.is_empty()) {
            if part.bytes().all(|b| b.is_ascii_digit()) && part.len() > 1 && part.starts_with('0') {
                return Err(SemverError::SegmentStartsZero);
            }
        }
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            metadata,
            original: text.to_string(),
        })
    }

    /// `major.minor.patch[-pre][+metadata]`.
    pub fn to_canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    /// Semantic version precedence (metadata ignored).
    pub fn compare(&self, other: &Version) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for i in 0..ap.len().max(bp.len()) {
        let s = ap.get(i).copied().unwrap_or("");
        let o = bp.get(i).copied().unwrap_or("");
        let d = compare_pre_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(si), Ok(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(text: &str) -> std::result::Result<Constraint, SemverError> {
    let caps = CONSTRAINT_RE
        .captures(text)
        .ok_or_else(|| SemverError::ImproperConstraint(text.to_string()))?;
    let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
    let mut minor_dirty = false;
    let mut patch_dirty = false;
    let mut dirty = false;
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        group(2).to_string()
    };
    let con =
        Version::parse(&ver).map_err(|_| SemverError::ImproperConstraint(text.to_string()))?;
    Ok(Constraint {
        op: group(1).to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

/// Masterminds `NewConstraint`: OR groups of AND-ed constraints.
fn parse_constraints(text: &str) -> std::result::Result<Vec<Vec<Constraint>>, SemverError> {
    let rewritten = RANGE_RE.replace_all(text, ">= $1, <= $11 ").into_owned();
    let mut groups = Vec::new();
    for part in rewritten.split("||") {
        if !VALID_CONSTRAINT_RE.is_match(part) {
            return Err(SemverError::ImproperConstraint(part.to_string()));
        }
        let found: Vec<&str> = FIND_CONSTRAINT_RE
            .find_iter(part)
            .map(|m| m.as_str())
            .collect();
        let items = if found.is_empty() { vec![part] } else { found };
        groups.push(
            items
                .into_iter()
                .map(parse_constraint)
                .collect::<std::result::Result<Vec<_>, _>>()?,
        );
    }
    Ok(groups)
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    false
                } else {
                    !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
                }
            }
            "~" | "~>" => self.tilde(v),
            "^" => self.caret(v),
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

/// Whether `version` satisfies `constraint` (Masterminds `Constraints.Check`).
pub fn satisfies(constraint: &str, version: &str) -> std::result::Result<bool, SemverError> {
    let groups = parse_constraints(constraint)?;
    let v = Version::parse(version)?;
    Ok(groups.iter().any(|group| {
        let include_pre = group.iter().any(|c| !c.con.pre.is_empty());
        group.iter().all(|c| c.check(&v, include_pre))
    }))
}

pub fn semver_compare(args: &[Value]) -> Result {
    want("semverCompare", args, 2)?;
    let constraint = string(&args[0])?;
    let version = string(&args[1])?;
    satisfies(constraint, version)
        .map(Value::Bool)
        .map_err(|e| FuncError::Call(e.to_string()))
}

pub fn semver_fn(args: &[Value]) -> Result {
    want("semver", args, 1)?;
    let version = Version::parse(string(&args[0])?).map_err(|e| FuncError::Call(e.to_string()))?;
    Ok(Value::Object(Arc::new(version)))
}

impl GoObject for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn call_method(
        &self,
        name: &str,
        args: &[Value],
    ) -> Option<std::result::Result<Value, String>> {
        // Go checks a method's argument count before it runs (`(semver "1.2.3").Minor 1`
        // is refused, found by the differential tester).
        let want = match name {
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
            | "IncMajor" | "IncMinor" | "IncPatch" => 0,
            "LessThan" | "GreaterThan" | "Equal" | "Compare" => 1,
            _ => return None,
        };
        if args.len() != want {
            return Some(Err(format!(
                "wrong number of args for {name}: want {want} got {}",
                args.len()
            )));
        }
        let other = || -> std::result::Result<Version, String> {
            match args.first() {
                Some(Value::Object(o)) if o.type_name() == "*semver.Version" => {
                    Version::parse(&o.go_string()).map_err(|e| e.to_string())
                }
                Some(other) => Err(format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    other.type_name()
                )),
                None => Err(format!("wrong number of args for {name}: want 1 got 0")),
            }
        };
        let bump = |major: u64, minor: u64, patch: u64| {
            let mut v = Version {
                major,
                minor,
                patch,
                pre: String::new(),
                metadata: String::new(),
                original: String::new(),
            };
            v.original = v.to_canonical();
            Value::Object(Arc::new(v))
        };
        Some(Ok(match name {
            // Masterminds/semver's methods answer `uint64`s.
            "Major" => Value::Uint64(self.major),
            "Minor" => Value::Uint64(self.minor),
            "Patch" => Value::Uint64(self.patch),
            "Prerelease" => Value::string(self.pre.as_str()),
            "Metadata" => Value::string(self.metadata.as_str()),
            "Original" => Value::string(self.original.as_str()),
            "String" => Value::string(self.to_canonical()),
            "LessThan" => {
                return Some(other().map(|o| Value::Bool(self.compare(&o) == Ordering::Less)));
            }
            "GreaterThan" => {
                return Some(other().map(|o| Value::Bool(self.compare(&o) == Ordering::Greater)));
            }
            "Equal" => {
                return Some(other().map(|o| Value::Bool(self.compare(&o) == Ordering::Equal)));
            }
            "Compare" => {
                return Some(other().map(|o| Value::Int(self.compare(&o) as i64)));
            }
            "IncMajor" => bump(self.major + 1, 0, 0),
            "IncMinor" => bump(self.major, self.minor + 1, 0),
            "IncPatch" => {
                if self.pre.is_empty() && self.metadata.is_empty() {
                    bump(self.major, self.minor, self.patch + 1)
                } else {
                    bump(self.major, self.minor, self.patch)
                }
            }
            _ => return None,
        }))
    }

    fn go_string(&self) -> String {
        self.to_canonical()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parts_are_uint64() {
        let version = semver_fn(&[Value::string("1.22.3")]).unwrap();
        let Value::Object(object) = version else {
            panic!("semver gives an object");
        };
        let minor = object.call_method("Minor", &[]).unwrap().unwrap();
        assert!(matches!(minor, Value::Uint64(22)));
        assert_eq!(minor.type_name(), "uint64");
        // An `int` parameter refuses it, as Go does.
        assert!(crate::funcs::args::int(&minor).is_err());
    }

    #[test]
    fn kube_version_constraints() {
        let ok = |c: &str, v: &str| satisfies(c, v).unwrap();
        assert!(ok(">=1.20-0", "v1.36.0"));
        assert!(ok(">=1.21.0-0", "v1.36.0"));
        assert!(!ok("<1.19-0", "v1.36.0"));
        assert!(ok("^1.2.3", "1.9.0"));
        assert!(!ok("^1.2.3", "2.0.0"));
        assert!(ok("~1.2", "1.2.9"));
        assert!(!ok("~1.2", "1.3.0"));
        assert!(ok("1.2 - 1.4", "1.3.0"));
        assert!(ok(">1.0 <2.0 || 3.x", "3.1.0"));
        assert!(!ok(">=1.20.0", "1.25.0-rc.1"));
        assert!(ok(">=1.20.0-0", "1.25.0-rc.1"));
        assert!(satisfies("boom", "1.0.0").is_err());
    }
}
