//! Helm hooks, run as Helm's `execHook` runs them: the hooks of one event by weight then
//! name; each one's previous object deleted first (`before-hook-creation`, the default),
//! applied, waited for (Jobs until complete, Pods until they succeed, other kinds at
//! once); deleted afterwards as `hook-succeeded` / `hook-failed` say; each run kept in the
//! revision's record.

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio_util::sync::CancellationToken;

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::manifest::{HookEvent, Manifest, ObjectRef};
use crate::observe::WaitFailure;
use crate::ops::Progress;
use crate::release::{Release, go_time};
use crate::wait::{Cause, Diagnosis, Problem};
use deploykit_chart::manifest::{BEFORE_HOOK_CREATION, HOOK_FAILED, HOOK_SUCCEEDED};

/// One test hook's run, for [`Cluster::test`].
#[derive(Debug, Clone, PartialEq)]
pub struct TestRun {
    /// The test's object (a Pod, usually).
    pub object: ObjectRef,
    /// `Succeeded`, `Failed`, or empty when an earlier test failed and it did not run.
    pub phase: String,
    /// Its log lines (every container's, each line after its container's name when the Pod has
    /// several; empty for other kinds).
    pub logs: Vec<String>,
}

/// What [`Cluster::test`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// The revision tested.
    pub revision: u32,
    /// Each test, in the order run.
    pub tests: Vec<TestRun>,
    /// Why the tests stopped, when one failed.
    pub failure: Option<String>,
}

impl TestOutcome {
    /// Whether every test ran and succeeded.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.tests.iter().all(|t| t.phase == "Succeeded")
    }
}

