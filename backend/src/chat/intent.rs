//! The deterministic intent parser: plain English in, one [`Intent`] out. Pure: the date
//! "today" is an argument, nothing touches the database.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::model::Priority;

/// What a chat message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Create a task.
    Add {
        /// The title.
        title: String,
        /// A priority, when the message names one.
        priority: Option<Priority>,
        /// A due date, when the message names one.
        due: Option<NaiveDate>,
        /// `#tags` in the message.
        tags: Vec<String>,
    },
    /// Show tasks.
    List(ListFilter),
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
    /// Unclear: answer with what the chatbot can do.
    Help,
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
    /// Open and due before today.
    Overdue,
    /// Open with this priority.
    Priority(Priority),
}

/// How a message names a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// By id: "task 3", "#3", "3".
    Id(i64),
    /// By (part of) its title: "the milk task".
    Title(String),
}

/// Words that may start a message without changing what it asks.
const POLITE: &[&str] = &[
    "please", "pls", "hey", "hi", "ok", "okay", "can", "could", "would", "will", "you", "kindly",
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
    let mut start = 0;
    while start < words.len() && POLITE.contains(&words.norm(start)) {
        start += 1;
    }
    let w = words.from(start);
    parse_words(&w, today).unwrap_or(Intent::Help)
}

