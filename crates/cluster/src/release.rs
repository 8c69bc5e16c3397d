//! Release records in Helm's storage format (pure): the release JSON, its
//! base64(gzip(JSON)) encoding, and the `sh.helm.release.v1.<name>.v<revision>` Secret.
//!
//! Matches Helm's `pkg/release` structs and `pkg/storage/driver/{util,secrets}.go`: the
//! Secret's `data.release` holds the base64 text of the gzipped JSON (so, on the wire, the
//! JSON is base64-encoded twice: once by Helm, once by Kubernetes for Secret data).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The Secret type Helm 3 and 4 give release records.
pub const RECORD_TYPE: &str = "helm.sh/release.v1";
/// Prefix of record names.
pub const RECORD_PREFIX: &str = "sh.helm.release.v1";

/// A release's state, spelled as Helm spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Unknown state.
    #[default]
    Unknown,
    /// Applied and ready: the current revision.
    Deployed,
    /// Removed from the cluster, record kept.
    Uninstalled,
    /// Replaced by a later deployed revision.
    Superseded,
    /// Apply or wait failed (or was interrupted).
    Failed,
    /// Being removed.
    Uninstalling,
    /// First install under way.
    PendingInstall,
    /// Upgrade under way.
    PendingUpgrade,
    /// Rollback under way.
    PendingRollback,
}

impl Status {
    /// The label/JSON spelling (`pending-install`, `deployed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Whether an operation is (or was, if its client died) in progress.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall
                | Status::PendingUpgrade
                | Status::PendingRollback
                | Status::Uninstalling
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Go's zero `time.Time`, which Helm writes for `info.deleted` until a release is deleted.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Formats a time as Go's `time.Time` JSON does (RFC 3339 with nanoseconds, zeros trimmed).
pub fn go_time(time: DateTime<Utc>) -> String {
    // Go's RFC3339Nano: the fraction only as long as it needs (no trailing zeros).
    let seconds = time.to_rfc3339_opts(SecondsFormat::Secs, true);
    let nanos = time.timestamp_subsec_nanos();
    if nanos == 0 {
        return seconds;
    }
    let fraction = format!("{nanos:09}");
    let fraction = fraction.trim_end_matches('0');
    format!("{}.{fraction}Z", seconds.trim_end_matches('Z'))
}

/// A file time as Go's `time.Time` marshals it (see [`go_time`]), in UTC.
fn go_file_time(time: std::time::SystemTime) -> String {
    go_time(DateTime::<Utc>::from(time))
}

/// `release.info` (Helm's `Info`); times are RFC 3339 strings as Go writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// When revision 1 was deployed.
    #[serde(default = "zero_time")]
    pub first_deployed: String,
    /// When this revision was deployed.
    #[serde(default = "zero_time")]
    pub last_deployed: String,
    /// When it was deleted (Go's zero time if never).
    #[serde(default = "zero_time")]
    pub deleted: String,
    /// Human-readable description (`Install complete`, `Upgrade complete`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The status.
    #[serde(default)]
    pub status: Status,
    /// Rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Fields newer Helm versions add, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn zero_time() -> String {
    GO_ZERO_TIME.to_string()
}

/// `Chart.yaml` metadata (Helm's `chart.Metadata`): the chart crate's one model, which
/// serializes as Helm's records do.
pub use deploykit_chart::Metadata as ChartMetadata;

