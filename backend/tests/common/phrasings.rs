//! The chat phrasing table (tests/data/chat_phrasings.txt): read it, run each row against
//! the intent parser or against the model path with a stand-in model that makes the tool
//! calls the row expects, and check the task list after every step.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{Value, json};
use todo_backend::chat::{ChatReply, ChatSource, intent, respond_on};
use todo_backend::model::{NewTask, Priority, SortOrder, StatusFilter, Task, TaskQuery};
use todo_backend::{AppState, tasks};

use super::standin::{Reply, StandIn, text, tool_calls};
use super::{Db, SECRET, TestDb, config};

/// The table's "today": a Wednesday.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 9).expect("a valid date")
}

/// Who answers the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The intent parser (no `OPENAI_*`).
    Parser,
    /// The model path: `OPENAI_*` point at a stand-in that makes the expected tool calls.
    Model,
}

/// One conversation of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    pub text: String,
    pub steps: Vec<Step>,
}

/// One message and what it must do.
#[derive(Debug, Clone)]
pub struct Step {
    pub message: String,
    pub expect: Expect,
}

/// A task a step must add.
#[derive(Debug, Clone, Default)]
pub struct Added {
    pub title: String,
    pub due: Option<String>,
    pub priority: String,
    pub tags: Vec<String>,
    pub note: bool,
}

/// Which tasks a list shows.
#[derive(Debug, Clone)]
pub enum Filter {
    All,
    Open,
    Done,
    Overdue,
    Priority(String),
    Due(String),
    Between(String, String),
}

/// What a step must do (the table's header explains each).
#[derive(Debug, Clone)]
pub enum Expect {
    Added(Vec<Added>),
    Listed(Filter, Vec<i64>),
    Last(i64),
    Done(Vec<i64>),
    Reopened(Vec<i64>),
    Deleted(Vec<i64>),
    Renamed(i64, String),
    Prioritized(i64, String),
    DueSet(i64, Option<String>),
    Unchanged(i64, String),
    Asked(String, String, Vec<i64>),
    Bulk(String, Vec<i64>),
    Help,
    Unclear(Vec<i64>),
    Reply(String),
}

/// The table's rows.
pub fn table() -> Vec<Row> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/chat_phrasings.txt");
    let text = std::fs::read_to_string(path).expect("the phrasing table is readable");
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(n, line)| parse_row(n + 1, line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1)))
        .collect()
}

fn parse_row(line: usize, text: &str) -> Result<Row, String> {
    let (messages, expects) = text.split_once(" => ").ok_or("no ` => `")?;
    let messages: Vec<&str> = messages.split(" || ").collect();
    let expects: Vec<&str> = expects.split(" || ").collect();
    if messages.len() != expects.len() {
        return Err("as many expectations as messages are needed".into());
    }
    let steps = messages
        .iter()
        .zip(&expects)
        .map(|(message, expect)| {
            Ok(Step {
                message: message.replace("\\n", "\n"),
                expect: parse_expect(expect)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Row {
        line,
        text: text.to_string(),
        steps,
    })
}

/// Words and "quoted strings".
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push(format!("\"{}", &quoted[..end]));
            rest = quoted.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    out
}

fn quoted(token: Option<&String>) -> Result<String, String> {
    token
        .and_then(|t| t.strip_prefix('"'))
        .map(str::to_string)
        .ok_or_else(|| "a \"quoted\" text is needed".to_string())
}

fn id(token: Option<&String>) -> Result<i64, String> {
    token
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("a task number is needed, not {token:?}"))
}

fn ids_from(t: &[String]) -> Result<Vec<i64>, String> {
    let ids: Vec<i64> = t.iter().map(|t| id(Some(t))).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err("task numbers are needed".into());
    }
    Ok(ids)
}

fn ids_after_equals(t: &[String]) -> Result<Vec<i64>, String> {
    let at = t.iter().position(|t| t == "=").ok_or("`= ids` is needed")?;
    t[at + 1..].iter().map(|t| id(Some(t))).collect()
}

