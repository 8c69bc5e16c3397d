//! The images compose-up starts: built by `build-images` (skipped when unchanged).

use super::settings::Settings;
use crate::build_images::{BuildOptions, build_services};
use anyhow::Context as _;

/// Builds every service's image (with the `watch` profile for `--watch`); returns the
/// compose variable that names each image (`TODO_BACKEND_IMAGE`) with its
/// content-addressed reference.
pub fn build(settings: &Settings, watch_profile: bool) -> anyhow::Result<Vec<(String, String)>> {
    let options = BuildOptions {
        show_progress: true,
        watch_profile,
        ..BuildOptions::default()
    };
    let built = build_services(&options).context(
        "building the images failed (fix the cause, then run `cargo xtask compose-up` again)",
    )?;
    Ok(built
        .into_iter()
        .filter_map(|image| {
            let service = settings.service(image.service)?;
            Some((service.image_var.clone(), image.reference))
        })
        .collect())
}
