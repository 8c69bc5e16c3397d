//! The Todo Chatbot backend: a JSON API for per-user tasks, a chatbot that manages them in
//! plain English, and the OpenAPI document describing both.
//!
//! - [`config`]: the environment the compose file and the chart pass (`PORT`, `DATABASE_URL`,
//!   `BETTER_AUTH_SECRET`, ...), read once into a [`Config`].
//! - [`store`]: SQLite or PostgreSQL through sqlx, migrations embedded.
//! - [`api`]: the handlers and the OpenAPI document; [`tasks`] the task rules they share
//!   with the [`chat`]bot; [`auth`] passwords and session tokens.
//! - [`serve`]: runs the app on a listener until a shutdown signal, then drains.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = todo_backend::Config::from_env()?;
//! let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
//! todo_backend::serve(config, listener, todo_backend::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod chat;
pub mod config;
pub mod error;
pub mod guard;
pub mod healthcheck;
pub mod model;
pub use deploykit_reexec as reexec;
pub mod server;
pub mod store;
pub mod tasks;
pub mod undo;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use utoipa::OpenApi;

pub use config::{Config, ConfigError, Environment};
pub use store::StoreError;

/// Largest request body accepted (larger ones get 413).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: store::Store,
    /// Token and password keys (shared: the state is cloned for every request).
    pub keys: Arc<auth::Keys>,
    /// Rate limits, sign-in back-off and the password hashing threads.
    pub guards: Arc<guard::Guards>,
    /// The chat model client, when `OPENAI_API_KEY` is set.
    pub llm: Option<Arc<chat::llm::Llm>>,
    /// Bulk changes the chat asked about, waiting for "yes".
    pub confirmations: Arc<chat::confirm::Confirmations>,
    /// The OpenAPI document, rendered once.
    pub openapi: axum::body::Bytes,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chat model client could not be built.
    #[error(transparent)]
    Llm(#[from] chat::llm::LlmError),
    /// Serving failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
    /// Taking over the inherited listening socket, or re-executing on `SIGHUP`, failed.
    #[error(transparent)]
    Reexec(#[from] reexec::ReexecError),
}

/// The OpenAPI 3.1 document as JSON.
pub fn openapi_document() -> String {
    api::ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_string())
}

/// Opens the database (running migrations) and builds the shared state.
pub async fn state(config: &Config) -> Result<AppState, ServeError> {
    let store = store::Store::open(&config.database).await?;
    let llm = match &config.llm {
        Some(llm) => Some(Arc::new(chat::llm::Llm::new(llm.clone())?)),
        None => None,
    };
    let keys = Arc::new(auth::Keys::new(
        &config.auth_secret,
        config.token_ttl,
        config.password_cost,
    ));
    let hashing_keys = keys.clone();
    let guards = guard::Guards::new(&config.limits, move |job| hashing_keys.run(job));
    Ok(AppState {
        store,
        keys,
        guards: Arc::new(guards),
        llm,
        confirmations: Arc::default(),
        openapi: axum::body::Bytes::from(openapi_document()),
    })
}

/// The routes with their middleware (request ids, one log line per request, CORS, body limit).
pub fn router(state: AppState, config: &Config) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    // Which process answers: `compose-up --watch` waits for a new one after SIGHUP.
    let health = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .layer(axum::middleware::map_response(name_the_instance));
    Router::new()
        .merge(health)
        .route("/api/openapi.json", get(api::openapi_json))
        .route("/api/auth/signup", post(api::signup))
        .route("/api/auth/signin", post(api::signin))
        .route("/api/auth/me", get(api::me))
        .route("/api/auth/signout", post(api::signout))
        .route("/api/undo", get(api::undoable).post(api::undo))
        .route("/api/tasks", get(api::list_tasks).post(api::create_task))
        .route(
            "/api/tasks/{id}",
            get(api::get_task)
                .patch(api::update_task)
                .delete(api::delete_task),
        )
        .route("/api/tasks/{id}/toggle", post(api::toggle_task))
        .route("/api/chat", post(api::chat))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            server::BodyLimits {
                max_bytes: BODY_LIMIT,
                timeout: config.limits.client_body_timeout,
            },
            server::buffer_body,
        ))
        .layer(cors(config))
        .layer(axum::middleware::from_fn(log_request))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Adds the [`reexec::INSTANCE_HEADER`] to a response.
async fn name_the_instance(mut response: Response) -> Response {
    response.headers_mut().insert(
        HeaderName::from_static(reexec::INSTANCE_HEADER),
        HeaderValue::from_static(reexec::instance_id()),
    );
    response
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("no such route: see /api/openapi.json")
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method: see /api/openapi.json",
    )
}

fn cors(config: &Config) -> CorsLayer {
    let origins = if config.cors_origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

/// One line per request: method, path (no query: it may hold search text), status, latency,
/// request id. Never headers or bodies, so tokens and passwords stay out of the logs.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Clones of shared buffers, not copies: the line may be filtered out by LOG_LEVEL.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.header_value().clone());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = uri.path();
    let request_id = request_id
        .as_ref()
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    if status >= 500 {
        tracing::error!(%method, %path, status, latency_ms, %request_id, "request");
    } else {
        tracing::info!(%method, %path, status, latency_ms, %request_id, "request");
    }
    response
}

/// Serves the app on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish within `config.shutdown_grace`, closes the connections still
/// open, and closes the database. Connections, header, idle and body times are bounded by
/// `config.limits` (see [`server`]).
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
    let state = state(&config).await?;
    let store = state.store.clone();
    let app = router(state, &config);
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        database = %config.database,
        environment = ?config.environment,
        llm = config.llm.is_some(),
        "todo-backend listening"
    );
    let kept = server::run(app, listener, &config.limits, config.shutdown_grace, stop).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(kept)
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
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
        () = ctrl_c => {},
        () = terminate => {},
    }
}
