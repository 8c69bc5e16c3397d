//! Loading a chart: its files (from a folder or a `.tgz`), `Chart.yaml` with Helm's
//! validation, `values.yaml`, `values.schema.json`, templates and subcharts.
//!
//! [`Chart::from_files`] is the pure part (files in, chart out, as Helm's
//! `loader.LoadFiles`); [`Chart::load`] reads a folder (honouring `.helmignore`) or an
//! archive and hands the files to it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use folder::{Folder, Kind, fill};
use serde::{Deserialize, Serialize};

mod folder;

use crate::error::ChartError;
use crate::ignore::IgnoreRules;
use crate::value::{Map, Value, lossy_text};
use crate::yaml::documents::parse_values;
use crate::yaml::parse::{YamlError, go_scalar_text, parse_typed, parse_typed_map};

/// A file of a chart: its path relative to the chart root (with `/`) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// Path relative to the chart root, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// Contents, with a leading UTF-8 byte order mark removed (as Helm does).
    pub data: FileData,
}

/// A chart file's contents: shared, so that renders hand files to `.Files` without
/// copying them. A file that only templates can ask for (through `.Files`) is read
/// from its folder the first time it is asked for, so that a chart's documentation,
/// CRD collections and other large files cost nothing when no template reads them;
/// every other file is read with the chart.
#[derive(Clone)]
pub struct FileData {
    contents: Contents,
    /// When the file was last modified, where known: Helm 4 records it (`modtime`).
    modified: Option<SystemTime>,
}

#[derive(Clone)]
enum Contents {
    Read(Arc<[u8]>),
    /// Bytes known to be UTF-8 (templates), kept as text so that parsing can share them.
    Text(Arc<str>),
    OnDisk(Arc<OnDisk>),
}

struct OnDisk {
    path: PathBuf,
    read: OnceLock<Result<Arc<[u8]>, ReadFailure>>,
}

/// An `io::Error` kept for every later call (`io::Error` itself cannot be cloned).
type ReadFailure = (std::io::ErrorKind, String);

impl FileData {
    fn of(contents: Contents) -> FileData {
        FileData {
            contents,
            modified: None,
        }
    }

    /// The same contents, with the time the file was last modified.
    pub fn with_modified(self, modified: Option<SystemTime>) -> FileData {
        FileData { modified, ..self }
    }

    /// When the file was last modified, where known (a chart folder's file, an archive
    /// entry); None for contents made in memory. Helm 4 records it as the file's `modtime`.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    /// Contents to be read from `path` when first needed.
    pub fn on_disk(path: impl Into<PathBuf>) -> FileData {
        FileData::of(Contents::OnDisk(Arc::new(OnDisk {
            path: path.into(),
            read: OnceLock::new(),
        })))
    }

    /// Text known to be UTF-8: the contents shared without a copy.
    pub fn text(text: Arc<str>) -> FileData {
        FileData::of(Contents::Text(text))
    }

    /// The bytes, read now if they were left on disk (and kept for later calls).
    pub fn bytes(&self) -> Result<&[u8], ChartError> {
        match &self.contents {
            Contents::Read(bytes) => Ok(bytes),
            Contents::Text(text) => Ok(text.as_bytes()),
            Contents::OnDisk(file) => file.read().map(|bytes| &**bytes),
        }
    }

    /// The bytes as a shared allocation (copied only from text contents).
    pub fn shared_bytes(&self) -> Result<Arc<[u8]>, ChartError> {
        match &self.contents {
            Contents::Read(bytes) => Ok(bytes.clone()),
            Contents::Text(text) => Ok(Arc::from(text.as_bytes())),
            Contents::OnDisk(file) => file.read().cloned(),
        }
    }

    /// The contents as text, invalid UTF-8 replaced (shared when already text).
    pub fn shared_text(&self) -> Result<Arc<str>, ChartError> {
        match &self.contents {
            Contents::Text(text) => Ok(text.clone()),
            _ => Ok(Arc::from(lossy_text(self.bytes()?))),
        }
    }
}

impl OnDisk {
    fn read(&self) -> Result<&Arc<[u8]>, ChartError> {
        self.read
            .get_or_init(|| {
                std::fs::read(&self.path)
                    .map(|data| without_bom(&data).into())
                    .map_err(|error| (error.kind(), error.to_string()))
            })
            .as_ref()
            .map_err(|(kind, message)| ChartError::Io {
                path: self.path.clone(),
                error: std::io::Error::new(*kind, message.clone()),
            })
    }
}

impl From<Arc<[u8]>> for FileData {
    fn from(bytes: Arc<[u8]>) -> FileData {
        FileData::of(Contents::Read(bytes))
    }
}

impl From<Vec<u8>> for FileData {
    fn from(bytes: Vec<u8>) -> FileData {
        FileData::of(Contents::Read(bytes.into()))
    }
}

impl From<&[u8]> for FileData {
    fn from(bytes: &[u8]) -> FileData {
        FileData::of(Contents::Read(bytes.into()))
    }
}

impl PartialEq for FileData {
    /// Same bytes (a file that cannot be read equals nothing).
    fn eq(&self, other: &FileData) -> bool {
        matches!((self.bytes(), other.bytes()), (Ok(a), Ok(b)) if a == b)
    }
}

impl Eq for FileData {}

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.contents {
            Contents::Read(bytes) => write!(f, "FileData({} bytes)", bytes.len()),
            Contents::Text(text) => write!(f, "FileData({} bytes of text)", text.len()),
            Contents::OnDisk(file) => write!(f, "FileData(on disk: {})", file.path.display()),
        }
    }
}

