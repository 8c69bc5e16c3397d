//! What follows "add", "remind me to", "I need to"...: one task or a list of them, each with
//! its title cleaned of the date, priority, tags and filler words around it.
//!
//! How a message becomes several tasks (docs/chatbot.md has examples):
//! - Items end at a comma, a semicolon or a line break; bullets ("-", "*", "1.") go.
//!   A leading "and" ("a, b, and c") goes, and in a comma list the last item splits at its
//!   first "and" ("a, b and c" is three tasks; so is "eggs, salt and pepper").
//! - An item that is only a date or priority ("..., high priority") or that starts like a
//!   remark ("..., it's urgent", "..., they close at 5") belongs to the item before it.
//! - Without commas, "and" joins two tasks only when both halves start with a task verb and
//!   the first has at least two words: "buy milk and call mum" is two tasks; "salt and
//!   pepper", "call mum and dad", "wash and dry the dishes" are one.
//! - A header before a colon ("add 3 tasks for tomorrow:") gives every item its date and
//!   priority; otherwise each item keeps its own.

use chrono::NaiveDate;

use super::dates::{When, find_date};
use super::details::{find_priority, find_repetition, find_time};
use super::words::Words;
use crate::model::Priority;

/// One task a message asks to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The title as typed, without the words that said something else.
    pub title: String,
    /// A priority, when the message names one.
    pub priority: Option<Priority>,
    /// A due date, when the message names one.
    pub due: Option<NaiveDate>,
    /// `#tags` in the message.
    pub tags: Vec<String>,
    /// What the message asked that a task cannot keep ("every week", "at 5pm"), as typed.
    pub not_kept: Vec<String>,
}

/// Words that start a task: they split "buy milk and call mum" into two, and a message that
/// starts with one ("buy milk tomorrow") adds a task without saying "add".
pub(crate) const TASK_VERBS: &[&str] = &[
    "buy", "call", "phone", "ring", "email", "e-mail", "text", "message", "pay", "book", "order",
    "pick", "clean", "wash", "fix", "repair", "write", "read", "send", "post", "mail", "water",
    "feed", "walk", "cook", "bake", "take", "bring", "return", "renew", "schedule", "prepare",
    "prep", "print", "sign", "submit", "review", "visit", "meet", "go", "study", "practice",
    "practise", "learn", "plan", "organize", "organise", "tidy", "vacuum", "hoover", "mow", "iron",
    "pack", "unpack", "charge", "install", "research", "collect", "deliver", "wrap", "shop",
    "grab", "fetch", "refill", "ask", "invite", "thank", "apply", "register", "sell", "donate",
    "vote", "exercise", "jog", "stretch", "meditate", "start", "do", "get", "file", "sort",
    "empty", "replace", "paint", "clear", "put", "drop", "see", "check", "confirm", "reply",
    "respond", "contact", "hang", "wrap", "pay", "top", "backup", "back", "transfer", "move",
    "update", "finish", "make", "cancel", "pickup",
];

/// Words a remark starts with: such an item continues the one before it.
const REMARK_STARTS: &[&str] = &[
    "it", "it's", "its", "they", "they're", "that", "that's", "which", "because", "so", "but",
    "as", "since", "this", "we", "he", "she", "i", "i'm", "very", "super", "really", "or",
];

/// Words a list header may hold besides a date and priority ("add 3 tasks for tomorrow:").
const HEADER_WORDS: &[&str] = &[
    "these",
    "the",
    "following",
    "tasks",
    "task",
    "items",
    "item",
    "things",
    "thing",
    "to",
    "my",
    "list",
    "todo",
    "todos",
    "to-do",
    "for",
    "a",
    "few",
    "some",
    "reminders",
    "reminder",
    "note",
    "notes",
    "new",
    "on",
    "by",
    "due",
    "with",
    "and",
    "all",
    "of",
    "them",
    "please",
    "shopping",
    "groceries",
];

