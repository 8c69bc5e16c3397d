//! Configuration from the environment: exactly the variables the compose file and the chart
//! pass. Every problem is collected, so a bad deployment learns all of them at once.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Shortest `BETTER_AUTH_SECRET` accepted, in characters.
pub const MIN_SECRET_CHARS: usize = 32;

/// Where the embedded SQLite database lives when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_PATH: &str = "./data/todo.db";

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it (signing, connecting).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Development or production: production logs JSON and insists on a real signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local work: human-readable logs, a generated signing key is allowed.
    Development,
    /// A deployment: JSON logs, `BETTER_AUTH_SECRET` required.
    Production,
}

/// Which database the server uses, with the URL kept secret (it may hold a password).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (created with its folder when missing).
    Sqlite {
        /// The URL handed to the driver (always with `mode=rwc`).
        url: Secret,
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL server (`postgres://` or `postgresql://`, e.g. Neon with `sslmode=require`).
    Postgres {
        /// The URL, password included.
        url: Secret,
    },
}

impl Database {
    /// Parses a `DATABASE_URL` value.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres {
                url: Secret::new(url),
            });
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let (path, query) = match rest.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (rest, None),
            };
            if path.is_empty() || path == ":memory:" {
                return Err(format!(
                    "DATABASE_URL `{url}` names no SQLite file: use e.g. sqlite:///data/todo.db"
                ));
            }
            let mode_given = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("mode=")));
            let driver_url = match (query, mode_given) {
                (Some(_), true) => format!("sqlite://{rest}"),
                (Some(query), false) => format!("sqlite://{path}?{query}&mode=rwc"),
                (None, _) => format!("sqlite://{path}?mode=rwc"),
            };
            return Ok(Self::Sqlite {
                url: Secret::new(driver_url),
                path: PathBuf::from(path),
            });
        }
        Err(format!(
            "DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got `{}`)",
            redact_url(url)
        ))
    }

    /// The embedded default: `./data/todo.db`.
    pub fn default_sqlite() -> Self {
        Self::Sqlite {
            url: Secret::new(format!("sqlite://{DEFAULT_SQLITE_PATH}?mode=rwc")),
            path: PathBuf::from(DEFAULT_SQLITE_PATH),
        }
    }

    /// The URL for the driver (contains the password: never log it).
    pub fn url(&self) -> &Secret {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url } => url,
        }
    }

    /// "sqlite" or "postgres".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

impl fmt::Display for Database {
    /// The URL with its password replaced by `***`: safe for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(self.url().expose()))
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

/// Replaces the password in `scheme://user:password@host/...` and in a `password=` query
/// parameter (libpq and sqlx read both) with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_query(url);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let tail = redact_query(tail);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{masked}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// Masks the values of `password=` parameters in the query part of `text` (any case, also
/// percent-encoded as `pass%77ord`: whatever decodes to "password").
fn redact_query(text: &str) -> String {
    let Some((path, query)) = text.split_once('?') else {
        return text.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let parameters: Vec<String> = query
        .split('&')
        .map(|parameter| match parameter.split_once('=') {
            Some((name, _)) if is_password_name(name) => format!("{name}=***"),
            _ => parameter.to_string(),
        })
        .collect();
    let mut redacted = format!("{path}?{}", parameters.join("&"));
    if let Some(fragment) = fragment {
        redacted.push('#');
        redacted.push_str(fragment);
    }
    redacted
}

fn is_password_name(name: &str) -> bool {
    let mut decoded = String::with_capacity(name.len());
    let mut bytes = name.bytes();
    while let Some(byte) = bytes.next() {
        let hex = |b: Option<u8>| b.and_then(|b| char::from(b).to_digit(16));
        match byte {
            b'%' => {
                let mut ahead = bytes.clone();
                match (hex(ahead.next()), hex(ahead.next())) {
                    (Some(high), Some(low)) => {
                        decoded.push(char::from((high * 16 + low) as u8));
                        bytes = ahead;
                    }
                    _ => decoded.push('%'),
                }
            }
            b'+' => decoded.push(' '),
            other => decoded.push(char::from(other)),
        }
    }
    decoded.trim().eq_ignore_ascii_case("password")
}

/// The OpenAI-compatible chat-completions API that drives the chatbot when configured.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// `OPENAI_API_KEY`.
    pub api_key: Secret,
    /// `OPENAI_BASE_URL` (default `https://api.openai.com/v1`), without the trailing slash.
    pub base_url: String,
    /// `OPENAI_MODEL` (default `gpt-4o-mini`).
    pub model: String,
    /// How long one API call may take before the parser answers instead.
    pub timeout: Duration,
}

/// How expensive password hashes are (argon2id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCost {
    /// OWASP's argon2id recommendation (19 MiB, 2 passes): what a deployment uses.
    Standard,
    /// Minimal parameters for test suites and benchmarks that create many users.
    Minimal,
}

