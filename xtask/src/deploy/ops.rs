//! The commands that look after a deployed release: status, history, rollback, undeploy,
//! logs, port-forward and diff.

use std::time::Duration;

use deploykit_cluster::{
    CancellationToken, Cluster, DiffAction, ForwardEvent, LogsRequest, ObjectDiff,
    PortForwardRequest, Readiness, Target as PodTarget,
};
use deploykit_release::{Diff, History, Rollback, Status, Uninstall};
use futures::StreamExt;

use super::display::DeployDisplay;
use super::release::{self, ValueFlags};
use super::{Target, connect, runtime};
use crate::project;

/// Options of `status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    target: Target,
}

/// Options of `history`.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    target: Target,
}

/// Options of `rollback`.
#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    #[command(flatten)]
    target: Target,
    /// The revision to go back to (default: the one before the current).
    revision: Option<u32>,
    /// How long to wait for readiness, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
}

/// Options of `undeploy`.
#[derive(clap::Args, Debug)]
pub struct UndeployArgs {
    #[command(flatten)]
    target: Target,
    /// Keep the release's history, marked uninstalled (Helm's `--keep-history`).
    #[arg(long)]
    keep_history: bool,
    /// Wait until the deleted objects are gone, finalizers done (Helm's `--wait`).
    #[arg(long)]
    wait: bool,
}

/// Options of `logs`.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    #[command(flatten)]
    target: Target,
    /// Whose logs: backend or frontend (default: both).
    service: Option<String>,
    /// Keep printing new lines.
    #[arg(long, short = 'f')]
    follow: bool,
    /// Only lines newer than this many seconds.
    #[arg(long, value_name = "SECONDS")]
    since: Option<u64>,
    /// Only the last N lines of each container.
    #[arg(long, value_name = "N")]
    tail: Option<i64>,
}

/// Options of `port-forward`.
#[derive(clap::Args, Debug)]
pub struct PortForwardArgs {
    #[command(flatten)]
    target: Target,
    /// The Service to forward to (default: the frontend's).
    #[arg(default_value = project::FRONTEND_SERVICE)]
    service: String,
    /// The local port on 127.0.0.1.
    #[arg(default_value_t = project::FORWARD_PORT)]
    port: u16,
    /// The Service's port (default: the same as the local port).
    #[arg(long)]
    remote_port: Option<u16>,
}

/// Options of `diff`.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    values: ValueFlags,
    /// Add values-minikube.yaml under the user's values, as deploy-local does.
    #[arg(long)]
    local: bool,
    /// Exit with 2 when the deploy would change something, 0 when it would not (1 stays
    /// an error), as `helm diff --detailed-exitcode` and `kubectl diff` do: for CI.
    #[arg(long)]
    exit_code: bool,
}

/// Runs `status`.
pub fn status(args: StatusArgs) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let status = runtime.block_on(async {
        let cluster = connect(args.target.context.as_deref()).await?;
        let status = Status::new(&cluster, &args.target.release, &args.target.namespace);
        anyhow::Ok(status.run().await?)
    })?;
    let release = &status.release;
    println!(
        "release {} in {}: revision {}, {} ({})",
        release.name,
        release.namespace,
        release.version,
        release.info.status,
        release.info.description
    );
    for (object, verdict) in &status.workloads {
        let state = match verdict.readiness {
            Readiness::Ready => "ready",
            Readiness::Waiting => "not ready",
            Readiness::Failed => "failed",
        };
        println!("  {object}: {state} ({})", verdict.detail);
    }
    Ok(())
}

/// Runs `history`.
pub fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let history = runtime.block_on(async {
        let cluster = connect(args.target.context.as_deref()).await?;
        let history = History::new(&cluster, &args.target.release, &args.target.namespace);
        anyhow::Ok(history.run().await?)
    })?;
    if history.is_empty() {
        anyhow::bail!(
            "release `{}` has no revisions in namespace `{}`: deploy it with `cargo xtask deploy-local`",
            args.target.release,
            args.target.namespace
        );
    }
    println!(
        "{:<9} {:<28} {:<16} description",
        "REVISION", "UPDATED", "STATUS"
    );
    for release in history {
        println!(
            "{:<9} {:<28} {:<16} {}",
            release.version,
            release.info.last_deployed,
            release.info.status,
            release.info.description
        );
    }
    Ok(())
}

