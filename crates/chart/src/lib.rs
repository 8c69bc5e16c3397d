//! deploykit-chart: Helm-compatible chart loading and rendering, in pure Rust.
//!
//! Files and values in, rendered text out: no network, no Docker, no Kubernetes client,
//! no printing.
//!
//! - [`Chart`] loads a chart folder or `.tgz` (`Chart.yaml` checks, `.helmignore`,
//!   subcharts);
//! - [`ValueSources`] merges `-f` files and `--set`-family expressions as Helm does;
//! - [`render()`] runs Helm's engine contract: `template path → rendered text`;
//! - [`helm_template_output`] turns that into what `helm template` prints.
//!
//! ```no_run
//! use deploykit_chart::{RenderRequest, SetKind};
//!
//! let mut request = RenderRequest::new("charts/todo-app");
//! request.values = request.values.file("values-minikube.yaml").set(SetKind::Typed, "replicas=2");
//! request.release.name = "todo".into();
//! let manifests: String = request.template()?;
//! # Ok::<(), deploykit_chart::ChartError>(())
//! ```

pub mod chart;
pub mod corpus;
mod error;
pub mod funcs;
pub mod ignore;
pub mod manifest;
pub mod objects;
pub mod render;
pub mod schema;
pub mod semver;
pub mod strvals;
pub mod template;
pub mod value;
pub mod values;
pub mod yaml;

pub use chart::{Chart, ChartFile, Dependency, FileData, Lock, Metadata};
pub use error::ChartError;
pub use manifest::{
    Hook, HookEvent, Manifest, ObjectRef, SortedManifests, helm_template_output, sort_manifests,
};
pub use objects::Capabilities;
pub use render::{
    ReleaseOptions, RenderRequest, Rendered, ValueSources, render, render_for, render_owned,
};
pub use strvals::SetKind;
pub use value::{GoObject, Map, Value};
