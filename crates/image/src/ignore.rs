//! `.dockerignore` with Docker's own semantics.
//!
//! This follows moby's `patternmatcher` and `ignorefile` packages (what `docker build`
//! uses): lines starting with `#` are comments, patterns are cleaned like Go's
//! `filepath.Clean` with a leading `/` dropped, `*` and `?` never cross a `/`, `**` crosses
//! any number of folders, `!` re-includes what an earlier line excluded (the last matching
//! line wins), and a pattern that matches a folder excludes everything below it.

use std::path::Path;

use regex::Regex;

use crate::error::{ImageError, Result};

/// The parsed patterns of one `.dockerignore` file.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    cleaned: String,
    exclusion: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    Prefix(String),
    Suffix(String),
    Regex(Regex),
}

impl DockerIgnore {
    /// No patterns: everything is sent.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads `<context>/.dockerignore`; a missing file means no patterns.
    pub fn load(context: &Path) -> Result<Self> {
        let file = context.join(".dockerignore");
        match std::fs::read_to_string(&file) {
            Ok(text) => Self::parse(&text, &file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::empty()),
            Err(source) => Err(ImageError::Read { path: file, source }),
        }
    }

    /// Parses the text of a `.dockerignore` file (`file` only names it in errors).
    pub fn parse(text: &str, file: &Path) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let (exclusion, body) = match trimmed.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, trimmed),
            };
            let invalid = |reason: String| ImageError::IgnorePattern {
                file: file.to_path_buf(),
                line: index + 1,
                pattern: raw.to_string(),
                reason,
            };
            if body.is_empty() {
                return Err(invalid(
                    "a lone `!` excludes nothing: write `!path` to re-include a path".into(),
                ));
            }
            let mut cleaned = clean(body);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let matcher = Matcher::compile(&cleaned).map_err(invalid)?;
            patterns.push(Pattern {
                cleaned,
                exclusion,
                matcher,
            });
        }
        Ok(Self { patterns })
    }

    /// Whether any line is an `!` exception.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|pattern| pattern.exclusion)
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out of the context:
    /// the last line matching it or one of its parent folders decides.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        if path == "." {
            return false;
        }
        let parents: Vec<&str> = match path.rfind('/') {
            Some(end) => path[..end].split('/').collect(),
            None => Vec::new(),
        };
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only an exception can undo an exclusion, and only an exclusion can exclude.
            if pattern.exclusion != excluded {
                continue;
            }
            let mut matched = pattern.matches(&path);
            if !matched {
                matched =
                    (1..=parents.len()).any(|depth| pattern.matches(&parents[..depth].join("/")));
            }
            if matched {
                excluded = !pattern.exclusion;
            }
        }
        excluded
    }

    /// Whether a walk must still look inside the excluded folder `dir` because an `!`
    /// exception names something below it (Docker's own shortcut: a plain prefix test, so
    /// `!**/keep` does not reach into excluded folders, exactly as with `docker build`).
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{}/", clean(dir));
        self.patterns
            .iter()
            .filter(|pattern| pattern.exclusion)
            .any(|pattern| format!("{}/", pattern.cleaned).starts_with(&dir_slash))
    }

    /// Makes sure `path` is sent even when a pattern excludes it, as the docker CLI does for
    /// the Dockerfile and `.dockerignore` (the builder reads them, then drops them).
    pub fn keep(&mut self, path: &str) {
        if self.is_excluded(path) {
            let cleaned = clean(path);
            self.patterns.push(Pattern {
                matcher: Matcher::Exact,
                cleaned,
                exclusion: true,
            });
        }
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.cleaned,
            Matcher::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|bare| path == bare)
            }
            Matcher::Regex(regex) => regex.is_match(path),
        }
    }
}

