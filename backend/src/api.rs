//! The HTTP handlers and the OpenAPI document generated from them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::auth::AuthUser;
use crate::chat::{ChatReply, ChatRequest};
use crate::error::{ApiError, ErrorBody, Json, Path, Query};
use crate::guard::{ClientAddress, HashJob, HashOutcome};
use crate::model::{
    Counts, Deleted, Health, NewTask, Priority, Session, SignIn, SignUp, SortOrder, StatusFilter,
    Task, TaskList, TaskPatch, TaskQuery, User, check_email, check_password,
};
use crate::store::SignUpError;
use crate::tasks;
use crate::undo::{UndoRequest, UndoState, UndoableChange, Undone};

/// The OpenAPI 3.1 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Todo Chatbot API", description = "Tasks per user, with a chatbot that manages them."),
    paths(
        healthz, readyz, openapi_json, signup, signin, me, signout, list_tasks, create_task,
        get_task, update_task, delete_task, toggle_task, undoable, undo, chat
    ),
    components(schemas(
        ErrorBody, User, Session, SignUp, SignIn, Task, NewTask, TaskPatch, TaskList, Counts,
        Priority, StatusFilter, SortOrder, Deleted, Health, ChatRequest, ChatReply,
        UndoState, UndoableChange, UndoRequest, Undone
    )),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "auth", description = "Sign up, sign in, who am I"),
        (name = "tasks", description = "The signed-in user's tasks"),
        (name = "undo", description = "Take back the last changes (for 10 minutes)"),
        (name = "chat", description = "Manage tasks in plain English"),
        (name = "ops", description = "Health and the API description")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The answers every operation of a kind can give, added to each so that the document
/// lists every status the server returns: failures (500), storage (503, and 507 for writes),
/// and the body checks of operations that take one (408, 413, 415).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::HttpMethod;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let uses_database = !matches!(path.as_str(), "/healthz" | "/api/openapi.json");
            for (method, operation) in [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ] {
                let Some(operation) = operation else { continue };
                let writes = method != HttpMethod::Get && path != "/api/auth/signin";
                let mut add = |status: &str, description: &str| {
                    if !operation.responses.responses.contains_key(status) {
                        let response = utoipa::openapi::ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/json",
                                utoipa::openapi::ContentBuilder::new()
                                    .schema(Some(utoipa::openapi::Ref::from_schema_name(
                                        "ErrorBody",
                                    )))
                                    .build(),
                            )
                            .build();
                        operation
                            .responses
                            .responses
                            .insert(status.to_string(), response.into());
                    }
                };
                if operation.request_body.is_some() {
                    add("408", "The body did not arrive in time");
                    add("413", "Body too large");
                    add("415", "Body is not JSON");
                }
                if uses_database {
                    add(
                        "503",
                        "The database does not answer (nothing was saved); try again shortly",
                    );
                }
                if uses_database && writes {
                    add("507", "The database's disk is full: nothing was saved");
                }
                add("500", "The server failed; it has been logged");
            }
        }
    }
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Ready: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "The database answers", body = Health),
    (status = 503, description = "The database does not answer", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(Health {
            status: "ready".into(),
        })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer",
            ))
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
}

/// Creates an account and signs in.
#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignUp, responses(
    (status = 201, description = "Signed up and signed in", body = Session),
    (status = 400, description = "Malformed JSON", body = ErrorBody),
    (status = 409, description = "The email is registered already", body = ErrorBody),
    (status = 413, description = "Body too large", body = ErrorBody),
    (status = 415, description = "Body is not JSON", body = ErrorBody),
    (status = 422, description = "Invalid email, password or name", body = ErrorBody),
    (status = 429, description = "Too many sign-ups from this address; see Retry-After", body = ErrorBody),
    (status = 503, description = "Busy hashing passwords (see Retry-After), or the database does not answer", body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    client: ClientAddress,
    Json(input): Json<SignUp>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let email = check_email(&input.email).map_err(ApiError::invalid)?;
    check_password(&input.password).map_err(ApiError::invalid)?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty());
    if name.is_some_and(|name| name.chars().count() > 100) {
        return Err(ApiError::invalid(
            "name must be at most 100 characters long",
        ));
    }
    state.guards.take_signup(&client)?;
    let hash = match state
        .guards
        .hashes
        .run(HashJob::Hash(input.password))
        .await?
    {
        HashOutcome::Hashed(hash) => hash.map_err(ApiError::internal)?,
        HashOutcome::Verified(_) => {
            return Err(ApiError::internal("a hash job answered a verification"));
        }
    };
    let user = state
        .store
        .create_user(&email, name, &hash)
        .await
        .map_err(|error| match error {
            SignUpError::EmailTaken => ApiError::new(
                StatusCode::CONFLICT,
                "email_taken",
                format!("{email} has an account already: sign in instead"),
            ),
            SignUpError::Database(error) => error.into(),
        })?;
    let issued = state.keys.issue(user.id)?;
    Ok((
        StatusCode::CREATED,
        Json(Session {
            token: issued.token,
            token_type: "bearer".into(),
            expires_at: issued.expires_at,
            user,
        }),
    ))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/auth/signin", tag = "auth", request_body = SignIn, responses(
    (status = 200, description = "Signed in", body = Session),
    (status = 400, description = "Malformed JSON", body = ErrorBody),
    (status = 401, description = "Wrong email or password", body = ErrorBody),
    (status = 413, description = "Body too large", body = ErrorBody),
    (status = 415, description = "Body is not JSON", body = ErrorBody),
    (status = 422, description = "Missing or mistyped fields", body = ErrorBody),
    (status = 429, description = "Too many failed sign-ins for this account or address; see Retry-After", body = ErrorBody),
    (status = 503, description = "Busy hashing passwords (see Retry-After), or the database does not answer", body = ErrorBody)))]
