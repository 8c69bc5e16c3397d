//! Builds through the Engine API, with content-addressed tags and progress events.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion, TagImageOptionsBuilder};
use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::context::{BuildContext, sha256_digest};
use crate::engine::Engine;
use crate::error::{ImageError, Result};

/// How many lines of output a failed build keeps.
const KEPT_LINES: usize = 20;
/// Hex digits of the inputs digest used as the tag.
pub(crate) const TAG_LENGTH: usize = 12;

/// What is sent to the builder.
#[derive(Debug, Clone)]
pub enum ContextSource {
    /// A folder, streamed as a deterministic tar.
    Folder(BuildContext),
    /// A ready tar held in memory (a packaging recipe's), with its Dockerfile's path in it.
    Archive {
        /// The tar.
        tar: Bytes,
        /// The Dockerfile's path inside the tar.
        dockerfile: String,
    },
}

impl ContextSource {
    fn dockerfile(&self) -> &str {
        match self {
            Self::Folder(context) => context.dockerfile(),
            Self::Archive { dockerfile, .. } => dockerfile,
        }
    }

    /// The sha256 of the tar that is sent.
    pub fn digest(&self) -> Result<String> {
        match self {
            Self::Folder(context) => context.digest(),
            Self::Archive { tar, .. } => Ok(sha256_digest(tar)),
        }
    }
}

/// One image to build: the context and everything that changes the result.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// The repository the image is tagged in (`todo-backend`, `registry:5000/app`).
    pub repository: String,
    /// The context and its Dockerfile.
    pub context: ContextSource,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    /// `--target` stage.
    pub target: Option<String>,
    /// Labels set on the image.
    pub labels: BTreeMap<String, String>,
    /// Build without the layer cache (and never skip).
    pub no_cache: bool,
    /// Tags set besides the content tag (`latest` by default).
    pub extra_tags: Vec<String>,
}

impl BuildSpec {
    /// A spec with no args, labels or target, tagged `latest` besides its content tag.
    pub fn new(repository: impl Into<String>, context: ContextSource) -> Self {
        Self {
            repository: repository.into(),
            context,
            build_args: BTreeMap::new(),
            target: None,
            labels: BTreeMap::new(),
            no_cache: false,
            extra_tags: vec!["latest".to_string()],
        }
    }

    /// The sha256 of every input: the context's digest, the Dockerfile path, the target,
    /// the build args and the labels (except the provenance labels, revision and created,
    /// which say which commit built an image, not what it holds).
    pub fn inputs_digest(&self) -> Result<String> {
        let mut hasher = Sha256::new();
        let mut line = |text: String| {
            hasher.update(text.as_bytes());
            hasher.update(b"\n");
        };
        line("deploykit-image inputs v1".into());
        line(format!("context {}", self.context.digest()?));
        line(format!("dockerfile {}", self.context.dockerfile()));
        line(format!("target {}", self.target.as_deref().unwrap_or("")));
        for (name, value) in &self.build_args {
            line(format!("arg {name}={value}"));
        }
        for (name, value) in crate::package::content_labels(&self.labels) {
            line(format!("label {name}={value}"));
        }
        Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
    }

    /// The content tag: the first 12 hex digits of [`BuildSpec::inputs_digest`].
    pub fn content_tag(&self) -> Result<String> {
        let digest = self.inputs_digest()?;
        Ok(digest["sha256:".len()..][..TAG_LENGTH].to_string())
    }
}

/// Progress of a build, for a spinner or a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// The inputs digest is known and the image is looked up.
    Checking {
        /// `repository:content-tag`.
        reference: String,
    },
    /// An image with the content tag exists already: nothing is built.
    Skipped {
        /// `repository:content-tag`.
        reference: String,
    },
    /// The builder started a step (`Step 2/5 : COPY . /`).
    Step {
        /// 1-based step number.
        number: u32,
        /// Steps in the build.
        total: u32,
        /// The instruction, as the builder prints it.
        instruction: String,
    },
    /// A line of builder output (step output, pull status).
    Output(String),
}

/// The result of [`Engine::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// `repository:content-tag`: the reference to deploy.
    pub reference: String,
    /// The repository.
    pub repository: String,
    /// The content tag.
    pub tag: String,
    /// The image ID (`sha256:...`).
    pub id: String,
    /// Image size in bytes, as the daemon reports it.
    pub size: u64,
    /// True when an image with this content tag existed and nothing was built.
    pub skipped: bool,
    /// Wall time of the build (or of the check, when skipped).
    pub duration: Duration,
}

