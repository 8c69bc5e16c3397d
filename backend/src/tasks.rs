//! Task operations with their rules: what the REST handlers and the chatbot both call.

use crate::error::ApiError;
use crate::model::{
    NewTask, Task, TaskList, TaskPatch, TaskQuery, check_description, check_tags, check_title,
};
use crate::store::Store;
use crate::undo::{self, Outcome, TaskChange, UndoState, UndoableChange, Undone};

/// Default page size of a list.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// Unix milliseconds now.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The oldest time (Unix ms) a change may have been made at and still be undone.
fn window_start_ms() -> i64 {
    now_ms() - i64::try_from(undo::WINDOW.as_millis()).unwrap_or(i64::MAX)
}

/// Records a change of one task for undo: `before` None for an addition, `after` None for
/// a deletion.
async fn record_one(store: &Store, user: i64, before: Option<Task>, after: Option<Task>) {
    record(store, user, vec![TaskChange { before, after }]).await;
}

/// Reads task `id`, then makes `write` (which answers the task as it left it); the task
/// before and after, or `None` when the user has no such task.
async fn rewrite<Write>(
    store: &Store,
    user: i64,
    id: i64,
    write: impl FnOnce() -> Write,
) -> Result<Option<(Task, Task)>, ApiError>
where
    Write: Future<Output = Result<Option<Task>, sqlx::Error>>,
{
    let Some(before) = store.task(user, id).await? else {
        return Ok(None);
    };
    Ok(write().await?.map(|after| (before, after)))
}

/// Rewrites one task (see [`rewrite`]) and records the change for undo; 404 when the user
/// has no such task.
async fn rewrite_one<Write>(
    store: &Store,
    user: i64,
    id: i64,
    write: impl FnOnce() -> Write,
) -> Result<Task, ApiError>
where
    Write: Future<Output = Result<Option<Task>, sqlx::Error>>,
{
    let (before, after) = rewrite(store, user, id, write)
        .await?
        .ok_or_else(|| not_found(id))?;
    record_one(store, user, Some(before), Some(after.clone())).await;
    Ok(after)
}

/// Records a change for undo. The change itself is made already: a failure to record it
/// is logged, not answered as an error (the user's change did happen).
async fn record(store: &Store, user: i64, changes: Vec<TaskChange>) {
    if changes.is_empty() {
        return;
    }
    let summary = undo::summary(&changes);
    if let Err(error) = store
        .record_change(user, &summary, &changes, now_ms())
        .await
    {
        tracing::warn!(%error, "the change was made but cannot be undone: recording it failed");
    }
}

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
    let created = store.create_task(user, &task).await?;
    record_one(store, user, None, Some(created.clone())).await;
    Ok(created)
}

/// One task (404 when it is not the user's).
pub async fn get(store: &Store, user: i64, id: i64) -> Result<Task, ApiError> {
    store.task(user, id).await?.ok_or_else(|| not_found(id))
}

/// A patch with its fields checked and normalized.
fn checked(mut patch: TaskPatch) -> Result<TaskPatch, ApiError> {
    if let Some(title) = &patch.title {
        patch.title = Some(check_title(title).map_err(ApiError::invalid)?);
    }
    if let Some(description) = &patch.description {
        patch.description = Some(check_description(description).map_err(ApiError::invalid)?);
    }
    if let Some(tags) = &patch.tags {
        patch.tags = Some(check_tags(tags).map_err(ApiError::invalid)?);
    }
    Ok(patch)
}

/// Checks and applies a patch.
pub async fn update(store: &Store, user: i64, id: i64, patch: TaskPatch) -> Result<Task, ApiError> {
    let patch = checked(patch)?;
    rewrite_one(store, user, id, || store.update_task(user, id, &patch)).await
}

/// Flips a task between open and done.
pub async fn toggle(store: &Store, user: i64, id: i64) -> Result<Task, ApiError> {
    rewrite_one(store, user, id, || store.toggle_task(user, id)).await
}

/// Deletes a task, returning what it was.
pub async fn delete(store: &Store, user: i64, id: i64) -> Result<Task, ApiError> {
    let deleted = store
        .delete_task(user, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    record_one(store, user, Some(deleted.clone()), None).await;
    Ok(deleted)
}

/// Deletes several tasks as one change (one undo brings them all back); ids the user has
/// no task for are skipped. Returns the deleted tasks.
pub async fn delete_many(store: &Store, user: i64, ids: &[i64]) -> Result<Vec<Task>, ApiError> {
    let mut deleted = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(task) = store.delete_task(user, id).await? {
            deleted.push(task);
        }
    }
    let changes = deleted
        .iter()
        .map(|task| TaskChange {
            before: Some(task.clone()),
            after: None,
        })
        .collect();
    record(store, user, changes).await;
    Ok(deleted)
}

/// Applies one checked patch to several tasks as one change (one undo puts them all
/// back); ids the user has no task for are skipped. Returns the changed tasks.
pub async fn update_many(
    store: &Store,
    user: i64,
    ids: &[i64],
    patch: TaskPatch,
) -> Result<Vec<Task>, ApiError> {
    let patch = checked(patch)?;
    let mut changes = Vec::with_capacity(ids.len());
    for &id in ids {
        let write = || store.update_task(user, id, &patch);
        if let Some((before, after)) = rewrite(store, user, id, write).await? {
            changes.push(TaskChange {
                before: Some(before),
                after: Some(after),
            });
        }
    }
    let changed = changes.iter().filter_map(|c| c.after.clone()).collect();
    record(store, user, changes).await;
    Ok(changed)
}

/// The newest change the user can undo.
pub async fn undoable(store: &Store, user: i64) -> Result<UndoState, ApiError> {
    let found = store.last_change(user, window_start_ms()).await?;
    let rfc3339 = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let window = i64::try_from(undo::WINDOW.as_millis()).unwrap_or(i64::MAX);
    Ok(UndoState {
        change: found.map(|(id, summary, made_at)| UndoableChange {
            id,
            summary,
            made_at: rfc3339(made_at),
            expires_at: rfc3339(made_at.saturating_add(window)),
        }),
    })
}

/// Undoes `change` (else the user's newest change). Refusals are errors whose detail says
/// why in words for people: nothing to undo (404), the change is gone (404), a task has
/// changed since (409).
pub async fn undo(store: &Store, user: i64, change: Option<i64>) -> Result<Undone, ApiError> {
    let minutes = undo::WINDOW.as_secs() / 60;
    match store.undo_change(user, change, window_start_ms()).await? {
        Outcome::Undone { summary, tasks } => Ok(Undone {
            reply: format!("Undone: {summary}."),
            tasks,
        }),
        Outcome::Nothing => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "nothing_to_undo",
            format!(
                "There is nothing to undo: changes can be undone for {minutes} minutes after they are made."
            ),
        )),
        Outcome::Gone => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "undo_unavailable",
            format!(
                "That change can no longer be undone: it was undone already, or it is more than {minutes} minutes old."
            ),
        )),
        Outcome::ChangedSince {
            summary,
            task,
            deleted,
        } => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "changed_since",
            format!(
                "Nothing was undone: you {summary}, but {} has been {} since.",
                undo::name(&task),
                if deleted { "deleted" } else { "changed" }
            ),
        )),
    }
}
