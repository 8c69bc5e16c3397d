//! Release operations: deploy (install/upgrade), rollback, uninstall, status, diff.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::cluster::{Change, Cluster, DryRun, TakeOver};
use crate::compare::{self, APPLIED_HASH, FieldChange};
use crate::error::{Error, Result};
use crate::manifest::{self, HookEvent, Manifest, ObjectRef};
use crate::observe::WaitFailure;
#[cfg(doc)]
use crate::release::ChartMetadata;
use crate::release::{Chart, HookRecord, Release, Status};
use crate::wait::{Readiness, Verdict};
use deploykit_kind_order::{UNINSTALL_ORDER, sort_by_kind};

/// A rendered release to deploy.
#[derive(Debug, Clone)]
pub struct ReleaseRequest {
    /// Release name (e.g. `todo-app`).
    pub name: String,
    /// Namespace of the release and its records.
    pub namespace: String,
    /// Create the namespace when missing (Helm's `--create-namespace`; default true).
    pub create_namespace: bool,
    /// The chart as the record keeps it (metadata, default values, templates, files).
    pub chart: Chart,
    /// The user-supplied values (Helm's `config`).
    pub values: Map<String, Value>,
    /// Rendered manifests: YAML texts, each possibly several `---` documents. Helm hooks
    /// (`helm.sh/hook`) are left out here; [`Cluster::deploy_rendered`] takes them.
    pub manifests: Vec<String>,
    /// Rendered NOTES.txt.
    pub notes: String,
    /// Roll back (or remove a first install) by itself when the wait fails.
    pub atomic: bool,
    /// Wait for readiness (default true).
    pub wait: bool,
    /// How long to wait for readiness.
    pub timeout: Duration,
    /// Take over fields other field managers own (server-side apply `force`).
    pub force_conflicts: bool,
    /// How long to wait for another deploy of the same release (0: refuse at once). The
    /// cancellation token is observed once the lease is held, not during this wait.
    pub lock_wait: Duration,
}

impl ReleaseRequest {
    /// A request with defaults: wait 5 minutes, not atomic, no forcing, refuse when busy,
    /// create the namespace. `chart` is a [`ChartMetadata`] or a full [`Chart`] record.
    pub fn new(
        name: &str,
        namespace: &str,
        chart: impl Into<Chart>,
        manifests: Vec<String>,
    ) -> Self {
        ReleaseRequest {
            name: name.into(),
            namespace: namespace.into(),
            create_namespace: true,
            chart: chart.into(),
            values: Map::new(),
            manifests,
            notes: String::new(),
            atomic: false,
            wait: true,
            timeout: Duration::from_secs(300),
            force_conflicts: false,
            lock_wait: Duration::ZERO,
        }
    }
}

/// What a revision's templates are told, decided once, under the release lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    /// The revision number it will be recorded as.
    pub number: u32,
    /// Whether it installs the release (no revision yet, or the latest uninstalled); an
    /// upgrade otherwise. Templates see `.Release.IsInstall` and `.Release.IsUpgrade`.
    pub is_install: bool,
}

impl Revision {
    /// The decision for a release with `history` (oldest first): the next number, and
    /// `helm upgrade --install`'s choice: an install when there is no revision or the
    /// latest is uninstalled, an upgrade otherwise, also after a failed first install
    /// (recorded `pending-upgrade`, then `Upgrade complete`, its pre/post-upgrade hooks
    /// run).
    pub fn next(history: &[Release]) -> Revision {
        Revision {
            number: history.last().map_or(1, |r| r.version + 1),
            is_install: history
                .last()
                .is_none_or(|r| r.info.status == Status::Uninstalled),
        }
    }
}

/// A rendered revision: what it applies and what its record keeps.
#[derive(Debug, Clone, Default)]
pub struct RevisionContent {
    /// Plain resources, in install order.
    pub manifests: Vec<Manifest>,
    /// Hooks, in install order: recorded, and run at their events.
    pub hooks: Vec<Manifest>,
    /// Rendered NOTES.txt.
    pub notes: String,
}

/// Renders a revision once its number and kind are decided. Its error text becomes
/// [`Error::Render`]; a caller with its own error type keeps that error aside.
pub type RenderRevision<'a> =
    dyn FnMut(Revision) -> std::result::Result<RevisionContent, String> + Send + 'a;

/// Live progress of an operation, for a caller to show (`Display` words each event on
/// one line). New kinds of events may be added.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Another client holds the release's lease; waiting for it.
    WaitingForLock {
        /// The holder.
        holder: String,
        /// When its lease lapses unless renewed.
        expires: String,
    },
    /// A revision left pending by a client that stopped (its lease expired) was marked
    /// failed, and this operation goes on from there.
    TookOver {
        /// The stale revision.
        revision: u32,
        /// Its status before.
        status: Status,
        /// The client that left it (None: no lease was left).
        holder: Option<String>,
    },
    /// The release has nothing to change: no write was made.
    UpToDate {
        /// The deployed revision.
        revision: u32,
    },
    /// A revision record was written in a pending state.
    Started {
        /// The revision.
        revision: u32,
        /// pending-install, pending-upgrade or pending-rollback.
        status: Status,
    },
    /// An object was applied.
    Applied {
        /// The object.
        object: ObjectRef,
        /// Created, configured, or unchanged (no write).
        change: Change,
    },
    /// An object of the previous revision was deleted.
    Deleted {
        /// The object.
        object: ObjectRef,
    },
    /// An object was left in place because of `helm.sh/resource-policy: keep`.
    Kept {
        /// The object.
        object: ObjectRef,
    },
    /// A workload's readiness changed.
    Workload {
        /// The workload.
        object: ObjectRef,
        /// Ready, waiting or failed.
        readiness: Readiness,
        /// Its figures (`1/2 updated, ...`).
        detail: String,
    },
    /// A hook, the apply or the wait failed and an atomic deploy is restoring this
    /// revision (0: uninstalling the failed first install).
    RollingBack {
        /// The revision restored.
        to: u32,
    },
    /// A hook started or ended.
    Hook {
        /// The event it runs at.
        event: HookEvent,
        /// Its object.
        object: ObjectRef,
        /// `Running`, `Succeeded` or `Failed`.
        phase: String,
    },
}