impl Matcher {
    /// Translates a cleaned pattern the way moby's `Pattern.compile` does, keeping its fast
    /// paths (exact, `foo/**` prefix, `**/foo` suffix) since they decide some edge cases.
    fn compile(pattern: &str) -> Result<Self, String> {
        #[derive(PartialEq)]
        enum Kind {
            Exact,
            Prefix,
            Suffix,
            Regex,
        }
        let mut kind = Kind::Exact;
        let mut regex = String::from("^");
        let chars: Vec<char> = pattern.chars().collect();
        let mut index = 0;
        let mut position = 0;
        while index < chars.len() {
            let ch = chars[index];
            index += 1;
            match ch {
                '*' if chars.get(index) == Some(&'*') => {
                    index += 1;
                    if chars.get(index) == Some(&'/') {
                        index += 1;
                    }
                    if index == chars.len() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            regex.push_str(".*");
                            kind = Kind::Regex;
                        }
                    } else {
                        regex.push_str("(.*/)?");
                        kind = Kind::Regex;
                    }
                    if position == 0 {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    regex.push_str("[^/]*");
                    kind = Kind::Regex;
                }
                '?' => {
                    regex.push_str("[^/]");
                    kind = Kind::Regex;
                }
                '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                    regex.push('\\');
                    regex.push(ch);
                }
                '\\' => match chars.get(index) {
                    Some(&next) => {
                        index += 1;
                        regex.push('\\');
                        regex.push(next);
                        kind = Kind::Regex;
                    }
                    None => regex.push('\\'),
                },
                '[' | ']' => {
                    regex.push(ch);
                    kind = Kind::Regex;
                }
                other => regex.push(other),
            }
            position += 1;
        }
        // Docker checks every pattern with Go's filepath.Match, which rejects a trailing
        // `\` and unbalanced brackets even on the fast paths.
        if pattern.ends_with('\\') && !pattern.ends_with("\\\\") {
            return Err("a trailing `\\` escapes nothing".into());
        }
        if pattern.contains('[') || pattern.contains(']') {
            Regex::new(&format!("{regex}$")).map_err(|error| bracket_error(&error))?;
        }
        Ok(match kind {
            Kind::Exact => Matcher::Exact,
            Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
            Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
            Kind::Regex => {
                regex.push('$');
                Matcher::Regex(Regex::new(&regex).map_err(|error| bracket_error(&error))?)
            }
        })
    }
}

fn bracket_error(error: &regex::Error) -> String {
    let detail = error.to_string();
    let last = detail.lines().last().unwrap_or_default().trim().to_string();
    format!("not a valid pattern ({last}); escape a literal `[` as `\\[`")
}

