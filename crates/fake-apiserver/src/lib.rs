//! An in-process fake Kubernetes API server over real HTTP, for tests only.
//!
//! It listens on `127.0.0.1:0`, speaks plain HTTP, and hands out a kubeconfig so that a
//! real `kube::Client` (and Helm's own client) talks to it as to a cluster. It emulates
//! exactly what deploykit-cluster uses, and claims nothing more:
//!
//! - discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}` for a
//!   fixed set of built-in kinds plus every CustomResourceDefinition created at run time;
//! - OpenAPI v3 (`/openapi/v3` and one document per group-version) for those kinds: a
//!   small valid schema per kind and paths whose PATCH takes `fieldValidation`, which is
//!   what kubectl's validation in Helm's client reads before an install (it then leaves
//!   validation to the server, and this server validates nothing); no OpenAPI v2;
//! - CRUD on any served resource, namespaced or cluster-scoped: get, list (label and field
//!   selectors), create (404 when the namespace is missing, 409 when the name is taken,
//!   422 without a name), replace (409 on a stale `resourceVersion`), delete (404 when
//!   missing; deleting a Namespace deletes its objects), `/status` subresources;
//! - server-side apply (`application/apply-patch+yaml`): `managedFields` per manager,
//!   409 conflicts naming the owning manager, `force=true`; removal of fields a manager
//!   stopped applying. Lists are owned atomically (real servers key associative lists;
//!   this one does not). Merge patch (RFC 7386); strategic merge patch is treated as a
//!   merge patch with its `$` directives dropped. `metadata.generation` bumps when anything
//!   outside metadata/status changes;
//! - JSON and YAML bodies; protobuf only for Secrets (what Helm's storage driver sends),
//!   and protobuf DELETE options are ignored; any other protobuf body answers 415;
//! - watch streams (`?watch=true`, from a `resourceVersion` or with initial ADDED events;
//!   `sendInitialEvents=true` ends those with the bookmark client-go's watch-list awaits);
//! - pod logs (`/log`, with `container`, `tailLines`, `sinceSeconds`, `previous`, `follow`) and websocket
//!   port-forward (`/portforward`, channel protocol v4) to a TCP address a test names;
//! - test hooks: set any object's status, add Pods and Events as a controller or kubelet
//!   would, auto-readiness (workloads report ready as soon as written, Services get
//!   endpoints), expired credentials (401), and a counter of writes.
//!
//! There is no admission, no defaulting, no validation beyond the above, no controllers
//! unless `auto_ready` is on, no RBAC and no TLS.
//!
//! ```no_run
//! # async fn demo() {
//! let server = deploykit_fake_apiserver::FakeApiServer::start().await;
//! let kubeconfig = server.kubeconfig("fake");
//! // write `kubeconfig` to a file and point KUBECONFIG (or kube::Config) at it
//! assert_eq!(server.writes(), 0);
//! # drop(kubeconfig); }
//! ```

mod http;
mod openapi;
mod protobuf;
mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use store::{Key, Objects, ResourceType, Stored};

