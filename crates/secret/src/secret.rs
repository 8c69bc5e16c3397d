//! The redacting [`Secret`] wrapper.

use std::fmt;
use zeroize::Zeroize;

/// A secret value: `Debug` and `Display` print `***`, and the memory is wiped on drop.
///
/// The only way to read the value is [`Secret::expose`], which makes every place that
/// needs the real value easy to find.
///
/// ```
/// use deploykit_secret::Secret;
/// let token = Secret::new("s3cr3t");
/// assert_eq!(format!("{token} {token:?}"), "*** ***");
/// assert_eq!(token.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value. Never log or print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (an empty secret counts as missing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact_even_inside_other_types() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret:#?}"), "***");
        let nested = Some(vec![("KEY", secret.clone())]);
        assert!(!format!("{nested:?}").contains("hunter2"));
    }

    #[test]
    fn expose_gives_the_value_and_empty_counts_as_missing() {
        assert_eq!(Secret::from("abc").expose(), "abc");
        assert!(Secret::default().is_empty());
        assert!(!Secret::from(String::from("x")).is_empty());
    }
}
