//! Packaging: a `FROM scratch` image around one static binary, from an in-memory context.
//!
//! No base image and no registry are involved, so this works offline. The image holds the
//! binary at `/<name>`, CA roots, an `/etc/passwd` and `/etc/group` with a non-root user, a
//! writable `/data` owned by that user, and runs as that user, with an optional
//! `HEALTHCHECK` that calls the binary itself. The binary must be statically linked: a
//! dynamically linked one is refused (see `binary.rs`).
//!
//! The image's `created` date is provenance, like the revision: it changes the image ID but
//! not the content tag, so rebuilding unchanged inputs reuses the image.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use bytes::Bytes;

use futures::StreamExt;
use std::time::Instant;

use crate::build::{BuildEvent, BuiltImage, TAG_LENGTH};
use crate::context::sha256_digest;
use crate::engine::Engine;
use crate::error::{ImageError, Result};

/// The OCI label that carries the creation time; packaged images take it, when given, as
/// their `created` date (else [`source_date_epoch`]'s fallbacks apply).
pub const CREATED_LABEL: &str = "org.opencontainers.image.created";

/// The OCI label that carries the source revision (the commit).
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// Labels that say when and from which commit an image was made, not what it holds. They
/// stay out of content tags, so a commit that changes no input reuses the image (and a
/// cluster does not roll it out again).
pub const PROVENANCE_LABELS: [&str; 2] = [REVISION_LABEL, CREATED_LABEL];

/// `labels` without the [`PROVENANCE_LABELS`].
pub fn content_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(name, _)| !PROVENANCE_LABELS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Where the CA bundle is taken from on the host, when it exists.
pub const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The CA bundle's path inside packaged images (where most TLS stacks look).
pub const IMAGE_CA_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// The Docker `HEALTHCHECK` of a packaged image: the binary run with `args`.
///
/// No recipe has one by default (only the binary knows how to check itself); a binary
/// that answers `NAME healthcheck` adds `Healthcheck::default()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// Arguments given to the binary (`["healthcheck"]`).
    pub args: Vec<String>,
    /// Seconds between checks.
    pub interval_secs: u32,
    /// Seconds before one check counts as failed.
    pub timeout_secs: u32,
    /// Seconds after start during which failures do not count.
    pub start_period_secs: u32,
    /// Failures in a row before the container is unhealthy.
    pub retries: u32,
}

impl Default for Healthcheck {
    fn default() -> Self {
        Self {
            args: vec!["healthcheck".to_string()],
            interval_secs: 5,
            timeout_secs: 3,
            start_period_secs: 5,
            retries: 3,
        }
    }
}

/// How to package one static binary.
#[derive(Debug, Clone)]
pub struct PackageRecipe {
    /// The binary on the host (statically linked: the image has no libc).
    pub binary: PathBuf,
    /// Its name in the image: it is installed as `/<name>` and is the entrypoint.
    pub name: String,
    /// Ports to `EXPOSE`.
    pub ports: Vec<u16>,
    /// Environment set in the image.
    pub env: BTreeMap<String, String>,
    /// The user (and group) id the process runs as; it owns `/data`.
    pub uid: u32,
    /// The healthcheck, if any (none by default).
    pub healthcheck: Option<Healthcheck>,
    /// PEM CA roots to install; `None` takes the host's bundle or, if absent, the
    /// Mozilla roots bundled in this crate.
    pub ca_roots: Option<Vec<u8>>,
    /// The image's architecture in Go's names (`amd64`, `arm64`): this machine's by
    /// default, since the binary is built here.
    pub architecture: String,
    /// Tags set besides the content tag when the image is installed (`latest` by
    /// default, as [`BuildSpec`](crate::BuildSpec) does). Not part of the content tag.
    pub extra_tags: Vec<String>,
}

impl PackageRecipe {
    /// A recipe with the defaults: uid 10001, no healthcheck, no ports, no env, tagged
    /// `latest` besides its content tag.
    pub fn new(binary: impl Into<PathBuf>, name: impl Into<String>) -> Self {
        Self {
            binary: binary.into(),
            name: name.into(),
            ports: Vec::new(),
            env: BTreeMap::new(),
            uid: 10001,
            healthcheck: None,
            ca_roots: None,
            architecture: go_arch(std::env::consts::ARCH).to_string(),
            extra_tags: vec!["latest".to_string()],
        }
    }

