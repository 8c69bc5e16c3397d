//! `todo-backend healthcheck`: asks the server on this machine for `GET /healthz`, for
//! images without curl (their HEALTHCHECK runs this binary).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Whether `GET /healthz` on 127.0.0.1:`port` answers 200 within `timeout`.
pub fn check(port: u16, timeout: Duration) -> Result<(), String> {
    check_url(&format!("http://127.0.0.1:{port}/healthz"), timeout)
}

/// Whether `GET url` (`http://HOST[:PORT]/PATH`) answers 200 within `timeout`; `helm test`
/// pods use it to check the Services by name.
pub fn check_url(url: &str, timeout: Duration) -> Result<(), String> {
    let (authority, path) = split_url(url)?;
    let address = authority
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {authority}: {error}"))?
        .next()
        .ok_or_else(|| format!("{authority} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("cannot connect to {authority} ({address}): {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|error| format!("cannot set timeouts: {error}"))?;
    let host = authority.split(':').next().unwrap_or(&authority);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|error| format!("cannot send the request to {authority}: {error}"))?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) => return Err(format!("no answer from {authority}: {error}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("none");
    if status_line.starts_with("HTTP/1.") && status == "200" {
        Ok(())
    } else {
        Err(format!("GET {url} answered status {status}"))
    }
}

/// `http://host:port/path` → (`host:port`, `/path`); the port defaults to 80.
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs can be checked"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("{url}: no host"));
    }
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        let split = |url| split_url(url).unwrap();
        assert_eq!(
            split("http://todo-backend/readyz"),
            ("todo-backend:80".into(), "/readyz".into())
        );
        assert_eq!(
            split("http://todo-frontend:3000/readyz"),
            ("todo-frontend:3000".into(), "/readyz".into())
        );
        assert_eq!(
            split("http://127.0.0.1:8000"),
            ("127.0.0.1:8000".into(), "/".into())
        );
    }

    #[test]
    fn only_plain_http_urls_with_a_host_are_checked() {
        assert!(
            split_url("https://x/")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(
            split_url("http:///healthz")
                .unwrap_err()
                .contains("no host")
        );
    }

    #[test]
    fn a_closed_port_is_unhealthy_with_the_reason() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = check_url(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(error.contains("cannot connect"), "{error}");
    }
}
