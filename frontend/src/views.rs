//! HTML, rendered on the server with maud. Pure functions: data in, markup out.

use chrono::{Datelike, NaiveDate};
use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::backend::{Task, UndoableChange};
use crate::filters::{Filters, PAGE_SIZE, PRIORITIES, SORTS, Status};

/// Counts shown in the filter bar and the list of the current page.
pub(crate) struct TaskList {
    pub(crate) open: u64,
    pub(crate) done: u64,
    pub(crate) matching: u64,
    pub(crate) tasks: Vec<Task>,
    /// Today's date, to mark overdue tasks and say "today" or "tomorrow".
    pub(crate) today: NaiveDate,
    /// The newest change the user can undo, for the undo bar.
    pub(crate) undo: Option<UndoableChange>,
}

/// A chat message sent without the script, and the answer (or why there is none).
pub(crate) struct Exchange<'a> {
    /// What the person wrote.
    pub(crate) message: &'a str,
    /// The assistant's answer, or the reason it could not answer.
    pub(crate) reply: String,
    /// Whether `reply` is a failure: the message is then put back in the box.
    pub(crate) failed: bool,
}

/// Which auth form a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthKind {
    SignIn,
    SignUp,
}

impl AuthKind {
    fn title(self) -> &'static str {
        match self {
            Self::SignIn => "Sign in",
            Self::SignUp => "Create your account",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::SignIn => "/signin",
            Self::SignUp => "/signup",
        }
    }
}

