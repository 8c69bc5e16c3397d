//! Task operations with their rules: what the REST handlers and the chatbot both call.

use crate::error::ApiError;
use crate::model::{
    NewTask, Task, TaskList, TaskPatch, TaskQuery, check_description, check_tags, check_title,
};
use crate::store::Store;

/// Default page size of a list.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("you have no task {id}"))
}

/// Checks a list query; returns the page size and offset.
fn page(query: &TaskQuery) -> Result<(i64, i64), ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT} (got {limit})"),
        ));
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("offset must be 0 or more (got {offset})"),
        ));
    }
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            "q is longer than 200 characters",
        ));
    }
    Ok((limit, offset))
}

/// Lists the user's tasks.
pub async fn list(store: &Store, user: i64, query: &TaskQuery) -> Result<TaskList, ApiError> {
    let (limit, offset) = page(query)?;
    let (tasks, total, counts) = store.list_tasks(user, query, limit, offset).await?;
    Ok(TaskList {
        tasks,
        total,
        counts,
    })
}

/// Lists the user's tasks as the JSON body the API answers with (a [`TaskList`]). The page
/// of tasks arrives from the database as JSON text and is spliced in as it is: parsing or
/// validating it again would cost more than the query.
pub async fn list_json(
    store: &Store,
    user: i64,
    query: &TaskQuery,
) -> Result<TaskListJson, ApiError> {
    #[derive(serde::Serialize)]
    struct Rest {
        total: i64,
        counts: crate::model::Counts,
    }
    let (limit, offset) = page(query)?;
    let (tasks, total, counts) = store.list_tasks_json(user, query, limit, offset).await?;
    let rest = serde_json::to_string(&Rest { total, counts }).map_err(ApiError::internal)?;
    let mut body = String::with_capacity(tasks.len() + rest.len() + 16);
    body.push_str("{\"tasks\":");
    body.push_str(&tasks);
    body.push(',');
    body.push_str(rest.strip_prefix('{').unwrap_or(&rest));
    Ok(TaskListJson(body))
}

/// A [`TaskList`] serialized as JSON, answered as it is.
#[derive(Debug)]
pub struct TaskListJson(pub String);

impl axum::response::IntoResponse for TaskListJson {
    fn into_response(self) -> axum::response::Response {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.0,
        )
            .into_response()
    }
}

/// Checks and stores a new task.
pub async fn create(store: &Store, user: i64, mut task: NewTask) -> Result<Task, ApiError> {
    task.title = check_title(&task.title).map_err(ApiError::invalid)?;
    task.description = check_description(&task.description).map_err(ApiError::invalid)?;
    task.tags = check_tags(&task.tags).map_err(ApiError::invalid)?;
    Ok(store.create_task(user, &task).await?)
}

/// One task (404 when it is not the user's).
pub async fn get(store: &Store, user: i64, id: i64) -> Result<Task, ApiError> {
    store.task(user, id).await?.ok_or_else(|| not_found(id))
}

/// Checks and applies a patch.
pub async fn update(
    store: &Store,
    user: i64,
    id: i64,
    mut patch: TaskPatch,
) -> Result<Task, ApiError> {
    if let Some(title) = &patch.title {
        patch.title = Some(check_title(title).map_err(ApiError::invalid)?);
    }
    if let Some(description) = &patch.description {
        patch.description = Some(check_description(description).map_err(ApiError::invalid)?);
    }
    if let Some(tags) = &patch.tags {
        patch.tags = Some(check_tags(tags).map_err(ApiError::invalid)?);
    }
    store
        .update_task(user, id, &patch)
        .await?
        .ok_or_else(|| not_found(id))
}

/// Flips a task between open and done.
pub async fn toggle(store: &Store, user: i64, id: i64) -> Result<Task, ApiError> {
    store
        .toggle_task(user, id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// Deletes a task, returning what it was.
pub async fn delete(store: &Store, user: i64, id: i64) -> Result<Task, ApiError> {
    store
        .delete_task(user, id)
        .await?
        .ok_or_else(|| not_found(id))
}