/// Bounds on what clients can make the server do: slow or idle sockets, connections,
/// memory spent on password hashes, guessing passwords, opening accounts. Every one is an
/// environment variable (docs/reliability.md lists them with their reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `CLIENT_HEADER_TIMEOUT_SECS` (default 10): time to send a request's headers, and
    /// how long a kept-alive connection may sit idle.
    pub client_header_timeout: Duration,
    /// `CLIENT_BODY_TIMEOUT_SECS` (default 30): time to send a request's whole body.
    pub client_body_timeout: Duration,
    /// `MAX_CONNECTIONS` (default 1024): connections served at once; more wait in the
    /// kernel's listen queue.
    pub max_connections: usize,
    /// `PASSWORD_HASH_CONCURRENCY` (default: the number of CPU cores, at most 4): password
    /// hashes computed at once (each takes 19 MiB); a few more wait, the rest get 503.
    pub password_hashes: usize,
    /// `SIGNIN_FREE_FAILURES_PER_ACCOUNT` (default 5): wrong passwords for one account
    /// before each further try waits, twice as long each time.
    pub signin_failures_per_account: u32,
    /// `SIGNIN_FREE_FAILURES_PER_ADDRESS` (default 20): failed sign-ins from one client
    /// address (an IPv6 /64) before each further try waits, twice as long each time.
    pub signin_failures_per_address: u32,
    /// `SIGNUP_LIMIT_PER_ADDRESS` (default 20): sign-ups per client address per hour.
    pub signups_per_address_per_hour: u32,
    /// `TRUSTED_PROXIES` (default: loopback and private networks, where the frontend, an
    /// ingress controller or Docker's port proxy connect from; `none` for none): peers
    /// whose `X-Forwarded-For` names the client. A request from such a peer without the
    /// header counts against no address; from any other peer, the peer address counts.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Loopback, RFC 1918 and IPv6 unique local networks: the default `TRUSTED_PROXIES`.
pub const PRIVATE_NETWORKS: [&str; 6] = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
];

impl Default for Limits {
    fn default() -> Self {
        Self {
            client_header_timeout: Duration::from_secs(10),
            client_body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            // One per core, at most 4: each hash holds 19 MiB (the chart allows 256 MiB).
            password_hashes: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            signin_failures_per_account: 5,
            signin_failures_per_address: 20,
            signups_per_address_per_hour: 20,
            trusted_proxies: PRIVATE_NETWORKS
                .iter()
                .filter_map(|network| network.parse().ok())
                .collect(),
        }
    }
}