/// `release.chart` (Helm's `chart.Chart`): Go writes every field, `null` when unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Chart.yaml.
    pub metadata: ChartMetadata,
    /// Chart.lock as Helm records it (kept as read from records).
    #[serde(default)]
    pub lock: Value,
    /// Templates (`{name, data: base64}`), kept as read; deploykit stores none.
    #[serde(default)]
    pub templates: Value,
    /// The chart's default values.
    #[serde(default)]
    pub values: Value,
    /// values.schema.json, base64 (kept as read).
    #[serde(default)]
    pub schema: Value,
    /// Other files (kept as read).
    #[serde(default)]
    pub files: Value,
    /// Fields newer Helm versions add, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<ChartMetadata> for Chart {
    /// A chart record holding only metadata (no templates, files, values or schema).
    fn from(metadata: ChartMetadata) -> Chart {
        Chart {
            metadata,
            lock: Value::Null,
            templates: Value::Array(Vec::new()),
            values: Value::Object(Map::new()),
            schema: Value::Null,
            files: Value::Array(Vec::new()),
            extra: Map::new(),
        }
    }
}

impl Chart {
    /// Whether `self` and `other` hold the same chart, whenever its files were last
    /// modified (a checkout that touches files changes nothing deployed).
    pub fn same_content(&self, other: &Chart) -> bool {
        fn without_times(chart: &Chart) -> Chart {
            let mut chart = chart.clone();
            chart.extra.remove("modtime");
            chart.extra.remove("schemamodtime");
            for files in [&mut chart.templates, &mut chart.files] {
                for file in files.as_array_mut().into_iter().flatten() {
                    if let Some(file) = file.as_object_mut() {
                        file.remove("modtime");
                    }
                }
            }
            chart
        }
        without_times(self) == without_times(other)
    }

    /// The record Helm keeps of a loaded chart: metadata, Chart.lock, templates and other
    /// files (`{name, data: base64}`), default values, and the schema file as written
    /// (base64).
    pub fn from_loaded(chart: &deploykit_chart::Chart) -> Result<Chart> {
        let file = |f: &deploykit_chart::ChartFile| -> Result<Value> {
            let bytes = f.data.bytes().map_err(|e| Error::Record {
                record: format!("chart {}", chart.metadata.name),
                reason: format!("cannot read {}: {e}", f.name),
            })?;
            let mut record = serde_json::json!({"name": f.name, "data": B64.encode(bytes)});
            // Helm 4's `common.File`: `modtime`, left out when unknown (`omitzero`).
            if let Some(modified) = f.data.modified() {
                record["modtime"] = Value::String(go_file_time(modified));
            }
            Ok(record)
        };
        let templates = chart
            .templates
            .iter()
            .map(file)
            .collect::<Result<Vec<_>>>()?;
        let files = chart.files.iter().map(file).collect::<Result<Vec<_>>>()?;
        let schema = match &chart.schema_file {
            Some(data) => Value::String(B64.encode(data.bytes().map_err(|e| Error::Record {
                record: format!("chart {}", chart.metadata.name),
                reason: format!("cannot read values.schema.json: {e}"),
            })?)),
            None => Value::Null,
        };
        let lock = serde_json::to_value(&chart.lock).map_err(|e| Error::Record {
            record: format!("chart {}", chart.metadata.name),
            reason: format!("cannot encode Chart.lock: {e}"),
        })?;
        Ok(Chart {
            metadata: chart.metadata.clone(),
            lock,
            templates: Value::Array(templates),
            values: Value::Object(deploykit_chart::value::map_to_json(&chart.values)),
            schema,
            files: Value::Array(files),
            extra: modification_times(chart),
        })
    }
}

/// The times Helm 4's chart record keeps besides each file's: `schemamodtime` (a Go
/// `time.Time` with `omitempty`, which never omits a struct: the zero time when the chart
/// has no schema) and `modtime`, Chart.yaml's (`omitzero`: left out when unknown).
fn modification_times(chart: &deploykit_chart::Chart) -> Map<String, Value> {
    let mut times = Map::new();
    let schema = chart.schema_file.as_ref().and_then(|f| f.modified());
    let schema = schema.map_or_else(|| GO_ZERO_TIME.to_string(), go_file_time);
    times.insert("schemamodtime".into(), Value::String(schema));
    if let Some(modified) = chart.modified {
        times.insert("modtime".into(), Value::String(go_file_time(modified)));
    }
    times
}