fn parse_expect(text: &str) -> Result<Expect, String> {
    let t = tokens(text);
    let kind = t.first().map(String::as_str).unwrap_or_default();
    Ok(match kind {
        "add" => Expect::Added(
            text.split(" + ")
                .map(|one| parse_added(&tokens(one)))
                .collect::<Result<_, _>>()?,
        ),
        "list" => {
            let filter = match t.get(1).map(String::as_str) {
                Some("all") => Filter::All,
                Some("open") => Filter::Open,
                Some("done") => Filter::Done,
                Some("overdue") => Filter::Overdue,
                Some(level @ ("high" | "medium" | "low")) => Filter::Priority(level.into()),
                Some(due) if due.starts_with("due:") => Filter::Due(due[4..].to_string()),
                Some(span) if span.starts_with("between:") => {
                    let (start, end) = span[8..].split_once("..").ok_or("between:START..END")?;
                    Filter::Between(start.to_string(), end.to_string())
                }
                other => return Err(format!("unknown list filter {other:?}")),
            };
            Expect::Listed(filter, ids_after_equals(&t)?)
        }
        "last" => Expect::Last(id(ids_after_equals(&t)?
            .first()
            .map(|i| i.to_string())
            .as_ref())?),
        "done" => Expect::Done(ids_from(&t[1..])?),
        "reopen" => Expect::Reopened(ids_from(&t[1..])?),
        "delete" => Expect::Deleted(ids_from(&t[1..])?),
        "rename" => Expect::Renamed(id(t.get(1))?, quoted(t.get(2))?),
        "priority" => Expect::Prioritized(id(t.get(1))?, t.get(2).cloned().unwrap_or_default()),
        "due" => Expect::DueSet(id(t.get(1))?, t.get(2).filter(|d| *d != "none").cloned()),
        "unchanged" => Expect::Unchanged(id(t.get(1))?, quoted(t.get(2))?),
        "ask" => Expect::Asked(
            t.get(1).cloned().unwrap_or_default(),
            t.get(2).cloned().unwrap_or_default(),
            ids_after_equals(&t)?,
        ),
        "bulk" => Expect::Bulk(t.get(1).cloned().unwrap_or_default(), ids_after_equals(&t)?),
        "help" => Expect::Help,
        "unclear" => Expect::Unclear(ids_after_equals(&t)?),
        "reply" => Expect::Reply(quoted(t.get(1))?),
        other => return Err(format!("unknown expectation {other:?}")),
    })
}

fn parse_added(t: &[String]) -> Result<Added, String> {
    let mut added = Added {
        title: quoted(t.get(1))?,
        priority: "medium".into(),
        ..Added::default()
    };
    let mut i = 2;
    while i < t.len() {
        match t[i].as_str() {
            "due" => {
                added.due = t.get(i + 1).cloned();
                i += 1;
            }
            level @ ("high" | "medium" | "low") => added.priority = level.into(),
            "note" => added.note = true,
            tag if tag.starts_with('#') => added.tags.push(tag[1..].to_string()),
            other => return Err(format!("unknown word {other:?} in add")),
        }
        i += 1;
    }
    Ok(added)
}

/// The account every row starts from (its tasks numbered 1 to 4).
fn seed() -> Vec<NewTask> {
    let task = |title: &str, priority, due: Option<&str>, completed| NewTask {
        title: title.into(),
        description: String::new(),
        completed,
        priority,
        due_date: due.and_then(|d| d.parse().ok()),
        tags: Vec::new(),
    };
    vec![
        task("buy milk", Priority::Medium, Some("2026-12-09"), false),
        task("call mum", Priority::High, Some("2026-12-10"), false),
        task("file taxes", Priority::Medium, None, true),
        task("buy bread", Priority::Low, Some("2020-01-01"), false),
    ]
}