/// One entry of `dependencies:` in `Chart.yaml` (or `requirements.yaml` for v1 charts).
///
/// Serializes as Helm's `chart.Dependency` JSON (release records).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dependency {
    /// The subchart's name.
    #[serde(default)]
    pub name: String,
    /// A semver range the subchart's version must satisfy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Where the chart comes from (unused offline).
    #[serde(default)]
    pub repository: String,
    /// Comma-separated value paths; the first boolean found enables or disables it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// Tags under `.Values.tags` that enable or disable it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Whether it is enabled (Helm's `Enabled`; computed while rendering).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    /// `import-values`: strings (`exports.X`) or `{child, parent}` maps.
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty",
        with = "json_values"
    )]
    pub import_values: Vec<Value>,
    /// The name the subchart takes in this chart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
}

impl PartialEq for Dependency {
    /// Equal when every field is; `import-values` compared as JSON (what records hold).
    fn eq(&self, other: &Dependency) -> bool {
        let json = |values: &[Value]| values.iter().map(Value::to_json).collect::<Vec<_>>();
        self.name == other.name
            && self.version == other.version
            && self.repository == other.repository
            && self.condition == other.condition
            && self.tags == other.tags
            && self.enabled == other.enabled
            && self.alias == other.alias
            && json(&self.import_values) == json(&other.import_values)
    }
}

/// `import-values` through JSON, as Go's `[]interface{}` goes.
mod json_values {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::value::Value;

    pub fn serialize<S: Serializer>(values: &[Value], serializer: S) -> Result<S::Ok, S::Error> {
        let json: Vec<serde_json::Value> = values.iter().map(Value::to_json).collect();
        json.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
        let json = Vec::<serde_json::Value>::deserialize(deserializer)?;
        Ok(json.iter().map(Value::from_json).collect())
    }
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Maintainer {
    /// Name (required by Helm's validation).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// Web address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// `Chart.yaml`, with Helm's field meanings.
///
/// Serializes as Helm's `chart.Metadata` JSON (the `chart.metadata` of a release record,
/// fields in Go's order, empty ones left out); deserializing reads such a record back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `home`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home: String,
    /// `sources`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// `version` (semver).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `keywords`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// `maintainers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// `apiVersion` (`v1` when absent, as Helm assumes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `condition`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// `tags`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// `appVersion`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    /// `deprecated`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// `annotations`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `kubeVersion`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    /// `dependencies`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// `type`: `application` (or empty) or `library`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub chart_type: String,
}

/// `Chart.lock` (a v1 chart's `requirements.lock`) as Helm's `chart.Lock` holds it and
/// release records keep it: serializes as Helm's JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lock {
    /// When the lock was written, as Go writes a `time.Time` (RFC 3339, nanoseconds
    /// without trailing zeros, `Z` for UTC; Go's zero time when the file has none).
    pub generated: String,
    /// The digest of the dependencies the lock was made from (`sha256:...`).
    pub digest: String,
    /// The locked dependencies (None: the file lists none, which Helm writes `null`).
    pub dependencies: Option<Vec<Dependency>>,
}

impl Lock {
    /// Reads a lock file as Helm's loader does (`sigs.k8s.io/yaml` into `chart.Lock`).
    fn parse(data: &[u8], file: &str) -> Result<Lock, ChartError> {
        let fail = |reason: String| ChartError::load(format!("cannot load {file}: {reason}"));
        let map =
            parse_typed_map(&lossy_text(data), "chart.Lock").map_err(|e| fail(e.to_string()))?;
        let generated = match map.get("generated") {
            None | Some(Value::Nil) => GO_ZERO_TIME.to_string(),
            Some(Value::String(text)) => go_rfc3339_nano(text).ok_or_else(|| {
                fail(format!(
                    "parsing time {text:?} as \"2006-01-02T15:04:05Z07:00\": not RFC 3339"
                ))
            })?,
            Some(other) => {
                return Err(fail(
                    type_error("Lock.generated", other, "Time").to_string(),
                ));
            }
        };
        let dependencies = match map.get("dependencies") {
            None | Some(Value::Nil) => None,
            found => Some(parse_dependencies(found).map_err(|e| fail(e.to_string()))?),
        };
        Ok(Lock {
            generated,
            digest: get_string(&map, "digest", "Lock.digest").map_err(|e| fail(e.to_string()))?,
            dependencies,
        })
    }
}

/// Go's zero `time.Time` as JSON.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// An RFC 3339 time re-written as Go's `time.Time` JSON writes it (`RFC3339Nano`).
fn go_rfc3339_nano(text: &str) -> Option<String> {
    use chrono::{Offset, Timelike};
    let time = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let mut out = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = time.nanosecond() % 1_000_000_000;
    if nanos > 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    if time.offset().fix().local_minus_utc() == 0 {
        out.push('Z');
    } else {
        out.push_str(&time.format("%:z").to_string());
    }
    Some(out)
}

/// A loaded chart: metadata, default values, templates, other files and subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `Chart.lock` (a v1 chart's `requirements.lock`), when the chart has one.
    pub lock: Option<Lock>,
    /// `values.yaml` (empty when absent).
    pub values: Map,
    /// `values.schema.json` as JSON, when the chart has one.
    pub schema: Option<Arc<serde_json::Value>>,
    /// `values.schema.json` as written (what Helm's release records keep).
    pub schema_file: Option<FileData>,
    /// Files under `templates/` (`NOTES.txt` and partials included).
    pub templates: Vec<ChartFile>,
    /// Every other file (what `.Files` sees), `crds/` included.
    pub files: Vec<ChartFile>,
    /// Subcharts found under `charts/`, sorted by folder or archive name.
    pub dependencies: Vec<Chart>,
    /// When `Chart.yaml` was last modified, where known (Helm 4 records it as the chart's
    /// `modtime`; each file's own time is [`FileData::modified`]).
    pub modified: Option<SystemTime>,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Helm's "Chart.yaml file is missing" names no folder; a user who passed the wrong
