//! Rendered manifests, the one model `helm template` output, release records and the
//! cluster share, as Helm's `releaseutil` has it: documents split (`SplitManifests`),
//! each document's head read (kind, name, hook annotations), hooks set apart with their
//! events, weight and delete policies, everything sorted in Helm's install order; and the
//! two texts Helm makes of them: the manifest a release stores and `helm template`'s output.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ChartError;
use crate::value::Value;
use crate::yaml::parse::parse;

/// Kinds in the order Helm installs them (the one copy lives in deploykit-kind-order).
pub use deploykit_kind_order::{INSTALL_ORDER, UNINSTALL_ORDER};

/// Annotation naming the events a hook runs at (`pre-install,post-upgrade`, `test`).
pub const HOOK: &str = "helm.sh/hook";
/// Annotation ordering hooks of one event (an integer, `0` when absent or unreadable).
pub const HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// Annotation saying when a hook's object is deleted (`before-hook-creation`, ...).
pub const HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
/// Annotation that keeps an object when its release no longer has it or is uninstalled.
pub const RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Delete the previous object of a hook before creating it again (Helm's default).
pub const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
/// Delete a hook's object once it succeeded.
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
/// Delete a hook's object when it failed.
pub const HOOK_FAILED: &str = "hook-failed";

/// When a hook runs, spelled as Helm spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookEvent {
    /// Before the first revision's objects are applied.
    PreInstall,
    /// After the first revision is applied (and ready, when waiting).
    PostInstall,
    /// Before an uninstall deletes anything.
    PreDelete,
    /// After an uninstall deleted the release's objects.
    PostDelete,
    /// Before an upgrade applies.
    PreUpgrade,
    /// After an upgrade applied.
    PostUpgrade,
    /// Before a rollback applies.
    PreRollback,
    /// After a rollback applied.
    PostRollback,
    /// `helm test` (also written `test-success`, Helm 2's name).
    Test,
}

impl HookEvent {
    /// The annotation spelling (`pre-install`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }

    /// Reads one event of a `helm.sh/hook` annotation (trimmed, any case), as Helm does.
    pub fn parse(text: &str) -> Option<HookEvent> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            "test" | "test-success" => HookEvent::Test,
            _ => return None,
        })
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What makes a manifest a hook: its events, weight and delete policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The events it runs at.
    pub events: Vec<HookEvent>,
    /// Its order among the hooks of one event (lower first; ties by name).
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` values, lowercased (empty: Helm's default,
    /// [`BEFORE_HOOK_CREATION`]).
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether it runs at `event`.
    pub fn runs_at(&self, event: HookEvent) -> bool {
        self.events.contains(&event)
    }

    /// Whether `policy` applies, counting Helm's default when none is set.
    pub fn has_policy(&self, policy: &str) -> bool {
        if self.delete_policies.is_empty() {
            return policy == BEFORE_HOOK_CREATION;
        }
        self.delete_policies.iter().any(|p| p == policy)
    }
}

/// Which object a manifest names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectRef {
    /// `apiVersion`, e.g. `apps/v1` (empty when the document has none).
    pub api_version: String,
    /// `kind`, e.g. `Deployment` (empty when the document has none).
    pub kind: String,
    /// `metadata.namespace` when set (otherwise the release's, for namespaced kinds).
    pub namespace: Option<String>,
    /// `metadata.name` (empty when the document has none).
    pub name: String,
}

impl ObjectRef {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// The API version without its group.
    pub fn version(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or(self.api_version.as_str(), |(_, v)| v)
    }

    /// Identity used to compare revisions: group, kind, namespace (defaulted), name.
    /// The version is left out, so an object moving from `v1beta1` to `v1` stays the same.
    pub fn identity(&self, default_namespace: &str) -> (String, String, String, String) {
        (
            self.group().to_string(),
            self.kind.clone(),
            self.namespace
                .clone()
                .unwrap_or_else(|| default_namespace.to_string()),
            self.name.clone(),
        )
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{}/{} (namespace {namespace})", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// One YAML document of a rendered template.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The template it came from (`chart/templates/x.yaml`).
    pub source: String,
    /// The document, trimmed (without the `# Source:` line Helm writes above it): what
    /// `helm template` output shows.
    pub content: String,
    /// The document as Helm 4 keeps it in a release record: not trimmed at its end
    /// (a template's last document keeps its trailing newline).
    pub stored: String,
    /// The document as JSON (`null` for a document of comments only).
    pub object: serde_json::Value,
    /// The object it names (fields empty where the document has none).
    pub reference: ObjectRef,
    /// Its hook annotations, for a hook.
    pub hook: Option<Hook>,
}

