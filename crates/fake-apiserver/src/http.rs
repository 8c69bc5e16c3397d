//! HTTP routing and the API operations.

use std::collections::{BTreeSet, HashMap};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::store::{self, Key, ManagerEntry, ResourceType, Selector, Stored};
use crate::{ApiError, Shared, State, WatchEvent, now};

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/portforward",
            any(portforward),
        )
        .fallback(handle)
        .with_state(shared)
}

fn json_response(code: u16, value: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn error_response(error: &ApiError) -> Response {
    json_response(error.code, &error.status())
}

type Params = HashMap<String, String>;

async fn handle(
    AxumState(shared): AxumState<Shared>,
    method: Method,
    uri: Uri,
    Query(params): Query<Params>,
    mut headers: HeaderMap,
    mut body: Bytes,
) -> Response {
    if shared.lock().reject_credentials {
        return error_response(&ApiError::new(401, "Unauthorized", "Unauthorized"));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let protobuf = content_type.contains("protobuf");
    let decoded = if protobuf && method == Method::DELETE {
        Some(Bytes::new())
    } else if protobuf {
        crate::protobuf::decode_secret(&body).map(|secret| Bytes::from(secret.to_string()))
    } else {
        None
    };
    if let Some(decoded) = decoded {
        body = decoded;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        // Answer as a JSON-only server does; client-go then falls back to JSON.
        return error_response(&ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/merge-patch+json (got {content_type})"
            ),
        ));
    }
    let path = uri.path().trim_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').collect();
    let dry_run = params.contains_key("dryRun");
    if dry_run && shared.lock().refuse_dry_run {
        // As a server answers when an admission webhook without `sideEffects: None`
        // would see the request.
        return error_response(&ApiError::new(
            400,
            "BadRequest",
            "admission webhook \"policy.example.com\" does not support dry run",
        ));
    }
    if method != Method::GET && !dry_run {
        shared.lock().writes.push(format!("{method} /{path}"));
    }
    let result = match segments.as_slice() {
        ["version"] => Ok(
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-deploykit-fake", "platform": "linux/amd64"}),
        ),
        ["api"] => Ok(
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ["apis"] => Ok(group_list(&shared.lock())),
        ["openapi", "v3"] => Ok(crate::openapi::root(&shared.lock().types)),
        ["openapi", "v3", "api", version] => {
            crate::openapi::group_version(&shared.lock().types, "", version)
                .ok_or_else(not_found_path)
        }
        ["openapi", "v3", "apis", group, version] => {
            crate::openapi::group_version(&shared.lock().types, group, version)
                .ok_or_else(not_found_path)
        }
        ["api", "v1"] => resource_list(&shared.lock(), "", "v1"),
        ["apis", group, version] => resource_list(&shared.lock(), group, version),
        ["api", "v1", rest @ ..] => {
            return resource(&shared, "", "v1", rest, &method, &params, &headers, &body).await;
        }
        ["apis", group, version, rest @ ..] => {
            return resource(
                &shared, group, version, rest, &method, &params, &headers, &body,
            )
            .await;
        }
        _ => Err(not_found_path()),
    };
    match result {
        Ok(value) => json_response(200, &value),
        Err(error) => error_response(&error),
    }
}

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn group_list(state: &State) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for ty in state.types.iter().filter(|t| !t.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == ty.group) {
            Some((_, versions)) if !versions.contains(&ty.version) => {
                versions.push(ty.version.clone())
            }
            Some(_) => {}
            None => groups.push((ty.group.clone(), vec![ty.version.clone()])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let entries: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": entries, "preferredVersion": entries[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(state: &State, group: &str, version: &str) -> Result<Value, ApiError> {
    let verbs = json!([
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch"
    ]);
    let mut resources = Vec::new();
    for ty in state
        .types
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        resources.push(json!({"name": ty.plural, "singularName": ty.kind.to_lowercase(), "namespaced": ty.namespaced, "kind": ty.kind, "verbs": verbs}));
        resources.push(json!({"name": format!("{}/status", ty.plural), "singularName": "", "namespaced": ty.namespaced, "kind": ty.kind, "verbs": ["get", "patch", "update"]}));
        if ty.plural == "pods" {
            resources.push(json!({"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}));
            resources.push(json!({"name": "pods/portforward", "singularName": "", "namespaced": true, "kind": "PodPortForwardOptions", "verbs": ["create", "get"]}));
        }
    }
    if resources.is_empty() {
        return Err(not_found_path());
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Ok(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    shared: &Shared,
    group: &str,
    version: &str,
    rest: &[&str],
    method: &Method,
    params: &Params,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let namespaced_path =
        rest.len() >= 3 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize";
    let (namespace, rest) = if namespaced_path {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let Some(plural) = rest.first() else {
        return error_response(&not_found_path());
    };
    let name = rest.get(1).map(|s| s.to_string());
    let sub = rest.get(2).map(|s| s.to_string());
    let Some(ty) = shared.lock().type_by_plural(group, version, plural) else {
        return error_response(&not_found_path());
    };
    if (!ty.namespaced && namespace.is_some())
        || (ty.namespaced && namespace.is_none() && name.is_some())
        || rest.len() > 3
    {
        return error_response(&not_found_path());
    }
    let manager = params.get("fieldManager").cloned().unwrap_or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .unwrap_or("unknown")
            .to_string()
    });
    let dry_run = params.contains_key("dryRun");
    let Some(name) = name else {
        let selectors = (
            params
                .get("labelSelector")
                .map(String::as_str)
                .unwrap_or(""),
            params
                .get("fieldSelector")
                .map(String::as_str)
                .unwrap_or(""),
        );
        return match *method {
            Method::GET if params.get("watch").is_some_and(|w| w == "true" || w == "1") => {
                watch(shared, &ty, namespace, selectors, params)
            }
            Method::GET => respond(shared.lock().list(
                &ty,
                namespace.as_deref(),
                selectors.0,
                selectors.1,
            )),
            Method::POST => {
                let object = match parse_body(headers, body) {
                    Ok(object) => object,
                    Err(error) => return error_response(&error),
                };
                let mut state = shared.lock();
                respond_code(
                    state.create(&ty, namespace.as_deref(), object, &manager, dry_run, shared),
                    201,
                )
            }
            _ => error_response(&ApiError::new(
                405,
                "MethodNotAllowed",
                format!("{method} is not supported on a collection"),
            )),
        };
    };
    let key: Key = (
        ty.group.clone(),
        ty.plural.clone(),
        namespace.clone().unwrap_or_default(),
        name.clone(),
    );
    match (method.clone(), sub.as_deref()) {
        (Method::GET, Some("log")) if ty.plural == "pods" => logs(shared, &key, params).await,
        (Method::GET, None | Some("status")) => respond(shared.lock().get(&ty, &key)),
        (Method::PUT, sub @ (None | Some("status"))) => {
            let object = match parse_body(headers, body) {
                Ok(object) => object,
                Err(error) => return error_response(&error),
            };
            let mut state = shared.lock();
            respond(state.replace(&ty, &key, object, &manager, sub.is_some(), dry_run, shared))
        }
        (Method::PATCH, sub @ (None | Some("status"))) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let force = params.get("force").is_some_and(|f| f == "true");
            let mut state = shared.lock();
            match state.patch(
                &ty,
                &key,
                &content_type,
                body,
                &manager,
                force,
                sub.is_some(),
                dry_run,
                shared,
            ) {
                Ok((value, created)) => json_response(if created { 201 } else { 200 }, &value),
                Err(error) => error_response(&error),
            }
        }
        (Method::DELETE, None) => {
            let mut state = shared.lock();
            let object = (ty.kind.clone(), key.2.clone(), key.3.clone());
            if state.forbidden_deletes.contains(&object) {
                return error_response(&ApiError::new(
                    403,
                    "Forbidden",
                    format!(
                        "{} \"{}\" is forbidden: User \"test\" cannot delete resource \"{}\" in the namespace \"{}\"",
                        ty.plural, key.3, ty.plural, key.2
                    ),
                ));
            }
            respond(state.delete(&ty, &key, dry_run, shared))
        }
        _ => error_response(&not_found_path()),
    }
}

fn respond(result: Result<Value, ApiError>) -> Response {
    respond_code(result, 200)
}

fn respond_code(result: Result<Value, ApiError>, code: u16) -> Response {
    match result {
        Ok(value) => json_response(code, &value),
        Err(error) => error_response(&error),
    }
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parsed = if content_type.contains("yaml") {
        serde_yaml::from_slice(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| {
        ApiError::new(
            400,
            "BadRequest",
            format!("the body of the request was in an unknown format: {e}"),
        )
    })
}

fn kind_name(ty: &ResourceType) -> String {
    ty.plural.clone()
}

fn not_found(ty: &ResourceType, name: &str) -> ApiError {
    let mut error = ApiError::new(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", ty_display(ty)),
    );
    error.details = json!({"name": name, "group": ty.group, "kind": kind_name(ty)});
    error
}

fn ty_display(ty: &ResourceType) -> String {
    if ty.group.is_empty() {
        ty.plural.clone()
    } else {
        format!("{}.{}", ty.plural, ty.group)
    }
}

fn with_type(ty: &ResourceType, mut value: Value) -> Value {
    value["apiVersion"] = json!(ty.api_version());
    value["kind"] = json!(ty.kind);
    value
}

impl State {
    fn get(&self, ty: &ResourceType, key: &Key) -> Result<Value, ApiError> {
        self.objects
            .get(key)
            .map(|s| with_type(ty, s.rendered()))
            .ok_or_else(|| not_found(ty, &key.3))
    }

    fn list(
        &self,
        ty: &ResourceType,
        namespace: Option<&str>,
        labels: &str,
        fields: &str,
    ) -> Result<Value, ApiError> {
        let label_selector =
            Selector::parse(labels).map_err(|e| ApiError::new(400, "BadRequest", e))?;
        let field_selector =
            Selector::parse(fields).map_err(|e| ApiError::new(400, "BadRequest", e))?;
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((g, p, ns, _), _)| {
                *g == ty.group && *p == ty.plural && namespace.is_none_or(|n| n == ns)
            })
            .filter(|(_, s)| {
                label_selector.matches(|k| store::label_of(&s.value, k))
                    && field_selector.matches(|k| store::field_of(&s.value, k))
            })
            .map(|(_, s)| with_type(ty, s.rendered()))
            .collect();
        Ok(
            json!({"apiVersion": ty.api_version(), "kind": format!("{}List", ty.kind), "metadata": {"resourceVersion": self.resource_version.to_string()}, "items": items}),
        )
    }

    fn check_namespace(&self, ty: &ResourceType, namespace: &str) -> Result<(), ApiError> {
        if ty.namespaced
            && !self.objects.contains_key(&(
                String::new(),
                "namespaces".into(),
                String::new(),
                namespace.to_string(),
            ))
        {
            let mut error = ApiError::new(
                404,
                "NotFound",
                format!("namespaces \"{namespace}\" not found"),
            );
            error.details = json!({"name": namespace, "kind": "namespaces"});
            return Err(error);
        }
        Ok(())
    }

    fn create(
        &mut self,
        ty: &ResourceType,
        namespace: Option<&str>,
        mut object: Value,
        manager: &str,
        dry_run: bool,
        shared: &Shared,
    ) -> Result<Value, ApiError> {
        let Some(name) = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            let mut error = ApiError::new(
                422,
                "Invalid",
                format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    ty.kind
                ),
            );
            error.details = json!({"kind": ty.kind, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]});
            return Err(error);
        };
        let namespace = namespace.unwrap_or("").to_string();
        self.check_namespace(ty, &namespace)?;
        let key: Key = (
            ty.group.clone(),
            ty.plural.clone(),
            namespace.clone(),
            name.clone(),
        );
        if self.objects.contains_key(&key) {
            let mut error = ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", ty_display(ty)),
            );
            error.details = json!({"name": name, "group": ty.group, "kind": ty.plural});
            return Err(error);
        }
        if ty.namespaced {
            object["metadata"]["namespace"] = json!(namespace);
        }
        let managers = vec![ManagerEntry {
            manager: manager.into(),
            operation: "Update",
            api_version: ty.api_version(),
            time: now(),
            fields: store::leaves(&object),
        }];
        self.store(ty, key, object, managers, None, dry_run, shared)
    }

    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        ty: &ResourceType,
        key: Key,
        mut object: Value,
        managers: Vec<ManagerEntry>,
        old: Option<&Stored>,
        dry_run: bool,
        shared: &Shared,
    ) -> Result<Value, ApiError> {
        let rv = if dry_run {
            self.resource_version.to_string()
        } else {
            self.next_rv()
        };
        object = with_type(ty, object);
        let meta = &mut object["metadata"];
        if !meta.is_object() {
            *meta = json!({});
        }
        meta["name"] = json!(key.3);
        if ty.namespaced {
            meta["namespace"] = json!(key.2);
        }
        meta["resourceVersion"] = json!(rv);
        if let Some(meta) = meta.as_object_mut() {
            meta.remove("managedFields");
        }
        match old {
            Some(old) => {
                object["metadata"]["uid"] = old.value["metadata"]["uid"].clone();
                object["metadata"]["creationTimestamp"] =
                    old.value["metadata"]["creationTimestamp"].clone();
                let generation = old.value["metadata"]["generation"].as_i64().unwrap_or(1);
                let changed =
                    store::generation_content(&old.value) != store::generation_content(&object);
                object["metadata"]["generation"] =
                    json!(if changed { generation + 1 } else { generation });
            }
            None => {
                object["metadata"]["uid"] = json!(format!("uid-{rv}"));
                object["metadata"]["creationTimestamp"] = json!(now());
                object["metadata"]["generation"] = json!(1);
            }
        }
        let stored = Stored {
            value: object,
            managers,
        };
        let rendered = stored.rendered();
        if dry_run {
            return Ok(rendered);
        }
        let event = if old.is_some() { "MODIFIED" } else { "ADDED" };
        self.objects.insert(key.clone(), stored);
        self.register_crd(&key);
        self.after_write(&key, shared);
        let rendered = self
            .objects
            .get(&key)
            .map(Stored::rendered)
            .unwrap_or(rendered);
        let _ = shared.events.send(WatchEvent {
            kind: event,
            key,
            object: rendered.clone(),
        });
        Ok(rendered)
    }

    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        ty: &ResourceType,
        key: &Key,
        mut object: Value,
        manager: &str,
        status_only: bool,
        dry_run: bool,
        shared: &Shared,
    ) -> Result<Value, ApiError> {
        let old = self
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| not_found(ty, &key.3))?;
        let sent_rv = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(sent) = sent_rv
            && Some(sent.as_str()) != old.value["metadata"]["resourceVersion"].as_str()
        {
            let mut error = ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                    ty_display(ty),
                    key.3
                ),
            );
            error.details = json!({"name": key.3, "group": ty.group, "kind": ty.plural});
            return Err(error);
        }
        if status_only {
            let status = object["status"].clone();
            object = old.value.clone();
            object["status"] = status;
        } else {
            object["status"] = old.value.get("status").cloned().unwrap_or(Value::Null);
            if object["status"].is_null()
                && let Some(map) = object.as_object_mut()
            {
                map.remove("status");
            }
        }
        let managers = updated_managers(&old, &object, manager, &ty.api_version());
        self.store(
            ty,
            key.clone(),
            object,
            managers,
            Some(&old),
            dry_run,
            shared,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn patch(
        &mut self,
        ty: &ResourceType,
        key: &Key,
        content_type: &str,
        body: &Bytes,
        manager: &str,
        force: bool,
        status_only: bool,
        dry_run: bool,
        shared: &Shared,
    ) -> Result<(Value, bool), ApiError> {
        let old = self.objects.get(key).cloned();
        if content_type.starts_with("application/apply-patch") {
            let desired: Value = serde_yaml::from_slice(body).map_err(|e| {
                ApiError::new(400, "BadRequest", format!("error decoding YAML: {e}"))
            })?;
            if desired.get("apiVersion").and_then(Value::as_str) != Some(ty.api_version().as_str())
                || desired.get("kind").and_then(Value::as_str) != Some(ty.kind.as_str())
            {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    format!(
                        "apiVersion and kind must be {} {} for server-side apply",
                        ty.api_version(),
                        ty.kind
                    ),
                ));
            }
            if params_name(&desired).is_some_and(|n| n != key.3) {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    "the name of the object does not match the name on the URL",
                ));
            }
            if old.is_none() {
                self.check_namespace(ty, &key.2)?;
            }
            let (object, managers) =
                server_side_apply(old.as_ref(), &desired, manager, force, &ty.api_version())?;
            let created = old.is_none();
            return self
                .store(
                    ty,
                    key.clone(),
                    object,
                    managers,
                    old.as_ref(),
                    dry_run,
                    shared,
                )
                .map(|v| (v, created));
        }
        let old = old.ok_or_else(|| not_found(ty, &key.3))?;
        let mut patch: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(400, "BadRequest", format!("error decoding patch: {e}")))?;
        if content_type.starts_with("application/strategic-merge-patch+json") {
            store::strip_directives(&mut patch);
        }
        let object = if content_type.starts_with("application/merge-patch+json")
            || content_type.starts_with("application/strategic-merge-patch+json")
        {
            let mut object = old.value.clone();
            store::merge_patch(&mut object, &patch);
            if status_only {
                let status = object["status"].clone();
                object = old.value.clone();
                object["status"] = status;
            }
            object
        } else {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("the fake API server does not support patch type {content_type}"),
            ));
        };
        let managers = updated_managers(&old, &object, manager, &ty.api_version());
        self.store(
            ty,
            key.clone(),
            object,
            managers,
            Some(&old),
            dry_run,
            shared,
        )
        .map(|v| (v, false))
    }

    fn delete(
        &mut self,
        ty: &ResourceType,
        key: &Key,
        dry_run: bool,
        shared: &Shared,
    ) -> Result<Value, ApiError> {
        let stored = self
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| not_found(ty, &key.3))?;
        if dry_run {
            return Ok(with_type(ty, stored.rendered()));
        }
        let finalizers = stored.value["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if finalizers {
            return Ok(self.mark_deleting(ty, key, shared));
        }
        self.objects.remove(key);
        if ty.plural == "namespaces" && ty.group.is_empty() {
            self.objects.retain(|k, _| k.2 != key.3);
        }
        self.unregister_crd(key, &stored.value);
        let object = with_type(ty, stored.rendered());
        let _ = shared.events.send(WatchEvent {
            kind: "DELETED",
            key: key.clone(),
            object: object.clone(),
        });
        Ok(object)
    }
}

