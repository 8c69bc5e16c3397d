//! Build and package container images on a Docker Engine, fast and offline.
//!
//! - [`Engine`] connects the way the docker CLI does (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
//!   `DOCKER_CERT_PATH`) and agrees on an API version; an unreachable daemon is one
//!   [`ImageError::DaemonUnreachable`] that says how to start Docker.
//! - [`BuildContext`] walks a folder with its [`DockerIgnore`] (Docker's own semantics) and
//!   streams a deterministic tar with a stable digest.
//! - [`BuildSpec`] + [`Engine::build`] build a Dockerfile, report [`BuildEvent`]s, tag the
//!   image with a digest of its inputs and skip the build when that tag exists.
//! - [`PackageRecipe`] wraps a static binary in a `FROM scratch`-style image (CA roots, a
//!   non-root user, `/data`, an optional healthcheck) assembled in memory with a stable
//!   content tag, and [`Engine::install`] loads it: no builder, no base image, no registry.
//!   A dynamically linked binary is refused with the command that builds it statically.
//! - [`Engine::export_image`], [`LoaderCommand`] and [`Engine::push`] (with
//!   [`DockerConfig`] credentials) move images elsewhere.
//!
//! The crate knows nothing about any particular app or orchestrator, prints nothing and
//! never exits: callers get values, [`ImageError`]s and events.
//!
//! ```no_run
//! use deploykit_image::{BuildContext, BuildSpec, ContextSource, Engine};
//! # async fn example() -> Result<(), deploykit_image::ImageError> {
//! let engine = Engine::connect().await?;
//! let context = BuildContext::scan("app", "Dockerfile")?; // app/Dockerfile
//! let spec = BuildSpec::new("my-app", ContextSource::Folder(context));
//! let image = engine.build(&spec, &mut |event| eprintln!("{event:?}")).await?;
//! println!("{} ({} bytes, skipped: {})", image.reference, image.size, image.skipped);
//! # Ok(()) }
//! ```

mod binary;
mod build;
mod context;
mod engine;
mod error;
mod ignore;
mod package;
mod reference;
mod registry;
mod transfer;

/// The Docker client [`Engine::client`] hands out, in the version this crate uses.
pub use bollard;
pub use build::{BuildEvent, BuildSpec, BuiltImage, ContextSource};
pub use context::BuildContext;
pub use engine::{DockerHost, Engine, TlsFiles};
pub use error::{ImageError, Result};
pub use ignore::DockerIgnore;
pub use package::{
    CREATED_LABEL, HOST_CA_BUNDLE, Healthcheck, IMAGE_CA_BUNDLE, PROVENANCE_LABELS, PackageRecipe,
    PackagedImage, REVISION_LABEL, bundled_ca_roots, content_labels, default_ca_roots, go_arch,
    oci_labels, source_date_epoch,
};
pub use reference::{DOCKER_HUB, ImageReference};
pub use registry::{DockerConfig, RegistryCredentials, registry_host};
pub use transfer::LoaderCommand;
