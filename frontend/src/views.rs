//! HTML, rendered on the server with maud. Pure functions: data in, markup out.

use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::backend::Task;
use crate::filters::{Filters, PAGE_SIZE, PRIORITIES, SORTS, Status};

/// Counts shown in the filter bar and the list of the current page.
pub(crate) struct TaskList {
    pub(crate) open: u64,
    pub(crate) done: u64,
    pub(crate) matching: u64,
    pub(crate) tasks: Vec<Task>,
    /// Today's date (`YYYY-MM-DD`), to mark overdue tasks.
    pub(crate) today: String,
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
                link rel="stylesheet" href=(assets::CSS_PATH);
                script src=(assets::JS_PATH) defer {}
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

/// The sign-in or sign-up page, with an optional error and the email typed so far.
pub(crate) fn auth_page(kind: AuthKind, email: &str, error: Option<&str>) -> Markup {
    let (other_text, other_href, other_link) = match kind {
        AuthKind::SignIn => ("New here?", "/signup", "Create an account"),
        AuthKind::SignUp => ("Already have an account?", "/signin", "Sign in"),
    };
    let password_hint = (kind == AuthKind::SignUp).then_some("At least 8 characters.");
    let body = html! {
        section.card.auth aria-labelledby="auth-heading" {
            h1 #auth-heading { (kind.title()) }
            @if let Some(message) = error {
                div.alert role="alert" #auth-error { (message) }
            }
            form method="post" action=(kind.action()) {
                div.field {
                    label for="email" { "Email" }
                    input #email type="email" name="email" autocomplete="email" required
                        value=(email) aria-describedby=[error.map(|_| "auth-error")];
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
    layout(kind.title(), None, body)
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

/// The task page: add form, search, the list and the chat panel.
pub(crate) fn tasks_page(email: &str, filters: &Filters, list: &TaskList) -> Markup {
    let body = html! {
        div.columns {
            section.tasks aria-labelledby="tasks-heading" {
                h1 #tasks-heading { "Your tasks" }
                form #add-form.card.add-form aria-label="Add a task" {
                    div.field.grow {
                        label for="new-title" { "New task" }
                        input #new-title type="text" name="title" required maxlength="200"
                            placeholder="What needs doing?" autocomplete="off";
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
            }
            aside.chat.card aria-labelledby="chat-heading" {
                h2 #chat-heading { "Assistant" }
                ol #chat-log.chat-log aria-live="polite" aria-label="Conversation" {
                    li.bot {
                        "Ask me to manage your tasks, e.g. "
                        q { "add buy milk tomorrow, high priority" } ", "
                        q { "what is still open?" } " or " q { "mark 1 done" } "."
                    }
                }
                form #chat-form.chat-form {
                    label for="chat-message" { "Message the assistant" }
                    div.row {
                        input #chat-message type="text" name="message" required
                            maxlength="2000" autocomplete="off";
                        button.button.primary type="submit" { "Send" }
                    }
                }
            }
        }
    };
    layout("Your tasks", Some(email), body)
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
    html! {
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
                @for task in &list.tasks { (task_item(task, &list.today)) }
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

fn task_item(task: &Task, today: &str) -> Markup {
    let id = &task.id;
    let overdue = !task.completed && task.due_date.as_deref().is_some_and(|due| due < today);
    let description = task.description.as_deref().unwrap_or("");
    html! {
        li.task.done[task.completed] #{"task-" (id)} data-id=(id) {
            div.task-row {
                input.toggle type="checkbox" id={"done-" (id)} data-action="toggle"
                    checked[task.completed];
                div.task-body {
                    label.title for={"done-" (id)} {
                        span.visually-hidden { @if task.completed { "Done: " } @else { "Open: " } }
                        (task.title)
                    }
                    @if !description.is_empty() {
                        p.description { (description) }
                    }
                    p.meta {
                        span class={"badge priority-" (task.priority)} { (capitalise(&task.priority)) " priority" }
                        @if let Some(due) = &task.due_date {
                            span.badge.due.overdue[overdue] {
                                @if overdue { "Overdue: " } @else { "Due " }
                                time datetime=(due) { (due) }
                            }
                        }
                        @for tag in &task.tags {
                            span.badge.tag { "#" (tag) }
                        }
                    }
                }
                div.task-actions {
                    button.button.secondary.small type="button" data-action="edit"
                        aria-expanded="false" aria-controls={"edit-" (id)} {
                        "Edit" span.visually-hidden { " “" (task.title) "”" }
                    }
                    button.button.danger.small type="button" data-action="delete" {
                        "Delete" span.visually-hidden { " “" (task.title) "”" }
                    }
                }
            }
            form.edit-form id={"edit-" (id)} data-id=(id) hidden aria-label={"Edit “" (task.title) "”"} {
                div.field {
                    label for={"edit-title-" (id)} { "Title" }
                    input id={"edit-title-" (id)} type="text" name="title" required maxlength="200" value=(task.title);
                }
                div.field {
                    label for={"edit-description-" (id)} { "Description" }
                    textarea id={"edit-description-" (id)} name="description" maxlength="2000" rows="2" { (description) }
                }
                div.edit-grid {
                    div.field {
                        label for={"edit-priority-" (id)} { "Priority" }
                        (priority_select(&format!("edit-priority-{id}"), &task.priority, false))
                    }
                    div.field {
                        label for={"edit-due-" (id)} { "Due date" }
                        input id={"edit-due-" (id)} type="date" name="due_date" value=(task.due_date.as_deref().unwrap_or(""));
                    }
                    div.field {
                        label for={"edit-tags-" (id)} { "Tags (comma-separated)" }
                        input id={"edit-tags-" (id)} type="text" name="tags" value=(task.tags.join(", "));
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
            today: "2026-01-01".to_owned(),
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
            "edit-title-7",
            "edit-description-7",
            "edit-priority-7",
            "edit-due-7",
            "edit-tags-7",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "no control {id}");
            assert!(
                html.contains(&format!(r#"for="{id}""#)),
                "no label for {id}"
            );
        }
    }
}