/// A running fake API server; it stops when dropped.
pub struct FakeApiServer {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

/// A log line and when the container wrote it.
pub(crate) type LogEntry = (chrono::DateTime<chrono::Utc>, String);

#[derive(Clone)]
pub(crate) struct Shared {
    state: Arc<Mutex<State>>,
    events: tokio::sync::broadcast::Sender<WatchEvent>,
}

#[derive(Clone, Debug)]
pub(crate) struct WatchEvent {
    kind: &'static str,
    key: Key,
    object: Value,
}

pub(crate) struct State {
    types: Vec<ResourceType>,
    objects: Objects,
    resource_version: u64,
    writes: Vec<String>,
    auto_ready: bool,
    reject_credentials: bool,
    refuse_dry_run: bool,
    /// Names of hook Jobs and Pods that fail under auto-ready.
    failing_hooks: std::collections::BTreeSet<String>,
    /// `(kind, namespace, name)` of objects whose DELETE answers 403, as RBAC would.
    forbidden_deletes: std::collections::BTreeSet<(String, String, String)>,
    logs: HashMap<(String, String, String), Vec<LogEntry>>,
    previous_logs: HashMap<(String, String, String), Vec<LogEntry>>,
    port_targets: HashMap<(String, String, u16), SocketAddr>,
    log_tx: Option<tokio::sync::broadcast::Sender<(String, String, String, String)>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl FakeApiServer {
    /// Starts a server on `127.0.0.1:0` (panics if it cannot bind: tests only).
    pub async fn start() -> FakeApiServer {
        let (events, _) = tokio::sync::broadcast::channel(1024);
        let (log_tx, _) = tokio::sync::broadcast::channel(1024);
        let state = State {
            types: store::builtin_types(),
            objects: Objects::new(),
            resource_version: 100,
            writes: Vec::new(),
            auto_ready: false,
            reject_credentials: false,
            refuse_dry_run: false,
            failing_hooks: Default::default(),
            forbidden_deletes: Default::default(),
            logs: HashMap::new(),
            previous_logs: HashMap::new(),
            port_targets: HashMap::new(),
            log_tx: Some(log_tx),
        };
        let shared = Shared {
            state: Arc::new(Mutex::new(state)),
            events,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let app = http::router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let server = FakeApiServer { addr, shared, task };
        for namespace in ["default", "kube-system"] {
            server.put(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            );
        }
        server
    }

    /// The server URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig whose only context, `context`, points at this server (token auth).
    pub fn kubeconfig(&self, context: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {url}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\ncurrent-context: {context}\nusers:\n- name: {context}\n  user:\n    token: fake-token\n",
            url = self.url()
        )
    }

    /// How many writes (POST, PUT, PATCH, DELETE, refused ones included) clients attempted so
    /// far; hooks and dry runs are not counted.
    pub fn writes(&self) -> usize {
        self.shared.lock().writes.len()
    }

    /// The writes so far, as `METHOD path` lines.
    pub fn write_log(&self) -> Vec<String> {
        self.shared.lock().writes.clone()
    }

    /// Marks every Deployment, StatefulSet, DaemonSet, Job and PVC ready as soon as it is
    /// written, and runs Helm hook Pods to `Succeeded` (a Job or hook Pod labelled
    /// `fake.deploykit/outcome: failed` fails instead; one labelled `pending` never
    /// ends), and gives every Service with a
    /// selector one ready endpoint.
    pub fn set_auto_ready(&self, on: bool) {
        let mut state = self.shared.lock();
        state.auto_ready = on;
        if on {
            let keys: Vec<Key> = state.objects.keys().cloned().collect();
            for key in keys {
                state.after_write(&key, &self.shared);
            }
        }
    }

    /// Answers every dry-run request (`dryRun=All`) with 400 Bad Request, as a server does
    /// when an admission webhook that does not declare `sideEffects: None` would see it.
    pub fn set_refuse_dry_run(&self, on: bool) {
        self.shared.lock().refuse_dry_run = on;
    }

    /// Makes the hook Job or Pod called `name` fail under auto-ready (as the label
    /// `fake.deploykit/outcome: failed` does), for charts whose labels a test cannot set.
    pub fn fail_hook(&self, name: &str) {
        self.shared.lock().failing_hooks.insert(name.to_string());
    }

    /// Answers every request with 401 Unauthorized, as a server does for expired credentials.
    pub fn set_reject_credentials(&self, on: bool) {
        self.shared.lock().reject_credentials = on;
    }

    /// Makes every DELETE of this object answer 403 Forbidden (on) or work again (off), as
    /// a server does when the client's role may not delete it.
    pub fn set_forbid_delete(&self, kind: &str, namespace: Option<&str>, name: &str, on: bool) {
        let object = (
            kind.to_string(),
            namespace.unwrap_or_default().to_string(),
            name.to_string(),
        );
        let mut state = self.shared.lock();
        if on {
            state.forbidden_deletes.insert(object);
        } else {
            state.forbidden_deletes.remove(&object);
        }
    }

    /// Stores (creates or replaces) an object as a controller or kubelet would: not counted
    /// as a client write, no field ownership. Kinds must be served (built-in or CRD).
    pub fn put(&self, object: Value) {
        let mut state = self.shared.lock();
        state.put_hook(object, &self.shared);
    }

    /// The object stored under `api_version`/`kind`, `namespace` (None for cluster-scoped)
    /// and `name`, with its `managedFields`.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let state = self.shared.lock();
        let ty = state.type_by_kind(api_version, kind)?;
        let key = (
            ty.group.clone(),
            ty.plural.clone(),
            namespace.unwrap_or("").to_string(),
            name.to_string(),
        );
        state.objects.get(&key).map(Stored::rendered)
    }

