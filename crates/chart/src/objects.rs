//! The built-in objects a template sees besides `.Values`: `.Chart`, `.Release`,
//! `.Capabilities`, `.Files` and `.Template`, shaped as Helm's engine shapes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;

use crate::chart::{FileData, Metadata};
use crate::value::{GoObject, Map, MapRef, MapType, Value};

/// The Kubernetes version Helm assumes when rendering offline.
pub const KUBE_VERSION: &str = "v1.36.0";
/// Helm's version as `.Capabilities.HelmVersion.Version` shows it.
pub const HELM_VERSION: &str = "v4.2";
/// The Go version Helm reports in `.Capabilities.HelmVersion.GoVersion`.
pub const HELM_GO_VERSION: &str = "go1.26.6";
/// The Kubernetes client version Helm reports.
pub const HELM_KUBE_CLIENT_VERSION: &str = "v1.36";

/// The API versions `.Capabilities.APIVersions.Has` knows offline (Helm's defaults).
pub const DEFAULT_API_VERSIONS: [&str; 55] = [
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// What the cluster is assumed to offer (`.Capabilities`).
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// `.Capabilities.KubeVersion`.
    pub kube_version: KubeVersion,
    /// `.Capabilities.APIVersions`.
    pub api_versions: Vec<String>,
}

impl Default for Capabilities {
    fn default() -> Capabilities {
        Capabilities {
            kube_version: KubeVersion::parse(KUBE_VERSION).unwrap_or(KubeVersion {
                version: KUBE_VERSION.to_string(),
                major: "1".to_string(),
                minor: "36".to_string(),
            }),
            api_versions: DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// `.Capabilities.KubeVersion`: `Version`, `Major`, `Minor`, and `GitVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// The full version, `v1.36.0`.
    pub version: String,
    /// The major number as text, `1`.
    pub major: String,
    /// The minor number as text, `36`.
    pub minor: String,
}

impl KubeVersion {
    /// Reads `v1.30.2` (or `1.30`); `None` when it is not a version.
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let version = crate::semver::Version::parse(text)?;
        let full = if text.starts_with('v') {
            text.to_string()
        } else {
            format!("v{text}")
        };
        Some(KubeVersion {
            version: full,
            major: version.major.to_string(),
            minor: version.minor.to_string(),
        })
    }
}

/// `.Capabilities.KubeVersion` as a template holds it. `addressed` is true while it is
/// reached through fields, variables and dot, where `{{ }}` prints it by its `String`
/// method (Go takes its address); a function receives a copy, printed by its fields.
struct KubeVersionObject {
    version: KubeVersion,
    addressed: bool,
}

impl GoObject for KubeVersionObject {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn go_kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::string(self.version.version.as_str())),
            "Major" => Some(Value::string(self.version.major.as_str())),
            "Minor" => Some(Value::string(self.version.minor.as_str())),
            _ => None,
        }
    }
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        self.toml_fields()
    }
    fn toml_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::string(self.version.version.as_str())),
            ("Major", Value::string(self.version.major.as_str())),
            ("Minor", Value::string(self.version.minor.as_str())),
        ])
    }
    // Helm's struct also holds the unexported `normalizedVersion`, which `fmt` prints;
    // for the versions Helm is given (`v1.36.0`) it is the version itself.
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::string(self.version.version.as_str())),
            (
                "normalizedVersion",
                Value::string(self.version.version.as_str()),
            ),
            ("Major", Value::string(self.version.major.as_str())),
            ("Minor", Value::string(self.version.minor.as_str())),
        ])
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "GitVersion" | "String" => {
                Some(no_args(name, args).map(|()| Value::string(self.version.version.as_str())))
            }
            _ => None,
        }
    }
    fn go_string(&self) -> String {
        let v = &self.version;
        format!("{{{} {} {} {}}}", v.version, v.version, v.major, v.minor)
    }
    fn template_string(&self) -> String {
        if self.addressed {
            self.version.version.clone()
        } else {
            self.go_string()
        }
    }
    fn copied(&self) -> Option<Value> {
        self.addressed.then(|| {
            Value::Object(Arc::new(KubeVersionObject {
                version: self.version.clone(),
                addressed: false,
            }))
        })
    }
}

fn no_args(name: &str, args: &[Value]) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want 0 got {}",
            args.len()
        ))
    }
}

/// `.Capabilities.APIVersions`: a list of strings with a `Has` method.
#[derive(Debug, Clone)]
pub struct ApiVersions(pub Vec<String>);

