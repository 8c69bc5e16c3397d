//! Date phrases in chat messages: "tomorrow", "next Friday", "on the 1st", "March 3",
//! "in 2 weeks", "end of the month", "2027-03-04", "13/4". Each phrase is matched in a
//! window of a few words, so finding one is linear in the message.
//!
//! The rules (docs/chatbot.md lists them with examples):
//! - A bare or "this"/"coming" weekday is the first such day after today (today's own name
//!   means a week from today). "next `<weekday>`" is that day in next week (weeks start on
//!   Monday): on a Wednesday, "next Friday" is nine days away, "Friday" two.
//! - A day of the month without a month ("the 1st") is its next occurrence, today included;
//!   a month and day without a year ("March 3") likewise.
//! - "end of the week" is Sunday, "end of the month" its last day, "next month" the 1st of
//!   next month, "next week" seven days from today.
//! - Numeric dates: ISO `2027-03-04` always; `d/m` or `m/d` only when one reading exists
//!   ("13/4", "4/13") or both agree ("5/5"). "3/4" could be 3 April or 4 March: the parser
//!   asks instead of guessing.

use chrono::{Datelike, Duration, Months, NaiveDate, Weekday};

use super::words::Words;

/// A date phrase's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum When {
    /// This day.
    On(NaiveDate),
    /// Not a date the parser can settle: the reply asks, with this explanation.
    Unclear(String),
}

/// A date phrase found in a message: what it means and the words it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatePhrase {
    /// Its meaning.
    pub(crate) when: When,
    /// The word indexes it used (they leave the title).
    pub(crate) used: Vec<usize>,
}

/// Finds the first date phrase in `w`, resolving it against `today`.
pub(crate) fn find_date(w: &Words, today: NaiveDate) -> Option<DatePhrase> {
    (0..w.len()).find_map(|i| date_at(w, i, today))
}

fn found(date: NaiveDate, used: Vec<usize>) -> Option<DatePhrase> {
    Some(DatePhrase {
        when: When::On(date),
        used,
    })
}

/// A date phrase starting at word `i` (the "the" before an ordinal is taken along).
fn date_at(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    let word = w.norm(i);
    let next = |n: usize| w.norm(i + n);
    let span = |n: usize| (i..i + n).collect::<Vec<usize>>();
    match word {
        "today" | "tonight" | "eod" => return found(today, span(1)),
        "tomorrow" => {
            let n = if is_part_of_day(next(1)) { 2 } else { 1 };
            return found(today + Duration::days(1), span(n));
        }
        "this" if is_part_of_day(next(1)) => return found(today, span(2)),
        "day" if next(1) == "after" && next(2) == "tomorrow" => {
            return found(today + Duration::days(2), with_the(w, i, span(3)));
        }
        "end" | "start" | "beginning" => return period_edge(w, i, today),
        "eow" => return found(end_of_week(today), span(1)),
        "eom" => return found(end_of_month(today), span(1)),
        "next" => return next_period(w, i, today),
        "weekend" | "this" | "coming" if is_weekend(next(0)) || is_weekend(next(1)) => {
            let n = if is_weekend(word) { 1 } else { 2 };
            let used = with_the(w, i, span(n));
            return found(upcoming(today, Weekday::Sat, true), used);
        }
        "in" => return in_amount(w, i, today),
        _ => {}
    }
    if let Some(phrase) = amount_from_now(w, i, today) {
        return Some(phrase);
    }
    if let Some(weekday) = weekday(word) {
        let (date, used) = match w.norm(i.wrapping_sub(1)) {
            "next" if i > 0 => (in_next_week(today, weekday), vec![i - 1, i]),
            "this" | "coming" if i > 0 => (upcoming(today, weekday, false), vec![i - 1, i]),
            _ => (upcoming(today, weekday, false), vec![i]),
        };
        let mut used = used;
        // "sunday evening": the part of the day goes with the day.
        if is_part_of_day(next(1)) {
            used.push(i + 1);
        }
        return found(date, used);
    }
    if let Ok(date) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
        return found(date, span(1));
    }
    if word.contains('/') {
        return numeric_date(word, today).map(|when| DatePhrase {
            when,
            used: span(1),
        });
    }
    month_date(w, i, today).or_else(|| ordinal_date(w, i, today))
}

/// Adds the "the" before word `i` to `used`.
fn with_the(w: &Words, i: usize, mut used: Vec<usize>) -> Vec<usize> {
    if i > 0 && w.norm(i - 1) == "the" {
        used.insert(0, i - 1);
    }
    used
}

