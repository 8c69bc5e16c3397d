//! The deterministic intent parser: plain English in, one [`Intent`] out. Pure: the date
//! "today" is an argument, nothing touches the database. Every step looks at a window of a
//! few words or makes one pass over them, so the time is linear in the message, which is
//! at most [`MAX_MESSAGE_CHARS`] long. docs/chatbot.md describes what it understands.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::add::{Draft, TASK_VERBS, clean_title, parse_add};
use super::dates::{When, find_date, upcoming};
use super::details::find_priority;
use super::words::Words;
use crate::model::Priority;

/// What a chat message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Create one task or several.
    Add(Vec<Draft>),
    /// Show tasks.
    List(ListFilter),
    /// Show the task added last.
    LastAdded,
    /// Mark a task done.
    Complete(Target),
    /// Mark a task open again.
    Reopen(Target),
    /// Delete a task.
    Delete(Target),
    /// Change a task's title.
    Rename {
        /// Which task.
        target: Target,
        /// The new title.
        title: String,
    },
    /// Change a task's priority.
    SetPriority {
        /// Which task.
        target: Target,
        /// The new priority.
        priority: Priority,
    },
    /// Set or clear a task's due date.
    SetDue {
        /// Which task.
        target: Target,
        /// The new date, or `None` to clear it.
        due: Option<NaiveDate>,
    },
    /// Change every task in a scope: asks first, acts on [`Intent::Confirm`].
    Bulk {
        /// What to do to them.
        action: BulkAction,
        /// Which tasks.
        scope: Scope,
    },
    /// "yes" (true) or "no" (false) to the question a bulk change asked.
    Confirm(bool),
    /// Several changes named at once ("mark 2 and 3 done"), carried out in order.
    Each(Vec<Intent>),
    /// Understood but unclear (a date such as "3/4"): ask this, change nothing.
    Clarify(String),
    /// Unclear: answer with what the chatbot can do.
    Help,
}

/// What a bulk change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// Delete them.
    Delete,
    /// Mark the open ones done.
    Complete,
    /// Mark the done ones open.
    Reopen,
}

/// Which tasks a bulk change takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every task the action applies to.
    All,
    /// Not done.
    Open,
    /// Done.
    Done,
    /// Open and due before today.
    Overdue,
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    /// Every task.
    All,
    /// Not done.
    Open,
    /// Done.
    Done,
    /// Open and due on this day.
    DueOn(NaiveDate),
    /// Open and due in this span, both days included ("this week", "next week").
    DueBetween(NaiveDate, NaiveDate),
    /// Open and due before today.
    Overdue,
    /// Open with this priority.
    Priority(Priority),
}

/// How a message names a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// By the user's task number: "task 3", "#3", "3".
    Id(i64),
    /// By (part of) its title: "the milk task".
    Title(String),
}

/// Words that may start a message without changing what it asks.
const POLITE: &[&str] = &[
    "please",
    "hey",
    "hi",
    "ok",
    "okay",
    "can",
    "could",
    "would",
    "will",
    "you",
    "kindly",
    "yo",
    "also",
    "oh",
    "um",
    "so",
    "just",
    "quickly",
    "bot",
    "assistant",
    "u",
    "hiya",
];

/// Longest message the parser reads, in characters (the API refuses longer ones); every
/// step of the parser is linear in the words or close to it, so this bounds its time.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Parses `message`, resolving relative dates against `today`. A message longer than
/// [`MAX_MESSAGE_CHARS`] is not read: the answer is [`Intent::Help`].
pub fn parse(message: &str, today: NaiveDate) -> Intent {
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Intent::Help;
    }
    let words = Words::new(message);
    if let Some(yes) = confirmation(&words) {
        return Intent::Confirm(yes);
    }
    let mut start = 0;
    while start < words.len() && POLITE.contains(&words.norm(start)) {
        start += 1;
    }
    let w = words.from(start);
    parse_words(&w, today).unwrap_or(Intent::Help)
}

/// "yes", "yes please", "go ahead", "do it" → true; "no", "cancel", "never mind" → false.
pub fn confirmation_of(message: &str) -> Option<bool> {
    confirmation(&Words::new(message))
}

