//! Desired versus live objects (pure): the no-op check and the field diff.
//!
//! A re-apply writes nothing when the live object carries the fingerprint (a SHA-256 of
//! the desired object, in the [`APPLIED_HASH`] annotation) of exactly what deploykit would
//! send *and* every field deploykit sets still has its value live. The fingerprint
//! catches fields removed from the manifest (which a subset test alone cannot see: server-
//! side apply would delete them); the subset test catches drift (someone edited a field
//! deploykit owns). Fields others add (defaults, status, other managers' fields) are
//! ignored, as server-side apply ignores them.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Annotation holding the fingerprint of the last applied desired object.
pub const APPLIED_HASH: &str = "deploykit.io/applied-hash";

/// SHA-256 (hex) of an object's canonical JSON (keys sorted).
pub fn fingerprint(object: &Value) -> String {
    hex::encode(Sha256::digest(canonical(object).as_bytes()))
}

fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Whether every field of `desired` has the same value in `live` (`status` ignored).
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    field_changes(desired, live).is_empty()
}

/// Whether the live object is what applying `desired` (fingerprint included) would give.
pub fn unchanged(desired_with_hash: &Value, live: &Value) -> bool {
    let annotation = |v: &Value| {
        v.pointer("/metadata/annotations")
            .and_then(|a| a.get(APPLIED_HASH))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    annotation(desired_with_hash).is_some()
        && annotation(desired_with_hash) == annotation(live)
        && is_subset(desired_with_hash, live)
}

/// One field that differs: a dotted path, the live value and the desired value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Dotted path, e.g. `spec.template.spec.containers`.
    pub path: String,
    /// Value live (None: absent).
    pub live: Option<Value>,
    /// Value desired (None: to be removed).
    pub desired: Option<Value>,
}

/// Fields of `desired` whose live value differs (lists compared whole, numbers by value).
pub fn field_changes(desired: &Value, live: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(desired, Some(live), String::new(), &mut out);
    out
}

/// Fields a previous revision set that the new desired object no longer has (server-side
/// apply removes them).
pub fn removed_fields(previous: &Value, desired: &Value, live: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    removed(previous, desired, live, String::new(), &mut out);
    out
}

/// The fields the server keeps for itself, which a dry-run answer always has anew: left
/// out of [`dry_run_changes`].
const SERVER_FIELDS: &[&str] = &[
    "status",
    "metadata.managedFields",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.uid",
    "metadata.creationTimestamp",
];

/// Every field that differs between a live object and the server's answer to a dry-run
/// apply of the new one: changed, added (`live` None) and removed (`desired` None), without
/// `status` and the fields the server keeps for itself.
pub fn dry_run_changes(live: &Value, answer: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    both(Some(live), Some(answer), String::new(), &mut out);
    out
}

fn both(live: Option<&Value>, answer: Option<&Value>, path: String, out: &mut Vec<FieldChange>) {
    if SERVER_FIELDS.contains(&path.as_str()) {
        return;
    }
    match (live, answer) {
        (Some(Value::Object(live)), Some(Value::Object(answer)))
            if !live.is_empty() || !answer.is_empty() =>
        {
            let keys: std::collections::BTreeSet<&String> =
                live.keys().chain(answer.keys()).collect();
            for key in keys {
                both(live.get(key), answer.get(key), join(&path, key), out);
            }
        }
        (live, answer) if !equal(live, answer) => out.push(FieldChange {
            path,
            live: live.cloned(),
            desired: answer.cloned(),
        }),
        _ => {}
    }
}

/// Equal values, numbers by value (`1` and `1.0`).
fn equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(Some(x), Some(y)))
        }
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            a.len() == b.len() && a.iter().all(|(k, x)| equal(Some(x), b.get(k)))
        }
        (a, b) => a == b,
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(desired: &Value, live: Option<&Value>, path: String, out: &mut Vec<FieldChange>) {
    match desired {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                if path.is_empty() && key == "status" {
                    continue;
                }
                walk(child, live.and_then(|l| l.get(key)), join(&path, key), out);
            }
        }
        _ => {
            if !same(desired, live) {
                out.push(FieldChange {
                    path,
                    live: live.cloned(),
                    desired: Some(desired.clone()),
                });
            }
        }
    }
}