impl Manifest {
    /// Reads a document's head as Helm's `SimpleHead` does. Errors carry the YAML reader's
    /// message. A document with a `helm.sh/hook` annotation naming an event Helm does not
    /// know is `Ok(None)`: Helm skips it.
    pub fn parse(source: &str, content: String) -> Result<Option<Manifest>, String> {
        let document = parse(&content).map_err(|error| error.to_string())?;
        let hook = match annotation(&document, HOOK) {
            None => None,
            Some(events) => match hook_of(&document, &events) {
                Some(hook) => Some(hook),
                None => return Ok(None),
            },
        };
        let object = document.to_json();
        let reference = reference_of(&object);
        Ok(Some(Manifest {
            source: source.to_string(),
            stored: content.clone(),
            content,
            object,
            reference,
            hook,
        }))
    }

    /// Its `kind` (empty when it has none).
    pub fn kind(&self) -> &str {
        &self.reference.kind
    }

    /// Whether it is a Helm hook.
    pub fn is_hook(&self) -> bool {
        self.hook.is_some()
    }

    /// Whether the document holds no object (only comments or blank lines).
    pub fn is_empty(&self) -> bool {
        self.object.is_null()
    }

    /// Whether `helm.sh/resource-policy: keep` protects the object from deletion.
    pub fn keep(&self) -> bool {
        self.object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(RESOURCE_POLICY))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|policy| policy.trim() == "keep")
    }

    /// Checks that the object can be sent to a cluster: a mapping with `apiVersion`,
    /// `kind` and `metadata.name`; the error says what is missing.
    pub fn check_identity(&self) -> Result<(), String> {
        if !self.object.is_object() {
            return Err("it is not a YAML mapping".into());
        }
        if self.reference.api_version.is_empty() {
            return Err("it has no apiVersion".into());
        }
        if self.reference.kind.is_empty() {
            return Err("it has no kind".into());
        }
        if self.reference.name.is_empty() {
            return Err(format!("the {} has no metadata.name", self.reference.kind));
        }
        Ok(())
    }

    /// The document under its `# Source:` line, as Helm writes it in a release manifest.
    pub fn with_source_line(&self) -> String {
        format!("# Source: {}\n{}", self.source, self.content)
    }
}

fn annotation(document: &Value, key: &str) -> Option<String> {
    let Value::Map(map) = document else {
        return None;
    };
    let Some(Value::Map(meta)) = map.get("metadata") else {
        return None;
    };
    let Some(Value::Map(annotations)) = meta.get("annotations") else {
        return None;
    };
    annotations
        .get(key)
        .map(|v| v.as_str().unwrap_or_default().to_string())
}