fn confirmation(w: &Words) -> Option<bool> {
    const YES: &[&str] = &[
        "yes",
        "y",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "confirm",
        "confirmed",
        "correct",
        "absolutely",
        "definitely",
        "ya",
        "yea",
    ];
    const YES_PHRASES: &[&[&str]] = &[
        &["do", "it"],
        &["go", "ahead"],
        &["please", "do"],
        &["go", "for", "it"],
    ];
    const YES_TAIL: &[&str] = &[
        "please", "do", "it", "go", "ahead", "them", "delete", "sure", "thanks", "that's", "right",
        "fine", "all", "thing", "for",
    ];
    const NO: &[&str] = &[
        "no",
        "n",
        "nope",
        "nah",
        "cancel",
        "stop",
        "abort",
        "don't",
        "nevermind",
    ];
    const NO_PHRASES: &[&[&str]] = &[&["never", "mind"], &["keep", "them"]];
    const NO_TAIL: &[&str] = &[
        "thanks", "thank", "you", "keep", "them", "do", "it", "don't", "mind", "never", "wait",
        "that",
    ];
    let tail_in = |from: usize, tail: &[&str]| (from..w.len()).all(|i| tail.contains(&w.norm(i)));
    if w.is_empty() || w.len() > 5 {
        return None;
    }
    if YES.contains(&w.norm(0)) || YES_PHRASES.iter().any(|p| w.starts_with(p)) {
        return tail_in(1, YES_TAIL).then_some(true);
    }
    if NO.contains(&w.norm(0)) || NO_PHRASES.iter().any(|p| w.starts_with(p)) {
        return tail_in(1, NO_TAIL).then_some(false);
    }
    None
}

/// A rule's verdict on a message: `None` when the message is not of its kind (the next rule
/// looks), else what the message asks (`Some(None)`: of its kind but unclear, so the help).
type Verdict = Option<Option<Intent>>;

/// The rules, in the order they look at a message: the first with a verdict decides.
const RULES: [fn(&Words, NaiveDate) -> Verdict; 6] = [
    conversation,
    add_command,
    edit_command,
    state_command,
    question,
    report_or_imperative,
];

fn parse_words(w: &Words, today: NaiveDate) -> Option<Intent> {
    if w.is_empty() {
        return None;
    }
    RULES.iter().find_map(|rule| rule(w, today)).flatten()
}

/// Help, greetings, thanks, "what did I add last?" and short questions ("overdue").
fn conversation(w: &Words, today: NaiveDate) -> Verdict {
    let help = matches!(
        w.norm(0),
        "help" | "hello" | "hallo" | "howdy" | "commands" | "?"
    ) || w.starts_with(&["what", "can", "you", "do"])
        || w.starts_with(&["how", "does", "this", "work"]);
    if help {
        return Some(Some(Intent::Help));
    }
    if asks_for_last_added(w) {
        return Some(Some(Intent::LastAdded));
    }
    if is_short_question(w, today) {
        return Some(Some(Intent::List(list_filter(w, today))));
    }
    let thanks = [&["thanks"][..], &["thank", "you"], &["thx"], &["ty"]];
    if w.len() <= 3 && thanks.iter().any(|phrase| w.starts_with(phrase)) {
        return Some(Some(Intent::Clarify("You're welcome!".to_string())));
    }
    None
}

/// "add …", "remind me to …", "todo: …", and a plan with a date ("I'll call mum tomorrow").
fn add_command(w: &Words, today: NaiveDate) -> Verdict {
    if find_date(w, today).is_some()
        && let Some(prefix) = PLAN_PREFIXES.iter().find(|prefix| w.starts_with(prefix))
    {
        return Some(add(&w.from(prefix.len()), today));
    }
    if let Some(prefix) = ADD_PREFIXES.iter().find(|prefix| w.starts_with(prefix)) {
        return Some(add(&w.from(prefix.len()), today));
    }
    let text = w.raw_text();
    ["todo:", "to-do:", "task:", "reminder:"]
        .iter()
        .find_map(|prefix| strip_prefix_ci(&text, prefix))
        .map(|title| add(&Words::new(title), today))
}

/// Rename, priority and due date changes.
fn edit_command(w: &Words, today: NaiveDate) -> Verdict {
    let first = w.norm(0);
    // "rename <target> to <title>".
    if matches!(first, "rename" | "retitle") {
        return Some(rename(&w.from(1), &["to", "as", "into"], None));
    }
    if let Some(intent) = priority_command(w).or_else(|| due_command(w, today)) {
        return Some(Some(intent));
    }
    // "change/update <target> to <title>" (or to a date or priority).
    if matches!(first, "change" | "update" | "edit") {
        return Some(rename(&w.from(1), &["to", "into"], Some(today)));
    }
    // "set call mum for friday", "make buy bread due tomorrow", "set 1 to high".
    if matches!(first, "set" | "make")
        && let Some((target, to)) = w.from(1).split_last_on(&["to", "for", "on", "due"])
        && let Some(intent) = change_to_date_or_priority(&target, &to, today)
    {
        return Some(Some(intent));
    }
    None
}

