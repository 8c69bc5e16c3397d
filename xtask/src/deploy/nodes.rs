//! What the cluster's nodes already hold: a loaded image that every node lists in its
//! status needs no second `kind load` / `k3d image import` (each costs seconds).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use crate::build_images::BuiltImage;

/// The images of `images` that are not yet on every node (all of them when the nodes
/// cannot be listed: loading again is slow but never wrong).
pub async fn missing_from_nodes(client: &kube::Client, images: &[BuiltImage]) -> Vec<BuiltImage> {
    let nodes = match Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(list) if !list.items.is_empty() => list.items,
        _ => return images.to_vec(),
    };
    let on_every_node = nodes
        .iter()
        .map(node_images)
        .reduce(|all, node| all.intersection(&node).cloned().collect())
        .unwrap_or_default();
    images
        .iter()
        .filter(|image| !on_every_node.contains(&short_name(&image.reference)))
        .cloned()
        .collect()
}

/// The image names a node reports, in the short form `docker images` prints.
fn node_images(node: &Node) -> BTreeSet<String> {
    node.status
        .iter()
        .flat_map(|status| status.images.iter().flatten())
        .flat_map(|image| image.names.iter().flatten())
        .map(|name| short_name(name))
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
