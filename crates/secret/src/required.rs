//! Keys an app needs, generating those that can be generated.

use crate::{EnvFile, Secret, SecretError};
use base64::Engine as _;
use rand::RngCore as _;
use std::path::Path;

/// How a missing key can be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// This many random bytes from the operating system, base64url-encoded without
    /// padding (no character needs quoting in a `.env` or YAML file).
    RandomBytes(usize),
}

impl Generator {
    /// A fresh value for `key` (the key only names what failed).
    pub fn generate(self, key: &str) -> Result<Secret, SecretError> {
        match self {
            Self::RandomBytes(count) => {
                let mut bytes = zeroize::Zeroizing::new(vec![0_u8; count]);
                rand::rngs::OsRng
                    .try_fill_bytes(&mut bytes)
                    .map_err(|source| SecretError::Random {
                        key: key.to_owned(),
                        source,
                    })?;
                Ok(Secret::from(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*bytes),
                ))
            }
        }
    }
}

/// A key the app cannot run without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredKey {
    /// The variable's name, such as `BETTER_AUTH_SECRET`.
    pub name: String,
    /// What it is for and how to get a value; shown when it is missing.
    pub hint: String,
    /// How to generate it when missing; `None` when only a person can provide it.
    pub generator: Option<Generator>,
}

impl RequiredKey {
    /// A key a person must set.
    pub fn new(name: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            hint: hint.into(),
            generator: None,
        }
    }

    /// A key generated when missing.
    pub fn generated(
        name: impl Into<String>,
        hint: impl Into<String>,
        generator: Generator,
    ) -> Self {
        Self {
            generator: Some(generator),
            ..Self::new(name, hint)
        }
    }
}

/// What [`ensure_env`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnsureReport {
    /// The file did not exist and was created.
    pub created: bool,
    /// The keys that were generated (names only).
    pub generated: Vec<String>,
}

/// Checks that every key in `keys` that cannot be generated is set and not empty in
/// `env`. The first missing one is the error.
pub fn check_required(env: &EnvFile, keys: &[RequiredKey]) -> Result<(), SecretError> {
    match keys
        .iter()
        .find(|key| key.generator.is_none() && env.get_non_empty(&key.name).is_none())
    {
        Some(key) => Err(SecretError::MissingKey {
            key: key.name.clone(),
            path: env.path().to_path_buf(),
            hint: key.hint.clone(),
        }),
        None => Ok(()),
    }
}

/// Makes sure the `.env` at `path` holds every key in `keys`.
///
/// A missing file starts from `template` (e.g. `.env.example`) when given. Keys that are
/// missing or empty and can be generated are generated and the file is saved (mode 0600,
/// never into a file git tracks); a missing key that cannot be generated is an error
/// and nothing is written. An unchanged file is not rewritten.
pub fn ensure_env(
    path: impl AsRef<Path>,
    template: Option<&Path>,
    keys: &[RequiredKey],
) -> Result<EnsureReport, SecretError> {
    let (mut env, created) = EnvFile::load_or_template(path.as_ref(), template)?;
    check_required(&env, keys)?;
    let mut report = EnsureReport {
        created,
        generated: Vec::new(),
    };
    for key in keys {
        if let (Some(generator), None) = (key.generator, env.get_non_empty(&key.name)) {
            env.set(&key.name, generator.generate(&key.name)?);
            report.generated.push(key.name.clone());
        }
    }
    if created || !report.generated.is_empty() {
        env.save()?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_are_fresh_and_encoded_without_padding() {
        let one = Generator::RandomBytes(32).generate("K").unwrap();
        let two = Generator::RandomBytes(32).generate("K").unwrap();
        assert_ne!(one, two);
        assert_eq!(one.expose().len(), 43);
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(one.expose())
            .unwrap();
        assert_eq!(decoded.len(), 32);
    }

    #[test]
    fn a_missing_key_names_itself_the_file_and_the_hint() {
        let env = EnvFile::parse("/srv/app/.env", "OPENAI_API_KEY=\n").unwrap();
        let keys = [RequiredKey::new(
            "OPENAI_API_KEY",
            "an API key from your provider's dashboard",
        )];
        let message = check_required(&env, &keys).unwrap_err().to_string();
        assert_eq!(
            message,
            "OPENAI_API_KEY is missing or empty: set it in /srv/app/.env (an API key from your provider's dashboard)"
        );
    }

    #[test]
    fn generated_keys_are_not_required() {
        let env = EnvFile::empty(".env");
        let keys = [RequiredKey::generated(
            "S",
            "signing key",
            Generator::RandomBytes(8),
        )];
        check_required(&env, &keys).unwrap();
    }
}
