//! A stand-in for an OpenAI-compatible chat-completions API on 127.0.0.1: answers with a
//! script of replies and records what it was asked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this chat completion.
    Completion(Value),
    /// This status with an error body.
    Status(u16),
    /// 200 with a body that is not a completion.
    Garbage,
    /// Wait, then answer.
    After(Duration, Box<Reply>),
}

/// What the stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: String,
    pub body: Value,
}

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct StandIn {
    pub base_url: String,
    script: Script,
}

impl StandIn {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
            received: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base_url, script }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.received.lock().unwrap().clone()
    }
}

async fn complete(
    State(script): State<Script>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    script.received.lock().unwrap().push(Received {
        authorization: headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body,
    });
    let reply = script.replies.lock().unwrap().pop_front();
    answer(reply.unwrap_or(Reply::Status(500))).await
}

async fn answer(reply: Reply) -> Response {
    match reply {
        Reply::Completion(value) => Json(value).into_response(),
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"error": {"message": "scripted failure"}})),
        )
            .into_response(),
        Reply::Garbage => "<html>not json</html>".into_response(),
        Reply::After(delay, reply) => {
            tokio::time::sleep(delay).await;
            Box::pin(answer(*reply)).await
        }
    }
}

/// A completion that calls tools: `(name, arguments)`.
pub fn tool_calls(calls: &[(&str, Value)]) -> Reply {
    let calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            json!({"id": format!("call_{i}"), "type": "function",
                   "function": {"name": name, "arguments": arguments.to_string()}})
        })
        .collect();
    Reply::Completion(json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": null, "tool_calls": calls}}]
    }))
}

/// A completion with a final text answer.
pub fn text(content: &str) -> Reply {
    Reply::Completion(json!({
        "id": "chatcmpl-2", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}]
    }))
}