    /// The Dockerfile equivalent to the packaged image (for reading, and to keep a
    /// project's own Dockerfiles in step with the recipe; packaging does not use it).
    pub fn dockerfile(&self) -> String {
        let uid = self.uid;
        let entrypoint = format!("/{}", self.name);
        let mut text =
            String::from("# Generated by deploykit-image: a static binary on scratch.\n");
        text.push_str("FROM scratch\n");
        text.push_str("COPY rootfs/ /\n");
        let _ = writeln!(text, "COPY --chown={uid}:{uid} data/ /data/");
        let mut env = self.env.clone();
        env.entry("SSL_CERT_FILE".to_string())
            .or_insert_with(|| format!("/{IMAGE_CA_BUNDLE}"));
        for (name, value) in &env {
            let _ = writeln!(text, "ENV {name}={}", quote(value));
        }
        let _ = writeln!(text, "USER {uid}:{uid}");
        let _ = writeln!(text, "WORKDIR /data");
        for port in &self.ports {
            let _ = writeln!(text, "EXPOSE {port}");
        }
        if let Some(check) = &self.healthcheck {
            let command = json_array(
                std::iter::once(entrypoint.as_str()).chain(check.args.iter().map(String::as_str)),
            );
            let _ = writeln!(
                text,
                "HEALTHCHECK --interval={}s --timeout={}s --start-period={}s --retries={} CMD {command}",
                check.interval_secs, check.timeout_secs, check.start_period_secs, check.retries
            );
        }
        let _ = writeln!(text, "ENTRYPOINT {}", json_array([entrypoint.as_str()]));
        text
    }

    /// The image's only layer: the binary, `/etc` files, CA roots and `/data`, as a
    /// deterministic tar (sorted, dated at the epoch). Fails on a binary that is not a
    /// static Linux executable.
    fn layer(&self) -> Result<Vec<u8>> {
        let binary = std::fs::read(&self.binary).map_err(|source| ImageError::Read {
            path: self.binary.clone(),
            source,
        })?;
        crate::binary::check_static(&self.binary, &binary, &self.architecture)?;
        let ca_roots = match &self.ca_roots {
            Some(roots) => roots.clone(),
            None => default_ca_roots(Path::new(HOST_CA_BUNDLE)),
        };
        let uid = self.uid;
        let passwd = format!(
            "root:x:0:0:root:/root:/sbin/nologin\napp:x:{uid}:{uid}:app:/data:/sbin/nologin\n"
        );
        let group = format!("root:x:0:\napp:x:{uid}:\n");
        let mut entries: Vec<(String, &[u8], u32, u32)> = vec![
            ("data/".into(), b"", 0o755, uid),
            ("etc/".into(), b"", 0o755, 0),
            ("etc/group".into(), group.as_bytes(), 0o644, 0),
            ("etc/passwd".into(), passwd.as_bytes(), 0o644, 0),
            ("etc/ssl/".into(), b"", 0o755, 0),
            ("etc/ssl/certs/".into(), b"", 0o755, 0),
            (IMAGE_CA_BUNDLE.into(), &ca_roots, 0o644, 0),
            (self.name.clone(), &binary, 0o755, 0),
        ];
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data, mode, owner) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_uid(owner.into());
            header.set_gid(owner.into());
            header.set_mtime(0);
            header.set_mode(mode);
            header.set_size(data.len() as u64);
            header.set_entry_type(if path.ends_with('/') {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            builder
                .append_data(&mut header, &path, data)
                .map_err(|source| write_error(&path, source))?;
        }
        builder
            .into_inner()
            .map_err(|source| write_error("the image layer", source))
    }

