//! What the cluster's nodes already hold: a loaded image that every node lists in its
//! status needs no second `kind load` / `k3d image import` (each costs seconds).

use std::collections::BTreeSet;

use deploykit_cluster::Cluster;

use crate::build_images::BuiltImage;

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