/// "<target> to <title>". With `today` ("change …", not "rename …"), a date or priority
/// after "to" changes that instead: "change call mum to friday", "change call mum to low".
fn rename(rest: &Words, separators: &[&str], today: Option<NaiveDate>) -> Option<Intent> {
    let (target, title) = rest.split_on(separators)?;
    let target = target.strip_words(&["the", "title", "name", "of"]);
    if let Some(intent) = today.and_then(|today| change_to_date_or_priority(&target, &title, today))
    {
        return Some(intent);
    }
    Some(Intent::Rename {
        target: parse_target(&target)?,
        title: clean_title(&title.raw_text())?,
    })
}

/// Delete, reopen and complete: one task, several by number, or a bulk change.
fn state_command(w: &Words, today: NaiveDate) -> Verdict {
    let first = w.norm(0);
    // "clear completed", "clean up done tasks", "wipe my list"; else a task ("clean the
    // bathroom").
    if matches!(first, "clear" | "clean" | "wipe" | "purge" | "empty") {
        let rest = w.from(1).strip_words(&["up", "out"]);
        if let Some(scope) = bulk_scope(&rest).or_else(|| only_filler(&rest).then_some(Scope::All))
        {
            return Some(Some(bulk(BulkAction::Delete, scope)));
        }
    }
    let change = |prefixes: &[&[&str]], action: BulkAction, make: fn(Target) -> Intent| {
        let prefix = prefixes.iter().find(|prefix| w.starts_with(prefix))?;
        let rest = w.from(prefix.len()).strip_trailing(&["off"]);
        Some(match bulk_scope(&rest) {
            Some(scope) => Some(bulk(action, scope)),
            None => targets(&rest, make),
        })
    };
    if let Some(verdict) = change(DELETE_PREFIXES, BulkAction::Delete, Intent::Delete)
        .or_else(|| change(REOPEN_PREFIXES, BulkAction::Reopen, Intent::Reopen))
    {
        return Some(verdict);
    }
    // "mark <target> [as] done|open".
    if matches!(first, "mark" | "set" | "flag") {
        return Some(mark_command(&w.from(1)));
    }
    // "finish the report by Friday" is a task to add, not one to mark done.
    if matches!(first, "finish" | "complete") && find_date(w, today).is_some() {
        return Some(add(w, today));
    }
    change(COMPLETE_PREFIXES, BulkAction::Complete, Intent::Complete)
}

/// Questions and "show …" lists; "<target> is done", "<target> is due friday".
fn question(w: &Words, today: NaiveDate) -> Verdict {
    let first = w.norm(0);
    // "do the laundry" is a task, "do I have..." a question.
    let asks = (LIST_STARTS.contains(&first)
        || w.starts_with(&["is", "there"])
        || w.starts_with(&["are", "there"]))
        && (!matches!(first, "do" | "get" | "see") || pronoun(w.norm(1)));
    if asks || w.contains("tasks") && w.len() <= 4 {
        return Some(Some(Intent::List(list_filter(w, today))));
    }
    let (target, state) = w.split_last_on(&["is", "are"])?;
    if DONE_SUFFIXES
        .iter()
        .any(|suffix| state.ends_with(suffix) && state.len() == suffix.len())
    {
        return Some(targets(&target, Intent::Complete));
    }
    if state.norm(0) != "due" {
        return None;
    }
    let due = date_in(&state.from(1), today)?;
    Some(match due {
        Ok(due) => parse_target(&target).map(|target| Intent::SetDue {
            target,
            due: Some(due),
        }),
        Err(question) => Some(Intent::Clarify(question)),
    })
}

/// "milk done", "2 finished" (a short report that a task is done), or an imperative that is
/// not a command ("buy milk tomorrow").
fn report_or_imperative(w: &Words, today: NaiveDate) -> Verdict {
    let first = w.norm(0);
    // ("get the report done" asks for a task.)
    if let Some(suffix) = DONE_SUFFIXES.iter().find(|suffix| w.ends_with(suffix))
        && w.len() <= 5
        && w.len() > suffix.len()
        && !matches!(first, "get" | "make" | "have" | "got")
    {
        let target = w.until(w.len() - suffix.len());
        if let Some(scope) = bulk_scope(&target) {
            return Some(Some(bulk(BulkAction::Complete, scope)));
        }
        return Some(targets(&target, Intent::Complete));
    }
    TASK_VERBS.contains(&first).then(|| add(w, today))
}

/// `text` without `prefix`, ignoring ASCII case.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Finds a bare level word ("high") anywhere, for "set priority of 3 to high".
fn find_level(w: &Words) -> Option<(Priority, Vec<usize>)> {
    (0..w.len()).find_map(|i| {
        let priority = match w.norm(i) {
            "high" | "urgent" => Priority::High,
            "medium" | "normal" => Priority::Medium,
            "low" => Priority::Low,
            _ => return None,
        };
        Some((priority, vec![i]))
    })
}