impl Limits {
    /// Reads the variables through `var`, adding a sentence per bad value to `problems`.
    fn from_vars(var: &dyn Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Self {
        let defaults = Self::default();
        let mut seconds = |name: &str, default: Duration| match var(name) {
            None => default,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs <= 3600.0 => Duration::from_secs_f64(secs),
                _ => {
                    problems.push(format!(
                        "{name} must be a number of seconds above 0 and at most 3600, e.g. 10 or 2.5 (got `{raw}`)"
                    ));
                    default
                }
            },
        };
        let client_header_timeout =
            seconds("CLIENT_HEADER_TIMEOUT_SECS", defaults.client_header_timeout);
        let client_body_timeout = seconds("CLIENT_BODY_TIMEOUT_SECS", defaults.client_body_timeout);
        let mut count = |name: &str, default: usize| match var(name) {
            None => default,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "{name} must be a whole number from 1 to 1000000 (got `{raw}`)"
                    ));
                    default
                }
            },
        };
        let max_connections = count("MAX_CONNECTIONS", defaults.max_connections);
        let password_hashes = count("PASSWORD_HASH_CONCURRENCY", defaults.password_hashes);
        let signin_failures_per_account = count(
            "SIGNIN_FREE_FAILURES_PER_ACCOUNT",
            defaults.signin_failures_per_account as usize,
        ) as u32;
        let signin_failures_per_address = count(
            "SIGNIN_FREE_FAILURES_PER_ADDRESS",
            defaults.signin_failures_per_address as usize,
        ) as u32;
        let signups_per_address_per_hour = count(
            "SIGNUP_LIMIT_PER_ADDRESS",
            defaults.signups_per_address_per_hour as usize,
        ) as u32;
        let listed = var("TRUSTED_PROXIES");
        let mut trusted_proxies = match listed.as_deref().map(str::trim) {
            None => defaults.trusted_proxies,
            Some(_) => Vec::new(),
        };
        for entry in listed
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty() && !entry.eq_ignore_ascii_case("none"))
        {
            let parsed = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(network) => trusted_proxies.push(network),
                Err(_) => problems.push(format!(
                    "TRUSTED_PROXIES entries must be IP addresses or networks like 10.0.0.0/8 (got `{entry}`)"
                )),
            }
        }
        Self {
            client_header_timeout,
            client_body_timeout,
            max_connections,
            password_hashes,
            signin_failures_per_account,
            signin_failures_per_address,
            signups_per_address_per_hour,
            trusted_proxies,
        }
    }
}

/// Everything the server needs, read once at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST` (default `0.0.0.0`, all interfaces): the address to listen on.
    pub host: std::net::IpAddr,
    /// `PORT` (default 8000).
    pub port: u16,
    /// `LOG_LEVEL` (default `info`): a level or a tracing filter directive.
    pub log_level: String,
    /// `ENVIRONMENT` (default development).
    pub environment: Environment,
    /// `CORS_ORIGINS` (comma-separated; default `http://localhost:3000`).
    pub cors_origins: Vec<String>,
    /// `DATABASE_URL` (default: SQLite at `./data/todo.db`).
    pub database: Database,
    /// `BETTER_AUTH_SECRET`: signs session tokens.
    pub auth_secret: Secret,
    /// True when no `BETTER_AUTH_SECRET` was given and a random one was generated.
    pub auth_secret_generated: bool,
    /// How long a session token lasts.
    pub token_ttl: Duration,
    /// `OPENAI_API_KEY` with `OPENAI_BASE_URL` and `OPENAI_MODEL`, when set.
    pub llm: Option<LlmConfig>,
    /// `SHUTDOWN_TIMEOUT_SECS` (default 20): how long in-flight requests may run after
    /// SIGTERM before the server closes their connections and stops anyway.
    pub shutdown_grace: Duration,
    /// Bounds on clients: timeouts, connections, hashing, rate limits.
    pub limits: Limits,
    /// The cost of password hashes.
    pub password_cost: PasswordCost,
}

