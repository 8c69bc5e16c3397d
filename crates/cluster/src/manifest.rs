//! Rendered manifests: split, parsed, identified, ordered as Helm installs them (pure).

use std::fmt;

use deploykit_kind_order::{INSTALL_ORDER, UNINSTALL_ORDER, sort_by_kind};
use serde_json::Value;

use crate::error::{Error, Result};

/// Annotation that keeps an object when its release no longer has it or is uninstalled.
pub const RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Which object a manifest names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// `metadata.namespace` when set (otherwise the release's, for namespaced kinds).
    pub namespace: Option<String>,
    /// `metadata.name`.
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

/// One Kubernetes object of a release, as rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The object.
    pub object: Value,
    /// Its identity.
    pub reference: ObjectRef,
    /// Its YAML text as rendered (comments such as `# Source:` kept).
    pub text: String,
}

impl Manifest {
    /// Whether `helm.sh/resource-policy: keep` protects the object from deletion.
    pub fn keep(&self) -> bool {
        self.object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(RESOURCE_POLICY))
            .and_then(Value::as_str)
            .is_some_and(|policy| policy.trim() == "keep")
    }
}

/// Annotation marking a Helm hook (`pre-install`, `test`, ...): deploykit runs no hooks.
pub const HOOK: &str = "helm.sh/hook";

impl Manifest {
    /// Whether the object is a Helm hook (deploykit neither applies nor records hooks).
    pub fn is_hook(&self) -> bool {
        self.object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(HOOK))
            .is_some()
    }
}

/// Splits YAML streams into objects, skipping empty documents (as Helm does).
///
/// Each string may hold several `---`-separated documents; `source` names the first
/// argument's origin in errors (a template path or a position).
pub fn parse_manifests(streams: &[String]) -> Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for (index, stream) in streams.iter().enumerate() {
        for (doc_index, text) in split_documents(stream).into_iter().enumerate() {
            let source_name =
                source_of(&text).unwrap_or_else(|| format!("#{}.{}", index + 1, doc_index + 1));
            let value: Value = serde_yaml::from_str(&text).map_err(|e| Error::Manifest {
                source_name: source_name.clone(),
                reason: e.to_string(),
            })?;
            if value.is_null() {
                continue;
            }
            let reference = reference_of(&value).map_err(|reason| Error::Manifest {
                source_name,
                reason,
            })?;
            manifests.push(Manifest {
                object: value,
                reference,
                text: text.trim_end().to_string(),
            });
        }
    }
    Ok(manifests)
}

/// The stored release manifest: documents in order, each after `---`, as Helm writes it.
pub fn join_manifests(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for manifest in manifests {
        out.push_str("---\n");
        out.push_str(&manifest.text);
        out.push('\n');
    }
    out
}

