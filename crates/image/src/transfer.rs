//! Moving images elsewhere: export to a tar, hand a tar to a loader program, push.

use std::path::Path;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::engine::{Engine, error_chain};
use crate::error::{ImageError, Result};
use crate::reference::ImageReference;
use crate::registry::RegistryCredentials;

/// A program that loads an exported image tar somewhere (a cluster's image store, say):
/// `program args...`, where the argument `{tar}` is replaced by the tar's path and
/// `{image}` by the image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderCommand {
    /// The program to run.
    pub program: String,
    /// Its arguments, with `{tar}` and `{image}` placeholders.
    pub args: Vec<String>,
}

impl LoaderCommand {
    /// The arguments with the placeholders filled in.
    pub fn resolved_args(&self, tar: &Path, image: &str) -> Vec<String> {
        self.args
            .iter()
            .map(|arg| {
                arg.replace("{tar}", &tar.display().to_string())
                    .replace("{image}", image)
            })
            .collect()
    }

    /// Runs the loader on `tar`; a failure carries its exit status and last output lines.
    pub fn run(&self, tar: &Path, image: &str) -> Result<()> {
        let args = self.resolved_args(tar, image);
        let command = std::iter::once(self.program.clone())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let output = duct::cmd(&self.program, &args)
            .stderr_to_stdout()
            .stdout_capture()
            .unchecked()
            .run()
            .map_err(|error| ImageError::LoaderFailed {
                command: command.clone(),
                reason: format!(
                    "cannot run {} ({error}): is it installed and on PATH?",
                    self.program
                ),
            })?;
        if output.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        Err(ImageError::LoaderFailed {
            command,
            reason: format!("{}\n{tail}", output.status),
        })
    }
}

impl Engine {
    /// Writes `reference` as a `docker save` tar to `path`, streaming.
    pub async fn export_image(&self, reference: &str, path: &Path) -> Result<u64> {
        let write_error = |source: std::io::Error| ImageError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::create(path).await.map_err(write_error)?;
        let mut stream = self.docker.export_image(reference);
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(Engine::failed(format!("export image {reference}")))?;
            written += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(write_error)?;
        }
        file.flush().await.map_err(write_error)?;
        Ok(written)
    }

    /// Loads a `docker save` tar into this daemon (`docker load`).
    pub async fn import_image(&self, path: &Path) -> Result<()> {
        let data = tokio::fs::read(path)
            .await
            .map_err(|source| ImageError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        let options = bollard::query_parameters::ImportImageOptionsBuilder::default().build();
        let mut stream = self
            .docker
            .import_image(options, bollard::body_full(data.into()), None);
        while let Some(item) = stream.next().await {
            item.map_err(Engine::failed(format!("load {}", path.display())))?;
        }
        Ok(())
    }

    /// Exports `image` to a temporary tar and runs `loader` on it.
    pub async fn load_with(
        &self,
        image: &str,
        loader: &LoaderCommand,
        temp_dir: &Path,
    ) -> Result<()> {
        let file_name: String = image
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let tar = temp_dir.join(format!("{file_name}.tar"));
        self.export_image(image, &tar).await?;
        let loader = loader.clone();
        let image_name = image.to_string();
        let tar_path = tar.clone();
        let result = tokio::task::spawn_blocking(move || loader.run(&tar_path, &image_name))
            .await
            .map_err(|error| ImageError::LoaderFailed {
                command: image.to_string(),
                reason: error.to_string(),
            })?;
        let _ = tokio::fs::remove_file(&tar).await;
        result
    }

    /// Pushes `reference` (which must carry a tag) with `credentials`, reporting each
    /// status line to `on_line`.
    pub async fn push(
        &self,
        reference: &ImageReference,
        credentials: Option<&RegistryCredentials>,
        on_line: &mut (dyn FnMut(String) + Send),
    ) -> Result<()> {
        let tag = reference
            .tag
            .clone()
            .unwrap_or_else(|| "latest".to_string());
        let options = PushImageOptionsBuilder::default().tag(&tag).build();
        let credentials = credentials.map(|credentials| DockerCredentials {
            username: Some(credentials.username.clone()).filter(|user| !user.is_empty()),
            password: Some(credentials.password.clone()).filter(|password| !password.is_empty()),
            identitytoken: credentials.identity_token.clone(),
            serveraddress: Some(credentials.server.clone()),
            ..Default::default()
        });
        let name = reference.name();
        let mut stream = self.docker.push_image(&name, Some(options), credentials);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|error| ImageError::Engine {
                action: format!("push {name}:{tag} (log in with `docker login {}` if the registry needs it): {}", reference.registry, error_chain(&error)),
                source: error,
            })?;
            if let Some(status) = info.status {
                on_line(status);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_placeholders_are_filled() {
        let loader = LoaderCommand {
            program: "kind".into(),
            args: vec![
                "load".into(),
                "image-archive".into(),
                "{tar}".into(),
                "--name".into(),
                "dev".into(),
            ],
        };
        assert_eq!(
            loader.resolved_args(Path::new("/tmp/a.tar"), "app:1"),
            ["load", "image-archive", "/tmp/a.tar", "--name", "dev"]
        );
    }

    #[test]
    fn missing_loader_says_so() {
        let loader = LoaderCommand {
            program: "deploykit-no-such-loader".into(),
            args: vec!["{tar}".into()],
        };
        let error = loader
            .run(Path::new("/tmp/x.tar"), "app:1")
            .unwrap_err()
            .to_string();
        assert!(error.contains("is it installed and on PATH"), "{error}");
    }

    #[test]
    fn failing_loader_shows_its_output() {
        let loader = LoaderCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "echo cannot load {image} >&2; exit 3".into()],
        };
        let error = loader
            .run(Path::new("/tmp/x.tar"), "app:1")
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot load app:1"), "{error}");
        assert!(error.contains("exit status: 3"), "{error}");
    }
}