/// "morning", "night", …: said after a day, they name no other date.
pub(crate) fn is_part_of_day(word: &str) -> bool {
    matches!(
        word,
        "morning" | "afternoon" | "evening" | "night" | "am" | "pm"
    )
}

fn is_weekend(word: &str) -> bool {
    word == "weekend"
}

/// "end of the month", "end of next month", "end of (the) week", "end of (the) year",
/// "end of (the) day", "start of next month", "beginning of next week".
fn period_edge(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    let end = w.norm(i) == "end";
    let mut j = i + 1;
    if w.norm(j) != "of" {
        return None;
    }
    j += 1;
    let next = match w.norm(j) {
        "the" | "this" => {
            j += 1;
            false
        }
        "next" => {
            j += 1;
            true
        }
        _ => false,
    };
    let date = match (w.norm(j), end, next) {
        ("day", true, false) => today,
        ("week", true, false) => end_of_week(today),
        ("week", true, true) => end_of_week(today) + Duration::days(7),
        ("week", false, true) => in_next_week(today, Weekday::Mon),
        ("month", true, false) => end_of_month(today),
        ("month", true, true) => end_of_month(first_of_next_month(today)),
        ("month", false, true) => first_of_next_month(today),
        ("year", true, false) => NaiveDate::from_ymd_opt(today.year(), 12, 31)?,
        ("year", false, true) => NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)?,
        _ => return None,
    };
    found(date, with_the(w, i, (i..=j).collect()))
}

/// "next week" (seven days), "next month" (its 1st), "next year" (1 January), "next
/// weekend" (Saturday of next week). "next `<weekday>`" is matched at the weekday.
fn next_period(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    let date = match w.norm(i + 1) {
        "week" => today + Duration::days(7),
        "month" => first_of_next_month(today),
        "year" => NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)?,
        "weekend" => in_next_week(today, Weekday::Sat),
        _ => return None,
    };
    found(date, vec![i, i + 1])
}

/// "in 3 days", "in two weeks", "in a month", "in a couple of days", "in a fortnight".
fn in_amount(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    let (count, unit_at) = amount(w, i + 1)?;
    let date = add_units(today, count, w.norm(unit_at))?;
    found(date, (i..=unit_at).collect())
}

/// "3 days from now", "two weeks from today".
fn amount_from_now(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    let (count, unit_at) = amount(w, i)?;
    if w.norm(unit_at + 1) != "from" || !matches!(w.norm(unit_at + 2), "now" | "today") {
        return None;
    }
    let date = add_units(today, count, w.norm(unit_at))?;
    found(date, (i..=unit_at + 2).collect())
}

/// A count at word `i` ("3", "three", "a", "a couple of", "a few"): the count and where its
/// unit word is.
fn amount(w: &Words, i: usize) -> Option<(u32, usize)> {
    let word = w.norm(i);
    if let Ok(n) = word.parse::<u32>() {
        return (n <= 3650).then_some((n, i + 1));
    }
    if matches!(word, "a" | "an") {
        return match w.norm(i + 1) {
            "couple" if w.norm(i + 2) == "of" => Some((2, i + 3)),
            "couple" => Some((2, i + 2)),
            "few" => Some((3, i + 2)),
            _ => Some((1, i + 1)),
        };
    }
    number_word(word).map(|n| (n, i + 1))
}

fn number_word(word: &str) -> Option<u32> {
    const NUMBERS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    NUMBERS
        .iter()
        .position(|n| *n == word)
        .and_then(|p| u32::try_from(p + 1).ok())
}

fn add_units(today: NaiveDate, count: u32, unit: &str) -> Option<NaiveDate> {
    let days = |n: u32| today.checked_add_signed(Duration::days(i64::from(n)));
    match unit {
        "day" | "days" => days(count),
        "week" | "weeks" => days(count * 7),
        "fortnight" | "fortnights" => days(count * 14),
        "month" | "months" => today.checked_add_months(Months::new(count)),
        "year" | "years" => today.checked_add_months(Months::new(count.checked_mul(12)?)),
        _ => None,
    }
}

/// "March 3", "Mar 3rd", "March 3, 2027", "3 March", "3rd of March 2027".
fn month_date(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    if let Some(month) = month(w.norm(i)) {
        let day = day_number(w.norm(i + 1))?;
        let (year, end) = year_at(w, i + 2);
        return month_day(today, month, day, year, (i..end).collect());
    }
    let day = day_number(w.norm(i))?;
    let month_at = if w.norm(i + 1) == "of" { i + 2 } else { i + 1 };
    let month = month(w.norm(month_at))?;
    let (year, end) = year_at(w, month_at + 1);
    month_day(today, month, day, year, with_the(w, i, (i..end).collect()))
}

