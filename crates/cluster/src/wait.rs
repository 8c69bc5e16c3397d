//! Rollout verdicts and failure diagnosis from object status (pure).
//!
//! The I/O side ([`crate::Cluster`]) fetches workloads, pods and events and asks these
//! functions whether a workload is ready and, when it is not, why.

use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Event, PersistentVolumeClaim, Pod};

use crate::manifest::ObjectRef;

/// Whether a workload has finished rolling out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Rolled out and ready.
    Ready,
    /// Still progressing.
    Waiting,
    /// Will not become ready by itself (e.g. a failed Job, a passed progress deadline).
    Failed,
}

/// A verdict on one workload, with the figures behind it (`2/3 updated, 1/3 available`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Ready, waiting or failed.
    pub readiness: Readiness,
    /// Human-readable figures or reason.
    pub detail: String,
}

impl Verdict {
    fn ready(detail: impl Into<String>) -> Self {
        Verdict {
            readiness: Readiness::Ready,
            detail: detail.into(),
        }
    }
    fn waiting(detail: impl Into<String>) -> Self {
        Verdict {
            readiness: Readiness::Waiting,
            detail: detail.into(),
        }
    }
    fn failed(detail: impl Into<String>) -> Self {
        Verdict {
            readiness: Readiness::Failed,
            detail: detail.into(),
        }
    }
}

/// The kinds whose readiness deploykit waits for.
pub const WAITED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "PersistentVolumeClaim",
    "Service",
];

/// Deployment: as `kubectl rollout status` judges it.
pub fn deployment_verdict(deployment: &Deployment) -> Verdict {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let want = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let Some(status) = &deployment.status else {
        return Verdict::waiting("waiting for the controller to see it");
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Verdict::waiting(format!(
            "waiting for generation {generation} to be observed"
        ));
    }
    if let Some(condition) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing")
        && condition.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return Verdict::failed(format!(
            "progress deadline exceeded: {}",
            condition.message.clone().unwrap_or_default()
        ));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let figures =
        format!("{updated}/{want} updated, {ready}/{want} ready, {available}/{want} available");
    if updated < want || total > updated || available < updated {
        let old = total - updated;
        if updated >= want && old > 0 {
            return Verdict::waiting(format!("{figures}, {old} old pending termination"));
        }
        return Verdict::waiting(figures);
    }
    Verdict::ready(figures)
}

/// StatefulSet: all replicas ready and on the update revision.
pub fn statefulset_verdict(set: &StatefulSet) -> Verdict {
    let generation = set.metadata.generation.unwrap_or(0);
    let want = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(status) = &set.status else {
        return Verdict::waiting("waiting for the controller to see it");
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Verdict::waiting(format!(
            "waiting for generation {generation} to be observed"
        ));
    }
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let figures = format!("{updated}/{want} updated, {ready}/{want} ready");
    let revision_done =
        status.update_revision.is_none() || status.update_revision == status.current_revision;
    if ready < want || updated < want || !revision_done {
        return Verdict::waiting(figures);
    }
    Verdict::ready(figures)
}

/// DaemonSet: scheduled everywhere it should be, updated and available.
pub fn daemonset_verdict(set: &DaemonSet) -> Verdict {
    let generation = set.metadata.generation.unwrap_or(0);
    let Some(status) = &set.status else {
        return Verdict::waiting("waiting for the controller to see it");
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Verdict::waiting(format!(
            "waiting for generation {generation} to be observed"
        ));
    }
    let want = status.desired_number_scheduled;
    let updated = status.updated_number_scheduled.unwrap_or(0);
    let available = status.number_available.unwrap_or(0);
    let figures = format!("{updated}/{want} updated, {available}/{want} available");
    if updated < want || available < want {
        return Verdict::waiting(figures);
    }
    Verdict::ready(figures)
}

/// Job: complete, or failed with the controller's message.
pub fn job_verdict(job: &Job) -> Verdict {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    for condition in conditions.into_iter().flatten() {
        if condition.status == "True" && condition.type_ == "Complete" {
            return Verdict::ready("complete");
        }
        if condition.status == "True" && condition.type_ == "Failed" {
            let why = condition
                .message
                .clone()
                .or(condition.reason.clone())
                .unwrap_or_default();
            return Verdict::failed(format!("job failed: {why}"));
        }
    }
    let succeeded = job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
    let want = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
    Verdict::waiting(format!("{succeeded}/{want} completions"))
}

