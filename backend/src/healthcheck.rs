//! `todo-backend healthcheck`: asks the server on this machine for `GET /healthz`, for
//! images without curl (their HEALTHCHECK runs this binary).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Whether `GET /healthz` on 127.0.0.1:`port` answers 200 within `timeout`.
pub fn check(port: u16, timeout: Duration) -> Result<(), String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("cannot connect to {address}: {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|error| format!("cannot set timeouts: {error}"))?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|error| format!("cannot send the request to {address}: {error}"))?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) => return Err(format!("no answer from {address}: {error}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("none");
    if status_line.starts_with("HTTP/1.") && status == "200" {
        Ok(())
    } else {
        Err(format!(
            "GET /healthz on {address} answered status {status}"
        ))
    }
}