    /// Names of stored objects of a kind in a namespace (None: cluster-scoped or all).
    pub fn names(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<String> {
        let state = self.shared.lock();
        let Some(ty) = state.type_by_kind(api_version, kind) else {
            return Vec::new();
        };
        state
            .objects
            .keys()
            .filter(|(g, p, ns, _)| {
                *g == ty.group && *p == ty.plural && namespace.is_none_or(|n| n == ns)
            })
            .map(|(_, _, _, name)| name.clone())
            .collect()
    }

    /// Removes an object as a controller would (not counted as a client write).
    pub fn remove(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        let mut state = self.shared.lock();
        let Some(ty) = state.type_by_kind(api_version, kind) else {
            return false;
        };
        let key = (
            ty.group.clone(),
            ty.plural.clone(),
            namespace.unwrap_or("").to_string(),
            name.to_string(),
        );
        match state.objects.remove(&key) {
            Some(stored) => {
                let _ = self.shared.events.send(WatchEvent {
                    kind: "DELETED",
                    key,
                    object: stored.rendered(),
                });
                true
            }
            None => false,
        }
    }

    /// Replaces an object's `status` (merging into nothing: the whole status is `status`).
    pub fn set_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) {
        let mut state = self.shared.lock();
        let Some(ty) = state.type_by_kind(api_version, kind) else {
            return;
        };
        let key = (
            ty.group.clone(),
            ty.plural.clone(),
            namespace.unwrap_or("").to_string(),
            name.to_string(),
        );
        let rv = state.next_rv();
        if let Some(stored) = state.objects.get_mut(&key) {
            stored.value["status"] = status;
            stored.value["metadata"]["resourceVersion"] = json!(rv);
            let object = stored.rendered();
            let _ = self.shared.events.send(WatchEvent {
                kind: "MODIFIED",
                key,
                object,
            });
        }
    }

    /// Marks a Deployment rolled out: observedGeneration current, all replicas updated,
    /// ready and available.
    pub fn make_deployment_ready(&self, namespace: &str, name: &str) {
        let mut state = self.shared.lock();
        let key = (
            "apps".to_string(),
            "deployments".to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        state.mark_ready(&key);
    }

    /// Sets the log text of a pod's container (`previous`: the last terminated instance).
    pub fn set_pod_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        text: &str,
    ) {
        let mut state = self.shared.lock();
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        let now = chrono::Utc::now();
        let lines = text.lines().map(|line| (now, line.to_string())).collect();
        if previous {
            state.previous_logs.insert(key, lines);
        } else {
            state.logs.insert(key, lines);
        }
    }

    /// Sets a container's log to lines written some time ago (`age` before now), for
    /// `sinceSeconds`.
    pub fn set_pod_log_aged(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        lines: &[(std::time::Duration, &str)],
    ) {
        let now = chrono::Utc::now();
        let entries = lines
            .iter()
            .map(|(age, line)| {
                let age = chrono::Duration::from_std(*age).unwrap_or(chrono::Duration::zero());
                (now - age, line.to_string())
            })
            .collect();
        self.shared.lock().logs.insert(
            (
                namespace.to_string(),
                pod.to_string(),
                container.to_string(),
            ),
            entries,
        );
    }

    /// Appends a line to a container's log (seen by followers).
    pub fn append_pod_log(&self, namespace: &str, pod: &str, container: &str, line: &str) {
        let mut state = self.shared.lock();
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        state
            .logs
            .entry(key)
            .or_default()
            .push((chrono::Utc::now(), line.to_string()));
        if let Some(tx) = &state.log_tx {
            let _ = tx.send((
                namespace.to_string(),
                pod.to_string(),
                container.to_string(),
                line.to_string(),
            ));
        }
    }

    /// Where a port-forward to `pod:port` connects (a TCP server the test runs).
    pub fn set_port_target(&self, namespace: &str, pod: &str, port: u16, target: SocketAddr) {
        self.shared
            .lock()
            .port_targets
            .insert((namespace.to_string(), pod.to_string(), port), target);
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An API error as a `Status` answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: json!({}),
        }
    }

