//! Configuration read from the environment.

use std::time::Duration;

/// Everything the frontend needs to run, read once at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The address to listen on (`HOST`, default `0.0.0.0`: every interface, as a
    /// container needs; `cargo xtask dev` sets `127.0.0.1`).
    pub host: std::net::IpAddr,
    /// TCP port to listen on (`PORT`, default 3000).
    pub port: u16,
    /// Base URL of the backend API, without a trailing slash (`BACKEND_URL`).
    pub backend_url: String,
    /// How long to wait for a TCP connection to the backend (`BACKEND_CONNECT_TIMEOUT_SECS`).
    pub connect_timeout: Duration,
    /// How long one backend call may take in total (`BACKEND_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// How long a client has to send a request's headers, and how long a kept-alive
    /// connection may sit idle before the next request (`CLIENT_HEADER_TIMEOUT_SECS`).
    pub client_header_timeout: Duration,
    /// How long a client has to send a request's whole body (`CLIENT_BODY_TIMEOUT_SECS`).
    pub client_body_timeout: Duration,
    /// Most client connections open at once; beyond that new ones wait in the listen
    /// queue (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// How long a shutdown waits for requests in flight before it closes their
    /// connections (`SHUTDOWN_TIMEOUT_SECS`).
    pub shutdown_timeout: Duration,
    /// Whether logs are JSON lines (`ENVIRONMENT=production`).
    pub production: bool,
    /// The tracing filter (`LOG_LEVEL`, default `info`).
    pub log_level: String,
}

