//! Connecting as kubectl does: `KUBECONFIG` (a list, merged), else `~/.kube/config`, else
//! the in-cluster service account; a context chosen by name or the current one; then a
//! reachability check whose error names the context and server and suggests the fix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{Error, Result};

/// How to find the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Context to use (default: the kubeconfig's current context).
    pub context: Option<String>,
    /// Kubeconfig file to read instead of `KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig text (YAML) to use instead of any file; wins over `kubeconfig`.
    pub kubeconfig_text: Option<String>,
    /// How long the reachability check may take (default 5 s).
    pub timeout: Option<Duration>,
}

/// Why the API server could not be used, as far as the fix is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing answered (connection refused, no route, timeout).
    NoAnswer,
    /// The server refused the credentials (401/403).
    Credentials,
    /// The TLS handshake failed (wrong CA, or the cluster was recreated).
    Tls,
    /// Anything else.
    Other,
}

/// The next step for a failed reachability check, from the context's name and server.
pub fn reachability_fix(context: &str, server: &str, failure: Failure) -> String {
    let local = [
        "minikube",
        "kind-",
        "k3d-",
        "docker-desktop",
        "rancher-desktop",
    ]
    .iter()
    .any(|p| context.starts_with(p));
    match failure {
        Failure::Credentials => format!(
            "The credentials of context `{context}` were refused (expired or revoked): refresh them ({}), or pick another context with `kubectl config use-context NAME`",
            if context.starts_with("minikube") {
                "`minikube update-context`"
            } else {
                "your provider's get-credentials/login command"
            }
        ),
        Failure::Tls => format!(
            "The server's certificate does not match the kubeconfig (was the cluster recreated?): refresh the kubeconfig ({}), or pick another context with `kubectl config use-context NAME`",
            if context.starts_with("minikube") {
                "`minikube update-context`"
            } else {
                "re-export it from the cluster"
            }
        ),
        Failure::NoAnswer | Failure::Other if context.starts_with("minikube") => {
            "Is minikube running? Start it with `minikube start` (check with `minikube status`)"
                .to_string()
        }
        Failure::NoAnswer | Failure::Other if context.starts_with("kind-") => format!(
            "Is the kind cluster running? Create it with `kind create cluster --name {}`, or switch context with `kubectl config use-context NAME`",
            context.trim_start_matches("kind-")
        ),
        Failure::NoAnswer | Failure::Other if local => {
            format!(
                "Is the local cluster running? Start it, or switch context with `kubectl config use-context NAME` (server {server})"
            )
        }
        Failure::NoAnswer | Failure::Other => format!(
            "Is this the right context? Switch with `kubectl config use-context NAME` (for a local cluster: `minikube start`); check the network path to {server}"
        ),
    }
}

/// The context [`crate::connect()`] would use with `options`: the one given, else the
/// kubeconfig's current context (None when there is no kubeconfig or it names none).
pub fn current_context(options: &ConnectOptions) -> Result<Option<String>> {
    if let Some(context) = &options.context {
        return Ok(Some(context.clone()));
    }
    Ok(load_kubeconfig(options)?.and_then(|kubeconfig| kubeconfig.current_context))
}

/// Loads the kubeconfig as kubectl does (or None when there is none at all).
fn load_kubeconfig(options: &ConnectOptions) -> Result<Option<Kubeconfig>> {
    if let Some(text) = &options.kubeconfig_text {
        return Kubeconfig::from_yaml(text)
            .map(Some)
            .map_err(|e| Error::Kubeconfig {
                origin: "the kubeconfig text given".into(),
                reason: e.to_string(),
                fix: "pass the YAML kubectl reads (`kubectl config view --raw` prints one)".into(),
            });
    }
    if let Some(path) = &options.kubeconfig {
        return read_kubeconfig(path, "point to another file").map(Some);
    }
    match Kubeconfig::from_env() {
        Ok(Some(config)) => return Ok(Some(config)),
        Ok(None) => {}
        Err(e) => {
            return Err(Error::Kubeconfig {
                origin: "KUBECONFIG".into(),
                reason: e.to_string(),
                fix: "fix the files it lists (`kubectl config view` shows where it breaks), or unset it".into(),
            });
        }
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| h.join(".kube").join("config"));
    match home {
        Some(path) if path.exists() => {
            read_kubeconfig(&path, "set KUBECONFIG to another file").map(Some)
        }
        _ => Ok(None),
    }
}