fn layout(title: &str, user: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Todo" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(assets::CSS.href());
                script src=(assets::JS.href()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/" { "Todo" }
                    @if let Some(email) = user {
                        span.who { span.visually-hidden { "Signed in as " } (email) }
                        form method="post" action="/signout" {
                            button.button.secondary type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// What an auth page says above its form.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AuthMessage<'a> {
    /// A failed attempt, in words for people.
    Error(&'a str),
    /// A sign-up with an email that has an account: says so, with a link to sign in.
    EmailTaken,
    /// The visitor has just signed out.
    SignedOut,
    /// The session ended (expired, or ended elsewhere) while the visitor was using it.
    SessionEnded,
}

/// The sign-in or sign-up page, with an optional message and the email typed so far.
pub(crate) fn auth_page(kind: AuthKind, email: &str, message: Option<AuthMessage<'_>>) -> Markup {
    let (other_text, other_href, other_link) = match kind {
        AuthKind::SignIn => ("New here?", "/signup", "Create an account"),
        AuthKind::SignUp => ("Already have an account?", "/signin", "Sign in"),
    };
    let password_hint = (kind == AuthKind::SignUp).then_some("At least 8 characters.");
    let signed_out = matches!(message, Some(AuthMessage::SignedOut));
    let has_error = matches!(
        message,
        Some(AuthMessage::Error(_) | AuthMessage::EmailTaken)
    );
    let title = if signed_out {
        "You are signed out"
    } else {
        kind.title()
    };
    let body = html! {
        section.card.auth aria-labelledby="auth-heading" {
            h1 #auth-heading { (title) }
            @match message {
                Some(AuthMessage::Error(text)) => div.alert role="alert" #auth-error { (text) },
                Some(AuthMessage::EmailTaken) => div.alert role="alert" #auth-error {
                    "An account with this email exists already. "
                    a href="/signin" { "Sign in instead" } "."
                },
                Some(AuthMessage::SignedOut) => p #signed-out {
                    "Your session in this browser has ended. Sign in again to see your tasks."
                },
                Some(AuthMessage::SessionEnded) => p #session-ended role="status" {
                    "Your session has ended. Sign in again to go on."
                },
                None => {},
            }
            form method="post" action=(kind.action()) {
                div.field {
                    label for="email" { "Email" }
                    input #email type="email" name="email" autocomplete="email" required
                        value=(email) aria-describedby=[has_error.then_some("auth-error")];
                }
                div.field {
                    label for="password" { "Password" }
                    input #password type="password" name="password" required
                        autocomplete=(if kind == AuthKind::SignIn { "current-password" } else { "new-password" })
                        minlength=[(kind == AuthKind::SignUp).then_some("8")]
                        aria-describedby=[password_hint.map(|_| "password-hint")];
                    @if let Some(hint) = password_hint {
                        p.hint #password-hint { (hint) }
                    }
                }
                button.button.primary type="submit" { (kind.title()) }
            }
            p.switch { (other_text) " " a href=(other_href) { (other_link) } }
        }
    };
    layout(title, None, body)
}

/// A page for a failed request: what happened and a way to try again.
pub(crate) fn error_page(title: &str, message: &str, retry_href: &str) -> Markup {
    let body = html! {
        section.card.problem aria-labelledby="problem-heading" {
            h1 #problem-heading { (title) }
            p { (message) }
            p { a.button.primary href=(retry_href) { "Try again" } }
        }
    };
    layout(title, None, body)
}

/// A page that says why something was not done, with a way back to the list.
pub(crate) fn notice_page(title: &str, message: &str, back_href: &str) -> Markup {
    let body = html! {
        section.card.problem aria-labelledby="problem-heading" {
            h1 #problem-heading { (title) }
            p { (message) }
            p { a.button.primary href=(back_href) { "Back to your tasks" } }
        }
    };
    layout(title, None, body)
}

/// The undo bar, after a change that loses something (a delete, a completion, an edit,
/// a bulk change; not an addition, which takes nothing away). A form, so that it works
/// without the script; the script sends it through `/api` instead and hides the bar when
/// the change's undo time runs out.
fn undo_bar(change: &UndoableChange, back: &str) -> Markup {
    html! {
        form #undo-form.undo-bar method="post" action="/undo" data-change=(change.id)
            data-expires=(change.expires_at) aria-label="Undo" {
            input type="hidden" name="change" value=(change.id);
            input type="hidden" name="back" value=(back);
            p { "You " (change.summary) "." }
            button.button.secondary.small type="submit" { "Undo" }
        }
    }
}

/// The task page: add form, search, the list and the chat panel, with the exchange of a
/// chat message sent without the script, if any.
pub(crate) fn tasks_page(
    email: &str,
    filters: &Filters,
    list: &TaskList,
    exchange: Option<&Exchange<'_>>,
) -> Markup {
    // Where the forms return to: this same list.
    let back = filters.href(filters.status, filters.offset);
    let retry_message = exchange.filter(|said| said.failed).map(|said| said.message);
    let body = html! {
        div.columns {
            section.tasks aria-labelledby="tasks-heading" {
                h1 #tasks-heading { "Your tasks" }
                // The script sends it through /api; without the script it posts here.
                form #add-form.card.add-form method="post" action="/tasks" aria-label="Add a task" {
                    input type="hidden" name="back" value=(back);
                    div.field.grow {
                        div.label-row {
                            label for="new-title" { "New task" }
                            span.hint.counter #new-title-count { "0 / 200 characters" }
                        }
                        // No maxlength: the browser would cut a pasted title silently.
                        input #new-title type="text" name="title" required data-limit="200"
                            placeholder="What needs doing?" autocomplete="off"
                            aria-describedby="new-title-count";
                    }
                    div.field {
                        label for="new-priority" { "Priority" }
                        (priority_select("new-priority", "medium", false))
                    }
                    div.field {
                        label for="new-due" { "Due date" }
                        input #new-due type="date" name="due_date";
                    }
                    div.field.action {
                        button.button.primary type="submit" { "Add task" }
                    }
                }
                form #search-form.search role="search" method="get" action="/" {
                    @if filters.status != Status::All {
                        input type="hidden" name="status" value=(filters.status.as_str());
                    }
                    div.field.grow {
                        label for="search" { "Search tasks" }
                        input #search type="search" name="q" value=(filters.q) maxlength="200";
                    }
                    div.field {
                        label for="filter-priority" { "Priority" }
                        (priority_select("filter-priority", filters.priority.unwrap_or(""), true))
                    }
                    div.field {
                        label for="sort" { "Sort by" }
                        select #sort name="sort" {
                            @for (key, label) in SORTS {
                                option value=(key) selected[key == filters.sort] { (label) }
                            }
                        }
                    }
                    div.field.action {
                        button.button.secondary type="submit" { "Search" }
                    }
                }
                div #notice.notice role="status" aria-live="polite" {}
                div #task-region { (task_region(filters, list)) }
                (edit_form_template())
            }
            aside #chat.chat.card aria-labelledby="chat-heading" {
                div.chat-head {
                    h2 #chat-heading { "Assistant" }
                    // On a phone the panel is docked at the bottom of the screen; this
                    // shows or hides the conversation above its message box.
                    button #chat-toggle.button.secondary.small type="button"
                        aria-controls="chat-log" aria-expanded="true" {
                        "Hide conversation"
                    }
                }
                ol #chat-log.chat-log aria-live="polite" aria-label="Conversation" {
                    li.bot.greeting {
                        "Ask me to manage your tasks, e.g. "
                        q { "add buy milk tomorrow, high priority" } ", "
                        q { "what is still open?" } " or " q { "mark 1 done" } "."
                    }
                    @if let Some(said) = exchange {
                        li.me { (said.message) }
                        li.bot.error[said.failed] { (said.reply) }
                    }
                }
                form #chat-form.chat-form method="post" action="/chat" {
                    input type="hidden" name="back" value=(back);
                    label for="chat-message" { "Message the assistant" }
                    div.row {
                        input #chat-message type="text" name="message" required
                            data-limit="2000" data-count-from="150" autocomplete="off"
                            aria-describedby="chat-message-count" value=[retry_message];
                        button.button.primary type="submit" { "Send" }
                    }
                    p.hint.counter #chat-message-count hidden {}
                }
            }
        }
    };
    layout("Your tasks", Some(email), body)
}