    /// The image config (Docker's image JSON): what `docker inspect` shows under `Config`.
    fn config(
        &self,
        diff_id: &str,
        labels: &BTreeMap<String, String>,
        created: &str,
    ) -> serde_json::Value {
        let entrypoint = format!("/{}", self.name);
        let mut env = self.env.clone();
        env.entry("SSL_CERT_FILE".to_string())
            .or_insert_with(|| format!("/{IMAGE_CA_BUNDLE}"));
        let env: Vec<String> = env
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let ports: serde_json::Map<String, serde_json::Value> = self
            .ports
            .iter()
            .map(|port| (format!("{port}/tcp"), serde_json::json!({})))
            .collect();
        let mut config = serde_json::json!({
            "User": format!("{0}:{0}", self.uid),
            "ExposedPorts": ports,
            "Env": env,
            "Entrypoint": [entrypoint.clone()],
            "WorkingDir": "/data",
            "Labels": labels,
        });
        if let (Some(check), Some(object)) = (&self.healthcheck, config.as_object_mut()) {
            let mut test = vec!["CMD".to_string(), entrypoint];
            test.extend(check.args.iter().cloned());
            let nanos = |secs: u32| u64::from(secs) * 1_000_000_000;
            object.insert(
                "Healthcheck".to_string(),
                serde_json::json!({
                    "Test": test,
                    "Interval": nanos(check.interval_secs),
                    "Timeout": nanos(check.timeout_secs),
                    "StartPeriod": nanos(check.start_period_secs),
                    "Retries": check.retries,
                }),
            );
        }
        serde_json::json!({
            "architecture": self.architecture,
            "os": "linux",
            "created": created,
            "config": config,
            "rootfs": { "type": "layers", "diff_ids": [diff_id] },
            "history": [{ "created": created, "created_by": "deploykit-image: static binary on scratch" }],
        })
    }