/// The hook a document's annotations describe; None when an event is unknown.
fn hook_of(document: &Value, events: &str) -> Option<Hook> {
    let events = events
        .split(',')
        .map(HookEvent::parse)
        .collect::<Option<Vec<_>>>()?;
    // Helm reads the weight with strconv.Atoi and takes 0 for anything else.
    let weight = annotation(document, HOOK_WEIGHT)
        .and_then(|w| w.parse::<i64>().ok())
        .unwrap_or(0);
    let delete_policies = annotation(document, HOOK_DELETE_POLICY)
        .map(|p| {
            p.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    Some(Hook {
        events,
        weight,
        delete_policies,
    })
}

fn reference_of(object: &serde_json::Value) -> ObjectRef {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    ObjectRef {
        api_version: text("/apiVersion").unwrap_or_default(),
        kind: text("/kind").unwrap_or_default(),
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name").unwrap_or_default(),
    }
}

/// Manifests and hooks in install order, as Helm's `SortManifests` returns them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SortedManifests {
    /// Plain resources.
    pub manifests: Vec<Manifest>,
    /// Hook resources (printed after the plain ones).
    pub hooks: Vec<Manifest>,
}

impl SortedManifests {
    /// The manifest text a Helm release stores: each plain resource under `---` and its
    /// `# Source:` line, in install order (`helm get manifest` prints it).
    pub fn release_manifest(&self) -> String {
        release_manifest(&self.manifests)
    }

    /// What `helm template` prints (without `--include-crds`).
    pub fn template_output(&self) -> String {
        let mut out = String::new();
        for manifest in &self.manifests {
            out.push_str(&format!(
                "---\n# Source: {}\n{}\n",
                manifest.source, manifest.content
            ));
        }
        let mut out = out.trim().to_string();
        out.push('\n');
        for hook in &self.hooks {
            out.push_str(&format!(
                "---\n# Source: {}\n{}\n",
                hook.source, hook.content
            ));
        }
        out
    }

    /// The hooks that run at `event`, in the order Helm runs them: by weight, then name,
    /// install order kept among equals.
    pub fn hooks_for(&self, event: HookEvent) -> Vec<&Manifest> {
        hooks_in_run_order(
            self.hooks
                .iter()
                .filter(|h| h.hook.as_ref().is_some_and(|hook| hook.runs_at(event))),
        )
    }
}

/// The hooks of `hooks`, stably sorted as Helm's `hookByWeight`: weight, then name.
pub fn hooks_in_run_order<'a>(hooks: impl Iterator<Item = &'a Manifest>) -> Vec<&'a Manifest> {
    let mut hooks: Vec<&Manifest> = hooks.collect();
    hooks.sort_by(|a, b| {
        let weight = |m: &Manifest| m.hook.as_ref().map_or(0, |h| h.weight);
        weight(a)
            .cmp(&weight(b))
            .then_with(|| a.reference.name.cmp(&b.reference.name))
    });
    hooks
}

/// The manifest text Helm stores for `manifests` (already in install order); a manifest
/// that came from no template (empty `source`) gets no `# Source:` line.
pub fn release_manifest(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for manifest in manifests {
        out.push_str("---\n");
        if !manifest.source.is_empty() {
            out.push_str("# Source: ");
            out.push_str(&manifest.source);
            out.push('\n');
        }
        out.push_str(&manifest.stored);
        out.push('\n');
    }
    out
}

/// The documents of a template's output as Helm 4 keeps them in a release: split as
/// [`split_manifests`] splits them (same documents, same order), leading whitespace of
/// the text dropped, each document otherwise as rendered.
pub fn split_manifests_as_stored(text: &str) -> Vec<String> {
    split_documents(text.trim_start_matches(go_space))
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// Helm's `releaseutil.SplitManifests`: the documents of a YAML stream, trimmed, empty
/// ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    split_documents(text.trim_matches(go_space))
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(go_space).to_string())
        .collect()
}

/// The parts of `text` between separators, as rendered. Separator: `---` at the very
/// start, or preceded by (spaces and) a newline; then any whitespace.
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let at_sep = &bytes[i..i + 3] == b"---";
        if at_sep && (i == 0 || (i > start && bytes[i - 1] == b'\n')) {
            let mut sep_start = i;
            if i > 0 {
                sep_start = i - 1;
                while sep_start > start && is_go_space_byte(bytes[sep_start - 1]) {
                    sep_start -= 1;
                }
            }
            let mut end = i + 3;
            while end < bytes.len() && is_go_space_byte(bytes[end]) {
                end += 1;
            }
            docs.push(&text[start..sep_start]);
            start = end;
            i = end;
            continue;
        }
        i += 1;
    }
    docs.push(&text[start..]);
    docs
}

fn go_space(c: char) -> bool {
    c.is_whitespace()
}