fn year_at(w: &Words, i: usize) -> (Option<i32>, usize) {
    match w.norm(i).parse::<i32>() {
        Ok(year) if (1970..=9999).contains(&year) => (Some(year), i + 1),
        _ => (None, i),
    }
}

fn month_day(
    today: NaiveDate,
    month: u32,
    day: u32,
    year: Option<i32>,
    used: Vec<usize>,
) -> Option<DatePhrase> {
    let when = match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day)
            .map_or_else(|| When::Unclear(no_such_day(month, day)), When::On),
        None => next_month_day(today, month, day)
            .map_or_else(|| When::Unclear(no_such_day(month, day)), When::On),
    };
    Some(DatePhrase { when, used })
}

fn no_such_day(month: u32, day: u32) -> String {
    format!(
        "There is no {day} {}; which day do you mean?",
        MONTHS[month as usize - 1].0
    )
}

/// The next `month`/`day` from today on (29 February waits for a leap year).
fn next_month_day(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    (0..8).find_map(|ahead| {
        NaiveDate::from_ymd_opt(today.year() + ahead, month, day).filter(|date| *date >= today)
    })
}

/// "the 1st", "on the 21st", "the first" (a word ordinal needs its "the").
fn ordinal_date(w: &Words, i: usize, today: NaiveDate) -> Option<DatePhrase> {
    let word = w.norm(i);
    let the = i > 0 && w.norm(i - 1) == "the";
    let day = ordinal_digits(word).or_else(|| ordinal_word(word).filter(|_| the))?;
    // Its next occurrence, today included: this month, or the next month that has it.
    let first = today.with_day(1)?;
    // "of the month" says nothing more; "of next month" starts the search a month on.
    let (from, used_to) = match (w.norm(i + 1), w.norm(i + 2), w.norm(i + 3)) {
        ("of", "the" | "this", "month") => (0, i + 3),
        ("of", "next", "month") => (1, i + 3),
        _ => (0, i),
    };
    let date = (from..from + 12).find_map(|ahead| {
        first
            .checked_add_months(Months::new(ahead))?
            .with_day(day)
            .filter(|date| *date >= today)
    })?;
    found(date, with_the(w, i, (i..=used_to).collect()))
}

/// "1st", "22nd", "3rd", "14th" (1 to 31).
fn ordinal_digits(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))?;
    digits.parse().ok().filter(|day| (1..=31).contains(day))
}

fn ordinal_word(word: &str) -> Option<u32> {
    const ORDINALS: [&str; 12] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth", "eleventh", "twelfth",
    ];
    match word {
        "fifteenth" => Some(15),
        "twentieth" => Some(20),
        "thirtieth" => Some(30),
        _ => ORDINALS
            .iter()
            .position(|n| *n == word)
            .and_then(|p| u32::try_from(p + 1).ok()),
    }
}

/// A day of the month after a month name: "3", "3rd".
fn day_number(word: &str) -> Option<u32> {
    ordinal_digits(word).or_else(|| word.parse().ok().filter(|day| (1..=31).contains(day)))
}

const MONTHS: [(&str, &str); 12] = [
    ("January", "jan"),
    ("February", "feb"),
    ("March", "mar"),
    ("April", "apr"),
    ("May", "may"),
    ("June", "jun"),
    ("July", "jul"),
    ("August", "aug"),
    ("September", "sep"),
    ("October", "oct"),
    ("November", "nov"),
    ("December", "dec"),
];

fn month(word: &str) -> Option<u32> {
    let position = MONTHS.iter().position(|(name, short)| {
        word == *short || word.eq_ignore_ascii_case(name) || (*short == "sep" && word == "sept")
    })?;
    u32::try_from(position + 1).ok()
}

/// `13/4`, `4/13`, `5/5`, `13/4/2027`: only when one reading exists or both agree.
fn numeric_date(word: &str, today: NaiveDate) -> Option<When> {
    let parts: Vec<&str> = word.split('/').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    let a: u32 = parts[0].parse().ok()?;
    let b: u32 = parts[1].parse().ok()?;
    let year = match parts.get(2) {
        Some(y) => {
            let y: i32 = y.parse().ok()?;
            Some(if y < 100 { 2000 + y } else { y })
        }
        None => None,
    };
    let resolve = |month: u32, day: u32| match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day),
        None if (1..=12).contains(&month) => next_month_day(today, month, day),
        None => None,
    };
    // a/b as day/month and as month/day.
    match (resolve(b, a), resolve(a, b)) {
        (Some(one), Some(other)) if one != other => Some(When::Unclear(format!(
            "\"{word}\" could be {} or {}; say \"on {}\" or \"on {}\" instead.",
            long(one),
            long(other),
            long(one),
            long(other)
        ))),
        (Some(date), _) | (None, Some(date)) => Some(When::On(date)),
        (None, None) => None,
    }
}