/// A hook as a release record keeps it (Helm's `release.Hook`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    /// The object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The template it came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The rendered document (without a `# Source:` line).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The events it runs at (`pre-install`, `test`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Its last run.
    #[serde(default)]
    pub last_run: HookRun,
    /// Its weight.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    /// Its delete policies (Helm fills in `before-hook-creation` when it runs one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// Fields newer Helm versions add, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// When a hook last ran and how it ended (Helm's `release.HookExecution`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRun {
    /// When it was started (Go's zero time if never).
    #[serde(default = "zero_time")]
    pub started_at: String,
    /// When it ended (Go's zero time if it did not).
    #[serde(default = "zero_time")]
    pub completed_at: String,
    /// `Running`, `Succeeded`, `Failed`, `Unknown`, or empty when it never ran.
    #[serde(default)]
    pub phase: String,
}

impl Default for HookRun {
    fn default() -> HookRun {
        HookRun {
            started_at: zero_time(),
            completed_at: zero_time(),
            phase: String::new(),
        }
    }
}

impl HookRecord {
    /// The record of a rendered hook that has not run.
    pub fn from_manifest(manifest: &deploykit_chart::Manifest) -> HookRecord {
        let hook = manifest.hook.clone().unwrap_or(deploykit_chart::Hook {
            events: Vec::new(),
            weight: 0,
            delete_policies: Vec::new(),
        });
        HookRecord {
            name: manifest.reference.name.clone(),
            kind: manifest.reference.kind.clone(),
            path: manifest.source.clone(),
            manifest: manifest.stored.clone(),
            events: hook.events.iter().map(|e| e.as_str().to_string()).collect(),
            last_run: HookRun::default(),
            weight: hook.weight,
            delete_policies: hook.delete_policies,
            extra: Map::new(),
        }
    }

    /// The hook as a manifest (None when its document no longer reads as a hook).
    pub fn to_manifest(&self) -> Option<deploykit_chart::Manifest> {
        let mut manifest = deploykit_chart::Manifest::parse(&self.path, self.manifest.clone())
            .ok()
            .flatten()?;
        if let Some(hook) = &mut manifest.hook {
            hook.delete_policies = self.delete_policies.clone();
        }
        Some(manifest)
    }
}

/// One revision of a release, as Helm stores it (`pkg/release.Release`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Release name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Status and times.
    pub info: Info,
    /// The chart deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// The user-supplied values (Helm's `config`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
    /// The rendered manifest applied (`---`-separated documents).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// The chart's hooks, with their last run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRecord>,
    /// The revision number.
    #[serde(default)]
    pub version: u32,
    /// The namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Fields newer Helm versions add (e.g. `apply_method`), kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Release {
    /// A new revision in `status`, deployed now.
    pub fn new(
        name: &str,
        namespace: &str,
        version: u32,
        status: Status,
        description: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let now = go_time(now);
        Release {
            name: name.to_string(),
            info: Info {
                first_deployed: now.clone(),
                last_deployed: now,
                deleted: zero_time(),
                description: description.to_string(),
                status,
                notes: String::new(),
                extra: Map::new(),
            },
            chart: None,
            config: Map::new(),
            manifest: String::new(),
            hooks: Vec::new(),
            version,
            namespace: namespace.to_string(),
            extra: Map::new(),
        }
    }

    /// The record (Secret) name: `sh.helm.release.v1.<name>.v<version>`.
    pub fn record_name(&self) -> String {
        record_name(&self.name, self.version)
    }
}

/// The record name of a revision.
pub fn record_name(release: &str, version: u32) -> String {
    format!("{RECORD_PREFIX}.{release}.v{version}")
}