/// Every problem found in the configuration, one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    /// One sentence per problem, naming the variable and the fix.
    pub problems: Vec<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `var` (tests pass a map instead of the environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let mut problems = Vec::new();

        let port = match var("PORT") {
            None => 8000,
            Some(raw) => raw.trim().parse::<u16>().unwrap_or_else(|_| {
                problems.push(format!(
                    "PORT must be a port number between 0 and 65535 (got `{raw}`)"
                ));
                8000
            }),
        };

        let host = match var("HOST") {
            None => std::net::IpAddr::from([0, 0, 0, 0]),
            Some(raw) => raw.trim().parse().unwrap_or_else(|_| {
                problems.push(format!(
                    "HOST must be an IP address such as 0.0.0.0 or 127.0.0.1 (got `{raw}`)"
                ));
                std::net::IpAddr::from([0, 0, 0, 0])
            }),
        };

        let log_level = var("LOG_LEVEL").unwrap_or_else(|| "info".to_string());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            problems.push(format!(
                "LOG_LEVEL must be a level (error, warn, info, debug, trace) or a tracing filter (got `{log_level}`)"
            ));
        }

        let environment = match var("ENVIRONMENT").as_deref().map(str::trim) {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                problems.push(format!(
                    "ENVIRONMENT must be `development` or `production` (got `{other}`)"
                ));
                Environment::Development
            }
        };

        let cors_origins: Vec<String> = var("CORS_ORIGINS")
            .unwrap_or_else(|| "http://localhost:3000".to_string())
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_string())
            .filter(|origin| !origin.is_empty())
            .collect();
        for origin in &cors_origins {
            let valid = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            if !valid {
                problems.push(format!(
                    "CORS_ORIGINS entries must be origins like http://localhost:3000 or `*` (got `{origin}`)"
                ));
            }
        }

        let database = match var("DATABASE_URL") {
            None => Database::default_sqlite(),
            Some(url) => Database::parse(&url).unwrap_or_else(|problem| {
                problems.push(problem);
                Database::default_sqlite()
            }),
        };

        let (auth_secret, auth_secret_generated) = match var("BETTER_AUTH_SECRET") {
            Some(secret) if secret.chars().count() < MIN_SECRET_CHARS => {
                problems.push(format!(
                    "BETTER_AUTH_SECRET is too short ({} characters): use at least {MIN_SECRET_CHARS} random characters, e.g. `openssl rand -hex 32`",
                    secret.chars().count()
                ));
                (Secret::new(secret), false)
            }
            Some(secret) => (Secret::new(secret), false),
            None if environment == Environment::Production => {
                problems.push(
                    format!("BETTER_AUTH_SECRET is required when ENVIRONMENT=production: set it to at least {MIN_SECRET_CHARS} random characters"),
                );
                (Secret::new(String::new()), false)
            }
            None => (random_secret(), true),
        };

        let llm = var("OPENAI_API_KEY").map(|key| LlmConfig {
            api_key: Secret::new(key.trim()),
            base_url: var("OPENAI_BASE_URL")
                .unwrap_or_else(|| "https://api.openai.com/v1".to_string())
                .trim()
                .trim_end_matches('/')
                .to_string(),
            model: var("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".to_string()),
            timeout: Duration::from_secs(20),
        });
        if let Some(llm) = &llm
            && !(llm.base_url.starts_with("http://") || llm.base_url.starts_with("https://"))
        {
            problems.push(format!(
                "OPENAI_BASE_URL must be an http:// or https:// URL (got `{}`)",
                llm.base_url
            ));
        }

        let shutdown_grace = match var("SHUTDOWN_TIMEOUT_SECS") {
            None => Duration::from_secs(20),
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs <= 3600.0 => Duration::from_secs_f64(secs),
                _ => {
                    problems.push(format!(
                        "SHUTDOWN_TIMEOUT_SECS must be a number of seconds above 0 and at most 3600, e.g. 20 (got `{raw}`)"
                    ));
                    Duration::from_secs(20)
                }
            },
        };
        let limits = Limits::from_vars(&var, &mut problems);

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            host,
            port,
            log_level,
            environment,
            cors_origins,
            database,
            auth_secret,
            auth_secret_generated,
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            llm,
            shutdown_grace,
            limits,
            password_cost: PasswordCost::Standard,
        })
    }
}

