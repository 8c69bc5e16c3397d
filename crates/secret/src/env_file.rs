//! `.env` files: parsed with dotenvy, edited line by line so comments and order survive.

use crate::{Secret, SecretError, is_tracked_by_git};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A `.env` file in memory: its text (comments included) and its parsed values.
///
/// ```
/// use deploykit_secret::{EnvFile, Secret};
/// let mut env = EnvFile::parse(".env", "# settings\nLOG_LEVEL=info\n")?;
/// env.set("BETTER_AUTH_SECRET", Secret::new("k3y"));
/// assert_eq!(env.get("LOG_LEVEL").map(Secret::expose), Some("info"));
/// assert!(env.text().expose().starts_with("# settings\nLOG_LEVEL=info\nBETTER_AUTH_SECRET=k3y"));
/// # Ok::<(), deploykit_secret::SecretError>(())
/// ```
#[derive(Debug, Clone)]
pub struct EnvFile {
    path: PathBuf,
    text: Secret,
    entries: Vec<(String, Secret)>,
}

impl EnvFile {
    /// An empty file that will be written at `path`.
    pub fn empty(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            text: Secret::default(),
            entries: Vec::new(),
        }
    }

    /// Parses `text` as the contents of `path` (nothing is read from disk).
    pub fn parse(path: impl Into<PathBuf>, text: &str) -> Result<Self, SecretError> {
        let path = path.into();
        let mut entries = Vec::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((key, value)) => entries.push((key, Secret::from(value))),
                Err(dotenvy::Error::LineParse(bad_line, _)) => {
                    let line = line_number(text, &bad_line);
                    return Err(SecretError::Parse { path, line });
                }
                Err(dotenvy::Error::Io(source)) => return Err(SecretError::Read { path, source }),
                Err(_) => return Err(SecretError::Parse { path, line: 1 }),
            }
        }
        Ok(Self {
            path,
            text: Secret::from(text),
            entries,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, SecretError> {
        let path = path.into();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(path, &text),
            Err(source) => Err(SecretError::Read { path, source }),
        }
    }

    /// Reads `path` when it exists; otherwise starts from the text of `template` (such as
    /// `.env.example`, for its comments) or from nothing. The flag says whether `path`
    /// was missing.
    pub fn load_or_template(
        path: impl Into<PathBuf>,
        template: Option<&Path>,
    ) -> Result<(Self, bool), SecretError> {
        let path = path.into();
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        match template.filter(|template| template.is_file()) {
            Some(template) => {
                let text =
                    std::fs::read_to_string(template).map_err(|source| SecretError::Read {
                        path: template.to_path_buf(),
                        source,
                    })?;
                Ok((Self::parse(path, &text)?, true))
            }
            None => Ok((Self::empty(path), true)),
        }
    }

    /// Where this file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value of `key` (the last assignment wins), empty values included.
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.entries
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// The value of `key` when it is set and not empty.
    pub fn get_non_empty(&self, key: &str) -> Option<&Secret> {
        self.get(key).filter(|value| !value.is_empty())
    }

    /// The keys in file order (a key assigned twice appears twice).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_str())
    }

    /// Each assignment in file order, with its value (a key assigned twice appears twice):
    /// print them freely, a [`Secret`] prints `***`.
    ///
    /// ```
    /// let env = deploykit_secret::EnvFile::parse(".env", "USER=app\nPASSWORD=hunter2\n")?;
    /// let listed: Vec<String> = env.iter().map(|(key, value)| format!("{key}={value}")).collect();
    /// assert_eq!(listed, ["USER=***", "PASSWORD=***"]);
    /// # Ok::<(), deploykit_secret::SecretError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Sets `key`: its last `KEY=` line is replaced in place, or `KEY=value` is appended.
    /// Every other line, comments included, is kept as it was.
    pub fn set(&mut self, key: &str, value: Secret) {
        let line = format!("{key}={}", quote(value.expose()));
        let mut lines: Vec<&str> = self.text.expose().lines().collect();
        let text = match lines.iter().rposition(|candidate| assigns(candidate, key)) {
            Some(index) => {
                lines[index] = &line;
                lines.join("\n") + "\n"
            }
            None if lines.is_empty() => format!("{line}\n"),
            None => lines.join("\n") + "\n" + &line + "\n",
        };
        self.text = Secret::from(text);
        match self.entries.iter_mut().rev().find(|(name, _)| name == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    /// The file's full text, as it will be written.
    pub fn text(&self) -> &Secret {
        &self.text
    }

    /// Writes the file with mode 0600 (atomically: a temporary file renamed over it).
    ///
    /// Refuses when git tracks the file, since the secrets would then be committed.
    pub fn save(&self) -> Result<(), SecretError> {
        let path = &self.path;
        if is_tracked_by_git(path) {
            return Err(SecretError::TrackedByGit { path: path.clone() });
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let write_error = |source| SecretError::Write {
            path: path.clone(),
            source,
        };
        // tempfile creates the file with mode 0600 on Unix, before any byte is written.
        let mut file = tempfile::NamedTempFile::new_in(folder).map_err(write_error)?;
        file.write_all(self.text.expose().as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(write_error)?;
        file.persist(path)
            .map_err(|error| write_error(error.error))?;
        Ok(())
    }
}

/// Whether `line` assigns `key` (`KEY=…`, `KEY =…` or `export KEY=…`).
fn assigns(line: &str, key: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// Writes a value so that dotenvy (and compose) read it back unchanged.
fn quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@+,%".contains(c);
    if value.chars().all(plain) {
        value.to_owned()
    } else if !value.contains(['\'', '\n']) {
        format!("'{value}'")
    } else {
        let mut quoted = String::from("\"");
        for c in value.chars() {
            match c {
                '"' | '\\' | '$' => {
                    quoted.push('\\');
                    quoted.push(c);
                }
                '\n' => quoted.push_str("\\n"),
                _ => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }
}

/// The 1-based number of the line dotenvy rejected (it reports the line's text, which we
/// must not repeat since it may hold a secret).
fn line_number(text: &str, bad_line: &str) -> usize {
    let first = bad_line.lines().next().unwrap_or_default().trim();
    text.lines()
        .position(|line| line.trim() == first)
        .map_or(1, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn setting_a_new_key_keeps_comments_and_order() {
        let text = "# Todo app settings\nLOG_LEVEL=debug\n\n# the database\nDATABASE_URL=\n";
        let mut env = EnvFile::parse(".env", text).unwrap();
        env.set("BETTER_AUTH_SECRET", Secret::new("abc"));
        assert_eq!(
            env.text().expose(),
            "# Todo app settings\nLOG_LEVEL=debug\n\n# the database\nDATABASE_URL=\nBETTER_AUTH_SECRET=abc\n"
        );
        assert_eq!(
            env.keys().collect::<Vec<_>>(),
            ["LOG_LEVEL", "DATABASE_URL", "BETTER_AUTH_SECRET"]
        );
    }

    #[test]
    fn setting_an_empty_key_fills_it_in_place() {
        let text = "# signs sessions\nBETTER_AUTH_SECRET=\n# more\nLOG_LEVEL=info";
        let mut env = EnvFile::parse(".env", text).unwrap();
        assert!(env.get("BETTER_AUTH_SECRET").unwrap().is_empty());
        assert!(env.get_non_empty("BETTER_AUTH_SECRET").is_none());
        env.set("BETTER_AUTH_SECRET", Secret::new("xyz"));
        assert_eq!(
            env.text().expose(),
            "# signs sessions\nBETTER_AUTH_SECRET=xyz\n# more\nLOG_LEVEL=info\n"
        );
        let reparsed = EnvFile::parse(".env", env.text().expose()).unwrap();
        assert_eq!(reparsed.get("BETTER_AUTH_SECRET").unwrap().expose(), "xyz");
    }

    #[rstest]
    #[case::plain("abcDEF123-_")]
    #[case::url("postgres://user:pw@host/db?sslmode=require")]
    #[case::spaces("two words # not a comment")]
    #[case::dollar("pa$$word")]
    #[case::single_quote("it's \"quoted\" $HOME \\ too")]
    #[case::newline("line one\nline two")]
    #[case::empty("")]
    fn written_values_read_back_unchanged(#[case] value: &str) {
        let mut env = EnvFile::empty(".env");
        env.set("KEY", Secret::new(value));
        let reparsed = EnvFile::parse(".env", env.text().expose()).unwrap();
        assert_eq!(reparsed.get("KEY").unwrap().expose(), value);
    }

    #[rstest]
    #[case::plain("KEY=1", true)]
    #[case::spaced("  KEY = 1", true)]
    #[case::export("export KEY=1", true)]
    #[case::prefix("KEY2=1", false)]
    #[case::comment("# KEY=1", false)]
    fn finds_assignment_lines(#[case] line: &str, #[case] expected: bool) {
        assert_eq!(assigns(line, "KEY"), expected);
    }

    #[test]
    fn a_bad_line_is_named_by_number_without_its_text() {
        let text = "A=1\n# comment\nthis is not valid s3cretvalue\n";
        let error = EnvFile::parse("/app/.env", text).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/app/.env, line 3"), "{message}");
        assert!(!message.contains("s3cretvalue"), "{message}");
        assert!(!format!("{error:?}").contains("s3cretvalue"));
    }

    #[test]
    fn debug_of_a_file_shows_no_value() {
        let env = EnvFile::parse(".env", "BETTER_AUTH_SECRET=topsecretvalue\n").unwrap();
        let debug = format!("{env:?}");
        assert!(!debug.contains("topsecretvalue"), "{debug}");
        assert!(debug.contains("BETTER_AUTH_SECRET"));
    }
}
