//! The API's data: users, tasks, their inputs and the rules inputs must follow.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// Most tags on one task.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 50;

/// A signed-up user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// Email address (lower case).
    pub email: String,
    /// Display name, when given at sign-up.
    pub name: Option<String>,
    /// When the account was created (RFC 3339).
    pub created_at: String,
}

/// How urgent a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Do first.
    High,
}

impl Priority {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

/// A task, as every endpoint returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// The task's id: unique across users, used in the API's paths; not shown to people.
    pub id: i64,
    /// The task's number for its owner: a user's first task is 1, the next 2, and so on.
    /// Numbers are what people see and say ("mark 3 done"); a number is never given again,
    /// not even after its task is deleted.
    pub number: i64,
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 2000 characters (empty when none).
    pub description: String,
    /// Whether it is done.
    pub completed: bool,
    /// low, medium or high.
    pub priority: Priority,
    /// Due date (`YYYY-MM-DD`), or null.
    #[schema(value_type = Option<String>, format = Date, example = "2025-01-31")]
    pub due_date: Option<NaiveDate>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

/// `POST /api/auth/signup` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// Email address (unique, case-insensitive).
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// Optional display name (up to 100 characters).
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /api/auth/signin` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A session: the bearer token and who it belongs to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// When the token expires (RFC 3339).
    pub expires_at: String,
    /// The signed-in user.
    pub user: User,
}

/// `POST /api/tasks` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: String,
    /// Default false.
    #[serde(default)]
    pub completed: bool,
    /// Default medium.
    #[serde(default)]
    pub priority: Priority,
    /// `YYYY-MM-DD` or null.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date, example = "2025-01-31")]
    pub due_date: Option<NaiveDate>,
    /// Up to 20 tags of up to 50 characters.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `PATCH /api/tasks/{id}` body: only the fields present change; `"due_date": null` clears it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Done or not.
    #[serde(default)]
    pub completed: Option<bool>,
    /// New priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// New due date; null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, example = "2025-01-31")]
    pub due_date: Option<Option<NaiveDate>>,
    /// New tags (replace the old ones).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// Distinguishes a field set to null (`Some(None)`) from an absent one (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Every task.
    #[default]
    All,
    /// Not completed.
    Open,
    /// Completed.
    Done,
}

/// List order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Newest first.
    #[default]
    Created,
    /// Earliest due date first; tasks without one last.
    Due,
    /// High, medium, then low.
    Priority,
}

/// `GET /api/tasks` query.
#[derive(Debug, Clone, Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// all (default), open or done.
    #[serde(default)]
    pub status: StatusFilter,
    /// Text searched in titles, descriptions and tags (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// Only tasks with this priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// created (default), due or priority.
    #[serde(default)]
    pub sort: SortOrder,
    /// Page size, 1 to 200 (default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Tasks to skip (default 0).
    #[serde(default)]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// How many tasks the user has, by status (ignoring filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Every task.
    pub all: i64,
    /// Not completed.
    pub open: i64,
    /// Completed.
    pub done: i64,
}

/// `GET /api/tasks` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskList {
    /// The page of tasks.
    pub tasks: Vec<Task>,
    /// How many tasks match the filters (all pages).
    pub total: i64,
    /// The user's tasks by status.
    pub counts: Counts,
}

/// `DELETE /api/tasks/{id}` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    /// The id of the deleted task.
    pub deleted: i64,
}

/// `/healthz` and `/readyz` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Checks and normalizes a title.
pub fn check_title(title: &str) -> Result<String, String> {
    let title = title.trim();
    let length = title.chars().count();
    if length == 0 {
        return Err("title must not be empty".into());
    }
    if length > MAX_TITLE {
        return Err(format!(
            "title is {length} characters long; the limit is {MAX_TITLE}"
        ));
    }
    if title.chars().any(char::is_control) {
        return Err("title must not contain control characters".into());
    }
    Ok(title.to_string())
}

/// Checks a description.
pub fn check_description(description: &str) -> Result<String, String> {
    let length = description.chars().count();
    if length > MAX_DESCRIPTION {
        return Err(format!(
            "description is {length} characters long; the limit is {MAX_DESCRIPTION}"
        ));
    }
    Ok(description.trim().to_string())
}

/// Checks and normalizes tags (trimmed, duplicates dropped, order kept).
pub fn check_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim();
        let length = tag.chars().count();
        if length == 0 {
            return Err("tags must not be empty strings".into());
        }
        if length > MAX_TAG {
            return Err(format!(
                "tag `{}…` is {length} characters long; the limit is {MAX_TAG}",
                tag.chars().take(20).collect::<String>()
            ));
        }
        if !out.iter().any(|existing| existing == tag) {
            out.push(tag.to_string());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!(
            "a task has at most {MAX_TAGS} tags (got {})",
            out.len()
        ));
    }
    Ok(out)
}

/// Checks and normalizes an email address (lower case).
pub fn check_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err("email must be an address like name@example.com".into())
    }
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < 8 {
        return Err("password must be at least 8 characters long".into());
    }
    if password.len() > 128 {
        return Err("password must be at most 128 bytes long".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(check_title("  milk ").unwrap(), "milk");
        assert!(check_title("   ").is_err());
        assert!(check_title(&"é".repeat(200)).is_ok());
        assert!(check_title(&"x".repeat(201)).unwrap_err().contains("201"));
    }

    #[test]
    fn tags_are_deduplicated() {
        let tags = vec!["a".to_string(), " a ".to_string(), "b".to_string()];
        assert_eq!(check_tags(&tags).unwrap(), vec!["a", "b"]);
        assert!(check_tags(&[String::new()]).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(check_email(" Ann@Example.COM").unwrap(), "ann@example.com");
        for bad in ["ann", "@x.y", "a@b", "a b@c.d", "a@.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let patch: TaskPatch = serde_json::from_str(r#"{"due_date": null}"#).unwrap();
        assert_eq!(patch.due_date, Some(None));
        let patch: TaskPatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(patch.due_date, None);
    }
}