/// A step line of the classic builder.
fn parse_step(line: &str) -> Option<(u32, u32, String)> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, instruction) = rest.split_once(" : ")?;
    let (number, total) = counts.split_once('/')?;
    Some((
        number.parse().ok()?,
        total.parse().ok()?,
        instruction.trim().to_string(),
    ))
}

/// Follows the builder's output: steps, the last lines, and events for the caller.
struct OutputTracker<'a> {
    pending: String,
    step: Option<String>,
    last_lines: VecDeque<String>,
    on_event: &'a mut (dyn FnMut(BuildEvent) + Send),
}

impl OutputTracker<'_> {
    fn push(&mut self, text: &str) {
        self.pending.push_str(text);
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            self.line(line.trim_end());
        }
    }

    fn finish(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        if !rest.trim().is_empty() {
            self.line(rest.trim_end());
        }
    }

    fn line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        if let Some((number, total, instruction)) = parse_step(line) {
            self.step = Some(line.to_string());
            self.last_lines.clear();
            (self.on_event)(BuildEvent::Step {
                number,
                total,
                instruction,
            });
            return;
        }
        if self.last_lines.len() == KEPT_LINES {
            self.last_lines.pop_front();
        }
        self.last_lines.push_back(line.to_string());
        (self.on_event)(BuildEvent::Output(line.to_string()));
    }
}

/// [`BuildSpec::content_tag`] on a blocking thread: a folder context's digest reads every
/// file in it, which must not hold up the async workers.
async fn content_tag_off_runtime(spec: &BuildSpec) -> Result<String> {
    let owned = spec.clone();
    tokio::task::spawn_blocking(move || owned.content_tag())
        .await
        .unwrap_or_else(|error| {
            Err(ImageError::Read {
                path: match &spec.context {
                    ContextSource::Folder(context) => context.root().to_path_buf(),
                    ContextSource::Archive { dockerfile, .. } => dockerfile.into(),
                },
                source: std::io::Error::other(format!("hashing the build context: {error}")),
            })
        })
}

