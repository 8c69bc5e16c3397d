//! Restarting a server in place on `SIGHUP`, for `cargo xtask compose-up --watch`
//! (docs/watch.md); both services of the app (todo-backend, todo-frontend) use it.
//!
//! On `SIGHUP` the server stops accepting and drains the requests in flight as on
//! `SIGTERM` (the caller closes what it must, e.g. the database), then replaces itself
//! ([`exec`]: same process id, so a container's first process stays its first process)
//! with the binary at the path it was started from, which the watch loop has just
//! overwritten. The images are `FROM scratch`: no shell, no supervisor.
//!
//! The listening socket is handed to the new process, open, the way systemd's socket
//! activation passes one (`LISTEN_FDS=1`, `LISTEN_PID`, and `LISTEN_FDS_FIRST_FD` naming
//! the descriptor; read back by [`inherited_listener`] with the `listenfd` crate):
//! connections that arrive during the swap wait in the socket's queue for the new process
//! instead of being refused.
//!
//! Each process start has its own [`instance_id`], which the services serve in the
//! [`INSTANCE_HEADER`] of `/healthz` and `/readyz`, so that a caller can tell the new
//! process from the old one still draining.
//!
//! A `SIGHUP` while the binary is missing or is not an executable ELF file is logged and
//! ignored ([`stop_signal`]): the running version keeps serving. So is an `exec` that
//! fails after the drain (the server serves again on the same socket).
//!
//! The whole cycle, as a service's `main` runs it ([`serve_and_reexec`]):
//!
//! ```no_run
//! # fn serve_until_a_signal(listener: Option<std::net::TcpListener>) -> Result<Option<std::net::TcpListener>, String> { Ok(None) }
//! // Before any thread starts: it removes LISTEN_FDS and the like from the environment.
//! let inherited = deploykit_reexec::inherited_listener().map_err(|error| error.to_string())?;
//! // Serve (binding HOST:PORT when nothing was inherited) until stop_signal() completes;
//! // on Stop::Reexec the server returns its listener, still open, and it is re-executed.
//! deploykit_reexec::serve_and_reexec(inherited, serve_until_a_signal)?;
//! # Ok::<(), String>(())
//! ```

use std::io::Read as _;
use std::net::TcpListener;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a server cannot take over an inherited socket or re-execute itself.
#[derive(Debug, thiserror::Error)]
pub enum ReexecError {
    /// The listening socket handed over by the previous process (`LISTEN_FDS`) is not
    /// usable.
    #[error(
        "cannot use the listening socket handed over in LISTEN_FDS: {source}; unset LISTEN_FDS to listen on HOST:PORT"
    )]
    Inherit {
        /// Why.
        source: std::io::Error,
    },
    /// The server cannot re-execute itself (`SIGHUP`); the running version keeps serving.
    #[error(
        "cannot re-execute {binary}: {problem}; the running version keeps serving (put a working binary there and send SIGHUP again)",
        binary = binary.display()
    )]
    Reexec {
        /// The binary the server was started from.
        binary: PathBuf,
        /// What is wrong with it, or why `exec` failed.
        problem: String,
    },
}

/// The response header of `/healthz` and `/readyz` that names the process instance.
pub const INSTANCE_HEADER: &str = "x-instance-id";

/// Why the server stopped serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `SIGTERM` or `SIGINT`: close the socket, drain, exit.
    Exit,
    /// `SIGHUP` with a usable binary in place: drain, keep the socket, re-execute.
    Reexec,
}

/// This process start's id: its process id and start time, in hex. An `exec` keeps the
/// process id but not the start time, so the id changes with every re-execution.
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_nanos())
            .unwrap_or_default();
        format!("{:x}-{started:x}", std::process::id())
    })
}

/// The listening socket the previous process handed over (`LISTEN_FDS`), if any. Call it
/// before any thread starts: it removes the `LISTEN_*` variables from the environment.
pub fn inherited_listener() -> Result<Option<TcpListener>, ReexecError> {
    let listener = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .map_err(|source| ReexecError::Inherit { source })?;
    if let Some(listener) = &listener {
        // The previous process used it through tokio, which needs it non-blocking.
        listener
            .set_nonblocking(true)
            .map_err(|source| ReexecError::Inherit { source })?;
    }
    Ok(listener)
}

/// Completes with [`Stop::Exit`] on `SIGTERM` or `SIGINT` (Ctrl-C), and with
/// [`Stop::Reexec`] on `SIGHUP` when [`checked_binary`] finds a usable binary; a `SIGHUP`
/// without one is logged, and the server keeps serving. The handlers are in place when
/// this returns (call it in the runtime, before serving): a signal sent as soon as the
/// server answers is never met by the default action, which would end the process.
pub fn stop_signal() -> impl std::future::Future<Output = Stop> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    async move {
        let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = handlers else {
            // Never on Linux; the signals then keep their default action (the end).
            return std::future::pending().await;
        };
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                _ = hangup.recv() => match checked_binary() {
                    Ok(binary) => {
                        tracing::info!(
                            binary = %binary.display(),
                            "SIGHUP: finishing in-flight requests, then re-executing"
                        );
                        return Stop::Reexec;
                    }
                    Err(error) => tracing::error!("SIGHUP ignored: {error}"),
                },
            }
        }
        tracing::info!("shutdown signal received: finishing in-flight requests");
        Stop::Exit
    }
}

