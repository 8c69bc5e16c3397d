//! The HTTP server around the router: bounded, timed, and stopped within a deadline (the
//! frontend's `server.rs` works the same way).
//!
//! `axum::serve` sets no timeouts: a client trickling headers, sending nothing, or never
//! finishing its body kept a connection (and a graceful shutdown) open for as long as it
//! liked. Here:
//! - hyper's HTTP/1 `header_read_timeout` closes a connection whose request headers are
//!   not complete in time; hyper restarts that timer whenever a kept-alive connection goes
//!   idle, so it is the idle timeout as well;
//! - [`buffer_body`] reads each request body within its own deadline (408 after it);
//! - at most `max_connections` connections are served at once: past that the listener is
//!   not polled and new clients wait in the kernel's listen queue;
//! - after the shutdown signal the listener closes, requests in flight get the shutdown
//!   timeout to finish, and the connections still open then are closed. To re-execute
//!   ([`crate::reexec`]) the listener is kept open instead, and handed back: connections
//!   that arrive meanwhile wait in its queue for the next process.
//!
//! Only HTTP/1.1 is spoken: the frontend and API clients use it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::Limits;
use crate::error::ApiError;
use crate::reexec::Stop;

/// Serves `app` on `listener` until `shutdown` completes, then gives requests in flight up
/// to `grace` to finish. The listener is closed before that wait on [`Stop::Exit`]; on
/// [`Stop::Reexec`] it is returned, still open.
pub async fn run(
    app: Router,
    listener: TcpListener,
    limits: &Limits,
    grace: Duration,
    shutdown: impl Future<Output = Stop> + Send + 'static,
) -> std::io::Result<Option<TcpListener>> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.client_header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    let mut stop = Stop::Exit;
    let mut last_accept = None;

    loop {
        // Finished connections are reaped here so the set only holds open ones.
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            why = &mut shutdown => {
                stop = why;
                break;
            }
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            why = &mut shutdown => {
                stop = why;
                break;
            }
        };
        last_accept = Some(tokio::time::Instant::now());
        // Answers are small: send them at once rather than waiting to fill a segment.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            // Timeouts and client resets end up here; they are the client's business.
            let _ = connection.await;
            drop(slot);
        });
    }

    let kept = match stop {
        Stop::Exit => {
            drop(listener);
            None
        }
        Stop::Reexec => Some(listener),
    };
    tracing::info!(
        open_connections = connections.len(),
        "shutting down: finishing in-flight requests"
    );
    // hyper's graceful shutdown closes a connection whose request it has not read yet: one
    // accepted just before the signal would lose a request its client already sent.
    if let Some(accepted) = last_accept {
        tokio::time::sleep_until(accepted + FIRST_REQUEST_SETTLE).await;
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                open_connections = connections.len(),
                deadline_s = grace.as_secs_f64(),
                "in-flight requests did not finish in time: closing their connections"
            );
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(kept)
}

/// How long a connection accepted just before the shutdown signal is given to have its
/// first request read (on loopback it is already there) before the graceful shutdown,
/// which closes connections with no request in progress.
const FIRST_REQUEST_SETTLE: Duration = Duration::from_millis(100);

/// After a failed `accept`: per-connection errors are skipped at once; running out of
/// file descriptors or memory waits a second so the loop does not spin.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    let per_connection = matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    );
    if !per_connection {
        tracing::error!(%error, "cannot accept a connection: retrying in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// What [`buffer_body`] needs.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Time to receive the whole body.
    pub timeout: Duration,
}

/// Reads the whole request body (at most `max_bytes`) within the body timeout, so a client
/// that stops sending mid-body gets a 408 instead of holding a handler.
pub async fn buffer_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, limits.max_bytes).collect();
    let body = match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return closing(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the request body is larger than {} KiB",
                    limits.max_bytes / 1024
                ),
            ));
        }
        Ok(Err(_)) => {
            return closing(ApiError::new(
                StatusCode::BAD_REQUEST,
                "incomplete_body",
                "the request body could not be read to its end: send it again",
            ));
        }
        Err(_) => {
            return closing(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body did not arrive within {} seconds: send it again",
                    limits.timeout.as_secs_f64()
                ),
            ));
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Marks an answer as the connection's last (the unread rest of the body is not drained).
fn closing(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