/// path (the repository root, `templates/`) needs to see which one and what a chart is.
fn name_the_folder(error: ChartError, path: &Path) -> ChartError {
    match error {
        ChartError::Load { message } if message == CHART_YAML_MISSING => ChartError::load(format!(
            "{CHART_YAML_MISSING} in {}: a chart folder holds Chart.yaml (with values.yaml \
             and templates/); pass the chart's own folder or a .tgz archive",
            path.display()
        )),
        other => other,
    }
}

/// Helm's words when a chart has no Chart.yaml.
const CHART_YAML_MISSING: &str = "Chart.yaml file is missing";

impl Chart {
    /// Loads a chart from a folder (honouring `.helmignore`) or a `.tgz` archive.
    pub fn load(path: impl AsRef<Path>) -> Result<Chart, ChartError> {
        let path = path.as_ref();
        match Folder::open(path) {
            Ok(folder) => Chart::from_files(read_folder_files(folder)?)
                .map_err(|error| name_the_folder(error, path)),
            Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => {
                let data = std::fs::read(path).map_err(io_error(path))?;
                Chart::from_archive(&data)
            }
            Err(error) => Err(io_error(path)(error)),
        }
    }

    /// Loads a chart from the bytes of a `.tgz` archive (`<name>/Chart.yaml`...).
    pub fn from_archive(data: &[u8]) -> Result<Chart, ChartError> {
        Chart::from_files(archive_files(data)?)
    }

    /// Builds a chart from its files, as Helm's `loader.LoadFiles` does.
    pub fn from_files(files: Vec<ChartFile>) -> Result<Chart, ChartError> {
        if files.is_empty() {
            return Err(ChartError::load("no files in chart archive"));
        }
        let mut metadata: Option<Metadata> = None;
        let mut modified = None;
        let mut values = Map::new();
        let mut schema = None;
        let mut schema_file = None;
        let mut requirements: Option<Vec<Dependency>> = None;
        let mut lock = None;
        let mut templates = Vec::new();
        let mut other = Vec::new();
        let mut subcharts: BTreeMap<String, Vec<ChartFile>> = BTreeMap::new();
        for file in files {
            match file.name.as_str() {
                "Chart.yaml" => {
                    metadata = Some(parse_metadata(file.data.bytes()?)?);
                    modified = file.data.modified();
                }
                "Chart.lock" => lock = Some(Lock::parse(file.data.bytes()?, &file.name)?),
                "requirements.lock" => {
                    lock = Some(Lock::parse(file.data.bytes()?, &file.name)?);
                    // `.Files` sees it in a v1 chart (dropped below otherwise), as in Helm.
                    other.push(file);
                }
                "values.yaml" => {
                    values = parse_values(&lossy_text(file.data.bytes()?)).map_err(|error| {
                        ChartError::load(format!("cannot load values.yaml: {error}"))
                    })?;
                }
                "values.schema.json" => {
                    let json: serde_json::Value = serde_json::from_slice(file.data.bytes()?)
                        .map_err(|error| {
                            ChartError::load(format!("cannot load values.schema.json: {error}"))
                        })?;
                    schema = Some(Arc::new(json));
                    schema_file = Some(file.data);
                }
                "requirements.yaml" => {
                    let map =
                        parse_typed_map(&lossy_text(file.data.bytes()?), "chart.Requirements")
                            .map_err(|error| {
                                ChartError::load(format!("cannot load requirements.yaml: {error}"))
                            })?;
                    requirements = Some(parse_dependencies(map.get("dependencies"))?);
                    other.push(file);
                }
                name if name.starts_with("templates/") => templates.push(file),
                name if name.starts_with("charts/") => {
                    if name.ends_with(".prov") {
                        other.push(file);
                        continue;
                    }
                    let rest = &name["charts/".len()..];
                    let folder = rest.split('/').next().unwrap_or(rest).to_string();
                    subcharts.entry(folder).or_default().push(ChartFile {
                        name: rest.to_string(),
                        data: file.data,
                    });
                }
                _ => other.push(file),
            }
        }
        let Some(mut metadata) = metadata else {
            return Err(ChartError::load(CHART_YAML_MISSING));
        };
        if metadata.api_version == "v1"
            && let Some(dependencies) = requirements
        {
            metadata.dependencies = dependencies;
        }
        if metadata.api_version != "v1" {
            other.retain(|f| f.name != "requirements.lock");
        }
        validate_metadata(&mut metadata)?;
        let chart_name = metadata.name.clone();
        let mut dependencies = Vec::new();
        for (folder, files) in subcharts {
            if folder.starts_with(['_', '.']) {
                continue;
            }
            let loaded = if folder.ends_with(".tgz") {
                match files.into_iter().find(|f| f.name == folder) {
                    Some(file) => file.data.bytes().and_then(Chart::from_archive),
                    None => Err(ChartError::load(format!(
                        "error unpacking tar in {chart_name}: expected {folder}"
                    ))),
                }
            } else {
                let inner: Vec<ChartFile> = files
                    .into_iter()
                    .filter_map(|f| {
                        f.name.split_once('/').map(|(_, rest)| ChartFile {
                            name: rest.to_string(),
                            data: f.data,
                        })
                    })
                    .collect();
                Chart::from_files(inner)
            };
            match loaded {
                Ok(chart) => dependencies.push(chart),
                Err(error) => {
                    return Err(ChartError::load(format!(
                        "error unpacking subchart {folder} in {chart_name}: {error}"
                    )));
                }
            }
        }
        Ok(Chart {
            metadata,
            lock,
            values,
            schema,
            schema_file,
            templates,
            files: other,
            dependencies,
            modified,
        })
    }