/// Go's `json.Marshal` sorts map keys; do the same so records match Helm's byte for byte.
fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// Encodes as Helm's `encodeRelease`: base64(gzip(JSON)), best compression.
pub fn encode_release(release: &Release) -> Result<String> {
    let mut release = release.clone();
    release.config = match sort_keys(&Value::Object(release.config)) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(chart) = &mut release.chart {
        chart.values = sort_keys(&chart.values);
    }
    let record = release.record_name();
    let json = serde_json::to_vec(&release).map_err(|e| Error::Record {
        record: record.clone(),
        reason: e.to_string(),
    })?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&json)
        .and_then(|()| gz.finish())
        .map(|bytes| B64.encode(bytes))
        .map_err(|e| Error::Record {
            record,
            reason: e.to_string(),
        })
}

/// Decodes as Helm's `decodeRelease`: base64, gunzip when gzip's magic is there, JSON.
pub fn decode_release(record: &str, data: &[u8]) -> Result<Release> {
    let fail = |reason: String| Error::Record {
        record: record.to_string(),
        reason,
    };
    let text: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = B64
        .decode(&text)
        .map_err(|e| fail(format!("data.release is not base64 ({e})")))?;
    let json = if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| fail(format!("data.release is not valid gzip ({e})")))?;
        out
    } else {
        bytes
    };
    serde_json::from_slice(&json)
        .map_err(|e| fail(format!("the release JSON is not Helm's format ({e})")))
}

