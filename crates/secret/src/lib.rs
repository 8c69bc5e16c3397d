//! Secrets for deployments, as plain data: this crate talks to no daemon and prints nothing.
//!
//! - [`Secret`]: a value whose `Debug` and `Display` print `***`, wiped from memory on drop,
//!   so that logs and error messages cannot leak it. Read it with [`Secret::expose`].
//! - [`EnvFile`]: a `.env` file parsed with dotenvy. Setting a key keeps every comment and
//!   the order of the other lines; saving writes the file with mode 0600 and refuses a
//!   file that git tracks.
//! - [`RequiredKey`] and [`ensure_env`]: the keys an app needs; what can be generated
//!   (a signing key: random bytes from the operating system) is generated, what cannot is
//!   an error naming the key and where to set it.
//! - [`KubeSecret`]: a Kubernetes `Secret` object built from keys of a `.env`, as JSON.
//!
//! ```no_run
//! use deploykit_secret::{ensure_env, Generator, RequiredKey};
//! use std::path::Path;
//!
//! let keys = [RequiredKey::generated(
//!     "BETTER_AUTH_SECRET",
//!     "the key that signs session tokens",
//!     Generator::RandomBytes(32),
//! )];
//! let report = ensure_env(".env", Some(Path::new(".env.example")), &keys)?;
//! for key in &report.generated {
//!     println!("generated {key} in .env");
//! }
//! # Ok::<(), deploykit_secret::SecretError>(())
//! ```

mod env_file;
mod error;
mod git;
mod kube;
mod required;
mod secret;

pub use env_file::EnvFile;
pub use error::SecretError;
pub use git::is_tracked_by_git;
pub use kube::KubeSecret;
pub use required::{EnsureReport, Generator, RequiredKey, check_required, ensure_env};
pub use secret::Secret;
