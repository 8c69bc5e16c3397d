//! The I/O side: a connected cluster and the calls deploykit makes on it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Namespace, Node, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::{Value, json};

use crate::compare::{self, APPLIED_HASH};
use crate::connect::{self, ConnectOptions};
use crate::error::{Error, Result};
use crate::lease::{LeaseState, lease_name, lease_state};
use crate::manifest::{Manifest, ObjectRef};
use crate::ops::Progress;
use crate::release::{self, Release};

/// The field manager deploykit applies with.
pub const FIELD_MANAGER: &str = "deploykit";

/// Tunables of a [`Cluster`]; the defaults suit real clusters, tests shorten them.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// How often the wait polls workloads (at least [`MIN_POLL_INTERVAL`]: a shorter one
    /// is taken as that, so that a zero does not flood the API server).
    pub poll_interval: Duration,
    /// How long a lease lasts unless renewed (renewed every third of it). Kept as whole
    /// seconds from 1 to `i32::MAX`, as the Lease object stores it.
    pub lease_duration: Duration,
    /// Who this client is in leases (default: `deploykit@HOST pid N #k`).
    pub identity: String,
}

/// The shortest [`ClusterOptions::poll_interval`] a cluster uses.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

impl ClusterOptions {
    /// These options within the bounds the fields document.
    fn bounded(self) -> ClusterOptions {
        let seconds = self.lease_duration.as_secs().clamp(1, i32::MAX as u64);
        ClusterOptions {
            poll_interval: self.poll_interval.max(MIN_POLL_INTERVAL),
            lease_duration: Duration::from_secs(seconds),
            identity: self.identity,
        }
    }

    /// The lease duration as the Lease object's `leaseDurationSeconds`.
    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }
}

static CLIENTS: AtomicU64 = AtomicU64::new(0);

impl Default for ClusterOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .unwrap_or_else(|| "localhost".into());
        ClusterOptions {
            poll_interval: Duration::from_secs(2),
            lease_duration: Duration::from_secs(30),
            identity: format!(
                "deploykit@{} pid {} #{}",
                host.trim(),
                std::process::id(),
                CLIENTS.fetch_add(1, Ordering::Relaxed) + 1
            ),
        }
    }
}

/// A reachable cluster: a kube client for one context.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) client: Client,
    context: String,
    server: String,
    default_namespace: String,
    pub(crate) options: ClusterOptions,
    kinds: Arc<Mutex<KindCache>>,
}

/// Shows the context, server, default namespace and options (not the client, which holds
/// the credentials).
impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("default_namespace", &self.default_namespace)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Connects with `options` and checks that the API server answers.
///
/// Errors name the context and server and say what to do (`minikube start`, switch
/// context, refresh credentials).
pub async fn connect(options: ConnectOptions) -> Result<Cluster> {
    // When a build enables several rustls providers (feature unification in a workspace),
    // rustls cannot pick one by itself: choose aws-lc-rs (rustls' default; its ring
    // provider is deprecated), unless the process already chose.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (config, context, server) = connect::resolve(&options).await?;
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| Error::Unreachable {
        context: context.clone(),
        server: server.clone(),
        reason: e.to_string(),
        fix: connect::reachability_fix(&context, &server, connect::classify(&e)),
    })?;
    let timeout = options.timeout.unwrap_or(Duration::from_secs(5));
    let answer = tokio::time::timeout(timeout, client.apiserver_version()).await;
    let failure = match answer {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some((e.to_string(), connect::classify(&e))),
        Err(_) => Some((
            format!("no answer within {}s", timeout.as_secs()),
            connect::Failure::NoAnswer,
        )),
    };
    if let Some((reason, failure)) = failure {
        return Err(Error::Unreachable {
            fix: connect::reachability_fix(&context, &server, failure),
            context,
            server,
            reason,
        });
    }
    Ok(Cluster {
        client,
        context,
        server,
        default_namespace,
        options: ClusterOptions::default(),
        kinds: Arc::default(),
    })
}

