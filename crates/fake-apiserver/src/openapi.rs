//! OpenAPI v3 documents for the served kinds: what Helm's client (kubectl's validation
//! code) reads before it applies a manifest.
//!
//! `GET /openapi/v3` lists one document per group-version; each document has the paths of
//! its kinds (with the `fieldValidation` query parameter, so clients leave validation to the
//! server instead of downloading the OpenAPI v2 protobuf) and a small but valid schema per
//! kind: `apiVersion`, `kind`, `metadata` and the kind's top-level fields, whose contents
//! are left open.

use serde_json::{Map, Value, json};

use crate::store::{self, ResourceType};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";

/// The path of a group-version's document, as clients look it up (`api/v1`, `apis/apps/v1`).
fn api_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: where each served group-version's document lives. The hash changes
/// when the kinds of a group-version do (a CRD registered), so caching clients refetch.
pub(crate) fn root(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for ty in types {
        let path = api_path(&ty.group, &ty.version);
        if paths.contains_key(&path) {
            continue;
        }
        let hash = fingerprint(types, &ty.group, &ty.version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash:016X}")}),
        );
    }
    json!({"paths": paths})
}

/// FNV-1a over the kinds of one group-version.
fn fingerprint(types: &[ResourceType], group: &str, version: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for ty in types
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        for byte in format!("{}/{}/{}|", ty.kind, ty.plural, ty.namespaced).bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// `GET /openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`: the document of one
/// group-version, or None when nothing is served there.
pub(crate) fn group_version(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(OBJECT_META.into(), object_meta());
    schemas.insert(PATCH.into(), json!({"type": "object", "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}));
    schemas.insert(STATUS.into(), json!({"type": "object", "description": "Status is a return value for calls that don't return other objects.",
        "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"}, "reason": {"type": "string"}, "status": {"type": "string"}}}));
    let builtin = store::builtin_types();
    for ty in kinds {
        let custom = !builtin.contains(ty);
        let name = schema_name(ty, custom);
        schemas.insert(name.clone(), kind_schema(ty, custom));
        let prefix = format!("/{}", api_path(group, version));
        let gvk = json!({"group": ty.group, "version": ty.version, "kind": ty.kind});
        let (collection, item) = if ty.namespaced {
            (
                format!("{prefix}/namespaces/{{namespace}}/{}", ty.plural),
                format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", ty.plural),
            )
        } else {
            (
                format!("{prefix}/{}", ty.plural),
                format!("{prefix}/{}/{{name}}", ty.plural),
            )
        };
        let scope = if ty.namespaced {
            vec!["namespace"]
        } else {
            vec![]
        };
        let item_params: Vec<&str> = scope.iter().copied().chain(["name"]).collect();
        paths.insert(
            collection,
            json!({
                "get": operation("list", ty, &gvk, &name, &[]),
                "post": operation("post", ty, &gvk, &name, &["dryRun", "fieldManager", "fieldValidation"]),
                "parameters": path_parameters(&scope),
            }),
        );
        paths.insert(
            item.clone(),
            json!({
                "get": operation("get", ty, &gvk, &name, &[]),
                "put": operation("put", ty, &gvk, &name, &["dryRun", "fieldManager", "fieldValidation"]),
                "patch": operation("patch", ty, &gvk, &name, &["dryRun", "fieldManager", "fieldValidation", "force"]),
                "delete": operation("delete", ty, &gvk, &name, &["dryRun"]),
                "parameters": path_parameters(&item_params),
            }),
        );
        paths.insert(
            format!("{item}/status"),
            json!({
                "get": operation("get", ty, &gvk, &name, &[]),
                "patch": operation("patch", ty, &gvk, &name, &["dryRun", "fieldManager", "fieldValidation", "force"]),
                "parameters": path_parameters(&item_params),
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (deploykit fake API server)", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The name real servers give a kind's schema: `io.k8s.api.core.v1.ConfigMap`,
/// `io.k8s.api.networking.v1.Ingress`, `com.example.v1.Widget` for custom resources.
fn schema_name(ty: &ResourceType, custom: bool) -> String {
    let package = match ty.group.as_str() {
        group if custom => group.split('.').rev().collect::<Vec<_>>().join("."),
        "" => "io.k8s.api.core".to_string(),
        "apiextensions.k8s.io" => "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".into(),
        group => format!("io.k8s.api.{}", group.split('.').next().unwrap_or(group)),
    };
    format!("{package}.{}.{}", ty.version, ty.kind)
}

fn operation(action: &str, ty: &ResourceType, gvk: &Value, schema: &str, query: &[&str]) -> Value {
    let reference = json!({"$ref": format!("#/components/schemas/{schema}")});
    let body = if action == "patch" {
        let patch = json!({"schema": {"$ref": format!("#/components/schemas/{PATCH}")}});
        json!({"content": {"application/apply-patch+yaml": patch, "application/merge-patch+json": patch,
            "application/strategic-merge-patch+json": patch, "application/json-patch+json": patch}, "required": true})
    } else {
        json!({"content": {"application/json": {"schema": reference}}, "required": true})
    };
    let answer = if action == "list" {
        json!({"type": "object", "properties": {"items": {"type": "array", "items": reference}}})
    } else {
        reference
    };
    let mut op = json!({
        "description": format!("{action} {}", ty.kind),
        "operationId": format!("{action}{}", ty.kind),
        "parameters": query.iter().map(|name| query_parameter(name)).collect::<Vec<_>>(),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    });
    if matches!(action, "post" | "put" | "patch") {
        op["requestBody"] = body;
    }
    op
}

fn query_parameter(name: &str) -> Value {
    let schema = if name == "force" {
        json!({"type": "boolean", "uniqueItems": true})
    } else {
        json!({"type": "string", "uniqueItems": true})
    };
    json!({"name": name, "in": "query", "description": format!("the {name} option of the request"), "schema": schema})
}

fn path_parameters(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "description": format!("the object's {name}"), "schema": {"type": "string", "uniqueItems": true}}))
        .collect()
}

fn object_meta() -> Value {
    let string_map =
        json!({"type": "object", "additionalProperties": {"type": "string", "default": ""}});
    json!({"type": "object", "description": "ObjectMeta is metadata that all persisted resources must have.",
    "properties": {
        "name": {"type": "string"}, "generateName": {"type": "string"}, "namespace": {"type": "string"},
        "labels": string_map, "annotations": string_map, "uid": {"type": "string"},
        "resourceVersion": {"type": "string"}, "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "finalizers": {"type": "array", "items": {"type": "string", "default": ""}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "managedFields": {"type": "array", "items": {"type": "object"}},
    }})
}

/// A kind's schema: the common fields, then its own top-level fields (contents open).
fn kind_schema(ty: &ResourceType, custom: bool) -> Value {
    let open = json!({"type": "object"});
    let strings =
        json!({"type": "object", "additionalProperties": {"type": "string", "default": ""}});
    let bytes =
        json!({"type": "object", "additionalProperties": {"type": "string", "format": "byte"}});
    let objects = json!({"type": "array", "items": {"type": "object"}});
    let text = json!({"type": "string"});
    let flag = json!({"type": "boolean"});
    let own: Vec<(&str, Value)> = match (ty.group.as_str(), ty.kind.as_str()) {
        ("", "ConfigMap") => vec![
            ("data", strings),
            ("binaryData", bytes),
            ("immutable", flag),
        ],
        ("", "Secret") => vec![
            ("data", bytes),
            ("stringData", strings),
            ("type", text),
            ("immutable", flag),
        ],
        ("", "ServiceAccount") => vec![
            ("secrets", objects.clone()),
            ("imagePullSecrets", objects),
            ("automountServiceAccountToken", flag),
        ],
        ("", "Endpoints") => vec![("subsets", objects)],
        ("", "Event") => [
            "involvedObject",
            "source",
            "series",
            "related",
            "eventTime",
            "firstTimestamp",
            "lastTimestamp",
        ]
        .into_iter()
        .map(|f| (f, open.clone()))
        .chain(
            [
                "reason",
                "message",
                "type",
                "action",
                "reportingComponent",
                "reportingInstance",
            ]
            .into_iter()
            .map(|f| (f, text.clone())),
        )
        .chain([("count", json!({"type": "integer", "format": "int32"}))])
        .collect(),
        ("rbac.authorization.k8s.io", "Role") => vec![("rules", objects)],
        ("rbac.authorization.k8s.io", "ClusterRole") => {
            vec![("rules", objects), ("aggregationRule", open)]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            vec![("subjects", objects), ("roleRef", open)]
        }
        ("storage.k8s.io", "StorageClass") => vec![
            ("provisioner", text.clone()),
            ("parameters", strings),
            ("reclaimPolicy", text.clone()),
            ("volumeBindingMode", text),
            ("allowVolumeExpansion", flag),
            (
                "mountOptions",
                json!({"type": "array", "items": {"type": "string"}}),
            ),
            ("allowedTopologies", objects),
        ],
        _ if custom => vec![
            (
                "spec",
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            ),
            (
                "status",
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            ),
        ],
        _ => vec![("spec", open.clone()), ("status", open)],
    };
    let mut properties = Map::new();
    properties.insert("apiVersion".into(), json!({"type": "string", "description": "The versioned schema of this representation of an object."}));
    properties.insert(
        "kind".into(),
        json!({"type": "string", "description": "The REST resource this object represents."}),
    );
    properties.insert(
        "metadata".into(),
        json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}], "default": {}}),
    );
    for (field, schema) in own {
        properties.insert(field.into(), schema);
    }
    json!({
        "type": "object",
        "description": format!("{} ({}), as the deploykit fake API server serves it.", ty.kind, ty.api_version()),
        "properties": properties,
        "x-kubernetes-group-version-kind": [{"group": ty.group, "version": ty.version, "kind": ty.kind}],
    })
}