/// The stand-in model's answers for a row: the tool calls each step expects, then a text.
/// A yes or no is answered by the server, without the model.
fn script(row: &Row) -> Vec<Reply> {
    let mut replies = Vec::new();
    for step in &row.steps {
        if intent::confirmation_of(&step.message).is_some() {
            continue;
        }
        let call = |name: &str, arguments: Value| Some(vec![(name.to_string(), arguments)]);
        let calls: Option<Vec<(String, Value)>> = match &step.expect {
            Expect::Added(tasks) => Some(
                tasks
                    .iter()
                    .map(|task| {
                        let mut arguments = json!({"title": task.title, "priority": task.priority});
                        if let Some(due) = &task.due {
                            arguments["due_date"] = json!(due);
                        }
                        if !task.tags.is_empty() {
                            arguments["tags"] = json!(task.tags);
                        }
                        ("add_task".to_string(), arguments)
                    })
                    .collect(),
            ),
            Expect::Listed(filter, _) => call(
                "list_tasks",
                match filter {
                    Filter::All => json!({}),
                    Filter::Open => json!({"status": "open"}),
                    Filter::Done => json!({"status": "done"}),
                    Filter::Overdue => json!({"due": "overdue"}),
                    Filter::Priority(level) => json!({"status": "open", "priority": level}),
                    Filter::Due(day) => json!({"due": day}),
                    Filter::Between(start, end) => json!({"due_from": start, "due_by": end}),
                },
            ),
            Expect::Last(_) => call("list_tasks", json!({"newest_first": true, "limit": 1})),
            Expect::Done(ids) | Expect::Reopened(ids) => {
                let completed = matches!(step.expect, Expect::Done(_));
                Some(
                    ids.iter()
                        .map(|id| {
                            let arguments = json!({"number": id, "completed": completed});
                            ("update_task".to_string(), arguments)
                        })
                        .collect(),
                )
            }
            Expect::Deleted(ids) => Some(
                ids.iter()
                    .map(|id| ("delete_task".to_string(), json!({"number": id})))
                    .collect(),
            ),
            Expect::Renamed(id, title) => {
                call("update_task", json!({"number": id, "title": title}))
            }
            Expect::Prioritized(id, level) => {
                call("update_task", json!({"number": id, "priority": level}))
            }
            Expect::DueSet(id, due) => call("update_task", json!({"number": id, "due_date": due})),
            Expect::Asked(action, scope, _) => {
                call("bulk_tasks", json!({"action": action, "scope": scope}))
            }
            Expect::Bulk(..)
            | Expect::Help
            | Expect::Unclear(_)
            | Expect::Unchanged(..)
            | Expect::Reply(_) => None,
        };
        if let Some(calls) = calls {
            let calls: Vec<(&str, Value)> = calls
                .iter()
                .map(|(name, args)| (name.as_str(), args.clone()))
                .collect();
            replies.push(tool_calls(&calls));
        }
        replies.push(text("Done as you asked."));
    }
    replies
}