impl Engine {
    /// The image ID and size of `reference`, or `None` when there is no such image.
    pub async fn image_info(&self, reference: &str) -> Result<Option<(String, u64)>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some((
                image.id.unwrap_or_default(),
                image.size.unwrap_or_default().max(0) as u64,
            ))),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(source) => Err(ImageError::Engine {
                action: format!("inspect image {reference}"),
                source,
            }),
        }
    }

    /// Adds `repository:tag` to an existing image.
    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<()> {
        let options = TagImageOptionsBuilder::default()
            .repo(repository)
            .tag(tag)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(Engine::failed(format!("tag {image} as {repository}:{tag}")))
    }

    /// Removes `reference`: a tag is untagged, the image going with its last tag; an image
    /// id with `force` removes the image and every tag it has.
    pub async fn remove_image(&self, reference: &str, force: bool) -> Result<()> {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default()
            .force(force)
            .build();
        self.docker
            .remove_image(reference, Some(options), None)
            .await
            .map(|_| ())
            .map_err(Engine::failed(format!("remove image {reference}")))
    }

    /// Builds `spec` unless an image with its content tag exists (then it only makes sure
    /// the extra tags point at it). Never pulls a base image on purpose: the classic builder
    /// is asked with `pull` off, so `FROM scratch` and local images work offline.
    pub async fn build(
        &self,
        spec: &BuildSpec,
        on_event: &mut (dyn FnMut(BuildEvent) + Send),
    ) -> Result<BuiltImage> {
        let started = Instant::now();
        let tag = content_tag_off_runtime(spec).await?;
        let reference = format!("{}:{tag}", spec.repository);
        on_event(BuildEvent::Checking {
            reference: reference.clone(),
        });
        let existing = if spec.no_cache {
            None
        } else {
            self.image_info(&reference).await?
        };
        if let Some((id, size)) = existing {
            on_event(BuildEvent::Skipped {
                reference: reference.clone(),
            });
            self.tag_extra(spec, &reference).await?;
            return Ok(BuiltImage {
                reference,
                repository: spec.repository.clone(),
                tag,
                id,
                size,
                skipped: true,
                duration: started.elapsed(),
            });
        }

        let build_args: HashMap<&str, &str> = spec
            .build_args
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let labels: HashMap<&str, &str> = spec
            .labels
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(spec.context.dockerfile())
            .t(&reference)
            .buildargs(&build_args)
            .labels(&labels)
            .nocache(spec.no_cache)
            .rm(true)
            .forcerm(true)
            .version(BuilderVersion::BuilderV1);
        if let Some(target) = &spec.target {
            options = options.target(target);
        }
        let body = match &spec.context {
            ContextSource::Folder(context) => bollard::body_try_stream(context.tar_stream()),
            ContextSource::Archive { tar, .. } => bollard::body_full(tar.clone()),
        };

        let mut tracker = OutputTracker {
            pending: String::new(),
            step: None,
            last_lines: VecDeque::new(),
            on_event,
        };
        let mut stream = self.docker.build_image(options.build(), None, Some(body));
        let mut failure: Option<String> = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = &info.stream {
                        tracker.push(text);
                    }
                    if let Some(status) = &info.status {
                        tracker.push(&format!("{status}\n"));
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    failure = Some(error);
                    break;
                }
                Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                    failure = Some(message);
                    break;
                }
                Err(source) => {
                    return Err(ImageError::Engine {
                        action: format!("build {reference}"),
                        source,
                    });
                }
            }
        }
        tracker.finish();
        if let Some(message) = failure {
            return Err(ImageError::BuildFailed {
                image: reference,
                step: tracker
                    .step
                    .take()
                    .unwrap_or_else(|| "the start of the build".to_string()),
                message: message.trim().to_string(),
                last_lines: tracker.last_lines.into_iter().collect(),
            });
        }
        let (id, size) =
            self.image_info(&reference)
                .await?
                .ok_or_else(|| ImageError::BuildFailed {
                    image: reference.clone(),
                    step: tracker
                        .step
                        .clone()
                        .unwrap_or_else(|| "the end of the build".to_string()),
                    message: "the builder finished but the image is missing".to_string(),
                    last_lines: tracker.last_lines.iter().cloned().collect(),
                })?;
        self.tag_extra(spec, &reference).await?;
        Ok(BuiltImage {
            reference,
            repository: spec.repository.clone(),
            tag,
            id,
            size,
            skipped: false,
            duration: started.elapsed(),
        })
    }

    async fn tag_extra(&self, spec: &BuildSpec, reference: &str) -> Result<()> {
        for extra in &spec.extra_tags {
            self.tag(reference, &spec.repository, extra).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BuildSpec {
        BuildSpec::new(
            "app",
            ContextSource::Archive {
                tar: Bytes::from_static(b"tar bytes"),
                dockerfile: "Dockerfile".into(),
            },
        )
    }

    #[test]
    fn content_tag_follows_every_input() {
        let base = spec().content_tag().unwrap();
        assert_eq!(base.len(), TAG_LENGTH);
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(spec().content_tag().unwrap(), base);
        let mut with_arg = spec();
        with_arg.build_args.insert("A".into(), "1".into());
        let mut with_target = spec();
        with_target.target = Some("final".into());
        let mut with_label = spec();
        with_label.labels.insert("l".into(), "v".into());
        let mut other_context = spec();
        other_context.context = ContextSource::Archive {
            tar: Bytes::from_static(b"other"),
            dockerfile: "Dockerfile".into(),
        };
        for changed in [with_arg, with_target, with_label, other_context] {
            assert_ne!(changed.content_tag().unwrap(), base);
        }
    }

    #[test]
    fn step_lines_are_parsed() {
        assert_eq!(
            parse_step("Step 2/5 : COPY . /"),
            Some((2, 5, "COPY . /".to_string()))
        );
        assert_eq!(parse_step(" ---> Running in 1234"), None);
    }

    #[test]
    fn tracker_splits_lines_and_keeps_the_last_ones() {
        let mut events = Vec::new();
        let mut record = |event: BuildEvent| events.push(event);
        let mut tracker = OutputTracker {
            pending: String::new(),
            step: None,
            last_lines: VecDeque::new(),
            on_event: &mut record,
        };
        tracker.push("Step 1/2 : FROM scratch\n");
        tracker.push("Step 2/2 : RUN ma");
        tracker.push("ke\nline one\n");
        for index in 0..30 {
            tracker.push(&format!("out {index}\n"));
        }
        tracker.push("partial");
        tracker.finish();
        assert_eq!(tracker.step.as_deref(), Some("Step 2/2 : RUN make"));
        assert_eq!(tracker.last_lines.len(), KEPT_LINES);
        assert_eq!(
            tracker.last_lines.back().map(String::as_str),
            Some("partial")
        );
        drop(tracker);
        assert_eq!(
            events[1],
            BuildEvent::Step {
                number: 2,
                total: 2,
                instruction: "RUN make".into()
            }
        );
    }
}
