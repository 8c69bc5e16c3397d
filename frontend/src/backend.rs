//! Calls to the backend API: the shared HTTP client, the few typed calls the pages make,
//! and what a failed call means for the person using the app.

use std::time::Duration;

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::Config;

/// The backend API as the pages see it.
#[derive(Clone)]
pub(crate) struct Backend {
    client: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// Why a backend call gave no usable answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection could be made (502).
    Unreachable,
    /// The backend did not answer in time (504).
    Timeout,
    /// The backend answered with an error of its own.
    Api {
        status: StatusCode,
        code: String,
        detail: String,
    },
    /// The backend answered 2xx with a body the frontend does not understand (502).
    Invalid,
}

impl Failure {
    /// The status the frontend answers with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Unreachable | Self::Invalid => StatusCode::BAD_GATEWAY,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Api { status, .. } => *status,
        }
    }

    /// A short machine-readable code, as the backend's `error` field.
    pub(crate) fn code(&self) -> &str {
        match self {
            Self::Unreachable => "backend_unavailable",
            Self::Timeout => "backend_timeout",
            Self::Invalid => "backend_invalid_response",
            Self::Api { code, .. } => code,
        }
    }

    /// A sentence for people: what went wrong and what to do.
    pub(crate) fn message(&self, timeout: Duration) -> String {
        match self {
            Self::Unreachable => {
                "The task service cannot be reached right now. Please try again in a moment."
                    .to_owned()
            }
            Self::Timeout => format!(
                "The task service did not answer within {} seconds. Please try again in a moment.",
                trim_secs(timeout)
            ),
            Self::Invalid => {
                "The task service sent an answer this page does not understand. Please try again."
                    .to_owned()
            }
            Self::Api { detail, .. } => detail.clone(),
        }
    }

    /// Classifies a transport error from the HTTP client.
    pub(crate) fn from_transport(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_decode() {
            Self::Invalid
        } else {
            Self::Unreachable
        }
    }
}

fn trim_secs(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs:.1}")
    }
}

/// The body of a backend error answer.
#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    detail: String,
}

/// A signed-in person, as `/api/auth/me` and sign-in describe them.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub(crate) email: String,
}

/// The answer of sign-in and sign-up.
#[derive(Deserialize)]
pub(crate) struct Session {
    pub(crate) token: String,
}

/// A task, as the backend returns it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Task {
    #[serde(deserialize_with = "id_text")]
    pub(crate) id: String,
    /// The owner's own number for the task (what people see and say: "mark 3 done").
    #[serde(default)]
    pub(crate) number: Option<u64>,
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) completed: bool,
    #[serde(default = "medium")]
    pub(crate) priority: String,
    #[serde(default)]
    pub(crate) due_date: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
}

fn medium() -> String {
    "medium".to_owned()
}

/// Ids are shown and sent back as text, whether the backend uses numbers or strings.
fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "task id must be a number or a string, not {other}"
        ))),
    }
}

/// The newest change the user can undo (`GET /api/undo`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct UndoState {
    #[serde(default)]
    pub(crate) change: Option<UndoableChange>,
}

/// A change that can be undone, as the undo bar shows it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct UndoableChange {
    pub(crate) id: i64,
    pub(crate) summary: String,
    pub(crate) expires_at: String,
}

/// One page of tasks, how many match in all, and the user's counts by status.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TaskPage {
    pub(crate) tasks: Vec<Task>,
    pub(crate) total: u64,
    pub(crate) counts: Counts,
}

/// How many tasks the user has, whatever the filters.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct Counts {
    pub(crate) open: u64,
    pub(crate) done: u64,
}

impl Backend {
    /// Builds the shared client with the configured timeouts.
    pub(crate) fn new(config: &Config) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("todo-frontend/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            base: config.backend_url.clone(),
            timeout: config.request_timeout,
        })
    }

    /// The raw client, for the proxy.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The absolute URL of a backend path (which starts with `/`).
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// The total timeout of one call.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET path` with the bearer token, decoded as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        token: &str,
    ) -> Result<T, Failure> {
        let request = self
            .client
            .get(self.url(path_and_query))
            .bearer_auth(token)
            .header("accept", "application/json");
        Self::send(request).await
    }

    /// `POST path` with a JSON body and no token, decoded as `T`; `forwarded_for` is the
    /// browser request's `X-Forwarded-For` (the backend limits sign-ins per client).
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        forwarded_for: Option<&axum::http::HeaderValue>,
    ) -> Result<T, Failure> {
        let mut request = self
            .client
            .post(self.url(path))
            .json(body)
            .header("accept", "application/json");
        if let Some(chain) = forwarded_for {
            request = request.header("x-forwarded-for", chain);
        }
        Self::send(request).await
    }

    /// `POST path` with a JSON body and the bearer token, decoded as `T`.
    pub(crate) async fn post_as<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> Result<T, Failure> {
        let request = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .header("accept", "application/json");
        Self::send(request).await
    }

    /// `DELETE path` with the bearer token, decoded as `T`.
    pub(crate) async fn delete_as<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
    ) -> Result<T, Failure> {
        let request = self
            .client
            .delete(self.url(path))
            .bearer_auth(token)
            .header("accept", "application/json");
        Self::send(request).await
    }

    /// `POST /api/auth/signout` with the token: the backend ends that session, so the
    /// token is refused from now on even if a copy of it survives somewhere.
    pub(crate) async fn sign_out(&self, token: &str) -> Result<(), Failure> {
        let response = self
            .client
            .post(self.url("/api/auth/signout"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|error| Failure::from_transport(&error))?;
        match response.status() {
            // Ended now, or ended (or expired) already.
            status if status.is_success() || status == StatusCode::UNAUTHORIZED => Ok(()),
            status => Err(Failure::Api {
                status,
                code: "signout_failed".to_owned(),
                detail: default_detail(status),
            }),
        }
    }

    /// `GET /readyz`: whether the backend says it is ready.
    pub(crate) async fn ready(&self) -> Result<(), Failure> {
        let response = self
            .client
            .get(self.url("/readyz"))
            .send()
            .await
            .map_err(|error| Failure::from_transport(&error))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Failure::Api {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "backend_not_ready".to_owned(),
                detail: format!("the backend's /readyz answered {}", response.status()),
            })
        }
    }

    async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, Failure> {
        let response = request
            .send()
            .await
            .map_err(|error| Failure::from_transport(&error))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| Failure::from_transport(&error))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|_| Failure::Invalid);
        }
        Err(match serde_json::from_slice::<ApiError>(&body) {
            Ok(api) => Failure::Api {
                status,
                code: if api.error.is_empty() {
                    "backend_error".to_owned()
                } else {
                    api.error
                },
                detail: if api.detail.is_empty() {
                    default_detail(status)
                } else {
                    api.detail
                },
            },
            Err(_) if status.is_server_error() => Failure::Api {
                status: StatusCode::BAD_GATEWAY,
                code: "backend_error".to_owned(),
                detail: default_detail(status),
            },
            Err(_) => Failure::Api {
                status,
                code: "backend_error".to_owned(),
                detail: default_detail(status),
            },
        })
    }
}

fn default_detail(status: StatusCode) -> String {
    if status.is_server_error() {
        format!(
            "The task service had a problem ({}). Please try again in a moment.",
            status.as_u16()
        )
    } else {
        format!(
            "The task service refused the request ({}).",
            status.as_u16()
        )
    }
}
