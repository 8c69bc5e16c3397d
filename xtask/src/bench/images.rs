//! `cargo xtask bench images`: image sizes, packaging time (compilation excluded) and the
//! no-change rebuild, next to `docker build` of the same layout with the classic builder
//! (the anchor). Images are tagged under a prefix unique to the run and removed at the end.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use deploykit_image::Engine;

use crate::build_images::{self, BuildOptions, Mode};
use crate::project::{self, SERVICES};

/// Options of `bench images`.
#[derive(clap::Args)]
pub struct Args {
    /// Packagings measured per service (the median is printed).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    let runs = args.runs.max(1);
    let root = project::root();
    let prefix = format!("deploykit-bench-{}/", std::process::id());
    let services: Vec<_> = SERVICES.iter().collect();
    let binaries =
        build_images::compile_static(&root, &services, build_images::CargoProfile::Release, true)?;
    let labels = build_images::image_labels(&root)?;
    let runtime = build_images::runtime()?;
    let engine = runtime.block_on(Engine::connect())?;
    let result = (|| -> anyhow::Result<()> {
        println!(
            "{:<10} {:>9} {:>14} {:>14} {:>10} {:>16}",
            "service", "size", "package+load", "docker build", "ratio", "no-change check"
        );
        for service in &services {
            let repository = format!("{prefix}{}", service.repository);
            let recipe = build_images::package_recipe(service, binaries.join(service.binary));
            let mut package_times = Vec::new();
            let mut size = 0;
            for _ in 0..runs {
                let started = Instant::now();
                let packaged = recipe.package(&repository, &labels)?;
                let image = runtime.block_on(engine.install(&packaged, &mut |_| {}))?;
                package_times.push(started.elapsed());
                size = image.size;
                runtime.block_on(engine.remove_image(&image.id, true))?;
            }
            let packaged = recipe.package(&repository, &labels)?;
            runtime.block_on(engine.install(&packaged, &mut |_| {}))?;
            let mut check_times = Vec::new();
            for _ in 0..runs {
                let started = Instant::now();
                let again = recipe.package(&repository, &labels)?;
                let image = runtime.block_on(engine.install(&again, &mut |_| {}))?;
                check_times.push(started.elapsed());
                anyhow::ensure!(image.skipped, "an unchanged image was loaded again");
            }
            let mut anchor_times = Vec::new();
            for run in 0..runs {
                anchor_times.push(docker_build_anchor(
                    &recipe,
                    &packaged,
                    &format!("{repository}-anchor:{run}"),
                )?);
            }
            let (package, anchor) = (super::median(&package_times), super::median(&anchor_times));
            println!(
                "{:<10} {:>6.1} MB {:>12.0}ms {:>12.0}ms {:>9.1}x {:>14.0}ms",
                service.name,
                size as f64 / 1e6,
                package.as_secs_f64() * 1e3,
                anchor.as_secs_f64() * 1e3,
                anchor.as_secs_f64() / package.as_secs_f64(),
                super::median(&check_times).as_secs_f64() * 1e3,
            );
        }
        let started = Instant::now();
        let images = build_images::build_services(&BuildOptions {
            mode: Some(Mode::Package),
            repository_prefix: prefix.clone(),
            ..BuildOptions::default()
        })?;
        let elapsed = started.elapsed();
        anyhow::ensure!(
            images.iter().all(|image| image.skipped),
            "expected no change"
        );
        println!(
            "build-images with no change (cargo's no-op check included): {:.0}ms",
            elapsed.as_secs_f64() * 1e3
        );
        Ok(())
    })();
    cleanup(&prefix);
    result
}

/// `docker build --no-cache` of the recipe's equivalent Dockerfile on the same files.
fn docker_build_anchor(
    recipe: &deploykit_image::PackageRecipe,
    packaged: &deploykit_image::PackagedImage,
    tag: &str,
) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    extract_layer(packaged, dir.path())?;
    std::fs::write(dir.path().join("Dockerfile"), recipe.dockerfile())?;
    let started = Instant::now();
    let output = std::process::Command::new("docker")
        .args(["build", "-q", "--no-cache", "-t", tag])
        .arg(dir.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .context("cannot run docker")?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        output.status.success(),
        "docker build of the anchor failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(elapsed)
}

/// Writes the packaged layer as the recipe's Dockerfile context expects it: everything
/// under `rootfs/`, and an empty `data/`.
fn extract_layer(packaged: &deploykit_image::PackagedImage, dir: &Path) -> anyhow::Result<()> {
    let mut outer = tar::Archive::new(packaged.archive().as_ref());
    for entry in outer.entries()? {
        let mut entry = entry?;
        if !entry.path()?.to_string_lossy().ends_with("layer.tar") {
            continue;
        }
        let mut layer = Vec::new();
        entry.read_to_end(&mut layer)?;
        tar::Archive::new(layer.as_slice()).unpack(dir.join("rootfs"))?;
    }
    std::fs::rename(dir.join("rootfs/data"), dir.join("data"))?;
    Ok(())
}

fn cleanup(prefix: &str) {
    let listed = std::process::Command::new("docker")
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .output();
    if let Ok(output) = listed {
        for reference in String::from_utf8_lossy(&output.stdout).lines() {
            if reference.starts_with(prefix) {
                let _ = std::process::Command::new("docker")
                    .args(["rmi", "-f", reference])
                    .output();
            }
        }
    }
}
