//! The chatbot through an OpenAI-compatible chat-completions API with tool calls: the model
//! picks task operations, this module carries them out with the same rules as the REST API.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::confirm::{Confirmations, Pending};
use super::intent::{BulkAction, Scope};
use super::{ChatReply, ChatSource};
use crate::config::LlmConfig;
use crate::error::ApiError;
use crate::model::{NewTask, Priority, SortOrder, StatusFilter, Task, TaskPatch, TaskQuery};
use crate::store::Store;
use crate::tasks;

/// Most model round trips for one message (each may carry several tool calls).
const MAX_ROUNDS: usize = 5;

/// Why the model could not answer (the parser answers instead).
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The request failed (connection, timeout).
    #[error("cannot reach the chat model API at {url}: {source}")]
    Request {
        /// The endpoint.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The API answered with an error status.
    #[error("the chat model API at {url} answered HTTP {status}")]
    Status {
        /// The endpoint.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer was not a chat completion.
    #[error("the chat model API answered something unexpected: {0}")]
    Protocol(String),
    /// The model kept calling tools.
    #[error("the chat model made tool calls for more than {MAX_ROUNDS} rounds")]
    TooManyRounds,
}

/// A configured client of the chat model API.
#[derive(Debug, Clone)]
pub struct Llm {
    client: reqwest::Client,
    config: LlmConfig,
}

impl Llm {
    /// A client with the configured timeout.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|source| LlmError::Request {
                url: config.base_url.clone(),
                source,
            })?;
        Ok(Self { client, config })
    }

    /// Answers `message` for `user`, carrying out the tool calls the model makes. A bulk
    /// change the model asks for waits in `confirmations` for the user's "yes".
    pub async fn respond(
        &self,
        store: &Store,
        confirmations: &Confirmations,
        user: i64,
        message: &str,
        today: NaiveDate,
    ) -> Result<ChatReply, LlmError> {
        let url = format!("{}/chat/completions", self.config.base_url);
        let mut messages = vec![
            json!({"role": "system", "content": system_prompt(today)}),
            json!({"role": "user", "content": message}),
        ];
        let mut touched: Vec<Task> = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let body = json!({
                "model": self.config.model,
                "messages": messages,
                "tools": tools(),
                "tool_choice": "auto",
            });
            let response = self
                .client
                .post(&url)
                .bearer_auth(self.config.api_key.expose())
                .json(&body)
                .send()
                .await
                .map_err(|source| LlmError::Request {
                    url: url.clone(),
                    source,
                })?;
            if !response.status().is_success() {
                return Err(LlmError::Status {
                    url,
                    status: response.status().as_u16(),
                });
            }
            let completion: Value = response.json().await.map_err(|source| LlmError::Request {
                url: url.clone(),
                source,
            })?;
            let message = completion
                .pointer("/choices/0/message")
                .cloned()
                .ok_or_else(|| LlmError::Protocol("no choices[0].message".into()))?;
            let calls = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if calls.is_empty() {
                let reply = message
                    .get("content")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|text| !text.is_empty())
                    .ok_or_else(|| {
                        LlmError::Protocol("a message with neither content nor tool calls".into())
                    })?;
                return Ok(ChatReply {
                    reply: reply.to_string(),
                    tasks: touched,
                    source: ChatSource::Llm,
                });
            }
            messages.push(message);
            for call in calls {
                let id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let name = call
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        LlmError::Protocol("a tool call without a function name".into())
                    })?;
                let arguments = call
                    .pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("{}");
                let result = match serde_json::from_str::<Value>(arguments) {
                    Ok(arguments) => {
                        let context = ToolContext {
                            store,
                            confirmations,
                            user,
                            today,
                        };
                        run_tool(&context, name, &arguments, &mut touched).await
                    }
                    Err(error) => json!({"error": format!("arguments are not JSON: {error}")}),
                };
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": id,
                    "content": result.to_string(),
                }));
            }
        }
        Err(LlmError::TooManyRounds)
    }
}

