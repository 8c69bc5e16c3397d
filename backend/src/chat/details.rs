//! What a task message says besides its title and date: its priority, and what the parser
//! recognises but the app cannot keep (a repetition such as "every week", a time of day such
//! as "at 5pm"). Every finder looks at a window of a few words: linear in the message.

use chrono::{NaiveDate, Weekday};

use super::dates::{is_part_of_day, upcoming, weekday};
use super::words::Words;
use crate::model::Priority;

/// A priority phrase and the word indexes it used.
pub(crate) fn find_priority(w: &Words) -> Option<(Priority, Vec<usize>)> {
    named_priority(w).or_else(|| priority_word(w))
}

fn level(word: &str) -> Option<Priority> {
    match word {
        "high" | "highest" | "top" | "urgent" | "hi" => Some(Priority::High),
        "medium" | "normal" | "mid" | "med" | "average" => Some(Priority::Medium),
        "low" | "lowest" | "lo" => Some(Priority::Low),
        _ => None,
    }
}

/// "high priority", "priority: low", "low-priority", "p1", with a "with"/"at"/"a" before it.
fn named_priority(w: &Words) -> Option<(Priority, Vec<usize>)> {
    for i in 0..w.len() {
        let word = w.norm(i);
        let found = if let Some(p) = word.strip_suffix("-priority").and_then(level) {
            Some((p, vec![i]))
        } else if let Some(p) = p_number(word) {
            Some((p, vec![i]))
        } else if word == "priority" {
            level(w.norm(i + 1))
                .map(|p| (p, vec![i, i + 1]))
                .or_else(|| {
                    (i > 0)
                        .then(|| level(w.norm(i - 1)))
                        .flatten()
                        .map(|p| (p, vec![i - 1, i]))
                })
        } else {
            None
        };
        if let Some((priority, mut used)) = found {
            let start = used[0];
            if start > 0 && matches!(w.norm(start - 1), "a" | "with" | "at" | "as" | "is") {
                used.insert(0, start - 1);
            }
            return Some((priority, used));
        }
    }
    None
}

fn p_number(word: &str) -> Option<Priority> {
    match word {
        "p1" => Some(Priority::High),
        "p2" => Some(Priority::Medium),
        "p3" => Some(Priority::Low),
        _ => None,
    }
}

/// "urgent", "asap", "it's important", "!!", "not urgent", "no rush".
fn priority_word(w: &Words) -> Option<(Priority, Vec<usize>)> {
    for i in 0..w.len() {
        let word = w.norm(i);
        let negated = i > 0 && matches!(w.norm(i - 1), "not" | "non");
        match word {
            "urgent" | "urgently" | "asap" | "important" | "critical" | "!!" | "!!!" => {
                let priority = if negated {
                    Priority::Low
                } else {
                    Priority::High
                };
                return Some((priority, lead_in(w, if negated { i - 1 } else { i })));
            }
            "rush" | "hurry" if i > 0 && w.norm(i - 1) == "no" => {
                return Some((Priority::Low, lead_in(w, i - 1)));
            }
            "whenever" | "someday" | "eventually" => return Some((Priority::Low, vec![i])),
            _ => {}
        }
    }
    None
}

/// Word `at` and the "it's", "it is", "this is", "very", "super", "really" before it.
fn lead_in(w: &Words, at: usize) -> Vec<usize> {
    let mut start = at;
    while start > 0
        && matches!(
            w.norm(start - 1),
            "very" | "super" | "really" | "quite" | "extremely"
        )
    {
        start -= 1;
    }
    if start > 0
        && matches!(
            w.norm(start - 1),
            "it's" | "its" | "is" | "that's" | "thats"
        )
    {
        start -= 1;
        if start > 0 && w.norm(start) == "is" && matches!(w.norm(start - 1), "it" | "this" | "that")
        {
            start -= 1;
        }
    }
    let mut end = at + 1;
    if matches!(w.norm(at), "not" | "no") {
        end += 1;
    }
    (start..end).collect()
}

/// A repetition the app cannot keep yet: what was said, the words used and, for "every
/// Monday", the first such day as a due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repetition {
    /// The phrase as typed ("every week").
    pub(crate) said: String,
    /// The word indexes it used.
    pub(crate) used: Vec<usize>,
    /// The first occurrence, for a weekday repetition.
    pub(crate) first: Option<NaiveDate>,
}

/// "every week", "every other day", "every 2 weeks", "every Monday", "daily", "weekly",
/// "each month", "on Mondays".
pub(crate) fn find_repetition(w: &Words, today: NaiveDate) -> Option<Repetition> {
    for i in 0..w.len() {
        let word = w.norm(i);
        let used: Vec<usize> = match word {
            "daily" | "weekly" | "monthly" | "yearly" | "annually" | "fortnightly" | "nightly"
            | "biweekly" => vec![i],
            "every" | "each" => {
                let mut end = i + 1;
                if matches!(w.norm(end), "other" | "second") || w.norm(end).parse::<u32>().is_ok() {
                    end += 1;
                }
                if !is_period(w.norm(end)) {
                    continue;
                }
                // "every thursday night".
                if is_part_of_day(w.norm(end + 1)) {
                    end += 1;
                }
                (i..=end).collect()
            }
            // "mon wed fri": several weekdays in a row.
            _ if weekday(word).is_some() && weekday(w.norm(i + 1)).is_some() => {
                let mut end = i + 1;
                while weekday(w.norm(end + 1)).is_some() {
                    end += 1;
                }
                (i..=end).collect()
            }
            _ if plural_weekday(word).is_some()
                && matches!(w.norm(i.wrapping_sub(1)), "on" | "") =>
            {
                vec![i]
            }
            _ => continue,
        };
        // The first weekday named ("every Monday", "mon wed fri") is the first due date.
        let first = used
            .iter()
            .find_map(|&j| weekday(w.norm(j)).or_else(|| plural_weekday(w.norm(j))))
            .map(|day| upcoming(today, day, false));
        let said = used.iter().map(|&j| w.raw(j)).collect::<Vec<_>>().join(" ");
        let said = said.trim_end_matches([',', '.', '!', ';']).to_string();
        return Some(Repetition { said, used, first });
    }
    None
}