impl GoObject for ApiVersions {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::list(
            self.0.iter().map(|v| Value::string(v.as_str())).collect(),
        ))
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name != "Has" {
            return None;
        }
        Some(match args {
            [Value::String(s)] => Ok(Value::Bool(self.0.iter().any(|v| v == &**s))),
            [other] => Err(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )),
            _ => Err(format!(
                "wrong number of args for Has: want 1 got {}",
                args.len()
            )),
        })
    }
    fn go_string(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn prints_as_underlying(&self) -> bool {
        true
    }
}

/// `.Capabilities.HelmVersion`.
#[derive(Debug, Clone)]
pub struct HelmVersion;

impl GoObject for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn go_kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::string(HELM_VERSION)),
            "GitCommit" | "GitTreeState" => Some(Value::string("")),
            "GoVersion" => Some(Value::string(HELM_GO_VERSION)),
            "KubeClientVersion" => Some(Value::string(HELM_KUBE_CLIENT_VERSION)),
            _ => None,
        }
    }
    fn go_string(&self) -> String {
        format!("{{{HELM_VERSION}   {HELM_GO_VERSION} {HELM_KUBE_CLIENT_VERSION}}}")
    }
    fn go_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        self.toml_fields()
    }
    // Helm's `BuildInfo` has JSON tags; the git fields are `omitempty` (and empty here).
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("version", Value::string(HELM_VERSION)),
            ("go_version", Value::string(HELM_GO_VERSION)),
            (
                "kube_client_version",
                Value::string(HELM_KUBE_CLIENT_VERSION),
            ),
        ])
    }
    fn toml_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::string(HELM_VERSION)),
            ("GitCommit", Value::string("")),
            ("GitTreeState", Value::string("")),
            ("GoVersion", Value::string(HELM_GO_VERSION)),
            ("KubeClientVersion", Value::string(HELM_KUBE_CLIENT_VERSION)),
        ])
    }
}

/// The `.Capabilities` object.
pub struct CapabilitiesObject {
    kube_version: Value,
    api_versions: Value,
}

impl CapabilitiesObject {
    /// Wraps capabilities for templates.
    pub fn new(capabilities: &Capabilities) -> CapabilitiesObject {
        CapabilitiesObject::from(capabilities.clone())
    }
}

impl From<Capabilities> for CapabilitiesObject {
    /// Wraps capabilities for templates, without copying them.
    fn from(capabilities: Capabilities) -> CapabilitiesObject {
        CapabilitiesObject {
            kube_version: Value::Object(Arc::new(KubeVersionObject {
                version: capabilities.kube_version,
                addressed: true,
            })),
            api_versions: Value::Object(Arc::new(ApiVersions(capabilities.api_versions))),
        }
    }
}

impl GoObject for CapabilitiesObject {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(self.kube_version.clone()),
            "APIVersions" => Some(self.api_versions.clone()),
            "HelmVersion" => Some(Value::Object(Arc::new(HelmVersion))),
            _ => None,
        }
    }
    // `fmt` writes the pointer as `&` and the struct (`printf "%v"`); `{{ }}` looks
    // through the pointer and writes the struct alone.
    fn go_string(&self) -> String {
        format!("&{}", self.template_string())
    }
    fn template_string(&self) -> String {
        let field = |value: &Value| match value {
            Value::Object(object) => object.go_string(),
            _ => String::new(),
        };
        format!(
            "{{{} {} {}}}",
            field(&self.kube_version),
            field(&self.api_versions),
            HelmVersion.go_string()
        )
    }
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        self.toml_fields()
    }
    fn toml_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("KubeVersion", self.kube_version.clone()),
            ("APIVersions", self.api_versions.clone()),
            ("HelmVersion", Value::Object(Arc::new(HelmVersion))),
        ])
    }
}

/// `.Release` as Helm builds it.
pub fn release_value(
    name: &str,
    namespace: &str,
    revision: i64,
    is_install: bool,
    is_upgrade: bool,
) -> Value {
    let mut map = Map::new();
    map.insert("Name".into(), Value::string(name));
    map.insert("Namespace".into(), Value::string(namespace));
    map.insert("Revision".into(), Value::Int(revision));
    map.insert("IsInstall".into(), Value::Bool(is_install));
    map.insert("IsUpgrade".into(), Value::Bool(is_upgrade));
    map.insert("Service".into(), Value::string("Helm"));
    Value::map(map)
}

