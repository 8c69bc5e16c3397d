//! The chatbot: a message in plain English becomes task operations and a reply.
//!
//! The deterministic [`intent`] parser always works; when `OPENAI_API_KEY` is set, an
//! OpenAI-compatible API with tool calls ([`llm`]) answers first and the parser takes over
//! whenever that API fails.

pub mod intent;
pub mod llm;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::model::{NewTask, Priority, StatusFilter, Task, TaskPatch, TaskQuery};
use crate::store::Store;
use crate::tasks;
use intent::{Intent, ListFilter, Target};

/// `POST /api/chat` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// What the user typed (1 to 2000 characters).
    pub message: String,
}

/// Who understood the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatSource {
    /// The deterministic intent parser.
    Parser,
    /// The language model API.
    Llm,
}

/// `POST /api/chat` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChatReply {
    /// The answer to show.
    pub reply: String,
    /// The tasks the message created, changed, deleted or listed.
    pub tasks: Vec<Task>,
    /// Who understood the message.
    pub source: ChatSource,
}

/// What the chatbot can do, for unclear messages.
pub const HELP: &str = "I can manage your tasks. Try:\n\
- \"add buy milk tomorrow, high priority\"\n\
- \"what is still open?\" or \"what's due today?\"\n\
- \"mark 3 done\" or \"reopen 3\"\n\
- \"delete the milk task\"\n\
- \"rename 2 to call mum\"\n\
- \"set priority of 2 to low\" or \"move 2 to friday\"";

/// Answers a chat message for `user`.
pub async fn respond(state: &AppState, user: i64, message: &str) -> Result<ChatReply, ApiError> {
    let today = Utc::now().date_naive();
    if let Some(llm) = &state.llm {
        match llm.respond(&state.store, user, message, today).await {
            Ok(reply) => return Ok(reply),
            Err(error) => {
                tracing::warn!(%error, "the chat model failed; the intent parser answers instead");
            }
        }
    }
    // Off the async workers: a long message must not stall other requests (health checks
    // among them) while it is read.
    let text = message.to_string();
    let intent = tokio::task::spawn_blocking(move || intent::parse(&text, today))
        .await
        .map_err(ApiError::internal)?;
    execute(&state.store, user, intent).await
}

/// Carries out a parsed intent.
pub async fn execute(store: &Store, user: i64, intent: Intent) -> Result<ChatReply, ApiError> {
    let reply = |reply: String, tasks: Vec<Task>| ChatReply {
        reply,
        tasks,
        source: ChatSource::Parser,
    };
    match intent {
        Intent::Help => Ok(reply(HELP.to_string(), Vec::new())),
        Intent::Add {
            title,
            priority,
            due,
            tags,
        } => {
            let task = tasks::create(
                store,
                user,
                NewTask {
                    title,
                    description: String::new(),
                    completed: false,
                    priority: priority.unwrap_or_default(),
                    due_date: due,
                    tags,
                },
            )
            .await?;
            Ok(reply(format!("Added {}.", describe(&task)), vec![task]))
        }
        Intent::List(filter) => {
            let (text, found) = list(store, user, filter).await?;
            Ok(reply(text, found))
        }
        Intent::Complete(target) => {
            change(store, user, &target, Some(false), |task| {
                if task.completed {
                    Err(format!("{} is done already.", describe(task)))
                } else {
                    Ok((
                        TaskPatch {
                            completed: Some(true),
                            ..TaskPatch::default()
                        },
                        "Marked {} as done.",
                    ))
                }
            })
            .await
        }
        Intent::Reopen(target) => {
            change(store, user, &target, Some(true), |task| {
                if task.completed {
                    Ok((
                        TaskPatch {
                            completed: Some(false),
                            ..TaskPatch::default()
                        },
                        "Reopened {}.",
                    ))
                } else {
                    Err(format!("{} is still open.", describe(task)))
                }
            })
            .await
        }
        Intent::Rename { target, title } => {
            change(store, user, &target, None, move |_| {
                Ok((
                    TaskPatch {
                        title: Some(title.clone()),
                        ..TaskPatch::default()
                    },
                    "Renamed it: {}.",
                ))
            })
            .await
        }
        Intent::SetPriority { target, priority } => {
            change(store, user, &target, None, move |_| {
                Ok((
                    TaskPatch {
                        priority: Some(priority),
                        ..TaskPatch::default()
                    },
                    "Updated {}.",
                ))
            })
            .await
        }
        Intent::SetDue { target, due } => {
            change(store, user, &target, None, move |_| {
                Ok((
                    TaskPatch {
                        due_date: Some(due),
                        ..TaskPatch::default()
                    },
                    "Updated {}.",
                ))
            })
            .await
        }
        Intent::Delete(target) => match resolve(store, user, &target, None).await? {
            Resolved::One(task) => {
                let task = tasks::delete(store, user, task.id).await?;
                Ok(reply(format!("Deleted {}.", describe(&task)), vec![task]))
            }
            Resolved::Unclear(text, candidates) => Ok(reply(text, candidates)),
        },
    }
}