fn is_period(word: &str) -> bool {
    matches!(
        word,
        "day"
            | "days"
            | "week"
            | "weeks"
            | "month"
            | "months"
            | "year"
            | "years"
            | "morning"
            | "evening"
            | "night"
            | "weekday"
            | "weekend"
            | "fortnight"
    ) || weekday(word).is_some()
}

fn plural_weekday(word: &str) -> Option<Weekday> {
    // "mondays", not "thurs".
    word.strip_suffix('s')
        .filter(|w| w.ends_with("day"))
        .and_then(weekday)
}

/// A time of day ("at 5pm", "at 17:30", "at noon", "5pm"): what was said and the words used.
pub(crate) fn find_time(w: &Words) -> Option<(String, Vec<usize>)> {
    for i in 0..w.len() {
        let word = w.norm(i);
        // "in the morning", "in the evening".
        if word == "in"
            && w.norm(i + 1) == "the"
            && matches!(w.norm(i + 2), "morning" | "afternoon" | "evening")
        {
            let used: Vec<usize> = (i..i + 3).collect();
            let said = used.iter().map(|&j| w.raw(j)).collect::<Vec<_>>().join(" ");
            return Some((
                said.trim_end_matches([',', '.', '!', ';']).to_string(),
                used,
            ));
        }
        let with_at = i > 0 && w.norm(i - 1) == "at";
        let is_time = is_clock(word)
            || (with_at && matches!(word, "noon" | "midnight"))
            || (with_at
                && word.parse::<u32>().is_ok_and(|h| (1..=12).contains(&h))
                && matches!(w.norm(i + 1), "am" | "pm"));
        if !is_time {
            continue;
        }
        let start = if with_at { i - 1 } else { i };
        let end = if matches!(w.norm(i + 1), "am" | "pm") {
            i + 2
        } else {
            i + 1
        };
        let used: Vec<usize> = (start..end).collect();
        let said = used.iter().map(|&j| w.raw(j)).collect::<Vec<_>>().join(" ");
        return Some((
            said.trim_end_matches([',', '.', '!', ';']).to_string(),
            used,
        ));
    }
    None
}

/// "5pm", "5:30pm", "17:30", "9am".
fn is_clock(word: &str) -> bool {
    let body = word
        .strip_suffix("am")
        .or_else(|| word.strip_suffix("pm"))
        .map(|b| (b, true))
        .unwrap_or((word, false));
    let (digits, meridiem) = body;
    match digits.split_once(':') {
        Some((h, m)) => {
            h.parse::<u32>().is_ok_and(|h| h <= 23)
                && m.len() == 2
                && m.parse::<u32>().is_ok_and(|m| m <= 59)
        }
        None => meridiem && digits.parse::<u32>().is_ok_and(|h| (1..=12).contains(&h)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priority(text: &str) -> Option<(Priority, String)> {
        let w = Words::new(text);
        find_priority(&w).map(|(p, used)| (p, w.pick(&used).raw_text()))
    }

    #[test]
    fn priorities_take_their_lead_in_words() {
        assert_eq!(
            priority("finish it, it's urgent"),
            Some((Priority::High, "it's urgent".into()))
        );
        assert_eq!(
            priority("x with high priority"),
            Some((Priority::High, "with high priority".into()))
        );
        assert_eq!(
            priority("x not urgent"),
            Some((Priority::Low, "not urgent".into()))
        );
        assert_eq!(
            priority("x no rush"),
            Some((Priority::Low, "no rush".into()))
        );
        assert_eq!(priority("x p3"), Some((Priority::Low, "p3".into())));
        assert_eq!(priority("buy high heels"), None);
    }

    #[test]
    fn repetitions_and_times_are_recognised() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap_or_default();
        let repeat = |text: &str| find_repetition(&Words::new(text), today);
        assert_eq!(
            repeat("water plants every week").map(|r| r.said).as_deref(),
            Some("every week")
        );
        let monday = repeat("gym every Monday").unwrap_or_else(|| panic!("every Monday"));
        assert_eq!(monday.first, NaiveDate::from_ymd_opt(2026, 12, 14));
        assert!(repeat("bins on Tuesdays").is_some());
        assert!(repeat("every single thing").is_none());
        let time = |text: &str| find_time(&Words::new(text)).map(|(said, _)| said);
        assert_eq!(time("call at 5pm").as_deref(), Some("at 5pm"));
        assert_eq!(time("call at 5 pm").as_deref(), Some("at 5 pm"));
        assert_eq!(time("meet 17:30").as_deref(), Some("17:30"));
        assert_eq!(time("pay at 5 shops"), None);
    }
}
