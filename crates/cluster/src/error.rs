//! The crate's one error type: what failed, on what, and what to do next.

use crate::manifest::{HookEvent, ObjectRef};
use crate::wait::Diagnosis;

/// Everything that can go wrong talking to a cluster or keeping release records.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No kubeconfig could be loaded (and not running inside a cluster), or the one found
    /// does not parse or lacks what the connection needs.
    #[error("cannot load a kubeconfig from {origin} ({reason}): {fix}")]
    Kubeconfig {
        /// Where it was looked for: the file, `KUBECONFIG`, the text given, a context.
        origin: String,
        /// Why loading failed.
        reason: String,
        /// The next step.
        fix: String,
    },
    /// The requested context does not exist in the kubeconfig.
    #[error(
        "kube context `{context}` is not in the kubeconfig (known: {known}): pick one with `kubectl config use-context NAME` or pass another context"
    )]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts the kubeconfig has, comma separated.
        known: String,
    },
    /// The API server did not answer, or refused the credentials.
    #[error(
        "cannot reach the Kubernetes API server of context `{context}` at {server}: {reason}. {fix}"
    )]
    Unreachable {
        /// The kube context used.
        context: String,
        /// The server URL of that context.
        server: String,
        /// What the client saw.
        reason: String,
        /// The suggested next step.
        fix: String,
    },
    /// A manifest is not a Kubernetes object.
    #[error("manifest {source_name} is not a valid Kubernetes object: {reason}")]
    Manifest {
        /// Where the manifest came from (template path or position).
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The caller's render step refused the revision (see [`crate::Cluster::deploy_rendered`]).
    #[error("cannot render release {release}: {reason}")]
    Render {
        /// The release.
        release: String,
        /// What the render step said.
        reason: String,
    },
    /// The API server does not know a kind the release uses.
    #[error(
        "the cluster has no resource kind {kind} in {api_version} (used by {object}): install its CustomResourceDefinition first or fix apiVersion/kind"
    )]
    UnknownKind {
        /// The apiVersion of the object.
        api_version: String,
        /// The kind of the object.
        kind: String,
        /// The object that uses it.
        object: String,
    },
    /// Server-side apply found fields owned by another field manager.
    #[error(
        "applying {object} conflicts with field manager `{manager}` which owns {fields}: let deploykit take them over with force_conflicts (--force-conflicts), or stop `{manager}` from managing them"
    )]
    Conflict {
        /// The object being applied.
        object: Box<ObjectRef>,
        /// The (first) manager owning the fields.
        manager: String,
        /// Every manager the server named.
        managers: Vec<String>,
        /// The conflicting fields, as the server names them.
        fields: String,
    },
    /// A call to the API server failed.
    #[error("{action} failed: {}", describe(source))]
    Api {
        /// What was being done, on which object.
        action: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A release record Secret could not be decoded.
    #[error("release record {record} cannot be read: {reason}")]
    Record {
        /// The Secret's name.
        record: String,
        /// What is wrong.
        reason: String,
    },
    /// No release of that name exists in the namespace.
    #[error("release `{release}` not found in namespace `{namespace}`: deploy it first")]
    ReleaseNotFound {
        /// The release name.
        release: String,
        /// The namespace searched.
        namespace: String,
    },
    /// A revision asked for does not exist.
    #[error(
        "release `{release}` has no revision {revision}: see its history for the revisions it has"
    )]
    RevisionNotFound {
        /// The release name.
        release: String,
        /// The missing revision.
        revision: u32,
    },
    /// Another client holds the release's lease.
    #[error(
        "release `{release}` is being changed by {holder} (lease held until {expires}): wait for it to finish, or retry after the lease expires"
    )]
    Locked {
        /// The release name.
        release: String,
        /// Who holds the lease.
        holder: String,
        /// When the lease expires unless renewed (RFC 3339).
        expires: String,
    },
    /// The latest revision is pending and no deploykit lease covers it: the client that
    /// wrote it (Helm holds no lease) may still be at work.
    #[error(
        "release `{release}` revision {revision} is {status} since {since}, written by a client that holds no deploykit lease (helm, or a deploykit that crashed before taking one): wait for it to finish; if that client has stopped, deploy again after {until}, when deploykit takes the revision over"
    )]
    PendingElsewhere {
        /// The release name.
        release: String,
        /// The pending revision.
        revision: u32,
        /// Its pending status.
        status: crate::release::Status,
        /// When it was written (RFC 3339).
        since: String,
        /// When deploykit will treat it as abandoned (RFC 3339).
        until: String,
    },
    /// The caller cancelled the operation; the revision is recorded as failed.
    #[error(
        "deploy of release `{release}` revision {revision} was interrupted; the revision is recorded as failed and the next deploy continues from there"
    )]
    Interrupted {
        /// The release name.
        release: String,
        /// The revision marked failed.
        revision: u32,
    },
    /// The rollout did not become ready: the diagnosis says why.
    #[error("release `{release}` revision {revision} did not become ready: {diagnosis}{}", rolled_back_note(.rolled_back_to))]
    RolloutFailed {
        /// The release name.
        release: String,
        /// The failed revision.
        revision: u32,
        /// Why, read from the cluster.
        diagnosis: Box<Diagnosis>,
        /// The revision restored by an atomic deploy, if any (0: the release was removed).
        rolled_back_to: Option<u32>,
    },
    /// A hook's Job or Pod failed or did not finish in time: the diagnosis says why.
    #[error("{event} hook {object} of release `{release}` failed: {diagnosis}{}", rolled_back_note(.rolled_back_to))]
    HookFailed {
        /// The release name.
        release: String,
        /// The event the hook ran at (`pre-install`, `post-upgrade`, `test`, ...).
        event: HookEvent,
        /// The hook's object.
        object: Box<ObjectRef>,
        /// Why, read from the cluster (with the pod's last log lines).
        diagnosis: Box<Diagnosis>,
        /// The revision restored by an atomic deploy, if any (0: the release was removed).
        rolled_back_to: Option<u32>,
    },
    /// An atomic deploy failed applying its objects (or recording them) and was undone.
    #[error("release `{release}` revision {revision} failed: {cause}{}", rolled_back_note(&Some(*.rolled_back_to)))]
    RolledBack {
        /// The release name.
        release: String,
        /// The failed revision.
        revision: u32,
        /// Why it failed.
        #[source]
        cause: Box<Error>,
        /// The revision restored (0: the release was removed).
        rolled_back_to: u32,
    },
    /// A pod, port or service for logs or port-forward could not be found.
    #[error("{what}: {fix}")]
    NotFound {
        /// What is missing.
        what: String,
        /// What to do.
        fix: String,
    },
    /// An uninstall stopped on an object it could not delete; the release is left
    /// `uninstalling` and running the uninstall again continues it.
    #[error(
        "uninstall of release `{release}` stopped, the release is left uninstalling: {cause}; fix that, then run the uninstall again to finish it"
    )]
    UninstallStopped {
        /// The release name.
        release: String,
        /// Why it stopped.
        #[source]
        cause: Box<Error>,
    },
    /// An uninstall that keeps the history, of a release already uninstalled that way.
    #[error(
        "release `{release}` in namespace {namespace} is already uninstalled (its history kept): uninstall it without keeping the history to purge the records, or install it again"
    )]
    AlreadyUninstalled {
        /// The release name.
        release: String,
        /// Its namespace.
        namespace: String,
    },
    /// An uninstall's objects were still on the server when the wait ran out (their
    /// finalizers not done); the records were dealt with all the same, as Helm does.
    #[error(
        "release `{release}` is uninstalled, but {} still there after {timeout:?} (waiting for finalizers): check what holds them with `kubectl get -o yaml`, or wait longer",
        describe_objects(.remaining)
    )]
    DeletionTimedOut {
        /// The release name.
        release: String,
        /// The objects not gone yet.
        remaining: Vec<ObjectRef>,
        /// How long the uninstall waited.
        timeout: std::time::Duration,
    },
    /// A local socket for port-forwarding failed.
    #[error("port-forward on 127.0.0.1:{port} failed: {source}; pick a free local port")]
    LocalPort {
        /// The local port.
        port: u16,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The API server's own words for an error it answered (not kube's debug dump of the
/// response), with the fix for refused credentials.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(response) => {
            let fix = match response.code {
                401 => ": the credentials were refused (expired?): log in to the cluster again",
                403 => {
                    ": your credentials may not do this (`kubectl auth can-i --list` shows what they may); ask for a role that allows it"
                }
                _ => "",
            };
            format!(
                "{} ({} {}){fix}",
                response.message, response.code, response.reason
            )
        }
        other => other.to_string(),
    }
}

fn rolled_back_note(rolled_back_to: &Option<u32>) -> String {
    match rolled_back_to {
        Some(0) => " (atomic: the release was removed)".to_string(),
        Some(revision) => format!(" (atomic: rolled back to revision {revision})"),
        None => String::new(),
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Deployment/web is` or `Deployment/web, ConfigMap/a are`.
fn describe_objects(objects: &[ObjectRef]) -> String {
    let names: Vec<String> = objects.iter().map(ToString::to_string).collect();
    let verb = if names.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", names.join(", "))
}
