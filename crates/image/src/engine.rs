//! Connecting to a Docker Engine the way the docker CLI does.
//!
//! `DOCKER_HOST` picks the daemon (`unix://` socket by default, or `tcp://`);
//! `DOCKER_TLS_VERIFY` turns on TLS with the `ca.pem`, `cert.pem` and `key.pem` of
//! `DOCKER_CERT_PATH` (default `~/.docker`), which is what `minikube docker-env` exports.
//! The client then speaks the newest API version both sides know.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;

use crate::error::{ImageError, Result};

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Requests that stream (builds, exports) can take long: the per-request timeout is generous.
const REQUEST_TIMEOUT_SECS: u64 = 3600;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    /// A Unix socket (`unix:///var/run/docker.sock`).
    Unix(PathBuf),
    /// A TCP address (`host:port`), with TLS when the files are given.
    Tcp {
        /// `host:port`.
        address: String,
        /// Client certificate, key and CA when `DOCKER_TLS_VERIFY` is set.
        tls: Option<TlsFiles>,
    },
}

/// The files of a TLS connection to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signed the daemon's certificate (`ca.pem`).
    pub ca: PathBuf,
    /// The client certificate (`cert.pem`).
    pub cert: PathBuf,
    /// The client key (`key.pem`).
    pub key: PathBuf,
}

impl DockerHost {
    /// Reads `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH` and `HOME` from the
    /// process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Same as [`DockerHost::from_env`] with the variables given by `var` (pure).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let set = |name: &str| var(name).filter(|value| !value.is_empty());
        let Some(host) = set("DOCKER_HOST") else {
            return Ok(Self::Unix(PathBuf::from(DEFAULT_SOCKET)));
        };
        let unsupported = |reason: &str| ImageError::UnsupportedHost {
            host: host.clone(),
            reason: reason.to_string(),
        };
        if let Some(path) = host.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(unsupported("the socket path is empty"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let Some(rest) = host.strip_prefix("tcp://") else {
            return Err(unsupported(match host.split_once("://") {
                Some(("ssh", _)) => "ssh:// hosts are not supported by deploykit",
                Some(("npipe", _)) => "named pipes exist only on Windows",
                _ => "unknown scheme",
            }));
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(unsupported("expected tcp://HOST:PORT"));
        }
        let tls = set("DOCKER_TLS_VERIFY").is_some();
        let has_port = match authority.rsplit_once(':') {
            Some((_, port)) => !port.is_empty() && !authority.ends_with(']'),
            None => false,
        };
        let address = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:{}", if tls { 2376 } else { 2375 })
        };
        let tls = if tls {
            let dir = match set("DOCKER_CERT_PATH") {
                Some(dir) => PathBuf::from(dir),
                None => match set("HOME") {
                    Some(home) => PathBuf::from(home).join(".docker"),
                    None => {
                        return Err(unsupported(
                            "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is",
                        ));
                    }
                },
            };
            Some(TlsFiles {
                ca: dir.join("ca.pem"),
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            })
        } else {
            None
        };
        Ok(Self::Tcp { address, tls })
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp { address, tls: None } => write!(f, "tcp://{address}"),
            Self::Tcp {
                address,
                tls: Some(_),
            } => write!(f, "tcp://{address} (TLS)"),
        }
    }
}

/// A connected Docker Engine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    host: DockerHost,
    api_version: String,
}

impl Engine {
    /// Connects to the daemon the environment names (see [`DockerHost::from_env`]).
    pub async fn connect() -> Result<Self> {
        Self::connect_to(DockerHost::from_env()?).await
    }

