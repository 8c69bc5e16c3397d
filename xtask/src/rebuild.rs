//! What the compose and cluster watch loops share once a batch of changes is known:
//! rebuilding the changed services' images (the `watch` profile, statically, one cargo run
//! each) with the time of each phase, and each service's current and previous image, so
//! that the images older than those can be removed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use deploykit_image::DockerHost;

use crate::build_images::{BuildOptions, BuiltImage, build_services};
use crate::changes::seconds;
use crate::project::Service;

/// The images one watch cycle rebuilt.
pub(crate) struct Rebuild {
    /// One per affected service, in start order.
    pub images: Vec<BuiltImage>,
    /// How long compiling took (the whole build less packaging).
    pub compile: Duration,
}

impl Rebuild {
    /// `compile 12.87 s, package 0.05 s, load 0.26 s` for `image`: packaging is the
    /// image made in memory, loading is handing it to the daemon.
    pub(crate) fn times(&self, image: &BuiltImage) -> String {
        self.times_delivered(image, Duration::ZERO)
    }

    /// The same, `load` including `delivery`: the time taken to get the image from that
    /// daemon to the cluster's nodes (kind's or k3d's load, a push).
    pub(crate) fn times_delivered(&self, image: &BuiltImage, delivery: Duration) -> String {
        format!(
            "compile {}, package {}, load {}",
            seconds(self.compile),
            seconds(image.build_time.saturating_sub(image.load_time)),
            seconds(image.load_time + delivery)
        )
    }
}

/// Compiles `services` (the `watch` profile, statically) and packages their images into
/// the daemon at `docker_host` (`None`: the one DOCKER_HOST names). A failure comes back
/// as the line the cycle's block prints for each service: cargo has already printed the
/// compile error.
pub(crate) fn rebuild(
    services: &[&Service],
    docker_host: Option<DockerHost>,
) -> Result<Rebuild, String> {
    let options = BuildOptions {
        services: services
            .iter()
            .map(|service| service.name.to_string())
            .collect(),
        watch_profile: true,
        docker_host,
        ..BuildOptions::default()
    };
    let started = Instant::now();
    let images = build_services(&options).map_err(|error| {
        format!(
            "not rebuilt: {error:#} ({}); the running version stays up",
            seconds(started.elapsed())
        )
    })?;
    let package: Duration = images.iter().map(|image| image.build_time).sum();
    let compile = started.elapsed().saturating_sub(package);
    Ok(Rebuild { images, compile })
}

/// Each service's current and previous image, by a key the loop chooses (compose: the
/// variable naming the image, `TODO_BACKEND_IMAGE`; the cluster: the service's name).
pub(crate) struct ImageHistory {
    /// The image each service runs now.
    pub current: BTreeMap<String, String>,
    /// The image each service ran before the current one.
    previous: BTreeMap<String, String>,
}

impl ImageHistory {
    /// The images running now, none before them.
    pub(crate) fn new(current: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            current: current.into_iter().collect(),
            previous: BTreeMap::new(),
        }
    }

    /// Makes `reference` the current image of the service at `key`: the current one
    /// becomes the previous one, and the previous one is returned as superseded (unless
    /// it is the new one again, after an edit was undone).
    pub(crate) fn replace(&mut self, key: &str, reference: &str) -> Option<String> {
        let running = self
            .current
            .insert(key.to_string(), reference.to_string())?;
        let older = self.previous.insert(key.to_string(), running.clone())?;
        (older != reference && older != running).then_some(older)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_older_than_the_previous_one_are_superseded() {
        let var = "TODO_BACKEND_IMAGE";
        let mut history = ImageHistory::new([(var.to_string(), "b:a".to_string())]);
        let mut replace = |reference: &str| history.replace(var, reference);
        assert_eq!(replace("b:b"), None, "a is previous now");
        assert_eq!(replace("b:c"), Some("b:a".to_string()));
        assert_eq!(replace("b:b"), None, "back to b: c is previous, b current");
        assert_eq!(replace("b:d"), Some("b:c".to_string()));
        assert_eq!(history.current[var], "b:d");
        assert_eq!(history.previous[var], "b:b");
        let mut other = ImageHistory::new([]);
        assert_eq!(other.replace(var, "b:x"), None, "a service not running yet");
    }
}
