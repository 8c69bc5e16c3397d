//! `todo-frontend`: serves the Todo web app; `todo-frontend healthcheck` probes it.

use std::process::ExitCode;
use std::time::Duration;

use todo_frontend::{Config, healthcheck};
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
  SHUTDOWN_TIMEOUT_SECS         time requests in flight get after SIGTERM (default 10)
  ENVIRONMENT                   development | production (JSON logs)
  LOG_LEVEL                     tracing filter (default info)
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let address = (config.host, config.port);
        let listener = match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(port = config.port, %error, "cannot listen: is PORT already in use?");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            port = config.port,
            backend_url = %config.backend_url,
            connect_timeout_s = config.connect_timeout.as_secs_f64(),
            timeout_s = config.request_timeout.as_secs_f64(),
            "todo-frontend listening"
        );
        match todo_frontend::serve(config, listener, shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("todo-frontend stopped");
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(%error, "todo-frontend failed");
                ExitCode::FAILURE
            }
        }
    })
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

/// Completes on SIGTERM (what Kubernetes and Docker send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}