fn long(date: NaiveDate) -> String {
    format!("{} {}", date.day(), MONTHS[date.month0() as usize].0)
}

/// A weekday name or abbreviation.
pub(crate) fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// The first `weekday` after today (or today itself when `today_counts`).
pub(crate) fn upcoming(today: NaiveDate, weekday: Weekday, today_counts: bool) -> NaiveDate {
    let ahead = (7 + i64::from(weekday.num_days_from_monday())
        - i64::from(today.weekday().num_days_from_monday()))
        % 7;
    let ahead = if ahead == 0 && !today_counts {
        7
    } else {
        ahead
    };
    today + Duration::days(ahead)
}

/// `weekday` in the week after this one (weeks start on Monday).
fn in_next_week(today: NaiveDate, weekday: Weekday) -> NaiveDate {
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    monday + Duration::days(7 + i64::from(weekday.num_days_from_monday()))
}

fn end_of_week(today: NaiveDate) -> NaiveDate {
    upcoming(today, Weekday::Sun, true)
}

fn first_of_next_month(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first.checked_add_months(Months::new(1)).unwrap_or(first)
}

fn end_of_month(today: NaiveDate) -> NaiveDate {
    first_of_next_month(today) - Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(text: &str) -> Option<When> {
        // Wednesday 9 December 2026.
        let today = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap_or_default();
        find_date(&Words::new(text), today).map(|phrase| phrase.when)
    }

    fn day(y: i32, m: u32, d: u32) -> Option<When> {
        NaiveDate::from_ymd_opt(y, m, d).map(When::On)
    }

    #[test]
    fn relative_days_weekdays_and_periods() {
        assert_eq!(on("tonight"), day(2026, 12, 9));
        assert_eq!(on("tomorrow morning"), day(2026, 12, 10));
        assert_eq!(on("friday"), day(2026, 12, 11));
        assert_eq!(on("this friday"), day(2026, 12, 11));
        assert_eq!(on("next friday"), day(2026, 12, 18));
        assert_eq!(
            on("wednesday"),
            day(2026, 12, 16),
            "today's name: next week"
        );
        assert_eq!(on("next monday"), day(2026, 12, 14));
        assert_eq!(on("in 2 weeks"), day(2026, 12, 23));
        assert_eq!(on("in three days"), day(2026, 12, 12));
        assert_eq!(on("in a month"), day(2027, 1, 9));
        assert_eq!(on("two weeks from now"), day(2026, 12, 23));
        assert_eq!(on("end of the month"), day(2026, 12, 31));
        assert_eq!(on("end of next month"), day(2027, 1, 31));
        assert_eq!(on("end of the week"), day(2026, 12, 13));
        assert_eq!(on("next month"), day(2027, 1, 1));
        assert_eq!(on("this weekend"), day(2026, 12, 12));
    }

    #[test]
    fn ordinal_month_and_numeric_dates() {
        assert_eq!(on("on the 1st"), day(2027, 1, 1));
        assert_eq!(on("the 9th"), day(2026, 12, 9), "today included");
        assert_eq!(on("the 31st"), day(2026, 12, 31));
        assert_eq!(on("the first"), day(2027, 1, 1));
        assert_eq!(on("first draft"), None, "a word ordinal needs its \"the\"");
        assert_eq!(on("March 3"), day(2027, 3, 3));
        assert_eq!(on("3rd of march"), day(2027, 3, 3));
        assert_eq!(on("dec 25"), day(2026, 12, 25));
        assert_eq!(on("may 5, 2028"), day(2028, 5, 5));
        assert_eq!(on("13/4"), day(2027, 4, 13));
        assert_eq!(on("4/13"), day(2027, 4, 13));
        assert_eq!(on("5/5"), day(2027, 5, 5));
        assert!(matches!(on("3/4"), Some(When::Unclear(_))));
        assert!(matches!(on("feb 30"), Some(When::Unclear(_))));
        assert_eq!(on("2027-03-04"), day(2027, 3, 4));
        assert_eq!(on("may the force"), None);
    }
}