/// Resolves the target, lets `plan` decide the patch (or refuse with a reply), applies it.
async fn change(
    store: &Store,
    user: i64,
    target: &Target,
    prefer_completed: Option<bool>,
    plan: impl Fn(&Task) -> Result<(TaskPatch, &'static str), String>,
) -> Result<ChatReply, ApiError> {
    let reply = |reply: String, tasks: Vec<Task>| ChatReply {
        reply,
        tasks,
        source: ChatSource::Parser,
    };
    match resolve(store, user, target, prefer_completed).await? {
        Resolved::Unclear(text, candidates) => Ok(reply(text, candidates)),
        Resolved::One(task) => match plan(&task) {
            Err(text) => Ok(reply(text, vec![task])),
            Ok((patch, template)) => {
                let task = tasks::update(store, user, task.id, patch).await?;
                Ok(reply(template.replace("{}", &describe(&task)), vec![task]))
            }
        },
    }
}

enum Resolved {
    One(Task),
    /// No task or several: the reply says so, with the candidates.
    Unclear(String, Vec<Task>),
}

/// Finds the task a message names: by id, or by (part of) its title, preferring an exact
/// title and then tasks in the `prefer_completed` state.
async fn resolve(
    store: &Store,
    user: i64,
    target: &Target,
    prefer_completed: Option<bool>,
) -> Result<Resolved, ApiError> {
    match target {
        Target::Id(id) => match store.task(user, *id).await? {
            Some(task) => Ok(Resolved::One(task)),
            None => Ok(Resolved::Unclear(
                format!("You have no task #{id}. Say \"what is still open?\" to see your tasks."),
                Vec::new(),
            )),
        },
        Target::Title(text) => {
            let query = TaskQuery {
                q: Some(text.clone()),
                limit: Some(tasks::MAX_LIMIT),
                ..TaskQuery::default()
            };
            let found = tasks::list(store, user, &query).await?.tasks;
            let mut matches: Vec<Task> = found
                .into_iter()
                .filter(|task| task.title.to_lowercase().contains(text.as_str()))
                .collect();
            if let Some(exact) = matches
                .iter()
                .position(|task| task.title.to_lowercase() == *text)
            {
                return Ok(Resolved::One(matches.swap_remove(exact)));
            }
            if matches.len() > 1
                && let Some(state) = prefer_completed
            {
                let preferred: Vec<Task> = matches
                    .iter()
                    .filter(|task| task.completed == state)
                    .cloned()
                    .collect();
                if !preferred.is_empty() {
                    matches = preferred;
                }
            }
            match matches.len() {
                0 => Ok(Resolved::Unclear(
                    format!("I found no task matching \"{text}\"."),
                    Vec::new(),
                )),
                1 => Ok(Resolved::One(matches.remove(0))),
                n => {
                    let lines: Vec<String> = matches.iter().map(line).collect();
                    Ok(Resolved::Unclear(
                        format!(
                            "{n} tasks match \"{text}\"; which one? Name it by number:\n{}",
                            lines.join("\n")
                        ),
                        matches,
                    ))
                }
            }
        }
    }
}

async fn list(
    store: &Store,
    user: i64,
    filter: ListFilter,
) -> Result<(String, Vec<Task>), ApiError> {
    let today = Utc::now().date_naive();
    let status = match filter {
        ListFilter::All => StatusFilter::All,
        ListFilter::Done => StatusFilter::Done,
        _ => StatusFilter::Open,
    };
    let query = TaskQuery {
        status,
        priority: match filter {
            ListFilter::Priority(priority) => Some(priority),
            _ => None,
        },
        limit: Some(tasks::MAX_LIMIT),
        sort: crate::model::SortOrder::Due,
        ..TaskQuery::default()
    };
    let mut found = tasks::list(store, user, &query).await?.tasks;
    found.retain(|task| match filter {
        ListFilter::DueOn(date) => task.due_date == Some(date),
        ListFilter::Overdue => task.due_date.is_some_and(|due| due < today),
        _ => true,
    });
    let what = match filter {
        ListFilter::All => "tasks".to_string(),
        ListFilter::Open => "open tasks".to_string(),
        ListFilter::Done => "finished tasks".to_string(),
        ListFilter::DueOn(date) if date == today => "open tasks due today".to_string(),
        ListFilter::DueOn(date) => format!("open tasks due {}", day(date)),
        ListFilter::Overdue => "overdue tasks".to_string(),
        ListFilter::Priority(priority) => format!("open {} priority tasks", priority.as_str()),
    };
    if found.is_empty() {
        return Ok((format!("You have no {what}."), found));
    }
    let lines: Vec<String> = found.iter().map(line).collect();
    let count = if found.len() == 1 {
        format!("one of your {what}")
    } else {
        format!("{} {what}", found.len())
    };
    let text = if found.len() == 1 {
        format!("Here is {count}:\n{}", lines.join("\n"))
    } else {
        format!("You have {count}:\n{}", lines.join("\n"))
    };
    Ok((text, found))
}

/// `#3 "buy milk" (due Fri 2025-01-03, high priority)`.
fn describe(task: &Task) -> String {
    let mut details = Vec::new();
    if let Some(due) = task.due_date {
        details.push(format!("due {}", day(due)));
    }
    if task.priority != Priority::Medium {
        details.push(format!("{} priority", task.priority.as_str()));
    }
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join(", "))
    };
    format!("#{} \"{}\"{details}", task.id, task.title)
}

fn line(task: &Task) -> String {
    let mark = if task.completed { "[x]" } else { "[ ]" };
    format!("{mark} {}", describe(task))
}

fn day(date: NaiveDate) -> String {
    date.format("%a %Y-%m-%d").to_string()
}