    /// The chart's name (`Chart.yaml` `name`, or the alias it is used under).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart (`type: library`): only its partials render.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// The CRD files under `crds/` (what `helm install` applies first).
    pub fn crd_files(&self) -> impl Iterator<Item = &ChartFile> {
        self.files.iter().filter(|f| f.name.starts_with("crds/"))
    }
}

/// Reads a chart folder's files as Helm's `loader.LoadDir` does: `.helmignore` rules,
/// symlinks followed, BOMs removed, names sorted bytewise at each level.
pub fn read_dir_files(root: &Path) -> Result<Vec<ChartFile>, ChartError> {
    read_folder_files(Folder::open(root).map_err(io_error(root))?)
}

/// [`read_dir_files`] on a folder already open.
fn read_folder_files(root: Folder) -> Result<Vec<ChartFile>, ChartError> {
    let mut buffer = Vec::with_capacity(SMALL_FILE as usize + 1);
    let rules = ignore_rules(&root, &mut buffer)?;
    let mut walk = FolderWalk {
        rules,
        files: Vec::new(),
        buffer,
        relative: String::new(),
        ancestors: vec![root.path().to_path_buf()],
    };
    walk.folder(&root)?;
    Ok(walk.files)
}

/// The rules of the folder's `.helmignore`, or the defaults when it cannot be read as
/// text (read through `buffer`).
fn ignore_rules(root: &Folder, buffer: &mut Vec<u8>) -> Result<IgnoreRules, ChartError> {
    buffer.clear();
    buffer.reserve(SMALL_FILE as usize + 1);
    let read = root
        .open_file(OsStr::new(".helmignore"))
        .and_then(|mut file| match fill(&file, buffer)? {
            true => Ok(0),
            false => file.read_to_end(buffer),
        });
    let (Ok(_), Ok(text)) = (read, std::str::from_utf8(buffer)) else {
        return Ok(IgnoreRules::defaults());
    };
    IgnoreRules::parse(text).map_err(|message| {
        ChartError::load(format!(
            "cannot parse {}: {message}",
            root.path().join(".helmignore").display()
        ))
    })
}

/// One walk over a chart folder: what it keeps, the chart-relative name of the entry
/// at hand, and the folders it is inside of (to refuse a symbolic link back to one of
/// them).
struct FolderWalk {
    rules: IgnoreRules,
    files: Vec<ChartFile>,
    /// One buffer serves every small file and every listing of the chart.
    buffer: Vec<u8>,
    /// The entry at hand's name relative to the chart root, with `/`.
    relative: String,
    ancestors: Vec<PathBuf>,
}

impl FolderWalk {
    /// Walks the folder `dir`, whose chart-relative name is in `relative` (empty at the
    /// root).
    fn folder(&mut self, dir: &Folder) -> Result<(), ChartError> {
        let listing = dir.list(&mut self.buffer).map_err(io_error(dir.path()))?;
        let prefix = self.relative.len();
        for (name, kind) in listing.iter() {
            self.relative.truncate(prefix);
            if prefix > 0 {
                self.relative.push('/');
            }
            self.relative.push_str(&name.to_string_lossy());
            self.entry(dir, name, kind)?;
        }
        self.relative.truncate(prefix);
        Ok(())
    }

    /// Takes the entry `name` of `dir`, which the listing says is `kind`.
    fn entry(&mut self, dir: &Folder, name: &OsStr, kind: Kind) -> Result<(), ChartError> {
        let is_link = kind == Kind::Link;
        let kind = if is_link {
            followed(&dir.path().join(name))?
        } else {
            kind
        };
        if self.rules.ignore(&self.relative, kind == Kind::Folder) {
            return Ok(());
        }
        match kind {
            Kind::Folder => self.enter(dir, name, is_link),
            Kind::File => self.keep(dir, name),
            _ => Err(ChartError::load(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                dir.path().join(name).display()
            ))),
        }
    }

    /// Walks the subfolder `name` of `dir` (refused when it is a symbolic link back to
    /// a folder it is inside of).
    fn enter(&mut self, dir: &Folder, name: &OsStr, is_link: bool) -> Result<(), ChartError> {
        let path = || dir.path().join(name);
        if is_link && let Some(ancestor) = self.loop_target(&path())? {
            return Err(ChartError::load(format!(
                "cannot load {}: it is a symbolic link to {}, a folder it is inside of",
                path().display(),
                ancestor.display()
            )));
        }
        let child = dir.child(name).map_err(entry_error(dir, name))?;
        self.ancestors.push(child.path().to_path_buf());
        let walked = self.folder(&child);
        self.ancestors.pop();
        walked
    }

    /// The folder above the symbolic link `path` that the link leads back to, if any.
    fn loop_target(&self, path: &Path) -> Result<Option<&PathBuf>, ChartError> {
        let target = same_file::Handle::from_path(path).map_err(io_error(path))?;
        for ancestor in &self.ancestors {
            let handle = same_file::Handle::from_path(ancestor).map_err(io_error(ancestor))?;
            if handle == target {
                return Ok(Some(ancestor));
            }
        }
        Ok(None)
    }

    /// Keeps the file `name` of `dir`: read now, or left for `.Files` to read.
    fn keep(&mut self, dir: &Folder, name: &OsStr) -> Result<(), ChartError> {
        let data = match file_role(&self.relative) {
            FileRole::ForFiles => FileData::on_disk(dir.path().join(name)),
            role => read_shared(
                || dir.open_file(name),
                &mut self.buffer,
                role == FileRole::Template,
            )
            .map_err(entry_error(dir, name))?,
        };
        // As Helm's LoadDir, the time of the file a link leads to.
        let modified = std::fs::metadata(dir.path().join(name))
            .and_then(|meta| meta.modified())
            .ok();
        self.files.push(ChartFile {
            name: self.relative.clone(),
            data: data.with_modified(modified),
        });
        Ok(())
    }
}