/// PersistentVolumeClaim: bound.
pub fn pvc_verdict(claim: &PersistentVolumeClaim) -> Verdict {
    match claim.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Bound") => Verdict::ready("bound"),
        Some("Lost") => Verdict::failed("the claim lost its volume"),
        phase => Verdict::waiting(format!("{} (not bound yet)", phase.unwrap_or("Pending"))),
    }
}

/// Service: has at least one ready endpoint (services without a selector, and
/// ExternalName services, are ready as they are).
pub fn service_verdict(selector_present: bool, endpoints: Option<&Endpoints>) -> Verdict {
    if !selector_present {
        return Verdict::ready("no selector");
    }
    let ready = endpoints
        .and_then(|e| e.subsets.as_ref())
        .into_iter()
        .flatten()
        .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
        .sum::<usize>();
    if ready == 0 {
        Verdict::waiting("no ready endpoints")
    } else {
        Verdict::ready(format!("{ready} ready endpoint(s)"))
    }
}

/// What keeps a pod from running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `ErrImageNeverPull`: the image is not in the node's runtime and may not be pulled.
    ImageNotInCluster,
    /// `ErrImagePull`/`ImagePullBackOff`/`InvalidImageName`.
    ImagePull,
    /// `CrashLoopBackOff`: the container keeps exiting.
    CrashLoop,
    /// The scheduler cannot place the pod.
    Unschedulable,
    /// Readiness or liveness probes fail.
    ProbeFailing,
    /// `CreateContainerConfigError` or a failed mount: a Secret/ConfigMap (key) is missing.
    BadConfigReference,
    /// A workload reported failure itself (failed Job, progress deadline).
    WorkloadFailed,
    /// Nothing specific found before the timeout.
    Timeout,
}

impl Cause {
    /// Whether waiting longer cannot help: the wait stops at once with the diagnosis.
    pub fn is_fatal(self) -> bool {
        !matches!(self, Cause::ProbeFailing | Cause::Timeout)
    }
}

/// One reason a rollout does not progress, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The pod (or workload) concerned.
    pub subject: String,
    /// The container concerned, when one is.
    pub container: Option<String>,
    /// The kind of problem.
    pub cause: Cause,
    /// What the cluster said.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// The container's last log lines (crash loops).
    pub last_log_lines: Vec<String>,
}

/// Why a release did not become ready.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnosis {
    /// Workloads not ready at the end, with their figures.
    pub not_ready: Vec<(ObjectRef, String)>,
    /// Problems found in pods and events (empty: none found, just slow).
    pub problems: Vec<Problem>,
    /// Set when the wait ran out of time.
    pub timed_out_after: Option<std::time::Duration>,
}