fn pronoun(word: &str) -> bool {
    matches!(word, "i" | "we" | "you" | "me" | "my")
}

/// Drafts from the words after an add command.
fn add(rest: &Words, today: NaiveDate) -> Option<Intent> {
    match parse_add(rest, today) {
        Ok(drafts) if drafts.is_empty() => Some(Intent::Clarify(
            "What should I add? Say it with the task, e.g. \"add buy milk tomorrow\".".to_string(),
        )),
        Ok(drafts) if drafts.len() > MAX_ADDED => Some(Intent::Clarify(format!(
            "That is a list of {} tasks; I add at most {MAX_ADDED} per message. Send it in parts.",
            drafts.len()
        ))),
        Ok(drafts) => Some(Intent::Add(drafts)),
        Err(question) => Some(Intent::Clarify(question)),
    }
}

/// The first date phrase: `Err` asks which day is meant.
fn date_in(w: &Words, today: NaiveDate) -> Option<Result<NaiveDate, String>> {
    find_date(w, today).map(|phrase| match phrase.when {
        When::On(date) => Ok(date),
        When::Unclear(question) => Err(question),
    })
}

/// "what did I add last?", "what was the last task I added", "show my latest task".
fn asks_for_last_added(w: &Words) -> bool {
    let recent = w.contains_any(&["last", "latest", "newest", "recent", "recently", "just"]);
    let added = w.contains_any(&[
        "add", "added", "create", "created", "task", "entered", "put",
    ]);
    let asks = matches!(
        w.norm(0),
        "what" | "what's" | "whats" | "which" | "show" | "last" | "latest" | "newest" | "tell"
    );
    recent && added && asks && !w.contains_any(&["done", "completed", "finished", "deleted"])
}

/// "set priority of 3 to high", "make 3 high priority", "prioritize the milk task".
fn priority_command(w: &Words) -> Option<Intent> {
    let first = w.norm(0);
    let rest_at = |n: usize| w.from(n);
    if first == "prioritize" || first == "prioritise" {
        return Some(Intent::SetPriority {
            target: parse_target(&rest_at(1))?,
            priority: Priority::High,
        });
    }
    if matches!(first, "deprioritize" | "deprioritise") {
        return Some(Intent::SetPriority {
            target: parse_target(&rest_at(1))?,
            priority: Priority::Low,
        });
    }
    if matches!(first, "set" | "change" | "update" | "make" | "mark") && w.contains("priority") {
        // "set priority of 3 to high", "set the priority of the milk task to low",
        // "make 3 high priority", "change 3's priority to low", "set 3 to high priority".
        let (priority, consumed) = find_priority(w).or_else(|| find_level(w))?;
        let keep: Vec<usize> = (1..w.len())
            .filter(|i| !consumed.contains(i))
            .filter(|&i| {
                !matches!(
                    w.norm(i),
                    "priority" | "to" | "of" | "as" | "a" | "for" | "the" | "level" | "with"
                )
            })
            .collect();
        return Some(Intent::SetPriority {
            target: parse_target(&w.pick(&keep).without_possessive())?,
            priority,
        });
    }
    if matches!(first, "make" | "mark" | "flag")
        && let Some((priority, consumed)) = find_priority(w)
    {
        let keep: Vec<usize> = (1..w.len())
            .filter(|i| !consumed.contains(i) && !matches!(w.norm(*i), "as" | "an" | "a"))
            .collect();
        return Some(Intent::SetPriority {
            target: parse_target(&w.pick(&keep))?,
            priority,
        });
    }
    None
}

/// "move 2 to friday", "set the due date of 3 to friday", "clear the due date of 1".
fn due_command(w: &Words, today: NaiveDate) -> Option<Intent> {
    let first = w.norm(0);
    let rest = w.from(1);
    let set_due = |target: &Words, when: &Words| -> Option<Intent> {
        Some(match date_in(when, today)? {
            Ok(due) => Intent::SetDue {
                target: parse_target(target)?,
                due: Some(due),
            },
            Err(question) => Intent::Clarify(question),
        })
    };
    if matches!(first, "clear" | "remove" | "drop" | "delete")
        && (w.contains("due") || w.contains("deadline"))
    {
        // "clear the due date of 3", "remove the deadline from the milk task".
        let (_, target) = w.split_on(&["of", "from", "on", "for"])?;
        return Some(Intent::SetDue {
            target: parse_target(&target)?,
            due: None,
        });
    }
    if matches!(
        first,
        "move" | "postpone" | "reschedule" | "push" | "defer" | "shift" | "bump" | "delay"
    ) {
        let (target, when) = rest.split_on(&["to", "until", "till", "for", "back", "on"])?;
        // "move the dentist from Friday to Monday": the old day says nothing new.
        let target = target
            .split_on(&["from"])
            .map_or(target.clone(), |(before, _)| before);
        if bulk_scope(&target).is_some() {
            return Some(Intent::Clarify(
                "I can't move many tasks at once yet: move them one at a time, e.g. \
                 \"move 2 to friday\"."
                    .to_string(),
            ));
        }
        let when = when.strip_words(&["to", "until"]);
        return set_due(&target, &when);
    }
    if matches!(first, "set" | "change" | "update") && (w.contains("due") || w.contains("deadline"))
    {
        // "set the due date of 3 to friday", "change the deadline for the milk task to 2025-03-01".
        let (head, when) = rest.split_last_on(&["to"])?;
        let (_, target) = head.split_on(&["of", "for", "on"])?;
        return set_due(&target, &when);
    }
    None
}

