//! Scan a build context as `docker build` sends it (`.dockerignore` applied), then build
//! its Dockerfile on the local Docker Engine, tagged with a digest of its inputs (a second
//! run finds the tag and skips the build):
//! `cargo run -p deploykit-image --example build_context -- FOLDER` (without a folder, a
//! small `FROM scratch` context in a temporary folder).

use std::io::Write;
use std::path::Path;

use deploykit_image::{BuildContext, BuildEvent, BuildSpec, BuiltImage, ContextSource, Engine};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let folder = match std::env::args_os().nth(1) {
        Some(folder) => folder.into(),
        None => {
            write_sample(scratch.path())?;
            scratch.path().to_path_buf()
        }
    };
    let mut out = std::io::stdout().lock();
    let context = describe(&folder, &mut out)?;
    // Without a daemon, the error says how to start Docker or where DOCKER_HOST points.
    let engine = Engine::connect().await?;
    build(&engine, context, "deploykit-example", &mut out).await?;
    Ok(())
}

/// A context whose `.dockerignore` leaves out the logs.
fn write_sample(folder: &Path) -> std::io::Result<()> {
    std::fs::write(
        folder.join("Dockerfile"),
        "FROM scratch\nCOPY hello.txt /\n",
    )?;
    std::fs::write(folder.join(".dockerignore"), "*.log\n")?;
    std::fs::write(folder.join("hello.txt"), "hello\n")?;
    std::fs::write(folder.join("debug.log"), "not sent\n")
}

/// Scans `folder` (its `Dockerfile`) and writes what it sends and its digest to `out`.
fn describe(
    folder: &Path,
    out: &mut impl Write,
) -> Result<BuildContext, Box<dyn std::error::Error>> {
    let context = BuildContext::scan(folder, "Dockerfile")?;
    for path in context.paths() {
        writeln!(out, "sends {path}")?;
    }
    writeln!(out, "context {}", context.digest()?)?;
    Ok(context)
}

/// Builds `context` into `repository`, writing the builder's steps and the image to `out`.
async fn build(
    engine: &Engine,
    context: BuildContext,
    repository: &str,
    out: &mut impl Write,
) -> Result<BuiltImage, Box<dyn std::error::Error>> {
    let spec = BuildSpec::new(repository, ContextSource::Folder(context));
    let mut steps = Vec::new();
    let image = engine
        .build(&spec, &mut |event| {
            if let BuildEvent::Step {
                number,
                total,
                instruction,
            } = event
            {
                steps.push(format!("step {number}/{total}: {instruction}"));
            }
        })
        .await?;
    for step in steps {
        writeln!(out, "  {step}")?;
    }
    let skipped = if image.skipped { ", already built" } else { "" };
    writeln!(out, "{} ({} bytes{skipped})", image.reference, image.size)?;
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_leaves_out_what_dockerignore_names() {
        let dir = tempfile::tempdir().unwrap();
        write_sample(dir.path()).unwrap();
        let mut out = Vec::new();
        let context = describe(dir.path(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with(
                "sends .dockerignore\nsends Dockerfile\nsends hello.txt\ncontext sha256:"
            ),
            "{out}"
        );
        let again = describe(dir.path(), &mut Vec::new()).unwrap();
        assert_eq!(context.digest().unwrap(), again.digest().unwrap());
    }

    #[test]
    fn a_missing_dockerfile_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let error = describe(dir.path(), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("Dockerfile"), "{error}");
    }

    /// What a program keeps across awaits or spawns is Send (and Sync): compile-time checks.
    #[test]
    fn engines_contexts_errors_and_builds_can_cross_tasks() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>(_: &T) {}
        send_sync::<Engine>();
        send_sync::<BuildContext>();
        send_sync::<BuildSpec>();
        send_sync::<deploykit_image::ImageError>();
        #[allow(dead_code)]
        fn build_future_is_send(engine: &Engine, spec: &BuildSpec) {
            send(&engine.build(spec, &mut |_| {}));
        }
    }

    #[tokio::test]
    async fn builds_once_then_finds_the_tag() {
        let connected = Engine::connect().await;
        let check = connected.as_ref().map(|_| ()).map_err(ToString::to_string);
        if !deploykit_testkit::require("Docker", check) {
            return;
        }
        let engine = connected.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_sample(dir.path()).unwrap();
        let repository = format!("deploykit-example-test-{}", std::process::id());
        let context = describe(dir.path(), &mut Vec::new()).unwrap();
        let built = build(&engine, context.clone(), &repository, &mut Vec::new()).await;
        let again = build(&engine, context, &repository, &mut Vec::new()).await;
        if let Ok(image) = &built {
            // By id, forced: every tag goes (the content tag and `latest`).
            engine.remove_image(&image.id, true).await.unwrap();
        }
        let (built, again) = (built.unwrap(), again.unwrap());
        assert!(!built.skipped && again.skipped);
        assert_eq!(built.reference, again.reference);
        assert!(built.reference.starts_with(&format!("{repository}:")));
    }
}