fn strings(list: &[String]) -> Value {
    Value::list(list.iter().map(|s| Value::string(s.as_str())).collect())
}

/// `.Chart`: the chart's metadata under Helm's Go field names (`Name`, `Version`,
/// `AppVersion`, ...), plus `IsRoot`.
pub fn chart_value(md: &Metadata, is_root: bool) -> Value {
    let mut map = Map::new();
    let s = |v: &str| Value::string(v);
    map.insert("Name".into(), s(&md.name));
    map.insert("Home".into(), s(&md.home));
    map.insert("Sources".into(), strings(&md.sources));
    map.insert("Version".into(), s(&md.version));
    map.insert("Description".into(), s(&md.description));
    map.insert("Keywords".into(), strings(&md.keywords));
    let maintainers = md
        .maintainers
        .iter()
        .map(|m| {
            let mut entry = Map::new();
            entry.insert("Name".into(), s(&m.name));
            entry.insert("Email".into(), s(&m.email));
            entry.insert("URL".into(), s(&m.url));
            Value::map(entry)
        })
        .collect();
    map.insert("Maintainers".into(), Value::list(maintainers));
    map.insert("Icon".into(), s(&md.icon));
    map.insert("APIVersion".into(), s(&md.api_version));
    map.insert("Condition".into(), s(&md.condition));
    map.insert("Tags".into(), s(&md.tags));
    map.insert("AppVersion".into(), s(&md.app_version));
    map.insert("Deprecated".into(), Value::Bool(md.deprecated));
    let annotations: Map = md
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    // Go's `map[string]string`, nil when Chart.yaml has none (`toJson` writes `null`).
    let annotations = if annotations.is_empty() {
        MapRef::nil_map()
    } else {
        MapRef::new(annotations)
    };
    map.insert(
        "Annotations".into(),
        Value::Map(annotations.with_type(MapType::StringMap)),
    );
    map.insert("KubeVersion".into(), s(&md.kube_version));
    let dependencies = md
        .dependencies
        .iter()
        .map(|d| {
            let mut entry = Map::new();
            entry.insert("Name".into(), s(&d.name));
            entry.insert("Version".into(), s(&d.version));
            entry.insert("Repository".into(), s(&d.repository));
            entry.insert("Condition".into(), s(&d.condition));
            entry.insert("Tags".into(), strings(&d.tags));
            entry.insert("Enabled".into(), Value::Bool(d.enabled));
            entry.insert("ImportValues".into(), Value::list(d.import_values.clone()));
            entry.insert("Alias".into(), s(&d.alias));
            Value::map(entry)
        })
        .collect();
    map.insert("Dependencies".into(), Value::list(dependencies));
    map.insert("Type".into(), s(&md.chart_type));
    map.insert("IsRoot".into(), Value::Bool(is_root));
    Value::map(map)
}

/// `.Files`: a chart's non-template files by path, with Helm's methods.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: BTreeMap<String, FileData>,
}

/// Why `.Files` could not read a file: `cannot read PATH: CAUSE`.
type ReadError = String;

impl Files {
    /// Files from `(path, contents)` pairs.
    pub fn new(files: impl IntoIterator<Item = (String, FileData)>) -> Files {
        Files {
            files: files.into_iter().collect(),
        }
    }

    fn read(data: &FileData) -> Result<Arc<[u8]>, ReadError> {
        data.shared_bytes().map_err(|error| error.to_string())
    }

    /// The bytes, or none where printing or ranging cannot report a failed read.
    fn read_or_empty(data: &FileData) -> Arc<[u8]> {
        Files::read(data).unwrap_or_else(|_| Arc::from(Vec::new()))
    }

    /// `GetBytes`: the bytes at `name`, empty when absent.
    pub fn get_bytes(&self, name: &str) -> Result<Arc<[u8]>, ReadError> {
        match self.files.get(name) {
            Some(data) => Files::read(data),
            None => Ok(Arc::from(Vec::new())),
        }
    }

    /// `Get`: the text at `name`, empty when absent.
    pub fn get(&self, name: &str) -> Result<String, ReadError> {
        Ok(crate::value::lossy_text(&self.get_bytes(name)?).into_owned())
    }