/// The edit form, once per page: the script copies it into a task when its Edit button is
/// pressed, suffixes every `id`/`for` with the task's id and fills in the task's values.
/// (Rendering a hidden form into every task cost about 2 KB a task.)
fn edit_form_template() -> Markup {
    html! {
        template #edit-template {
            form.edit-form {
                div.field {
                    label for="edit-title-" { "Title" }
                    input id="edit-title-" type="text" name="title" required maxlength="200";
                }
                div.field {
                    label for="edit-description-" { "Description" }
                    textarea id="edit-description-" name="description" maxlength="2000" rows="2" {}
                }
                div.edit-grid {
                    div.field {
                        label for="edit-priority-" { "Priority" }
                        (priority_select("edit-priority-", "medium", false))
                    }
                    div.field {
                        label for="edit-due-" { "Due date" }
                        input id="edit-due-" type="date" name="due_date";
                    }
                    div.field {
                        label for="edit-tags-" { "Tags (comma-separated)" }
                        input id="edit-tags-" type="text" name="tags";
                    }
                }
                div.edit-actions {
                    button.button.primary.small type="submit" { "Save" }
                    button.button.secondary.small type="button" data-action="cancel-edit" { "Cancel" }
                }
            }
        }
    }
}

fn priority_select(id: &str, selected: &str, with_any: bool) -> Markup {
    html! {
        select id=(id) name="priority" {
            @if with_any {
                option value="" selected[selected.is_empty()] { "Any" }
            }
            @for priority in PRIORITIES {
                option value=(priority) selected[priority == selected] { (capitalise(priority)) }
            }
        }
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The part of the task page that changes after every action (refreshed by the script).
pub(crate) fn task_region(filters: &Filters, list: &TaskList) -> Markup {
    let count = |status: Status| match status {
        Status::All => list.open + list.done,
        Status::Open => list.open,
        Status::Done => list.done,
    };
    let shown = list.tasks.len() as u64;
    let back = filters.href(filters.status, filters.offset);
    let undo = list
        .undo
        .as_ref()
        .filter(|change| !change.summary.starts_with("added "));
    html! {
        @if let Some(change) = undo {
            (undo_bar(change, &filters.href(filters.status, filters.offset)))
        }
        nav.filters aria-label="Filter tasks" {
            @for status in Status::ALL {
                a.filter href=(filters.href(status, 0))
                    aria-current=[(status == filters.status).then_some("page")] {
                    (status.label()) " "
                    span.count { (count(status)) }
                }
            }
        }
        p #summary.summary {
            @if filters.narrowed() {
                (plural(list.matching, "task matches", "tasks match")) " your search."
                " " a href=(filters_without_search(filters)) { "Clear search" }
            } @else {
                (plural(list.open, "task", "tasks")) " open, " (list.done) " done."
            }
        }
        @if list.tasks.is_empty() {
            div.empty {
                @if filters.offset > 0 {
                    p { "No tasks on this page. " a href=(filters.href(filters.status, 0)) { "Go to the first page" } }
                } @else if filters.narrowed() {
                    p { "No tasks match your search." }
                } @else {
                    @match filters.status {
                        Status::All => p { "No tasks yet. Add one above, or ask the assistant." },
                        Status::Open => p { "Nothing open. Well done!" },
                        Status::Done => p { "No completed tasks yet." },
                    }
                }
            }
        } @else {
            ul #task-list.task-list aria-label="Tasks" {
                @for task in &list.tasks { (task_item(task, list.today, &back)) }
            }
            @if filters.offset > 0 || filters.offset + shown < list.matching {
                nav.pager aria-label="Pages" {
                    @if filters.offset > 0 {
                        a href=(filters.href(filters.status, filters.offset.saturating_sub(PAGE_SIZE))) { "Previous" }
                    }
                    span { "Tasks " (filters.offset + 1) "–" (filters.offset + shown) " of " (list.matching) }
                    @if filters.offset + shown < list.matching {
                        a href=(filters.href(filters.status, filters.offset + PAGE_SIZE)) { "Next" }
                    }
                }
            }
        }
    }
}

