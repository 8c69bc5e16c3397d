//! Page handlers: sign-in/up/out, the task page and its refreshable region, health.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::backend::{Failure, Session, TaskPage, UndoState, User};
use crate::filters::{Filters, RawFilters, Status};
use crate::proxy;
use crate::session;
use crate::views::{self, AuthKind, AuthMessage, TaskList};

/// What `/api/auth/me` answers: the user, either bare or wrapped in `{"user": …}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Me {
    Wrapped { user: User },
    Bare(User),
}

impl Me {
    fn email(self) -> String {
        match self {
            Self::Wrapped { user } | Self::Bare(user) => user.email,
        }
    }
}

/// Reads the page's filters; the first value of a repeated key wins, unknown keys are ignored.
pub(crate) fn parse_filters(query: Option<&str>) -> Filters {
    let mut raw = RawFilters::default();
    let url = reqwest::Url::parse(&format!("http://page.invalid/?{}", query.unwrap_or("")));
    if let Ok(url) = url {
        for (key, value) in url.query_pairs() {
            let slot = match key.as_ref() {
                "status" => &mut raw.status,
                "q" => &mut raw.q,
                "priority" => &mut raw.priority,
                "sort" => &mut raw.sort,
                "offset" => &mut raw.offset,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
    }
    Filters::from(raw)
}

/// Everything the task page shows, in concurrent backend calls: the user, the page of
/// tasks and, while a search or priority narrows the list, the open and done tasks it
/// matches (the backend's own counts ignore the search).
pub(crate) async fn load(
    app: &AppState,
    token: &str,
    filters: &Filters,
) -> Result<(String, TaskList), Failure> {
    let backend = &app.backend;
    let list_path = format!("/api/tasks?{}", filters.backend_query());
    let matching = |status: Status| async move {
        if !filters.narrowed() {
            return Ok(None);
        }
        let path = format!("/api/tasks?{}", filters.count_query(status));
        backend
            .get::<TaskPage>(&path, token)
            .await
            .map(|page| Some(page.total))
    };
    // The undo bar is a convenience: the page shows without it when it cannot be read.
    let undoable = async {
        Ok::<_, Failure>(
            backend
                .get::<UndoState>("/api/undo", token)
                .await
                .ok()
                .and_then(|state| state.change),
        )
    };
    let (me, page, open, done, undo) = tokio::try_join!(
        backend.get::<Me>("/api/auth/me", token),
        backend.get::<TaskPage>(&list_path, token),
        matching(Status::Open),
        matching(Status::Done),
        undoable,
    )?;
    let list = TaskList {
        undo,
        open: open.unwrap_or(page.counts.open),
        done: done.unwrap_or(page.counts.done),
        matching: page.total,
        tasks: page.tasks,
        today: chrono::Utc::now().date_naive(),
    };
    Ok((me.email(), list))
}

pub(crate) fn is_unauthorized(failure: &Failure) -> bool {
    matches!(failure, Failure::Api { status, .. } if *status == StatusCode::UNAUTHORIZED)
}

pub(crate) fn to_signin(headers: &HeaderMap) -> Response {
    let clear = session::clear(session::over_https(headers));
    ([(header::SET_COOKIE, clear)], Redirect::to(SESSION_ENDED)).into_response()
}

/// The page shown for a failed backend call, with the failure's status.
pub(crate) fn failure_page(app: &AppState, failure: &Failure, retry_href: &str) -> Response {
    let status = failure.status();
    let title = match status {
        StatusCode::GATEWAY_TIMEOUT => "The task service is slow to answer",
        StatusCode::BAD_GATEWAY => "The task service is unavailable",
        _ => "Something went wrong",
    };
    let message = failure.message(app.backend.timeout());
    let mut response = (status, views::error_page(title, &message, retry_href)).into_response();
    if status.is_server_error() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    response
}

/// `GET /`: the task page, or the sign-in page for visitors without a session.
pub(crate) async fn home(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return Redirect::to("/signin").into_response();
    };
    let filters = parse_filters(query.as_deref());
    match load(&app, &token, &filters).await {
        Ok((email, list)) => {
            Html(views::tasks_page(&email, &filters, &list, None).into_string()).into_response()
        }
        Err(failure) if is_unauthorized(&failure) => to_signin(&headers),
        Err(failure) => {
            let retry = filters.href(filters.status, filters.offset);
            failure_page(&app, &failure, &retry)
        }
    }
}

/// `GET /partials/tasks`: the task region alone, for the script to swap in.
pub(crate) async fn task_region(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return proxy::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Your session has ended. Please sign in again.",
        );
    };
    let filters = parse_filters(query.as_deref());
    match load(&app, &token, &filters).await {
        Ok((_, list)) => Html(views::task_region(&filters, &list).into_string()).into_response(),
        Err(failure) => proxy::error(
            failure.status(),
            failure.code(),
            &failure.message(app.backend.timeout()),
        ),
    }
}

/// The sign-in and sign-up form fields; missing fields read as empty.
#[derive(Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Where a browser whose session was refused is sent: the sign-in page, saying why.
pub(crate) const SESSION_ENDED: &str = "/signin?ended";

