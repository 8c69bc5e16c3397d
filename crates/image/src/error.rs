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
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing a local file (an exported image, say) failed.
    #[error("cannot write {path}: {source}")]
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
    #[error("Docker Engine failed to {action}: {source}")]
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