/// Parses the words after an add command into drafts; `Err` is a question to ask instead
/// (an unclear date). `Ok` is empty when no title is left.
pub(crate) fn parse_add(rest: &Words, today: NaiveDate) -> Result<Vec<Draft>, String> {
    let (shared, body) = split_header(rest, today)?;
    let segments = segments(&body);
    let groups = group(&body, &segments, today)?;
    let mut drafts = Vec::with_capacity(groups.len());
    for range in groups {
        let piece = parse_piece(&body.range(range.0, range.1), today)?;
        let Some(mut draft) = piece.draft else {
            continue;
        };
        draft.due = draft.due.or(shared.due);
        draft.priority = draft.priority.or(shared.priority);
        draft.tags.extend(shared.tags.iter().cloned());
        draft.not_kept.extend(shared.not_kept.iter().cloned());
        drafts.push(draft);
    }
    Ok(drafts)
}

/// What a header before a colon gives every item.
#[derive(Debug, Default)]
struct Shared {
    due: Option<NaiveDate>,
    priority: Option<Priority>,
    tags: Vec<String>,
    not_kept: Vec<String>,
}

/// "add 3 tasks for tomorrow: a, b" → the header's shared details and the words after it.
/// A colon whose words before it are not header words ("Project X: write spec") stays in
/// the title.
fn split_header(rest: &Words, today: NaiveDate) -> Result<(Shared, Words), String> {
    let colon = (0..rest.len().min(10)).find(|&i| rest.ends_with_colon(i));
    let Some(colon) = colon.filter(|&c| c + 1 < rest.len()) else {
        return Ok((Shared::default(), rest.clone()));
    };
    let header = rest.until(colon + 1);
    let piece = parse_piece(&header, today)?;
    let header_only = piece.title_words.iter().all(|&i| {
        let word = header.norm(i);
        HEADER_WORDS.contains(&word) || word.parse::<u32>().is_ok()
    });
    if !header_only {
        return Ok((Shared::default(), rest.clone()));
    }
    let shared = Shared {
        due: piece.due,
        priority: piece.priority,
        tags: piece.tags,
        not_kept: piece.not_kept,
    };
    Ok((shared, rest.from(colon + 1)))
}

/// Item boundaries as word ranges: commas, semicolons and line ends; in a comma list the
/// last item splits at its first "and"; without commas "and" splits between task verbs.
fn segments(w: &Words) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..w.len() {
        // "May 5, 2028": the comma belongs to the date.
        let before_year = w
            .norm(i + 1)
            .parse::<u32>()
            .is_ok_and(|y| (1970..=2100).contains(&y))
            && w.norm(i).parse::<u32>().is_ok();
        if (w.ends_item(i) && !before_year) || i + 1 == w.len() {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if out.len() >= 2 {
        if let Some(&(last_start, last_end)) = out.last()
            && !is_remark(w, last_start)
        {
            let first_and = (last_start + 1..last_end).find(|&i| w.norm(i) == "and");
            if let Some(at) = first_and.filter(|&at| at + 1 < last_end) {
                out.pop();
                out.push((last_start, at));
                out.push((at, last_end));
            }
        }
        return out;
    }
    // One item: "and" splits between task verbs ("buy milk and call mum").
    let mut split = Vec::new();
    let mut start = 0;
    for i in 1..w.len() {
        // The half before starts after the "and" that split it off.
        let verb = if w.norm(start) == "and" {
            start + 1
        } else {
            start
        };
        let joins_tasks = w.norm(i) == "and"
            && TASK_VERBS.contains(&w.norm(i + 1))
            && TASK_VERBS.contains(&w.norm(verb))
            && i >= verb + 2;
        if joins_tasks {
            split.push((start, i));
            start = i;
        }
    }
    if !w.is_empty() {
        split.push((start, w.len()));
    }
    split
}

fn is_remark(w: &Words, start: usize) -> bool {
    REMARK_STARTS.contains(&w.norm(start))
}

/// Joins each remark, and each item with no title of its own, to the item before it.
fn group(
    w: &Words,
    segments: &[(usize, usize)],
    today: NaiveDate,
) -> Result<Vec<(usize, usize)>, String> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &(start, end) in segments {
        let belongs_before = match groups.last() {
            None => false,
            Some(_) if is_remark(w, start) => true,
            Some(_) => parse_piece(&w.range(start, end), today)?.draft.is_none(),
        };
        match groups.last_mut() {
            Some(last) if belongs_before => last.1 = end,
            _ => groups.push((start, end)),
        }
    }
    Ok(groups)
}

