//! The images on the cluster's nodes: a loaded image that every node lists in its status
//! needs no second `kind load` / `k3d image import` (each costs seconds), and an image a
//! watch cycle superseded is removed from the nodes, so a day of editing does not fill
//! their disks.

use std::collections::BTreeSet;

use anyhow::Context as _;
use deploykit_cluster::Cluster;

use super::watch::Delivery;
use crate::build_images::{self, BuiltImage, ClusterLoader};

/// The images of `images` that are not yet on every node (all of them when the nodes
/// cannot be listed: loading again is slow but never wrong).
pub async fn missing_from_nodes(cluster: &Cluster, images: &[BuiltImage]) -> Vec<BuiltImage> {
    let nodes = match cluster.node_images().await {
        Ok(nodes) if !nodes.is_empty() => nodes,
        _ => return images.to_vec(),
    };
    let on_every_node = nodes
        .iter()
        .map(|names| names.iter().map(|name| short_name(name)).collect())
        .reduce(|all: BTreeSet<String>, node| all.intersection(&node).cloned().collect())
        .unwrap_or_default();
    images
        .iter()
        .filter(|image| !on_every_node.contains(&short_name(&image.reference)))
        .cloned()
        .collect()
}

/// Removes `reference` from where the cluster's nodes hold it, and from the Docker daemon
/// it was built in; returns where it was removed from. Never forced: minikube's, crictl's
/// and Docker's removal refuse an image a container still uses. An error says what was
/// kept, and where the image was removed all the same.
pub fn remove_superseded(delivery: &Delivery, reference: &str) -> anyhow::Result<String> {
    match delivery {
        Delivery::Minikube(minikube) => {
            minikube.remove_image(reference)?;
            Ok(format!(
                "minikube's node with `minikube -p {} image rm`",
                minikube.profile()
            ))
        }
        Delivery::Load(loader) => remove_from_nodes(loader, reference),
        Delivery::Push(registry) => {
            // The push left the registry's name on the local copy too: without it, `docker
            // rmi` would only untag the image. The registry keeps its copy (deleting from
            // a registry is its owner's policy).
            let pushed = build_images::pushed_reference(registry, reference)?.to_string();
            run("docker", &["rmi", reference, &pushed])?;
            Ok(format!(
                "Docker (also its tag {pushed}; the registry keeps it)"
            ))
        }
        Delivery::Local => {
            run("docker", &["rmi", reference])?;
            Ok("Docker".to_string())
        }
    }
}

/// Removes `reference` from each node of a kind or k3d cluster (`crictl rmi` in each node
/// container), then from the local Docker daemon. A node that refuses does not stop the
/// others.
fn remove_from_nodes(loader: &ClusterLoader, reference: &str) -> anyhow::Result<String> {
    let nodes = node_containers(loader)?;
    let mut removed = Vec::new();
    let mut failures = Vec::new();
    for node in &nodes {
        match run("docker", &["exec", node, "crictl", "rmi", reference]) {
            Ok(_) => removed.push(node.clone()),
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    let docker = run("docker", &["rmi", reference]);
    if failures.is_empty() && docker.is_ok() {
        return Ok(format!(
            "the nodes ({}) with `crictl rmi`, and from Docker",
            removed.join(", ")
        ));
    }
    match docker {
        Ok(_) => removed.push("Docker".to_string()),
        Err(error) => failures.push(format!("{error:#}")),
    }
    let also = if removed.is_empty() {
        String::new()
    } else {
        format!(" (removed from {} all the same)", removed.join(", "))
    };
    anyhow::bail!("{}{also}", failures.join("; "))
}

/// The containers that are the nodes of a kind or k3d cluster (both label them with the
/// cluster's name; k3d's load balancer is no node).
fn node_containers(loader: &ClusterLoader) -> anyhow::Result<Vec<String>> {
    let label = match loader {
        ClusterLoader::Kind(name) => format!(
            "label=io.x-k8s.kind.cluster={}",
            name.as_deref().unwrap_or("kind")
        ),
        ClusterLoader::K3d(name) => format!(
            "label=k3d.cluster={}",
            name.as_deref().unwrap_or("k3s-default")
        ),
        ClusterLoader::Minikube(_) => anyhow::bail!("minikube's images are removed with minikube"),
    };
    let names = run(
        "docker",
        &["ps", "--filter", &label, "--format", "{{.Names}}"],
    )?;
    Ok(names
        .lines()
        .filter(|name| !name.is_empty() && !name.ends_with("-serverlb"))
        .map(str::to_string)
        .collect())
}

/// Runs a program; its standard output, or an error with its standard error.
fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = duct::cmd(program, args)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `docker.io/library/todo-backend:abc` → `todo-backend:abc` (containerd nodes report
/// the long form of the names Docker prints short).
fn short_name(reference: &str) -> String {
    let name = reference.strip_prefix("docker.io/").unwrap_or(reference);
    name.strip_prefix("library/").unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_match_docker_names() {
        assert_eq!(
            short_name("docker.io/library/todo-backend:abc"),
            "todo-backend:abc"
        );
        assert_eq!(short_name("docker.io/team/app:1"), "team/app:1");
        assert_eq!(short_name("todo-backend:abc"), "todo-backend:abc");
        assert_eq!(
            short_name("registry.example.com/app:1"),
            "registry.example.com/app:1"
        );
    }
}
