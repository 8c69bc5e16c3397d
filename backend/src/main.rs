//! `todo-backend`: serves the Todo Chatbot API (`todo-backend`), or checks that a running
//! server is healthy (`todo-backend healthcheck`, exit 0 or 1).

use std::process::ExitCode;
use std::time::Duration;

use todo_backend::{Config, Environment};

const USAGE: &str = "usage: todo-backend [healthcheck [URL]]\n\n\
  (no argument)    serve the API on $HOST:$PORT (default 0.0.0.0:8000)\n\
  healthcheck      exit 0 when GET /healthz on 127.0.0.1:$PORT answers 200, else 1\n\
  healthcheck URL  the same for GET URL (http://host:port/path)\n\n\
environment: HOST, PORT, LOG_LEVEL, ENVIRONMENT, CORS_ORIGINS, DATABASE_URL, BETTER_AUTH_SECRET,\n\
             OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL\n\
limits:      CLIENT_HEADER_TIMEOUT_SECS, CLIENT_BODY_TIMEOUT_SECS, MAX_CONNECTIONS,\n\
             SHUTDOWN_TIMEOUT_SECS, PASSWORD_HASH_CONCURRENCY, SIGNIN_FREE_FAILURES_PER_ACCOUNT,\n\
             SIGNIN_FREE_FAILURES_PER_ADDRESS, SIGNUP_LIMIT_PER_ADDRESS, TRUSTED_PROXIES\n\
             (docs/reliability.md)\n\n\
signals:     SIGTERM/SIGINT drain and exit; SIGHUP drains, then re-executes the binary at the\n\
             path it was started from, keeping the listening socket (docs/watch.md)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => serve(),
        ["healthcheck"] => healthcheck(None),
        ["healthcheck", url] => healthcheck(Some(url)),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["-V" | "--version"] => {
            println!("todo-backend {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("error: unknown arguments {args:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn healthcheck(url: Option<&str>) -> ExitCode {
    let timeout = Duration::from_secs(3);
    let result = match url {
        Some(url) => todo_backend::healthcheck::check_url(url, timeout),
        None => {
            let port = std::env::var("PORT")
                .ok()
                .and_then(|port| port.trim().parse().ok())
                .unwrap_or(8000);
            todo_backend::healthcheck::check(port, timeout)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("unhealthy: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> ExitCode {
    // Before any thread starts: it removes LISTEN_FDS and the like from the environment.
    let inherited = match todo_backend::reexec::inherited_listener() {
        Ok(inherited) => inherited,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            for problem in &error.problems {
                eprintln!("configuration error: {problem}");
            }
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    if config.auth_secret_generated {
        tracing::warn!(
            "BETTER_AUTH_SECRET is not set: using a random key, so sessions will not survive a restart"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let served = todo_backend::reexec::serve_and_reexec(inherited, |listener| {
        runtime.block_on(serve_once(&config, listener))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves on `inherited` (or a new socket on HOST:PORT) until a signal; the socket, still
/// open, when the signal asks to re-execute.
async fn serve_once(
    config: &Config,
    inherited: Option<std::net::TcpListener>,
) -> Result<Option<std::net::TcpListener>, String> {
    let listener = match inherited {
        Some(listener) => tokio::net::TcpListener::from_std(listener)
            .map_err(|error| format!("cannot use the inherited listening socket: {error}"))?,
        None => tokio::net::TcpListener::bind((config.host, config.port))
            .await
            .map_err(|error| {
                format!(
                    "cannot listen on {}:{}: {error}; choose another port with PORT",
                    config.host, config.port
                )
            })?,
    };
    let kept = todo_backend::serve_until(
        config.clone(),
        listener,
        todo_backend::reexec::stop_signal(),
    )
    .await
    .map_err(|error| error.to_string())?;
    kept.map(|listener| {
        listener
            .into_std()
            .map_err(|error| format!("cannot keep the listening socket: {error}"))
    })
    .transpose()
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(std::io::stdout);
    if config.environment == Environment::Production {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.init();
    }
}