/// What the symbolic link at `path` leads to.
fn followed(path: &Path) -> Result<Kind, ChartError> {
    let meta = std::fs::metadata(path).map_err(io_error(path))?;
    Ok(Kind::of(meta.file_type()))
}

/// An I/O error about the entry `name` of `dir`, naming its path.
fn entry_error<'a>(
    dir: &'a Folder,
    name: &'a OsStr,
) -> impl FnOnce(std::io::Error) -> ChartError + 'a {
    move |error| ChartError::Io {
        path: dir.path().join(name),
        error,
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ChartError + use<> {
    let path = path.to_path_buf();
    move |error| ChartError::Io { path, error }
}

/// What loading does with a chart file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileRole {
    /// A chart's or subchart's template: read with the chart, kept as text.
    Template,
    /// `Chart.yaml`, values, schema, requirements or a subchart archive: read with the
    /// chart by [`Chart::from_files`].
    Load,
    /// Anything else: only `.Files` reaches it, so it is read when a template asks.
    ForFiles,
}

/// The role of the file at chart-relative `relative` (subcharts' folders included).
fn file_role(relative: &str) -> FileRole {
    let mut rest = relative;
    loop {
        if rest.starts_with("templates/") {
            return FileRole::Template;
        }
        if matches!(
            rest,
            "Chart.yaml" | "values.yaml" | "values.schema.json" | "requirements.yaml"
        ) {
            return FileRole::Load;
        }
        let Some(inner) = rest.strip_prefix("charts/") else {
            return FileRole::ForFiles;
        };
        match inner.split_once('/') {
            Some((_, below)) => rest = below,
            None => return FileRole::Load,
        }
    }
}

/// Files that fit the walk's buffer (this size at least) are read into it, then copied
/// out.
const SMALL_FILE: u64 = 64 << 10;

/// Reads a whole file, opened by `open`, without its byte order mark. One buffer
/// serves every small file and every template of a chart (one allocation per file, no
/// `stat`, one read to the end); another large file is read straight into its own
/// allocation once its size is known, so its bytes are not copied a second time.
fn read_shared(
    open: impl Fn() -> std::io::Result<File>,
    buffer: &mut Vec<u8>,
    as_text: bool,
) -> std::io::Result<FileData> {
    buffer.clear();
    buffer.reserve(SMALL_FILE as usize + 1);
    let mut file = open()?;
    if fill(&file, buffer)? {
        return Ok(small_file_data(without_bom(buffer), as_text));
    }
    if as_text {
        // Text is copied into its shared form once whatever its size: read on into the
        // buffer rather than into a zeroed allocation that would be copied again.
        file.read_to_end(buffer)?;
        return Ok(small_file_data(without_bom(buffer), as_text));
    }
    let size = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    if size > buffer.len() && size < isize::MAX as usize {
        let mut data: Arc<[u8]> = std::iter::repeat_n(0, size).collect();
        let whole = Arc::make_mut(&mut data);
        whole[..buffer.len()].copy_from_slice(buffer);
        let mut extra = [0u8; 1];
        if file.read_exact(&mut whole[buffer.len()..]).is_ok() && file.read(&mut extra)? == 0 {
            if data.starts_with(UTF8_BOM) {
                return Ok(FileData::from(&data[UTF8_BOM.len()..]));
            }
            return Ok(data.into());
        }
        // The file changed size while being read: read it again as it is now.
        buffer.clear();
        file = open()?;
    }
    file.take(u64::MAX).read_to_end(buffer)?;
    Ok(small_file_data(without_bom(buffer), as_text))
}

/// A file's bytes copied out of the folder's buffer: as text when asked for and valid.
fn small_file_data(bytes: &[u8], as_text: bool) -> FileData {
    if as_text && let Ok(text) = std::str::from_utf8(bytes) {
        return FileData::text(Arc::from(text));
    }
    FileData::from(bytes)
}

fn without_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(UTF8_BOM).unwrap_or(data)
}