    /// `Glob`: the files whose paths match a gobwas-style pattern (`*` stays within a
    /// folder, `**` crosses folders, `?`, `[...]`, `{a,b}`).
    pub fn glob(&self, pattern: &str) -> Files {
        let parsed = glob_parse(pattern).unwrap_or_else(|| vec![GlobPart::AnyDeep]);
        Files {
            files: self
                .files
                .iter()
                .filter(|(name, _)| glob_match(&parsed, &name.chars().collect::<Vec<_>>()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// `Lines`: the file's lines (a final newline does not make an empty last line).
    pub fn lines(&self, name: &str) -> Result<Vec<String>, ReadError> {
        let Some(data) = self.files.get(name) else {
            return Ok(Vec::new());
        };
        let mut text = crate::value::lossy_text(&Files::read(data)?).into_owned();
        if text.ends_with('\n') {
            text.pop();
        }
        Ok(text.split('\n').map(str::to_string).collect())
    }

    fn as_yaml(&self, encode: impl Fn(&[u8]) -> String) -> Result<String, ReadError> {
        let mut map = Map::new();
        for (name, data) in &self.files {
            let base = name.rsplit('/').next().unwrap_or(name);
            map.insert(base.to_string(), Value::string(encode(&Files::read(data)?)));
        }
        Ok(crate::yaml::emit::to_yaml(&Value::map(map)).unwrap_or_default())
    }

    /// `AsConfig`: the files as ConfigMap `data` YAML (base name → text).
    pub fn as_config(&self) -> Result<String, ReadError> {
        self.as_yaml(|data| crate::value::lossy_text(data).into_owned())
    }

    /// `AsSecrets`: the files as Secret `data` YAML (base name → base64).
    pub fn as_secrets(&self) -> Result<String, ReadError> {
        self.as_yaml(|data| base64::engine::general_purpose::STANDARD.encode(data))
    }

    /// The files as a Go map value (`path → []byte`), for ranging; a file that cannot
    /// be read is empty there (ranging has no way to fail).
    pub fn as_map(&self) -> Value {
        Value::map(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bytes(Files::read_or_empty(v))))
                .collect(),
        )
    }
}

fn string_arg(name: &str, args: &[Value]) -> Result<String, String> {
    match args {
        [Value::String(s)] => Ok(s.to_string()),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

impl GoObject for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn underlying(&self) -> Option<Value> {
        Some(self.as_map())
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let result = match name {
            // Go's string(bytes): a binary file keeps its bytes (`.Files.Get | b64enc`).
            "Get" => string_arg(name, args).and_then(|path| {
                self.get_bytes(&path)
                    .map(|bytes| Value::from_go_bytes(bytes.to_vec()))
            }),
            "GetBytes" => {
                string_arg(name, args).and_then(|path| self.get_bytes(&path).map(Value::Bytes))
            }
            "Glob" => {
                string_arg(name, args).map(|pattern| Value::Object(Arc::new(self.glob(&pattern))))
            }
            "Lines" => string_arg(name, args).and_then(|path| {
                let lines = self.lines(&path)?;
                Ok(Value::string_list(lines))
            }),
            "AsConfig" => no_args(name, args).and_then(|()| self.as_config().map(Value::string)),
            "AsSecrets" => no_args(name, args).and_then(|()| self.as_secrets().map(Value::string)),
            _ => return None,
        };
        Some(result)
    }
    /// Go's `%v` of a `map[string][]byte`: `map[path:[104 105] ...]`. Written into one
    /// string: a chart's files can be megabytes (bitnami's envoy-gateway passes its root
    /// context, 3.3 MB of CRDs included, as a `dict` key, which Go formats with `%v`),
    /// and a string per byte made that case a tenth of the corpus's render time.
    fn go_string(&self) -> String {
        let mut out = String::from("map[");
        for (i, (name, data)) in self.files.iter().enumerate() {
            let data = Files::read_or_empty(data);
            out.reserve(name.len() + 4 + 4 * data.len());
            if i > 0 {
                out.push(' ');
            }
            out.push_str(name);
            out.push_str(":[");
            push_decimal_bytes(&mut out, &data);
            out.push(']');
        }
        out.push(']');
        out
    }
}

/// Appends `bytes` in decimal, separated by spaces, as Go prints a `[]byte` with `%v`.
fn push_decimal_bytes(out: &mut String, bytes: &[u8]) {
    for (i, &byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if byte >= 100 {
            out.push(char::from(b'0' + byte / 100));
        }
        if byte >= 10 {
            out.push(char::from(b'0' + byte / 10 % 10));
        }
        out.push(char::from(b'0' + byte % 10));
    }
}

#[derive(Debug, Clone)]
enum GlobPart {
    Literal(char),
    Any,
    AnyDeep,
    One,
    Class(Vec<(char, char)>, bool),
    Alternatives(Vec<Vec<GlobPart>>),
}

fn glob_parse(pattern: &str) -> Option<Vec<GlobPart>> {
    let chars: Vec<char> = pattern.chars().collect();
    let (parts, rest) = glob_parse_seq(&chars, false)?;
    if rest != chars.len() {
        return None;
    }
    Some(parts)
}

fn glob_parse_seq(chars: &[char], in_alt: bool) -> Option<(Vec<GlobPart>, usize)> {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                parts.push(GlobPart::AnyDeep);
                i += 2;
            }
            '*' => {
                parts.push(GlobPart::Any);
                i += 1;
            }
            '?' => {
                parts.push(GlobPart::One);
                i += 1;
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(chars.get(j), Some('!'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                while j < chars.len() && chars[j] != ']' {
                    let lo = chars[j];
                    if chars.get(j + 1) == Some(&'-') && j + 2 < chars.len() && chars[j + 2] != ']'
                    {
                        ranges.push((lo, chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                if j >= chars.len() {
                    return None;
                }
                parts.push(GlobPart::Class(ranges, negated));
                i = j + 1;
            }
            '{' => {
                let mut options = Vec::new();
                let mut j = i + 1;
                loop {
                    let (option, used) = glob_parse_seq(&chars[j..], true)?;
                    options.push(option);
                    j += used;
                    match chars.get(j) {
                        Some(',') => j += 1,
                        Some('}') => {
                            j += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                parts.push(GlobPart::Alternatives(options));
                i = j;
            }
            ',' | '}' if in_alt => return Some((parts, i)),
            '\\' if i + 1 < chars.len() => {
                parts.push(GlobPart::Literal(chars[i + 1]));
                i += 2;
            }
            c => {
                parts.push(GlobPart::Literal(c));
                i += 1;
            }
        }
    }
    Some((parts, i))
}

fn glob_match(parts: &[GlobPart], name: &[char]) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return name.is_empty();
    };
    match first {
        GlobPart::Literal(c) => name.first() == Some(c) && glob_match(rest, &name[1..]),
        GlobPart::One => name.first().is_some_and(|c| *c != '/') && glob_match(rest, &name[1..]),
        GlobPart::Class(ranges, negated) => {
            name.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated && *c != '/'
            }) && glob_match(rest, &name[1..])
        }
        GlobPart::Any | GlobPart::AnyDeep => {
            let deep = matches!(first, GlobPart::AnyDeep);
            for k in 0..=name.len() {
                if glob_match(rest, &name[k..]) {
                    return true;
                }
                if k < name.len() && name[k] == '/' && !deep {
                    return false;
                }
            }
            false
        }
        GlobPart::Alternatives(options) => options.iter().any(|option| {
            let mut joined = option.clone();
            joined.extend_from_slice(rest);
            glob_match(&joined, name)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files::new(
            [
                ("files/a.txt", "A\nB\n"),
                ("files/sub/b.txt", "b"),
                ("files/c.json", "{}"),
                ("README.md", "r"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), FileData::from(v.as_bytes()))),
        )
    }

    #[test]
    fn glob_follows_gobwas_rules() {
        let names = |pattern: &str| {
            files()
                .glob(pattern)
                .files
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(names("files/*.txt"), ["files/a.txt"]);
        assert_eq!(names("files/**.txt"), ["files/a.txt", "files/sub/b.txt"]);
        assert_eq!(names("files/*.{txt,json}"), ["files/a.txt", "files/c.json"]);
        assert_eq!(names("*.md"), ["README.md"]);
    }

    #[test]
    fn files_print_as_gos_map_of_byte_slices() {
        let files = Files::new([
            ("b".to_string(), FileData::from(&[][..])),
            (
                "a".to_string(),
                FileData::from(&[0, 9, 10, 99, 100, 255][..]),
            ),
        ]);
        assert_eq!(files.go_string(), "map[a:[0 9 10 99 100 255] b:[]]");
        assert_eq!(Files::default().go_string(), "map[]");
    }

    #[test]
    fn lines_and_get() {
        assert_eq!(files().lines("files/a.txt").unwrap(), ["A", "B"]);
        assert_eq!(files().get("missing").unwrap(), "");
    }
}