/// "change <target> to <date>" moves it; "change <target> to <priority>" reprioritizes it.
fn change_to_date_or_priority(target: &Words, to: &Words, today: NaiveDate) -> Option<Intent> {
    if let Some(phrase) = find_date(to, today)
        && phrase.used.len() == to.len()
    {
        return Some(match phrase.when {
            When::On(due) => Intent::SetDue {
                target: parse_target(target)?,
                due: Some(due),
            },
            When::Unclear(question) => Intent::Clarify(question),
        });
    }
    let (priority, used) = find_priority(to).or_else(|| find_level(to))?;
    (used.len() == to.len()).then_some(())?;
    Some(Intent::SetPriority {
        target: parse_target(target)?,
        priority,
    })
}

/// "mark <target> [as] done|open", "mark all as done".
fn mark_command(rest: &Words) -> Option<Intent> {
    for suffix in REOPEN_SUFFIXES {
        if rest.ends_with(suffix) {
            let target = rest
                .until(rest.len() - suffix.len())
                .strip_trailing(&["as"]);
            if let Some(scope) = bulk_scope(&target) {
                return Some(bulk(BulkAction::Reopen, scope));
            }
            return targets(&target, Intent::Reopen);
        }
    }
    let target = DONE_SUFFIXES
        .iter()
        .find(|suffix| rest.ends_with(suffix))
        .map_or(rest.clone(), |suffix| rest.until(rest.len() - suffix.len()))
        .strip_trailing(&["as"]);
    if let Some(scope) = bulk_scope(&target) {
        return Some(bulk(BulkAction::Complete, scope));
    }
    targets(&target, Intent::Complete)
}

fn bulk(action: BulkAction, scope: Scope) -> Intent {
    Intent::Bulk { action, scope }
}

/// Words around a bulk scope that say nothing more ("all of my tasks that are done").
const BULK_FILLER: &[&str] = &[
    "the", "my", "of", "that", "that's", "thats", "which", "are", "is", "tasks", "task", "items",
    "item", "ones", "todos", "things", "i", "have", "i've", "as", "off", "list", "already", "been",
    "marked", "now", "from", "in", "to", "out", "up", "stuff",
];

/// The scope of a bulk change ("everything done", "all my tasks", "completed ones"), or
/// `None` when the words name something else (a task).
fn bulk_scope(w: &Words) -> Option<Scope> {
    const ALL: &[&str] = &[
        "all",
        "every",
        "everything",
        "each",
        "both",
        "entire",
        "whole",
    ];
    const DONE: &[&str] = &[
        "done",
        "completed",
        "complete",
        "finished",
        "checked",
        "ticked",
    ];
    const OPEN: &[&str] = &[
        "open",
        "unfinished",
        "pending",
        "remaining",
        "incomplete",
        "outstanding",
        "undone",
    ];
    const OVERDUE: &[&str] = &["overdue", "late", "past"];
    let mut scope = None;
    let mut quantified = false;
    for i in 0..w.len() {
        let word = w.norm(i);
        if ALL.contains(&word) {
            quantified = true;
        } else if DONE.contains(&word) {
            scope = Some(Scope::Done);
        } else if OPEN.contains(&word) {
            scope = scope.or(Some(Scope::Open));
        } else if OVERDUE.contains(&word) {
            scope = Some(Scope::Overdue);
        } else if !BULK_FILLER.contains(&word) {
            return None;
        }
    }
    scope.or(quantified.then_some(Scope::All))
}

fn only_filler(w: &Words) -> bool {
    (0..w.len()).all(|i| BULK_FILLER.contains(&w.norm(i)))
}

/// How people tell a plan: with a date, a task to add.
const PLAN_PREFIXES: &[&[&str]] = &[
    &["i", "have", "a"],
    &["i", "have", "an"],
    &["i've", "got", "a"],
    &["i've", "got", "an"],
    &["i'm", "going", "to"],
    &["i", "am", "going", "to"],
    &["i'll"],
    &["i", "will"],
    &["i", "plan", "to"],
];