fn is_go_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Helm's `releaseutil.SortManifests` over an engine result: partials, NOTES and blank
/// results skipped, documents split, hooks set apart (those naming an unknown event
/// dropped, as Helm drops them), both sorted by kind.
pub fn sort_manifests(rendered: &BTreeMap<String, String>) -> Result<SortedManifests, ChartError> {
    let mut result = SortedManifests::default();
    for (path, content) in rendered {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || path.ends_with("NOTES.txt") || content.trim().is_empty() {
            continue;
        }
        let stored = split_manifests_as_stored(content);
        let docs = split_manifests(content);
        let aligned = stored.len() == docs.len();
        for (index, doc) in docs.into_iter().enumerate() {
            let manifest = Manifest::parse(path, doc).map_err(|error| ChartError::Template {
                message: format!("YAML parse error on {path}: {error}"),
            })?;
            let manifest = manifest.map(|mut m| {
                if aligned {
                    m.stored.clone_from(&stored[index]);
                }
                m
            });
            match manifest {
                Some(hook) if hook.is_hook() => result.hooks.push(hook),
                Some(manifest) => result.manifests.push(manifest),
                None => {}
            }
        }
    }
    sort_for_install(&mut result.manifests);
    sort_for_install(&mut result.hooks);
    Ok(result)
}

/// The documents of a manifest text a release stores (`---`, `# Source:` line, document),
/// each with the template it came from; documents holding no object are left out.
pub fn parse_release_manifest(text: &str) -> Result<Vec<Manifest>, ChartError> {
    let mut manifests = Vec::new();
    for (index, doc) in split_manifests(text).into_iter().enumerate() {
        let (source, content) = match doc.strip_prefix("# Source: ") {
            Some(rest) => match rest.split_once('\n') {
                Some((source, content)) => (source.trim().to_string(), content.to_string()),
                None => (rest.trim().to_string(), String::new()),
            },
            None => (String::new(), doc),
        };
        let manifest = Manifest::parse(&source, content).map_err(|error| ChartError::Template {
            message: match source.as_str() {
                "" => format!("YAML parse error on document {}: {error}", index + 1),
                source => format!("YAML parse error on {source}: {error}"),
            },
        })?;
        manifests.extend(manifest.filter(|m| !m.is_empty()));
    }
    Ok(manifests)
}

/// Sorts manifests into Helm's install order (stable; unknown kinds last, by name).
pub fn sort_for_install(manifests: &mut [Manifest]) {
    deploykit_kind_order::sort_by_kind(manifests, INSTALL_ORDER, |m| m.reference.kind.as_str());
}

