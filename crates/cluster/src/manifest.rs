//! Rendered manifests as the cluster takes them (pure): the one manifest model is
//! deploykit-chart's [`Manifest`] (split, heads, hooks, install order); this module reads
//! YAML streams into it for a [`crate::ReleaseRequest`] and works out the prune set.

use deploykit_kind_order::{UNINSTALL_ORDER, sort_by_kind};

pub use deploykit_chart::manifest::{
    HOOK, Hook, HookEvent, Manifest, ObjectRef, RESOURCE_POLICY, release_manifest,
    sort_for_install, split_manifests,
};

use crate::error::{Error, Result};

/// Splits YAML streams into objects as Helm splits them, skipping documents that hold
/// no object. A document's `# Source:` line names it (in errors and records); without
/// one it is named by position.
pub fn parse_manifests(streams: &[String]) -> Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for (index, stream) in streams.iter().enumerate() {
        for (doc_index, text) in split_manifests(stream).into_iter().enumerate() {
            let (source, content) = match text.strip_prefix("# Source: ") {
                Some(rest) => {
                    let (source, content) = rest.split_once('\n').unwrap_or((rest, ""));
                    (source.trim().to_string(), content.to_string())
                }
                None => (String::new(), text),
            };
            let source_name = if source.is_empty() {
                format!("#{}.{}", index + 1, doc_index + 1)
            } else {
                source.clone()
            };
            let manifest = Manifest::parse(&source, content).map_err(|reason| Error::Manifest {
                source_name: source_name.clone(),
                reason,
            })?;
            let Some(manifest) = manifest.filter(|m| !m.is_empty()) else {
                continue;
            };
            manifest
                .check_identity()
                .map_err(|reason| Error::Manifest {
                    source_name,
                    reason,
                })?;
            manifests.push(manifest);
        }
    }
    Ok(manifests)
}

/// Checks that every manifest names an object the cluster can take.
pub fn check_manifests(manifests: &[Manifest]) -> Result<()> {
    for manifest in manifests {
        manifest
            .check_identity()
            .map_err(|reason| Error::Manifest {
                source_name: manifest.source.clone(),
                reason,
            })?;
    }
    Ok(())
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
        assert_eq!(manifests[0].source, "c/templates/a.yaml");
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
            ("Namespace", "ns"),
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
                "Namespace/ns",
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
    fn records_keep_the_source_lines() {
        let manifests = parse_manifests(&[format!(
            "# Source: c/templates/a.yaml\n{}",
            doc("Service", "a")
        )])
        .unwrap();
        assert_eq!(
            release_manifest(&manifests),
            format!(
                "---\n# Source: c/templates/a.yaml\n{}\n",
                doc("Service", "a").trim_end()
            )
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
