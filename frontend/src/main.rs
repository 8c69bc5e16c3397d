//! `todo-frontend`: serves the Todo web app; `todo-frontend healthcheck` probes it.

use std::process::ExitCode;
use std::time::Duration;

use todo_frontend::{Config, healthcheck, reexec};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
todo-frontend: the Todo Chatbot web frontend

Usage:
  todo-frontend               serve on PORT (default 3000), proxying /api to BACKEND_URL
  todo-frontend healthcheck   exit 0 when GET http://127.0.0.1:$PORT/healthz answers 200

Environment:
  PORT                          port to listen on (default 3000)
  BACKEND_URL                   backend base URL (default http://localhost:8000)
  BACKEND_CONNECT_TIMEOUT_SECS  connect timeout for backend calls (default 5)
  BACKEND_TIMEOUT_SECS          total timeout for one backend call (default 10)
  CLIENT_HEADER_TIMEOUT_SECS    time a client has to send request headers, and the idle
                                time of a kept-alive connection (default 10)
  CLIENT_BODY_TIMEOUT_SECS      time a client has to send a request body (default 30)
  MAX_CONNECTIONS               client connections open at once (default 1024)
  SHUTDOWN_TIMEOUT_SECS         time requests in flight get after SIGTERM or SIGHUP (default 10)
  ENVIRONMENT                   development | production (JSON logs)
  LOG_LEVEL                     tracing filter (default info)

Signals: SIGTERM or SIGINT drain and exit; SIGHUP drains, then re-executes the binary at the
path it was started from, keeping the listening socket (docs/watch.md).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let healthcheck = args.first().is_some_and(|arg| arg == "healthcheck");
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            // A probe answers only "healthy" (0) or "not" (1).
            return if healthcheck {
                ExitCode::FAILURE
            } else {
                ExitCode::from(2)
            };
        }
    };
    match args.first().map(String::as_str) {
        None => serve(config),
        Some("healthcheck") => match healthcheck::probe(config.port, Duration::from_secs(3)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("unhealthy: {error}");
                ExitCode::FAILURE
            }
        },
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("todo-frontend {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn serve(config: Config) -> ExitCode {
    init_logging(&config);
    // Before the runtime's threads start: it removes LISTEN_FDS and the like from the
    // environment.
    let inherited = match reexec::inherited_listener() {
        Ok(inherited) => inherited,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = reexec::serve_and_reexec(inherited, |listener| {
        runtime.block_on(serve_once(&config, listener))
    });
    match served {
        Ok(()) => {
            tracing::info!("todo-frontend stopped");
            ExitCode::SUCCESS
        }
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
                    "cannot listen on port {}: {error}; is PORT already in use?",
                    config.port
                )
            })?,
    };
    tracing::info!(
        port = config.port,
        backend_url = %config.backend_url,
        connect_timeout_s = config.connect_timeout.as_secs_f64(),
        timeout_s = config.request_timeout.as_secs_f64(),
        "todo-frontend listening"
    );
    let kept = todo_frontend::serve_until(config.clone(), listener, reexec::stop_signal())
        .await
        .map_err(|error| format!("todo-frontend failed: {error}"))?;
    kept.map(|listener| {
        listener
            .into_std()
            .map_err(|error| format!("cannot keep the listening socket: {error}"))
    })
    .transpose()
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.production {
        builder.json().init();
    } else {
        builder.init();
    }
}
