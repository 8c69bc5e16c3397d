//! Objects, resource kinds, server-side apply bookkeeping and selectors.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// A kind of resource the fake serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

pub(crate) fn builtin_types() -> Vec<ResourceType> {
    let t = |group: &str, version: &str, kind: &str, plural: &str, namespaced: bool| ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
    };
    vec![
        t("", "v1", "Namespace", "namespaces", false),
        t("", "v1", "Node", "nodes", false),
        t("", "v1", "Pod", "pods", true),
        t("", "v1", "Service", "services", true),
        t("", "v1", "Endpoints", "endpoints", true),
        t("", "v1", "ConfigMap", "configmaps", true),
        t("", "v1", "Secret", "secrets", true),
        t("", "v1", "ServiceAccount", "serviceaccounts", true),
        t(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
        ),
        t("", "v1", "PersistentVolume", "persistentvolumes", false),
        t("", "v1", "Event", "events", true),
        t("", "v1", "ResourceQuota", "resourcequotas", true),
        t("", "v1", "LimitRange", "limitranges", true),
        t("apps", "v1", "Deployment", "deployments", true),
        t("apps", "v1", "StatefulSet", "statefulsets", true),
        t("apps", "v1", "DaemonSet", "daemonsets", true),
        t("apps", "v1", "ReplicaSet", "replicasets", true),
        t("batch", "v1", "Job", "jobs", true),
        t("batch", "v1", "CronJob", "cronjobs", true),
        t("networking.k8s.io", "v1", "Ingress", "ingresses", true),
        t(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
        ),
        t(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        ),
        t(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        ),
        t("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
        t(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
        ),
        t(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
        t(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        t("coordination.k8s.io", "v1", "Lease", "leases", true),
        t(
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            false,
        ),
        t(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        ),
    ]
}

/// Key of a stored object: group, plural, namespace ("" when cluster-scoped), name.
pub(crate) type Key = (String, String, String, String);

/// One field manager's entry in `metadata.managedFields`.
#[derive(Debug, Clone)]
pub(crate) struct ManagerEntry {
    pub manager: String,
    pub operation: &'static str,
    pub api_version: String,
    pub time: String,
    pub fields: BTreeSet<Vec<String>>,
}

/// A stored object and its field ownership.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub value: Value,
    pub managers: Vec<ManagerEntry>,
}

impl Stored {
    /// The object as served, with `managedFields` rendered as `fieldsV1`.
    pub fn rendered(&self) -> Value {
        let mut value = self.value.clone();
        let entries: Vec<Value> = self
            .managers
            .iter()
            .map(|m| {
                json!({"manager": m.manager, "operation": m.operation, "apiVersion": m.api_version,
                    "time": m.time, "fieldsType": "FieldsV1", "fieldsV1": fields_v1(&m.fields)})
            })
            .collect();
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
        value
    }
}

fn fields_v1(fields: &BTreeSet<Vec<String>>) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for key in path {
            node = node
                .entry(format!("f:{key}"))
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("fieldsV1 nodes are objects");
        }
    }
    Value::Object(root)
}

const SERVER_SET_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
];

/// Leaf paths of an object's user-set fields. Maps recurse; lists and scalars are leaves
/// (lists are owned atomically: a simplification of real associative-list keys).
pub(crate) fn leaves(object: &Value) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    if let Some(map) = object.as_object() {
        for (key, value) in map {
            match key.as_str() {
                "apiVersion" | "kind" | "status" => {}
                "metadata" => {
                    if let Some(meta) = value.as_object() {
                        for (mk, mv) in meta {
                            if !SERVER_SET_META.contains(&mk.as_str()) {
                                walk(mv, vec!["metadata".into(), mk.clone()], &mut out);
                            }
                        }
                    }
                }
                _ => walk(value, vec![key.clone()], &mut out),
            }
        }
    }
    out
}