/// The Secret that stores a revision (labels `name`, `owner=helm`, `status`, `version`,
/// plus `createdAt`/`modifiedAt` as Helm's Create/Update set them).
pub fn to_secret(release: &Release, timestamp_label: (&str, i64)) -> Result<Secret> {
    let data = encode_release(release)?;
    let labels = BTreeMap::from([
        ("name".to_string(), release.name.clone()),
        ("owner".to_string(), "helm".to_string()),
        (
            "status".to_string(),
            release.info.status.as_str().to_string(),
        ),
        ("version".to_string(), release.version.to_string()),
        (timestamp_label.0.to_string(), timestamp_label.1.to_string()),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(release.record_name()),
            namespace: Some(release.namespace.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        type_: Some(RECORD_TYPE.to_string()),
        data: Some(BTreeMap::from([(
            "release".to_string(),
            ByteString(data.into_bytes()),
        )])),
        ..Secret::default()
    })
}

/// Reads a revision from its Secret.
pub fn from_secret(secret: &Secret) -> Result<Release> {
    let record = secret.metadata.name.clone().unwrap_or_default();
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .ok_or_else(|| Error::Record {
            record: record.clone(),
            reason: "it has no data.release".into(),
        })?;
    decode_release(&record, &data.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Release {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut release =
            Release::new("todo", "apps", 3, Status::Deployed, "Upgrade complete", now);
        release.manifest =
            "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n".into();
        release.config = serde_json::from_str(r#"{"z":1,"a":{"y":true,"b":"x"}}"#).unwrap();
        release.chart = Some(Chart {
            metadata: ChartMetadata {
                name: "c".into(),
                version: "1.0.0".into(),
                api_version: "v2".into(),
                app_version: "2".into(),
                ..Default::default()
            },
            lock: Value::Null,
            templates: Value::Array(vec![]),
            values: serde_json::json!({"replicas": 1}),
            schema: Value::Null,
            files: Value::Array(vec![]),
            extra: Map::new(),
        });
        release
    }

    #[test]
    fn round_trips_through_the_secret() {
        let release = sample();
        let secret = to_secret(&release, ("createdAt", 1)).unwrap();
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("sh.helm.release.v1.todo.v3")
        );
        assert_eq!(secret.type_.as_deref(), Some("helm.sh/release.v1"));
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(labels["owner"], "helm");
        assert_eq!(labels["status"], "deployed");
        assert_eq!(labels["version"], "3");
        assert_eq!(labels["name"], "todo");
        let mut expected = release.clone();
        expected.config = serde_json::from_str(r#"{"a":{"b":"x","y":true},"z":1}"#).unwrap();
        assert_eq!(from_secret(&secret).unwrap(), expected);
    }

    #[test]
    fn charts_differing_only_in_modification_times_hold_the_same_content() {
        let record = |modtime: &str, data: &str| {
            let mut chart = Chart::from(ChartMetadata {
                name: "c".into(),
                ..Default::default()
            });
            chart.templates =
                json!([{"name": "templates/a.yaml", "data": data, "modtime": modtime}]);
            chart.extra.insert("modtime".into(), json!(modtime));
            chart
                .extra
                .insert("schemamodtime".into(), json!(GO_ZERO_TIME));
            chart
        };
        let touched = record("2026-12-06T12:00:01.5Z", "YQ==");
        assert!(record("2026-12-06T12:00:00Z", "YQ==").same_content(&touched));
        assert!(!record("2026-12-06T12:00:00Z", "Yg==").same_content(&touched));
        assert_ne!(record("2026-12-06T12:00:00Z", "YQ=="), touched);
    }

    #[test]
    fn formats_times_as_go_does() {
        let time = |nanos| DateTime::<Utc>::from_timestamp(1_767_225_600, nanos).unwrap();
        assert_eq!(go_time(time(0)), "2026-01-01T00:00:00Z");
        assert_eq!(go_time(time(120_000_000)), "2026-01-01T00:00:00.12Z");
        assert_eq!(go_time(time(123_456_789)), "2026-01-01T00:00:00.123456789Z");
    }

    #[test]
    fn encodes_json_as_go_does() {
        let encoded = encode_release(&sample()).unwrap();
        let json = {
            let bytes = B64.decode(encoded).unwrap();
            assert_eq!(&bytes[..3], &[0x1f, 0x8b, 0x08]);
            let mut out = String::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_string(&mut out)
                .unwrap();
            out
        };
        assert!(json.starts_with(r#"{"name":"todo","info":{"first_deployed":"2026-01-02T03:04:05.5Z","last_deployed":"2026-01-02T03:04:05.5Z","deleted":"0001-01-01T00:00:00Z","description":"Upgrade complete","status":"deployed"},"chart":{"metadata":{"name":"c","version":"1.0.0","apiVersion":"v2","appVersion":"2"},"lock":null,"templates":[],"values":{"replicas":1},"schema":null,"files":[]},"config":{"a":{"b":"x","y":true},"z":1},"manifest":"#), "{json}");
        assert!(
            json.ends_with(r#""version":3,"namespace":"apps"}"#),
            "{json}"
        );
    }

    #[test]
    fn reads_uncompressed_legacy_records_and_keeps_unknown_fields() {
        let json = r#"{"name":"x","info":{"first_deployed":"2025-01-01T00:00:00Z","last_deployed":"2025-01-01T00:00:00Z","deleted":"","status":"superseded","resources":{}},"version":1,"namespace":"d","apply_method":"ssa"}"#;
        let release = decode_release("r", B64.encode(json).as_bytes()).unwrap();
        assert_eq!(release.info.status, Status::Superseded);
        assert_eq!(release.extra["apply_method"], "ssa");
        assert!(
            serde_json::to_string(&release)
                .unwrap()
                .contains(r#""resources":{}"#)
        );
    }

    #[test]
    fn a_corrupt_record_names_itself() {
        let err = decode_release("sh.helm.release.v1.x.v1", b"!!!")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sh.helm.release.v1.x.v1") && err.contains("base64"),
            "{err}"
        );
    }

    #[test]
    fn statuses_are_spelled_as_helm_does() {
        for status in [
            Status::PendingInstall,
            Status::PendingUpgrade,
            Status::PendingRollback,
            Status::Deployed,
            Status::Superseded,
            Status::Failed,
            Status::Uninstalling,
            Status::Uninstalled,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!(Status::PendingUpgrade.is_pending() && !Status::Failed.is_pending());
    }
}