/// One item's details and title.
#[derive(Debug, Default)]
struct Piece {
    due: Option<NaiveDate>,
    priority: Option<Priority>,
    tags: Vec<String>,
    not_kept: Vec<String>,
    /// Indexes of the words left for the title.
    title_words: Vec<usize>,
    /// `None` when no title is left.
    draft: Option<Draft>,
}

fn parse_piece(w: &Words, today: NaiveDate) -> Result<Piece, String> {
    let mut used = vec![false; w.len()];
    let mut piece = Piece::default();
    if let Some(repetition) = find_repetition(w, today) {
        mark(&mut used, &repetition.used);
        piece.due = repetition.first;
        piece.not_kept.push(repetition.said);
    }
    if let Some((said, words)) = find_time(&w.masked(&used)) {
        mark(&mut used, &words);
        piece.not_kept.push(said);
    }
    if let Some(phrase) = find_date(&w.masked(&used), today) {
        match phrase.when {
            When::On(date) => piece.due = Some(date),
            When::Unclear(question) => return Err(question),
        }
        mark(&mut used, &phrase.used);
    }
    if let Some((priority, words)) = find_priority(&w.masked(&used)) {
        piece.priority = Some(priority);
        mark(&mut used, &words);
    }
    for (i, taken) in used.iter_mut().enumerate() {
        if let Some(tag) = w.norm(i).strip_prefix('#')
            && !tag.is_empty()
            && tag.parse::<i64>().is_err()
        {
            piece.tags.push(tag.to_string());
            *taken = true;
        }
    }
    drop_connectors(w, &mut used);
    drop_fillers(w, &mut used);
    piece.title_words = (0..w.len()).filter(|&i| !used[i]).collect();
    let title = clean_title(&w.pick(&piece.title_words).raw_text());
    piece.draft = title.map(|title| Draft {
        title,
        priority: piece.priority,
        due: piece.due,
        tags: piece.tags.clone(),
        not_kept: piece.not_kept.clone(),
    });
    Ok(piece)
}

fn mark(used: &mut [bool], indexes: &[usize]) {
    for &i in indexes {
        if let Some(slot) = used.get_mut(i) {
            *slot = true;
        }
    }
}

/// Consumes the connectors that only linked a date or priority to the title ("on friday",
/// "due today", ", high priority", "with low priority"): a connector goes when the word after
/// it went, or when every word after it did. Whether a word goes depends only on the words
/// after it, so one pass from the end settles all of them (linear in the words; the first
/// version repeated a quadratic pass until nothing changed, cubic in all).
fn drop_connectors(w: &Words, used: &mut [bool]) {
    const CONNECTORS: [&str; 14] = [
        "on", "by", "due", "for", "with", "and", "at", "before", "until", "-", "is", "then",
        "starting", "from",
    ];
    let mut all_after_used = true;
    for i in (0..w.len()).rev() {
        if !used[i] && CONNECTORS.contains(&w.norm(i)) {
            let next_used = used.get(i + 1).copied().unwrap_or(true);
            if all_after_used || next_used {
                used[i] = true;
            }
        }
        all_after_used &= used[i];
    }
}