fn parse_words(w: &Words, today: NaiveDate) -> Option<Intent> {
    if w.is_empty() {
        return None;
    }
    let first = w.norm(0);
    let rest_at = |n: usize| w.from(n);

    // Help and greetings.
    if matches!(
        first,
        "help" | "hello" | "hallo" | "howdy" | "commands" | "?"
    ) || w.starts_with(&["what", "can", "you", "do"])
        || w.starts_with(&["how", "does", "this", "work"])
    {
        return Some(Intent::Help);
    }

    // Add.
    for prefix in ADD_PREFIXES {
        if w.starts_with(prefix) {
            return parse_add(&rest_at(prefix.len()), today);
        }
    }
    if let Some(title) = w.raw_text().strip_prefix_ci("todo:") {
        return parse_add(&Words::new(title), today);
    }

    // Rename: "rename <target> to <title>", "change/update <target> to <title>".
    if matches!(first, "rename" | "retitle") {
        let rest = rest_at(1);
        let (target, title) = rest.split_on(&["to", "as", "into"])?;
        return Some(Intent::Rename {
            target: parse_target(&target)?,
            title: clean_title(&title.raw_text())?,
        });
    }

    // Priority.
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
        let mut keep: Vec<usize> = (1..w.len())
            .filter(|i| !consumed.contains(i))
            .filter(|&i| !matches!(w.norm(i), "priority" | "to" | "of" | "as" | "a" | "for"))
            .collect();
        keep.retain(|&i| !matches!(w.norm(i), "the" | "level"));
        let target = w.pick(&keep);
        return Some(Intent::SetPriority {
            target: parse_target(&target.without_possessive())?,
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

    // Due dates.
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
    if matches!(first, "move" | "postpone" | "reschedule" | "push" | "defer") {
        let rest = rest_at(1);
        let (target, when) = rest.split_on(&["to", "until", "till", "for"])?;
        let (due, _) = find_date(&when, today)?;
        return Some(Intent::SetDue {
            target: parse_target(&target)?,
            due: Some(due),
        });
    }
    if matches!(first, "set" | "change" | "update") && (w.contains("due") || w.contains("deadline"))
    {
        // "set the due date of 3 to friday", "change the deadline for the milk task to 2025-03-01".
        let rest = rest_at(1);
        let (head, when) = rest.split_last_on(&["to"])?;
        let (due, _) = find_date(&when, today)?;
        let (_, target) = head.split_on(&["of", "for", "on"])?;
        return Some(Intent::SetDue {
            target: parse_target(&target)?,
            due: Some(due),
        });
    }

    // "change/update <target> to <title>".
    if matches!(first, "change" | "update" | "edit") {
        let rest = rest_at(1);
        let (target, title) = rest.split_on(&["to", "into"])?;
        let target = target.strip_words(&["the", "title", "name", "of"]);
        return Some(Intent::Rename {
            target: parse_target(&target)?,
            title: clean_title(&title.raw_text())?,
        });
    }

    // Delete.
    for prefix in DELETE_PREFIXES {
        if w.starts_with(prefix) {
            return Some(Intent::Delete(parse_target(&rest_at(prefix.len()))?));
        }
    }

    // Reopen.
    for prefix in REOPEN_PREFIXES {
        if w.starts_with(prefix) {
            return Some(Intent::Reopen(parse_target(&rest_at(prefix.len()))?));
        }
    }

    // "mark <target> [as] done|open".
    if matches!(first, "mark" | "set" | "flag") {
        let rest = rest_at(1);
        for suffix in REOPEN_SUFFIXES {
            if rest.ends_with(suffix) {
                let target = rest
                    .until(rest.len() - suffix.len())
                    .strip_trailing(&["as"]);
                return Some(Intent::Reopen(parse_target(&target)?));
            }
        }
        let target = DONE_SUFFIXES
            .iter()
            .find(|suffix| rest.ends_with(suffix))
            .map_or(rest.clone(), |suffix| rest.until(rest.len() - suffix.len()))
            .strip_trailing(&["as"]);
        return Some(Intent::Complete(parse_target(&target)?));
    }

    // Complete.
    for prefix in COMPLETE_PREFIXES {
        if w.starts_with(prefix) {
            let rest = rest_at(prefix.len()).strip_trailing(&["off"]);
            return Some(Intent::Complete(parse_target(&rest)?));
        }
    }

    // Questions and "show ..." lists.
    if LIST_STARTS.contains(&first) || w.contains("tasks") && w.len() <= 4 {
        return Some(Intent::List(list_filter(w, today)));
    }

    // "<target> is done", "<target> is due friday".
    if let Some((target, state)) = w.split_last_on(&["is", "are"]) {
        if DONE_SUFFIXES
            .iter()
            .any(|suffix| state.ends_with(suffix) && state.len() == suffix.len())
        {
            return Some(Intent::Complete(parse_target(&target)?));
        }
        if state.norm(0) == "due"
            && let Some((due, _)) = find_date(&state.from(1), today)
        {
            return Some(Intent::SetDue {
                target: parse_target(&target)?,
                due: Some(due),
            });
        }
    }
    None
}

const ADD_PREFIXES: &[&[&str]] = &[
    &["add", "a", "new", "task", "to"],
    &["add", "a", "task", "to"],
    &["add", "a", "new", "task"],
    &["add", "a", "task"],
    &["add", "task", "to"],
    &["add", "task"],
    &["add", "new", "task"],
    &["add", "a", "reminder", "to"],
    &["add"],
    &["create", "a", "new", "task"],
    &["create", "a", "task", "to"],
    &["create", "a", "task"],
    &["create", "task"],
    &["create"],
    &["new", "task"],
    &["remind", "me", "to"],
    &["remind", "me"],
    &["i", "need", "to"],
    &["i", "have", "to"],
    &["i", "must"],
    &["i", "should"],
    &["don't", "let", "me", "forget", "to"],
    &["note", "to", "self"],
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
];

const LIST_STARTS: &[&str] = &[
    "what", "what's", "whats", "which", "show", "list", "display", "give", "anything", "do", "how",
    "tell", "view", "see", "my", "any", "get",
];

fn parse_add(rest: &Words, today: NaiveDate) -> Option<Intent> {
    let mut consumed = vec![false; rest.len()];
    let mut due = None;
    if let Some((date, range)) = find_date(rest, today) {
        due = Some(date);
        mark(&mut consumed, &range);
    }
    let mut priority = None;
    if let Some((found, range)) = find_priority(rest) {
        priority = Some(found);
        mark(&mut consumed, &range);
    }
    let mut tags = Vec::new();
    for (i, used) in consumed.iter_mut().enumerate() {
        if let Some(tag) = rest.norm(i).strip_prefix('#')
            && !tag.is_empty()
            && tag.parse::<i64>().is_err()
        {
            tags.push(tag.to_string());
            *used = true;
        }
    }
    drop_connectors(rest, &mut consumed);
    let keep: Vec<usize> = (0..rest.len()).filter(|&i| !consumed[i]).collect();
    let title = clean_title(&rest.pick(&keep).raw_text())?;
    Some(Intent::Add {
        title,
        priority,
        due,
        tags,
    })
}

fn mark(consumed: &mut [bool], range: &[usize]) {
    for &i in range {
        consumed[i] = true;
    }
}

/// Consumes the connectors that only linked a date or priority to the title ("on friday",
/// "due today", ", high priority", "with low priority"): a connector goes when the word after
/// it went, or when every word after it did. Whether a word goes depends only on the words
/// after it, so one pass from the end settles all of them (linear in the words; the first
/// version repeated a quadratic pass until nothing changed, cubic in all).
fn drop_connectors(rest: &Words, consumed: &mut [bool]) {
    const CONNECTORS: [&str; 11] = [
        "on", "by", "due", "for", "with", "and", "at", "before", "until", "-", "is",
    ];
    let mut all_after_consumed = true;
    for i in (0..rest.len()).rev() {
        if !consumed[i] && CONNECTORS.contains(&rest.norm(i)) {
            let next_consumed = consumed.get(i + 1).copied().unwrap_or(true);
            if all_after_consumed || next_consumed {
                consumed[i] = true;
            }
        }
        all_after_consumed &= consumed[i];
    }
}

fn list_filter(w: &Words, today: NaiveDate) -> ListFilter {
    if w.contains("overdue") || w.contains("late") || w.contains("missed") {
        return ListFilter::Overdue;
    }
    if (w.contains("due") || w.contains("today") || w.contains("tomorrow"))
        && let Some((date, _)) = find_date(w, today)
    {
        return ListFilter::DueOn(date);
    }
    if let Some((priority, _)) = find_priority(w) {
        return ListFilter::Priority(priority);
    }
    let any = |words: &[&str]| words.iter().any(|word| w.contains(word));
    if any(&["done", "completed", "finished", "complete", "accomplished"]) {
        return ListFilter::Done;
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

/// Finds a priority phrase; returns it and the word indexes it used.
fn find_priority(w: &Words) -> Option<(Priority, Vec<usize>)> {
    let level = |word: &str| match word {
        "high" | "highest" | "top" | "urgent" => Some(Priority::High),
        "medium" | "normal" | "mid" | "med" => Some(Priority::Medium),
        "low" | "lowest" => Some(Priority::Low),
        _ => None,
    };
    for i in 0..w.len() {
        let word = w.norm(i);
        if let Some(name) = word.strip_suffix("-priority").and_then(level) {
            return Some((name, vec![i]));
        }
        if word == "priority" || word == "priority:" {
            if i + 1 < w.len()
                && let Some(p) = level(w.norm(i + 1))
            {
                return Some((p, vec![i, i + 1]));
            }
            if i > 0
                && let Some(p) = level(w.norm(i - 1))
            {
                return Some((p, vec![i - 1, i]));
            }
        }
    }
    for i in 0..w.len() {
        match w.norm(i) {
            "urgent" | "urgently" | "asap" | "important" | "critical" => {
                return Some((Priority::High, vec![i]));
            }
            "!!" | "!!!" => return Some((Priority::High, vec![i])),
            _ => {}
        }
    }
    None
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

/// Finds a date phrase; returns the date and the word indexes it used.
fn find_date(w: &Words, today: NaiveDate) -> Option<(NaiveDate, Vec<usize>)> {
    for i in 0..w.len() {
        let word = w.norm(i);
        let next = |n: usize| if i + n < w.len() { w.norm(i + n) } else { "" };
        match word {
            "today" | "tonight" => return Some((today, vec![i])),
            "tomorrow" | "tmrw" | "tmr" | "tomorow" => {
                return Some((today + Duration::days(1), vec![i]));
            }
            "day" if next(1) == "after" && next(2) == "tomorrow" => {
                let mut range = vec![i, i + 1, i + 2];
                if i > 0 && w.norm(i - 1) == "the" {
                    range.push(i - 1);
                }
                return Some((today + Duration::days(2), range));
            }
            "next" if next(1) == "week" => {
                return Some((today + Duration::days(7), vec![i, i + 1]));
            }
            "in" => {
                if let Ok(n) = next(1).parse::<i64>()
                    && (0..=3650).contains(&n)
                {
                    let days = match next(2) {
                        "day" | "days" => Some(n),
                        "week" | "weeks" => Some(n * 7),
                        _ => None,
                    };
                    if let Some(days) = days {
                        return Some((today + Duration::days(days), vec![i, i + 1, i + 2]));
                    }
                }
            }
            _ => {}
        }
        if let Some(weekday) = weekday(word) {
            let mut range = vec![i];
            if i > 0 && matches!(w.norm(i - 1), "next" | "this" | "coming") {
                range.push(i - 1);
            }
            let ahead = (7 + weekday.num_days_from_monday() as i64
                - today.weekday().num_days_from_monday() as i64)
                % 7;
            let ahead = if ahead == 0 { 7 } else { ahead };
            return Some((today + Duration::days(ahead), range));
        }
        if let Ok(date) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
            return Some((date, vec![i]));
        }
    }
    None
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// "3", "#3", "task 3", "number 3", "the milk task", "buy milk".
fn parse_target(w: &Words) -> Option<Target> {
    let w = w.strip_words(&[
        "the", "my", "a", "task", "tasks", "item", "todo", "number", "no", "one", "called",
        "named", "entry",
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

/// Trims punctuation, quotes and filler around a title.
fn clean_title(text: &str) -> Option<String> {
    let trimmed = text
        .trim()
        .trim_matches(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '“' | '”' | '‘' | '’' | ',' | '.' | '!' | '?' | ':' | ';' | '-'
                )
        })
        .trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// A message split into words, each with its original text and a normalized form
/// (lower case, surrounding punctuation removed).
#[derive(Debug, Clone)]
struct Words {
    raw: Vec<String>,
    norm: Vec<String>,
}

impl Words {
    fn new(text: &str) -> Self {
        let raw: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let norm = raw
            .iter()
            .map(|word| {
                word.trim_matches(|c: char| {
                    matches!(
                        c,
                        ',' | '.' | '!' | '?' | ';' | ':' | '"' | '“' | '”' | '(' | ')' | '\''
                    )
                })
                .to_lowercase()
            })
            .collect();
        Self { raw, norm }
    }

    fn len(&self) -> usize {
        self.raw.len()
    }

    fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    fn norm(&self, i: usize) -> &str {
        &self.norm[i]
    }

    fn contains(&self, word: &str) -> bool {
        self.norm.iter().any(|w| w == word)
    }

    fn starts_with(&self, words: &[&str]) -> bool {
        words.len() <= self.len() && words.iter().enumerate().all(|(i, w)| self.norm(i) == *w)
    }

    fn ends_with(&self, words: &[&str]) -> bool {
        let offset = match self.len().checked_sub(words.len()) {
            Some(offset) => offset,
            None => return false,
        };
        words
            .iter()
            .enumerate()
            .all(|(i, w)| self.norm(offset + i) == *w)
    }

    fn from(&self, start: usize) -> Self {
        let start = start.min(self.len());
        Self {
            raw: self.raw[start..].to_vec(),
            norm: self.norm[start..].to_vec(),
        }
    }

    fn until(&self, end: usize) -> Self {
        let end = end.min(self.len());
        Self {
            raw: self.raw[..end].to_vec(),
            norm: self.norm[..end].to_vec(),
        }
    }

    fn pick(&self, indexes: &[usize]) -> Self {
        Self {
            raw: indexes.iter().map(|&i| self.raw[i].clone()).collect(),
            norm: indexes.iter().map(|&i| self.norm[i].clone()).collect(),
        }
    }

    /// Splits at the first of `separators`: (before, after), both non-empty.
    fn split_on(&self, separators: &[&str]) -> Option<(Self, Self)> {
        let at = (1..self.len()).find(|&i| separators.contains(&self.norm(i)))?;
        let (before, after) = (self.until(at), self.from(at + 1));
        (!after.is_empty()).then_some((before, after))
    }

    /// Splits at the last of `separators`.
    fn split_last_on(&self, separators: &[&str]) -> Option<(Self, Self)> {
        let at = (1..self.len())
            .rev()
            .find(|&i| separators.contains(&self.norm(i)))?;
        let (before, after) = (self.until(at), self.from(at + 1));
        (!after.is_empty()).then_some((before, after))
    }

    fn strip_words(&self, words: &[&str]) -> Self {
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| !words.contains(&self.norm(i)))
            .collect();
        self.pick(&keep)
    }

    fn strip_trailing(&self, words: &[&str]) -> Self {
        let mut end = self.len();
        while end > 0 && words.contains(&self.norm(end - 1)) {
            end -= 1;
        }
        self.until(end)
    }

    /// "3's" → "3", "milk's" → "milk".
    fn without_possessive(&self) -> Self {
        let mut out = self.clone();
        for (raw, norm) in out.raw.iter_mut().zip(out.norm.iter_mut()) {
            for suffix in ["'s", "’s"] {
                if let Some(stripped) = norm.strip_suffix(suffix) {
                    *norm = stripped.to_string();
                    if let Some(raw_stripped) = raw.strip_suffix(suffix) {
                        *raw = raw_stripped.to_string();
                    }
                }
            }
        }
        out
    }

    fn raw_text(&self) -> String {
        self.raw.join(" ")
    }
}

trait StripPrefixCi {
    fn strip_prefix_ci(&self, prefix: &str) -> Option<&str>;
}

impl StripPrefixCi for String {
    fn strip_prefix_ci(&self, prefix: &str) -> Option<&str> {
        let head = self.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| &self[prefix.len()..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
    }

    fn added_title(message: &str) -> Option<String> {
        match parse(message, today()) {
            Intent::Add { title, .. } => Some(title),
            _ => None,
        }
    }

    #[test]
    fn connectors_that_only_link_a_date_or_priority_go() {
        assert_eq!(
            added_title("add call mum on friday with high priority").as_deref(),
            Some("call mum")
        );
        assert_eq!(
            added_title("add pay rent by tomorrow and - on").as_deref(),
            Some("pay rent")
        );
        assert_eq!(
            added_title("add bread and butter").as_deref(),
            Some("bread and butter"),
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
        assert_eq!(added_title(&message).as_deref(), Some("water the plants"));
        message.push_str(" on");
        assert_eq!(parse(&message, today()), Intent::Help, "longer is not read");
    }
}
