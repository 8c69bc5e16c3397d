//! Where `repository:latest` pointed before a run that builds the app's images, and
//! putting it back afterwards: each release build moves `latest`, and a benchmark or a
//! test must leave it naming what it named before.
//!
//! Shared by `bench watch` and the watch tests (`xtask/tests/common`, which include this
//! file by its path): it uses nothing but std and the `docker` CLI.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

/// The app's `latest` tags and the image each named when noted.
pub struct LatestTags {
    /// `repository:latest` -> the image id it named (empty: none).
    before: Vec<(String, String)>,
}

impl LatestTags {
    /// Notes where `todo-backend:latest` and `todo-frontend:latest` point now.
    pub fn note() -> Self {
        Self {
            before: ["todo-backend:latest", "todo-frontend:latest"]
                .map(|latest| (latest.to_string(), image_id(latest)))
                .to_vec(),
        }
    }

    /// The `latest` tags that now name one of the images `ours` (ids, from [`ids_of`]).
    #[allow(
        dead_code,
        reason = "the watch tests check this; the benchmark only restores"
    )]
    pub fn naming(&self, ours: &BTreeSet<String>) -> Vec<String> {
        self.before
            .iter()
            .map(|(latest, _)| latest.clone())
            .filter(|latest| ours.contains(&image_id(latest)))
            .collect()
    }

    /// Puts each `latest` that names one of `ours` back where it was (removes it when it
    /// named nothing). One that names another image is left alone: another build moved
    /// it since.
    pub fn restore(&self, ours: &BTreeSet<String>) {
        for (latest, before) in &self.before {
            if !ours.contains(&image_id(latest)) {
                continue;
            }
            if before.is_empty() {
                docker(&["rmi", latest]);
            } else {
                docker(&["tag", before, latest]);
            }
        }
    }
}

/// The ids of the images `references` name that still exist.
pub fn ids_of<'a>(references: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    references
        .into_iter()
        .map(|reference| image_id(reference))
        .filter(|id| !id.is_empty())
        .collect()
}

/// The id of the image `reference` names; empty when there is none (or no Docker).
fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
}

/// `docker args`, its standard output trimmed (empty when it fails).
pub(crate) fn docker(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_default()
}