/// Filler at the start of a title ("to", "about", "that I need to") and at its end
/// ("please", "thanks", "to my list").
fn drop_fillers(w: &Words, used: &mut [bool]) {
    const LEADING: &[&[&str]] = &[
        &["and"],
        &["also"],
        &["then"],
        &["to"],
        &["about"],
        &["please"],
        &["that", "i", "need", "to"],
        &["that", "i", "have", "to"],
        &["i", "need", "to"],
        &["i", "have", "to"],
        &["need", "to"],
        &["a", "reminder", "to"],
        &["reminder", "to"],
        &["a", "task", "to"],
        &["me", "to"],
        &["called"],
        &["named"],
        // "add a dentist appointment" is the appointment; checked last, after "a task to".
        &["a"],
        &["an"],
    ];
    const TRAILING: &[&[&str]] = &[
        &["please"],
        &["thanks"],
        &["thank", "you"],
        &["thx"],
        &["ty"],
        &["to", "my", "list"],
        &["to", "the", "list"],
        &["on", "my", "list"],
        &["to", "my", "todo", "list"],
        &["to", "my", "to-do", "list"],
        &["to", "my", "to", "do", "list"],
        &["to", "the", "todo", "list"],
        &["to", "my", "tasks"],
        &["to", "my", "todos"],
        &["to", "the", "tasks"],
        &["to", "do"],
        &["for", "me"],
        &["as", "a", "task"],
    ];
    let left: Vec<usize> = (0..w.len()).filter(|&i| !used[i]).collect();
    let kept = w.pick(&left);
    let mut start = 0;
    'leading: loop {
        for phrase in LEADING {
            if kept.matches_at(start, phrase) && start + phrase.len() < kept.len() {
                start += phrase.len();
                continue 'leading;
            }
        }
        break;
    }
    let mut end = kept.len();
    'trailing: loop {
        for phrase in TRAILING {
            // A title may end up empty: "..., thank you" is no task of its own.
            if end >= start + phrase.len() && kept.matches_at(end - phrase.len(), phrase) {
                end -= phrase.len();
                continue 'trailing;
            }
        }
        break;
    }
    for (k, &i) in left.iter().enumerate() {
        if k < start || k >= end {
            used[i] = true;
        }
    }
}

/// Trims punctuation around a title, and quotes around all of it: "\"clean garage\"" is
/// `clean garage`, while "read 'War and Peace'" keeps its quotes.
pub(crate) fn clean_title(text: &str) -> Option<String> {
    const QUOTES: [char; 6] = ['"', '\'', '“', '”', '‘', '’'];
    let mut title = text.trim();
    loop {
        let trimmed = title
            .trim_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?' | ':' | ';' | '-')
            })
            .trim();
        let quoted = trimmed.chars().count() >= 2
            && trimmed.starts_with(QUOTES)
            && trimmed.ends_with(QUOTES);
        let dangling = trimmed.starts_with(['"', '“']) && !trimmed[1..].contains(['"', '”'])
            || trimmed.ends_with(['"', '”']) && !trimmed[..trimmed.len() - 1].contains(['"', '“']);
        let next = if quoted {
            let mut chars = trimmed.chars();
            chars.next();
            chars.next_back();
            chars.as_str()
        } else if dangling {
            trimmed.trim_matches(['"', '“', '”'])
        } else {
            trimmed
        };
        if next == title {
            break;
        }
        title = next;
    }
    (!title.is_empty()).then(|| title.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(text: &str) -> Vec<String> {
        let today = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap_or_default();
        parse_add(&Words::new(text), today)
            .unwrap_or_default()
            .into_iter()
            .map(|draft| draft.title)
            .collect()
    }

    #[test]
    fn lists_split_where_a_person_means_several_tasks() {
        assert_eq!(titles("a, b and c"), ["a", "b", "c"]);
        assert_eq!(titles("3 tasks: a, b, and c"), ["a", "b", "c"]);
        assert_eq!(titles("buy milk and call mum"), ["buy milk", "call mum"]);
        assert_eq!(titles("salt and pepper"), ["salt and pepper"]);
        assert_eq!(titles("call mum and dad"), ["call mum and dad"]);
        assert_eq!(titles("eggs\nmilk\n- bread"), ["eggs", "milk", "bread"]);
        assert_eq!(
            titles("finish the report by Friday, it's urgent"),
            ["finish the report"]
        );
        assert_eq!(titles("Project X: write spec"), ["Project X: write spec"]);
    }
}