impl State {
    /// A delete of an object with finalizers, as a real server answers it: the object
    /// stays, marked with a `deletionTimestamp`, until its finalizers are removed (tests
    /// stand in for the controller with `FakeApiServer::remove`).
    fn mark_deleting(&mut self, ty: &ResourceType, key: &Key, shared: &Shared) -> Value {
        let rv = self.next_rv();
        let Some(stored) = self.objects.get_mut(key) else {
            return Value::Null;
        };
        let meta = &mut stored.value["metadata"];
        if meta.get("deletionTimestamp").is_none() {
            meta["deletionTimestamp"] =
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        meta["resourceVersion"] = json!(rv);
        let object = with_type(ty, stored.rendered());
        let _ = shared.events.send(WatchEvent {
            kind: "MODIFIED",
            key: key.clone(),
            object: object.clone(),
        });
        object
    }
}

fn params_name(object: &Value) -> Option<&str> {
    object.pointer("/metadata/name").and_then(Value::as_str)
}

/// Ownership after a non-apply write: changed leaves move to `manager` (operation Update).
fn updated_managers(
    old: &Stored,
    object: &Value,
    manager: &str,
    api_version: &str,
) -> Vec<ManagerEntry> {
    let new_leaves = store::leaves(object);
    let changed: BTreeSet<Vec<String>> = new_leaves
        .iter()
        .filter(|p| store::value_at(&old.value, p) != store::value_at(object, p))
        .cloned()
        .collect();
    let mut managers: Vec<ManagerEntry> = old
        .managers
        .iter()
        .cloned()
        .map(|mut m| {
            m.fields.retain(|p| {
                new_leaves.contains(p)
                    && (m.manager == manager && m.operation == "Update" || !changed.contains(p))
            });
            m
        })
        .collect();
    if !changed.is_empty() {
        match managers
            .iter_mut()
            .find(|m| m.manager == manager && m.operation == "Update")
        {
            Some(entry) => {
                entry.fields.extend(changed);
                entry.time = now();
            }
            None => managers.push(ManagerEntry {
                manager: manager.into(),
                operation: "Update",
                api_version: api_version.into(),
                time: now(),
                fields: changed,
            }),
        }
    }
    managers.retain(|m| !m.fields.is_empty());
    managers
}

/// Server-side apply: conflicts with other owners of differing values, removal of fields
/// this manager stopped applying (unless someone else owns them), then a deep merge.
fn server_side_apply(
    old: Option<&Stored>,
    desired: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
) -> Result<(Value, Vec<ManagerEntry>), ApiError> {
    let new_fields = store::leaves(desired);
    let mut managers: Vec<ManagerEntry> = old.map(|o| o.managers.clone()).unwrap_or_default();
    let live = old.map(|o| o.value.clone()).unwrap_or_else(|| json!({}));
    let mut conflicts: Vec<(String, String, String)> = Vec::new();
    for entry in managers
        .iter()
        .filter(|m| m.manager != manager || m.operation != "Apply")
    {
        for path in entry.fields.intersection(&new_fields) {
            if store::value_at(&live, path) != store::value_at(desired, path) {
                conflicts.push((
                    entry.manager.clone(),
                    entry.api_version.clone(),
                    format!(".{}", path.join(".")),
                ));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let (owner, owner_version, _) = conflicts[0].clone();
        let message = if conflicts.len() == 1 {
            format!(
                "Apply failed with 1 conflict: conflict with \"{owner}\" using {owner_version}: {}",
                conflicts[0].2
            )
        } else {
            let fields: Vec<String> = conflicts.iter().map(|c| format!("- {}", c.2)).collect();
            format!(
                "Apply failed with {} conflicts: conflicts with \"{owner}\" using {owner_version}:\n{}",
                conflicts.len(),
                fields.join("\n")
            )
        };
        let causes: Vec<Value> = conflicts.iter().map(|(m, v, f)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {v}"), "field": f})).collect();
        let mut error = ApiError::new(409, "Conflict", message);
        error.details = json!({"causes": causes});
        return Err(error);
    }
    let previous: BTreeSet<Vec<String>> = managers
        .iter()
        .filter(|m| m.manager == manager && m.operation == "Apply")
        .flat_map(|m| m.fields.clone())
        .collect();
    for entry in managers
        .iter_mut()
        .filter(|m| m.manager != manager || m.operation != "Apply")
    {
        entry.fields.retain(|p| {
            !new_fields.contains(p)
                || !force && store::value_at(&live, p) == store::value_at(desired, p)
        });
    }
    let mut object = live;
    for path in previous.difference(&new_fields) {
        let owned_elsewhere = managers
            .iter()
            .any(|m| (m.manager != manager || m.operation != "Apply") && m.fields.contains(path));
        if !owned_elsewhere {
            store::remove_at(&mut object, path);
        }
    }
    let mut body = desired.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("status");
    }
    store::merge_into(&mut object, &body);
    managers.retain(|m| !(m.manager == manager && m.operation == "Apply"));
    managers.push(ManagerEntry {
        manager: manager.into(),
        operation: "Apply",
        api_version: api_version.into(),
        time: now(),
        fields: new_fields,
    });
    managers.retain(|m| !m.fields.is_empty());
    Ok((object, managers))
}

fn watch(
    shared: &Shared,
    ty: &ResourceType,
    namespace: Option<String>,
    selectors: (&str, &str),
    params: &Params,
) -> Response {
    let labels = match Selector::parse(selectors.0) {
        Ok(s) => s,
        Err(e) => return error_response(&ApiError::new(400, "BadRequest", e)),
    };
    let receiver = shared.events.subscribe();
    // `sendInitialEvents=true` (client-go's watch-list, which Helm's readiness watcher
    // uses): ADDED events for what exists, then a bookmark marking their end.
    let initial_events = params.get("sendInitialEvents").is_some_and(|s| s == "true");
    let from_start = initial_events
        || params
            .get("resourceVersion")
            .is_none_or(|rv| rv.is_empty() || rv == "0");
    let initial: Vec<Value> = if from_start {
        let state = shared.lock();
        let mut events: Vec<Value> = state
            .objects
            .iter()
            .filter(|((g, p, ns, _), s)| {
                *g == ty.group
                    && *p == ty.plural
                    && namespace.as_ref().is_none_or(|n| n == ns)
                    && labels.matches(|k| store::label_of(&s.value, k))
            })
            .map(|(_, s)| json!({"type": "ADDED", "object": with_type(ty, s.rendered())}))
            .collect();
        if initial_events {
            events.push(json!({"type": "BOOKMARK", "object": {"apiVersion": ty.api_version(), "kind": ty.kind,
                "metadata": {"resourceVersion": state.resource_version.to_string(),
                    "annotations": {"k8s.io/initial-events-end": "true"}}}}));
        }
        events
    } else {
        Vec::new()
    };
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(300);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
    let ty = ty.clone();
    let live = futures::stream::unfold(
        (receiver, ty, namespace, labels),
        move |(mut receiver, ty, namespace, labels)| async move {
            loop {
                let event = match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Ok(event)) => event,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                    _ => return None,
                };
                let (g, p, ns, _) = &event.key;
                if *g == ty.group
                    && *p == ty.plural
                    && namespace.as_ref().is_none_or(|n| n == ns)
                    && labels.matches(|k| store::label_of(&event.object, k))
                {
                    let line = format!(
                        "{}\n",
                        json!({"type": event.kind, "object": with_type(&ty, event.object)})
                    );
                    return Some((
                        Ok::<_, std::io::Error>(Bytes::from(line)),
                        (receiver, ty, namespace, labels),
                    ));
                }
            }
        },
    );
    let first = futures::stream::iter(
        initial
            .into_iter()
            .map(|e| Ok(Bytes::from(format!("{e}\n")))),
    );
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(first.chain(live)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn logs(shared: &Shared, key: &Key, params: &Params) -> Response {
    let (lines, receiver, log_key) = {
        let state = shared.lock();
        let Some(pod) = state.objects.get(key) else {
            return error_response(&ApiError::new(
                404,
                "NotFound",
                format!("pods \"{}\" not found", key.3),
            ));
        };
        let containers: Vec<String> = pod
            .value
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        let container = match params.get("container") {
            Some(c) => c.clone(),
            None if containers.len() == 1 => containers[0].clone(),
            None => {
                return error_response(&ApiError::new(
                    400,
                    "BadRequest",
                    format!(
                        "a container name must be specified for pod {}, choose one of: {containers:?}",
                        key.3
                    ),
                ));
            }
        };
        let log_key = (key.2.clone(), key.3.clone(), container.clone());
        let previous = params.get("previous").is_some_and(|p| p == "true");
        let store = if previous {
            &state.previous_logs
        } else {
            &state.logs
        };
        let Some(lines) = store.get(&log_key).cloned() else {
            if previous {
                return error_response(&ApiError::new(
                    400,
                    "BadRequest",
                    format!(
                        "previous terminated container \"{container}\" in pod \"{}\" not found",
                        key.3
                    ),
                ));
            }
            return (StatusCode::OK, String::new()).into_response();
        };
        let follow = params.get("follow").is_some_and(|f| f == "true");
        let receiver = if follow {
            state.log_tx.as_ref().map(|tx| tx.subscribe())
        } else {
            None
        };
        (lines, receiver, log_key)
    };
    let tail = params
        .get("tailLines")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let since = params
        .get("sinceSeconds")
        .and_then(|s| s.parse::<i64>().ok())
        .map(|s| chrono::Utc::now() - chrono::Duration::seconds(s));
    let lines: Vec<&String> = lines
        .iter()
        .filter(|(written, _)| since.is_none_or(|since| *written >= since))
        .map(|(_, line)| line)
        .collect();
    let start = lines.len().saturating_sub(tail);
    let text: String = lines[start..].iter().map(|l| format!("{l}\n")).collect();
    let Some(receiver) = receiver else {
        return (StatusCode::OK, text).into_response();
    };
    let follow =
        futures::stream::unfold((receiver, log_key), |(mut receiver, log_key)| async move {
            loop {
                match receiver.recv().await {
                    Ok((ns, pod, container, line))
                        if (ns.clone(), pod.clone(), container.clone()) == log_key =>
                    {
                        return Some((
                            Ok::<_, std::io::Error>(Bytes::from(format!("{line}\n"))),
                            (receiver, log_key),
                        ));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                }
            }
        });
    let first = futures::stream::iter([Ok(Bytes::from(text))]);
    Response::builder()
        .status(200)
        .body(Body::from_stream(first.chain(follow)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn portforward(
    AxumState(shared): AxumState<Shared>,
    Path((namespace, pod)): Path<(String, String)>,
    Query(params): Query<Params>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ports: Vec<u16> = params
        .get("ports")
        .map(|p| p.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    let targets: Vec<Option<std::net::SocketAddr>> = {
        let state = shared.lock();
        if !state.objects.contains_key(&(
            String::new(),
            "pods".into(),
            namespace.clone(),
            pod.clone(),
        )) {
            return error_response(&ApiError::new(
                404,
                "NotFound",
                format!("pods \"{pod}\" not found"),
            ));
        }
        ports
            .iter()
            .map(|port| {
                state
                    .port_targets
                    .get(&(namespace.clone(), pod.clone(), *port))
                    .copied()
            })
            .collect()
    };
    upgrade
        .protocols(["v4.channel.k8s.io"])
        .on_upgrade(move |socket| forward(socket, ports, targets))
}

/// Channel protocol v4: port i uses data channel 2i and error channel 2i+1; each channel's
/// first frame carries the port number (little endian).
async fn forward(socket: WebSocket, ports: Vec<u16>, targets: Vec<Option<std::net::SocketAddr>>) {
    let (mut sink, mut stream) = socket.split();
    let mut writers = Vec::new();
    let (to_client, mut from_targets) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    for (index, (port, target)) in ports.iter().zip(targets).enumerate() {
        let data = (2 * index) as u8;
        let [lo, hi] = port.to_le_bytes();
        for channel in [data, data + 1] {
            if sink
                .send(Message::Binary(Bytes::from(vec![channel, lo, hi])))
                .await
                .is_err()
            {
                return;
            }
        }
        let connected = match target {
            Some(addr) => tokio::net::TcpStream::connect(addr).await.ok(),
            None => None,
        };
        let Some(tcp) = connected else {
            let mut frame = vec![data + 1];
            frame.extend_from_slice(
                format!("error forwarding port {port} to pod: connection refused").as_bytes(),
            );
            let _ = sink.send(Message::Binary(Bytes::from(frame))).await;
            writers.push(None);
            continue;
        };
        let (mut reader, writer) = tcp.into_split();
        writers.push(Some(writer));
        let to_client = to_client.clone();
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 16 * 1024];
            loop {
                match reader.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut frame = vec![data];
                        frame.extend_from_slice(&buffer[..n]);
                        if to_client.send(frame).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    drop(to_client);
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(frame))) if !frame.is_empty() => {
                    let channel = frame[0] as usize;
                    if channel.is_multiple_of(2)
                        && let Some(Some(writer)) = writers.get_mut(channel / 2)
                            && writer.write_all(&frame[1..]).await.is_err() {
                                break;
                            }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
            outgoing = from_targets.recv() => match outgoing {
                Some(frame) => if sink.send(Message::Binary(Bytes::from(frame))).await.is_err() { break },
                None => break,
            },
        }
    }
    let _ = sink.close().await;
}