/// `GET /signin`; `?ended` says that the session ended while in use.
pub(crate) async fn signin_form(RawQuery(query): RawQuery) -> Html<String> {
    let ended = query.is_some_and(|query| query.split('&').any(|pair| pair == "ended"));
    let message = ended.then_some(AuthMessage::SessionEnded);
    Html(views::auth_page(AuthKind::SignIn, "", message).into_string())
}

/// `GET /signed-out`: where signing out lands: says so, and offers to sign in again.
pub(crate) async fn signed_out() -> Html<String> {
    Html(views::auth_page(AuthKind::SignIn, "", Some(AuthMessage::SignedOut)).into_string())
}

/// `GET /signup`.
pub(crate) async fn signup_form() -> Html<String> {
    Html(views::auth_page(AuthKind::SignUp, "", None).into_string())
}

/// `POST /signin`.
pub(crate) async fn signin(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Response {
    authenticate(&app, &headers, AuthKind::SignIn, credentials).await
}

/// `POST /signup`.
pub(crate) async fn signup(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Response {
    authenticate(&app, &headers, AuthKind::SignUp, credentials).await
}

async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    kind: AuthKind,
    credentials: Credentials,
) -> Response {
    let email = credentials.email.trim();
    let form_error = |status: StatusCode, message: &str| {
        let message = AuthMessage::Error(message);
        (status, views::auth_page(kind, email, Some(message))).into_response()
    };
    if email.is_empty() || credentials.password.is_empty() {
        return form_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter both your email and your password.",
        );
    }
    let path = match kind {
        AuthKind::SignIn => "/api/auth/signin",
        AuthKind::SignUp => "/api/auth/signup",
    };
    let body = json!({ "email": email, "password": credentials.password });
    let forwarded_for = headers.get("x-forwarded-for");
    match app
        .backend
        .post::<Session>(path, &body, forwarded_for)
        .await
    {
        Ok(Session { token }) => {
            let cookie = session::set(&token, session::over_https(headers));
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(Failure::Api { status, .. })
            if kind == AuthKind::SignUp && status == StatusCode::CONFLICT =>
        {
            let page = views::auth_page(kind, email, Some(AuthMessage::EmailTaken));
            (status, page).into_response()
        }
        Err(failure) => {
            let message = match (&failure, kind) {
                (Failure::Api { status, .. }, AuthKind::SignIn)
                    if *status == StatusCode::UNAUTHORIZED =>
                {
                    "That email and password do not match an account. Check them and try again."
                        .to_owned()
                }
                _ => failure.message(app.backend.timeout()),
            };
            form_error(failure.status(), &message)
        }
    }
}

/// `POST /signout`: ends the session on the backend (its token is refused from then on),
/// forgets the cookie, and says so. The cookie goes even when the backend cannot be
/// reached: the person asked to be signed out of this browser.
pub(crate) async fn signout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = session::token(&headers)
        && let Err(failure) = app.backend.sign_out(&token).await
    {
        tracing::warn!(
            error = failure.code(),
            "the backend did not end the session; the cookie is cleared anyway"
        );
    }
    let clear = session::clear(session::over_https(&headers));
    ([(header::SET_COOKIE, clear)], Redirect::to("/signed-out")).into_response()
}

/// The undo form's fields: the change the bar showed, and the page to return to.
#[derive(Deserialize)]
pub(crate) struct UndoForm {
    #[serde(default)]
    change: Option<i64>,
    #[serde(default)]
    back: String,
}

/// `POST /undo`: the undo bar's form, for pages without the script. Undoes the change and
/// returns to the list; a change that can no longer be undone gets a page that says why.
pub(crate) async fn undo(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<UndoForm>,
) -> Response {
    let Some(token) = session::token(&headers) else {
        return Redirect::to("/signin").into_response();
    };
    let back = safe_back(&form.back);
    let body = json!({ "change": form.change });
    // The list shows what the undo put back; the answer's words are not needed.
    let undone = app
        .backend
        .post_as::<serde::de::IgnoredAny>("/api/undo", &token, &body)
        .await;
    match undone {
        Ok(_) => Redirect::to(back).into_response(),
        Err(failure) if is_unauthorized(&failure) => to_signin(&headers),
        Err(failure @ Failure::Api { .. }) if !failure.status().is_server_error() => (
            failure.status(),
            views::notice_page(
                "Nothing was undone",
                &failure.message(app.backend.timeout()),
                back,
            ),
        )
            .into_response(),
        Err(failure) => failure_page(&app, &failure, back),
    }
}

/// Where a form returns to: a path of this site's task page, never an address elsewhere.
pub(crate) fn safe_back(back: &str) -> &str {
    if back == "/" || back.starts_with("/?") {
        back
    } else {
        "/"
    }
}

/// `GET /healthz`: the process is alive.
pub(crate) async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the backend answers its own readiness check.
pub(crate) async fn readyz(State(app): State<AppState>) -> Response {
    match app.backend.ready().await {
        Ok(()) => axum::Json(json!({ "status": "ready" })).into_response(),
        Err(failure) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "not ready",
                "error": failure.code(),
                "detail": failure.message(app.backend.timeout()),
            })),
        )
            .into_response(),
    }
}

/// Any other path.
pub(crate) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, views::not_found()).into_response()
}
