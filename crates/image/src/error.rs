//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while connecting, building, packaging or moving images.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// `DOCKER_HOST` (or another connection setting) is not something we can connect to.
    #[error(
        "DOCKER_HOST={host:?} is not supported: {reason}; use unix:///path/to/docker.sock or tcp://HOST:PORT (with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for TLS)"
    )]
    UnsupportedHost {
        /// The value that was given.
        host: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The TLS files named by `DOCKER_CERT_PATH` could not be used.
    #[error(
        "cannot use the TLS certificates in {dir}: {reason}; check DOCKER_CERT_PATH (it must hold ca.pem, cert.pem and key.pem, as `minikube docker-env` sets it)"
    )]
    TlsFiles {
        /// The certificate folder.
        dir: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Nothing answers at the daemon address.
    #[error(
        "cannot reach the Docker daemon at {host}: {reason}. Start Docker (`sudo systemctl start docker`, or `sudo dockerd &`, or open Docker Desktop), or point DOCKER_HOST at a running daemon (for minikube: `eval $(minikube docker-env)`)"
    )]
    DaemonUnreachable {
        /// The address tried.
        host: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// A `.dockerignore` line is not a valid pattern.
    #[error("{file}:{line}: invalid .dockerignore pattern {pattern:?}: {reason}")]
    IgnorePattern {
        /// The ignore file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The pattern as written.
        pattern: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Reading the build context (or another local file) failed.
    #[error("cannot read {path} (check that it exists and is readable)")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing a local file (an exported image, say) failed.
    #[error("cannot write {path} (check that its folder exists and is writable)")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The Dockerfile named in a build is not inside the build context.
    #[error(
        "the Dockerfile {dockerfile} is not inside the build context {context}: move it there or choose a context folder that contains it"
    )]
    DockerfileOutsideContext {
        /// The Dockerfile path.
        dockerfile: PathBuf,
        /// The context folder.
        context: PathBuf,
    },
    /// The binary to package is dynamically linked: the image has no loader or libc for it,
    /// so the container would fail with `exec /NAME: no such file or directory`.
    #[error(
        "{path} is dynamically linked (it needs the program interpreter {interpreter}), but a packaged image holds no loader or libc, so it would fail to start with `exec: no such file or directory`; build it statically: RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --release --target {target}"
    )]
    DynamicBinary {
        /// The binary.
        path: PathBuf,
        /// Its `PT_INTERP` program interpreter (`/lib64/ld-linux-x86-64.so.2`).
        interpreter: String,
        /// The Rust target to build for (`x86_64-unknown-linux-gnu`).
        target: String,
    },
    /// The file to package is not a Linux executable.
    #[error(
        "{path} is not a Linux executable (ELF): {reason}; package a binary built for Linux (cargo build --release --target {target})"
    )]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the ELF reader said.
        reason: String,
        /// The Rust target to build for (`x86_64-unknown-linux-gnu`).
        target: String,
    },
    /// `SOURCE_DATE_EPOCH` is set but is not a Unix time.
    #[error(
        "SOURCE_DATE_EPOCH={value:?} is not a Unix time in seconds: set it to one (for the last commit: SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)) or unset it"
    )]
    SourceDateEpoch {
        /// The value found.
        value: String,
    },
    /// A build failed at a step.
    #[error("building {image} failed at {step}: {message}{}", output_tail(.last_lines))]
    BuildFailed {
        /// The image being built.
        image: String,
        /// The failing step, as the builder printed it (`Step 3/5 : RUN make`), or
        /// `the start of the build` when the builder failed before any step.
        step: String,
        /// The builder's error message.
        message: String,
        /// The last lines of output printed before the failure.
        last_lines: Vec<String>,
    },
    /// An image reference could not be parsed.
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `~/.docker/config.json` could not be read or understood.
    #[error("cannot use the Docker config {path}: {reason}")]
    DockerConfig {
        /// The config file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A credential helper (`docker-credential-*`) failed.
    #[error(
        "the credential helper docker-credential-{helper} failed for {registry}: {reason}; log in again with `docker login {registry}`"
    )]
    CredentialHelper {
        /// The helper's suffix (`desktop`, `pass`, ...).
        helper: String,
        /// The registry asked about.
        registry: String,
        /// What went wrong.
        reason: String,
    },
    /// A program that loads images somewhere else (a cluster tool) failed.
    #[error("`{command}` failed: {reason}")]
    LoaderFailed {
        /// The command line run.
        command: String,
        /// Exit status and the end of its output.
        reason: String,
    },
    /// The daemon refused a request.
    #[error("Docker Engine failed to {action}")]
    Engine {
        /// What was asked (`inspect image todo-backend:abc`, ...).
        action: String,
        /// The daemon's answer.
        source: bollard::errors::Error,
    },
}

fn output_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n--- last output ---\n{}", lines.join("\n"))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors that wrap another one: their Display must leave the cause to the chain.
    fn wrapping_errors() -> Vec<ImageError> {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory");
        vec![
            ImageError::Read {
                path: "app/Cargo.toml".into(),
                source: io(),
            },
            ImageError::Write {
                path: "out.tar".into(),
                source: io(),
            },
            ImageError::Engine {
                action: "inspect image app:1".into(),
                source: bollard::errors::Error::DockerResponseServerError {
                    status_code: 500,
                    message: "the daemon is shutting down".into(),
                },
            },
        ]
    }

    #[test]
    fn anyhow_prints_each_cause_once() {
        for error in wrapping_errors() {
            let cause = std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(!cause.is_empty(), "{error} has a source");
            let error = anyhow::Error::from(error);
            let one_line = format!("{error:#}");
            let report = format!("{error:?}");
            assert_eq!(one_line.matches(&cause).count(), 1, "{one_line}");
            assert_eq!(report.matches(&cause).count(), 1, "{report}");
            assert!(report.contains("Caused by:"), "{report}");
        }
    }

    #[test]
    fn the_cause_still_shows_in_the_one_line_form() {
        let error = anyhow::Error::from(wrapping_errors().remove(0));
        assert_eq!(
            format!("{error:#}"),
            "cannot read app/Cargo.toml (check that it exists and is readable): no such file or directory"
        );
    }
}