impl Cluster {
    /// A cluster from a client the caller built (its own config, middleware or test
    /// transport), checked to answer. Errors name `context`, the name the caller gives it.
    pub async fn from_client(client: Client, context: &str) -> Result<Cluster> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let default_namespace = client.default_namespace().to_string();
        client
            .apiserver_version()
            .await
            .map_err(|e| Error::Unreachable {
                context: context.to_string(),
                server: "(the client's)".into(),
                reason: e.to_string(),
                fix: connect::reachability_fix(context, "(the client's)", connect::classify(&e)),
            })?;
        Ok(Cluster {
            client,
            context: context.to_string(),
            server: "(the client's)".into(),
            default_namespace,
            options: ClusterOptions::default(),
            kinds: Arc::default(),
        })
    }
}

pub(crate) fn api_error(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Api {
        action,
        source: Box::new(source),
    }
}

pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(response) if response.code == code)
}

/// Discovered kinds: (group, version, kind) to the resource and whether it is namespaced.
type KindCache = HashMap<(String, String, String), (ApiResource, bool)>;

/// Where an object lives once its kind is known.
pub(crate) struct Resolved {
    pub api: Api<DynamicObject>,
    pub namespace: Option<String>,
}

impl Cluster {
    /// Replaces the tunables (poll interval, lease duration, identity), each brought
    /// within the bounds [`ClusterOptions`] documents.
    pub fn with_options(mut self, options: ClusterOptions) -> Self {
        self.options = options.bounded();
        self
    }

