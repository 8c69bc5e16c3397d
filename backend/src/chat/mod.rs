//! The chatbot: a message in plain English becomes task operations and a reply.
//!
//! The deterministic [`intent`] parser always works; when `OPENAI_API_KEY` is set, an
//! OpenAI-compatible API with tool calls ([`llm`]) answers first and the parser takes over
//! whenever that API fails.

mod add;
pub mod confirm;
mod dates;
mod details;
pub mod intent;
pub mod llm;
mod words;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::model::{NewTask, Priority, StatusFilter, Task, TaskPatch, TaskQuery};
use crate::store::Store;
use crate::tasks;
pub use add::Draft;
use confirm::Pending;
use intent::{BulkAction, Intent, ListFilter, Scope, Target};

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
- \"add buy milk tomorrow, high priority\" or \"add eggs, milk and bread\"\n\
- \"remind me to pay rent on the 1st\"\n\
- \"what is still open?\" or \"what's due this week?\"\n\
- \"mark 3 done\" or \"reopen 3\"\n\
- \"delete the milk task\" or \"remove everything done\"\n\
- \"rename 2 to call mum\"\n\
- \"set priority of 2 to low\" or \"move 2 to friday\"\n\
- \"what did I add last?\"";

/// Answers a chat message for `user`.
pub async fn respond(state: &AppState, user: i64, message: &str) -> Result<ChatReply, ApiError> {
    respond_on(state, user, message, Utc::now().date_naive()).await
}