/// Runs every row of the table in `mode`; panics listing every row that failed.
pub async fn run_table(mode: Mode) {
    let rows = table();
    let total = rows.len();
    let limit = Arc::new(tokio::sync::Semaphore::new(4));
    let mut running = tokio::task::JoinSet::new();
    for row in rows {
        let limit = Arc::clone(&limit);
        running.spawn(async move {
            let _permit = limit.acquire().await;
            let result = run_row(&row, mode).await;
            result.map_err(|error| format!("line {}: {}\n    {error}", row.line, row.text))
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = running.join_next().await {
        if let Err(failure) = result.expect("a row's task panicked") {
            failures.push(failure);
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {total} rows failed ({mode:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn all_tasks(state: &AppState, user: i64) -> Vec<Task> {
    let query = TaskQuery {
        status: StatusFilter::All,
        sort: SortOrder::Created,
        limit: Some(tasks::MAX_LIMIT),
        ..TaskQuery::default()
    };
    let mut found = tasks::list(&state.store, user, &query)
        .await
        .expect("tasks are listed")
        .tasks;
    found.sort_by_key(|task| task.id);
    found
}

/// Signs up `email` with these tasks; the user's id.
async fn account(state: &AppState, email: &str, seeded: Vec<NewTask>) -> Result<i64, String> {
    let user = state
        .store
        .create_user(email, None, "not-a-hash")
        .await
        .map_err(|e| format!("{e:?}"))?
        .id;
    for task in seeded {
        tasks::create(&state.store, user, task)
            .await
            .map_err(|e| format!("seeding: {}", e.status()))?;
    }
    Ok(user)
}

/// Runs one row on a new database; `Err` says what differed.
pub async fn run_row(row: &Row, mode: Mode) -> Result<(), String> {
    let db = TestDb::new(Db::Sqlite).await.ok_or("no SQLite")?;
    let standin = match mode {
        Mode::Parser => None,
        Mode::Model => Some(StandIn::start(script(row)).await),
    };
    let mut vars = vec![
        ("DATABASE_URL", db.url.as_str()),
        ("BETTER_AUTH_SECRET", SECRET),
    ];
    if let Some(standin) = &standin {
        vars.extend([
            ("OPENAI_API_KEY", "sk-test-key"),
            ("OPENAI_BASE_URL", standin.base_url.as_str()),
            ("OPENAI_MODEL", "stand-in-model"),
        ]);
    }
    let state = todo_backend::state(&config(&vars))
        .await
        .map_err(|e| e.to_string())?;
    // Another account's tasks first, so that Ann's task numbers (what the table and the
    // user say) differ from their ids (which must never be read from a message).
    let mut others = seed();
    others.truncate(3);
    account(&state, "bob@example.com", others).await?;
    let user = account(&state, "ann@example.com", seed()).await?;
    for (n, step) in row.steps.iter().enumerate() {
        let before = all_tasks(&state, user).await;
        let answer = respond_on(&state, user, &step.message, today())
            .await
            .map_err(|e| format!("step {}: the chat failed with {}", n + 1, e.status()))?;
        let after = all_tasks(&state, user).await;
        let model_answers = mode == Mode::Model && intent::confirmation_of(&step.message).is_none();
        let expected_source = if model_answers {
            ChatSource::Llm
        } else {
            ChatSource::Parser
        };
        if answer.source != expected_source {
            return Err(format!(
                "step {}: answered by {:?}, not {expected_source:?}: {}",
                n + 1,
                answer.source,
                answer.reply
            ));
        }
        check(&step.expect, &before, &after, &answer)
            .map_err(|e| format!("step {}: {e}\n    reply: {:?}", n + 1, answer.reply))?;
    }
    state.store.close().await;
    Ok(())
}

/// The tasks' numbers (the user's own, as the table names tasks), in order.
fn numbers(tasks: &[Task]) -> Vec<i64> {
    let mut numbers: Vec<i64> = tasks.iter().map(|task| task.number).collect();
    numbers.sort_unstable();
    numbers
}

fn ensure(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(what()) }
}

/// The tasks other than those numbered `changed` did not change.
fn others_unchanged(before: &[Task], after: &[Task], changed: &[i64]) -> Result<(), String> {
    let keep = |tasks: &[Task]| -> Vec<Task> {
        tasks
            .iter()
            .filter(|t| !changed.contains(&t.number))
            .cloned()
            .collect()
    };
    ensure(keep(before) == keep(after), || "other tasks changed".into())
}

fn check(
    expect: &Expect,
    before: &[Task],
    after: &[Task],
    answer: &ChatReply,
) -> Result<(), String> {
    let parser = answer.source == ChatSource::Parser;
    let reply = answer.reply.to_lowercase();
    let touched = numbers(&answer.tasks);
    let task = |number: i64| after.iter().find(|t| t.number == number);
    let changed = |id: i64| -> Result<&Task, String> {
        others_unchanged(before, after, &[id])?;
        ensure(touched == [id], || {
            format!("touched {touched:?}, not [{id}]")
        })?;
        task(id).ok_or_else(|| format!("task {id} is gone"))
    };
    let nothing_changed = || ensure(before == after, || format!("the tasks changed: {after:#?}"));
    let says = |text: &str| {
        ensure(!parser || reply.contains(&text.to_lowercase()), || {
            format!("the reply does not say {text:?}")
        })
    };
    match expect {
        Expect::Added(expected) => {
            let new: Vec<&Task> = after
                .iter()
                .filter(|t| before.iter().all(|b| b.id != t.id))
                .collect();
            let old: Vec<Task> = after
                .iter()
                .filter(|t| before.iter().any(|b| b.id == t.id))
                .cloned()
                .collect();
            ensure(old == before, || {
                "tasks other than the new ones changed".into()
            })?;
            ensure(new.len() == expected.len(), || {
                format!(
                    "{} tasks added, not {}: {new:#?}",
                    new.len(),
                    expected.len()
                )
            })?;
            for (task, want) in new.iter().zip(expected) {
                let got = (
                    task.title.as_str(),
                    task.priority.as_str(),
                    task.due_date.map(|d| d.to_string()),
                    &task.tags,
                );
                let wanted = (
                    want.title.as_str(),
                    want.priority.as_str(),
                    want.due.clone(),
                    &want.tags,
                );
                ensure(got == wanted, || format!("added {got:?}, not {wanted:?}"))?;
            }
            let new_ids: Vec<i64> = new.iter().map(|t| t.number).collect();
            ensure(touched == new_ids, || {
                format!("touched {touched:?}, not {new_ids:?}")
            })?;
            says("added")?;
            let note = expected.iter().any(|a| a.note);
            ensure(!parser || reply.contains("not kept") == note, || {
                format!(
                    "the reply should {}say what was not kept",
                    if note { "" } else { "not " }
                )
            })
        }
        Expect::Listed(_, expected) => {
            nothing_changed()?;
            ensure(touched == *expected, || {
                format!("listed {touched:?}, not {expected:?}")
            })?;
            for id in expected {
                ensure(!parser || answer.reply.contains(&format!("#{id} ")), || {
                    format!("the reply does not name #{id}")
                })?;
            }
            Ok(())
        }
        Expect::Last(id) => {
            nothing_changed()?;
            ensure(touched == [*id], || {
                format!("showed {touched:?}, not [{id}]")
            })
        }
        Expect::Done(expected) | Expect::Reopened(expected) => {
            let done = matches!(expect, Expect::Done(_));
            others_unchanged(before, after, expected)?;
            ensure(touched == *expected, || {
                format!("touched {touched:?}, not {expected:?}")
            })?;
            for id in expected {
                let got = task(*id).map(|t| t.completed);
                ensure(got == Some(done), || {
                    format!("task {id} completed is {got:?}, not {done}")
                })?;
            }
            Ok(())
        }
        Expect::Deleted(expected) => {
            others_unchanged(before, after, expected)?;
            ensure(after.len() + expected.len() == before.len(), || {
                "other tasks went".into()
            })?;
            for id in expected {
                ensure(task(*id).is_none(), || format!("task {id} was not deleted"))?;
            }
            ensure(touched == *expected, || {
                format!("touched {touched:?}, not {expected:?}")
            })
        }
        Expect::Renamed(id, title) => {
            let got = &changed(*id)?.title;
            ensure(got == title, || format!("title {got:?}, not {title:?}"))
        }
        Expect::Prioritized(id, level) => {
            let got = changed(*id)?.priority.as_str();
            ensure(got == level, || format!("priority {got}, not {level}"))
        }
        Expect::DueSet(id, due) => {
            let got = changed(*id)?.due_date.map(|d| d.to_string());
            ensure(got == *due, || format!("due {got:?}, not {due:?}"))
        }
        Expect::Unchanged(id, text) => {
            nothing_changed()?;
            ensure(!parser || touched == [*id], || {
                format!("touched {touched:?}, not [{id}]")
            })?;
            says(text)
        }
        Expect::Asked(_, _, expected) => {
            nothing_changed()?;
            ensure(touched == *expected, || {
                format!("asked about {touched:?}, not {expected:?}")
            })?;
            says("yes")
        }
        Expect::Bulk(action, expected) => {
            others_unchanged(before, after, expected)?;
            ensure(touched == *expected, || {
                format!("changed {touched:?}, not {expected:?}")
            })?;
            for id in expected {
                let ok = match action.as_str() {
                    "delete" => task(*id).is_none(),
                    "complete" => task(*id).is_some_and(|t| t.completed),
                    "reopen" => task(*id).is_some_and(|t| !t.completed),
                    other => return Err(format!("unknown bulk action {other}")),
                };
                ensure(ok, || format!("task {id} was not changed by {action}"))?;
            }
            Ok(())
        }
        Expect::Help => {
            nothing_changed()?;
            ensure(touched.is_empty(), || format!("touched {touched:?}"))?;
            says("add buy milk")
        }
        Expect::Unclear(expected) => {
            nothing_changed()?;
            ensure(!parser || touched == *expected, || {
                format!("named {touched:?}, not {expected:?}")
            })
        }
        Expect::Reply(text) => {
            nothing_changed()?;
            ensure(touched.is_empty(), || format!("touched {touched:?}"))?;
            says(text)
        }
    }
}