impl std::fmt::Display for Progress {
    /// One line per event, for a log or a plain terminal (`applied Deployment/web
    /// (created)`, `Deployment/web: ready (2/2 updated)`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::WaitingForLock { holder, expires } => write!(
                f,
                "waiting for {holder}, which is deploying this release (its lease lapses at {expires})"
            ),
            Progress::TookOver {
                revision,
                status,
                holder,
            } => match holder {
                Some(holder) => write!(
                    f,
                    "revision {revision} was left {status} by {holder}: marked failed, going on"
                ),
                None => write!(
                    f,
                    "revision {revision} was left {status} by a client that stopped: marked failed, going on"
                ),
            },
            Progress::UpToDate { revision } => {
                write!(f, "revision {revision} is up to date: nothing to change")
            }
            Progress::Started { revision, status } => write!(f, "revision {revision}: {status}"),
            Progress::Applied { object, change } => {
                let change = match change {
                    Change::Created => "created",
                    Change::Configured => "configured",
                    Change::Unchanged => "unchanged",
                };
                write!(f, "applied {object} ({change})")
            }
            Progress::Deleted { object } => write!(f, "deleted {object}"),
            Progress::Kept { object } => {
                write!(f, "kept {object} (helm.sh/resource-policy: keep)")
            }
            Progress::Workload {
                object,
                readiness,
                detail,
            } => write!(f, "{object}: {} ({detail})", readiness_word(readiness)),
            Progress::RollingBack { to: 0 } => {
                write!(f, "failed (atomic): removing the failed first install")
            }
            Progress::RollingBack { to } => {
                write!(f, "failed (atomic): rolling back to revision {to}")
            }
            Progress::Hook {
                event,
                object,
                phase,
            } => write!(f, "{event} hook {object}: {}", phase.to_lowercase()),
        }
    }
}

fn readiness_word(readiness: &Readiness) -> &'static str {
    match readiness {
        Readiness::Ready => "ready",
        Readiness::Waiting => "waiting",
        Readiness::Failed => "failed",
    }
}

/// The result of a deploy or rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployOutcome {
    /// The revision now deployed.
    pub revision: u32,
    /// Nothing changed: no revision was recorded and no object written.
    pub unchanged: bool,
    /// Objects created, configured and left unchanged by the apply.
    pub created: usize,
    /// Objects changed.
    pub configured: usize,
    /// Objects already as desired.
    pub unchanged_objects: usize,
    /// Objects of the previous revision deleted.
    pub deleted: usize,
    /// The client whose stale pending revision this deploy took over.
    pub took_over: Option<String>,
}

/// What uninstall did.
#[derive(Debug, Clone, PartialEq)]
pub struct UninstallOutcome {
    /// The revision that was current.
    pub revision: u32,
    /// Objects deleted.
    pub deleted: Vec<ObjectRef>,
    /// Objects kept (`helm.sh/resource-policy: keep`).
    pub kept: Vec<ObjectRef>,
}

/// How an uninstall runs: Helm's `helm uninstall` options, with its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UninstallOptions {
    /// Keep the records, the latest marked `uninstalled` (`--keep-history`; default
    /// false: purged). A later install of the release is then its next revision.
    pub keep_history: bool,
    /// Wait until the deleted objects are gone from the server, finalizers done
    /// (`--wait`; default false).
    pub wait: bool,
    /// How long each hook, and the wait, may take (default 5 minutes, Helm's).
    pub timeout: Duration,
}

impl Default for UninstallOptions {
    fn default() -> Self {
        UninstallOptions {
            keep_history: false,
            wait: false,
            timeout: Duration::from_secs(300),
        }
    }
}

/// How a rollback runs: Helm's `helm rollback` options, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackOptions {
    /// The revision to restore (default None: the one before the latest).
    pub revision: Option<u32>,
    /// How long the hooks and the wait for readiness may take (default 5 minutes, Helm's).
    pub timeout: Duration,
    /// Take over fields other field managers own (server-side apply `force`), as after a
    /// `helm upgrade` of the release (default false: such a conflict is an error naming
    /// the manager).
    pub force_conflicts: bool,
}

impl Default for RollbackOptions {
    fn default() -> Self {
        RollbackOptions {
            revision: None,
            timeout: Duration::from_secs(300),
            force_conflicts: false,
        }
    }
}

/// A release's current revision and its workloads' readiness.
#[derive(Debug, Clone)]
pub struct ReleaseStatus {
    /// The latest revision record.
    pub release: Release,
    /// Each waited-for workload with its verdict.
    pub workloads: Vec<(ObjectRef, Verdict)>,
}

/// What an apply would do to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffAction {
    /// Created.
    Create,
    /// Changed (see the fields).
    Update,
    /// Left as it is.
    Unchanged,
    /// Deleted (gone from the release).
    Delete,
    /// Gone from the release but kept (`helm.sh/resource-policy: keep`).
    Keep,
}

/// One object's planned change.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDiff {
    /// The object.
    pub object: ObjectRef,
    /// What happens to it.
    pub action: DiffAction,
    /// The fields that change (for updates; every field for creates).
    pub fields: Vec<FieldChange>,
    /// Why deploykit compared this object itself instead of through the server's dry-run
    /// apply (`dryRun=All`): the server refused dry runs, or the object's namespace or
    /// kind does not exist yet. None when the server answered, or no apply was needed.
    pub fallback: Option<String>,
}