/// How people start a request for a new task; the longest that matches wins, so longer
/// phrases come first where one starts another.
const ADD_PREFIXES: &[&[&str]] = &[
    &["add", "a", "new", "task", "to"],
    &["add", "a", "task", "to"],
    &["add", "a", "new", "task"],
    &["add", "a", "task"],
    &["add", "task", "to"],
    &["add", "task"],
    &["add", "new", "task"],
    &["add", "a", "reminder", "to"],
    &["add", "a", "reminder"],
    &["add", "reminder"],
    &["add", "to", "my", "list"],
    &["add", "to", "list"],
    &["add", "to", "todo"],
    &["add"],
    &["create", "a", "new", "task"],
    &["create", "a", "task", "to"],
    &["create", "a", "task"],
    &["create", "task"],
    &["create"],
    &["new", "task"],
    &["new", "todo"],
    &["new", "reminder"],
    &["set", "a", "reminder", "to"],
    &["set", "a", "reminder", "for"],
    &["set", "a", "reminder"],
    &["set", "reminder"],
    &["make", "a", "note", "to"],
    &["make", "a", "task", "to"],
    &["make", "a", "new", "task"],
    &["remind", "me", "to"],
    &["remind", "me", "about"],
    &["remind", "me"],
    &["remember", "to"],
    &["i", "need", "to"],
    &["i", "have", "to"],
    &["i", "must"],
    &["i", "should"],
    &["i", "gotta"],
    &["i", "got", "to"],
    &["i've", "got", "to"],
    &["i", "have", "got", "to"],
    &["i", "want", "to"],
    &["i", "wanna"],
    &["i'd", "like", "to"],
    &["i", "would", "like", "to"],
    &["i", "still", "need", "to"],
    &["i", "also", "need", "to"],
    &["need", "to"],
    &["have", "to"],
    &["gotta"],
    &["must"],
    &["don't", "let", "me", "forget", "to"],
    &["don't", "forget", "to"],
    &["do", "not", "forget", "to"],
    &["don't", "forget"],
    &["note", "to", "self"],
    &["todo"],
    &["to-do"],
    &["jot", "down"],
    &["write", "down"],
];

const DELETE_PREFIXES: &[&[&str]] = &[
    &["get", "rid", "of"],
    &["forget", "about"],
    &["delete"],
    &["remove"],
    &["drop"],
    &["erase"],
    &["cancel"],
    &["trash"],
    &["scratch"],
    &["scrap"],
];

const REOPEN_PREFIXES: &[&[&str]] = &[
    &["reopen"],
    &["re-open"],
    &["unmark"],
    &["uncheck"],
    &["undo"],
    &["restore"],
];

const REOPEN_SUFFIXES: &[&[&str]] = &[
    &["not", "done"],
    &["not", "complete"],
    &["not", "completed"],
    &["undone"],
    &["open"],
    &["incomplete"],
    &["todo"],
    &["to", "do"],
    &["pending"],
];

const DONE_SUFFIXES: &[&[&str]] = &[
    &["done"],
    &["complete"],
    &["completed"],
    &["finished"],
    &["finish"],
    &["checked"],
];

const COMPLETE_PREFIXES: &[&[&str]] = &[
    &["i", "have", "finished"],
    &["i", "have", "completed"],
    &["i", "have", "done"],
    &["i've", "finished"],
    &["i've", "done"],
    &["i", "finished"],
    &["i", "completed"],
    &["i", "did"],
    &["check", "off"],
    &["tick", "off"],
    &["complete"],
    &["finish"],
    &["finished"],
    &["done", "with"],
    &["done"],
    &["close"],
    &["i'm", "done", "with"],
    &["i'm", "finished", "with"],
    &["i", "am", "finished", "with"],
    &["cross", "off"],
    &["cross", "out"],
    &["strike", "off"],
    &["i", "am", "done", "with"],
    &["i", "just", "did"],
    &["just", "did"],
    &["i", "bought"],
    &["i", "called"],
    &["i", "paid"],
    &["i", "emailed"],
    &["i", "sent"],
    &["i", "booked"],
    &["i", "cleaned"],
    &["i", "fixed"],
    &["i've", "bought"],
    &["i've", "called"],
    &["i've", "paid"],
    &["i've", "sent"],
];

const LIST_STARTS: &[&str] = &[
    "what", "what's", "whats", "which", "show", "list", "display", "give", "anything", "do", "how",
    "tell", "view", "see", "my", "any", "get",
];