    /// Packages the binary as `repository:<tag>` (and the recipe's `extra_tags`, `latest` by
    /// default, once installed), where the tag is
    /// the first 12 hex digits of the digest of the image config without its provenance
    /// (the [`PROVENANCE_LABELS`] and the `created` date): the binary, the recipe and the
    /// other labels. Nothing is sent anywhere: load the result with [`Engine::install`].
    ///
    /// The image is dated by its [`CREATED_LABEL`] when `labels` has one (see
    /// [`oci_labels`] and [`source_date_epoch`]), else by `SOURCE_DATE_EPOCH` when set,
    /// else now. The same binary, recipe and labels give the same tag, and the same image
    /// ID once the date is fixed by the label or `SOURCE_DATE_EPOCH`.
    ///
    /// Fails on a binary that is not a statically linked Linux executable
    /// ([`ImageError::DynamicBinary`], [`ImageError::NotElf`]).
    pub fn package(
        &self,
        repository: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<PackagedImage> {
        let layer = self.layer()?;
        let diff_id = sha256_digest(&layer);
        let created = match labels.get(CREATED_LABEL) {
            Some(created) => created.clone(),
            None => rfc3339(environment_date()?.unwrap_or_else(now_unix)),
        };
        let config = serde_json::to_vec(&self.config(&diff_id, labels, &created))
            .map_err(|error| write_error("the image config", std::io::Error::other(error)))?;
        let id = sha256_digest(&config);
        let hex = &id["sha256:".len()..];
        let content = self.config(&diff_id, &content_labels(labels), CONTENT_DATE);
        let content_config = serde_json::to_vec(&content)
            .map_err(|error| write_error("the image config", std::io::Error::other(error)))?;
        let content_digest = sha256_digest(&content_config);
        let tag = content_digest["sha256:".len()..][..TAG_LENGTH].to_string();
        let layer_path = format!("{}/layer.tar", &diff_id["sha256:".len()..]);
        let config_path = format!("{hex}.json");
        let manifest = serde_json::to_vec(&serde_json::json!([{
            "Config": config_path,
            "RepoTags": [format!("{repository}:{tag}")],
            "Layers": [layer_path],
        }]))
        .map_err(|error| write_error("the image manifest", std::io::Error::other(error)))?;
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in [
            (config_path.as_str(), config.as_slice()),
            (layer_path.as_str(), layer.as_slice()),
            ("manifest.json", manifest.as_slice()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(0);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, path, data)
                .map_err(|source| write_error(path, source))?;
        }
        let archive = builder
            .into_inner()
            .map_err(|source| write_error("the image archive", source))?;
        Ok(PackagedImage {
            repository: repository.to_string(),
            tag,
            id,
            extra_tags: self.extra_tags.clone(),
            archive: Bytes::from(archive),
        })
    }
}

/// A packaged image held in memory as a `docker save` archive.
#[derive(Debug, Clone)]
pub struct PackagedImage {
    /// The repository it is tagged in.
    pub repository: String,
    /// Its content tag (the start of its ID).
    pub tag: String,
    /// Its image ID (`sha256:` of its config).
    pub id: String,
    /// Tags [`Engine::install`] points at it besides the content tag (the recipe's).
    pub extra_tags: Vec<String>,
    archive: Bytes,
}

impl PackagedImage {
    /// `repository:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    /// The `docker save` archive (`docker load` reads it).
    pub fn archive(&self) -> &Bytes {
        &self.archive
    }
}

impl Engine {
    /// Loads a packaged image into the daemon unless it is there already, then points its
    /// `extra_tags` (`latest` by default) at it. No builder and no base image are involved.
    pub async fn install(
        &self,
        image: &PackagedImage,
        on_event: &mut (dyn FnMut(BuildEvent) + Send),
    ) -> Result<BuiltImage> {
        let started = Instant::now();
        let reference = image.reference();
        on_event(BuildEvent::Checking {
            reference: reference.clone(),
        });
        let existing = self.image_info(&reference).await?;
        let skipped = existing.is_some();
        if skipped {
            on_event(BuildEvent::Skipped {
                reference: reference.clone(),
            });
        } else {
            on_event(BuildEvent::Output(format!(
                "loading {reference} ({} bytes)",
                image.archive.len()
            )));
            let options = bollard::query_parameters::ImportImageOptionsBuilder::default()
                .quiet(true)
                .build();
            let mut stream =
                self.docker
                    .import_image(options, bollard::body_full(image.archive.clone()), None);
            while let Some(item) = stream.next().await {
                item.map_err(Engine::failed(format!("load {reference}")))?;
            }
        }
        let (id, size) = match existing {
            Some(found) => found,
            None => self
                .image_info(&reference)
                .await?
                .ok_or_else(|| ImageError::Engine {
                    action: format!("load {reference}"),
                    source: bollard::errors::Error::DockerStreamError {
                        error: "the daemon accepted the archive but has no such image".to_string(),
                    },
                })?,
        };
        for extra in &image.extra_tags {
            self.tag(&reference, &image.repository, extra).await?;
        }
        Ok(BuiltImage {
            reference,
            repository: image.repository.clone(),
            tag: image.tag.clone(),
            id,
            size,
            skipped,
            duration: started.elapsed(),
        })
    }
}

/// The OCI annotations `org.opencontainers.image.{source,revision,created}`; `created` is a
/// Unix time, for example [`source_date_epoch`] of the source folder (the commit's time
/// rather than now, so that packaging the same commit twice gives the same image ID).
pub fn oci_labels(source: &str, revision: &str, created_unix: i64) -> BTreeMap<String, String> {
    [
        ("org.opencontainers.image.source", source.to_string()),
        (REVISION_LABEL, revision.to_string()),
        (CREATED_LABEL, rfc3339(created_unix)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect()
}

/// The `created` date of an image made from the source in `folder`, in Unix seconds:
/// `SOURCE_DATE_EPOCH` when set (the reproducible-builds convention), else the time of the
/// last commit of the git work tree holding `folder`, else now.
///
/// Fails only when `SOURCE_DATE_EPOCH` is set to something that is not a Unix time.
pub fn source_date_epoch(folder: &Path) -> Result<i64> {
    if let Some(date) = environment_date()? {
        return Ok(date);
    }
    Ok(last_commit_time(folder).unwrap_or_else(now_unix))
}

/// The creation date of the content config, which the content tag hashes: fixed, so that
/// the date (provenance) never changes the tag.
const CONTENT_DATE: &str = "1970-01-01T00:00:00Z";

/// `SOURCE_DATE_EPOCH`, when set and not empty.
fn environment_date() -> Result<Option<i64>> {
    let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| ImageError::SourceDateEpoch {
            value: value.to_string(),
        })
}

/// The committer time of `HEAD` in the git work tree holding `folder`, when git and a
/// commit are there.
fn last_commit_time(folder: &Path) -> Option<i64> {
    let output = std::process::Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(folder)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Unix time as an RFC 3339 UTC date (`2023-11-14T22:13:20Z`), as OCI labels and image
/// configs write it.
fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The host's CA bundle at `host_bundle` or, when it is missing or empty, the Mozilla roots
/// (`webpki-root-certs`) as PEM.
pub fn default_ca_roots(host_bundle: &Path) -> Vec<u8> {
    match std::fs::read(host_bundle) {
        Ok(bundle) if !bundle.is_empty() => bundle,
        _ => bundled_ca_roots(),
    }
}

/// The Mozilla roots shipped in `webpki-root-certs`, as a PEM bundle.
pub fn bundled_ca_roots() -> Vec<u8> {
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let encoded = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// Go's (and Docker's) name of a Rust architecture name.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn write_error(path: &str, source: std::io::Error) -> ImageError {
    ImageError::Write {
        path: PathBuf::from(path),
        source,
    }
}

/// A Dockerfile double-quoted value.
fn quote(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$");
    format!("\"{escaped}\"")
}

fn json_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    serde_json::to_string(&items).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::tests::minimal_static_elf;

    fn recipe(dir: &Path) -> PackageRecipe {
        let binary = dir.join("app");
        std::fs::write(&binary, minimal_static_elf()).unwrap();
        let mut recipe = PackageRecipe::new(binary, "app");
        recipe.ports = vec![8080];
        recipe.env.insert("PORT".into(), "8080".into());
        recipe.ca_roots = Some(b"-----BEGIN CERTIFICATE-----\n".to_vec());
        recipe
    }

    #[test]
    fn dockerfile_has_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut recipe = recipe(dir.path());
        recipe.healthcheck = Some(Healthcheck::default());
        let text = recipe.dockerfile();
        for expected in [
            "FROM scratch\n",
            "COPY --chown=10001:10001 data/ /data/\n",
            "ENV PORT=\"8080\"\n",
            "ENV SSL_CERT_FILE=\"/etc/ssl/certs/ca-certificates.crt\"\n",
            "USER 10001:10001\n",
            "EXPOSE 8080\n",
            "CMD [\"/app\",\"healthcheck\"]\n",
            "ENTRYPOINT [\"/app\"]\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    fn layer_files(image: &PackagedImage) -> BTreeMap<String, (u64, u32)> {
        let mut outer = tar::Archive::new(image.archive().as_ref());
        let mut files = BTreeMap::new();
        for entry in outer.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            if !path.ends_with("layer.tar") {
                continue;
            }
            let mut layer = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut layer).unwrap();
            for file in tar::Archive::new(layer.as_slice()).entries().unwrap() {
                let file = file.unwrap();
                let name = file.path().unwrap().display().to_string();
                let header = file.header();
                files.insert(
                    name.trim_end_matches('/').to_string(),
                    (header.uid().unwrap(), header.mode().unwrap()),
                );
            }
        }
        files
    }

