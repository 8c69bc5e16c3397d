//! What the task page shows: status filter, search text, priority, sort and page, as
//! read from the page's query string and passed on to the backend.

use serde::Deserialize;

/// Tasks per page.
pub(crate) const PAGE_SIZE: u64 = 50;

/// Which tasks to show by completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    All,
    Open,
    Done,
}

impl Status {
    pub(crate) const ALL: [Self; 3] = [Self::All, Self::Open, Self::Done];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Open => "open",
            Self::Done => "done",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Open => "Open",
            Self::Done => "Done",
        }
    }
}

/// The raw query string of the task page; unknown values fall back to the defaults.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawFilters {
    pub(crate) status: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) priority: Option<String>,
    pub(crate) sort: Option<String>,
    pub(crate) offset: Option<String>,
}

/// The validated view of the task page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filters {
    pub(crate) status: Status,
    pub(crate) q: String,
    /// `low`, `medium` or `high`; `None` for any.
    pub(crate) priority: Option<&'static str>,
    /// `created`, `due` or `priority`.
    pub(crate) sort: &'static str,
    pub(crate) offset: u64,
}

/// The priorities, in the backend's words.
pub(crate) const PRIORITIES: [&str; 3] = ["low", "medium", "high"];

/// The sort orders, in the backend's words, with their labels.
pub(crate) const SORTS: [(&str, &str); 3] = [
    ("created", "Newest first"),
    ("due", "Due date"),
    ("priority", "Priority"),
];

impl From<RawFilters> for Filters {
    fn from(raw: RawFilters) -> Self {
        let status = match raw.status.as_deref() {
            Some("open") => Status::Open,
            Some("done") => Status::Done,
            _ => Status::All,
        };
        let priority = raw
            .priority
            .and_then(|p| PRIORITIES.into_iter().find(|known| *known == p));
        let sort = raw
            .sort
            .and_then(|s| SORTS.into_iter().map(|(key, _)| key).find(|key| *key == s))
            .unwrap_or("created");
        let offset = raw
            .offset
            .and_then(|o| o.parse::<u64>().ok())
            .unwrap_or(0)
            .min(1_000_000);
        let q: String = raw.q.unwrap_or_default().trim().chars().take(200).collect();
        Self {
            status,
            q,
            priority,
            sort,
            offset,
        }
    }
}

impl Filters {
    /// The query string for the backend's `GET /api/tasks`.
    pub(crate) fn backend_query(&self) -> String {
        self.query_for(self.status, PAGE_SIZE, self.offset)
    }

    fn query_for(&self, status: Status, limit: u64, offset: u64) -> String {
        let mut pairs = vec![
            ("status", status.as_str().to_owned()),
            ("sort", self.sort.to_owned()),
            ("limit", limit.to_string()),
            ("offset", offset.to_string()),
        ];
        if !self.q.is_empty() {
            pairs.push(("q", self.q.clone()));
        }
        if let Some(priority) = self.priority {
            pairs.push(("priority", priority.to_owned()));
        }
        encode(&pairs)
    }

    /// The backend query that counts the tasks with `status` that this page's search and
    /// priority match (one task fetched; its `total` is the count).
    pub(crate) fn count_query(&self, status: Status) -> String {
        self.query_for(status, 1, 0)
    }

    /// The page's own query string with `status` and `offset` replaced.
    pub(crate) fn href(&self, status: Status, offset: u64) -> String {
        let mut pairs = Vec::new();
        if status != Status::All {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if !self.q.is_empty() {
            pairs.push(("q", self.q.clone()));
        }
        if let Some(priority) = self.priority {
            pairs.push(("priority", priority.to_owned()));
        }
        if self.sort != "created" {
            pairs.push(("sort", self.sort.to_owned()));
        }
        if offset > 0 {
            pairs.push(("offset", offset.to_string()));
        }
        if pairs.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", encode(&pairs))
        }
    }

    /// Whether anything narrows the list beyond the status filter.
    pub(crate) fn narrowed(&self) -> bool {
        !self.q.is_empty() || self.priority.is_some()
    }
}

/// `application/x-www-form-urlencoded` pairs.
pub(crate) fn encode(pairs: &[(&str, String)]) -> String {
    // The base is a constant that always parses; only the query part is used.
    let Ok(mut url) = reqwest::Url::parse("http://query.invalid/") else {
        return String::new();
    };
    url.query_pairs_mut()
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
    url.query().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: &str, q: &str, priority: &str, sort: &str, offset: &str) -> RawFilters {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        RawFilters {
            status: some(status),
            q: some(q),
            priority: some(priority),
            sort: some(sort),
            offset: some(offset),
        }
    }

    #[test]
    fn unknown_values_fall_back_to_defaults() {
        let filters = Filters::from(raw("bogus", "  ", "urgent", "random", "-4"));
        assert_eq!(filters.status, Status::All);
        assert_eq!(filters.q, "");
        assert_eq!(filters.priority, None);
        assert_eq!(filters.sort, "created");
        assert_eq!(filters.offset, 0);
        assert_eq!(filters.href(Status::All, 0), "/");
    }

    #[test]
    fn backend_query_carries_every_filter_encoded() {
        let filters = Filters::from(raw("open", "milk & eggs", "high", "due", "50"));
        assert_eq!(
            filters.backend_query(),
            "status=open&sort=due&limit=50&offset=50&q=milk+%26+eggs&priority=high"
        );
        assert_eq!(
            filters.count_query(Status::Done),
            "status=done&sort=due&limit=1&offset=0&q=milk+%26+eggs&priority=high"
        );
        assert_eq!(
            filters.href(Status::Done, 0),
            "/?status=done&q=milk+%26+eggs&priority=high&sort=due"
        );
    }
}