fn walk(value: &Value, path: Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (key, child) in map {
                let mut next = path.clone();
                next.push(key.clone());
                walk(child, next, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

pub(crate) fn value_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

pub(crate) fn remove_at(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = value;
    for key in parents {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

/// Deep merge for apply: maps merge, everything else replaces.
pub(crate) fn merge_into(base: &mut Value, overlay: &Value) {
    match (base.as_object_mut(), overlay.as_object()) {
        (Some(b), Some(o)) => {
            for (key, value) in o {
                match b.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_into(existing, value)
                    }
                    _ => {
                        b.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        _ => *base = overlay.clone(),
    }
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(base: &mut Value, patch: &Value) {
    let Some(patch_map) = patch.as_object() else {
        *base = patch.clone();
        return;
    };
    if !base.is_object() {
        *base = Value::Object(Map::new());
    }
    if let Some(b) = base.as_object_mut() {
        for (key, value) in patch_map {
            if value.is_null() {
                b.remove(key);
            } else {
                merge_patch(b.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Drops strategic-merge-patch directives (`$patch`, `$setElementOrder/...`, `$retainKeys`):
/// this fake applies strategic merge patches as plain merge patches.
pub(crate) fn strip_directives(patch: &mut Value) {
    match patch {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with('$'));
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// The part of an object that bumps `metadata.generation` when it changes.
pub(crate) fn generation_content(value: &Value) -> Value {
    let mut copy = value.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

/// A parsed label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
pub(crate) struct Selector(Vec<Requirement>);

enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut current = String::new();
        for c in text.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        parts.push(current);
        let mut requirements = Vec::new();
        for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Vec<String> {
                rest.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .collect()
            };
            let requirement = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(rest))
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().into(), set(rest))
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if part
                .chars()
                .all(|c| c.is_alphanumeric() || "-_./".contains(c))
            {
                Requirement::Exists(part.into())
            } else {
                return Err(format!("unable to parse requirement: {part}"));
            };
            requirements.push(requirement);
        }
        Ok(Selector(requirements))
    }

    /// Matches against a flat string map (labels, or dotted field paths).
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => lookup(k).as_deref() == Some(v.as_str()),
            Requirement::NotEquals(k, v) => lookup(k).as_deref() != Some(v.as_str()),
            Requirement::In(k, vs) => lookup(k).is_some_and(|x| vs.contains(&x)),
            Requirement::NotIn(k, vs) => lookup(k).is_none_or(|x| !vs.contains(&x)),
            Requirement::Exists(k) => lookup(k).is_some(),
            Requirement::NotExists(k) => lookup(k).is_none(),
        })
    }
}

pub(crate) fn label_of(object: &Value, key: &str) -> Option<String> {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
}

pub(crate) fn field_of(object: &Value, dotted: &str) -> Option<String> {
    let mut node = object;
    for part in dotted.split('.') {
        node = node.get(part)?;
    }
    match node {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

pub(crate) type Objects = BTreeMap<Key, Stored>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let labels = |k: &str| match k {
            "app" => Some("web".to_string()),
            "tier" => Some("front".to_string()),
            _ => None,
        };
        for (text, expected) in [
            ("app=web", true),
            ("app==web,tier!=back", true),
            ("app in (a, web)", true),
            ("tier notin (front)", false),
            ("app,!db", true),
            ("db", false),
            ("", true),
        ] {
            assert_eq!(
                Selector::parse(text).unwrap().matches(labels),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn leaves_skip_server_fields_and_keep_lists_atomic() {
        let v = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {"ports": [{"port": 1}], "empty": {}}, "status": {"x": 1}});
        let paths: Vec<String> = leaves(&v).into_iter().map(|p| p.join(".")).collect();
        assert_eq!(paths, ["metadata.labels.a", "spec.empty", "spec.ports"]);
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let mut base = json!({"a": {"b": 1, "c": 2}});
        merge_patch(&mut base, &json!({"a": {"b": null, "d": 3}}));
        assert_eq!(base, json!({"a": {"c": 2, "d": 3}}));
    }
}