    /// The kube context in use.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The namespace the context names (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Creates the namespace unless it exists (a read only when it does), labelled
    /// `name: <namespace>` as Helm's `--create-namespace` labels it.
    pub async fn ensure_namespace(&self, namespace: &str) -> Result<bool> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        if api
            .get_opt(namespace)
            .await
            .map_err(api_error(format!("reading namespace {namespace}")))?
            .is_some()
        {
            return Ok(false);
        }
        let object = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.into()),
                labels: Some([("name".to_string(), namespace.to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => Ok(true),
            Err(e) if is_status(&e, 409) => Ok(false),
            Err(e) => Err(api_error(format!("creating namespace {namespace}"))(e)),
        }
    }

    /// Creates or updates a Secret from its object (`v1` `Secret` with `metadata.name`,
    /// `metadata.namespace` and `data`, as deploykit-secret's `KubeSecret::to_manifest`
    /// makes it) by server-side apply, taking over fields other managers own. Nothing is
    /// written when the live Secret's `data` is already the object's. Errors name the
    /// Secret and its keys, never its values.
    pub async fn apply_secret(&self, secret: &Value) -> Result<Change> {
        let field = |path: &str| secret.pointer(path).and_then(Value::as_str);
        let (Some(name), Some(namespace)) = (field("/metadata/name"), field("/metadata/namespace"))
        else {
            return Err(Error::Manifest {
                source_name: "the Secret given to apply_secret".into(),
                reason: "metadata.name and metadata.namespace must be strings".into(),
            });
        };
        let keys: Vec<&str> = secret["data"]
            .as_object()
            .map(|data| data.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let live = api
            .get_opt(name)
            .await
            .map_err(api_error(format!("reading Secret {namespace}/{name}")))?;
        let live_data = live
            .as_ref()
            .map(|live| serde_json::to_value(&live.data).unwrap_or_default());
        if live_data
            .as_ref()
            .is_some_and(|data| data == &secret["data"])
        {
            return Ok(Change::Unchanged);
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(name, &params, &Patch::Apply(secret))
            .await
            .map_err(api_error(format!(
                "writing Secret {namespace}/{name} (its keys: {})",
                keys.join(", ")
            )))?;
        Ok(if live.is_some() {
            Change::Configured
        } else {
            Change::Created
        })
    }

    /// The image names each node reports in its status, one set per node, as the node's
    /// container runtime names them (`docker.io/library/app:1` on containerd); empty when
    /// the cluster lists no nodes.
    pub async fn node_images(&self) -> Result<Vec<BTreeSet<String>>> {
        let nodes = Api::<Node>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .map_err(api_error("listing the nodes"))?;
        Ok(nodes
            .items
            .iter()
            .map(|node| {
                node.status
                    .iter()
                    .flat_map(|status| status.images.iter().flatten())
                    .flat_map(|image| image.names.iter().flatten())
                    .cloned()
                    .collect()
            })
            .collect())
    }

    /// The API server's version (`v1.31.2`), as `kubectl version` shows it.
    pub async fn server_version(&self) -> Result<String> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(api_error("reading the server version"))?;
        Ok(info.git_version)
    }

    /// The API versions the server offers, as Helm's `.Capabilities.APIVersions` lists
    /// them: each `group/version` (`v1` for the core group) and each `group/version/Kind`.
    pub async fn api_versions(&self) -> Result<Vec<String>> {
        let discovery = kube::Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(api_error("discovering the API groups"))?;
        let mut versions = std::collections::BTreeSet::new();
        for group in discovery.groups() {
            for version in group.versions() {
                let group_version = match group.name() {
                    "" => version.to_string(),
                    name => format!("{name}/{version}"),
                };
                for (resource, _) in group.versioned_resources(version) {
                    versions.insert(format!("{group_version}/{}", resource.kind));
                }
                versions.insert(group_version);
            }
        }
        Ok(versions.into_iter().collect())
    }

    /// Resolves an object's kind through discovery (cached; CRDs found once registered).
    pub(crate) async fn resolve(
        &self,
        reference: &ObjectRef,
        release_namespace: &str,
        retry_for: Duration,
    ) -> Result<Resolved> {
        let key = (
            reference.group().to_string(),
            reference.version().to_string(),
            reference.kind.clone(),
        );
        let cached = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let (resource, namespaced) = match cached {
            Some(found) => found,
            None => {
                let gvk = GroupVersionKind::gvk(&key.0, &key.1, &key.2);
                let deadline = tokio::time::Instant::now() + retry_for;
                let found: (ApiResource, ApiCapabilities) = loop {
                    match kube::discovery::pinned_kind(&self.client, &gvk).await {
                        Ok(found) => break found,
                        Err(e)
                            if tokio::time::Instant::now() < deadline
                                && (is_status(&e, 404)
                                    || matches!(e, kube::Error::Discovery(_))) =>
                        {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(e) if is_status(&e, 404) || matches!(e, kube::Error::Discovery(_)) => {
                            return Err(Error::UnknownKind {
                                api_version: reference.api_version.clone(),
                                kind: reference.kind.clone(),
                                object: reference.to_string(),
                            });
                        }
                        Err(e) => {
                            return Err(api_error(format!(
                                "discovering {} {}",
                                reference.api_version, reference.kind
                            ))(e));
                        }
                    }
                };
                let entry = (found.0, found.1.scope == Scope::Namespaced);
                self.kinds
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key, entry.clone());
                entry
            }
        };
        if namespaced {
            let namespace = reference
                .namespace
                .clone()
                .unwrap_or_else(|| release_namespace.to_string());
            Ok(Resolved {
                api: Api::namespaced_with(self.client.clone(), &namespace, &resource),
                namespace: Some(namespace),
            })
        } else {
            Ok(Resolved {
                api: Api::all_with(self.client.clone(), &resource),
                namespace: None,
            })
        }
    }

    // ---- release records -------------------------------------------------------------

    fn records(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Every revision of a release, oldest first (Helm-made records included).
    pub async fn history(&self, name: &str, namespace: &str) -> Result<Vec<Release>> {
        let list = self
            .records(namespace)
            .list(&ListParams::default().labels(&format!("owner=helm,name={name}")))
            .await
            .map_err(api_error(format!(
                "listing release records of {name} in {namespace}"
            )))?;
        let mut releases = list
            .items
            .iter()
            .filter(|s| s.type_.as_deref() == Some(release::RECORD_TYPE))
            .map(release::from_secret)
            .collect::<Result<Vec<_>>>()?;
        releases.sort_by_key(|r| r.version);
        Ok(releases)
    }

    pub(crate) async fn create_record(&self, release: &Release) -> Result<()> {
        let secret = release::to_secret(release, ("createdAt", Utc::now().timestamp()))?;
        self.records(&release.namespace)
            .create(&PostParams::default(), &secret)
            .await
            .map_err(api_error(format!(
                "creating release record {}",
                release.record_name()
            )))?;
        Ok(())
    }

    pub(crate) async fn update_record(&self, release: &Release) -> Result<()> {
        let api = self.records(&release.namespace);
        let name = release.record_name();
        let mut secret = release::to_secret(release, ("modifiedAt", Utc::now().timestamp()))?;
        if let Some(existing) = api
            .get_opt(&name)
            .await
            .map_err(api_error(format!("reading release record {name}")))?
        {
            let created = existing
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("createdAt"))
                .cloned();
            if let (Some(created), Some(labels)) = (created, secret.metadata.labels.as_mut()) {
                labels.insert("createdAt".into(), created);
            }
            secret.metadata.resource_version = existing.metadata.resource_version;
            api.replace(&name, &PostParams::default(), &secret)
                .await
                .map_err(api_error(format!("updating release record {name}")))?;
        } else {
            api.create(&PostParams::default(), &secret)
                .await
                .map_err(api_error(format!("creating release record {name}")))?;
        }
        Ok(())
    }

    pub(crate) async fn delete_record(&self, release: &Release) -> Result<()> {
        match self
            .records(&release.namespace)
            .delete(&release.record_name(), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(api_error(format!(
                "deleting release record {}",
                release.record_name()
            ))(e)),
        }
    }

    // ---- lease -----------------------------------------------------------------------

    /// Runs `operation` holding the release's lease: takes it (waiting up to `wait` for
    /// another holder, announced once as [`Progress::WaitingForLock`]), calls `operation`
    /// with the previous holder when its lease had expired (a crashed or killed client)
    /// and the progress callback, and frees the lease whatever the operation returns. A
    /// dropped or panicking operation leaves it expired (see [`LeaseGuard`]).
    pub(crate) async fn with_lease<'p, T, F>(
        &self,
        (release, namespace): (&str, &str),
        wait: Duration,
        progress: &'p mut (dyn FnMut(Progress) + Send),
        operation: impl FnOnce(Option<String>, &'p mut (dyn FnMut(Progress) + Send)) -> F,
    ) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let (lease, expired_holder) = self
            .acquire_lease(release, namespace, wait, |holder, expires| {
                progress(Progress::WaitingForLock {
                    holder: holder.into(),
                    expires: expires.into(),
                })
            })
            .await?;
        let result = operation(expired_holder, progress).await;
        lease.release().await;
        result
    }

    /// Takes the release's lease, waiting up to `wait` for another holder; returns the
    /// previous holder when its lease had expired (a crashed or killed client).
    async fn acquire_lease(
        &self,
        release: &str,
        namespace: &str,
        wait: Duration,
        mut on_wait: impl FnMut(&str, &str),
    ) -> Result<(LeaseGuard, Option<String>)> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), namespace);
        let name = lease_name(release);
        let me = self.options.identity.clone();
        let deadline = tokio::time::Instant::now() + wait;
        let mut announced = false;
        loop {
            let now = Utc::now();
            let spec = LeaseSpec {
                holder_identity: Some(me.clone()),
                lease_duration_seconds: Some(self.options.lease_seconds()),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                ..LeaseSpec::default()
            };
            let existing = api
                .get_opt(&name)
                .await
                .map_err(api_error(format!("reading lease {name}")))?;
            let (result, previous) = match existing {
                None => {
                    let lease = Lease {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            ..ObjectMeta::default()
                        },
                        spec: Some(spec),
                    };
                    (api.create(&PostParams::default(), &lease).await, None)
                }
                Some(current) => match lease_state(&current, &me, now) {
                    LeaseState::Held { holder, expires } => {
                        if tokio::time::Instant::now() >= deadline {
                            return Err(Error::Locked {
                                release: release.into(),
                                holder,
                                expires: release::go_time(expires),
                            });
                        }
                        if !announced {
                            on_wait(&holder, &release::go_time(expires));
                            announced = true;
                        }
                        tokio::time::sleep(self.options.poll_interval.min(Duration::from_secs(1)))
                            .await;
                        continue;
                    }
                    state => {
                        let previous = match state {
                            LeaseState::Expired { holder, .. } => Some(holder),
                            _ => None,
                        };
                        let lease = Lease {
                            metadata: ObjectMeta {
                                name: Some(name.clone()),
                                resource_version: current.metadata.resource_version.clone(),
                                ..ObjectMeta::default()
                            },
                            spec: Some(spec),
                        };
                        (
                            api.replace(&name, &PostParams::default(), &lease).await,
                            previous,
                        )
                    }
                },
            };
            match result {
                Ok(_) => return Ok((LeaseGuard::start(self.clone(), api, name, me), previous)),
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(api_error(format!("taking lease {name}"))(e)),
            }
        }
    }

    // ---- objects -----------------------------------------------------------------------

    /// The object as deploykit sends it: release ownership labels/annotations as Helm sets
    /// them (so `helm upgrade` accepts the objects), and the fingerprint annotation.
    pub(crate) fn desired(
        manifest: &Manifest,
        (release, release_namespace): (&str, &str),
        namespace: Option<&str>,
    ) -> Value {
        let mut object = manifest.object.clone();
        if let Some(map) = object.as_object_mut() {
            map.remove("status");
        }
        if let Some(namespace) = namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        if !object["metadata"]["labels"].is_object() {
            object["metadata"]["labels"] = json!({});
        }
        object["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
        if !object["metadata"]["annotations"].is_object() {
            object["metadata"]["annotations"] = json!({});
        }
        object["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!(release);
        object["metadata"]["annotations"]["meta.helm.sh/release-namespace"] =
            json!(release_namespace);
        let hash = compare::fingerprint(&object);
        object["metadata"]["annotations"][APPLIED_HASH] = json!(hash);
        object
    }

    /// Applies one object with server-side apply unless it is already as desired.
    pub(crate) async fn apply_one(
        &self,
        manifest: &Manifest,
        release: &str,
        release_namespace: &str,
        take_over: TakeOver,
    ) -> Result<Change> {
        let resolved = self
            .resolve(
                &manifest.reference,
                release_namespace,
                Duration::from_secs(10),
            )
            .await?;
        let desired = Self::desired(
            manifest,
            (release, release_namespace),
            resolved.namespace.as_deref(),
        );
        let name = &manifest.reference.name;
        let live = resolved
            .api
            .get_opt(name)
            .await
            .map_err(api_error(format!("reading {}", manifest.reference)))?;
        if let Some(live) = &live
            && compare::unchanged(&desired, &serde_json::to_value(live).unwrap_or_default())
        {
            return Ok(Change::Unchanged);
        }
        let forced = take_over == TakeOver::Everyone;
        match self
            .apply_value(manifest, &resolved, &desired, forced)
            .await
        {
            Err(Error::Conflict { managers, .. })
                if take_over == TakeOver::ReleaseAppliers
                    && live.as_ref().is_some_and(|live| {
                        let appliers =
                            release_appliers(&serde_json::to_value(live).unwrap_or_default());
                        managers.iter().all(|m| appliers.contains(m))
                    }) =>
            {
                self.apply_value(manifest, &resolved, &desired, true)
                    .await?;
            }
            other => other?,
        }
        Ok(if live.is_some() {
            Change::Configured
        } else {
            Change::Created
        })
    }

    /// Applies a hook's object exactly as the chart rendered it: Helm creates hooks
    /// without its ownership label and annotations (they belong to no release's
    /// manifest), so deploykit adds none either, nor its fingerprint.
    pub(crate) async fn apply_hook(
        &self,
        manifest: &Manifest,
        release_namespace: &str,
    ) -> Result<()> {
        let resolved = self
            .resolve(
                &manifest.reference,
                release_namespace,
                Duration::from_secs(10),
            )
            .await?;
        let mut object = manifest.object.clone();
        if let Some(map) = object.as_object_mut() {
            map.remove("status");
        }
        if let Some(namespace) = &resolved.namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        self.apply_value(manifest, &resolved, &object, true).await
    }

    /// Server-side applies `object` (the body for `manifest`'s object).
    async fn apply_value(
        &self,
        manifest: &Manifest,
        resolved: &Resolved,
        object: &Value,
        force: bool,
    ) -> Result<()> {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        match resolved
            .api
            .patch(&manifest.reference.name, &params, &Patch::Apply(object))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(response)) if response.code == 409 => {
                let (manager, fields) = conflict_owner(&response.message);
                Err(Error::Conflict {
                    object: Box::new(manifest.reference.clone()),
                    managers: conflict_managers(&response.message),
                    manager,
                    fields,
                })
            }
            Err(e) => Err(api_error(format!("applying {}", manifest.reference))(e)),
        }
    }

    /// Asks the server what applying `desired` would make of the object (`dryRun=All`,
    /// deploykit's field manager, forced as a deploy that takes over would be). An object
    /// the server finds invalid is an error: the deploy would fail on it.
    pub(crate) async fn dry_run_apply(
        &self,
        resolved: &Resolved,
        reference: &ObjectRef,
        desired: &Value,
    ) -> Result<DryRun> {
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        match resolved
            .api
            .patch(&reference.name, &params, &Patch::Apply(desired))
            .await
        {
            Ok(answer) => Ok(DryRun::Answered(
                serde_json::to_value(answer).unwrap_or_default(),
            )),
            Err(kube::Error::Api(response)) if response.code == 404 => {
                // Worded without the object, so that the objects of one missing namespace
                // share one reason.
                Ok(DryRun::ObjectRefused(format!(
                    "{} (a deploy creates it first)",
                    response.message
                )))
            }
            Err(e @ kube::Error::Api(_)) if is_status(&e, 422) => {
                Err(api_error(format!("a dry-run apply of {reference}"))(e))
            }
            Err(kube::Error::Api(response)) => Ok(DryRun::ServerRefused(format!(
                "the server refused a dry-run apply of {reference} ({} {}: {})",
                response.code, response.reason, response.message
            ))),
            Err(e) => Err(api_error(format!("a dry-run apply of {reference}"))(e)),
        }
    }

    /// Deletes one object (absent already is fine).
    pub(crate) async fn delete_one(
        &self,
        reference: &ObjectRef,
        release_namespace: &str,
    ) -> Result<bool> {
        let resolved = match self
            .resolve(reference, release_namespace, Duration::ZERO)
            .await
        {
            Ok(resolved) => resolved,
            Err(Error::UnknownKind { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        match resolved
            .api
            .delete(&reference.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_status(&e, 404) => Ok(false),
            Err(e) => Err(api_error(format!("deleting {reference}"))(e)),
        }
    }

    /// The live object (None when absent or its kind is unknown).
    pub(crate) async fn live(
        &self,
        reference: &ObjectRef,
        release_namespace: &str,
    ) -> Result<Option<Value>> {
        let resolved = match self
            .resolve(reference, release_namespace, Duration::ZERO)
            .await
        {
            Ok(resolved) => resolved,
            Err(Error::UnknownKind { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let live = resolved
            .api
            .get_opt(&reference.name)
            .await
            .map_err(api_error(format!("reading {reference}")))?;
        Ok(live.map(|o| serde_json::to_value(o).unwrap_or_default()))
    }
}

/// Internal: the server's answer to a dry-run apply.
pub(crate) enum DryRun {
    /// The object as the apply would leave it.
    Answered(Value),
    /// Refused for this object alone (its namespace does not exist yet).
    ObjectRefused(String),
    /// Refused in a way that holds for every object (no dry-run support, no rights).
    ServerRefused(String),
}

/// What applying an object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed.
    Configured,
    /// The object was already as desired: nothing was written.
    Unchanged,
}

/// Whose fields an apply takes over when the server reports them owned by another field
/// manager (an apply conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeOver {
    /// Nobody's: a conflict is an error, as with `kubectl apply --server-side`.
    Nobody,
    /// Those of the field managers that applied this release's objects server-side
    /// themselves (Helm 4's own applies, which own Helm's release annotation); a conflict
    /// with any other manager is an error.
    ReleaseAppliers,
    /// Everyone's (server-side apply `force`).
    Everyone,
}

impl TakeOver {
    /// What Helm 4 would take over in deploykit's place, after the revision `previous`:
    /// with `--server-side=auto` (its default for upgrades and rollbacks) Helm applies as
    /// the revision before did. After Helm's client-side apply (`apply_method: csa`) it
    /// applies client-side again, which overwrites every field, whoever owns it; after
    /// its server-side apply (`ssa`) it applies server-side under its own field manager,
    /// so only other managers' fields conflict. A revision deploykit wrote (no
    /// `apply_method`) takes over nobody's, unless `force_conflicts`.
    pub(crate) fn after(
        previous: Option<&crate::release::Release>,
        force_conflicts: bool,
    ) -> TakeOver {
        if force_conflicts {
            return TakeOver::Everyone;
        }
        let method = previous
            .and_then(|r| r.extra.get("apply_method"))
            .and_then(Value::as_str);
        match method {
            Some("csa") => TakeOver::Everyone,
            Some("ssa") => TakeOver::ReleaseAppliers,
            _ => TakeOver::Nobody,
        }
    }
}

/// The field managers (other than deploykit) that applied `live` server-side with Helm's
/// release annotation: Helm 4's own applies of the release.
fn release_appliers(live: &Value) -> Vec<String> {
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .filter(|entry| entry["operation"] == "Apply" && entry["manager"] != FIELD_MANAGER)
        .filter(|entry| {
            entry
                .pointer("/fieldsV1/f:metadata/f:annotations/f:meta.helm.sh~1release-name")
                .is_some()
        })
        .filter_map(|entry| entry["manager"].as_str().map(str::to_string))
        .collect()
}

/// Every field manager an apply conflict's message names (`conflict with "kubectl" ...`,
/// `conflicts with "a" ... conflicts with "b" ...`).
pub(crate) fn conflict_managers(message: &str) -> Vec<String> {
    let mut managers: Vec<String> = Vec::new();
    for (index, _) in message.match_indices(" with \"") {
        let rest = &message[index + " with \"".len()..];
        if let Some((manager, _)) = rest.split_once('"')
            && !managers.iter().any(|m| m == manager)
        {
            managers.push(manager.to_string());
        }
    }
    managers
}

/// Reads the owning manager and fields from an apply conflict's message
/// (`Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`).
pub fn conflict_owner(message: &str) -> (String, String) {
    let manager = ["conflict with \"", "conflicts with \""]
        .iter()
        .find_map(|marker| {
            message
                .split_once(marker)
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(m, _)| m.to_string())
        })
        .unwrap_or_else(|| "unknown manager".into());
    let listed: Vec<&str> = message
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    let fields = if listed.is_empty() {
        message
            .rsplit_once(": ")
            .map(|(_, f)| f.trim().to_string())
            .unwrap_or_default()
    } else {
        listed.join(", ")
    };
    (manager, fields)
}

/// Holds a release's lease and renews it until released or dropped. Dropped without
/// [`LeaseGuard::release`] (the operation's future was dropped by a caller's timeout or
/// `select!`, or it panicked), it marks the lease expired on a task of its own: the
/// revision it left pending is then taken over by the next deploy at once, where a
/// deleted lease would leave it to [`crate::FOREIGN_PENDING_GRACE`] and one still live to
/// its expiry.
pub(crate) struct LeaseGuard {
    api: Api<Lease>,
    name: String,
    me: String,
    stop: tokio_util::sync::CancellationToken,
    released: bool,
}

impl LeaseGuard {
    fn start(cluster: Cluster, api: Api<Lease>, name: String, me: String) -> Self {
        let stop = tokio_util::sync::CancellationToken::new();
        let every = cluster.options.lease_duration / 3;
        let (renew_api, renew_name, renew_me, renew_stop) =
            (api.clone(), name.clone(), me.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = renew_stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let Ok(Some(mut lease)) = renew_api.get_opt(&renew_name).await else {
                    return;
                };
                if !held_by(&lease, &renew_me) {
                    return;
                }
                if let Some(spec) = lease.spec.as_mut() {
                    spec.renew_time = Some(MicroTime(Utc::now()));
                }
                lease.metadata.managed_fields = None;
                let _ = renew_api
                    .replace(&renew_name, &PostParams::default(), &lease)
                    .await;
            }
        });
        LeaseGuard {
            api,
            name,
            me,
            stop,
            released: false,
        }
    }

    /// Stops renewing and deletes the lease if it is still ours.
    pub(crate) async fn release(mut self) {
        self.stop.cancel();
        self.released = true;
        delete_if_held(&self.api, &self.name, &self.me).await;
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.stop.cancel();
        if self.released {
            return;
        }
        // No runtime (dropped after it shut down): the lease expires by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (api, name, me) = (self.api.clone(), self.name.clone(), self.me.clone());
            runtime.spawn(async move { expire_if_held(&api, &name, &me).await });
        }
    }
}