pub async fn signin(
    State(state): State<AppState>,
    client: ClientAddress,
    Json(input): Json<SignIn>,
) -> Result<Json<Session>, ApiError> {
    let wrong = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong email or password",
        )
    };
    let email = input.email.trim().to_lowercase();
    state.guards.check_signin(&email, &client)?;
    if input.password.len() > 128 {
        state.guards.signin_failed(&email, &client);
        return Err(wrong());
    }
    let credentials = state.store.credentials(&email).await?;
    let hash = credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    let valid = match state
        .guards
        .hashes
        .run(HashJob::Verify(input.password, hash))
        .await?
    {
        HashOutcome::Verified(valid) => valid,
        HashOutcome::Hashed(_) => false,
    };
    match credentials {
        Some(found) if valid => {
            state.guards.signin_succeeded(&email);
            let issued = state.keys.issue(found.user.id)?;
            Ok(Json(Session {
                token: issued.token,
                token_type: "bearer".into(),
                expires_at: issued.expires_at,
                user: found.user,
            }))
        }
        _ => {
            state.guards.signin_failed(&email, &client);
            Err(wrong())
        }
    }
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, description = "The user", body = User),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<User>, ApiError> {
    state
        .store
        .user(user.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists: sign up again"))
}

/// Signs out: ends the session of the token sent, at once (later requests with it get 401).
/// The user's other sessions (other browsers and devices) stay signed in.
#[utoipa::path(post, path = "/api/auth/signout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "Signed out: this token is refused from now on"),
    (status = 401, description = "Missing, invalid, expired or already signed-out token", body = ErrorBody)))]
pub async fn signout(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    let now = chrono::Utc::now().timestamp();
    state
        .store
        .revoke_session(&user.session, user.expires_at, now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The newest change that can be undone (changes made within the last 10 minutes, through
/// the API, the page or the chatbot).
#[utoipa::path(get, path = "/api/undo", tag = "undo", security(("bearer" = [])), responses(
    (status = 200, description = "The newest undoable change, or `change: null`", body = UndoState),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody)))]
pub async fn undoable(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<UndoState>, ApiError> {
    tasks::undoable(&state.store, user.id).await.map(Json)
}

/// Undoes a change: the one named by `change`, else the newest. The tasks it touched are put
/// back exactly as they were (a deleted task returns with its id and number), provided none
/// of them changed since; otherwise nothing is undone (409).
#[utoipa::path(post, path = "/api/undo", tag = "undo", request_body = UndoRequest, security(("bearer" = [])),
    responses(
    (status = 200, description = "Undone; the tasks as they are now", body = Undone),
    (status = 400, description = "Malformed JSON", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 404, description = "Nothing to undo, or that change was undone already or is too old", body = ErrorBody),
    (status = 409, description = "A task the change touched has changed since: nothing was undone", body = ErrorBody),
    (status = 422, description = "Mistyped fields", body = ErrorBody)))]
pub async fn undo(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<UndoRequest>,
) -> Result<Json<Undone>, ApiError> {
    tasks::undo(&state.store, user.id, request.change)
        .await
        .map(Json)
}

/// Lists the user's tasks: filter, search, sort, paginate.
#[utoipa::path(get, path = "/api/tasks", tag = "tasks", params(TaskQuery), security(("bearer" = [])),
    responses(
    (status = 200, description = "A page of tasks", body = TaskList),
    (status = 400, description = "Bad query parameter", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<TaskQuery>,
) -> Result<tasks::TaskListJson, ApiError> {
    tasks::list_json(&state.store, user.id, &query).await
}

/// Creates a task.
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", request_body = NewTask, security(("bearer" = [])),
    responses(
    (status = 201, description = "The new task", body = Task),
    (status = 400, description = "Malformed JSON", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 413, description = "Body too large", body = ErrorBody),
    (status = 415, description = "Body is not JSON", body = ErrorBody),
    (status = 422, description = "A field breaks a rule", body = ErrorBody)))]