    #[test]
    fn packaging_is_deterministic_and_lays_out_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let labels = oci_labels("https://example.invalid/app", "abc", 1_700_000_000);
        let first = recipe(dir.path()).package("app", &labels).unwrap();
        let again = recipe(dir.path()).package("app", &labels).unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(again.archive(), first.archive());
        assert_eq!(again.tag, first.tag);
        assert_eq!(first.tag.len(), TAG_LENGTH);
        assert_eq!(first.reference(), format!("app:{}", first.tag));
        let files = layer_files(&first);
        assert_eq!(files["app"], (0, 0o755));
        assert_eq!(files["data"], (10001, 0o755));
        for path in [
            "etc/passwd",
            "etc/group",
            "etc/ssl/certs/ca-certificates.crt",
        ] {
            assert_eq!(files[path], (0, 0o644), "{path}");
        }
    }

    #[test]
    fn binary_and_labels_change_the_tag_but_provenance_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let recipe = recipe(dir.path());
        let labels = oci_labels("s", "r1", 0);
        let before = recipe.package("app", &labels).unwrap();
        let next_commit = recipe.package("app", &oci_labels("s", "r2", 60)).unwrap();
        assert_eq!(
            next_commit.tag, before.tag,
            "a new commit alone keeps the tag"
        );
        assert_ne!(
            next_commit.id, before.id,
            "the labels still say which commit"
        );
        assert_ne!(
            recipe
                .package("app", &oci_labels("other-source", "r1", 0))
                .unwrap()
                .tag,
            before.tag
        );
        let before = before.tag;
        let mut other = minimal_static_elf();
        other.extend_from_slice(b"more code");
        std::fs::write(&recipe.binary, other).unwrap();
        assert_ne!(recipe.package("app", &labels).unwrap().tag, before);
    }

    #[test]
    fn no_healthcheck_unless_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut recipe = recipe(dir.path());
        assert_eq!(recipe.healthcheck, None);
        assert!(!recipe.dockerfile().contains("HEALTHCHECK"));
        let config = |recipe: &PackageRecipe| recipe.config("sha256:0", &BTreeMap::new(), "x");
        assert!(config(&recipe)["config"].get("Healthcheck").is_none());
        recipe.healthcheck = Some(Healthcheck::default());
        assert_eq!(
            config(&recipe)["config"]["Healthcheck"]["Test"],
            serde_json::json!(["CMD", "/app", "healthcheck"])
        );
    }

    #[test]
    fn the_created_label_dates_the_image_and_stays_out_of_the_tag() {
        let dir = tempfile::tempdir().unwrap();
        let recipe = recipe(dir.path());
        let image = |created| {
            let packaged = recipe
                .package("app", &oci_labels("s", "r", created))
                .unwrap();
            (
                packaged.tag.clone(),
                config_of(&packaged)["created"].clone(),
            )
        };
        let (tag, created) = image(1_700_000_000);
        assert_eq!(created, "2023-11-14T22:13:20Z");
        let (later_tag, later) = image(1_800_000_000);
        assert_eq!(later, "2027-01-15T08:00:00Z");
        assert_eq!(later_tag, tag, "the date is provenance, not content");
    }

    #[test]
    fn without_a_created_label_the_image_is_dated_now_not_1970() {
        // Runs with the test environment's SOURCE_DATE_EPOCH unset (nothing here sets it).
        if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let recipe = recipe(dir.path());
        let before = chrono::Utc::now().timestamp();
        let packaged = recipe.package("app", &BTreeMap::new()).unwrap();
        let created = config_of(&packaged)["created"]
            .as_str()
            .unwrap()
            .to_string();
        let created = chrono::DateTime::parse_from_rfc3339(&created)
            .unwrap()
            .timestamp();
        assert!(created >= before && created <= before + 3600, "{created}");
        let dated_1970: BTreeMap<String, String> = [(CREATED_LABEL.to_string(), rfc3339(0))].into();
        assert_eq!(
            recipe.package("app", &dated_1970).unwrap().tag,
            packaged.tag,
            "the date is provenance, not content"
        );
    }

    #[test]
    fn a_commit_dates_its_source_folder() {
        if std::env::var_os("SOURCE_DATE_EPOCH").is_some() || !git_available() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
                .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
                .output()
                .unwrap();
            assert!(status.status.success(), "git {args:?}: {status:?}");
        };
        git(&["init", "-q"]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "first",
        ]);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(
            source_date_epoch(&dir.path().join("sub")).unwrap(),
            1_700_000_000
        );
        let outside = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now().timestamp();
        let undated = source_date_epoch(outside.path()).unwrap();
        assert!((now..now + 3600).contains(&undated), "{undated}");
    }

    fn git_available() -> bool {
        std::process::Command::new("git")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    }

    fn config_of(image: &PackagedImage) -> serde_json::Value {
        let mut archive = tar::Archive::new(image.archive().as_ref());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            if path.ends_with(".json") && path != "manifest.json" {
                return serde_json::from_reader(&mut entry).unwrap();
            }
        }
        panic!("no image config in the archive");
    }

    #[test]
    fn a_dynamic_binary_is_refused_before_packaging() {
        let Ok(true_binary) = std::fs::canonicalize("/bin/true") else {
            return;
        };
        let error = PackageRecipe::new(&true_binary, "true")
            .package("x", &BTreeMap::new())
            .unwrap_err();
        assert!(
            matches!(error, ImageError::DynamicBinary { ref path, .. } if *path == true_binary),
            "{error}"
        );
    }

    #[test]
    fn missing_binary_names_the_path() {
        let error = PackageRecipe::new("/no/such/binary", "x")
            .package("x", &BTreeMap::new())
            .unwrap_err();
        assert!(error.to_string().contains("/no/such/binary"), "{error}");
    }

    #[test]
    fn bundled_roots_are_pem() {
        let pem = String::from_utf8(bundled_ca_roots()).unwrap();
        assert!(pem.matches("BEGIN CERTIFICATE").count() > 50);
        assert_eq!(
            default_ca_roots(Path::new("/no/such/bundle")),
            pem.into_bytes()
        );
    }

    #[test]
    fn created_label_is_rfc3339_utc() {
        let labels = oci_labels("https://example.invalid/x", "abc", 1_700_000_000);
        assert_eq!(
            labels["org.opencontainers.image.created"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(labels["org.opencontainers.image.revision"], "abc");
    }

    #[test]
    fn quoting_escapes_dockerfile_specials() {
        assert_eq!(quote(r#"a "b" $c \d"#), r#""a \"b\" \$c \\d""#);
    }
}