fn system_prompt(today: NaiveDate) -> String {
    format!(
        "You manage the user's todo list through the tools. Today is {} ({}). \
         Use the tools to do what the user asks, then answer in one or two short sentences. \
         Dates are YYYY-MM-DD. Tasks are known by their `number`, the user's own \
         numbering: \"mark 3 done\" means number 3; the tools take that number, and \
         replies name a task by its title and #number. Give each task its own \
         add_task call; keep dates, priorities and words such as \"please\" out of titles. \
         To change or delete many tasks at once, call bulk_tasks and ask the user to say yes: \
         the change happens only then. When a tool says unchanged, say that nothing changed. \
         Tasks have no time of day and do not repeat: say so \
         when asked for either.",
        today,
        today.format("%A")
    )
}

fn tools() -> Value {
    let task_fields = json!({
        "title": {"type": "string", "description": "1 to 200 characters"},
        "description": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "due_date": {"type": ["string", "null"], "description": "YYYY-MM-DD, or null to clear"},
        "tags": {"type": "array", "items": {"type": "string"}}
    });
    let function = |name: &str, description: &str, parameters: Value| json!({"type": "function", "function": {"name": name, "description": description, "parameters": parameters}});
    let number = json!({"type": "integer", "minimum": 1, "description": "the task's number, as the user sees it (#3) and says it (\"task 3\")"});
    let mut update_fields = task_fields.clone();
    if let Some(fields) = update_fields.as_object_mut() {
        fields.insert("number".into(), number.clone());
        fields.insert("completed".into(), json!({"type": "boolean"}));
    }
    json!([
        function(
            "add_task",
            "Create a task.",
            json!({
            "type": "object", "properties": task_fields, "required": ["title"]})
        ),
        function(
            "list_tasks",
            "List the user's tasks, optionally filtered.",
            json!({
            "type": "object", "properties": {
                "status": {"type": "string", "enum": ["all", "open", "done"]},
                "q": {"type": "string", "description": "text to search for"},
                "priority": {"type": "string", "enum": ["low", "medium", "high"]},
                "due": {"type": "string", "description": "YYYY-MM-DD: only open tasks due that day; overdue: only open tasks due before today"},
                "due_by": {"type": "string", "description": "YYYY-MM-DD: only open tasks due from due_from (default today) to that day (\"this week\")"},
                "due_from": {"type": "string", "description": "YYYY-MM-DD: with due_by, the first day"},
                "newest_first": {"type": "boolean", "description": "latest added first (\"what did I add last\")"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200}}})
        ),
        function(
            "update_task",
            "Change fields of a task: completed true marks it done.",
            json!({
            "type": "object", "properties": update_fields, "required": ["number"]})
        ),
        function(
            "delete_task",
            "Delete a task.",
            json!({
            "type": "object", "properties": {"number": number}, "required": ["number"]})
        ),
        function(
            "bulk_tasks",
            "Prepare a change to many tasks at once; nothing changes until the user says yes.",
            json!({
            "type": "object", "properties": {
                "action": {"type": "string", "enum": ["delete", "complete", "reopen"]},
                "scope": {"type": "string", "enum": ["all", "open", "done", "overdue"]}},
            "required": ["action", "scope"]})
        ),
    ])
}

/// What a tool call runs against.
struct ToolContext<'a> {
    store: &'a Store,
    confirmations: &'a Confirmations,
    user: i64,
    today: NaiveDate,
}

/// Runs one tool call; errors go back to the model as `{"error": ...}`.
async fn run_tool(
    context: &ToolContext<'_>,
    name: &str,
    arguments: &Value,
    touched: &mut Vec<Task>,
) -> Value {
    match tool(context, name, arguments).await {
        Ok(ToolResult::Asked(found)) => {
            let value = json!({
                "confirmation_needed": true,
                "tasks": for_model(&found),
                "note": "Nothing changed yet: ask the user to say yes (or no)."
            });
            for task in found {
                remember(touched, task);
            }
            value
        }
        Ok(ToolResult::Unchanged(task)) => {
            let value = json!({
                "tasks": for_model(std::slice::from_ref(&task)),
                "unchanged": true,
                "note": "Nothing changed: the task already was so. Tell the user."
            });
            remember(touched, task);
            value
        }
        Ok(ToolResult::Tasks(found)) => {
            let value = json!({ "tasks": for_model(&found) });
            for task in found {
                remember(touched, task);
            }
            value
        }
        Ok(ToolResult::Deleted(task)) => {
            let value = json!({ "deleted": task.number });
            remember(touched, task);
            value
        }
        Err(error) => json!({ "error": error }),
    }
}