/// One problem with one environment variable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A variable that must be a number of some kind is not.
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// What it was set to.
        value: String,
        /// What it should look like.
        expected: &'static str,
    },
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: std::net::IpAddr::from([0, 0, 0, 0]),
            port: 3000,
            backend_url: "http://localhost:8000".to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            client_header_timeout: Duration::from_secs(10),
            client_body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
            production: false,
            log_level: "info".to_owned(),
        }
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// Returns every problem found, one per variable, so that start-up can list them all.
    pub fn from_env() -> Result<Self, Vec<ConfigError>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a table in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<ConfigError>> {
        let defaults = Self::default();
        let mut errors = Vec::new();
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let port = match get("PORT") {
            None => defaults.port,
            Some(value) => match value.trim().parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    errors.push(ConfigError::Invalid {
                        name: "PORT",
                        value,
                        expected: "a TCP port number from 1 to 65535, e.g. PORT=3000",
                    });
                    defaults.port
                }
            },
        };
        let backend_url = match get("BACKEND_URL") {
            None => defaults.backend_url,
            Some(value) => {
                let trimmed = value.trim().trim_end_matches('/').to_owned();
                let scheme_ok = trimmed.starts_with("http://") || trimmed.starts_with("https://");
                if scheme_ok && reqwest::Url::parse(&trimmed).is_ok() {
                    trimmed
                } else {
                    errors.push(ConfigError::Invalid {
                        name: "BACKEND_URL",
                        value,
                        expected: "an http:// or https:// URL, e.g. BACKEND_URL=http://localhost:8000",
                    });
                    defaults.backend_url
                }
            }
        };
        let host = match get("HOST") {
            None => defaults.host,
            Some(value) => value.trim().parse().unwrap_or_else(|_| {
                errors.push(ConfigError::Invalid {
                    name: "HOST",
                    value,
                    expected: "an IP address to listen on, e.g. HOST=127.0.0.1 or HOST=0.0.0.0",
                });
                defaults.host
            }),
        };
        let mut seconds = |name: &'static str, default: Duration| match get(name) {
            None => default,
            Some(value) => match value.trim().parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs <= 3600.0 => Duration::from_secs_f64(secs),
                _ => {
                    errors.push(ConfigError::Invalid {
                        name,
                        value,
                        expected: "a number of seconds above 0 and at most 3600, e.g. 10 or 2.5",
                    });
                    default
                }
            },
        };
        let connect_timeout = seconds("BACKEND_CONNECT_TIMEOUT_SECS", defaults.connect_timeout);
        let request_timeout = seconds("BACKEND_TIMEOUT_SECS", defaults.request_timeout);
        let client_header_timeout =
            seconds("CLIENT_HEADER_TIMEOUT_SECS", defaults.client_header_timeout);
        let client_body_timeout = seconds("CLIENT_BODY_TIMEOUT_SECS", defaults.client_body_timeout);
        let shutdown_timeout = seconds("SHUTDOWN_TIMEOUT_SECS", defaults.shutdown_timeout);
        let max_connections = match get("MAX_CONNECTIONS") {
            None => defaults.max_connections,
            Some(value) => match value.trim().parse::<usize>() {
                Ok(count) if (1..=1_000_000).contains(&count) => count,
                _ => {
                    errors.push(ConfigError::Invalid {
                        name: "MAX_CONNECTIONS",
                        value,
                        expected: "a whole number from 1 to 1000000, e.g. MAX_CONNECTIONS=1024",
                    });
                    defaults.max_connections
                }
            },
        };
        let production = get("ENVIRONMENT").is_some_and(|env| env.trim() == "production");
        let log_level = get("LOG_LEVEL").unwrap_or(defaults.log_level);

        if errors.is_empty() {
            Ok(Self {
                host,
                port,
                backend_url,
                connect_timeout,
                request_timeout,
                client_header_timeout,
                client_body_timeout,
                max_connections,
                shutdown_timeout,
                production,
                log_level,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        assert_eq!(from(&[]).unwrap(), Config::default());
    }

    #[test]
    fn reads_every_variable() {
        let config = from(&[
            ("HOST", "127.0.0.1"),
            ("PORT", "8080"),
            ("BACKEND_URL", "http://todo-backend/"),
            ("BACKEND_CONNECT_TIMEOUT_SECS", "1.5"),
            ("BACKEND_TIMEOUT_SECS", "20"),
            ("CLIENT_HEADER_TIMEOUT_SECS", "5"),
            ("CLIENT_BODY_TIMEOUT_SECS", "60"),
            ("MAX_CONNECTIONS", "64"),
            ("SHUTDOWN_TIMEOUT_SECS", "2.5"),
            ("ENVIRONMENT", "production"),
            ("LOG_LEVEL", "debug"),
        ])
        .unwrap();
        assert_eq!(config.host, std::net::IpAddr::from([127, 0, 0, 1]));
        assert_eq!(config.port, 8080);
        assert_eq!(config.backend_url, "http://todo-backend");
        assert_eq!(config.connect_timeout, Duration::from_millis(1500));
        assert_eq!(config.request_timeout, Duration::from_secs(20));
        assert_eq!(config.client_header_timeout, Duration::from_secs(5));
        assert_eq!(config.client_body_timeout, Duration::from_secs(60));
        assert_eq!(config.max_connections, 64);
        assert_eq!(config.shutdown_timeout, Duration::from_millis(2500));
        assert!(config.production);
        assert_eq!(config.log_level, "debug");
    }

    #[test]
    fn lists_every_bad_variable_with_the_fix() {
        let errors = from(&[
            ("PORT", "http"),
            ("BACKEND_URL", "backend:8000"),
            ("BACKEND_TIMEOUT_SECS", "-1"),
            ("BACKEND_CONNECT_TIMEOUT_SECS", "soon"),
            ("MAX_CONNECTIONS", "0"),
            ("SHUTDOWN_TIMEOUT_SECS", "0"),
            ("HOST", "localhost"),
        ])
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 7, "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("HOST=\"localhost\"") && t.contains("HOST=127.0.0.1"))
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("MAX_CONNECTIONS=\"0\"") && t.contains("1 to 1000000"))
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("SHUTDOWN_TIMEOUT_SECS=\"0\""))
        );
        assert!(
            text[0].starts_with("PORT=\"http\" is not valid"),
            "{}",
            text[0]
        );
        assert!(
            text[1].contains("BACKEND_URL=http://localhost:8000"),
            "{}",
            text[1]
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("BACKEND_TIMEOUT_SECS=\"-1\""))
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("BACKEND_CONNECT_TIMEOUT_SECS=\"soon\""))
        );
    }
}