fn split_documents(stream: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in stream.lines() {
        let is_separator = line.starts_with("---")
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '#');
        if is_separator {
            docs.push(String::new());
        } else if let Some(doc) = docs.last_mut() {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.into_iter()
        .filter(|doc| {
            doc.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

fn source_of(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        line.strip_prefix("# Source: ")
            .map(|s| s.trim().to_string())
    })
}

fn reference_of(value: &Value) -> std::result::Result<ObjectRef, String> {
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let api_version = text("/apiVersion").ok_or("it has no apiVersion")?;
    let kind = text("/kind").ok_or("it has no kind")?;
    let name = text("/metadata/name").ok_or(format!("the {kind} has no metadata.name"))?;
    Ok(ObjectRef {
        api_version,
        kind,
        namespace: text("/metadata/namespace"),
        name,
    })
}

/// Sorts manifests into Helm's install order.
pub fn sort_for_install(manifests: &mut [Manifest]) {
    sort_by_kind(manifests, INSTALL_ORDER, |m| m.reference.kind.as_str());
}

/// What an upgrade must delete: objects of the previous revision missing from the new one,
/// except those annotated `helm.sh/resource-policy: keep` (returned second).
pub fn prune_set<'a>(
    previous: &'a [Manifest],
    current: &[Manifest],
    release_namespace: &str,
) -> (Vec<&'a Manifest>, Vec<&'a Manifest>) {
    let wanted: std::collections::HashSet<_> = current
        .iter()
        .map(|m| m.reference.identity(release_namespace))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let gone = previous.iter().filter(|m| {
        let identity = m.reference.identity(release_namespace);
        !wanted.contains(&identity) && seen.insert(identity)
    });
    let (kept, mut delete): (Vec<_>, Vec<_>) = gone.partition(|m| m.keep());
    sort_by_kind(&mut delete, UNINSTALL_ORDER, |m| m.reference.kind.as_str());
    (delete, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: &str, name: &str) -> String {
        format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n")
    }

    #[test]
    fn splits_streams_and_skips_empty_documents() {
        let stream = format!(
            "---\n# Source: c/templates/a.yaml\n{}---\n# empty\n---\n{}",
            doc("Service", "a"),
            doc("ConfigMap", "b")
        );
        let manifests = parse_manifests(&[stream]).unwrap();
        assert_eq!(manifests.len(), 2);
        assert!(
            manifests[0]
                .text
                .starts_with("# Source: c/templates/a.yaml")
        );
        assert_eq!(manifests[1].reference.kind, "ConfigMap");
    }

    #[test]
    fn hooks_are_recognised() {
        let hook = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n";
        let manifests = parse_manifests(&[hook.to_string(), doc("Service", "s")]).unwrap();
        assert_eq!(
            manifests.iter().map(Manifest::is_hook).collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn names_the_template_of_a_bad_manifest() {
        let err = parse_manifests(&[
            "# Source: c/templates/bad.yaml\nkind: Service\nmetadata:\n  name: x\n".into(),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("c/templates/bad.yaml") && err.contains("apiVersion"),
            "{err}"
        );
    }

    #[test]
    fn sorts_like_helm_with_unknown_kinds_last() {
        let streams: Vec<String> = [
            ("Deployment", "d"),
            ("Zebra", "z"),
            ("Service", "s"),
            ("Apple", "a"),
            ("Namespace", "n"),
            ("Secret", "x"),
            ("ConfigMap", "c"),
            ("Job", "j"),
            ("Deployment", "b"),
        ]
        .iter()
        .map(|(k, n)| doc(k, n))
        .collect();
        let mut manifests = parse_manifests(&streams).unwrap();
        sort_for_install(&mut manifests);
        let order: Vec<_> = manifests
            .iter()
            .map(|m| format!("{}/{}", m.reference.kind, m.reference.name))
            .collect();
        assert_eq!(
            order,
            [
                "Namespace/n",
                "Secret/x",
                "ConfigMap/c",
                "Service/s",
                "Deployment/d",
                "Deployment/b",
                "Job/j",
                "Apple/a",
                "Zebra/z"
            ]
        );
    }

    #[test]
    fn prunes_only_objects_gone_from_the_new_revision_and_honours_keep() {
        let keep = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    helm.sh/resource-policy: keep\n".to_string();
        let previous = parse_manifests(&[
            doc("Service", "a"),
            doc("ConfigMap", "gone"),
            keep,
            doc("Secret", "s"),
        ])
        .unwrap();
        let current = parse_manifests(&[
            doc("Service", "a"),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: ns\n".into(),
        ])
        .unwrap();
        let (delete, kept) = prune_set(&previous, &current, "ns");
        assert_eq!(
            delete
                .iter()
                .map(|m| m.reference.name.as_str())
                .collect::<Vec<_>>(),
            ["gone"]
        );
        assert_eq!(
            kept.iter()
                .map(|m| m.reference.name.as_str())
                .collect::<Vec<_>>(),
            ["kept"]
        );
    }

    #[test]
    fn identity_ignores_the_version() {
        let a = ObjectRef {
            api_version: "networking.k8s.io/v1beta1".into(),
            kind: "Ingress".into(),
            namespace: None,
            name: "x".into(),
        };
        let b = ObjectRef {
            api_version: "networking.k8s.io/v1".into(),
            ..a.clone()
        };
        assert_eq!(a.identity("ns"), b.identity("ns"));
        assert_eq!(a.group(), "networking.k8s.io");
        assert_eq!(b.version(), "v1");
    }
}