fn random_secret() -> Secret {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_setup() {
        let config = config(&[]).unwrap();
        assert_eq!(config.port, 8000);
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.cors_origins, vec!["http://localhost:3000"]);
        assert_eq!(config.database, Database::default_sqlite());
        assert!(config.auth_secret_generated);
    }

    #[test]
    fn production_requires_the_secret_and_lists_every_problem() {
        let error = config(&[
            ("ENVIRONMENT", "production"),
            ("PORT", "eighty"),
            ("DATABASE_URL", "mysql://u:hunter2@h/db"),
        ])
        .unwrap_err();
        let text = error.to_string();
        assert_eq!(error.problems.len(), 3, "{text}");
        assert!(text.contains("PORT"));
        assert!(text.contains("BETTER_AUTH_SECRET is required"));
        assert!(text.contains("mysql://u:***@h/db"));
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn sqlite_urls_with_absolute_paths() {
        let db = Database::parse("sqlite:///data/todo.db?mode=rwc").unwrap();
        assert_eq!(
            db,
            Database::Sqlite {
                url: Secret::new("sqlite:///data/todo.db?mode=rwc"),
                path: PathBuf::from("/data/todo.db")
            }
        );
        let Database::Sqlite { url, path } = Database::parse("sqlite:/tmp/x.db").unwrap() else {
            panic!("not sqlite")
        };
        assert_eq!(url.expose(), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(path, PathBuf::from("/tmp/x.db"));
        assert!(Database::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn neon_urls_reach_the_driver_as_given() {
        let url = "postgresql://neondb_owner:npg_x@ep-x-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require";
        let Database::Postgres { url: secret } = Database::parse(url).unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(secret.expose(), url);
        let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        assert_eq!(options.get_host(), "ep-x-pooler.eu-central-1.aws.neon.tech");
        assert_eq!(options.get_database(), Some("neondb"));
    }

    #[test]
    fn urls_are_redacted_for_logs() {
        let db = Database::parse(
            "postgres://neondb_owner:npg_s3cret@ep-x.eu-central-1.aws.neon.tech/neondb?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            db.to_string(),
            "postgres://neondb_owner:***@ep-x.eu-central-1.aws.neon.tech/neondb?sslmode=require"
        );
        assert!(!format!("{db:?}").contains("npg_s3cret"));
        assert_eq!(
            redact_url("postgres://u@h/db"),
            "postgres://u@h/db",
            "no password, nothing to hide"
        );
        assert_eq!(format!("{:?}", Secret::new("x")), "[redacted]");
    }

    #[test]
    fn passwords_in_query_parameters_are_redacted() {
        for (url, expected) in [
            (
                "postgres://u@db/todo?sslmode=require&password=s3cret",
                "postgres://u@db/todo?sslmode=require&password=***",
            ),
            (
                "postgresql://db/todo?PASSWORD=s3cret#x",
                "postgresql://db/todo?PASSWORD=***#x",
            ),
            (
                "postgres://u:s3cret@db/todo?pass%77ord=s3cret&user=u",
                "postgres://u:***@db/todo?pass%77ord=***&user=u",
            ),
            ("postgres://db?password", "postgres://db?password"),
        ] {
            assert_eq!(redact_url(url), expected);
        }
        let db = Database::parse("postgres://u@db/todo?password=s3cret").unwrap();
        assert!(!db.to_string().contains("s3cret"));
        assert!(!format!("{db:?}").contains("s3cret"));
        let error = config(&[("DATABASE_URL", "mysql://db/todo?password=s3cret")]).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn secrets_need_32_characters() {
        let short = "s".repeat(31);
        let error = config(&[("BETTER_AUTH_SECRET", short.as_str())]).unwrap_err();
        assert!(error.to_string().contains("at least 32"), "{error}");
        assert!(!error.to_string().contains(&short));
        let long = "s".repeat(32);
        assert!(config(&[("BETTER_AUTH_SECRET", long.as_str())]).is_ok());
    }

    #[test]
    fn limits_come_from_the_environment() {
        let config = config(&[
            ("CLIENT_HEADER_TIMEOUT_SECS", "2.5"),
            ("MAX_CONNECTIONS", "64"),
            ("SIGNUP_LIMIT_PER_ADDRESS", "3"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("SHUTDOWN_TIMEOUT_SECS", "4"),
        ])
        .unwrap();
        assert_eq!(
            config.limits.client_header_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(config.limits.max_connections, 64);
        assert_eq!(config.limits.signups_per_address_per_hour, 3);
        assert_eq!(config.limits.trusted_proxies.len(), 2);
        let none = super::Config::from_vars(|name| {
            (name == "TRUSTED_PROXIES").then(|| "none".to_string())
        })
        .unwrap();
        assert!(none.limits.trusted_proxies.is_empty());
        assert_eq!(
            Limits::default().trusted_proxies.len(),
            PRIVATE_NETWORKS.len()
        );
        assert_eq!(config.shutdown_grace, Duration::from_secs(4));
        let error = super::Config::from_vars(|name| {
            matches!(
                name,
                "MAX_CONNECTIONS" | "TRUSTED_PROXIES" | "CLIENT_BODY_TIMEOUT_SECS"
            )
            .then(|| "lots".to_string())
        })
        .unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
    }
}
