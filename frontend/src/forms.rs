//! Task actions posted as plain HTML forms, for pages without the script (JavaScript off,
//! blocked, or not loaded yet). With the script the same forms go through `/api` instead
//! and these handlers are never reached.
//!
//! Each action calls the backend, then returns to the list it came from (`back`, a path of
//! the task page only). A refusal the person can act on (an empty or too long title, a
//! task deleted meanwhile) gets a page that says why, with the way back.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::AppState;
use crate::backend::Failure;
use crate::pages::{
    SESSION_ENDED, failure_page, is_unauthorized, load, parse_filters, safe_back, to_signin,
};
use crate::session;
use crate::views::{self, Exchange};

/// The add form's fields; missing ones read as empty.
#[derive(Deserialize)]
pub(crate) struct NewTask {
    #[serde(default)]
    title: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    back: String,
}

/// A form that only says where to return.
#[derive(Deserialize)]
pub(crate) struct Back {
    #[serde(default)]
    back: String,
}

/// The chat form's fields.
#[derive(Deserialize)]
pub(crate) struct ChatForm {
    #[serde(default)]
    message: String,
    #[serde(default)]
    back: String,
}

/// What the assistant answers (`POST /api/chat`).
#[derive(Deserialize)]
struct ChatAnswer {
    #[serde(default)]
    reply: String,
}

/// What a task action on a task that is gone says (the script says the same).
const TASK_GONE: &str =
    "That task no longer exists; it may have been deleted in another tab or on another device.";

/// Back to the list after a change, or a page that says why it was not made.
fn after_change(
    app: &AppState,
    headers: &HeaderMap,
    outcome: Result<IgnoredAny, Failure>,
    refused_title: &str,
    back: &str,
) -> Response {
    match outcome {
        Ok(_) => Redirect::to(back).into_response(),
        Err(failure) if is_unauthorized(&failure) => to_signin(headers),
        // The backend names the task by its global id, which the page never shows.
        Err(Failure::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
            (status, views::notice_page(refused_title, TASK_GONE, back)).into_response()
        }
        Err(failure @ Failure::Api { .. }) if !failure.status().is_server_error() => (
            failure.status(),
            views::notice_page(refused_title, &failure.message(app.backend.timeout()), back),
        )
            .into_response(),
        Err(failure) => failure_page(app, &failure, back),
    }
}

/// `POST /tasks`: the add form.
pub(crate) async fn add(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewTask>,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return Redirect::to(SESSION_ENDED).into_response();
    };
    let back = safe_back(&form.back);
    let title = form.title.trim();
    if title.is_empty() {
        let page = views::notice_page(
            "The task was not added",
            "Give the task a title first.",
            back,
        );
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    }
    let priority = if form.priority.is_empty() {
        "medium"
    } else {
        form.priority.as_str()
    };
    let due_date = (!form.due_date.is_empty()).then_some(form.due_date.as_str());
    let body = json!({ "title": title, "priority": priority, "due_date": due_date });
    let outcome = app.backend.post_as("/api/tasks", &token, &body).await;
    after_change(&app, &headers, outcome, "The task was not added", back)
}

/// `POST /tasks/{id}/toggle`: marks a task done, or open again.
pub(crate) async fn toggle(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(form): Form<Back>,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return Redirect::to(SESSION_ENDED).into_response();
    };
    let path = format!("/api/tasks/{id}/toggle");
    let outcome = app.backend.post_as(&path, &token, &json!({})).await;
    let back = safe_back(&form.back);
    after_change(&app, &headers, outcome, "The task was not changed", back)
}

/// `POST /tasks/{id}/delete`: deletes a task (the undo bar then offers it back).
pub(crate) async fn delete(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(form): Form<Back>,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return Redirect::to(SESSION_ENDED).into_response();
    };
    let path = format!("/api/tasks/{id}");
    let outcome = app.backend.delete_as(&path, &token).await;
    let back = safe_back(&form.back);
    after_change(&app, &headers, outcome, "The task was not deleted", back)
}

/// `POST /chat`: sends the message to the assistant and shows the task page with the
/// message and its answer in the conversation (or why there is no answer, with the
/// message put back in the box).
pub(crate) async fn chat(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ChatForm>,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return Redirect::to(SESSION_ENDED).into_response();
    };
    let back = safe_back(&form.back);
    let message = form.message.trim();
    if message.is_empty() {
        return Redirect::to(back).into_response();
    }
    let body = json!({ "message": message });
    let answer = app
        .backend
        .post_as::<ChatAnswer>("/api/chat", &token, &body)
        .await;
    let exchange = match answer {
        Ok(answer) => Exchange {
            message,
            reply: answer.reply,
            failed: false,
        },
        Err(failure) if is_unauthorized(&failure) => return to_signin(&headers),
        Err(failure) => Exchange {
            message,
            reply: failure.message(app.backend.timeout()),
            failed: true,
        },
    };
    let filters = parse_filters(back.strip_prefix("/?"));
    match load(&app, &token, &filters).await {
        Ok((email, list)) => {
            Html(views::tasks_page(&email, &filters, &list, Some(&exchange)).into_string())
                .into_response()
        }
        Err(failure) if is_unauthorized(&failure) => to_signin(&headers),
        Err(failure) => failure_page(&app, &failure, back),
    }
}