/// Go's `filepath.Clean` on a `/`-separated path.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn ignore(lines: &str) -> DockerIgnore {
        DockerIgnore::parse(lines, Path::new(".dockerignore")).unwrap()
    }

    #[rstest]
    #[case::plain_file("foo", "foo", true)]
    #[case::plain_file_other("foo", "bar", false)]
    #[case::folder_excludes_children("target", "target/debug/app", true)]
    #[case::star_does_not_cross_slash("*.log", "logs/a.log", false)]
    #[case::star_at_top("*.log", "a.log", true)]
    #[case::star_in_folder("*/a.log", "logs/a.log", true)]
    #[case::double_star_any_depth("**/*.log", "a/b/c.log", true)]
    #[case::double_star_zero_depth("**/*.log", "c.log", true)]
    #[case::double_star_suffix_top("**/node_modules", "node_modules/x", true)]
    #[case::double_star_suffix_deep("**/node_modules", "a/node_modules/x", true)]
    #[case::double_star_suffix_partial_name("**/modules", "a/node_modules", false)]
    #[case::trailing_double_star("docs/**", "docs/a/b.md", true)]
    #[case::trailing_double_star_not_sibling("docs/**", "docsx/a", false)]
    #[case::middle_double_star("a/**/z", "a/z", true)]
    #[case::middle_double_star_deep("a/**/z", "a/b/c/z", true)]
    #[case::question_mark("file?.txt", "file1.txt", true)]
    #[case::question_mark_not_slash("a?b", "a/b", false)]
    #[case::character_class("[ab].txt", "b.txt", true)]
    #[case::negated_class("[^ab].txt", "c.txt", true)]
    #[case::leading_slash_is_context_root("/secret", "secret", true)]
    #[case::leading_slash_not_anywhere("/secret", "a/secret", false)]
    #[case::no_implicit_anywhere("secret", "a/secret", false)]
    #[case::dot_is_literal("a.b", "axb", false)]
    #[case::cleaned_dot_segments("./a/../b/", "b", true)]
    #[case::comment("# foo\n", "# foo", false)]
    #[case::comment_not_after_space(" #foo", "#foo", true)]
    #[case::blank_lines("\n\n  \n", "anything", false)]
    #[case::exception_after("*.md\n!README.md", "README.md", false)]
    #[case::exception_after_other("*.md\n!README.md", "CHANGES.md", true)]
    #[case::order_matters_last_wins("!README.md\n*.md", "README.md", true)]
    #[case::exception_inside_excluded_dir("docs\n!docs/keep.md", "docs/keep.md", false)]
    #[case::exception_then_reexclude("docs\n!docs/keep\ndocs/keep/tmp", "docs/keep/tmp/x", true)]
    #[case::exception_with_spaces("*.md\n  !  README.md  ", "README.md", false)]
    #[case::escaped_star("a\\*b", "a*b", true)]
    #[case::escaped_star_literal("a\\*b", "axb", false)]
    #[case::env_files(".env*", ".env.local", true)]
    #[case::root_never_excluded("*", ".", false)]
    #[case::everything("**", "a/b/c", true)]
    fn dockerignore_table(#[case] lines: &str, #[case] path: &str, #[case] excluded: bool) {
        assert_eq!(
            ignore(lines).is_excluded(path),
            excluded,
            "{lines:?} on {path:?}"
        );
    }

    #[test]
    fn bom_is_ignored() {
        assert!(ignore("\u{feff}secret").is_excluded("secret"));
    }

    #[rstest]
    #[case::lone_bang("!", "lone `!`")]
    #[case::open_bracket("foo[", "escape a literal `[`")]
    #[case::trailing_backslash("foo\\", "trailing")]
    fn invalid_patterns_name_line_and_fix(#[case] lines: &str, #[case] expected: &str) {
        let text = format!("ok\n{lines}\n");
        let error = DockerIgnore::parse(&text, Path::new("ctx/.dockerignore")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("ctx/.dockerignore:2"), "{message}");
        assert!(message.contains(expected), "{message}");
    }

    #[test]
    fn keep_reincludes_build_files_only_when_excluded() {
        let mut rules = ignore("Dockerfile*\n.dockerignore");
        rules.keep("Dockerfile");
        rules.keep(".dockerignore");
        assert!(!rules.is_excluded("Dockerfile"));
        assert!(!rules.is_excluded(".dockerignore"));
        assert!(rules.is_excluded("Dockerfile.dev"));
    }

    #[rstest]
    #[case::named_below("docs\n!docs/keep.md", "docs", true)]
    #[case::wildcard_does_not_count("docs\n!**/keep.md", "docs", false)]
    #[case::other_folder("docs\n!src/keep.md", "docs", false)]
    #[case::no_exceptions("docs", "docs", false)]
    fn walking_into_excluded_folders(#[case] lines: &str, #[case] dir: &str, #[case] walk: bool) {
        assert_eq!(ignore(lines).may_reinclude_below(dir), walk);
    }

    #[rstest]
    #[case("a//b/", "a/b")]
    #[case("./a", "a")]
    #[case("a/../..", "..")]
    #[case("/../a", "/a")]
    #[case("", ".")]
    #[case("/", "/")]
    fn clean_like_go(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(clean(input), expected);
    }
}