    pub fn status(&self) -> Value {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "details": self.details, "code": self.code})
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl State {
    pub(crate) fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    pub(crate) fn type_by_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    pub(crate) fn type_by_plural(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    fn put_hook(&mut self, mut object: Value, shared: &Shared) {
        let api_version = object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let Some(ty) = self.type_by_kind(&api_version, &kind) else {
            return;
        };
        let namespace = if ty.namespaced {
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let key = (ty.group.clone(), ty.plural.clone(), namespace, name);
        let rv = self.next_rv();
        let existed = self.objects.get(&key).cloned();
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(rv);
        if let Some(old) = &existed {
            meta["uid"] = old.value["metadata"]["uid"].clone();
            meta["creationTimestamp"] = old.value["metadata"]["creationTimestamp"].clone();
        } else {
            meta["uid"] = json!(format!("uid-{rv}"));
            if meta.get("creationTimestamp").is_none() {
                meta["creationTimestamp"] = json!(now());
            }
        }
        let kind = if existed.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let managers = existed.map(|s| s.managers).unwrap_or_default();
        self.objects.insert(
            key.clone(),
            Stored {
                value: object,
                managers,
            },
        );
        self.register_crd(&key);
        if let Some(stored) = self.objects.get(&key) {
            let _ = shared.events.send(WatchEvent {
                kind,
                key: key.clone(),
                object: stored.rendered(),
            });
        }
        self.after_write(&key, shared);
    }

    /// Registers the kinds of a stored CustomResourceDefinition and marks it Established.
    pub(crate) fn register_crd(&mut self, key: &Key) {
        if key.0 != "apiextensions.k8s.io" || key.1 != "customresourcedefinitions" {
            return;
        }
        let Some(stored) = self.objects.get_mut(key) else {
            return;
        };
        let spec = stored.value["spec"].clone();
        stored.value["status"] = json!({"conditions": [{"type": "Established", "status": "True"}, {"type": "NamesAccepted", "status": "True"}],
            "acceptedNames": spec["names"].clone()});
        let group = spec["group"].as_str().unwrap_or_default().to_string();
        let kind = spec["names"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let plural = spec["names"]["plural"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for version in spec["versions"].as_array().into_iter().flatten() {
            if version["served"].as_bool() == Some(false) {
                continue;
            }
            let version = version["name"].as_str().unwrap_or_default().to_string();
            let ty = ResourceType {
                group: group.clone(),
                version,
                kind: kind.clone(),
                plural: plural.clone(),
                namespaced,
            };
            if !self.types.contains(&ty) {
                self.types.push(ty);
            }
        }
    }

    pub(crate) fn unregister_crd(&mut self, key: &Key, value: &Value) {
        if key.0 != "apiextensions.k8s.io" || key.1 != "customresourcedefinitions" {
            return;
        }
        let group = value["spec"]["group"].as_str().unwrap_or_default();
        let plural = value["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or_default();
        self.types
            .retain(|t| !(t.group == group && t.plural == plural));
        self.objects.retain(|k, _| !(k.0 == group && k.1 == plural));
    }

    /// Controller emulation when auto-ready is on.
    pub(crate) fn after_write(&mut self, key: &Key, shared: &Shared) {
        if !self.auto_ready {
            return;
        }
        if key.1 == "services" {
            let Some(service) = self.objects.get(key) else {
                return;
            };
            if service
                .value
                .pointer("/spec/selector")
                .is_none_or(|s| s.as_object().is_none_or(|m| m.is_empty()))
            {
                return;
            }
            let endpoints = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": key.3, "namespace": key.2},
                "subsets": [{"addresses": [{"ip": "10.244.0.10"}], "ports": [{"port": 80}]}]});
            let endpoint_key = (
                String::new(),
                "endpoints".to_string(),
                key.2.clone(),
                key.3.clone(),
            );
            if !self.objects.contains_key(&endpoint_key) {
                self.put_hook(endpoints, shared);
            }
        } else {
            self.mark_ready(key);
        }
    }

    pub(crate) fn mark_ready(&mut self, key: &Key) {
        let rv = self.next_rv();
        let Some(stored) = self.objects.get_mut(key) else {
            return;
        };
        let value = &mut stored.value;
        let generation = value["metadata"]["generation"].as_i64().unwrap_or(1);
        // A test asks for a failing Job or hook Pod with this label, or for one that
        // never ends (`pending`: a hook that runs out of time).
        let outcome = value
            .pointer("/metadata/labels/fake.deploykit~1outcome")
            .and_then(Value::as_str);
        if outcome == Some("pending") && matches!(key.1.as_str(), "jobs" | "pods") {
            return;
        }
        let fails = outcome == Some("failed") || self.failing_hooks.contains(&key.3);
        let is_hook = value
            .pointer("/metadata/annotations/helm.sh~1hook")
            .is_some();
        let replicas = value
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let status = match key.1.as_str() {
            "deployments" => {
                json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas,
                "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})
            }
            "statefulsets" => {
                json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                "updatedReplicas": replicas, "currentReplicas": replicas, "currentRevision": "r1", "updateRevision": "r1"})
            }
            "daemonsets" => {
                json!({"observedGeneration": generation, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                "numberMisscheduled": 0, "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1})
            }
            "jobs" if fails => {
                json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
            }
            "jobs" => {
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
            }
            // Hook Pods (chart tests) run to the end; other Pods are left to the tests.
            "pods" if is_hook && fails => json!({"phase": "Failed"}),
            "pods" if is_hook => json!({"phase": "Succeeded"}),
            "persistentvolumeclaims" => json!({"phase": "Bound"}),
            _ => return,
        };
        value["status"] = status;
        value["metadata"]["resourceVersion"] = json!(rv);
    }
}