impl Cluster {
    /// Runs the hooks of `record` for `event`, updating their runs in the record (and
    /// writing it as each starts and ends, as Helm does).
    pub(crate) async fn run_hooks(
        &self,
        record: &mut Release,
        event: HookEvent,
        timeout: Duration,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<()> {
        let mut executing: Vec<(usize, Manifest)> = record
            .hooks
            .iter()
            .enumerate()
            .filter(|(_, h)| h.events.iter().any(|e| e == event.as_str()))
            .filter_map(|(i, h)| h.to_manifest().map(|m| (i, m)))
            .collect();
        let weight = |m: &Manifest| m.hook.as_ref().map_or(0, |h| h.weight);
        executing.sort_by(|(_, a), (_, b)| {
            weight(a)
                .cmp(&weight(b))
                .then_with(|| a.reference.name.cmp(&b.reference.name))
        });
        for position in 0..executing.len() {
            let index = executing[position].0;
            if record.hooks[index].delete_policies.is_empty() {
                record.hooks[index].delete_policies = vec![BEFORE_HOOK_CREATION.to_string()];
            }
            if let Some(hook) = &mut executing[position].1.hook {
                hook.delete_policies = record.hooks[index].delete_policies.clone();
            }
            let manifest = &executing[position].1;
            self.delete_hook_by_policy(manifest, &record.namespace, BEFORE_HOOK_CREATION)
                .await?;
            record.hooks[index].last_run.started_at = go_time(Utc::now());
            record.hooks[index].last_run.phase = "Running".into();
            self.update_record(record).await?;
            progress(Progress::Hook {
                event,
                object: manifest.reference.clone(),
                phase: "Running".into(),
            });
            let outcome = self
                .run_hook(manifest, event, record, timeout, progress, cancel)
                .await;
            record.hooks[index].last_run.completed_at = go_time(Utc::now());
            let phase = if outcome.is_ok() {
                "Succeeded"
            } else {
                "Failed"
            };
            record.hooks[index].last_run.phase = phase.into();
            progress(Progress::Hook {
                event,
                object: manifest.reference.clone(),
                phase: phase.into(),
            });
            if let Err(error) = outcome {
                // As Helm 4, the failed run is not recorded here (the record says
                // `Running`): the action records the release with it, or, as a rollback
                // does, leaves it as it was.
                // As Helm 4: the failed hook goes by `hook-failed`, and the hooks of this
                // event that had succeeded before it by `hook-succeeded`.
                self.delete_hook_by_policy(manifest, &record.namespace, HOOK_FAILED)
                    .await?;
                for (_, earlier) in &executing[..position] {
                    self.delete_hook_by_policy(earlier, &record.namespace, HOOK_SUCCEEDED)
                        .await?;
                }
                return Err(error);
            }
            self.update_record(record).await?;
        }
        for (_, manifest) in executing.iter().rev() {
            self.delete_hook_by_policy(manifest, &record.namespace, HOOK_SUCCEEDED)
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_hook(
        &self,
        manifest: &Manifest,
        event: HookEvent,
        record: &Release,
        timeout: Duration,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<()> {
        self.apply_hook(manifest, &record.namespace).await?;
        let failed = |diagnosis: Diagnosis| Error::HookFailed {
            release: record.name.clone(),
            event,
            object: Box::new(manifest.reference.clone()),
            diagnosis: Box::new(diagnosis),
            rolled_back_to: None,
        };
        if manifest.reference.kind == "Pod" && manifest.reference.group().is_empty() {
            return self
                .wait_pod_done(manifest, &record.namespace, timeout, cancel)
                .await
                .map_err(|failure| match failure {
                    WaitFailure::Failed(diagnosis) => failed(diagnosis),
                    WaitFailure::Interrupted => Error::Interrupted {
                        release: record.name.clone(),
                        revision: record.version,
                    },
                    WaitFailure::Api(error) => error,
                });
        }
        match self
            .wait_ready(
                std::slice::from_ref(manifest),
                &record.namespace,
                timeout,
                progress,
                cancel,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(WaitFailure::Failed(diagnosis)) => Err(failed(diagnosis)),
            Err(WaitFailure::Interrupted) => Err(Error::Interrupted {
                release: record.name.clone(),
                revision: record.version,
            }),
            Err(WaitFailure::Api(error)) => Err(error),
        }
    }

    /// Waits until a hook Pod has run to the end: `Succeeded`, or a diagnosis with its
    /// last log lines when it failed or the time ran out.
    async fn wait_pod_done(
        &self,
        manifest: &Manifest,
        release_namespace: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> std::result::Result<(), WaitFailure> {
        let namespace = manifest
            .reference
            .namespace
            .clone()
            .unwrap_or_else(|| release_namespace.to_string());
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let name = manifest.reference.name.as_str();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pod = pods
                .get_opt(name)
                .await
                .map_err(crate::cluster::api_error(format!(
                    "reading Pod {namespace}/{name}"
                )))?;
            let phase = pod
                .as_ref()
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".into());
            if phase == "Succeeded" {
                return Ok(());
            }
            let timed_out = tokio::time::Instant::now() >= deadline;
            if phase == "Failed" || timed_out {
                let logs = self.pod_log_lines(&pods, name, 20).await;
                let object = ObjectRef {
                    namespace: Some(namespace.clone()),
                    ..manifest.reference.clone()
                };
                return Err(WaitFailure::Failed(Diagnosis {
                    not_ready: vec![(object.clone(), format!("pod {phase}"))],
                    problems: vec![Problem {
                        subject: object.to_string(),
                        container: None,
                        cause: Cause::WorkloadFailed,
                        message: format!("the hook pod ended {phase}"),
                        fix: "read its log lines below, fix the cause and run again".into(),
                        last_log_lines: logs,
                    }],
                    timed_out_after: timed_out.then_some(timeout),
                }));
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(WaitFailure::Interrupted),
                () = tokio::time::sleep(self.options.poll_interval) => {}
            }
        }
    }

    /// A Pod's last `tail` log lines (all when `tail` is 0): every container's, each line
    /// after its container's name when there are several (the API server refuses a log
    /// request that names no container for those). Empty when the logs cannot be read.
    async fn pod_log_lines(&self, pods: &Api<Pod>, name: &str, tail: i64) -> Vec<String> {
        let containers: Vec<String> = match pods.get_opt(name).await {
            Ok(Some(pod)) => pod
                .spec
                .map(|spec| spec.containers.into_iter().map(|c| c.name).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let params = |container: Option<String>| LogParams {
            container,
            tail_lines: (tail > 0).then_some(tail),
            ..LogParams::default()
        };
        if containers.len() < 2 {
            return match pods.logs(name, &params(None)).await {
                Ok(text) => text.lines().map(str::to_string).collect(),
                Err(_) => Vec::new(),
            };
        }
        let mut lines = Vec::new();
        for container in containers {
            if let Ok(text) = pods.logs(name, &params(Some(container.clone()))).await {
                lines.extend(text.lines().map(|line| format!("{container}: {line}")));
            }
        }
        lines
    }

    /// Deletes a hook's object when `policy` is among its delete policies (never a
    /// CustomResourceDefinition: Helm spares them, their deletion cascades).
    async fn delete_hook_by_policy(
        &self,
        manifest: &Manifest,
        namespace: &str,
        policy: &str,
    ) -> Result<()> {
        if manifest.reference.kind == "CustomResourceDefinition" {
            return Ok(());
        }
        if manifest.hook.as_ref().is_some_and(|h| h.has_policy(policy)) {
            self.delete_one(&manifest.reference, namespace).await?;
        }
        Ok(())
    }

    /// Runs the `test` hooks of the latest revision (Helm's `helm test`) and reads each
    /// test Pod's logs. A failed test is reported in the outcome, not as an error.
    pub async fn test(
        &self,
        name: &str,
        namespace: &str,
        timeout: Duration,
        progress: &mut (dyn FnMut(Progress) + Send),
        cancel: &CancellationToken,
    ) -> Result<TestOutcome> {
        let mut record =
            self.history(name, namespace)
                .await?
                .pop()
                .ok_or_else(|| Error::ReleaseNotFound {
                    release: name.into(),
                    namespace: namespace.into(),
                })?;
        let result = self
            .run_hooks(&mut record, HookEvent::Test, timeout, progress, cancel)
            .await;
        if result.is_err() {
            // As Helm's `ReleaseTesting`: the record keeps the failed run.
            let _ = self.update_record(&record).await;
        }
        let failure = match result {
            Ok(()) => None,
            Err(error @ (Error::HookFailed { .. } | Error::Interrupted { .. })) => {
                Some(error.to_string())
            }
            Err(error) => return Err(error),
        };
        let mut tests = Vec::new();
        for hook in record
            .hooks
            .iter()
            .filter(|h| h.events.iter().any(|e| e == HookEvent::Test.as_str()))
        {
            let Some(manifest) = hook.to_manifest() else {
                continue;
            };
            let object_namespace = manifest
                .reference
                .namespace
                .clone()
                .unwrap_or_else(|| namespace.to_string());
            let logs = if hook.kind == "Pod" && !hook.last_run.phase.is_empty() {
                let pods: Api<Pod> = Api::namespaced(self.client.clone(), &object_namespace);
                self.pod_log_lines(&pods, &hook.name, 0).await
            } else {
                Vec::new()
            };
            tests.push(TestRun {
                object: manifest.reference,
                phase: hook.last_run.phase.clone(),
                logs,
            });
        }
        Ok(TestOutcome {
            revision: record.version,
            tests,
            failure,
        })
    }
}
