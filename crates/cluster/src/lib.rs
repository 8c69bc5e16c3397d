//! Apply, wait for, remember and roll back releases on Kubernetes, without helm or kubectl.
//!
//! deploykit-cluster takes a rendered release (YAML manifests plus chart metadata and
//! values), applies it with server-side apply in Helm's install order, waits for it with
//! live progress, explains why it is not ready when it is not, and records every revision
//! in Helm's own storage format so `helm list/history/status/rollback` keep working.
//!
//! Layers, as in kube-rs (pure parts first, tested without a server):
//! - [`manifest`]: split and identify manifests, Helm's install/uninstall order, the prune set;
//! - [`release`]: Helm's release JSON, its base64(gzip) encoding and the record Secret;
//! - [`compare`]: the no-op check (fingerprint + subset) and field diffs;
//! - [`wait`]: rollout verdicts from object status, diagnosis from pods and events;
//! - [`lease`]: judging the per-release lease (holder, expiry);
//! - [`connect()`] (kubeconfig file, text, or the usual lookup), [`Cluster::from_client`]
//!   and [`Cluster`]: the I/O: discovery, apply, records, lease, [`Cluster::deploy`] (and
//!   [`Cluster::deploy_rendered`], which decides the revision under the lease before asking
//!   for the render), Helm hooks, [`Cluster::test`], [`Cluster::rollback`],
//!   [`Cluster::uninstall`], [`Cluster::status`], [`Cluster::history`], [`Cluster::diff`],
//!   [`Cluster::logs`], [`Cluster::port_forward`].
//!
//! To render and deploy a chart in one call, use deploykit-release, which drives this crate.
//!
//! The crate prints nothing: progress arrives as [`Progress`] values through a callback,
//! failures as [`Error`] values whose messages name the object and the fix.
//!
//! # For a command line (deploy-local and friends)
//!
//! | job | call |
//! | --- | --- |
//! | find the cluster | [`connect()`] with [`ConnectOptions`] (context, kubeconfig) |
//! | install / upgrade | [`Cluster::deploy`] with a [`ReleaseRequest`], a progress callback, a [`CancellationToken`] (cancel it on Ctrl-C) |
//! | explain a failure | [`Error::RolloutFailed`] carries a [`Diagnosis`] (`Display` prints it with fixes and log lines) |
//! | before applying | [`Cluster::diff`]: per object [`DiffAction`] and field changes, from the server's dry-run apply where it allows one ([`ObjectDiff::fallback`] says why not) |
//! | status / history | [`Cluster::status`], [`Cluster::history`] |
//! | undo | [`Cluster::rollback`] with [`RollbackOptions`]; `atomic` on the request rolls back by itself |
//! | remove | [`Cluster::uninstall`] |
//! | logs | [`Cluster::logs`] with a [`LogsRequest`] (follow, since, tail, all containers) |
//! | reach the app | [`Cluster::port_forward`] on 127.0.0.1, following replaced pods |
//! | a Secret from `.env` | [`Cluster::apply_secret`] (written only when its data changed) |
//! | images already loaded | [`Cluster::node_images`]: what each node's runtime holds |
//! | the context in use | [`current_context`]: the one given, else the kubeconfig's |
//!
//! No call hands out the underlying kube client: what a program needs is a call here (or
//! in deploykit-release), so every write goes through one field manager and one set of
//! rules.
//!
//! # Decisions
//!
//! - **No-op re-apply.** A deploy of exactly what is deployed (same manifest, values and
//!   chart, every object still as applied) reads and writes nothing: no revision, no lease.
//!   Each applied object carries a fingerprint annotation of what deploykit sent; an object
//!   is unchanged when the fingerprint matches *and* every field deploykit sets still has
//!   its value live (see [`compare`]). Comparing `managedFields` sets was the alternative;
//!   the fingerprint is exact about removed fields and needs no model of the server's
//!   field-set encoding.
//! - **One deploy at a time.** Operations hold a `coordination.k8s.io/v1` Lease
//!   (`deploykit.<release>`) renewed every third of its duration. A second deploy refuses,
//!   naming the holder, or waits up to [`ReleaseRequest::lock_wait`]. A revision left
//!   pending by a client whose lease expired is marked failed and taken over
//!   ([`Progress::TookOver`]) instead of blocking every later deploy.
//! - **Helm compatibility.** Records are Helm's (`helm list/history/status/rollback/
//!   uninstall` work on them; the tests drive Helm's own client against them), and objects
//!   carry Helm's ownership label and annotations (hooks only the chart's own, as Helm
//!   creates them). Failures are recorded in Helm 4's words, and `atomic` undoes them as
//!   its `--rollback-on-failure` does: a failed install is uninstalled (delete hooks
//!   run), a failed upgrade rolled back to the last deployed revision (rollback hooks
//!   run), also when the caller cancels. Records leave `apply_method` unset, so Helm 4
//!   uses client-side apply on them. Apply conflicts are taken over where Helm 4 would
//!   take them: after a revision Helm applied client-side (`csa`) every field, after one it
//!   applied server-side (`ssa`) those of its own field manager; any other conflict is
//!   reported by name until `force_conflicts` is set, as `kubectl apply --server-side`
//!   would.
//!
//! ```no_run
//! use deploykit_cluster::{ConnectOptions, ReleaseRequest, ChartMetadata, connect};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn demo() -> Result<(), deploykit_cluster::Error> {
//! let cluster = connect(ConnectOptions { context: Some("minikube".into()), ..Default::default() }).await?;
//! let chart = ChartMetadata { name: "todo-app".into(), version: "0.1.0".into(), ..Default::default() };
//! let manifests = vec!["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n".to_string()];
//! let request = ReleaseRequest::new("todo-app", "todo", chart, manifests);
//! let cancel = CancellationToken::new(); // cancel() it on Ctrl-C: the revision is recorded failed
//! let outcome = cluster.deploy(&request, &mut |event| eprintln!("{event:?}"), &cancel).await?;
//! println!("revision {} (unchanged: {})", outcome.revision, outcome.unchanged);
//! # Ok(()) }
//! ```

pub mod compare;
pub mod lease;
pub mod manifest;
pub mod release;
pub mod wait;

mod cluster;
mod connect;
mod error;
mod hooks;
mod observe;
mod ops;

pub use cluster::{
    Change, Cluster, ClusterOptions, FIELD_MANAGER, MIN_POLL_INTERVAL, conflict_owner, connect,
};
pub use connect::{ConnectOptions, Failure, current_context, reachability_fix};
pub use error::{Error, Result};
pub use hooks::{TestOutcome, TestRun};
pub use manifest::{Hook, HookEvent, Manifest, ObjectRef};
pub use observe::{ForwardEvent, LogLine, LogsRequest, PortForward, PortForwardRequest, Target};
pub use ops::{
    DeployOutcome, DiffAction, FOREIGN_PENDING_GRACE, ObjectDiff, Progress, ReleaseRequest,
    ReleaseStatus, RenderRevision, Revision, RevisionContent, RollbackOptions, UninstallOptions,
    UninstallOutcome,
};
pub use release::{Chart, ChartMetadata, HookRecord, HookRun, Release, Status};
pub use tokio_util::sync::CancellationToken;
pub use wait::{Cause, Diagnosis, Problem, Readiness, Verdict};
