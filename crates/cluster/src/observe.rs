//! Watching a release come up (readiness, diagnosis), logs and port-forward.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Event, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::cluster::{Cluster, api_error};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ObjectRef};
use crate::ops::Progress;
use crate::wait::{self, Cause, Diagnosis, Problem, Readiness, Verdict, WAITED_KINDS};

/// Why a wait ended without readiness.
pub(crate) enum WaitFailure {
    Interrupted,
    Failed(Diagnosis),
    Api(Error),
}

impl From<Error> for WaitFailure {
    fn from(error: Error) -> Self {
        WaitFailure::Api(error)
    }
}

fn selector_string(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Cluster {
    /// The verdict on one waited-for object (resolved namespace), or None for other kinds.
    pub(crate) async fn verdict_of(
        &self,
        manifest: &Manifest,
        release_namespace: &str,
    ) -> Result<Option<(ObjectRef, Verdict)>> {
        let reference = &manifest.reference;
        if !WAITED_KINDS.contains(&reference.kind.as_str()) {
            return Ok(None);
        }
        let namespace = reference
            .namespace
            .clone()
            .unwrap_or_else(|| release_namespace.to_string());
        let resolved = ObjectRef {
            namespace: Some(namespace.clone()),
            ..reference.clone()
        };
        let name = reference.name.as_str();
        let client = self.client.clone();
        let action = format!("reading the status of {resolved}");
        let missing = || Verdict {
            readiness: Readiness::Waiting,
            detail: "not found".into(),
        };
        let verdict = match (reference.group(), reference.kind.as_str()) {
            ("apps", "Deployment") => Api::<Deployment>::namespaced(client, &namespace)
                .get_opt(name)
                .await
                .map_err(api_error(action))?
                .map(|d| wait::deployment_verdict(&d)),
            ("apps", "StatefulSet") => Api::<StatefulSet>::namespaced(client, &namespace)
                .get_opt(name)
                .await
                .map_err(api_error(action))?
                .map(|s| wait::statefulset_verdict(&s)),
            ("apps", "DaemonSet") => Api::<DaemonSet>::namespaced(client, &namespace)
                .get_opt(name)
                .await
                .map_err(api_error(action))?
                .map(|s| wait::daemonset_verdict(&s)),
            ("batch", "Job") => Api::<Job>::namespaced(client, &namespace)
                .get_opt(name)
                .await
                .map_err(api_error(action))?
                .map(|j| wait::job_verdict(&j)),
            ("", "PersistentVolumeClaim") => {
                Api::<PersistentVolumeClaim>::namespaced(client, &namespace)
                    .get_opt(name)
                    .await
                    .map_err(api_error(action))?
                    .map(|c| wait::pvc_verdict(&c))
            }
            ("", "Service") => {
                let spec = manifest.object.get("spec");
                let has_selector = spec
                    .and_then(|s| s.get("selector"))
                    .and_then(Value::as_object)
                    .is_some_and(|m| !m.is_empty())
                    && spec.and_then(|s| s.get("type")).and_then(Value::as_str)
                        != Some("ExternalName");
                let endpoints = if has_selector {
                    Api::<Endpoints>::namespaced(client, &namespace)
                        .get_opt(name)
                        .await
                        .map_err(api_error(action))?
                } else {
                    None
                };
                Some(wait::service_verdict(has_selector, endpoints.as_ref()))
            }
            _ => return Ok(None),
        };
        Ok(Some((resolved, verdict.unwrap_or_else(missing))))
    }

    /// The label selector of the pods a workload runs (None for kinds without pods).
    fn pod_selector(manifest: &Manifest) -> Option<String> {
        match manifest.reference.kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" => {
                let labels: BTreeMap<String, String> = serde_json::from_value(
                    manifest
                        .object
                        .pointer("/spec/selector/matchLabels")?
                        .clone(),
                )
                .ok()?;
                Some(selector_string(&labels))
            }
            "Job" => Some(format!("job-name={}", manifest.reference.name)),
            _ => None,
        }
    }

    /// Problems in the pods of the given workloads, with log tails for crash loops.
    async fn problems(
        &self,
        workloads: &[&Manifest],
        release_namespace: &str,
    ) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        let mut events_by_ns: HashMap<String, Vec<Event>> = HashMap::new();
        for manifest in workloads {
            let Some(selector) = Self::pod_selector(manifest) else {
                continue;
            };
            let namespace = manifest
                .reference
                .namespace
                .clone()
                .unwrap_or_else(|| release_namespace.to_string());
            let selector = match self
                .current_template_hash(manifest, &namespace, &selector)
                .await?
            {
                Some(hash) => format!("{selector},pod-template-hash={hash}"),
                None => selector,
            };
            let pods_api: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
            let mut pods = pods_api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(api_error(format!("listing pods of {}", manifest.reference)))?;
            pods.items
                .retain(|p| p.metadata.deletion_timestamp.is_none());
            if pods.items.is_empty() {
                continue;
            }
            if !events_by_ns.contains_key(&namespace) {
                let events = Api::<Event>::namespaced(self.client.clone(), &namespace)
                    .list(&ListParams::default())
                    .await
                    .map_err(api_error(format!("listing events in {namespace}")))?;
                events_by_ns.insert(namespace.clone(), events.items);
            }
            let found = wait::diagnose_pods(&pods.items, &events_by_ns[&namespace]);
            for mut problem in found {
                if problem.cause == Cause::CrashLoop {
                    let pod = problem.subject.trim_start_matches("pod ").to_string();
                    problem.last_log_lines = self
                        .log_tail(&pods_api, &pod, problem.container.as_deref(), 20)
                        .await;
                }
                problems.push(problem);
            }
        }
        Ok(problems)
    }

    /// For a Deployment, the `pod-template-hash` of its current ReplicaSet (the one whose
    /// revision matches the Deployment's), so that old pods being replaced, such as the
    /// crash-looping ones a fix replaces, are not taken for the new rollout's problems.
    async fn current_template_hash(
        &self,
        manifest: &Manifest,
        namespace: &str,
        selector: &str,
    ) -> Result<Option<String>> {
        const REVISION: &str = "deployment.kubernetes.io/revision";
        if manifest.reference.kind != "Deployment" {
            return Ok(None);
        }
        let deployment = Api::<Deployment>::namespaced(self.client.clone(), namespace)
            .get_opt(&manifest.reference.name)
            .await
            .map_err(api_error(format!("reading {}", manifest.reference)))?;
        let Some(revision) = deployment
            .and_then(|d| d.metadata.annotations)
            .and_then(|a| a.get(REVISION).cloned())
        else {
            return Ok(None);
        };
        let sets = Api::<ReplicaSet>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(api_error(format!(
                "listing replica sets of {}",
                manifest.reference
            )))?;
        Ok(sets
            .items
            .into_iter()
            .find(|set| {
                set.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(REVISION))
                    == Some(&revision)
            })
            .and_then(|set| {
                set.metadata
                    .labels
                    .and_then(|l| l.get("pod-template-hash").cloned())
            }))
    }

    async fn log_tail(
        &self,
        pods: &Api<Pod>,
        pod: &str,
        container: Option<&str>,
        lines: i64,
    ) -> Vec<String> {
        for previous in [true, false] {
            let params = LogParams {
                container: container.map(str::to_string),
                previous,
                tail_lines: Some(lines),
                ..LogParams::default()
            };
            if let Ok(text) = pods.logs(pod, &params).await
                && !text.trim().is_empty()
            {
                return text.lines().map(str::to_string).collect();
            }
        }
        Vec::new()
    }

    /// Waits until every workload of `manifests` is ready, reporting progress; stops early
    /// with a diagnosis when a pod cannot recover by itself.
    pub(crate) async fn wait_ready(
        &self,
        manifests: &[Manifest],
        release_namespace: &str,
        timeout: Duration,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> std::result::Result<(), WaitFailure> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last: HashMap<ObjectRef, Verdict> = HashMap::new();
        loop {
            let mut not_ready: Vec<(&Manifest, ObjectRef, Verdict)> = Vec::new();
            for manifest in manifests {
                let Some((object, verdict)) = self.verdict_of(manifest, release_namespace).await?
                else {
                    continue;
                };
                if last.get(&object) != Some(&verdict) {
                    progress(Progress::Workload {
                        object: object.clone(),
                        readiness: verdict.readiness,
                        detail: verdict.detail.clone(),
                    });
                    last.insert(object.clone(), verdict.clone());
                }
                if verdict.readiness != Readiness::Ready {
                    not_ready.push((manifest, object, verdict));
                }
            }
            if not_ready.is_empty() {
                return Ok(());
            }
            let workloads: Vec<&Manifest> = not_ready.iter().map(|(m, _, _)| *m).collect();
            let mut problems = self.problems(&workloads, release_namespace).await?;
            for (_, object, verdict) in &not_ready {
                if verdict.readiness == Readiness::Failed {
                    problems.push(Problem {
                        subject: object.to_string(),
                        container: None,
                        cause: Cause::WorkloadFailed,
                        message: verdict.detail.clone(),
                        fix: "read the pods' logs and events (deploykit logs), fix the cause and deploy again".into(),
                        last_log_lines: Vec::new(),
                    });
                }
            }
            let timed_out = tokio::time::Instant::now() >= deadline;
            if timed_out || problems.iter().any(|p| p.cause.is_fatal()) {
                return Err(WaitFailure::Failed(Diagnosis {
                    not_ready: not_ready
                        .into_iter()
                        .map(|(_, o, v)| (o, v.detail))
                        .collect(),
                    problems,
                    timed_out_after: timed_out.then_some(timeout),
                }));
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(WaitFailure::Interrupted),
                () = tokio::time::sleep(self.options.poll_interval.min(deadline.saturating_duration_since(tokio::time::Instant::now()) + Duration::from_millis(10))) => {}
            }
        }
    }

    /// Pods a target selects, newest first, ready ones before the others.
    pub async fn pods_of(&self, namespace: &str, target: &Target) -> Result<Vec<Pod>> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let selector = match target {
            Target::Pod(name) => {
                let pod = pods
                    .get_opt(name)
                    .await
                    .map_err(api_error(format!("reading pod {name}")))?;
                return pod.map(|p| vec![p]).ok_or_else(|| Error::NotFound {
                    what: format!("pod {name} not found in namespace {namespace}"),
                    fix: "list pods with `kubectl get pods -n NAMESPACE`".into(),
                });
            }
            Target::Service(name) => {
                let service = Api::<Service>::namespaced(self.client.clone(), namespace)
                    .get_opt(name)
                    .await
                    .map_err(api_error(format!("reading service {name}")))?;
                let service = service.ok_or_else(|| Error::NotFound {
                    what: format!("service {name} not found in namespace {namespace}"),
                    fix: "check the release is deployed (deploykit status)".into(),
                })?;
                service.spec.and_then(|s| s.selector).unwrap_or_default()
            }
            Target::Workload { kind, name } => {
                let selector = match kind.as_str() {
                    "Deployment" => Api::<Deployment>::namespaced(self.client.clone(), namespace)
                        .get_opt(name)
                        .await
                        .map_err(api_error(format!("reading deployment {name}")))?
                        .and_then(|d| d.spec.map(|s| s.selector)),
                    "StatefulSet" => Api::<StatefulSet>::namespaced(self.client.clone(), namespace)
                        .get_opt(name)
                        .await
                        .map_err(api_error(format!("reading statefulset {name}")))?
                        .and_then(|d| d.spec.map(|s| s.selector)),
                    "DaemonSet" => Api::<DaemonSet>::namespaced(self.client.clone(), namespace)
                        .get_opt(name)
                        .await
                        .map_err(api_error(format!("reading daemonset {name}")))?
                        .and_then(|d| d.spec.map(|s| s.selector)),
                    other => {
                        return Err(Error::NotFound {
                            what: format!("{other} is not a workload kind deploykit can follow"),
                            fix: "use Deployment, StatefulSet, DaemonSet, a Service or a Pod"
                                .into(),
                        });
                    }
                };
                let selector = selector.ok_or_else(|| Error::NotFound {
                    what: format!("{kind} {name} not found in namespace {namespace}"),
                    fix: "check the release is deployed (deploykit status)".into(),
                })?;
                selector.match_labels.unwrap_or_default()
            }
        };
        if selector.is_empty() {
            return Err(Error::NotFound {
                what: format!("{target:?} selects no pods (no selector)"),
                fix: "target a Pod or a workload with a selector".into(),
            });
        }
        let mut items = pods
            .list(&ListParams::default().labels(&selector_string(&selector)))
            .await
            .map_err(api_error(format!("listing pods of {target:?}")))?
            .items;
        items.retain(|p| p.metadata.deletion_timestamp.is_none());
        items.sort_by_key(|p| {
            (
                !pod_ready(p),
                std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)),
            )
        });
        Ok(items)
    }

    /// Log lines of a target's pods (every container with `all_containers`), merged as they
    /// come; with `follow` the stream stays open.
    pub async fn logs(&self, request: &LogsRequest) -> Result<BoxStream<'static, Result<LogLine>>> {
        let pods = self.pods_of(&request.namespace, &request.target).await?;
        if pods.is_empty() {
            return Err(Error::NotFound {
                what: format!(
                    "no pods for {:?} in namespace {}",
                    request.target, request.namespace
                ),
                fix: "wait for the workload to start (deploykit status)".into(),
            });
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &request.namespace);
        let mut streams = Vec::new();
        for pod in &pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let all: Vec<String> = pod
                .spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let containers = match (&request.container, request.all_containers) {
                (Some(container), _) => vec![container.clone()],
                (None, true) => all,
                (None, false) => all.into_iter().take(1).collect(),
            };
            for container in containers {
                let params = LogParams {
                    container: Some(container.clone()),
                    follow: request.follow,
                    since_seconds: request.since.map(|s| s.as_secs() as i64),
                    tail_lines: request.tail,
                    ..LogParams::default()
                };
                let reader = api
                    .log_stream(&name, &params)
                    .await
                    .map_err(api_error(format!(
                        "reading logs of pod {name} container {container}"
                    )))?;
                let (pod_name, container_name) = (name.clone(), container.clone());
                let lines = reader
                    .lines()
                    .map_ok(move |line| LogLine {
                        pod: pod_name.clone(),
                        container: container_name.clone(),
                        line,
                    })
                    .map_err({
                        let what = format!("reading logs of pod {name} container {container}");
                        move |e| Error::Api {
                            action: what.clone(),
                            source: Box::new(kube::Error::ReadEvents(e)),
                        }
                    });
                streams.push(lines.boxed());
            }
        }
        Ok(futures::stream::select_all(streams).boxed())
    }

    /// Forwards `127.0.0.1:local_port` to a Service's or Pod's port until `cancel` fires.
    /// Each connection picks the target's current ready pod, so a replaced pod is followed.
    pub async fn port_forward(
        &self,
        request: PortForwardRequest,
        cancel: CancellationToken,
    ) -> Result<PortForward> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", request.local_port))
            .await
            .map_err(|source| Error::LocalPort {
                port: request.local_port,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::LocalPort {
            port: request.local_port,
            source,
        })?;
        self.forward_target(&request).await?;
        let (events_tx, events) = tokio::sync::mpsc::unbounded_channel();
        let cluster = self.clone();
        let task = tokio::spawn(async move {
            let mut current_pod = String::new();
            loop {
                let accepted = tokio::select! {
                    () = cancel.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut socket, _)) = accepted else {
                    continue;
                };
                let (pod, port) = match cluster.forward_target(&request).await {
                    Ok(found) => found,
                    Err(e) => {
                        let _ = events_tx.send(ForwardEvent::Failed {
                            reason: e.to_string(),
                        });
                        continue;
                    }
                };
                if pod != current_pod {
                    let _ = events_tx.send(ForwardEvent::Forwarding {
                        pod: pod.clone(),
                        port,
                    });
                    current_pod = pod.clone();
                }
                let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &request.namespace);
                let events_tx = events_tx.clone();
                tokio::spawn(async move {
                    let result = async {
                        let mut forwarder = pods
                            .portforward(&pod, &[port])
                            .await
                            .map_err(|e| e.to_string())?;
                        let mut upstream = forwarder
                            .take_stream(port)
                            .ok_or("no stream for the port")?;
                        tokio::io::copy_bidirectional(&mut socket, &mut upstream)
                            .await
                            .map_err(|e| e.to_string())?;
                        drop(upstream);
                        let _ = forwarder.join().await;
                        Ok::<(), String>(())
                    }
                    .await;
                    if let Err(reason) = result {
                        let _ = events_tx.send(ForwardEvent::Failed {
                            reason: format!("pod {pod} port {port}: {reason}"),
                        });
                    }
                });
            }
        });
        Ok(PortForward {
            local_addr,
            events,
            task,
        })
    }

    async fn forward_target(&self, request: &PortForwardRequest) -> Result<(String, u16)> {
        let pods = self.pods_of(&request.namespace, &request.target).await?;
        let pod = pods
            .into_iter()
            .find(pod_ready)
            .ok_or_else(|| Error::NotFound {
                what: format!(
                    "no ready pod for {:?} in namespace {}",
                    request.target, request.namespace
                ),
                fix: "wait for the rollout (deploykit status) or read the logs".into(),
            })?;
        let name = pod.metadata.name.clone().unwrap_or_default();
        let port = match &request.target {
            Target::Service(service) => {
                let svc = Api::<Service>::namespaced(self.client.clone(), &request.namespace)
                    .get(service)
                    .await
                    .map_err(api_error(format!("reading service {service}")))?;
                let ports = svc.spec.and_then(|s| s.ports).unwrap_or_default();
                let port = ports
                    .iter()
                    .find(|p| p.port == i32::from(request.remote_port))
                    .ok_or_else(|| Error::NotFound {
                        what: format!("service {service} has no port {}", request.remote_port),
                        fix: format!(
                            "use one of its ports: {}",
                            ports
                                .iter()
                                .map(|p| p.port.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?;
                match &port.target_port {
                    Some(IntOrString::Int(n)) => u16::try_from(*n).unwrap_or(request.remote_port),
                    Some(IntOrString::String(named)) => pod
                        .spec
                        .iter()
                        .flat_map(|s| s.containers.iter())
                        .flat_map(|c| c.ports.iter().flatten())
                        .find(|p| p.name.as_deref() == Some(named.as_str()))
                        .and_then(|p| u16::try_from(p.container_port).ok())
                        .ok_or_else(|| Error::NotFound {
                            what: format!("pod {name} has no port named {named}"),
                            fix: "fix the service's targetPort".into(),
                        })?,
                    None => request.remote_port,
                }
            }
            _ => request.remote_port,
        };
        Ok((name, port))
    }
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| {
        s.phase.as_deref() == Some("Running")
            && s.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// What logs or a port-forward are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One pod by name.
    Pod(String),
    /// The pods a Service selects.
    Service(String),
    /// The pods of a Deployment, StatefulSet or DaemonSet.
    Workload {
        /// `Deployment`, `StatefulSet` or `DaemonSet`.
        kind: String,
        /// Its name.
        name: String,
    },
}

/// What logs to read.
#[derive(Debug, Clone)]
pub struct LogsRequest {
    /// Namespace of the pods.
    pub namespace: String,
    /// Whose logs.
    pub target: Target,
    /// Keep streaming new lines.
    pub follow: bool,
    /// Only lines newer than this.
    pub since: Option<Duration>,
    /// Only the last N lines of each container.
    pub tail: Option<i64>,
    /// Every container of each pod (otherwise the first, or `container`).
    pub all_containers: bool,
    /// One container by name.
    pub container: Option<String>,
}

impl LogsRequest {
    /// The first container's full log of a target's pods, not followed.
    pub fn new(namespace: &str, target: Target) -> Self {
        LogsRequest {
            namespace: namespace.into(),
            target,
            follow: false,
            since: None,
            tail: None,
            all_containers: false,
            container: None,
        }
    }
}

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The pod.
    pub pod: String,
    /// The container.
    pub container: String,
    /// The line, without its newline.
    pub line: String,
}

/// What to forward.
#[derive(Debug, Clone)]
pub struct PortForwardRequest {
    /// Namespace of the target.
    pub namespace: String,
    /// A Service (its port is mapped to the pods' target port) or a Pod.
    pub target: Target,
    /// The Service's port, or the Pod's port.
    pub remote_port: u16,
    /// Local port on 127.0.0.1 (0: any free port).
    pub local_port: u16,
}

/// What a running port-forward reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardEvent {
    /// Connections now go to this pod (first connection, or the pod was replaced).
    Forwarding {
        /// The pod.
        pod: String,
        /// Its port.
        port: u16,
    },
    /// A connection could not be forwarded.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A running port-forward; stops on the cancellation token or when dropped.
pub struct PortForward {
    local_addr: SocketAddr,
    events: tokio::sync::mpsc::UnboundedReceiver<ForwardEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl PortForward {
    /// The local address (127.0.0.1:port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next event (None once stopped).
    pub async fn next_event(&mut self) -> Option<ForwardEvent> {
        self.events.recv().await
    }

    /// Waits until the forward stops (the cancellation token fired).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        self.task.abort();
    }
}