fn filters_without_search(filters: &Filters) -> String {
    let cleared = Filters {
        q: String::new(),
        priority: None,
        offset: 0,
        ..filters.clone()
    };
    cleared.href(cleared.status, 0)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A due date as people say it: "today", "tomorrow", "yesterday", else "Mon 7 Dec"
/// (with the year when it is not this year's). Text that is not a date is shown as it is.
pub(crate) fn human_date(iso: &str, today: NaiveDate) -> String {
    let Ok(date) = NaiveDate::parse_from_str(iso, "%Y-%m-%d") else {
        return iso.to_owned();
    };
    match (date - today).num_days() {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        -1 => "yesterday".to_owned(),
        _ if date.year() == today.year() => date.format("%a %-d %b").to_string(),
        _ => date.format("%a %-d %b %Y").to_string(),
    }
}

/// One task. Its actions are a form, so that Delete (and, without the script, a "Mark
/// done" / "Reopen" button in place of the check box) works without the script.
fn task_item(task: &Task, today: NaiveDate, back: &str) -> Markup {
    let id = &task.id;
    let due = task
        .due_date
        .as_deref()
        .map(|iso| (iso, NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok()));
    let overdue = !task.completed && due.is_some_and(|(_, date)| date.is_some_and(|d| d < today));
    let description = task.description.as_deref().unwrap_or("");
    html! {
        li.task.done[task.completed] #{"task-" (id)} data-id=(id) data-priority=(task.priority) {
            div.task-row {
                // A 44 px square around the box, so a finger finds it on a phone.
                label.hit for={"done-" (id)} {
                    input.toggle type="checkbox" id={"done-" (id)} data-action="toggle"
                        checked[task.completed];
                }
                div.task-body {
                    label.title for={"done-" (id)} {
                        span.visually-hidden { @if task.completed { "Done: " } @else { "Open: " } }
                        @if let Some(number) = task.number {
                            span.number { "#" (number) }
                        }
                        (task.title)
                    }
                    @if !description.is_empty() {
                        p.description { (description) }
                    }
                    p.meta {
                        span class={"badge priority-" (task.priority)} { (capitalise(&task.priority)) " priority" }
                        @if let Some((iso, _)) = due {
                            span.badge.due.overdue[overdue] {
                                @if overdue { "Overdue: " } @else { "Due " }
                                time datetime=(iso) title=(iso) { (human_date(iso, today)) }
                            }
                        }
                        @for tag in &task.tags {
                            span.badge.tag { "#" (tag) }
                        }
                    }
                }
                form.task-actions method="post" action={"/tasks/" (id) "/delete"} {
                    input type="hidden" name="back" value=(back);
                    noscript {
                        button.button.secondary.small type="submit" formaction={"/tasks/" (id) "/toggle"} {
                            @if task.completed { "Reopen" } @else { "Mark done" }
                            span.visually-hidden { " “" (task.title) "”" }
                        }
                    }
                    button.button.secondary.small type="button" data-action="edit"
                        aria-expanded="false" {
                        "Edit" span.visually-hidden { " “" (task.title) "”" }
                    }
                    button.button.danger.small type="submit" data-action="delete" {
                        "Delete" span.visually-hidden { " “" (task.title) "”" }
                    }
                }
            }
        }
    }
}

