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
use crate::model::{
    Counts, Deleted, Health, NewTask, Priority, Session, SignIn, SignUp, SortOrder, StatusFilter,
    Task, TaskList, TaskPatch, TaskQuery, User, check_email, check_password,
};
use crate::store::SignUpError;
use crate::tasks;

/// The OpenAPI 3.1 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Todo Chatbot API", description = "Tasks per user, with a chatbot that manages them."),
    paths(
        healthz, readyz, openapi_json, signup, signin, me, list_tasks, create_task, get_task,
        update_task, delete_task, toggle_task, chat
    ),
    components(schemas(
        ErrorBody, User, Session, SignUp, SignIn, Task, NewTask, TaskPatch, TaskList, Counts,
        Priority, StatusFilter, SortOrder, Deleted, Health, ChatRequest, ChatReply
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign up, sign in, who am I"),
        (name = "tasks", description = "The signed-in user's tasks"),
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
    (status = 422, description = "Invalid email, password or name", body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
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
    let keys = state.keys.clone();
    let password = input.password;
    let hash = tokio::task::spawn_blocking(move || keys.hash_password(&password))
        .await
        .map_err(ApiError::internal)??;
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
    (status = 422, description = "Missing or mistyped fields", body = ErrorBody)))]
pub async fn signin(
    State(state): State<AppState>,
    Json(input): Json<SignIn>,
) -> Result<Json<Session>, ApiError> {
    let wrong = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong email or password",
        )
    };
    if input.password.len() > 128 {
        return Err(wrong());
    }
    let email = input.email.trim().to_lowercase();
    let credentials = state.store.credentials(&email).await?;
    let keys = state.keys.clone();
    let password = input.password;
    let hash = credentials
        .as_ref()
        .map(|found| found.password_hash.clone());
    let valid = tokio::task::spawn_blocking(move || match hash {
        Some(hash) => keys.verify_password(&password, &hash),
        None => {
            // Spend the same time as for a known email, so timing does not reveal accounts.
            let _ = keys.hash_password(&password);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;
    match credentials {
        Some(found) if valid => {
            let issued = state.keys.issue(found.user.id)?;
            Ok(Json(Session {
                token: issued.token,
                token_type: "bearer".into(),
                expires_at: issued.expires_at,
                user: found.user,
            }))
        }
        _ => Err(wrong()),
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
/// "mark 3 done", "delete the milk task", "rename 2 to call mum", and answers with the
/// tasks it touched.
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
    if message.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "message must be at most 2000 characters long",
        ));
    }
    crate::chat::respond(&state, user.id, message)
        .await
        .map(Json)
}