/// Dates lease `name` back past its duration if `me` still holds it, so that the next
/// client finds it expired. A failure leaves it to expire by itself.
async fn expire_if_held(api: &Api<Lease>, name: &str, me: &str) {
    let Ok(Some(mut lease)) = api.get_opt(name).await else {
        return;
    };
    if !held_by(&lease, me) {
        return;
    }
    if let Some(spec) = lease.spec.as_mut() {
        let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
        let lapsed = Utc::now() - chrono::Duration::seconds(duration + 1);
        spec.renew_time = Some(MicroTime(lapsed));
    }
    lease.metadata.managed_fields = None;
    let _ = api.replace(name, &PostParams::default(), &lease).await;
}

/// Whether `me` holds `lease`.
fn held_by(lease: &Lease, me: &str) -> bool {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        == Some(me)
}

/// Deletes lease `name` if `me` still holds it. A failure leaves it to expire: the
/// operation it guarded is over either way.
async fn delete_if_held(api: &Api<Lease>, name: &str, me: &str) {
    if let Ok(Some(lease)) = api.get_opt(name).await
        && held_by(&lease, me)
    {
        let _ = api.delete(name, &DeleteParams::default()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_out_of_bounds_are_brought_within_them() {
        let zero = ClusterOptions {
            poll_interval: Duration::ZERO,
            lease_duration: Duration::ZERO,
            identity: "me".into(),
        }
        .bounded();
        assert_eq!(
            (
                zero.poll_interval,
                zero.lease_duration,
                zero.lease_seconds()
            ),
            (MIN_POLL_INTERVAL, Duration::from_secs(1), 1)
        );
        let huge = ClusterOptions {
            lease_duration: Duration::MAX,
            ..ClusterOptions::default()
        }
        .bounded();
        assert_eq!(huge.lease_seconds(), i32::MAX);
        let fine = ClusterOptions::default().bounded();
        assert_eq!(fine.poll_interval, Duration::from_secs(2));
    }

    #[test]
    fn reads_every_manager_of_a_conflict() {
        assert_eq!(
            conflict_managers(
                "Apply failed with 2 conflicts: conflicts with \"helm\" using v1:\n- .data.a\nconflicts with \"kubectl-edit\" using v1:\n- .data.b"
            ),
            ["helm", "kubectl-edit"]
        );
        assert_eq!(
            conflict_managers("Apply failed with 1 conflict: conflict with \"python3\": .data.a"),
            ["python3"]
        );
    }

    #[test]
    fn release_appliers_are_the_managers_that_applied_helms_annotation() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "python3", "operation": "Apply", "fieldsV1": {"f:metadata": {"f:annotations": {"f:meta.helm.sh/release-name": {}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:metadata": {"f:annotations": {"f:meta.helm.sh/release-name": {}}}}},
            {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": {"f:metadata": {"f:annotations": {"f:meta.helm.sh/release-name": {}}}}}
        ]}});
        assert_eq!(release_appliers(&live), ["python3"]);
    }

    #[test]
    fn reads_the_owner_of_conflicting_fields() {
        let (manager, fields) = conflict_owner(
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
        );
        assert_eq!(
            (manager.as_str(), fields.as_str()),
            ("kubectl-edit", ".spec.replicas")
        );
        let (manager, fields) = conflict_owner(
            "Apply failed with 2 conflicts: conflicts with \"helm\" using v1:\n- .data.a\n- .data.b",
        );
        assert_eq!(
            (manager.as_str(), fields.as_str()),
            ("helm", ".data.a, .data.b")
        );
    }
}
