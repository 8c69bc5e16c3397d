//! The HTTP server around the router: bounded, timed, and stopped within a deadline.
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
//! - after the shutdown signal, requests in flight get `shutdown_timeout` to finish; the
//!   connections still open then are closed.
//!
//! Only HTTP/1.1 is spoken: browsers reach the frontend over HTTP/1.1 or through a proxy
//! that speaks it (h2c from a browser does not exist).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
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

use crate::Config;
use crate::proxy;
use crate::reexec::Stop;

/// The largest request body accepted (the backend's own limit is lower).
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The limits the server applies to clients, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientLimits {
    header_timeout: Duration,
    body_timeout: Duration,
    max_connections: usize,
    shutdown_timeout: Duration,
}

impl ClientLimits {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            header_timeout: config.client_header_timeout,
            body_timeout: config.client_body_timeout,
            max_connections: config.max_connections,
            shutdown_timeout: config.shutdown_timeout,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then gives requests in flight
/// up to the shutdown timeout. The listener is closed before that wait on [`Stop::Exit`];
/// on [`Stop::Reexec`] it is returned, still open (connections that arrive meanwhile wait
/// in its queue for the next process).
pub(crate) async fn run(
    app: Router,
    listener: TcpListener,
    limits: ClientLimits,
    shutdown: impl Future<Output = Stop> + Send + 'static,
) -> std::io::Result<Option<TcpListener>> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
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
                append_forwarded_for(request.headers_mut(), peer.ip());
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
    let open = connections.len();
    // hyper's graceful shutdown closes a connection whose request it has not read yet: one
    // accepted just before the signal would lose a request its client already sent.
    if let Some(accepted) = last_accept {
        tokio::time::sleep_until(accepted + FIRST_REQUEST_SETTLE).await;
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!(
                open_connections = connections.len(),
                deadline_s = limits.shutdown_timeout.as_secs_f64(),
                "shutdown deadline reached: closing the connections still open"
            );
        }
    }
    tracing::debug!(open_at_signal = open, "server stopped");
    // Dropping the set aborts whatever is still running.
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(kept)
}

/// How long a connection accepted just before the shutdown signal is given to have its
/// first request read (on loopback it is already there) before the graceful shutdown,
/// which closes connections with no request in progress.
const FIRST_REQUEST_SETTLE: Duration = Duration::from_millis(100);

/// Adds this connection's peer to the request's `X-Forwarded-For`, so the backend (which
/// sees every request come from the frontend) can limit sign-ins and sign-ups per client:
/// it reads the chain from the right and stops at the first address it does not trust as a
/// proxy, so what a client writes into the header itself cannot stand in for its address.
fn append_forwarded_for(headers: &mut axum::http::HeaderMap, peer: std::net::IpAddr) {
    let name = axum::http::HeaderName::from_static("x-forwarded-for");
    let mut chain: Vec<String> = headers
        .get_all(&name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    chain.push(peer.to_string());
    if let Ok(value) = HeaderValue::from_str(&chain.join(", ")) {
        headers.insert(name, value);
    }
}

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

/// Reads the whole request body (at most [`MAX_BODY_BYTES`]) within the body timeout,
/// so a client that stops sending mid-body gets a 408 instead of holding the handler.
pub(crate) async fn buffer_body(
    State(limits): State<ClientLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, MAX_BODY_BYTES).collect();
    let body = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return closing(proxy::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is larger than 1 MiB; send less.",
            ));
        }
        Ok(Err(_)) => {
            return closing(proxy::error(
                StatusCode::BAD_REQUEST,
                "incomplete_body",
                "The request body could not be read to its end. Send it again.",
            ));
        }
        Err(_) => {
            let detail = format!(
                "The request body did not arrive within {} seconds. Send it again.",
                limits.body_timeout.as_secs_f64()
            );
            return closing(proxy::error(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                &detail,
            ));
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Marks an answer as the connection's last (the unread rest of the body is not drained).
fn closing(response: Response) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