pub async fn create_task(
    State(state): State<AppState>,
    user: AuthUser,
    Json(input): Json<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let task = tasks::create(&state.store, user.id, input).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// One task.
#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    security(("bearer" = [])), responses(
    (status = 200, description = "The task", body = Task),
    (status = 400, description = "The id is not a number", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 404, description = "No such task for this user", body = ErrorBody)))]
pub async fn get_task(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Task>, ApiError> {
    tasks::get(&state.store, user.id, id).await.map(Json)
}

/// Changes the fields present in the body.
#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    request_body = TaskPatch, security(("bearer" = [])), responses(
    (status = 200, description = "The changed task", body = Task),
    (status = 400, description = "Bad id or malformed JSON", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 404, description = "No such task for this user", body = ErrorBody),
    (status = 413, description = "Body too large", body = ErrorBody),
    (status = 415, description = "Body is not JSON", body = ErrorBody),
    (status = 422, description = "A field breaks a rule", body = ErrorBody)))]
pub async fn update_task(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(patch): Json<TaskPatch>,
) -> Result<Json<Task>, ApiError> {
    tasks::update(&state.store, user.id, id, patch)
        .await
        .map(Json)
}

/// Deletes a task.
#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    security(("bearer" = [])), responses(
    (status = 200, description = "Deleted", body = Deleted),
    (status = 400, description = "The id is not a number", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 404, description = "No such task for this user", body = ErrorBody)))]
pub async fn delete_task(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Deleted>, ApiError> {
    let task = tasks::delete(&state.store, user.id, id).await?;
    Ok(Json(Deleted { deleted: task.id }))
}

/// Flips a task between open and done.
#[utoipa::path(post, path = "/api/tasks/{id}/toggle", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    security(("bearer" = [])), responses(
    (status = 200, description = "The task with `completed` flipped", body = Task),
    (status = 400, description = "The id is not a number", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 404, description = "No such task for this user", body = ErrorBody)))]
pub async fn toggle_task(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Task>, ApiError> {
    tasks::toggle(&state.store, user.id, id).await.map(Json)
}

/// Talks to the chatbot: it understands "add buy milk tomorrow", "what is still open?",
/// "mark 3 done" (3 being the user's own task number), "delete the milk task", "rename 2
/// to call mum", "undo" (the newest change, see `/api/undo`), and answers with the tasks it
/// touched.
#[utoipa::path(post, path = "/api/chat", tag = "chat", request_body = ChatRequest, security(("bearer" = [])),
    responses(
    (status = 200, description = "The reply and the tasks it touched", body = ChatReply),
    (status = 400, description = "Malformed JSON", body = ErrorBody),
    (status = 401, description = "Missing, invalid or expired token", body = ErrorBody),
    (status = 413, description = "Body too large", body = ErrorBody),
    (status = 415, description = "Body is not JSON", body = ErrorBody),
    (status = 422, description = "Empty or overlong message", body = ErrorBody)))]
pub async fn chat(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<ChatRequest>,
) -> Result<Json<ChatReply>, ApiError> {
    let message = request.message.trim();
    if message.is_empty() {
        return Err(ApiError::invalid("message must not be empty"));
    }
    if message.chars().count() > crate::chat::intent::MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(format!(
            "message must be at most {} characters long",
            crate::chat::intent::MAX_MESSAGE_CHARS
        )));
    }
    if crate::undo::asks_to_undo(message) {
        // Asked "Shall I delete your 3 tasks?", a person who says "undo" means "no":
        // nothing was done yet, and undoing an older change instead would surprise them.
        if state.confirmations.waiting(user.id) {
            return crate::chat::respond(&state, user.id, "no").await.map(Json);
        }
        return undo_in_chat(&state, user.id).await.map(Json);
    }
    crate::chat::respond(&state, user.id, message)
        .await
        .map(Json)
}

/// "undo" in the chat: takes back the newest change, or says why it cannot.
async fn undo_in_chat(state: &AppState, user: i64) -> Result<ChatReply, ApiError> {
    let (reply, tasks) = match tasks::undo(&state.store, user, None).await {
        Ok(undone) => (undone.reply, undone.tasks),
        Err(refusal) if refusal.status().is_client_error() => {
            (refusal.detail().to_string(), Vec::new())
        }
        Err(error) => return Err(error),
    };
    Ok(ChatReply {
        reply,
        tasks,
        source: crate::chat::ChatSource::Parser,
    })
}
