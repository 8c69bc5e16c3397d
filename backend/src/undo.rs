//! Undo: every change to tasks (through the page, the REST API or the chatbot) is recorded
//! with the tasks as they were before and after it, so the user can take it back for a while.
//!
//! Rules (docs/undo.md):
//! - A change is undoable for [`WINDOW`] after it was made; each user keeps their last
//!   [`KEPT`] changes, older ones are forgotten.
//! - "undo" (a chat message, or `POST /api/undo` without a change) takes back the user's
//!   newest change; saying it again takes back the one before, and so on.
//! - The page's Undo control names its change, so a click in a tab that is behind undoes
//!   what that tab showed, not a later change made elsewhere.
//! - A change is undone only if every task it touched is still as the change left it; a
//!   task changed since (or deleted since) makes the undo refuse and say so, changing
//!   nothing.
//! - Undoing puts tasks back exactly as they were: a deleted task returns with its id,
//!   number, dates and fields; an added task is deleted.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::Task;

/// How long a change can be undone.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);

/// How many changes per user are kept for undo (the SQLite trigger of migration 0005 keeps
/// the same number).
pub const KEPT: i64 = 20;

/// Whether a chat message asks to undo the last change: "undo", "undo that", "undo the
/// last change", "revert", "take that back", with "please" or "oops" around. "undo 3" is
/// not one of them: the chatbot reads that as reopening task 3.
pub fn asks_to_undo(message: &str) -> bool {
    let lower = message.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?'))
        .filter(|word| !word.is_empty())
        .filter(|word| {
            !matches!(
                *word,
                "please" | "pls" | "oops" | "whoops" | "sorry" | "can" | "you"
            )
        })
        .collect();
    matches!(
        words.as_slice(),
        ["undo"]
            | ["undo", "that" | "it" | "this" | "last" | "again"]
            | ["undo", "the" | "my" | "that", "last" | "previous"]
            | [
                "undo",
                "the" | "my" | "that",
                "last" | "previous",
                "change" | "action" | "one" | "step"
            ]
            | ["undo", "last" | "previous", "change" | "action" | "step"]
            | ["revert" | "reverse"]
            | ["revert" | "reverse", "that" | "it" | "this"]
            | [
                "revert" | "reverse",
                "the" | "my",
                "last",
                "change" | "action"
            ]
            | ["take", "that" | "it", "back"]
    )
}

/// One task in a change: as it was before (None: the change created it) and after (None:
/// the change deleted it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskChange {
    /// The task before the change.
    pub before: Option<Task>,
    /// The task after the change.
    pub after: Option<Task>,
}

/// What a change did, in words for people and for the change's record.
pub fn summary(changes: &[TaskChange]) -> String {
    match changes {
        [one] => match (&one.before, &one.after) {
            (None, Some(after)) => format!("added {}", name(after)),
            (Some(before), None) => format!("deleted {}", name(before)),
            (Some(before), Some(after)) if before.completed != after.completed => {
                if after.completed {
                    format!("marked {} done", name(after))
                } else {
                    format!("reopened {}", name(after))
                }
            }
            (Some(_), Some(after)) => format!("edited {}", name(after)),
            (None, None) => "changed nothing".to_string(),
        },
        many => {
            let all = |test: fn(&TaskChange) -> bool| many.iter().all(test);
            let n = many.len();
            if all(|c| c.before.is_none()) {
                format!("added {n} tasks")
            } else if all(|c| c.after.is_none()) {
                format!("deleted {n} tasks")
            } else if all(|c| c.after.as_ref().is_some_and(|t| t.completed)) {
                format!("marked {n} tasks done")
            } else {
                format!("changed {n} tasks")
            }
        }
    }
}

/// `task 3 “buy milk”`.
pub fn name(task: &Task) -> String {
    format!("task {} “{}”", task.number, task.title)
}

/// What an undo did.
#[derive(Debug)]
pub enum Outcome {
    /// The change was taken back: the tasks as they are now (for an undone addition, the
    /// task as it was before it was deleted again).
    Undone {
        /// The undone change's summary.
        summary: String,
        /// The tasks it touched.
        tasks: Vec<Task>,
    },
    /// No change to undo: none made within the window (or all undone).
    Nothing,
    /// The named change is not there: undone already, older than the window, or not this
    /// user's.
    Gone,
    /// A task the change touched has changed since; nothing was undone.
    ChangedSince {
        /// The change's summary.
        summary: String,
        /// The task as the change left it.
        task: Task,
        /// Whether it was deleted since (else edited).
        deleted: bool,
    },
}

/// The newest change a user can undo, as `GET /api/undo` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UndoableChange {
    /// Names the change for `POST /api/undo`.
    pub id: i64,
    /// What it did, e.g. `deleted task 3 “buy milk”`.
    pub summary: String,
    /// When it was made (RFC 3339).
    pub made_at: String,
    /// Until when it can be undone (RFC 3339).
    pub expires_at: String,
}

/// `GET /api/undo` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UndoState {
    /// The newest change that can be undone, or null.
    pub change: Option<UndoableChange>,
}

/// `POST /api/undo` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoRequest {
    /// The change to undo (from `GET /api/undo`); absent or null: the newest one.
    #[serde(default)]
    pub change: Option<i64>,
}

/// `POST /api/undo` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Undone {
    /// What was undone, in words for people.
    pub reply: String,
    /// The tasks as they are now.
    pub tasks: Vec<Task>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Priority;

    fn task(number: i64, title: &str, completed: bool) -> Task {
        Task {
            id: number + 100,
            number,
            title: title.to_string(),
            description: String::new(),
            completed,
            priority: Priority::Medium,
            due_date: None,
            tags: vec![],
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn undo_is_asked_in_a_few_words() {
        for yes in [
            "undo",
            "Undo!",
            "undo that",
            "oops, undo that please",
            "please undo the last change",
            "undo my last action",
            "revert",
            "take that back",
            "can you undo it?",
        ] {
            assert!(asks_to_undo(yes), "{yes}");
        }
        for no in [
            "undo 3",
            "undo the milk task",
            "reopen 3",
            "add undo button",
            "",
        ] {
            assert!(!asks_to_undo(no), "{no}");
        }
    }

    #[test]
    fn summaries_say_what_the_change_did() {
        let milk = task(3, "buy milk", false);
        let done = task(3, "buy milk", true);
        let change = |before: Option<&Task>, after: Option<&Task>| TaskChange {
            before: before.cloned(),
            after: after.cloned(),
        };
        let cases = [
            (vec![change(None, Some(&milk))], "added task 3 “buy milk”"),
            (vec![change(Some(&milk), None)], "deleted task 3 “buy milk”"),
            (
                vec![change(Some(&milk), Some(&done))],
                "marked task 3 “buy milk” done",
            ),
            (
                vec![change(Some(&done), Some(&milk))],
                "reopened task 3 “buy milk”",
            ),
            (
                vec![change(Some(&milk), Some(&task(3, "buy oat milk", false)))],
                "edited task 3 “buy oat milk”",
            ),
            (
                vec![change(Some(&milk), None), change(Some(&done), None)],
                "deleted 2 tasks",
            ),
            (
                vec![
                    change(Some(&milk), Some(&done)),
                    change(Some(&milk), Some(&done)),
                ],
                "marked 2 tasks done",
            ),
        ];
        for (changes, expected) in cases {
            assert_eq!(summary(&changes), expected);
        }
    }
}