fn list_filter(w: &Words, today: NaiveDate) -> ListFilter {
    let any = |words: &[&str]| words.iter().any(|word| w.contains(word));
    if any(&["overdue", "late", "missed"]) {
        return ListFilter::Overdue;
    }
    // "what have I completed this week" asks what is done, not what is due.
    if any(&["done", "completed", "finished", "complete", "accomplished"])
        || w.contains("did") && any(&["finish", "do", "complete"])
    {
        return ListFilter::Done;
    }
    if let Some((start, end)) = period(w, today) {
        return ListFilter::DueBetween(start, end);
    }
    if let Some(Ok(date)) = date_in(w, today) {
        return ListFilter::DueOn(date);
    }
    if let Some((priority, _)) = find_priority(w) {
        return ListFilter::Priority(priority);
    }
    if any(&[
        "open",
        "still",
        "left",
        "remaining",
        "pending",
        "unfinished",
        "incomplete",
        "outstanding",
        "todo",
        "need",
        "should",
        "next",
    ]) || w.starts_with(&["what", "do", "i", "have", "to", "do"])
    {
        return ListFilter::Open;
    }
    ListFilter::All
}

/// The span of "this week" (today to Sunday), "next week" (Monday to Sunday), "this
/// month", "next month", "the next 7 days" in a question.
fn period(w: &Words, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let sunday = upcoming(today, Weekday::Sun, true);
    let first_of_next = today.with_day(1)?.checked_add_months(Months::new(1))?;
    (0..w.len()).find_map(|i| match (w.norm(i), w.norm(i + 1), w.norm(i + 2)) {
        ("this" | "the", "week", _) => Some((today, sunday)),
        ("next", "week", _) => Some((sunday + Duration::days(1), sunday + Duration::days(7))),
        ("this" | "the", "month", _) => Some((today, first_of_next.pred_opt()?)),
        ("next", "month", _) => {
            let end = first_of_next
                .checked_add_months(Months::new(1))?
                .pred_opt()?;
            Some((first_of_next, end))
        }
        ("next", n, "days") => n
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=366).contains(n))
            .map(|n| (today, today + Duration::days(n))),
        _ => None,
    })
}

/// A question made only of list words and a date: "overdue", "done tasks", "today",
/// "high priority tasks", "tomorrow?".
fn is_short_question(w: &Words, today: NaiveDate) -> bool {
    const LIST_WORDS: &[&str] = &[
        "tasks",
        "task",
        "todos",
        "items",
        "ones",
        "list",
        "my",
        "all",
        "open",
        "done",
        "finished",
        "completed",
        "overdue",
        "late",
        "pending",
        "high",
        "low",
        "medium",
        "priority",
        "urgent",
        "due",
        "for",
        "on",
        "the",
        "whats",
        "what's",
        "and",
    ];
    let date = find_date(w, today);
    let date_words = date
        .as_ref()
        .map_or(&[][..], |phrase| phrase.used.as_slice());
    w.len() <= 4
        && (0..w.len()).all(|i| LIST_WORDS.contains(&w.norm(i)) || date_words.contains(&i))
        && (date.is_some() || w.contains_any(&["tasks", "todos", "overdue", "items"]))
}

/// Most tasks one message adds.
const MAX_ADDED: usize = 50;

/// Most tasks one message changes by number; more is a bulk change, which asks first.
const MAX_NAMED: usize = 20;

/// One target, or several numbers ("2 and 3", "#1, #4"): one intent each.
fn targets(w: &Words, make: fn(Target) -> Intent) -> Option<Intent> {
    let numbers: Vec<i64> = (0..w.len())
        .filter(|&i| {
            !matches!(
                w.norm(i),
                "and" | "task" | "tasks" | "number" | "numbers" | "the"
            )
        })
        .map(|i| w.norm(i).trim_start_matches('#').parse::<i64>().ok())
        .collect::<Option<Vec<i64>>>()
        .unwrap_or_default();
    if numbers.len() > MAX_NAMED {
        return Some(Intent::Clarify(format!(
            "That is {} tasks at once; I change at most {MAX_NAMED} by number. For more, say \
             which ones, e.g. \"delete everything done\" (I will ask first).",
            numbers.len()
        )));
    }
    if numbers.len() >= 2 {
        return Some(Intent::Each(
            numbers.into_iter().map(|n| make(Target::Id(n))).collect(),
        ));
    }
    Some(make(parse_target(w)?))
}