/// The path this process was started from (its `argv[0]` when that names a path), checked
/// to be an executable ELF file. Not `/proc/self/exe`: once the binary was replaced, that
/// names the old, deleted file.
pub fn checked_binary() -> Result<PathBuf, ReexecError> {
    let binary = started_from();
    check_binary(&binary)?;
    Ok(binary)
}

/// `argv[0]` when it holds a `/` (an absolute path, or one relative to the working
/// folder, which the server never changes); otherwise the executable the kernel names,
/// without the ` (deleted)` it adds once the file was replaced.
fn started_from() -> PathBuf {
    let first = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_default();
    if first.components().count() > 1 {
        return first;
    }
    std::env::current_exe()
        .map(|exe| {
            let shown = exe.to_string_lossy();
            match shown.strip_suffix(" (deleted)") {
                Some(path) => PathBuf::from(path),
                None => exe,
            }
        })
        .unwrap_or(first)
}

/// Whether `binary` is a file someone may execute that starts as an ELF file does (a
/// missing, truncated-to-nothing or overwritten-with-text file is refused before the
/// server stops serving).
pub fn check_binary(binary: &Path) -> Result<(), ReexecError> {
    let refused = |problem: String| ReexecError::Reexec {
        binary: binary.to_path_buf(),
        problem,
    };
    let metadata = std::fs::metadata(binary).map_err(|error| refused(error.to_string()))?;
    if !metadata.is_file() {
        return Err(refused("it is not a file".into()));
    }
    let mode = metadata.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(refused(format!(
            "it is not executable (mode {:o})",
            mode & 0o7777
        )));
    }
    let mut magic = Vec::with_capacity(4);
    std::fs::File::open(binary)
        .and_then(|file| file.take(4).read_to_end(&mut magic))
        .map_err(|error| refused(format!("cannot read it: {error}")))?;
    if magic != b"\x7fELF" {
        return Err(refused(
            "it is not an ELF executable (an unfinished copy?)".into(),
        ));
    }
    Ok(())
}

/// Runs `serve` on `inherited` (`None`: it binds its own socket) until it stops
/// (`Ok(None)`) or fails; when it returns its listener (`Ok(Some(kept))`, after
/// [`Stop::Reexec`]), replaces this process with the checked binary, handing `kept` over.
/// When the binary cannot be executed, logs why and serves again on `kept` with the
/// running version.
pub fn serve_and_reexec<E>(
    mut inherited: Option<TcpListener>,
    mut serve: impl FnMut(Option<TcpListener>) -> Result<Option<TcpListener>, E>,
) -> Result<(), E> {
    while let Some(kept) = serve(inherited.take())? {
        // Only returns when the binary cannot be executed: serve on with this one.
        let error = match checked_binary() {
            Ok(binary) => exec(&binary, &kept),
            Err(error) => error,
        };
        tracing::error!("{error}");
        inherited = Some(kept);
    }
    Ok(())
}

/// Replaces this process with `binary` (same arguments and environment), handing it
/// `listener` open. Returns only when `exec` failed, with the reason; `listener` is then
/// as it was, and the caller can serve on it again.
pub fn exec(binary: &Path, listener: &TcpListener) -> ReexecError {
    let failed = |problem: String| ReexecError::Reexec {
        binary: binary.to_path_buf(),
        problem,
    };
    // Sockets are opened close-on-exec: this one must survive the exec.
    if let Err(error) = rustix::io::fcntl_setfd(listener, rustix::io::FdFlags::empty()) {
        return failed(format!("cannot keep the listening socket open: {error}"));
    }
    let mut command = std::process::Command::new(binary);
    if let Some(first) = std::env::args_os().next() {
        command.arg0(first);
    }
    let error = command
        .args(std::env::args_os().skip(1))
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", std::process::id().to_string())
        .env("LISTEN_FDS_FIRST_FD", listener.as_raw_fd().to_string())
        .exec();
    let _ = rustix::io::fcntl_setfd(listener, rustix::io::FdFlags::CLOEXEC);
    failed(format!("exec failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_executable_elf_file_is_accepted() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("todo-service");
        let refusal = |path: &Path| match check_binary(path) {
            Err(error) => error.to_string(),
            Ok(()) => String::from("accepted"),
        };
        assert!(
            refusal(&path).contains("No such file"),
            "{}",
            refusal(&path)
        );
        std::fs::write(&path, b"\x7fELF and the rest").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(refusal(&path).contains("not executable (mode 644)"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(refusal(&path), "accepted");
        std::fs::write(&path, b"").expect("truncate");
        assert!(refusal(&path).contains("not an ELF executable"));
        std::fs::write(&path, b"#!/bin/sh\n").expect("write");
        assert!(refusal(&path).contains("not an ELF executable"));
        assert!(refusal(folder.path()).contains("not a file"));
    }

    #[test]
    fn the_instance_id_is_the_same_for_the_whole_process() {
        assert_eq!(instance_id(), instance_id());
        assert!(instance_id().starts_with(&format!("{:x}-", std::process::id())));
    }
}
