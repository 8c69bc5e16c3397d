//! Registry credentials from the docker CLI's `config.json`.
//!
//! `auths` entries (`auth` = base64 of `user:password`, or an `identitytoken`), a global
//! `credsStore` and per-registry `credHelpers` (`docker-credential-<name> get`) are read
//! the way `docker push` reads them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{ImageError, Result};
use crate::reference::DOCKER_HUB;

/// The key Docker Hub credentials are stored under.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Credentials for one registry. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// The registry they are for, as written in the config.
    pub server: String,
    /// User name (empty with an identity token).
    pub username: String,
    /// Password or access token.
    pub password: String,
    /// An OAuth identity token, when the registry gave one instead of a password.
    pub identity_token: Option<String>,
}

impl fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field(
                "identity_token",
                &self.identity_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The parts of `~/.docker/config.json` that concern registries.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    path: PathBuf,
    file: ConfigFile,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl DockerConfig {
    /// The docker CLI's config file: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|dir| !dir.is_empty()) {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
    }

    /// Reads the default config; a missing file is an empty config.
    pub fn load_default() -> Result<Self> {
        match Self::default_path() {
            Some(path) => Self::load(&path),
            None => Ok(Self::default()),
        }
    }

    /// Reads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                path: path.to_path_buf(),
                file: ConfigFile::default(),
            }),
            Err(source) => Err(ImageError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses the JSON text of a config file (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let file: ConfigFile =
            serde_json::from_str(text).map_err(|error| ImageError::DockerConfig {
                path: path.to_path_buf(),
                // serde_json's message names the line and column, never the values.
                reason: format!("not valid JSON ({error})"),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The credential helper that serves `registry`, if any (`credHelpers` first, then
    /// `credsStore`).
    pub fn helper_for(&self, registry: &str) -> Option<&str> {
        let wanted = registry_host(registry);
        self.file
            .cred_helpers
            .iter()
            .find(|(key, _)| registry_host(key) == wanted)
            .map(|(_, helper)| helper.as_str())
            .or(self.file.creds_store.as_deref())
            .filter(|helper| !helper.is_empty())
    }

    /// Credentials stored inline (`auths`) for `registry`, without running any helper.
    pub fn inline_credentials(&self, registry: &str) -> Result<Option<RegistryCredentials>> {
        let wanted = registry_host(registry);
        let Some((server, entry)) = self
            .file
            .auths
            .iter()
            .find(|(key, _)| registry_host(key) == wanted)
        else {
            return Ok(None);
        };
        let bad = |reason: &str| ImageError::DockerConfig {
            path: self.path.clone(),
            reason: format!(
                "the `auths` entry for {server} {reason}; run `docker login {registry}` again"
            ),
        };
        let (username, password) = match (&entry.auth, &entry.username, &entry.password) {
            (Some(auth), _, _) if !auth.is_empty() => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| bad("has an `auth` value that is not base64"))?;
                let decoded = String::from_utf8(decoded)
                    .map_err(|_| bad("has an `auth` value that is not text"))?;
                let (user, password) = decoded
                    .split_once(':')
                    .ok_or_else(|| bad("has an `auth` value without `user:password`"))?;
                (user.to_string(), password.to_string())
            }
            (_, Some(user), Some(password)) => (user.clone(), password.clone()),
            _ => (String::new(), String::new()),
        };
        let identity_token = entry
            .identity_token
            .clone()
            .filter(|token| !token.is_empty());
        if username.is_empty() && password.is_empty() && identity_token.is_none() {
            return Ok(None);
        }
        Ok(Some(RegistryCredentials {
            server: server.clone(),
            username,
            password,
            identity_token,
        }))
    }

    /// Credentials for `registry`: from its credential helper when one is configured,
    /// else from `auths`; `None` when nothing is stored (anonymous access).
    pub fn credentials_for(&self, registry: &str) -> Result<Option<RegistryCredentials>> {
        if let Some(helper) = self.helper_for(registry) {
            return run_helper(helper, registry);
        }
        self.inline_credentials(registry)
    }
}

/// Runs `docker-credential-<helper> get` for `registry`.
fn run_helper(helper: &str, registry: &str) -> Result<Option<RegistryCredentials>> {
    let server = if registry_host(registry) == DOCKER_HUB {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    };
    let failed = |reason: String| ImageError::CredentialHelper {
        helper: helper.to_string(),
        registry: registry.to_string(),
        reason,
    };
    let output = duct::cmd(format!("docker-credential-{helper}"), ["get"])
        .stdin_bytes(server.clone())
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|error| failed(format!("cannot run it ({error})")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // Helpers answer "credentials not found" when nothing is stored: anonymous access.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(format!("{} {}", output.status, stderr.trim())));
    }
    let answer: HelperAnswer = serde_json::from_str(&stdout)
        .map_err(|_| failed("its answer is not the expected JSON".to_string()))?;
    let (username, password, identity_token) = if answer.username == "<token>" {
        (String::new(), String::new(), Some(answer.secret))
    } else {
        (answer.username, answer.secret, None)
    };
    Ok(Some(RegistryCredentials {
        server,
        username,
        password,
        identity_token,
    }))
}

/// The host part of a registry key: `https://reg:5000/v1/` → `reg:5000`; every Docker Hub
/// spelling → `docker.io`.
pub fn registry_host(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const CONFIG: &str = r#"{
        "auths": {
            "https://index.docker.io/v1/": { "auth": "aHViLXVzZXI6aHViLXBhc3M=" },
            "localhost:5000": { "auth": "bG9jYWw6czNjcjN0" },
            "https://token.example.invalid": { "identitytoken": "tok" },
            "empty.example.invalid": {}
        },
        "credHelpers": { "gcr.example.invalid": "fake-gcr" },
        "HttpHeaders": { "User-Agent": "x" }
    }"#;

    fn config() -> DockerConfig {
        DockerConfig::parse(CONFIG, Path::new("config.json")).unwrap()
    }

    #[rstest]
    #[case("docker.io", "hub-user", "hub-pass")]
    #[case("index.docker.io", "hub-user", "hub-pass")]
    #[case("localhost:5000", "local", "s3cr3t")]
    fn inline_auths_decode(#[case] registry: &str, #[case] user: &str, #[case] password: &str) {
        let credentials = config().inline_credentials(registry).unwrap().unwrap();
        assert_eq!(credentials.username, user);
        assert_eq!(credentials.password, password);
    }

    #[test]
    fn identity_tokens_and_empty_entries() {
        let config = config();
        let token = config
            .inline_credentials("token.example.invalid")
            .unwrap()
            .unwrap();
        assert_eq!(token.identity_token.as_deref(), Some("tok"));
        assert_eq!(
            config.inline_credentials("empty.example.invalid").unwrap(),
            None
        );
        assert_eq!(
            config.inline_credentials("other.example.invalid").unwrap(),
            None
        );
    }

    #[test]
    fn helpers_are_chosen_per_registry_then_store() {
        let config = config();
        assert_eq!(config.helper_for("gcr.example.invalid"), Some("fake-gcr"));
        assert_eq!(config.helper_for("localhost:5000"), None);
        let store = DockerConfig::parse(r#"{"credsStore":"desktop"}"#, Path::new("c")).unwrap();
        assert_eq!(store.helper_for("localhost:5000"), Some("desktop"));
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let error = config()
            .credentials_for("gcr.example.invalid")
            .unwrap_err()
            .to_string();
        assert!(error.contains("docker-credential-fake-gcr"), "{error}");
        assert!(
            error.contains("docker login gcr.example.invalid"),
            "{error}"
        );
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let credentials = config()
            .inline_credentials("localhost:5000")
            .unwrap()
            .unwrap();
        assert!(!format!("{credentials:?}").contains("s3cr3t"));
        let bad = DockerConfig::parse(
            r#"{"auths":{"r.example.invalid":{"auth":"bm9jb2xvbg=="}}}"#,
            Path::new("c"),
        )
        .unwrap();
        let error = bad
            .inline_credentials("r.example.invalid")
            .unwrap_err()
            .to_string();
        assert!(error.contains("without `user:password`"), "{error}");
        assert!(!error.contains("nocolon"), "{error}");
    }

    #[test]
    fn invalid_json_names_the_file() {
        let error = DockerConfig::parse("{", Path::new("/home/u/.docker/config.json"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/home/u/.docker/config.json"), "{error}");
    }

    #[test]
    fn missing_file_is_empty() {
        let config = DockerConfig::load(Path::new("/no/such/config.json")).unwrap();
        assert_eq!(config.credentials_for("localhost:5000").unwrap(), None);
    }

    #[rstest]
    #[case("https://index.docker.io/v1/", "docker.io")]
    #[case("http://reg:5000/v2/", "reg:5000")]
    #[case("reg.example.invalid", "reg.example.invalid")]
    fn registry_hosts(#[case] key: &str, #[case] host: &str) {
        assert_eq!(registry_host(key), host);
    }
}