/// What `helm template` prints for an engine result (without `--include-crds`).
pub fn helm_template_output(rendered: &BTreeMap<String, String>) -> Result<String, ChartError> {
    Ok(sort_manifests(rendered)?.template_output())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), ["a: 1", "b: 2"]);
        // As Go's regexp: the second separator swallows the newline the third needs.
        assert_eq!(
            split_manifests("---\na: 1\n  \n---   \n\n---\n"),
            ["a: 1", "---"]
        );
        assert_eq!(
            split_manifests("x: |\n  ---\n"),
            ["x: |\n  ---"].map(String::from)
        );
    }

    #[test]
    fn sorts_in_install_order_with_hooks_last() {
        let mut rendered = BTreeMap::new();
        rendered.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Deployment\n---\nkind: Foo\n---\nkind: Bar\n".to_string(),
        );
        rendered.insert(
            "c/templates/b.yaml".to_string(),
            "kind: ConfigMap\n".to_string(),
        );
        rendered.insert(
            "c/templates/h.yaml".to_string(),
            "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n".to_string(),
        );
        rendered.insert("c/templates/NOTES.txt".to_string(), "hi".to_string());
        let out = helm_template_output(&rendered).unwrap();
        assert_eq!(
            out,
            "---\n# Source: c/templates/b.yaml\nkind: ConfigMap\n---\n# Source: c/templates/a.yaml\nkind: Deployment\n---\n# Source: c/templates/a.yaml\nkind: Bar\n---\n# Source: c/templates/a.yaml\nkind: Foo\n---\n# Source: c/templates/h.yaml\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n"
        );
    }

    fn hook_doc(name: &str, annotations: &str) -> String {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n{annotations}"
        )
    }

    #[test]
    fn reads_hook_events_weights_and_policies_as_helm_does() {
        let mut rendered = BTreeMap::new();
        rendered.insert(
            "c/templates/hooks.yaml".to_string(),
            [
                hook_doc("b", "    helm.sh/hook: pre-install, Post-Upgrade\n    helm.sh/hook-weight: \"-1\"\n    helm.sh/hook-delete-policy: hook-succeeded, Hook-Failed\n"),
                hook_doc("a", "    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"x\"\n"),
                hook_doc("t", "    helm.sh/hook: test-success\n"),
                hook_doc("unknown", "    helm.sh/hook: pre-nothing\n"),
            ]
            .join("---\n"),
        );
        let sorted = sort_manifests(&rendered).unwrap();
        assert_eq!(sorted.hooks.len(), 3, "the unknown event is dropped");
        let b = sorted
            .hooks
            .iter()
            .find(|h| h.reference.name == "b")
            .unwrap();
        let hook = b.hook.as_ref().unwrap();
        assert_eq!(hook.events, [HookEvent::PreInstall, HookEvent::PostUpgrade]);
        assert_eq!(hook.weight, -1);
        assert_eq!(hook.delete_policies, [HOOK_SUCCEEDED, HOOK_FAILED]);
        assert!(!hook.has_policy(BEFORE_HOOK_CREATION));
        let a = sorted
            .hooks
            .iter()
            .find(|h| h.reference.name == "a")
            .unwrap();
        assert_eq!(a.hook.as_ref().unwrap().weight, 0);
        assert!(a.hook.as_ref().unwrap().has_policy(BEFORE_HOOK_CREATION));
        let names = |event| {
            sorted
                .hooks_for(event)
                .iter()
                .map(|h| h.reference.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(HookEvent::PreInstall), ["b", "a"]);
        assert_eq!(names(HookEvent::Test), ["t"]);
    }

    #[test]
    fn a_release_manifest_reads_back_with_its_sources() {
        let mut rendered = BTreeMap::new();
        rendered.insert(
            "c/templates/cm.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n# only a comment\n"
                .to_string(),
        );
        let sorted = sort_manifests(&rendered).unwrap();
        let text = sorted.release_manifest();
        assert_eq!(
            text,
            "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n# Source: c/templates/cm.yaml\n# only a comment\n\n"
        );
        let back = parse_release_manifest(&text).unwrap();
        assert_eq!(back.len(), 1, "the comment-only document holds no object");
        assert_eq!(back[0], sorted.manifests[0]);
        assert!(back[0].check_identity().is_ok());
    }

    #[test]
    fn release_manifests_keep_documents_as_helm_4_stores_them() {
        // Helm 4's stored manifest for these templates (helm-python-sdk, install --dry-run).
        let mut rendered = BTreeMap::new();
        rendered.insert(
            "c/templates/a.yaml".to_string(),
            "\n\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n\n\n---\n\n  \napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n\n\n".to_string(),
        );
        rendered.insert(
            "c/templates/s.yaml".to_string(),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n".to_string(),
        );
        rendered.insert(
            "c/templates/t.yaml".to_string(),
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: t\n   \n".to_string(),
        );
        let sorted = sort_manifests(&rendered).unwrap();
        assert_eq!(
            sorted.release_manifest(),
            "---\n# Source: c/templates/t.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: t\n   \n\n---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n\n---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n\n\n\n"
        );
        assert!(
            sorted.template_output().contains("  name: b\n---")
                || sorted.template_output().ends_with("  name: b\n"),
            "helm template's form is unchanged (documents trimmed)"
        );
    }

    #[test]
    fn a_document_without_identity_says_what_is_missing() {
        let manifest = Manifest::parse("c/templates/x.yaml", "kind: Service\n".into())
            .unwrap()
            .unwrap();
        assert_eq!(
            manifest.check_identity().unwrap_err(),
            "it has no apiVersion"
        );
        let bad = Manifest::parse("c/templates/x.yaml", "a: [".into()).unwrap_err();
        assert!(!bad.is_empty());
    }
}