fn removed(
    previous: &Value,
    desired: &Value,
    live: &Value,
    path: String,
    out: &mut Vec<FieldChange>,
) {
    let Some(map) = previous.as_object() else {
        return;
    };
    for (key, child) in map {
        if path.is_empty() && key == "status" {
            continue;
        }
        let here = join(&path, key);
        match (desired.get(key), live.get(key)) {
            (None, Some(live_value)) => out.push(FieldChange {
                path: here,
                live: Some(live_value.clone()),
                desired: None,
            }),
            (Some(d), Some(l)) if child.is_object() && d.is_object() => {
                removed(child, d, l, here, out)
            }
            _ => {}
        }
    }
}

fn same(desired: &Value, live: Option<&Value>) -> bool {
    match (desired, live) {
        (Value::Number(a), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Some(Value::Array(b))) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| {
                    field_changes(x, y).is_empty() && (x.is_object() || same(x, Some(y)))
                })
        }
        (Value::Object(a), Some(Value::Object(_))) if a.is_empty() => true,
        (Value::Null, None) => true,
        (d, Some(l)) => d == l,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dry_run_changes_show_changed_added_and_removed_fields_without_server_noise() {
        let live = json!({
            "metadata": {"name": "web", "resourceVersion": "7", "generation": 1,
                "managedFields": [{"manager": "deploykit"}], "labels": {"tier": "web", "old": "x"}},
            "spec": {"replicas": 2, "ports": [{"port": 80}]},
            "status": {"readyReplicas": 2}
        });
        let answer = json!({
            "metadata": {"name": "web", "resourceVersion": "8", "generation": 2,
                "managedFields": [{"manager": "deploykit", "time": "now"}],
                "labels": {"tier": "web", "new": "y"}},
            "spec": {"replicas": 2.0, "ports": [{"port": 8080}]},
            "status": {"readyReplicas": 0}
        });
        let changes = dry_run_changes(&live, &answer);
        let paths: Vec<(&str, Option<&Value>, Option<&Value>)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.live.as_ref(), c.desired.as_ref()))
            .collect();
        assert_eq!(
            paths,
            [
                ("metadata.labels.new", None, Some(&json!("y"))),
                ("metadata.labels.old", Some(&json!("x")), None),
                (
                    "spec.ports",
                    Some(&json!([{"port": 80}])),
                    Some(&json!([{"port": 8080}]))
                ),
            ]
        );
        assert!(dry_run_changes(&live, &live).is_empty());
    }

    #[test]
    fn live_extras_do_not_count_as_changes() {
        let desired = json!({"spec": {"ports": [{"port": 80}], "replicas": 2}});
        let live = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "replicas": 2.0, "clusterIP": "10.0.0.1"}, "status": {}});
        assert!(is_subset(&desired, &live));
        let changes = field_changes(&json!({"spec": {"replicas": 3}}), &live);
        assert_eq!(
            changes,
            [FieldChange {
                path: "spec.replicas".into(),
                live: Some(json!(2.0)),
                desired: Some(json!(3))
            }]
        );
    }

    #[test]
    fn fingerprint_ignores_key_order_and_guards_removed_fields() {
        assert_eq!(
            fingerprint(&json!({"a": 1, "b": 2})),
            fingerprint(&json!({"b": 2, "a": 1}))
        );
        let with_hash = |v: Value| {
            let mut v = v;
            let h = fingerprint(&v);
            v["metadata"]["annotations"][APPLIED_HASH] = json!(h);
            v
        };
        let old = with_hash(json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}}));
        let new = with_hash(json!({"metadata": {"name": "x"}, "data": {"a": "1"}}));
        assert!(unchanged(&old, &old));
        assert!(
            is_subset(
                &json!({"metadata": {"name": "x"}, "data": {"a": "1"}}),
                &old
            ),
            "a subset test alone would miss the removal"
        );
        assert!(!unchanged(&new, &old));
        assert_eq!(removed_fields(&old, &new, &old)[0].path, "data.b");
    }
}