impl Diagnosis {
    /// One line for a release record's description (Helm keeps one there): the timeout,
    /// then each object not ready and each problem, separated by `; `.
    pub fn summary(&self) -> String {
        let timeout = self
            .timed_out_after
            .map(|after| format!("timed out after {}s", after.as_secs()));
        let not_ready = self
            .not_ready
            .iter()
            .map(|(object, detail)| format!("{object} not ready: {detail}"));
        let problems = self
            .problems
            .iter()
            .map(|problem| format!("{}: {}", problem.subject, problem.message));
        let parts: Vec<String> = timeout
            .into_iter()
            .chain(not_ready)
            .chain(problems)
            .collect();
        if parts.is_empty() {
            "not ready".to_string()
        } else {
            parts.join("; ")
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(after) = self.timed_out_after {
            write!(f, "timed out after {}s", after.as_secs())?;
        }
        for (object, detail) in &self.not_ready {
            write!(f, "\n  {object} not ready: {detail}")?;
        }
        for problem in &self.problems {
            let container = problem
                .container
                .as_deref()
                .map(|c| format!(" container {c}"))
                .unwrap_or_default();
            write!(
                f,
                "\n  {}{container}: {}\n    fix: {}",
                problem.subject, problem.message, problem.fix
            )?;
            for line in &problem.last_log_lines {
                write!(f, "\n    | {line}")?;
            }
        }
        Ok(())
    }
}

/// Reads pods (and the events about them) for the problems that stop a rollout.
pub fn diagnose_pods(pods: &[Pod], events: &[Event]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let subject = format!("pod {name}");
        let Some(status) = &pod.status else { continue };
        let mut found = false;
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for container in statuses {
            let waiting = container.state.as_ref().and_then(|s| s.waiting.as_ref());
            let reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or("");
            let message = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
            let problem = |cause, message: String, fix: String| Problem {
                subject: subject.clone(),
                container: Some(container.name.clone()),
                cause,
                message,
                fix,
                last_log_lines: Vec::new(),
            };
            let image = &container.image;
            match reason {
                "ErrImageNeverPull" => problems.push(problem(
                    Cause::ImageNotInCluster,
                    or_default(message, format!("image {image} is not in the cluster's container runtime and its pull policy is Never")),
                    format!("build the image into the cluster's runtime (minikube: `eval $(minikube docker-env)` then build; kind: `kind load docker-image {image}`; k3d: `k3d image import {image}`)"),
                )),
                "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" => problems.push(problem(
                    Cause::ImagePull,
                    or_default(message, format!("{reason}: image {image} cannot be pulled")),
                    format!("build the image into the cluster's runtime (minikube docker-env, kind load) and use imagePullPolicy IfNotPresent or Never, or push {image} to a registry the cluster can reach"),
                )),
                "CrashLoopBackOff" => {
                    let last = container.last_state.as_ref().and_then(|s| s.terminated.as_ref());
                    let exit = last.map(|t| format!("exit code {}{}", t.exit_code, t.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()));
                    problems.push(problem(
                        Cause::CrashLoop,
                        format!("the container keeps crashing (CrashLoopBackOff, {} restarts{})", container.restart_count, exit.map(|e| format!(", last {e}")).unwrap_or_default()),
                        "read the log lines below; fix the program or its configuration (environment, Secret values, database URL)".to_string(),
                    ));
                }
                "CreateContainerConfigError" | "CreateContainerError" => problems.push(problem(
                    Cause::BadConfigReference,
                    or_default(message, reason.to_string()),
                    "create the Secret/ConfigMap (and key) the pod refers to, or fix the reference in the chart values".to_string(),
                )),
                _ => {}
            }
            found |= !reason.is_empty() && problems.last().is_some_and(|p| p.subject == subject);
        }
        if found {
            continue;
        }
        let unschedulable = status.conditions.iter().flatten().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        });
        if let Some(condition) = unschedulable {
            let message = condition
                .message
                .clone()
                .or_else(|| {
                    event_about(events, &name, &["FailedScheduling"])
                        .map(|e| e.message.clone().unwrap_or_default())
                })
                .unwrap_or_default();
            problems.push(Problem {
                subject,
                container: None,
                cause: Cause::Unschedulable,
                message: format!("the scheduler cannot place the pod: {message}"),
                fix: "free or add node capacity (e.g. `minikube start --cpus/--memory`), lower the resource requests, or fix node selectors/taints".to_string(),
                last_log_lines: Vec::new(),
            });
            continue;
        }
        if let Some(event) = event_about(events, &name, &["FailedMount"]) {
            problems.push(Problem {
                subject,
                container: None,
                cause: Cause::BadConfigReference,
                message: event.message.clone().unwrap_or_default(),
                fix: "create the Secret/ConfigMap the volume refers to, or fix the reference"
                    .to_string(),
                last_log_lines: Vec::new(),
            });
            continue;
        }
        if let Some(event) = event_about(events, &name, &["Unhealthy"]) {
            let message = event.message.clone().unwrap_or_default();
            let container = event
                .involved_object
                .field_path
                .as_deref()
                .and_then(container_of_field_path);
            problems.push(Problem {
                subject,
                container,
                cause: Cause::ProbeFailing,
                message: format!("{message} (seen {} times)", event.count.unwrap_or(1)),
                fix: "check the probe's path and port against what the container serves, and give it time with initialDelaySeconds/startupProbe".to_string(),
                last_log_lines: Vec::new(),
            });
        }
    }
    problems
}

fn or_default(message: String, default: String) -> String {
    if message.is_empty() { default } else { message }
}

fn event_about<'a>(events: &'a [Event], pod: &str, reasons: &[&str]) -> Option<&'a Event> {
    events
        .iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(pod)
                && e.reason.as_deref().is_some_and(|r| reasons.contains(&r))
        })
        .max_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0))
}