/// Answers a chat message for `user` as if today were `today` (the tests fix the day).
pub async fn respond_on(
    state: &AppState,
    user: i64,
    message: &str,
    today: NaiveDate,
) -> Result<ChatReply, ApiError> {
    // A yes or no answers the question a bulk change asked, whichever path asked it.
    if let Some(yes) = intent::confirmation_of(message) {
        return execute(state, user, Intent::Confirm(yes), today).await;
    }
    // Any other message leaves the question unanswered: it lapses.
    state.confirmations.take(user);
    if let Some(llm) = &state.llm {
        match llm
            .respond(&state.store, &state.confirmations, user, message, today)
            .await
        {
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
    if intent == Intent::Help && written_without_latin_letters(message) {
        return Ok(parser_reply(
            format!("I only understand English for now. {HELP}"),
            Vec::new(),
        ));
    }
    execute(state, user, intent, today).await
}

/// Whether a message has letters but none of the Latin alphabet (Hebrew, Chinese,
/// Cyrillic…): the parser reads English only, and the help alone would not say why.
fn written_without_latin_letters(message: &str) -> bool {
    let mut letters = message.chars().filter(|c| c.is_alphabetic()).peekable();
    letters.peek().is_some() && !letters.any(|c| c.is_ascii_alphabetic())
}

fn parser_reply(reply: String, tasks: Vec<Task>) -> ChatReply {
    ChatReply {
        reply,
        tasks,
        source: ChatSource::Parser,
    }
}

/// Carries out a parsed intent, `today` being the day relative dates were read against.
pub async fn execute(
    state: &AppState,
    user: i64,
    intent: Intent,
    today: NaiveDate,
) -> Result<ChatReply, ApiError> {
    let store = &state.store;
    let reply = parser_reply;
    match intent {
        Intent::Help => Ok(reply(HELP.to_string(), Vec::new())),
        Intent::Clarify(question) => Ok(reply(question, Vec::new())),
        Intent::Each(intents) => {
            let mut replies = Vec::with_capacity(intents.len());
            let mut touched = Vec::new();
            for intent in intents {
                let answer = Box::pin(execute(state, user, intent, today)).await?;
                replies.push(answer.reply);
                touched.extend(answer.tasks);
            }
            Ok(reply(replies.join("\n"), touched))
        }
        Intent::Add(drafts) => add(store, user, drafts).await,
        Intent::List(filter) => {
            let (text, found) = list(store, user, filter, today).await?;
            Ok(reply(text, found))
        }
        Intent::LastAdded => last_added(store, user).await,
        Intent::Bulk { action, scope } => ask_bulk(state, user, action, scope, today).await,
        Intent::Confirm(yes) => confirm(state, user, yes).await,
        Intent::Complete(_)
        | Intent::Reopen(_)
        | Intent::Rename { .. }
        | Intent::SetPriority { .. }
        | Intent::SetDue { .. }
        | Intent::Delete(_) => edit_one(store, user, intent).await,
    }
}

/// Changes or deletes the one task an intent names; says so when nothing would change.
async fn edit_one(store: &Store, user: i64, intent: Intent) -> Result<ChatReply, ApiError> {
    let reply = parser_reply;
    match intent {
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
            change(store, user, &target, None, move |task| {
                if task.title == title {
                    return Err(format!("{} has that title already.", describe(task)));
                }
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
            change(store, user, &target, None, move |task| {
                if task.priority == priority {
                    return Err(format!(
                        "{} is already {} priority; nothing changed.",
                        describe(task),
                        priority.as_str()
                    ));
                }
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
            change(store, user, &target, None, move |task| {
                if task.due_date == due {
                    let state = due.map_or("has no due date".to_string(), |due| {
                        format!("is already due {}", day(due))
                    });
                    return Err(format!("{} {state}; nothing changed.", describe(task)));
                }
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
        // `execute` sends only the intents above here.
        _ => Ok(reply(HELP.to_string(), Vec::new())),
    }
}

/// Creates the drafts; the reply says what a task could not keep ("every week").
async fn add(store: &Store, user: i64, drafts: Vec<Draft>) -> Result<ChatReply, ApiError> {
    let mut added = Vec::with_capacity(drafts.len());
    let mut not_kept: Vec<String> = Vec::new();
    for draft in drafts {
        for said in draft.not_kept {
            if !not_kept.contains(&said) {
                not_kept.push(said);
            }
        }
        let task = tasks::create(
            store,
            user,
            NewTask {
                title: draft.title,
                description: String::new(),
                completed: false,
                priority: draft.priority.unwrap_or_default(),
                due_date: draft.due,
                tags: draft.tags,
            },
        )
        .await?;
        added.push(task);
    }
    let mut text = match added.as_slice() {
        [task] => format!("Added {}.", describe(task)),
        tasks => {
            let lines: Vec<String> = tasks.iter().map(line).collect();
            format!("Added {} tasks:\n{}", tasks.len(), lines.join("\n"))
        }
    };
    for said in not_kept {
        text.push_str(&not_kept_note(&said));
    }
    Ok(parser_reply(text, added))
}

/// What the reply says about a phrase a task cannot keep.
fn not_kept_note(said: &str) -> String {
    let time = said.starts_with("at ")
        || said.contains(':')
        || said.ends_with("am")
        || said.ends_with("pm");
    if time {
        format!(" Tasks have a due day but no time, so \"{said}\" is not kept.")
    } else {
        format!(
            " I can't repeat tasks yet, so \"{said}\" is not kept: I added it once; add it again when it comes round."
        )
    }
}

async fn last_added(store: &Store, user: i64) -> Result<ChatReply, ApiError> {
    let query = TaskQuery {
        sort: crate::model::SortOrder::Created,
        limit: Some(1),
        ..TaskQuery::default()
    };
    let found = tasks::list(store, user, &query).await?.tasks;
    let text = match found.first() {
        Some(task) => format!("The last task you added is {}.", describe(task)),
        None => "You have not added any tasks yet.".to_string(),
    };
    Ok(parser_reply(text, found))
}

/// Finds the tasks a bulk change would take and asks before changing them.
async fn ask_bulk(
    state: &AppState,
    user: i64,
    action: BulkAction,
    scope: Scope,
    today: NaiveDate,
) -> Result<ChatReply, ApiError> {
    let (found, what) = bulk_tasks(&state.store, user, action, scope, today).await?;
    let verb = match action {
        BulkAction::Delete => "delete",
        BulkAction::Complete => "mark as done",
        BulkAction::Reopen => "reopen",
    };
    if found.is_empty() {
        return Ok(parser_reply(
            format!("You have no {what}, so there is nothing to {verb}."),
            Vec::new(),
        ));
    }
    let lines: Vec<String> = found.iter().map(line).collect();
    let count = if found.len() == 1 {
        format!("your one {}", what.trim_end_matches('s'))
    } else {
        format!("your {} {what}", found.len())
    };
    let question = match action {
        BulkAction::Delete => format!("delete {count}"),
        BulkAction::Complete => format!("mark {count} as done"),
        BulkAction::Reopen => format!("reopen {count}"),
    };
    let text = format!(
        "Shall I {question}?\n{}\nSay \"yes\" to go ahead or \"no\" to leave them as they are.",
        lines.join("\n")
    );
    state.confirmations.ask(
        user,
        Pending {
            action,
            ids: found.iter().map(|task| task.id).collect(),
            what,
        },
    );
    Ok(parser_reply(text, found))
}

/// The tasks `action` would change in `scope`, and how to call them ("finished tasks").
pub async fn bulk_tasks(
    store: &Store,
    user: i64,
    action: BulkAction,
    scope: Scope,
    today: NaiveDate,
) -> Result<(Vec<Task>, String), ApiError> {
    let scope = match (action, scope) {
        (BulkAction::Complete, Scope::All) => Scope::Open,
        (BulkAction::Reopen, Scope::All) => Scope::Done,
        (_, scope) => scope,
    };
    let (status, what) = match scope {
        Scope::All => (StatusFilter::All, "tasks"),
        Scope::Open => (StatusFilter::Open, "open tasks"),
        Scope::Done => (StatusFilter::Done, "finished tasks"),
        Scope::Overdue => (StatusFilter::Open, "overdue tasks"),
    };
    let query = TaskQuery {
        status,
        limit: Some(tasks::MAX_LIMIT),
        sort: crate::model::SortOrder::Due,
        ..TaskQuery::default()
    };
    let mut found = tasks::list(store, user, &query).await?.tasks;
    found.retain(|task| match action {
        BulkAction::Complete => !task.completed,
        BulkAction::Reopen => task.completed,
        BulkAction::Delete => true,
    });
    if scope == Scope::Overdue {
        found.retain(|task| task.due_date.is_some_and(|due| due < today));
    }
    let what = match (action, scope) {
        (BulkAction::Complete, Scope::Done) => "open tasks among your finished ones",
        (BulkAction::Reopen, Scope::Open | Scope::Overdue) => "finished tasks among those",
        _ => what,
    };
    Ok((found, what.to_string()))
}

/// Carries out (yes) or drops (no) the bulk change waiting for `user`.
async fn confirm(state: &AppState, user: i64, yes: bool) -> Result<ChatReply, ApiError> {
    let Some(pending) = state.confirmations.take(user) else {
        let text = if yes {
            "Nothing is waiting for a yes. Say what you want done, e.g. \"remove everything done\"."
        } else {
            "OK: nothing was waiting for an answer, and nothing changed."
        };
        return Ok(parser_reply(text.to_string(), Vec::new()));
    };
    if !yes {
        return Ok(parser_reply(
            format!("OK, I left your {} as they are.", pending.what),
            Vec::new(),
        ));
    }
    // A task deleted or changed since the question is left alone.
    let mut ids = Vec::with_capacity(pending.ids.len());
    for id in pending.ids {
        let Some(task) = state.store.task(user, id).await? else {
            continue;
        };
        let wanted = match pending.action {
            BulkAction::Delete => true,
            BulkAction::Complete => !task.completed,
            BulkAction::Reopen => task.completed,
        };
        if wanted {
            ids.push(id);
        }
    }
    // One change for undo: one "undo" brings every task back.
    let changed = match pending.action {
        BulkAction::Delete => tasks::delete_many(&state.store, user, &ids).await?,
        BulkAction::Complete | BulkAction::Reopen => {
            let patch = TaskPatch {
                completed: Some(pending.action == BulkAction::Complete),
                ..TaskPatch::default()
            };
            tasks::update_many(&state.store, user, &ids, patch).await?
        }
    };
    let count = match changed.len() {
        1 => "1 task".to_string(),
        n => format!("{n} tasks"),
    };
    let done = match pending.action {
        BulkAction::Delete => format!("Deleted {count}"),
        BulkAction::Complete => format!("Marked {count} as done"),
        BulkAction::Reopen => format!("Reopened {count}"),
    };
    let lines: Vec<String> = changed.iter().map(line).collect();
    Ok(parser_reply(
        format!("{done}:\n{}", lines.join("\n")),
        changed,
    ))
}

/// Resolves the target, lets `plan` decide the patch (or refuse with a reply), applies it.
async fn change(
    store: &Store,
    user: i64,
    target: &Target,
    prefer_completed: Option<bool>,
    plan: impl Fn(&Task) -> Result<(TaskPatch, &'static str), String>,
) -> Result<ChatReply, ApiError> {
    let reply = parser_reply;
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
        // The user's own task number: another user's tasks are never found this way.
        Target::Id(number) => match store.task_by_number(user, *number).await? {
            Some(task) => Ok(Resolved::One(task)),
            None => Ok(Resolved::Unclear(
                format!(
                    "You have no task {number}. Say \"what is still open?\" to see your tasks."
                ),
                Vec::new(),
            )),
        },
        Target::Title(text) if matches!(text.as_str(), "it" | "that" | "this" | "them" | "those" | "these") => {
            Ok(Resolved::Unclear(
                "Which task do you mean? Name it by number or by part of its title, e.g. \"mark the milk task done\".".to_string(),
                Vec::new(),
            ))
        }
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
    today: NaiveDate,
) -> Result<(String, Vec<Task>), ApiError> {
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
        ListFilter::DueBetween(start, end) => {
            task.due_date.is_some_and(|due| start <= due && due <= end)
        }
        ListFilter::Overdue => task.due_date.is_some_and(|due| due < today),
        _ => true,
    });
    let what = match filter {
        ListFilter::All => "tasks".to_string(),
        ListFilter::Open => "open tasks".to_string(),
        ListFilter::Done => "finished tasks".to_string(),
        ListFilter::DueOn(date) if date == today => "open tasks due today".to_string(),
        ListFilter::DueOn(date) => format!("open tasks due {}", day(date)),
        ListFilter::DueBetween(start, end) => {
            format!("open tasks due {} to {}", day(start), day(end))
        }
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
    format!("#{} \"{}\"{details}", task.number, task.title)
}

fn line(task: &Task) -> String {
    let mark = if task.completed { "[x]" } else { "[ ]" };
    format!("{mark} {}", describe(task))
}

fn day(date: NaiveDate) -> String {
    date.format("%a %Y-%m-%d").to_string()
}
