//! Kubernetes `Secret` objects as plain JSON (no client: applying is someone else's job).

use crate::{EnvFile, Secret, SecretError};
use base64::Engine as _;
use std::collections::BTreeMap;

/// A Kubernetes `Secret` (type `Opaque`) under construction.
///
/// `Debug` shows names and keys only; [`KubeSecret::to_manifest`] is the one place the
/// values come out (base64-encoded in `data`, as the API server stores them).
///
/// ```
/// use deploykit_secret::{EnvFile, KubeSecret};
/// let env = EnvFile::parse(".env", "BETTER_AUTH_SECRET=abc\n")?;
/// let secret = KubeSecret::new("todo-secrets", "todo")
///     .label("app.kubernetes.io/part-of", "todo")
///     .from_env(&env, &["BETTER_AUTH_SECRET"], &["OPENAI_API_KEY"])?;
/// let manifest = secret.to_manifest();
/// assert_eq!(manifest["data"]["BETTER_AUTH_SECRET"], "YWJj");
/// assert!(manifest["data"].get("OPENAI_API_KEY").is_none());
/// # Ok::<(), deploykit_secret::SecretError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSecret {
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
    data: BTreeMap<String, Secret>,
}

impl KubeSecret {
    /// An empty secret `name` in `namespace`.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            labels: BTreeMap::new(),
            data: BTreeMap::new(),
        }
    }

    /// Adds a metadata label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds one entry.
    pub fn insert(mut self, key: impl Into<String>, value: Secret) -> Self {
        self.data.insert(key.into(), value);
        self
    }

    /// Adds keys from a `.env`: each of `required` must be set and not empty (else an
    /// error naming it and the file); each of `optional` is added when set and not empty.
    pub fn from_env(
        mut self,
        env: &EnvFile,
        required: &[&str],
        optional: &[&str],
    ) -> Result<Self, SecretError> {
        for &key in required {
            let value = env
                .get_non_empty(key)
                .ok_or_else(|| SecretError::MissingKey {
                    key: key.to_owned(),
                    path: env.path().to_path_buf(),
                    hint: format!("the Kubernetes Secret {} needs it", self.name),
                })?;
            self.data.insert(key.to_owned(), value.clone());
        }
        for &key in optional {
            if let Some(value) = env.get_non_empty(key) {
                self.data.insert(key.to_owned(), value.clone());
            }
        }
        Ok(self)
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys it holds, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str)
    }

    /// The object as the Kubernetes API takes it. It holds the secret values (base64 is
    /// an encoding, not a protection): never log it.
    pub fn to_manifest(&self) -> serde_json::Value {
        let engine = base64::engine::general_purpose::STANDARD;
        let data: serde_json::Map<String, serde_json::Value> = self
            .data
            .iter()
            .map(|(key, value)| (key.clone(), engine.encode(value.expose()).into()))
            .collect();
        let mut metadata = serde_json::json!({
            "name": self.name,
            "namespace": self.namespace,
        });
        if !self.labels.is_empty() {
            metadata["labels"] = serde_json::json!(self.labels);
        }
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "data": data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_an_opaque_secret_with_base64_data() {
        let env = EnvFile::parse(".env", "A=hello\nB=\nC=x\n").unwrap();
        let secret = KubeSecret::new("app", "ns")
            .from_env(&env, &["A"], &["B", "C", "D"])
            .unwrap();
        assert_eq!(secret.keys().collect::<Vec<_>>(), ["A", "C"]);
        assert_eq!(
            secret.to_manifest(),
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "app", "namespace": "ns"},
                "type": "Opaque",
                "data": {"A": "aGVsbG8=", "C": "eA=="},
            })
        );
    }

    #[test]
    fn a_missing_required_key_is_named_and_debug_hides_values() {
        let env = EnvFile::parse("/x/.env", "A=topsecret\n").unwrap();
        let error = KubeSecret::new("app", "ns")
            .from_env(&env, &["A", "B"], &[])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "B is missing or empty: set it in /x/.env (the Kubernetes Secret app needs it)"
        );
        let secret = KubeSecret::new("app", "ns").insert("A", Secret::new("topsecret"));
        assert!(!format!("{secret:?}").contains("topsecret"));
    }
}