/// Reads the kubeconfig file `path`; `otherwise` is the fix besides repairing it.
fn read_kubeconfig(path: &Path, otherwise: &str) -> Result<Kubeconfig> {
    Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        origin: path.display().to_string(),
        reason: e.to_string(),
        fix: format!(
            "fix the file (`kubectl config view --kubeconfig {}` shows where it breaks), or {otherwise}",
            path.display()
        ),
    })
}

/// Resolves options to a client config plus the context name and server URL.
pub(crate) async fn resolve(options: &ConnectOptions) -> Result<(kube::Config, String, String)> {
    let Some(kubeconfig) = load_kubeconfig(options)? else {
        if options.context.is_none()
            && let Ok(config) = kube::Config::incluster()
        {
            let server = config.cluster_url.to_string();
            return Ok((config, "in-cluster".to_string(), server));
        }
        return Err(Error::Kubeconfig {
            origin: "KUBECONFIG or ~/.kube/config".into(),
            reason: "no KUBECONFIG, no ~/.kube/config, and not running inside a cluster".into(),
            fix:
                "set KUBECONFIG or create ~/.kube/config (for minikube: `minikube start` writes it)"
                    .into(),
        });
    };
    let context = options
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| Error::Kubeconfig {
            origin: "the kubeconfig".into(),
            reason: "it has no current-context".into(),
            fix: "choose one with `kubectl config use-context NAME`, or pass a context".into(),
        })?;
    let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context) else {
        let known: Vec<_> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
        return Err(Error::UnknownContext {
            context,
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    };
    let cluster_name = named
        .context
        .as_ref()
        .map(|c| c.cluster.clone())
        .unwrap_or_default();
    let server = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_else(|| "(no server)".into());
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        },
    )
    .await
    .map_err(|e| Error::Kubeconfig {
        origin: format!("context `{context}`"),
        reason: e.to_string(),
        fix: "check the context's cluster and user entries (`kubectl config view`)".into(),
    })?;
    Ok((config, context, server))
}

/// Classifies a client error for [`reachability_fix`].
pub(crate) fn classify(error: &kube::Error) -> Failure {
    match error {
        kube::Error::Api(response) if response.code == 401 || response.code == 403 => {
            Failure::Credentials
        }
        kube::Error::Auth(_) => Failure::Credentials,
        kube::Error::RustlsTls(_) => Failure::Tls,
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            let text = format!("{error:?}").to_lowercase();
            if text.contains("certificate") || text.contains("tls") {
                Failure::Tls
            } else {
                Failure::NoAnswer
            }
        }
        _ => Failure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("minikube", Failure::NoAnswer, "minikube start")]
    #[case("minikube", Failure::Credentials, "minikube update-context")]
    #[case("kind-dev", Failure::NoAnswer, "kind create cluster --name dev")]
    #[case("prod-eks", Failure::NoAnswer, "kubectl config use-context")]
    #[case("prod-eks", Failure::Credentials, "get-credentials")]
    #[case("prod-eks", Failure::Tls, "certificate")]
    fn fixes_name_the_next_step(
        #[case] context: &str,
        #[case] failure: Failure,
        #[case] expected: &str,
    ) {
        let fix = reachability_fix(context, "https://192.168.49.2:8443", failure);
        assert!(fix.contains(expected), "{fix}");
    }
}