/// The 404 page.
pub(crate) fn not_found() -> Markup {
    let body = html! {
        section.card.problem aria-labelledby="problem-heading" {
            h1 #problem-heading { "Page not found" }
            p { "There is nothing at this address." }
            p { a.button.primary href="/" { "Go to your tasks" } }
        }
    };
    layout("Page not found", None, body)
}

/// The page for a state-changing request that came from another site (see `csrf`).
pub(crate) fn cross_site_refused() -> Markup {
    let body = html! {
        section.card.problem aria-labelledby="problem-heading" {
            h1 #problem-heading { "Request refused" }
            p {
                "This request was sent by another website, so nothing was changed. "
                "If you meant to do this, open the app from its own address and try again."
            }
            p { a.button.primary href="/" { "Go to your tasks" } }
        }
    };
    layout("Request refused", None, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::RawFilters;

    fn filters(status: &str, q: &str, offset: &str) -> Filters {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Filters::from(RawFilters {
            status: some(status),
            q: some(q),
            priority: None,
            sort: None,
            offset: some(offset),
        })
    }

    fn task(id: u64, title: &str) -> Task {
        Task {
            id: id.to_string(),
            number: Some(id),
            title: title.to_owned(),
            description: None,
            completed: false,
            priority: "low".to_owned(),
            due_date: None,
            tags: vec![],
        }
    }

    fn list(tasks: Vec<Task>, matching: u64) -> TaskList {
        TaskList {
            open: matching,
            done: 0,
            matching,
            tasks,
            today: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            undo: None,
        }
    }

    #[test]
    fn empty_states_say_why_the_list_is_empty() {
        let cases = [
            (
                filters("", "", ""),
                "No tasks yet. Add one above, or ask the assistant.",
            ),
            (filters("open", "", ""), "Nothing open. Well done!"),
            (filters("done", "", ""), "No completed tasks yet."),
            (filters("", "milk", ""), "No tasks match your search."),
            (filters("", "", "50"), "No tasks on this page."),
        ];
        for (filters, expected) in cases {
            let html = task_region(&filters, &list(vec![], 0)).into_string();
            assert!(html.contains(expected), "{filters:?}: {html}");
        }
    }

    #[test]
    fn tasks_carry_no_edit_form_until_edited() {
        let tasks = (1..=12).map(|id| task(id, "t")).collect();
        let html = tasks_page(
            "a@example.com",
            &filters("", "", ""),
            &list(tasks, 12),
            None,
        )
        .into_string();
        assert_eq!(
            html.matches("<form class=\"edit-form\"").count(),
            1,
            "{html}"
        );
        assert!(html.contains(r#"<template id="edit-template">"#));
        assert!(!html.contains(r#"id="edit-title-1""#));
    }

    #[test]
    fn due_dates_read_as_people_say_them() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default();
        for (iso, said) in [
            ("2026-12-06", "today"),
            ("2026-12-07", "tomorrow"),
            ("2026-12-05", "yesterday"),
            ("2026-12-14", "Mon 14 Dec"),
            ("2027-01-01", "Fri 1 Jan 2027"),
            ("not a date", "not a date"),
        ] {
            assert_eq!(human_date(iso, today), said, "{iso}");
        }
        let mut due = task(3, "pay rent");
        due.due_date = Some("2026-12-07".to_owned());
        let html = task_item(&due, today, "/").into_string();
        assert!(
            html.contains(r#"<time datetime="2026-12-07" title="2026-12-07">tomorrow</time>"#),
            "{html}"
        );
    }

    #[test]
    fn tasks_show_their_numbers_and_changes_offer_undo() {
        let mut shown = list(vec![task(3, "pay rent")], 1);
        let html = task_region(&filters("", "", ""), &shown).into_string();
        assert!(
            html.contains(r#"<span class="number">#3</span>pay rent</label>"#),
            "{html}"
        );
        assert!(!html.contains("undo-form"), "{html}");
        shown.undo = Some(UndoableChange {
            id: 42,
            summary: "deleted task 2 “buy <milk>”".to_owned(),
            expires_at: "2026-01-01T00:10:00.000Z".to_owned(),
        });
        let html = task_region(&filters("open", "", ""), &shown).into_string();
        assert!(
            html.contains(r#"<form class="undo-bar" id="undo-form" method="post" action="/undo""#),
            "{html}"
        );
        assert!(html.contains(r#"name="change" value="42""#), "{html}");
        assert!(
            html.contains(r#"name="back" value="/?status=open""#),
            "{html}"
        );
        assert!(
            html.contains("You deleted task 2 “buy &lt;milk&gt;”."),
            "{html}"
        );
        // An addition takes nothing away: no bar.
        if let Some(change) = shown.undo.as_mut() {
            change.summary = "added task 4 “x”".to_owned();
        }
        let html = task_region(&filters("", "", ""), &shown).into_string();
        assert!(!html.contains("undo-form"), "{html}");
    }

    #[test]
    fn long_lists_get_a_pager() {
        let tasks = (1..=PAGE_SIZE).map(|id| task(id, "t")).collect();
        let html = task_region(&filters("open", "", ""), &list(tasks, 120)).into_string();
        assert!(html.contains("Tasks 1–50 of 120"), "{html}");
        assert!(
            html.contains(r#"href="/?status=open&amp;offset=50">Next</a>"#),
            "{html}"
        );
        assert!(!html.contains("Previous"));
    }

    #[test]
    fn every_control_has_a_label() {
        let html = tasks_page(
            "a@example.com",
            &filters("", "", ""),
            &list(vec![task(7, "x")], 1),
            None,
        )
        .into_string();
        for id in [
            "new-title",
            "new-priority",
            "new-due",
            "search",
            "filter-priority",
            "sort",
            "chat-message",
            "done-7",
            "edit-title-",
            "edit-description-",
            "edit-priority-",
            "edit-due-",
            "edit-tags-",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "no control {id}");
            assert!(
                html.contains(&format!(r#"for="{id}""#)),
                "no label for {id}"
            );
        }
    }
}
