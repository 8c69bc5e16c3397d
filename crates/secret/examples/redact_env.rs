//! Read a `.env`, list what it sets without showing one value, generate the signing key it
//! lacks, and build the Kubernetes Secret a deployment reads:
//! `cargo run -p deploykit-secret --example redact_env -- path/to/.env` (without a path, a
//! sample `.env` in a temporary folder).

use std::io::Write;
use std::path::{Path, PathBuf};

use deploykit_secret::{EnvFile, Generator, KubeSecret, RequiredKey, ensure_env};

/// What the example writes when no `.env` is given.
const SAMPLE: &str =
    "# the app's settings\nLOG_LEVEL=info\nDATABASE_URL=postgres://app:hunter2@db/app\n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => {
            let path = scratch.path().join(".env");
            std::fs::write(&path, SAMPLE)?;
            path
        }
    };
    report(&path, &mut std::io::stdout().lock())
}

/// Makes sure `path` holds a session key, then writes each key with its value redacted
/// and the Secret's keys to `out`.
fn report(path: &Path, out: &mut impl Write) -> Result<(), Box<dyn std::error::Error>> {
    let keys = [
        RequiredKey::generated(
            "SESSION_KEY",
            "signs session cookies",
            Generator::RandomBytes(32),
        ),
        RequiredKey::new("DATABASE_URL", "the database to connect to"),
    ];
    // Generates what is missing and can be generated; saved with mode 0600, never into a
    // file git tracks.
    let ensured = ensure_env(path, None, &keys)?;
    for key in &ensured.generated {
        writeln!(out, "generated {key} in {}", path.display())?;
    }
    let env = EnvFile::load(path)?;
    for (key, value) in env.iter() {
        // A `Secret` prints `***`: the value itself only comes out of `expose()`.
        writeln!(out, "{key}={value}")?;
    }
    let secret = KubeSecret::new("app-env", "default").from_env(
        &env,
        &["SESSION_KEY", "DATABASE_URL"],
        &["LOG_LEVEL"],
    )?;
    let names: Vec<&str> = secret.keys().collect();
    writeln!(out, "Secret {}: {}", secret.name(), names.join(", "))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keys_never_values_and_generates_the_session_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, SAMPLE).unwrap();
        let mut out = Vec::new();
        report(&path, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("generated SESSION_KEY in "), "{out}");
        assert!(out.contains("DATABASE_URL=***\n"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.ends_with("Secret app-env: DATABASE_URL, LOG_LEVEL, SESSION_KEY\n"));
        let saved = EnvFile::load(&path).unwrap();
        let key = saved.get_non_empty("SESSION_KEY").unwrap();
        assert!(!out.contains(key.expose()), "{out}");
    }

    /// Values a program shares between threads or tasks: compile-time checks.
    #[test]
    fn files_secrets_and_errors_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<EnvFile>();
        send_sync::<deploykit_secret::Secret>();
        send_sync::<KubeSecret>();
        send_sync::<deploykit_secret::SecretError>();
    }

    #[test]
    fn a_missing_key_names_itself_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "LOG_LEVEL=info\n").unwrap();
        let error = report(&path, &mut Vec::new()).unwrap_err().to_string();
        assert!(
            error.starts_with("DATABASE_URL is missing or empty: set it in "),
            "{error}"
        );
        assert!(error.contains("(the database to connect to)"), "{error}");
    }
}
