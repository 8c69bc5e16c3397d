//! Image references (`registry:5000/team/app:tag@sha256:...`), parsed the way Docker
//! normalizes them.

use std::fmt;

use crate::error::{ImageError, Result};

/// Docker Hub's registry name.
pub const DOCKER_HUB: &str = "docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The registry host (`docker.io` when none is written).
    pub registry: String,
    /// The repository path (`library/alpine`, `team/app`).
    pub repository: String,
    /// The tag, if written.
    pub tag: Option<String>,
    /// The digest (`sha256:...`), if written.
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses `reference`; a first part with a `.` or `:`, or `localhost`, is a registry.
    pub fn parse(reference: &str) -> Result<Self> {
        let invalid = |reason: &str| ImageError::InvalidReference {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        if reference.is_empty() {
            return Err(invalid("it is empty"));
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
                    !algorithm.is_empty()
                        && hex.len() >= 32
                        && hex.chars().all(|c| c.is_ascii_hexdigit())
                });
                if !valid {
                    return Err(invalid("the digest must look like sha256:<64 hex digits>"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |index| index + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(index) => (
                &rest[..last_slash + index],
                Some(rest[last_slash + index + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            let valid = tag.len() <= 128
                && tag
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(invalid(
                    "a tag is up to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
                ));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let component_ok = |part: &str| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                && part
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        };
        if path.is_empty() || !path.split('/').all(component_ok) {
            return Err(invalid(
                "repository names are lowercase letters, digits and `.`, `_`, `-` separated by `/`",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository` as Docker names it (`alpine` for Docker Hub's official images).
    pub fn name(&self) -> String {
        if self.registry == DOCKER_HUB {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("alpine", "docker.io", "library/alpine", None, "alpine")]
    #[case(
        "alpine:3.20",
        "docker.io",
        "library/alpine",
        Some("3.20"),
        "alpine:3.20"
    )]
    #[case("team/app:v1", "docker.io", "team/app", Some("v1"), "team/app:v1")]
    #[case(
        "localhost:5000/app:abc",
        "localhost:5000",
        "app",
        Some("abc"),
        "localhost:5000/app:abc"
    )]
    #[case("localhost/app", "localhost", "app", None, "localhost/app")]
    #[case(
        "ghcr.io/org/todo-backend:1a2b",
        "ghcr.io",
        "org/todo-backend",
        Some("1a2b"),
        "ghcr.io/org/todo-backend:1a2b"
    )]
    #[case(
        "registry:5000/a/b/c",
        "registry:5000",
        "a/b/c",
        None,
        "registry:5000/a/b/c"
    )]
    fn references_parse(
        #[case] input: &str,
        #[case] registry: &str,
        #[case] repository: &str,
        #[case] tag: Option<&str>,
        #[case] shown: &str,
    ) {
        let parsed = ImageReference::parse(input).unwrap();
        assert_eq!(parsed.registry, registry);
        assert_eq!(parsed.repository, repository);
        assert_eq!(parsed.tag.as_deref(), tag);
        assert_eq!(parsed.to_string(), shown);
    }

    #[test]
    fn digests_parse() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let parsed = ImageReference::parse(&format!("app:v1@{digest}")).unwrap();
        assert_eq!(parsed.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(parsed.tag.as_deref(), Some("v1"));
    }

    #[rstest]
    #[case("", "empty")]
    #[case("App", "lowercase")]
    #[case("app:-bad", "a tag is")]
    #[case("app@sha256:xyz", "digest")]
    #[case("a//b", "lowercase")]
    #[case("reg:5000/", "lowercase")]
    fn bad_references_say_why(#[case] input: &str, #[case] expected: &str) {
        let message = ImageReference::parse(input).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
}
