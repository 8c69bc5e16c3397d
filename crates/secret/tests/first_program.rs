//! A stranger's first program against deploykit-secret, written from the crate's docs:
//! list a `.env` with its values redacted, then the inputs it gets wrong (no such file, a
//! line that is not `KEY=value`, a key the Secret needs that is empty), each a typed
//! error naming the file, line or key and never the value.

use std::path::Path;

use deploykit_secret::{EnvFile, KubeSecret, SecretError};

/// The program: the `.env` as `KEY=***` lines, and the keys of the Secret built from it.
fn redact(path: &Path) -> Result<(Vec<String>, Vec<String>), SecretError> {
    let env = EnvFile::load(path)?;
    let listed = env
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let secret = KubeSecret::new("shop-env", "store").from_env(&env, &["DATABASE_URL"], &[])?;
    Ok((listed, secret.keys().map(str::to_string).collect()))
}

#[test]
fn a_dotenv_is_listed_without_one_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let text = "# shop\nexport LOG_LEVEL=debug\nDATABASE_URL=\"postgres://shop:hunter2@db/shop\"\nAPI_TOKEN='tok en'\n";
    std::fs::write(&path, text).unwrap();
    let (listed, keys) = redact(&path).unwrap();
    assert_eq!(
        listed,
        ["LOG_LEVEL=***", "DATABASE_URL=***", "API_TOKEN=***"]
    );
    assert_eq!(keys, ["DATABASE_URL"]);
    let env = EnvFile::load(&path).unwrap();
    assert!(!format!("{env:?}").contains("hunter2"));
    assert_eq!(
        env.get("DATABASE_URL").unwrap().expose(),
        "postgres://shop:hunter2@db/shop"
    );
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    let error = redact(&path).unwrap_err();
    assert!(
        matches!(&error, SecretError::Read { path: p, .. } if p == &path),
        "{error:?}"
    );
    assert!(error.to_string().contains(&path.display().to_string()));
}

#[test]
fn a_bad_line_is_named_by_number_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    std::fs::write(&path, "A=1\nthis hunter2 is not an assignment\n").unwrap();
    let error = redact(&path).unwrap_err();
    assert!(
        matches!(&error, SecretError::Parse { line: 2, .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
}

#[test]
fn an_empty_key_the_secret_needs_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    std::fs::write(&path, "DATABASE_URL=\n").unwrap();
    let error = redact(&path).unwrap_err();
    assert!(
        matches!(&error, SecretError::MissingKey { key, .. } if key == "DATABASE_URL"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("shop-env"), "{message}");
}