/// The files of a `.tgz` chart archive, with the top folder stripped (Helm's
/// `loadArchiveFiles`).
pub fn archive_files(data: &[u8]) -> Result<Vec<ChartFile>, ChartError> {
    let bad = |message: String| ChartError::load(message);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let entries = archive
        .entries()
        .map_err(|error| bad(format!("cannot read chart archive: {error}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let mut entry =
            entry.map_err(|error| bad(format!("cannot read chart archive: {error}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).replace('\\', "/");
        let mut parts = raw_name.splitn(2, '/');
        let first = parts.next().unwrap_or_default();
        if first == "Chart.yaml" {
            return Err(bad("chart yaml not in base directory".to_string()));
        }
        let Some(rest) = parts.next() else {
            return Err(bad(format!(
                "chart illegally contains content outside the base directory: {raw_name:?}"
            )));
        };
        let name = clean_path(rest);
        if name.starts_with('/') {
            return Err(bad("chart illegally contains absolute paths".to_string()));
        }
        if name == "." {
            return Err(bad(format!(
                "chart illegally contains content outside the base directory: {raw_name:?}"
            )));
        }
        if name.starts_with("..") {
            return Err(bad(
                "chart illegally references parent directory".to_string()
            ));
        }
        let modified = entry
            .header()
            .mtime()
            .ok()
            .map(|seconds| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds));
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|error| bad(format!("cannot read chart archive: {error}")))?;
        if data.starts_with(UTF8_BOM) {
            data.drain(..UTF8_BOM.len());
        }
        let data = if file_role(&name) == FileRole::Template {
            match String::from_utf8(data) {
                Ok(text) => FileData::text(Arc::from(text)),
                Err(error) => error.into_bytes().into(),
            }
        } else {
            data.into()
        };
        files.push(ChartFile {
            name,
            data: data.with_modified(modified),
        });
    }
    if files.is_empty() {
        return Err(bad("no files in chart archive".to_string()));
    }
    Ok(files)
}

/// Go's `path.Clean`.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn chart_yaml_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::load(format!("cannot load Chart.yaml: {error}"))
}

fn type_error(field: &str, found: &Value, want: &str) -> ChartError {
    let kind = match found {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Uint64(_) | Value::Float(_) => "number",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        _ => "string",
    };
    chart_yaml_error(format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go struct field {field} of type {want}"
    ))
}

/// A scalar read into a Go `string` field: sigs.k8s.io/yaml gives numbers and booleans
/// their text (`version: 1.0` is `1`, `home: yes` is `true`, `appVersion: 1.10` is
/// `1.1`).
fn string_field(value: &Value, field: &str) -> Result<String, ChartError> {
    match value {
        Value::Nil => Ok(String::new()),
        Value::String(s) => Ok(s.to_string()),
        other => go_scalar_text(other).ok_or_else(|| type_error(field, other, "string")),
    }
}

fn get_string(map: &Map, key: &str, field: &str) -> Result<String, ChartError> {
    map.get(key)
        .map_or(Ok(String::new()), |value| string_field(value, field))
}

fn get_strings(map: &Map, key: &str, field: &str) -> Result<Vec<String>, ChartError> {
    match map.get(key) {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(items)) => items.iter().map(|item| string_field(item, field)).collect(),
        Some(other) => Err(type_error(field, other, "[]string")),
    }
}

/// A value of a `Chart.yaml` field of type `interface{}` (`import-values`) as JSON
/// leaves it: every number a `float64`.
fn json_numbers(value: &Value) -> Value {
    match value {
        Value::Int64(i) => Value::Float(*i as f64),
        Value::Uint64(u) => Value::Float(*u as f64),
        Value::List(items) => Value::list(items.iter().map(json_numbers).collect()),
        Value::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries.to_map() {
                map.insert(key.clone(), json_numbers(&value));
            }
            Value::map(map)
        }
        other => other.clone(),
    }
}

fn parse_metadata(data: &[u8]) -> Result<Metadata, ChartError> {
    let text = lossy_text(data);
    let map = match parse_typed(&text).map_err(chart_yaml_error)? {
        Value::Nil => Map::new(),
        Value::Map(map) => map.into_inner(),
        other => {
            let error = YamlError::WrongKind {
                found: match other {
                    Value::List(_) => "array",
                    Value::Bool(_) => "bool",
                    Value::Float(_) | Value::Int(_) | Value::Int64(_) | Value::Uint64(_) => {
                        "number"
                    }
                    _ => "string",
                },
                want: "chart.Metadata",
            };
            return Err(chart_yaml_error(error));
        }
    };
    let mut md = Metadata {
        name: get_string(&map, "name", "Metadata.name")?,
        home: get_string(&map, "home", "Metadata.home")?,
        sources: get_strings(&map, "sources", "Metadata.sources")?,
        version: get_string(&map, "version", "Metadata.version")?,
        description: get_string(&map, "description", "Metadata.description")?,
        keywords: get_strings(&map, "keywords", "Metadata.keywords")?,
        icon: get_string(&map, "icon", "Metadata.icon")?,
        api_version: get_string(&map, "apiVersion", "Metadata.apiVersion")?,
        condition: get_string(&map, "condition", "Metadata.condition")?,
        tags: get_string(&map, "tags", "Metadata.tags")?,
        app_version: get_string(&map, "appVersion", "Metadata.appVersion")?,
        kube_version: get_string(&map, "kubeVersion", "Metadata.kubeVersion")?,
        chart_type: get_string(&map, "type", "Metadata.type")?,
        ..Metadata::default()
    };
    md.deprecated = match map.get("deprecated") {
        None | Some(Value::Nil) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(type_error("Metadata.deprecated", other, "bool")),
    };
    match map.get("annotations") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(entries)) => {
            for (key, value) in entries.to_map() {
                let text = string_field(&value, &format!("Metadata.annotations.{key}"))?;
                md.annotations.insert(key.clone(), text);
            }
        }
        Some(other) => {
            return Err(type_error(
                "Metadata.annotations",
                other,
                "map[string]string",
            ));
        }
    }
    match map.get("maintainers") {
        None | Some(Value::Nil) => {}
        Some(Value::List(items)) => {
            for item in items.iter() {
                let entry = match item {
                    Value::Map(m) => m.to_map(),
                    Value::Nil => continue,
                    other => {
                        return Err(type_error(
                            "Metadata.maintainers",
                            other,
                            "chart.Maintainer",
                        ));
                    }
                };
                let entry = &entry;
                md.maintainers.push(Maintainer {
                    name: get_string(entry, "name", "Metadata.maintainers.name")?,
                    email: get_string(entry, "email", "Metadata.maintainers.email")?,
                    url: get_string(entry, "url", "Metadata.maintainers.url")?,
                });
            }
        }
        Some(other) => {
            return Err(type_error(
                "Metadata.maintainers",
                other,
                "[]*chart.Maintainer",
            ));
        }
    }
    md.dependencies = parse_dependencies(map.get("dependencies"))?;
    if md.api_version.is_empty() {
        md.api_version = "v1".to_string();
    }
    Ok(md)
}

