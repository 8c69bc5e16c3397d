//! `todo-frontend`: the Todo Chatbot's web frontend.
//!
//! An axum server that renders the pages on the server (maud), serves a small embedded
//! script and stylesheet, and proxies `/api/*` to the backend so the browser only ever
//! talks to one origin. The backend's bearer token lives in an HttpOnly cookie; the proxy
//! turns it back into an `Authorization` header. Every backend call has a connect and a
//! total timeout, and a backend that is down or slow gets a friendly 502/504 answer.
//! Clients get timeouts too (headers, body, idle), connections are bounded, a shutdown
//! ends within a deadline, and state-changing requests from other sites are refused.
//!
//! Map:
//! - [`Config`]: the environment (`PORT`, `BACKEND_URL`, timeouts, logging).
//! - [`router`] / [`serve`]: the HTTP application and the server with graceful shutdown
//!   (`server`: client timeouts, connection bound, shutdown deadline; `csrf`: cross-site
//!   refusal).
//! - [`healthcheck`]: the `todo-frontend healthcheck` probe used by images without curl.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = todo_frontend::Config::default();
//! let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
//! todo_frontend::serve(config, listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

mod assets;
mod backend;
mod config;
mod csrf;
mod filters;
mod forms;
pub mod healthcheck;
mod pages;
mod proxy;
pub use deploykit_reexec as reexec;
mod server;
mod session;
mod views;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use tower_http::compression::CompressionLayer;

pub use config::{Config, ConfigError};

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    backend: backend::Backend,
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The HTTP client for the backend could not be built.
    #[error("cannot set up the HTTP client for BACKEND_URL={backend_url}: {source}")]
    Client {
        /// The configured backend.
        backend_url: String,
        /// What the client library said.
        source: reqwest::Error,
    },
    /// Accepting or serving connections failed.
    #[error("the HTTP server stopped: {0}")]
    Io(#[from] std::io::Error),
    /// Taking over the inherited listening socket, or re-executing on `SIGHUP`, failed.
    #[error(transparent)]
    Reexec(#[from] reexec::ReexecError),
}

/// The whole application: pages, assets, health, and the `/api` proxy.
pub fn router(config: &Config) -> Result<Router, ServeError> {
    let backend = backend::Backend::new(config).map_err(|source| ServeError::Client {
        backend_url: config.backend_url.clone(),
        source,
    })?;
    let state = AppState { backend };
    let limits = server::ClientLimits::new(config);
    // Which process answers: `compose-up --watch` waits for a new one after SIGHUP.
    let health = Router::new()
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .layer(middleware::map_response(name_the_instance));
    Ok(Router::new()
        .merge(health)
        .route("/", get(pages::home))
        .route("/partials/tasks", get(pages::task_region))
        .route("/signin", get(pages::signin_form).post(pages::signin))
        .route("/signup", get(pages::signup_form).post(pages::signup))
        .route("/signout", post(pages::signout))
        .route("/undo", post(pages::undo))
        .route("/tasks", post(forms::add))
        .route("/tasks/{id}/toggle", post(forms::toggle))
        .route("/tasks/{id}/delete", post(forms::delete))
        .route("/chat", post(forms::chat))
        .route("/signed-out", get(pages::signed_out))
        .route("/static/{file}", get(assets::static_file))
        .route("/api", any(proxy::proxy))
        .route("/api/{*path}", any(proxy::proxy))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(server::MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(limits, server::buffer_body))
        .layer(middleware::from_fn(csrf::refuse_cross_site))
        .layer(middleware::from_fn(security_headers))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(log_request))
        .with_state(state))
}

/// Adds the [`reexec::INSTANCE_HEADER`] to a response.
async fn name_the_instance(mut response: Response) -> Response {
    response.headers_mut().insert(
        HeaderName::from_static(reexec::INSTANCE_HEADER),
        HeaderValue::from_static(reexec::instance_id()),
    );
    response
}

/// Serves the application on `listener` until `shutdown` completes, then lets requests
/// in flight finish for up to `config.shutdown_timeout` and closes what is still open.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let exit = async move {
        shutdown.await;
        reexec::Stop::Exit
    };
    serve_until(config, listener, exit).await.map(drop)
}

/// As [`serve`], stopping when `stop` completes; on [`reexec::Stop::Reexec`] the listener
/// stays open during the drain and is returned (for [`reexec::exec`]), so connections that
/// arrive meanwhile wait for the next process instead of being refused.
pub async fn serve_until(
    config: Config,
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = reexec::Stop> + Send + 'static,
) -> Result<Option<tokio::net::TcpListener>, ServeError> {
    let app = router(&config)?;
    Ok(server::run(app, listener, server::ClientLimits::new(&config), stop).await?)
}

/// Headers that keep the pages from being framed, sniffed or fed foreign scripts.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &str); 4] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    // Pages show a person's tasks: never keep them in a cache (nor behind the Back
    // button after signing out).
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert_with(|| HeaderValue::from_static("no-store"));
    }
    response
}

/// One log line per request: method, path, status, latency. Never headers (cookies,
/// tokens) and never the query string (search text is the user's own).
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = format!("{latency_ms:.1}"),
        "request"
    );
    response
}