/// Runs `rollback`.
pub fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let mut display = DeployDisplay::new();
    let outcome = runtime.block_on(async {
        let cluster = connect(args.target.context.as_deref()).await?;
        let cancel = CancellationToken::new();
        let mut rollback = Rollback::new(&cluster, &args.target.release, &args.target.namespace);
        rollback.revision = args.revision;
        rollback.timeout = Duration::from_secs(args.timeout);
        let outcome = rollback
            .run_with(&mut |event| display.show(&event), &cancel)
            .await?;
        anyhow::Ok(outcome)
    });
    display.finish();
    let outcome = outcome?;
    println!("rolled back: revision {} is deployed", outcome.revision);
    Ok(())
}

/// Runs `undeploy`.
pub fn undeploy(args: UndeployArgs) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let mut display = DeployDisplay::new();
    let outcome = runtime.block_on(async {
        let cluster = connect(args.target.context.as_deref()).await?;
        let mut uninstall = Uninstall::new(&cluster, &args.target.release, &args.target.namespace);
        uninstall.keep_history = args.keep_history;
        uninstall.wait = args.wait;
        anyhow::Ok(
            uninstall
                .run_with(&mut |event| display.show(&event))
                .await?,
        )
    });
    display.finish();
    let outcome = outcome?;
    println!(
        "release {} removed: {} objects deleted",
        args.target.release,
        outcome.deleted.len()
    );
    for object in &outcome.kept {
        println!(
            "  kept {object} (helm.sh/resource-policy: keep): delete it by hand to drop its data"
        );
    }
    Ok(())
}

/// Runs `logs`.
pub fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let services: Vec<&project::Service> = match &args.service {
        Some(name) => vec![project::service(name)?],
        None => project::SERVICES.iter().collect(),
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let cluster = connect(args.target.context.as_deref()).await?;
        let mut streams = Vec::new();
        for service in services {
            let workload = PodTarget::Workload {
                kind: "Deployment".into(),
                name: format!("{}-{}", args.target.release, service.name),
            };
            let mut request = LogsRequest::new(&args.target.namespace, workload);
            request.follow = args.follow;
            request.since = args.since.map(Duration::from_secs);
            request.tail = args.tail;
            request.all_containers = true;
            streams.push(cluster.logs(&request).await?);
        }
        let mut merged = futures::stream::select_all(streams);
        while let Some(line) = merged.next().await {
            let line = line?;
            println!("{}/{} {}", line.pod, line.container, line.line);
        }
        anyhow::Ok(())
    })
}

/// Runs `port-forward`.
pub fn port_forward(args: PortForwardArgs) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let cluster = runtime.block_on(connect(args.target.context.as_deref()))?;
    let request = PortForwardRequest {
        namespace: args.target.namespace.clone(),
        target: PodTarget::Service(args.service.clone()),
        remote_port: args.remote_port.unwrap_or(args.port),
        local_port: args.port,
    };
    forward(&runtime, &cluster, request)
}

/// Forwards 127.0.0.1:`local_port` to the frontend Service until Ctrl-C
/// (deploy-local --port-forward).
pub fn forward_until_ctrl_c(
    runtime: &tokio::runtime::Runtime,
    cluster: &Cluster,
    namespace: &str,
    local_port: u16,
) -> anyhow::Result<()> {
    let request = PortForwardRequest {
        namespace: namespace.to_string(),
        target: PodTarget::Service(project::FRONTEND_SERVICE.to_string()),
        remote_port: project::FORWARD_PORT,
        local_port,
    };
    forward(runtime, cluster, request)
}