fn parse_dependencies(value: Option<&Value>) -> Result<Vec<Dependency>, ChartError> {
    let items = match value {
        None | Some(Value::Nil) => return Ok(Vec::new()),
        Some(Value::List(items)) => items,
        Some(other) => {
            return Err(type_error(
                "Metadata.dependencies",
                other,
                "[]*chart.Dependency",
            ));
        }
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let entry = match item {
            Value::Map(m) => m.to_map(),
            Value::Nil => continue,
            other => {
                return Err(type_error(
                    "Metadata.dependencies",
                    other,
                    "chart.Dependency",
                ));
            }
        };
        let entry = &entry;
        let import_values = match entry.get("import-values") {
            None | Some(Value::Nil) => Vec::new(),
            Some(Value::List(list)) => list.iter().map(json_numbers).collect(),
            Some(other) => {
                return Err(type_error(
                    "Metadata.dependencies.import-values",
                    other,
                    "[]interface {}",
                ));
            }
        };
        out.push(Dependency {
            name: get_string(entry, "name", "Metadata.dependencies.name")?,
            version: get_string(entry, "version", "Metadata.dependencies.version")?,
            repository: get_string(entry, "repository", "Metadata.dependencies.repository")?,
            condition: get_string(entry, "condition", "Metadata.dependencies.condition")?,
            tags: get_strings(entry, "tags", "Metadata.dependencies.tags")?,
            enabled: matches!(entry.get("enabled"), Some(Value::Bool(true))),
            import_values,
            alias: get_string(entry, "alias", "Metadata.dependencies.alias")?,
        });
    }
    Ok(out)
}

/// Helm's `sanitizeString`: whitespace becomes a space, unprintable characters go.
fn sanitize(text: &mut String) {
    if text
        .chars()
        .all(|c| c == ' ' || (!c.is_whitespace() && !c.is_control()))
    {
        return;
    }
    *text = text
        .chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect();
}