/// "3", "#3", "task 3", "number 3", "the milk task", "buy milk".
fn parse_target(w: &Words) -> Option<Target> {
    let w = w.strip_words(&[
        "the", "my", "a", "task", "tasks", "item", "todo", "number", "no", "one", "called",
        "named", "entry", "please", "pls",
    ]);
    if w.is_empty() {
        return None;
    }
    if w.len() == 1
        && let Ok(id) = w.norm(0).trim_start_matches('#').parse::<i64>()
    {
        return Some(Target::Id(id));
    }
    let text = clean_title(&w.raw_text())?;
    Some(Target::Title(text.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
    }

    fn added_titles(message: &str) -> Vec<String> {
        match parse(message, today()) {
            Intent::Add(drafts) => drafts.into_iter().map(|draft| draft.title).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn connectors_that_only_link_a_date_or_priority_go() {
        assert_eq!(
            added_titles("add call mum on friday with high priority"),
            ["call mum"]
        );
        assert_eq!(
            added_titles("add pay rent by tomorrow and - on"),
            ["pay rent"]
        );
        assert_eq!(
            added_titles("add bread and butter"),
            ["bread and butter"],
            "a connector inside the title stays"
        );
    }

    #[test]
    fn a_message_of_connectors_as_long_as_allowed_is_read_in_one_pass() {
        // The first parser took a pass per trailing connector, each quadratic: seconds.
        let mut message = String::from("add water the plants");
        while message.len() + 3 <= MAX_MESSAGE_CHARS {
            message.push_str(" on");
        }
        assert_eq!(added_titles(&message), ["water the plants"]);
        message.push_str(" on");
        assert_eq!(parse(&message, today()), Intent::Help, "longer is not read");
    }

    /// Words from every rule, punctuation and numbers in random orders: the parser answers
    /// each (no panic, no index out of range), up to the longest message it reads.
    #[test]
    fn arbitrary_messages_are_answered() {
        const PIECES: &[&str] = &[
            "add",
            "a",
            "and",
            ",",
            ";",
            "\n",
            "-",
            ":",
            "the",
            "1st",
            "31st",
            "of",
            "march",
            "may",
            "3/4",
            "13/4",
            "2027-02-30",
            "in",
            "2",
            "weeks",
            "end",
            "next",
            "friday",
            "every",
            "other",
            "mondays",
            "at",
            "5pm",
            "17:99",
            "high",
            "priority",
            "not",
            "urgent",
            "!!",
            "it's",
            "very",
            "#tag",
            "#",
            "mark",
            "done",
            "all",
            "delete",
            "yes",
            "no",
            "remind",
            "me",
            "to",
            "what",
            "did",
            "i",
            "last",
            "'",
            "\"",
            "thank",
            "you",
            "please",
            "0",
            "99999999999999999999",
            "x:",
            "day",
            "after",
            "tomorrow",
            "é",
            "🛒",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000 {
            let length = if round % 100 == 0 {
                600
            } else {
                (next() % 14) as usize
            };
            let mut message = String::new();
            for _ in 0..length {
                let piece = PIECES[(next() % PIECES.len() as u64) as usize];
                message.push_str(piece);
                if next() % 3 != 0 {
                    message.push(' ');
                }
            }
            let message: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
            let _ = parse(&message, today());
        }
    }

    /// The longest messages of the shapes each rule loops over: lists, lead-ins, numbers,
    /// repetitions, dates. Each is read in one pass (the reliability suite checks that the
    /// server stays responsive while such messages are parsed).
    #[test]
    fn the_longest_messages_of_every_shape_are_read() {
        let fill = |head: &str, unit: &str| {
            let mut message = head.to_string();
            while message.len() + unit.len() <= MAX_MESSAGE_CHARS {
                message.push_str(unit);
            }
            message
        };
        let shapes = [
            fill("add", " a,"),
            fill("add", " buy x and"),
            fill("add x", " very"),
            fill("delete", " 1"),
            fill("add x", " every"),
            fill("add x", " the 1st of"),
            fill("add x:", " y:"),
            fill("remove everything", " done"),
            fill("add", "\n- x"),
        ];
        for message in shapes {
            let started = std::time::Instant::now();
            let intent = parse(&message, today());
            println!("{:?}: {:?}", &message[..20], started.elapsed());
            assert_ne!(intent, Intent::Add(Vec::new()));
        }
    }

    #[test]
    fn bulk_changes_and_answers_to_their_question() {
        let bulk = |action, scope| Intent::Bulk { action, scope };
        assert_eq!(
            parse("remove everything done", today()),
            bulk(BulkAction::Delete, Scope::Done)
        );
        assert_eq!(
            parse("mark all as done", today()),
            bulk(BulkAction::Complete, Scope::All)
        );
        assert_eq!(
            parse("clear completed", today()),
            bulk(BulkAction::Delete, Scope::Done)
        );
        assert_eq!(parse("Yes please", today()), Intent::Confirm(true));
        assert_eq!(parse("no, keep them", today()), Intent::Confirm(false));
        assert_eq!(
            parse("delete the done report", today()),
            Intent::Delete(Target::Title("done report".into()))
        );
    }
}