/// Tasks as the model sees them: without their global `id`, which people never see or
/// say, so the model can only name a task by its number.
fn for_model(tasks: &[Task]) -> Vec<Value> {
    tasks
        .iter()
        .map(|task| {
            let mut value = json!(task);
            if let Some(fields) = value.as_object_mut() {
                fields.remove("id");
            }
            value
        })
        .collect()
}

enum ToolResult {
    Tasks(Vec<Task>),
    Deleted(Task),
    /// A bulk change waiting for the user's yes, and the tasks it would take.
    Asked(Vec<Task>),
    /// An update that changed nothing: the task already was so.
    Unchanged(Task),
}

/// The same title, description, state, priority, due date and tags.
fn same_content(a: &Task, b: &Task) -> bool {
    (
        &a.title,
        &a.description,
        a.completed,
        a.priority,
        a.due_date,
        &a.tags,
    ) == (
        &b.title,
        &b.description,
        b.completed,
        b.priority,
        b.due_date,
        &b.tags,
    )
}

async fn tool(
    context: &ToolContext<'_>,
    name: &str,
    arguments: &Value,
) -> Result<ToolResult, String> {
    let (store, user) = (context.store, context.user);
    let api = |error: ApiError| format!("the operation failed with status {}", error.status());
    let text = |key: &str| {
        arguments
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let priority = |key: &str| -> Result<Option<Priority>, String> {
        text(key)
            .map(|p| Priority::parse(&p).ok_or(format!("{key} must be low, medium or high")))
            .transpose()
    };
    let date = |value: &Value| -> Result<Option<NaiveDate>, String> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("due_date `{s}` is not YYYY-MM-DD")),
            _ => Err("due_date must be a string or null".into()),
        }
    };
    let tags = || -> Option<Vec<String>> {
        arguments.get("tags").and_then(Value::as_array).map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    };
    // The user's task by the number the model names (another user's number finds none).
    let numbered = async || -> Result<Task, String> {
        let number = arguments
            .get("number")
            .and_then(Value::as_i64)
            .ok_or("number (the task's number, an integer) is required")?;
        store
            .task_by_number(user, number)
            .await
            .map_err(|_| format!("task #{number} could not be read"))?
            .ok_or_else(|| format!("the user has no task #{number}"))
    };
    match name {
        "add_task" => {
            let task = NewTask {
                title: text("title").ok_or("title is required")?,
                description: text("description").unwrap_or_default(),
                completed: false,
                priority: priority("priority")?.unwrap_or_default(),
                due_date: date(arguments.get("due_date").unwrap_or(&Value::Null))?,
                tags: tags().unwrap_or_default(),
            };
            let task = tasks::create(store, user, task).await.map_err(api)?;
            Ok(ToolResult::Tasks(vec![task]))
        }
        "list_tasks" => {
            let status = match text("status").as_deref() {
                Some("open") => StatusFilter::Open,
                Some("done") => StatusFilter::Done,
                _ => StatusFilter::All,
            };
            let due = due_filter(arguments, context.today)?;
            let newest_first = arguments.get("newest_first").and_then(Value::as_bool) == Some(true);
            let limit = arguments
                .get("limit")
                .and_then(Value::as_i64)
                .map_or(tasks::MAX_LIMIT, |limit| limit.clamp(1, tasks::MAX_LIMIT));
            let query = TaskQuery {
                status: if due.is_some() {
                    StatusFilter::Open
                } else {
                    status
                },
                q: text("q"),
                priority: priority("priority")?,
                limit: Some(if due.is_some() {
                    tasks::MAX_LIMIT
                } else {
                    limit
                }),
                sort: if newest_first {
                    SortOrder::Created
                } else {
                    SortOrder::Due
                },
                ..TaskQuery::default()
            };
            let mut found = tasks::list(store, user, &query).await.map_err(api)?.tasks;
            match due {
                Some(DueFilter::On(day)) => found.retain(|task| task.due_date == Some(day)),
                Some(DueFilter::Between(start, end)) => {
                    found
                        .retain(|task| task.due_date.is_some_and(|due| start <= due && due <= end));
                }
                Some(DueFilter::Overdue) => {
                    found.retain(|task| task.due_date.is_some_and(|due| due < context.today));
                }
                None => {}
            }
            found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(ToolResult::Tasks(found))
        }
        "bulk_tasks" => {
            let action = match text("action").as_deref() {
                Some("delete") => BulkAction::Delete,
                Some("complete") => BulkAction::Complete,
                Some("reopen") => BulkAction::Reopen,
                _ => return Err("action must be delete, complete or reopen".into()),
            };
            let scope = match text("scope").as_deref() {
                Some("all") => Scope::All,
                Some("open") => Scope::Open,
                Some("done") => Scope::Done,
                Some("overdue") => Scope::Overdue,
                _ => return Err("scope must be all, open, done or overdue".into()),
            };
            let (found, what) = super::bulk_tasks(store, user, action, scope, context.today)
                .await
                .map_err(api)?;
            if found.is_empty() {
                return Err(format!("the user has no {what}: nothing to change"));
            }
            context.confirmations.ask(
                user,
                Pending {
                    action,
                    ids: found.iter().map(|task| task.id).collect(),
                    what,
                },
            );
            Ok(ToolResult::Asked(found))
        }
        "update_task" => {
            let patch = TaskPatch {
                title: text("title"),
                description: text("description"),
                completed: arguments.get("completed").and_then(Value::as_bool),
                priority: priority("priority")?,
                due_date: arguments.get("due_date").map(date).transpose()?,
                tags: tags(),
            };
            let before = numbered().await?;
            let task = tasks::update(store, user, before.id, patch)
                .await
                .map_err(api)?;
            if same_content(&before, &task) {
                return Ok(ToolResult::Unchanged(task));
            }
            Ok(ToolResult::Tasks(vec![task]))
        }
        "delete_task" => {
            let task = numbered().await?;
            let task = tasks::delete(store, user, task.id).await.map_err(api)?;
            Ok(ToolResult::Deleted(task))
        }
        other => Err(format!("there is no tool named {other}")),
    }
}

/// `list_tasks`' due filter.
enum DueFilter {
    On(NaiveDate),
    Between(NaiveDate, NaiveDate),
    Overdue,
}

/// `due` (a day or "overdue"), or `due_by` with `due_from` (default today).
fn due_filter(arguments: &Value, today: NaiveDate) -> Result<Option<DueFilter>, String> {
    let day = |key: &str| -> Result<Option<NaiveDate>, String> {
        arguments
            .get(key)
            .and_then(Value::as_str)
            .map(|text| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| format!("{key} `{text}` is not YYYY-MM-DD"))
            })
            .transpose()
    };
    match arguments.get("due").and_then(Value::as_str) {
        Some("overdue") => Ok(Some(DueFilter::Overdue)),
        Some(_) => Ok(day("due")?.map(DueFilter::On)),
        None => Ok(day("due_by")?
            .map(|end| Ok::<_, String>(DueFilter::Between(day("due_from")?.unwrap_or(today), end)))
            .transpose()?),
    }
}

/// Keeps the latest version of each touched task, in first-touched order.
fn remember(touched: &mut Vec<Task>, task: Task) {
    match touched.iter_mut().find(|known| known.id == task.id) {
        Some(known) => *known = task,
        None => touched.push(task),
    }
}