fn container_of_field_path(path: &str) -> Option<String> {
    path.strip_prefix("spec.containers{")
        .and_then(|rest| rest.strip_suffix('}'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web-1"}, "status": status})).unwrap()
    }

    fn waiting(reason: &str, message: &str) -> Pod {
        pod(
            json!({"containerStatuses": [{"name": "web", "image": "web:abc", "imageID": "", "ready": false, "restartCount": 4,
            "state": {"waiting": {"reason": reason, "message": message}},
            "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}),
        )
    }

    #[test]
    fn deployment_figures_follow_kubectl_rollout_status() {
        let d = |generation: i64, status: serde_json::Value| -> Deployment {
            serde_json::from_value(json!({"metadata": {"name": "d", "generation": generation}, "spec": {"replicas": 2, "selector": {}, "template": {}}, "status": status})).unwrap()
        };
        assert_eq!(
            deployment_verdict(&d(2, json!({"observedGeneration": 1}))).readiness,
            Readiness::Waiting
        );
        let partial = deployment_verdict(&d(
            2,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
        ));
        assert_eq!(
            partial.detail,
            "2/2 updated, 2/2 ready, 2/2 available, 1 old pending termination"
        );
        let done = deployment_verdict(&d(
            2,
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
        ));
        assert_eq!(done.readiness, Readiness::Ready);
        let stuck = deployment_verdict(&d(
            2,
            json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]}),
        ));
        assert_eq!(stuck.readiness, Readiness::Failed);
    }

    #[test]
    fn other_workloads() {
        let job: Job = serde_json::from_value(json!({"status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}})).unwrap();
        assert_eq!(job_verdict(&job).readiness, Readiness::Failed);
        let claim: PersistentVolumeClaim =
            serde_json::from_value(json!({"status": {"phase": "Pending"}})).unwrap();
        assert_eq!(pvc_verdict(&claim).readiness, Readiness::Waiting);
        let endpoints: Endpoints =
            serde_json::from_value(json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}))
                .unwrap();
        assert_eq!(
            service_verdict(true, Some(&endpoints)).readiness,
            Readiness::Ready
        );
        assert_eq!(service_verdict(true, None).readiness, Readiness::Waiting);
        let set: StatefulSet = serde_json::from_value(json!({"metadata": {"generation": 1}, "spec": {"replicas": 1, "selector": {}, "template": {}, "serviceName": "s"}, "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "currentRevision": "a", "updateRevision": "a"}})).unwrap();
        assert_eq!(statefulset_verdict(&set).readiness, Readiness::Ready);
        let ds: DaemonSet = serde_json::from_value(json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberMisscheduled": 0, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1}})).unwrap();
        assert_eq!(daemonset_verdict(&ds).detail, "2/2 updated, 1/2 available");
    }

    #[test]
    fn every_waiting_reason_is_diagnosed_with_a_fix() {
        let cases = [
            (
                "ErrImageNeverPull",
                Cause::ImageNotInCluster,
                "minikube docker-env",
            ),
            ("ImagePullBackOff", Cause::ImagePull, "registry"),
            ("CrashLoopBackOff", Cause::CrashLoop, "log"),
            (
                "CreateContainerConfigError",
                Cause::BadConfigReference,
                "Secret/ConfigMap",
            ),
        ];
        for (reason, cause, fix) in cases {
            let problems = diagnose_pods(&[waiting(reason, "")], &[]);
            assert_eq!(problems.len(), 1, "{reason}");
            assert_eq!(problems[0].cause, cause);
            assert!(
                problems[0].fix.contains(fix),
                "{reason}: {}",
                problems[0].fix
            );
            assert!(cause.is_fatal());
        }
        let crash = &diagnose_pods(&[waiting("CrashLoopBackOff", "")], &[])[0];
        assert!(
            crash.message.contains("4 restarts") && crash.message.contains("exit code 3"),
            "{}",
            crash.message
        );
    }

    #[test]
    fn unschedulable_carries_the_scheduler_message() {
        let p = pod(
            json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu."}]}),
        );
        let problems = diagnose_pods(&[p], &[]);
        assert_eq!(problems[0].cause, Cause::Unschedulable);
        assert!(problems[0].message.contains("Insufficient cpu"));
    }

    #[test]
    fn failing_probes_come_from_events() {
        let p = pod(
            json!({"containerStatuses": [{"name": "web", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}]}),
        );
        let event: Event = serde_json::from_value(json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
            "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 503", "count": 7})).unwrap();
        let problems = diagnose_pods(&[p], &[event]);
        assert_eq!(problems[0].cause, Cause::ProbeFailing);
        assert_eq!(problems[0].container.as_deref(), Some("web"));
        assert!(
            problems[0].message.contains("statuscode: 503")
                && problems[0].message.contains("7 times")
        );
        assert!(!Cause::ProbeFailing.is_fatal());
    }

    #[test]
    fn healthy_pods_have_no_problems() {
        let p = pod(
            json!({"containerStatuses": [{"name": "web", "image": "i", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
        );
        assert!(diagnose_pods(&[p], &[]).is_empty());
    }
}