    /// Connects to `host` and agrees on an API version; an unreachable daemon gives
    /// [`ImageError::DaemonUnreachable`], which says how to start Docker.
    pub async fn connect_to(host: DockerHost) -> Result<Self> {
        let version = bollard::API_DEFAULT_VERSION;
        let docker = match &host {
            DockerHost::Unix(path) => Docker::connect_with_unix(
                &format!("unix://{}", path.display()),
                REQUEST_TIMEOUT_SECS,
                version,
            ),
            DockerHost::Tcp { address, tls: None } => Docker::connect_with_http(
                &format!("tcp://{address}"),
                REQUEST_TIMEOUT_SECS,
                version,
            ),
            DockerHost::Tcp {
                address,
                tls: Some(files),
            } => {
                for file in [&files.ca, &files.cert, &files.key] {
                    if !file.is_file() {
                        return Err(ImageError::TlsFiles {
                            dir: file.parent().map(PathBuf::from).unwrap_or_default(),
                            reason: format!("{} is missing", file.display()),
                        });
                    }
                }
                // Another crate in the same program may enable a second rustls provider;
                // choose aws-lc-rs explicitly so bollard's TLS setup always finds one.
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                Docker::connect_with_ssl(
                    &format!("tcp://{address}"),
                    &files.key,
                    &files.cert,
                    &files.ca,
                    REQUEST_TIMEOUT_SECS,
                    version,
                )
            }
        }
        .map_err(|error| ImageError::DaemonUnreachable {
            host: host.to_string(),
            reason: error_chain(&error),
        })?;
        let negotiated = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| ImageError::DaemonUnreachable {
                host: host.to_string(),
                reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            })?
            .map_err(|error| ImageError::DaemonUnreachable {
                host: host.to_string(),
                reason: error_chain(&error),
            })?;
        let api_version = negotiated.client_version().to_string();
        Ok(Self {
            docker: negotiated,
            host,
            api_version,
        })
    }

    /// The daemon address in use.
    pub fn host(&self) -> &DockerHost {
        &self.host
    }

    /// The API version agreed with the daemon (`1.41`, ...).
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The daemon's platform as `(os, architecture)` in Go's names (`linux`, `amd64`).
    pub async fn platform(&self) -> Result<(String, String)> {
        let version = self
            .docker
            .version()
            .await
            .map_err(Engine::failed("read the daemon's version"))?;
        Ok((
            version.os.unwrap_or_default(),
            version.arch.unwrap_or_default(),
        ))
    }

    /// The underlying bollard client, for calls this crate does not wrap (tests, tools).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    pub(crate) fn failed(
        action: impl Into<String>,
    ) -> impl FnOnce(bollard::errors::Error) -> ImageError {
        let action = action.into();
        move |source| ImageError::Engine { action, source }
    }
}

/// An error and its sources on one line (hyper hides the useful part in the sources).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::HashMap;

    fn host(vars: &[(&str, &str)]) -> Result<DockerHost> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        DockerHost::from_vars(|name| vars.get(name).cloned())
    }

    #[rstest]
    #[case::default(&[], DockerHost::Unix(DEFAULT_SOCKET.into()))]
    #[case::empty_is_default(&[("DOCKER_HOST", "")], DockerHost::Unix(DEFAULT_SOCKET.into()))]
    #[case::unix(&[("DOCKER_HOST", "unix:///run/user/1000/docker.sock")], DockerHost::Unix("/run/user/1000/docker.sock".into()))]
    #[case::tcp(&[("DOCKER_HOST", "tcp://127.0.0.1:2375")], DockerHost::Tcp { address: "127.0.0.1:2375".into(), tls: None })]
    #[case::tcp_default_port(&[("DOCKER_HOST", "tcp://docker")], DockerHost::Tcp { address: "docker:2375".into(), tls: None })]
    #[case::minikube(
        &[("DOCKER_HOST", "tcp://192.0.2.10:2376"), ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", "/home/u/.minikube/certs")],
        DockerHost::Tcp { address: "192.0.2.10:2376".into(), tls: Some(TlsFiles {
            ca: "/home/u/.minikube/certs/ca.pem".into(),
            cert: "/home/u/.minikube/certs/cert.pem".into(),
            key: "/home/u/.minikube/certs/key.pem".into(),
        }) }
    )]
    #[case::tls_default_dir_and_port(
        &[("DOCKER_HOST", "tcp://docker/"), ("DOCKER_TLS_VERIFY", "1"), ("HOME", "/home/u")],
        DockerHost::Tcp { address: "docker:2376".into(), tls: Some(TlsFiles {
            ca: "/home/u/.docker/ca.pem".into(),
            cert: "/home/u/.docker/cert.pem".into(),
            key: "/home/u/.docker/key.pem".into(),
        }) }
    )]
    fn docker_host_from_env(#[case] vars: &[(&str, &str)], #[case] expected: DockerHost) {
        assert_eq!(host(vars).unwrap(), expected);
    }

    #[rstest]
    #[case::ssh("ssh://me@box", "ssh:// hosts")]
    #[case::npipe("npipe:////./pipe/docker_engine", "Windows")]
    #[case::no_scheme("127.0.0.1:2375", "unknown scheme")]
    #[case::path("tcp://host:2375/v1", "tcp://HOST:PORT")]
    fn unsupported_hosts_say_what_works(#[case] value: &str, #[case] expected: &str) {
        let message = host(&[("DOCKER_HOST", value)]).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains(value), "{message}");
        assert!(message.contains("unix://"), "{message}");
    }
}