fn forward(
    runtime: &tokio::runtime::Runtime,
    cluster: &Cluster,
    request: PortForwardRequest,
) -> anyhow::Result<()> {
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let mut forward = cluster.port_forward(request, cancel.clone()).await?;
        println!("forwarding http://{} (Ctrl-C to stop)", forward.local_addr());
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    cancel.cancel();
                    break;
                }
                event = forward.next_event() => match event {
                    Some(ForwardEvent::Forwarding { pod, port }) => eprintln!("  to pod {pod}:{port}"),
                    Some(ForwardEvent::Failed { reason }) => eprintln!("  connection failed: {reason}"),
                    None => break,
                }
            }
        }
        forward.wait().await;
        anyhow::Ok(())
    })
}

/// Runs `diff`: 0 when nothing would change (or without `--exit-code`), 2 when something
/// would with `--exit-code`.
pub fn diff(args: DiffArgs) -> anyhow::Result<std::process::ExitCode> {
    let runtime = runtime()?;
    let base = if args.local {
        vec![project::root().join(project::LOCAL_VALUES)]
    } else {
        Vec::new()
    };
    let chart = release::chart()?;
    let changes = runtime.block_on(async {
        let cluster = connect(args.target.context.as_deref()).await?;
        let history = History::new(&cluster, &args.target.release, &args.target.namespace)
            .run()
            .await?;
        let overrides = release::Overrides {
            images: history
                .last()
                .map(|release| deployed_images(&release.config))
                .unwrap_or_default(),
            pull_policy: None,
            existing_secret: Some(project::SECRET_NAME.to_string()),
            // As a deploy would set it; without a readable `.env` a deploy generates one,
            // and the preview shows the annotation going.
            env_digest: release::env_secret_digest().ok(),
        };
        let values = release::values(&base, &args.values, &overrides)?;
        let diff = Diff::new(&cluster, &args.target.release, &args.target.namespace);
        anyhow::Ok(diff.run(&chart, &values).await?)
    })?;
    // The server's dry-run apply (`dryRun=All`) answers for each object when it can; where
    // it cannot, deploykit compares by itself, and says so.
    let fallbacks: std::collections::BTreeSet<&str> = changes
        .iter()
        .filter_map(|change| change.fallback.as_deref())
        .collect();
    for reason in fallbacks {
        eprintln!("note: compared without a server-side dry run: {reason}");
    }
    let changed = print_changes(&changes);
    if changed == 0 {
        println!("no changes: an apply would write nothing");
    }
    Ok(if args.exit_code && changed > 0 {
        std::process::ExitCode::from(2)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// Prints each object that would change with its fields (a Secret's values never reach
/// the terminal: only its changed paths do); returns how many there are.
fn print_changes(changes: &[ObjectDiff]) -> usize {
    let mut changed = 0;
    for change in changes {
        let word = match change.action {
            DiffAction::Unchanged => continue,
            DiffAction::Create => "create",
            DiffAction::Update => "update",
            DiffAction::Delete => "delete",
            DiffAction::Keep => "keep (resource-policy)",
        };
        changed += 1;
        println!("{word} {}", change.object);
        let secret = change.object.kind == "Secret";
        for field in &change.fields {
            let show = |value: &Option<serde_json::Value>| match value {
                None => "(absent)".to_string(),
                Some(_) if secret => "(hidden)".to_string(),
                Some(value) => value.to_string(),
            };
            println!(
                "    {}: {} -> {}",
                field.path,
                show(&field.live),
                show(&field.desired)
            );
        }
    }
    changed
}

/// The image repositories and tags a deployed revision runs, from its user values, so
/// that `diff` compares like with like.
fn deployed_images(
    config: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(String, String, String)> {
    project::SERVICES
        .iter()
        .filter_map(|service| {
            let image = config.get(service.name)?.get("image")?;
            let repository = image.get("repository")?.as_str()?;
            let tag = image.get("tag")?.as_str()?;
            Some((
                service.name.to_string(),
                repository.to_string(),
                tag.to_string(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployed_images_come_from_the_release_values() {
        let config = serde_json::json!({
            "backend": {"image": {"repository": "todo-backend", "tag": "abc"}},
            "frontend": {"image": {"repository": "todo-frontend"}}
        });
        let config = config.as_object().cloned().unwrap_or_default();
        assert_eq!(
            deployed_images(&config),
            vec![(
                "backend".to_string(),
                "todo-backend".to_string(),
                "abc".to_string()
            )]
        );
    }
}