/// Helm's `Metadata.Validate`, with its messages.
fn validate_metadata(md: &mut Metadata) -> Result<(), ChartError> {
    for field in [
        &mut md.name,
        &mut md.home,
        &mut md.version,
        &mut md.description,
        &mut md.icon,
        &mut md.api_version,
        &mut md.condition,
        &mut md.tags,
        &mut md.app_version,
        &mut md.kube_version,
        &mut md.chart_type,
    ] {
        sanitize(field);
    }
    for list in [&mut md.sources, &mut md.keywords] {
        list.iter_mut().for_each(sanitize);
    }
    for value in md.annotations.values_mut() {
        sanitize(value);
    }
    let invalid = |message: String| ChartError::load(format!("validation: {message}"));
    if md.api_version.is_empty() {
        return Err(invalid("chart.metadata.apiVersion is required".into()));
    }
    if md.name.is_empty() {
        return Err(invalid("chart.metadata.name is required".into()));
    }
    if md.name.contains('/') || md.name == "." || md.name == ".." {
        return Err(invalid(format!(
            "chart.metadata.name {:?} is invalid",
            md.name
        )));
    }
    if md.version.is_empty() {
        return Err(invalid("chart.metadata.version is required".into()));
    }
    if crate::semver::Version::parse(&md.version).is_none() {
        return Err(invalid(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        )));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return Err(invalid(
            "chart.metadata.type must be application or library".into(),
        ));
    }
    for maintainer in &mut md.maintainers {
        sanitize(&mut maintainer.name);
        sanitize(&mut maintainer.email);
        sanitize(&mut maintainer.url);
        if maintainer.name.is_empty() {
            return Err(invalid("each maintainer requires a name".into()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for dependency in &mut md.dependencies {
        sanitize(&mut dependency.name);
        sanitize(&mut dependency.version);
        sanitize(&mut dependency.repository);
        sanitize(&mut dependency.condition);
        sanitize(&mut dependency.alias);
        dependency.tags.iter_mut().for_each(sanitize);
        if !dependency.alias.is_empty()
            && !dependency
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "dependency {:?} has disallowed characters in the alias",
                dependency.name
            )));
        }
        let key = if dependency.alias.is_empty() {
            dependency.name.clone()
        } else {
            dependency.alias.clone()
        };
        if !seen.insert(key.clone()) {
            return Err(invalid(format!(
                "more than one dependency with name or alias {key:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_lock_reads_as_helm_records_it() {
        let chart = Chart::from_files(vec![
            file("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
            file(
                "Chart.lock",
                "dependencies:\n- name: common\n  repository: oci://example/charts\n  version: 2.31.4\ndigest: sha256:abc\ngenerated: \"2025-08-19T07:56:23.59371448+02:00\"\n",
            ),
        ])
        .unwrap();
        assert_eq!(
            serde_json::to_value(&chart.lock).unwrap(),
            serde_json::json!({
                "generated": "2025-08-19T07:56:23.59371448+02:00",
                "digest": "sha256:abc",
                "dependencies": [{"name": "common", "version": "2.31.4", "repository": "oci://example/charts"}],
            })
        );
        assert!(chart.files.is_empty(), "Chart.lock is not one of .Files");

        let cases = [
            (
                "generated: 2025-01-02T03:04:05.100Z\n",
                "2025-01-02T03:04:05.1Z",
            ),
            (
                "generated: \"2025-01-02T03:04:05+00:00\"\n",
                "2025-01-02T03:04:05Z",
            ),
            ("digest: x\n", GO_ZERO_TIME),
        ];
        for (text, generated) in cases {
            let lock = Lock::parse(text.as_bytes(), "Chart.lock").unwrap();
            assert_eq!(lock.generated, generated, "{text}");
            assert_eq!(lock.dependencies, None, "Helm writes null: {text}");
        }
        let error = Lock::parse(b"generated: yesterday\n", "Chart.lock").unwrap_err();
        assert!(
            error.to_string().contains("cannot load Chart.lock"),
            "{error}"
        );
    }

    #[test]
    fn a_v1_charts_requirements_lock_is_its_lock_and_one_of_its_files() {
        let lock = "digest: sha256:abc\ngenerated: \"2020-01-01T00:00:00Z\"\n";
        let load = |api_version: &str| {
            Chart::from_files(vec![
                file(
                    "Chart.yaml",
                    &format!("apiVersion: {api_version}\nname: c\nversion: 1.0.0\n"),
                ),
                file("requirements.lock", lock),
            ])
            .unwrap()
        };
        let v1 = load("v1");
        assert_eq!(v1.lock.as_ref().unwrap().digest, "sha256:abc");
        assert_eq!(v1.files.len(), 1);
        let v2 = load("v2");
        assert_eq!(v2.lock.as_ref().unwrap().digest, "sha256:abc");
        assert!(v2.files.is_empty());
    }

    fn file(name: &str, text: &str) -> ChartFile {
        ChartFile {
            name: name.to_string(),
            data: text.as_bytes().into(),
        }
    }

    #[test]
    fn reads_small_and_large_files_whole_without_byte_order_marks() {
        let dir = std::env::temp_dir().join(format!("deploykit-chart-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let large: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let exact = vec![b'x'; SMALL_FILE as usize];
        let mut large_bom = UTF8_BOM.to_vec();
        large_bom.extend_from_slice(&large);
        let cases: [(&str, Vec<u8>, Vec<u8>); 5] = [
            ("small", b"a: 1\n".to_vec(), b"a: 1\n".to_vec()),
            (
                "small-bom",
                b"\xEF\xBB\xBFa: 1\n".to_vec(),
                b"a: 1\n".to_vec(),
            ),
            ("exact", exact.clone(), exact),
            ("large", large.clone(), large.clone()),
            ("large-bom", large_bom, large),
        ];
        let mut buffer = Vec::new();
        for (name, content, want) in cases {
            let path = dir.join(name);
            std::fs::write(&path, &content).unwrap();
            for as_text in [false, true] {
                let got = read_shared(|| File::open(&path), &mut buffer, as_text).unwrap();
                let got = got.bytes().unwrap();
                assert!(
                    got == want.as_slice(),
                    "{name}: {} bytes, want {}",
                    got.len(),
                    want.len()
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sorts_files_into_their_roles() {
        let chart = Chart::from_files(vec![
            file("Chart.yaml", "apiVersion: v2\nname: demo\nversion: 1.0.0\n"),
            file("values.yaml", "a: 1\n"),
            file("templates/x.yaml", "x"),
            file("files/a.txt", "A"),
            file("charts/sub/Chart.yaml", "name: sub\nversion: 0.1.0\n"),
            file("charts/sub/templates/y.yaml", "y"),
        ])
        .unwrap();
        assert_eq!(chart.name(), "demo");
        assert_eq!(chart.templates.len(), 1);
        assert_eq!(chart.files.len(), 1);
        assert_eq!(chart.dependencies.len(), 1);
        assert_eq!(chart.dependencies[0].metadata.api_version, "v1");
    }

    #[test]
    fn chart_yaml_errors_read_like_helm() {
        let err = |text: &str| {
            Chart::from_files(vec![file("Chart.yaml", text)])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("apiVersion: v2\nversion: 1.0.0\n"),
            "validation: chart.metadata.name is required"
        );
        assert_eq!(
            err("apiVersion: v2\nname: x\n"),
            "validation: chart.metadata.version is required"
        );
        assert_eq!(
            err("apiVersion: v2\nname: x\nversion: abc\n"),
            "validation: chart.metadata.version \"abc\" is invalid"
        );
        assert_eq!(
            err("apiVersion: v2\nname: x\nversion: 1.0.0\ntype: foo\n"),
            "validation: chart.metadata.type must be application or library"
        );
        assert_eq!(
            err("apiVersion: v2\nname: x\nversion: 1.0.0\ndeprecated: \"yes\"\n"),
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field Metadata.deprecated of type bool"
        );
        assert_eq!(
            Chart::from_files(vec![file("values.yaml", "")])
                .unwrap_err()
                .to_string(),
            "Chart.yaml file is missing"
        );
    }

    #[test]
    fn a_folder_without_chart_yaml_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/a.yaml"), "kind: ConfigMap\n").unwrap();
        let message = Chart::load(dir.path()).unwrap_err().to_string();
        assert!(
            message.starts_with("Chart.yaml file is missing in "),
            "{message}"
        );
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("pass the chart's own folder"), "{message}");
    }

    #[test]
    fn go_path_clean() {
        assert_eq!(clean_path("a/./b/../c"), "a/c");
        assert_eq!(clean_path("../x"), "../x");
        assert_eq!(clean_path(""), ".");
    }
}