impl std::fmt::Display for ObjectDiff {
    /// One line per object (`+` create, `~` update, `=` unchanged, `-` delete, `!` kept),
    /// then for updates one line per field: `path: live -> desired`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "(absent)".to_string(), Value::to_string)
        };
        match self.action {
            DiffAction::Create => write!(f, "+ {}", self.object),
            DiffAction::Unchanged => write!(f, "= {}", self.object),
            DiffAction::Delete => write!(f, "- {}", self.object),
            DiffAction::Keep => {
                write!(f, "! {} (kept: helm.sh/resource-policy: keep)", self.object)
            }
            DiffAction::Update => {
                write!(f, "~ {}", self.object)?;
                for field in &self.fields {
                    write!(
                        f,
                        "\n    {}: {} -> {}",
                        field.path,
                        value(&field.live),
                        value(&field.desired)
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Internal: the release a diff compares with.
struct DiffTarget {
    name: String,
    namespace: String,
}

/// Internal: one revision to record and apply.
struct Plan {
    name: String,
    namespace: String,
    manifests: Vec<Manifest>,
    /// The manifest the record keeps (Helm's text: every document, `# Source:` lines).
    manifest_text: String,
    hooks: Vec<HookRecord>,
    /// The hook events run before the apply and after the wait.
    events: Option<(HookEvent, HookEvent)>,
    chart: Option<Chart>,
    config: Map<String, Value>,
    notes: String,
    pending: Status,
    pending_description: String,
    success_description: String,
    atomic: bool,
    wait: bool,
    timeout: Duration,
    /// Whose fields the apply takes over.
    take_over: TakeOver,
}

/// Internal: the step of a revision that stopped it (Helm records each differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A pre or post hook failed.
    Hook,
    /// Applying or pruning objects failed.
    Apply,
    /// The objects did not become ready.
    Wait,
    /// The caller cancelled (Ctrl-C), as a cancelled Go context stops Helm 4.
    Cancelled,
}

/// Internal: why a revision's steps stopped.
struct Failure {
    /// Which step.
    step: Step,
    /// What Helm's description says after `Release "x" failed: `.
    cause: String,
    /// The error to return.
    error: Error,
}

/// What Helm 4 records as the cause of a cancelled operation (Go's `context.Canceled`).
const CONTEXT_CANCELED: &str = "context canceled";

impl Failure {
    /// A failed apply or prune, whose error words itself.
    fn of_apply(error: Error) -> Failure {
        Failure {
            step: Step::Apply,
            cause: error.to_string(),
            error,
        }
    }

    /// The caller cancelled during the revision's steps.
    fn cancelled(plan: &Plan, revision: u32) -> Failure {
        Failure {
            step: Step::Cancelled,
            cause: CONTEXT_CANCELED.into(),
            error: Error::Interrupted {
                release: plan.name.clone(),
                revision,
            },
        }
    }

    /// A failed hook, worded as Helm words it for the plan's action (`failed pre-install:
    /// ...` for an install, `pre-upgrade hooks failed: ...` for an upgrade).
    fn of_hook(plan: &Plan, event: HookEvent, error: Error) -> Failure {
        let what = match &error {
            Error::Interrupted { .. } => {
                return Failure {
                    step: Step::Cancelled,
                    cause: CONTEXT_CANCELED.into(),
                    error,
                };
            }
            Error::HookFailed {
                object, diagnosis, ..
            } => format!("hook {object} failed: {}", diagnosis.summary()),
            other => other.to_string(),
        };
        let cause = match plan.pending {
            Status::PendingInstall => format!("failed {event}: {what}"),
            _ => format!("{event} hooks failed: {what}"),
        };
        Failure {
            step: Step::Hook,
            cause,
            error,
        }
    }
}

/// `error` of release `release` revision `revision`, noting that an atomic deploy
/// restored revision `to` (0: removed the release).
fn rolled_back(error: Error, release: &str, revision: u32, to: u32) -> Error {
    match error {
        Error::RolloutFailed {
            release,
            revision,
            diagnosis,
            ..
        } => Error::RolloutFailed {
            release,
            revision,
            diagnosis,
            rolled_back_to: Some(to),
        },
        Error::HookFailed {
            release,
            event,
            object,
            diagnosis,
            ..
        } => Error::HookFailed {
            release,
            event,
            object,
            diagnosis,
            rolled_back_to: Some(to),
        },
        other => Error::RolledBack {
            release: release.to_string(),
            revision,
            cause: Box::new(other),
            rolled_back_to: to,
        },
    }
}

impl Plan {
    /// The failed revision's description, as Helm words it: `Upgrade "x" failed: ...` for
    /// an upgrade, `Rollback "x" failed: ...` for a rollback's apply, `Release "x" failed:
    /// ...` otherwise.
    fn failure_description(&self, step: Step, cause: &str) -> String {
        match (self.pending, step) {
            (Status::PendingUpgrade, _) => format!("Upgrade \"{}\" failed: {cause}", self.name),
            (Status::PendingRollback, Step::Apply) => {
                format!("Rollback \"{}\" failed: {cause}", self.name)
            }
            _ => format!("Release \"{}\" failed: {cause}", self.name),
        }
    }
}

fn parse_sorted(streams: &[String]) -> Result<Vec<Manifest>> {
    let mut manifests = manifest::parse_manifests(streams)?;
    manifests.retain(|m| !m.is_hook());
    manifest::sort_for_install(&mut manifests);
    Ok(manifests)
}

/// The objects of a revision to apply: those holding an object, each checked.
fn applicable(manifests: Vec<Manifest>) -> Result<Vec<Manifest>> {
    let manifests: Vec<Manifest> = manifests.into_iter().filter(|m| !m.is_empty()).collect();
    manifest::check_manifests(&manifests)?;
    Ok(manifests)
}

/// The manifests an object set of a stored revision had.
/// Runs `work` (CPU-bound) without holding up the other tasks of a multi-threaded tokio
/// runtime (`block_in_place` hands this worker's tasks to another). On a current-thread
/// runtime, where that is impossible, or outside tokio, it simply runs.
fn off_the_workers<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|runtime| runtime.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// How long a pending revision with no lease is left to the client that wrote it: Helm's
/// default `--timeout`, the longest a Helm operation runs unless told otherwise.
pub const FOREIGN_PENDING_GRACE: Duration = Duration::from_secs(5 * 60);

/// When a pending revision written at `written` (RFC 3339) without a lease counts as
/// abandoned; None when the time cannot be read (then it already does).
fn foreign_pending_until(written: &str) -> Option<chrono::DateTime<Utc>> {
    let written = chrono::DateTime::parse_from_rfc3339(written).ok()?;
    Some(written.with_timezone(&Utc) + chrono::Duration::from_std(FOREIGN_PENDING_GRACE).ok()?)
}

fn stored_manifests(release: &Release) -> Vec<Manifest> {
    manifest::parse_manifests(std::slice::from_ref(&release.manifest)).unwrap_or_default()
}

impl Cluster {
    /// Installs or upgrades a release from rendered manifests: ensure the namespace, take
    /// the lease, record a pending revision, apply in install order, prune, wait, record
    /// the outcome.
    ///
    /// Re-deploying exactly what is deployed writes nothing (see [`crate::compare`]).
    pub async fn deploy(
        &self,
        request: &ReleaseRequest,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<DeployOutcome> {
        let manifests = parse_sorted(&request.manifests)?;
        let notes = request.notes.clone();
        let mut render = move |_: Revision| {
            Ok(RevisionContent {
                manifests: manifests.clone(),
                hooks: Vec::new(),
                notes: notes.clone(),
            })
        };
        self.deploy_rendered(request, &mut render, progress, cancel)
            .await
    }

    /// Installs or upgrades a release whose content depends on its revision: `render` is
    /// called with the revision number and install-or-upgrade decided from the history.
    /// The decision is taken again under the release lease and, only when another client
    /// changed the history meanwhile, `render` is called a second time. `request.manifests`
    /// and `request.notes` are not used. On a multi-threaded tokio runtime `render` runs
    /// in `block_in_place`, so the program's other tasks go on while it works.
    pub async fn deploy_rendered(
        &self,
        request: &ReleaseRequest,
        render: &mut RenderRevision<'_>,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<DeployOutcome> {
        // The record keeps every document (comment-only ones too, as Helm does); only
        // those holding an object are applied.
        // Rendering a chart and parsing its manifests is CPU work: it runs off the async
        // workers, so other tasks of the program (a progress display, a server) go on.
        let mut render = |revision: Revision| -> Result<(RevisionContent, String)> {
            off_the_workers(|| {
                let mut content = render(revision).map_err(|reason| Error::Render {
                    release: request.name.clone(),
                    reason,
                })?;
                let text = manifest::release_manifest(&content.manifests);
                content.manifests = applicable(std::mem::take(&mut content.manifests))?;
                Ok((content, text))
            })
        };
        if request.create_namespace {
            self.ensure_namespace(&request.namespace).await?;
        }
        let history = self.history(&request.name, &request.namespace).await?;
        let guessed = Revision::next(&history);
        let (mut content, mut manifest_text) = render(guessed)?;
        if let Some(latest) = history.last() {
            let same = latest.info.status == Status::Deployed
                && latest.manifest == manifest_text
                && latest.config == request.values
                && latest
                    .chart
                    .as_ref()
                    .is_some_and(|chart| chart.same_content(&request.chart));
            if same
                && self
                    .all_unchanged(&content.manifests, &request.name, &request.namespace)
                    .await?
            {
                progress(Progress::UpToDate {
                    revision: latest.version,
                });
                if request.wait {
                    self.wait_or_fail(
                        &content.manifests,
                        &request.name,
                        &request.namespace,
                        request.timeout,
                        latest.version,
                        progress,
                        cancel,
                    )
                    .await?;
                }
                return Ok(DeployOutcome {
                    revision: latest.version,
                    unchanged: true,
                    created: 0,
                    configured: 0,
                    unchanged_objects: content.manifests.len(),
                    deleted: 0,
                    took_over: None,
                });
            }
        }
        let release = (request.name.as_str(), request.namespace.as_str());
        let wait = request.lock_wait;
        self.with_lease(
            release,
            wait,
            progress,
            |expired_holder, progress| async move {
                let mut history = self.history(&request.name, &request.namespace).await?;
                let took_over = self
                    .take_over_stale(&mut history, expired_holder, progress)
                    .await?;
                let decided = Revision::next(&history);
                if decided != guessed {
                    (content, manifest_text) = render(decided)?;
                }
                let install = decided.is_install;
                let plan = Plan {
                    name: request.name.clone(),
                    namespace: request.namespace.clone(),
                    manifests: content.manifests,
                    manifest_text,
                    hooks: content
                        .hooks
                        .iter()
                        .map(HookRecord::from_manifest)
                        .collect(),
                    events: Some(if install {
                        (HookEvent::PreInstall, HookEvent::PostInstall)
                    } else {
                        (HookEvent::PreUpgrade, HookEvent::PostUpgrade)
                    }),
                    chart: Some(request.chart.clone()),
                    config: request.values.clone(),
                    notes: content.notes,
                    pending: if install {
                        Status::PendingInstall
                    } else {
                        Status::PendingUpgrade
                    },
                    pending_description: if install {
                        "Initial install underway".into()
                    } else {
                        "Preparing upgrade".into()
                    },
                    success_description: if install {
                        "Install complete".into()
                    } else {
                        "Upgrade complete".into()
                    },
                    atomic: request.atomic,
                    wait: request.wait,
                    timeout: request.timeout,
                    take_over: TakeOver::after(
                        history
                            .iter()
                            .rev()
                            .find(|r| r.info.status == Status::Deployed)
                            .or(history.last()),
                        request.force_conflicts,
                    ),
                };
                let mut outcome = self.run(plan, &history, progress, cancel).await?;
                outcome.took_over = took_over;
                Ok(outcome)
            },
        )
        .await
    }

    async fn all_unchanged(
        &self,
        manifests: &[Manifest],
        release: &str,
        namespace: &str,
    ) -> Result<bool> {
        for manifest in manifests {
            let resolved = self
                .resolve(&manifest.reference, namespace, Duration::ZERO)
                .await;
            let Ok(resolved) = resolved else {
                return Ok(false);
            };
            let desired = Self::desired(
                manifest,
                (release, namespace),
                resolved.namespace.as_deref(),
            );
            match self.live(&manifest.reference, namespace).await? {
                Some(live) if compare::unchanged(&desired, &live) => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    async fn wait_or_fail(
        &self,
        manifests: &[Manifest],
        release: &str,
        namespace: &str,
        timeout: Duration,
        revision: u32,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<()> {
        match self
            .wait_ready(manifests, namespace, timeout, progress, cancel)
            .await
        {
            Ok(()) => Ok(()),
            Err(WaitFailure::Interrupted) => Err(Error::Interrupted {
                release: release.into(),
                revision,
            }),
            Err(WaitFailure::Failed(diagnosis)) => Err(Error::RolloutFailed {
                release: release.into(),
                revision,
                diagnosis: Box::new(diagnosis),
                rolled_back_to: None,
            }),
            Err(WaitFailure::Api(e)) => Err(e),
        }
    }

    /// Marks a revision left pending by a stopped client as failed. A pending revision
    /// that no lease covered is only taken for abandoned once it is older than
    /// [`FOREIGN_PENDING_GRACE`]: until then its writer (Helm holds no lease) may be at work.
    async fn take_over_stale(
        &self,
        history: &mut [Release],
        expired_holder: Option<String>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Option<String>> {
        let Some(latest) = history.last_mut() else {
            return Ok(None);
        };
        if !latest.info.status.is_pending() {
            return Ok(None);
        }
        let status = latest.info.status;
        if expired_holder.is_none()
            && let Some(until) = foreign_pending_until(&latest.info.last_deployed)
            && Utc::now() < until
        {
            return Err(Error::PendingElsewhere {
                release: latest.name.clone(),
                revision: latest.version,
                status,
                since: latest.info.last_deployed.clone(),
                until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
        }
        let who = expired_holder
            .clone()
            .map(|h| format!("{h} stopped (its lease expired)"))
            .unwrap_or_else(|| "its client stopped (no lease held)".into());
        latest.info.status = Status::Failed;
        latest.info.description = format!(
            "{status} interrupted: {who}; taken over by {}",
            self.options.identity
        );
        self.update_record(latest).await?;
        progress(Progress::TookOver {
            revision: latest.version,
            status,
            holder: expired_holder.clone(),
        });
        Ok(expired_holder)
    }

    /// Records, applies, prunes, waits and finalizes one revision (the lease is held).
    fn run<'a>(
        &'a self,
        plan: Plan,
        history: &'a [Release],
        progress: &'a mut (dyn FnMut(Progress) + Send),
        cancel: &'a CancellationToken,
    ) -> futures::future::BoxFuture<'a, Result<DeployOutcome>> {
        Box::pin(async move {
            let now = Utc::now();
            let revision = history.last().map_or(1, |r| r.version + 1);
            let mut record = Release::new(
                &plan.name,
                &plan.namespace,
                revision,
                plan.pending,
                &plan.pending_description,
                now,
            );
            if let Some(first) = history.first() {
                record.info.first_deployed = first.info.first_deployed.clone();
            }
            record.chart = plan.chart.clone();
            record.config = plan.config.clone();
            record.manifest = plan.manifest_text.clone();
            record.info.notes = plan.notes.clone();
            record.hooks = plan.hooks.clone();
            if plan.pending == Status::PendingInstall {
                self.replace_uninstalled(history).await?;
            }
            self.create_record(&record).await?;
            progress(Progress::Started {
                revision,
                status: plan.pending,
            });
            let result = self
                .apply_and_wait(&plan, &mut record, history, progress, cancel)
                .await;
            let failure = match result {
                Ok(outcome) => {
                    self.finish(&plan, &mut record, history).await?;
                    return Ok(outcome);
                }
                Err(failure) => failure,
            };
            if plan.pending == Status::PendingRollback {
                match failure.step {
                    // Helm 4's `Rollback.Run` returns from a failed hook before recording
                    // anything: the revision stays `pending-rollback`.
                    Step::Hook => return Err(failure.error),
                    // A failed apply supersedes the release's latest revision.
                    Step::Apply => self.supersede_latest(history).await?,
                    Step::Wait | Step::Cancelled => {}
                }
            }
            let description = plan.failure_description(failure.step, &failure.cause);
            let error = self.fail(&mut record, &description, failure.error).await;
            if !plan.atomic {
                return Err(error);
            }
            // Undone as Helm's rollback-on-failure undoes a cancelled operation too: with
            // a token of its own, so the cancellation that stopped the revision does not
            // stop its undoing (the timeout bounds it).
            match self
                .undo(&plan, progress, &CancellationToken::new())
                .await?
            {
                Some(to) => Err(rolled_back(error, &plan.name, revision, to)),
                None => Err(error),
            }
        })
    }

    /// The steps of a revision that can fail: its pre hooks, the apply, the prune, the
    /// wait and its post hooks. A failure carries the words Helm records for it.
    async fn apply_and_wait(
        &self,
        plan: &Plan,
        record: &mut Release,
        history: &[Release],
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> std::result::Result<DeployOutcome, Failure> {
        if let Some((pre, _)) = plan.events {
            self.run_hooks(record, pre, plan.timeout, progress, cancel)
                .await
                .map_err(|error| Failure::of_hook(plan, pre, error))?;
        }
        let mut outcome = DeployOutcome {
            revision: record.version,
            unchanged: false,
            created: 0,
            configured: 0,
            unchanged_objects: 0,
            deleted: 0,
            took_over: None,
        };
        for manifest in &plan.manifests {
            if cancel.is_cancelled() {
                return Err(Failure::cancelled(plan, record.version));
            }
            let change = self
                .apply_one(manifest, &plan.name, &plan.namespace, plan.take_over)
                .await
                .map_err(Failure::of_apply)?;
            match change {
                Change::Created => outcome.created += 1,
                Change::Configured => outcome.configured += 1,
                Change::Unchanged => outcome.unchanged_objects += 1,
            }
            progress(Progress::Applied {
                object: manifest.reference.clone(),
                change,
            });
        }
        outcome.deleted = self
            .prune(plan, history, progress)
            .await
            .map_err(Failure::of_apply)?;
        if plan.wait {
            self.wait_ready(
                &plan.manifests,
                &plan.namespace,
                plan.timeout,
                progress,
                cancel,
            )
            .await
            .map_err(|failure| match failure {
                WaitFailure::Interrupted => Failure::cancelled(plan, record.version),
                WaitFailure::Api(error) => Failure {
                    step: Step::Wait,
                    cause: error.to_string(),
                    error,
                },
                WaitFailure::Failed(diagnosis) => Failure {
                    step: Step::Wait,
                    cause: diagnosis.summary(),
                    error: Error::RolloutFailed {
                        release: plan.name.clone(),
                        revision: record.version,
                        diagnosis: Box::new(diagnosis),
                        rolled_back_to: None,
                    },
                },
            })?;
        }
        if let Some((_, post)) = plan.events {
            self.run_hooks(record, post, plan.timeout, progress, cancel)
                .await
                .map_err(|error| Failure::of_hook(plan, post, error))?;
        }
        Ok(outcome)
    }

    /// Deletes what the previous revisions had and this one has not (keeping objects
    /// marked `helm.sh/resource-policy: keep`); the number deleted.
    async fn prune(
        &self,
        plan: &Plan,
        history: &[Release],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<usize> {
        let mut previous: Vec<Manifest> = history
            .iter()
            .rev()
            .find(|r| r.info.status == Status::Deployed)
            .map(stored_manifests)
            .unwrap_or_default();
        if let Some(latest) = history
            .last()
            .filter(|r| r.info.status != Status::Uninstalled)
        {
            previous.extend(stored_manifests(latest));
        }
        let (delete, kept) = manifest::prune_set(&previous, &plan.manifests, &plan.namespace);
        for manifest in kept {
            progress(Progress::Kept {
                object: manifest.reference.clone(),
            });
        }
        let mut deleted = 0;
        for manifest in delete {
            if self
                .delete_one(&manifest.reference, &plan.namespace)
                .await?
            {
                deleted += 1;
                progress(Progress::Deleted {
                    object: manifest.reference.clone(),
                });
            }
        }
        Ok(deleted)
    }

    /// Records the revision deployed and supersedes every earlier deployed one (Helm's
    /// rollback does so; they keep their descriptions, "Install complete" and the like).
    async fn finish(&self, plan: &Plan, record: &mut Release, history: &[Release]) -> Result<()> {
        for previous in history.iter().filter(|r| r.info.status == Status::Deployed) {
            let mut previous = previous.clone();
            previous.info.status = Status::Superseded;
            self.update_record(&previous).await?;
        }
        record.info.status = Status::Deployed;
        record.info.description = plan.success_description.clone();
        record.info.last_deployed = crate::release::go_time(Utc::now());
        self.update_record(record).await
    }

    /// An install over a release uninstalled with its history kept supersedes that
    /// revision, as Helm's `install --replace` does.
    async fn replace_uninstalled(&self, history: &[Release]) -> Result<()> {
        let Some(latest) = history
            .last()
            .filter(|r| r.info.status == Status::Uninstalled)
        else {
            return Ok(());
        };
        let mut latest = latest.clone();
        latest.info.status = Status::Superseded;
        latest.info.description = "superseded by new release".into();
        self.update_record(&latest).await
    }

    /// Marks the latest revision before a rollback superseded, as Helm's rollback does when
    /// its apply fails.
    async fn supersede_latest(&self, history: &[Release]) -> Result<()> {
        let Some(latest) = history.last() else {
            return Ok(());
        };
        let mut latest = latest.clone();
        latest.info.status = Status::Superseded;
        self.update_record(&latest).await
    }

    /// Atomic (Helm's rollback-on-failure): a failed install is uninstalled (its delete
    /// hooks run, its records go: `Some(0)`); a failed upgrade rolls back to the latest
    /// revision that was deployed (as a new revision, running the rollback hooks), or,
    /// when none ever was (an upgrade of a failed install), is left failed as Helm leaves
    /// it (`None`).
    async fn undo(
        &self,
        plan: &Plan,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<Option<u32>> {
        if plan.pending == Status::PendingInstall {
            progress(Progress::RollingBack { to: 0 });
            let options = UninstallOptions {
                timeout: plan.timeout,
                ..UninstallOptions::default()
            };
            self.uninstall_locked(&plan.name, &plan.namespace, &options, progress)
                .await?;
            return Ok(Some(0));
        }
        let history = self.history(&plan.name, &plan.namespace).await?;
        let Some(target) = history
            .iter()
            .filter(|r| matches!(r.info.status, Status::Deployed | Status::Superseded))
            .max_by_key(|r| r.version)
        else {
            return Ok(None);
        };
        progress(Progress::RollingBack { to: target.version });
        let rollback = self.rollback_plan(target, plan.timeout, plan.take_over)?;
        self.run(rollback, &history, progress, cancel).await?;
        Ok(Some(target.version))
    }

    fn rollback_plan(
        &self,
        target: &Release,
        timeout: Duration,
        take_over: TakeOver,
    ) -> Result<Plan> {
        let mut manifests = manifest::parse_manifests(std::slice::from_ref(&target.manifest))?;
        manifest::sort_for_install(&mut manifests);
        Ok(Plan {
            name: target.name.clone(),
            namespace: target.namespace.clone(),
            manifests,
            manifest_text: target.manifest.clone(),
            hooks: target
                .hooks
                .iter()
                .map(|h| HookRecord {
                    last_run: Default::default(),
                    ..h.clone()
                })
                .collect(),
            events: Some((HookEvent::PreRollback, HookEvent::PostRollback)),
            chart: target.chart.clone(),
            config: target.config.clone(),
            notes: target.info.notes.clone(),
            pending: Status::PendingRollback,
            pending_description: format!("Rollback to {}", target.version),
            success_description: format!("Rollback to {}", target.version),
            atomic: false,
            wait: true,
            timeout,
            take_over,
        })
    }

    /// Records the revision failed and returns `error` (recording problems are secondary).
    async fn fail(&self, record: &mut Release, description: &str, error: Error) -> Error {
        record.info.status = Status::Failed;
        record.info.description = description.to_string();
        let _ = self.update_record(record).await;
        error
    }

    /// Rolls back to `options.revision` (default: the one before the latest) by
    /// re-applying its stored manifest as a new revision, as `helm rollback` does.
    pub async fn rollback(
        &self,
        name: &str,
        namespace: &str,
        options: &RollbackOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<DeployOutcome> {
        let RollbackOptions {
            revision,
            timeout,
            force_conflicts,
        } = *options;
        let release = (name, namespace);
        self.with_lease(
            release,
            Duration::ZERO,
            progress,
            |expired_holder, progress| async move {
                let mut history = self.history(name, namespace).await?;
                let latest = history
                    .last()
                    .ok_or_else(|| Error::ReleaseNotFound {
                        release: name.into(),
                        namespace: namespace.into(),
                    })?
                    .version;
                let wanted = revision.unwrap_or(latest.saturating_sub(1));
                let target = history
                    .iter()
                    .find(|r| r.version == wanted)
                    .cloned()
                    .ok_or(Error::RevisionNotFound {
                        release: name.into(),
                        revision: wanted,
                    })?;
                let took_over = self
                    .take_over_stale(&mut history, expired_holder, progress)
                    .await?;
                // The fields belong to whoever applied the latest revision.
                let take_over = TakeOver::after(history.last(), force_conflicts);
                let plan = self.rollback_plan(&target, timeout, take_over)?;
                let mut outcome = self.run(plan, &history, progress, cancel).await?;
                outcome.took_over = took_over;
                Ok(outcome)
            },
        )
        .await
    }

    async fn remove_objects(
        &self,
        manifests: &[Manifest],
        namespace: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(Vec<ObjectRef>, Vec<ObjectRef>)> {
        let mut ordered: Vec<&Manifest> = manifests.iter().collect();
        sort_by_kind(&mut ordered, UNINSTALL_ORDER, |m| m.reference.kind.as_str());
        let (mut deleted, mut kept) = (Vec::new(), Vec::new());
        for manifest in ordered {
            if manifest.keep() {
                progress(Progress::Kept {
                    object: manifest.reference.clone(),
                });
                kept.push(manifest.reference.clone());
            } else if self.delete_one(&manifest.reference, namespace).await? {
                progress(Progress::Deleted {
                    object: manifest.reference.clone(),
                });
                deleted.push(manifest.reference.clone());
            }
        }
        Ok((deleted, kept))
    }

    /// Deletes the release's objects (except those marked keep) and its records, running
    /// its pre-delete and post-delete hooks (each given Helm's default 5 minutes).
    pub async fn uninstall(
        &self,
        name: &str,
        namespace: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<UninstallOutcome> {
        self.uninstall_with(name, namespace, &UninstallOptions::default(), progress)
            .await
    }

    /// As [`Cluster::uninstall`], with Helm's `helm uninstall` options: keep the history
    /// (`--keep-history`), wait for the objects to be gone (`--wait`), the timeout.
    pub async fn uninstall_with(
        &self,
        name: &str,
        namespace: &str,
        options: &UninstallOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<UninstallOutcome> {
        self.with_lease(
            (name, namespace),
            Duration::ZERO,
            progress,
            |_, progress| self.uninstall_locked(name, namespace, options, progress),
        )
        .await
    }

    /// Uninstalls with the lease held, as Helm 4's `Uninstall.Run`: pre-delete hooks, the
    /// objects, the wait for them to be gone, post-delete hooks (each hook given the
    /// timeout), then the records: purged, or kept with the latest `uninstalled`. As Helm,
    /// a failed wait or post-delete hook still lets the records go, and is reported after.
    async fn uninstall_locked(
        &self,
        name: &str,
        namespace: &str,
        options: &UninstallOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<UninstallOutcome> {
        let history = self.history(name, namespace).await?;
        let mut latest = history
            .last()
            .cloned()
            .ok_or_else(|| Error::ReleaseNotFound {
                release: name.into(),
                namespace: namespace.into(),
            })?;
        if latest.info.status == Status::Uninstalled {
            return self.uninstall_again(&history, options).await;
        }
        latest.info.status = Status::Uninstalling;
        latest.info.deleted = crate::release::go_time(Utc::now());
        latest.info.description = "Deletion in progress (or silently failed)".into();
        self.update_record(&latest).await?;
        let cancel = CancellationToken::new();
        self.run_hooks(
            &mut latest,
            HookEvent::PreDelete,
            options.timeout,
            progress,
            &cancel,
        )
        .await?;
        let (deleted, kept) = self
            .remove_objects(&stored_manifests(&latest), namespace, progress)
            .await
            .map_err(|cause| Error::UninstallStopped {
                release: name.into(),
                cause: Box::new(cause),
            })?;
        let mut errors = Vec::new();
        if options.wait
            && let Err(error) = self
                .wait_deleted(name, &deleted, namespace, options.timeout)
                .await
        {
            errors.push(error);
        }
        if let Err(error) = self
            .run_hooks(
                &mut latest,
                HookEvent::PostDelete,
                options.timeout,
                progress,
                &cancel,
            )
            .await
        {
            errors.push(error);
        }
        latest.info.status = Status::Uninstalled;
        latest.info.description = "Uninstallation complete".into();
        if options.keep_history {
            self.update_record(&latest).await?;
            self.supersede_deployed(&history, latest.version).await?;
        } else {
            for record in &history {
                self.delete_record(record).await?;
            }
        }
        if let Some(error) = errors.into_iter().next() {
            return Err(error);
        }
        Ok(UninstallOutcome {
            revision: latest.version,
            deleted,
            kept,
        })
    }

    /// An uninstall of a release already uninstalled with its history kept: Helm purges
    /// the records, or, asked to keep them again, refuses.
    async fn uninstall_again(
        &self,
        history: &[Release],
        options: &UninstallOptions,
    ) -> Result<UninstallOutcome> {
        let Some(latest) = history.last() else {
            return Err(Error::Record {
                record: "release history".into(),
                reason: "empty".into(),
            });
        };
        if options.keep_history {
            return Err(Error::AlreadyUninstalled {
                release: latest.name.clone(),
                namespace: latest.namespace.clone(),
            });
        }
        for record in history {
            self.delete_record(record).await?;
        }
        Ok(UninstallOutcome {
            revision: latest.version,
            deleted: Vec::new(),
            kept: Vec::new(),
        })
    }

    /// Marks every deployed revision but `except` superseded (Helm's uninstall with
    /// `--keep-history` does so).
    async fn supersede_deployed(&self, history: &[Release], except: u32) -> Result<()> {
        for record in history
            .iter()
            .filter(|r| r.version != except && r.info.status == Status::Deployed)
        {
            let mut record = record.clone();
            record.info.status = Status::Superseded;
            self.update_record(&record).await?;
        }
        Ok(())
    }

    /// Waits until every object in `deleted` is gone from the server (Helm's
    /// `WaitForDelete`): objects with finalizers stay, marked for deletion, until their
    /// controllers let them go.
    async fn wait_deleted(
        &self,
        release: &str,
        deleted: &[ObjectRef],
        namespace: &str,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut remaining = Vec::new();
            for reference in deleted {
                if self.live(reference, namespace).await?.is_some() {
                    remaining.push(reference.clone());
                }
            }
            if remaining.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::DeletionTimedOut {
                    release: release.into(),
                    remaining,
                    timeout,
                });
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    /// The latest revision and its workloads' readiness.
    pub async fn status(&self, name: &str, namespace: &str) -> Result<ReleaseStatus> {
        let release =
            self.history(name, namespace)
                .await?
                .pop()
                .ok_or_else(|| Error::ReleaseNotFound {
                    release: name.into(),
                    namespace: namespace.into(),
                })?;
        let mut workloads = Vec::new();
        for manifest in stored_manifests(&release) {
            if let Some(found) = self.verdict_of(&manifest, namespace).await? {
                workloads.push(found);
            }
        }
        Ok(ReleaseStatus { release, workloads })
    }

    /// What deploying `request` would change, object by object (reads only).
    pub async fn diff(&self, request: &ReleaseRequest) -> Result<Vec<ObjectDiff>> {
        let manifests = parse_sorted(&request.manifests)?;
        self.diff_manifests(&request.name, &request.namespace, manifests)
            .await
    }

    /// What deploying `manifests` (plain resources) as release `name` in `namespace`
    /// would change, object by object (reads only).
    pub async fn diff_manifests(
        &self,
        name: &str,
        namespace: &str,
        manifests: Vec<Manifest>,
    ) -> Result<Vec<ObjectDiff>> {
        let mut manifests = applicable(manifests)?;
        manifests.retain(|m| !m.is_hook());
        manifest::sort_for_install(&mut manifests);
        let request = DiffTarget {
            name: name.to_string(),
            namespace: namespace.to_string(),
        };
        let history = self
            .history(&request.name, &request.namespace)
            .await
            .unwrap_or_default();
        let previous: Vec<Manifest> = history
            .iter()
            .rev()
            .find(|r| r.info.status == Status::Deployed)
            .map(stored_manifests)
            .unwrap_or_default();
        let hash_path = format!("metadata.annotations.{APPLIED_HASH}");
        let mut diffs = Vec::new();
        // Set once the server refuses a dry run for a reason that holds for every object
        // (no dry-run support, no right to patch): the rest are compared here.
        let mut refused: Option<String> = None;
        for manifest in &manifests {
            let resolved = match self
                .resolve(&manifest.reference, &request.namespace, Duration::ZERO)
                .await
            {
                Ok(resolved) => Some(resolved),
                Err(Error::UnknownKind { .. }) => None,
                Err(e) => return Err(e),
            };
            let namespace = match &resolved {
                Some(resolved) => resolved.namespace.clone(),
                None => manifest
                    .reference
                    .namespace
                    .clone()
                    .or(Some(request.namespace.clone())),
            };
            let desired = Self::desired(
                manifest,
                (&request.name, &request.namespace),
                namespace.as_deref(),
            );
            let live = self.live(&manifest.reference, &request.namespace).await?;
            if live
                .as_ref()
                .is_some_and(|live| compare::unchanged(&desired, live))
            {
                diffs.push(ObjectDiff {
                    object: manifest.reference.clone(),
                    action: DiffAction::Unchanged,
                    fields: Vec::new(),
                    fallback: None,
                });
                continue;
            }
            let answer = match (&resolved, &refused) {
                (_, Some(reason)) => Err(reason.clone()),
                (None, None) => Err(format!(
                    "the cluster has no kind {} in {} yet",
                    manifest.reference.kind, manifest.reference.api_version
                )),
                (Some(resolved), None) => {
                    match self
                        .dry_run_apply(resolved, &manifest.reference, &desired)
                        .await?
                    {
                        DryRun::Answered(answer) => Ok(answer),
                        DryRun::ObjectRefused(reason) => Err(reason),
                        DryRun::ServerRefused(reason) => {
                            refused = Some(reason.clone());
                            Err(reason)
                        }
                    }
                }
            };
            let (action, mut fields) = match &live {
                None => (
                    DiffAction::Create,
                    compare::field_changes(&desired, &Value::Null),
                ),
                Some(live) => match &answer {
                    Ok(answer) => (DiffAction::Update, compare::dry_run_changes(live, answer)),
                    Err(_) => {
                        let mut fields = compare::field_changes(&desired, live);
                        let identity = manifest.reference.identity(&request.namespace);
                        if let Some(before) = previous
                            .iter()
                            .find(|p| p.reference.identity(&request.namespace) == identity)
                        {
                            let before = Self::desired(
                                before,
                                (&request.name, &request.namespace),
                                namespace.as_deref(),
                            );
                            fields.extend(compare::removed_fields(&before, &desired, live));
                        }
                        (DiffAction::Update, fields)
                    }
                },
            };
            fields.retain(|f| f.path != hash_path);
            let action = if action == DiffAction::Update && fields.is_empty() {
                DiffAction::Unchanged
            } else {
                action
            };
            diffs.push(ObjectDiff {
                object: manifest.reference.clone(),
                action,
                fields,
                fallback: answer.err(),
            });
        }
        let (delete, kept) = manifest::prune_set(&previous, &manifests, &request.namespace);
        diffs.extend(delete.into_iter().map(|m| ObjectDiff {
            object: m.reference.clone(),
            action: DiffAction::Delete,
            fields: Vec::new(),
            fallback: None,
        }));
        diffs.extend(kept.into_iter().map(|m| ObjectDiff {
            object: m.reference.clone(),
            action: DiffAction::Keep,
            fields: Vec::new(),
            fallback: None,
        }));
        Ok(diffs)
    }
}
