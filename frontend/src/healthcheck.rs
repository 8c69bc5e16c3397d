//! `todo-frontend healthcheck`: a tiny HTTP probe for images that have no curl.
//!
//! ```no_run
//! let healthy = todo_frontend::healthcheck::probe(3000, std::time::Duration::from_secs(3)).is_ok();
//! ```

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Nothing answered on the port.
    #[error(
        "cannot connect to 127.0.0.1:{port}: {source} (is todo-frontend running on PORT={port}?)"
    )]
    Connect {
        /// The probed port.
        port: u16,
        /// The socket error.
        source: std::io::Error,
    },
    /// The connection broke or timed out mid-answer.
    #[error("no complete answer from 127.0.0.1:{port}/healthz: {source}")]
    Io {
        /// The probed port.
        port: u16,
        /// The socket error.
        source: std::io::Error,
    },
    /// Something answered, but not `200`.
    #[error("127.0.0.1:{port}/healthz answered {status_line:?}, expected HTTP 200")]
    Status {
        /// The probed port.
        port: u16,
        /// The first line of the answer.
        status_line: String,
    },
}

/// Sends `GET /healthz` to `127.0.0.1:port` and succeeds when it answers 200.
pub fn probe(port: u16, timeout: Duration) -> Result<(), ProbeError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|source| ProbeError::Connect { port, source })?;
    let io = |source| ProbeError::Io { port, source };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(io)?;
    let mut head = Vec::with_capacity(128);
    let mut buffer = [0u8; 128];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let read = stream.read(&mut buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("").trim().to_owned();
    let mut words = status_line.split_whitespace();
    let is_http = words.next().is_some_and(|v| v.starts_with("HTTP/"));
    if is_http && words.next() == Some("200") {
        Ok(())
    } else {
        Err(ProbeError::Status { port, status_line })
    }
}
