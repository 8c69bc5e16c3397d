//! A chat message split into words: each keeps its original text (titles are built from it)
//! and a normalized form the parser compares (lower case, surrounding punctuation removed,
//! common misspellings corrected), and remembers where the writer ended a list item (a
//! comma, a semicolon or the end of a line).

/// A message split into words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Words {
    raw: Vec<String>,
    norm: Vec<String>,
    /// The word ends a list item: it ends with `,` or `;`, or ends its line.
    item_end: Vec<bool>,
    /// The word ends with `:` (a list header such as "add 3 tasks:").
    colon: Vec<bool>,
}

/// Misspellings seen in todo messages, and the word meant. Only the normalized form changes:
/// a title keeps what the person typed.
const MISSPELLINGS: &[(&str, &str)] = &[
    ("tomorow", "tomorrow"),
    ("tommorow", "tomorrow"),
    ("tommorrow", "tomorrow"),
    ("tomorrw", "tomorrow"),
    ("tomrrow", "tomorrow"),
    ("tmrw", "tomorrow"),
    ("tmr", "tomorrow"),
    ("tmrow", "tomorrow"),
    ("2moro", "tomorrow"),
    ("2morrow", "tomorrow"),
    ("tonite", "tonight"),
    ("2day", "today"),
    ("tody", "today"),
    ("wensday", "wednesday"),
    ("wednsday", "wednesday"),
    ("wedensday", "wednesday"),
    ("thursay", "thursday"),
    ("thrusday", "thursday"),
    ("firday", "friday"),
    ("fryday", "friday"),
    ("saterday", "saturday"),
    ("priorty", "priority"),
    ("prority", "priority"),
    ("priortiy", "priority"),
    ("prio", "priority"),
    ("urgnet", "urgent"),
    ("importent", "important"),
    ("remidn", "remind"),
    ("remnd", "remind"),
    ("remin", "remind"),
    ("reminde", "remind"),
    ("delte", "delete"),
    ("delet", "delete"),
    ("dlete", "delete"),
    ("remvoe", "remove"),
    ("romove", "remove"),
    ("compelte", "complete"),
    ("complet", "complete"),
    ("mrak", "mark"),
    ("plz", "please"),
    ("pls", "please"),
    ("pleas", "please"),
    ("plase", "please"),
    ("dont", "don't"),
    ("forgot", "forget"),
    ("wendsday", "wednesday"),
    ("wedsday", "wednesday"),
    ("tuseday", "tuesday"),
    ("tuesay", "tuesday"),
    ("satruday", "saturday"),
    ("febuary", "february"),
    ("feburary", "february"),
    ("janurary", "january"),
    ("januray", "january"),
    ("septmber", "september"),
    ("setpember", "september"),
    ("ocotber", "october"),
    ("novmber", "november"),
    ("decmber", "december"),
    ("teh", "the"),
    ("addd", "add"),
    ("marke", "mark"),
    ("compleet", "complete"),
    ("wat", "what"),
    ("wats", "whats"),
    ("shw", "show"),
    ("&", "and"),
    ("+", "and"),
    ("wk", "week"),
    ("wks", "weeks"),
];

impl Words {
    /// Splits `text` into words. On a message of several lines, a bullet ("-", "*", "•",
    /// "1." or "1)") starting a line is dropped.
    pub(crate) fn new(text: &str) -> Self {
        let mut words = Self::default();
        let several_lines = text.trim().contains('\n');
        for line in text.lines() {
            let mut first = true;
            for word in line.split_whitespace() {
                let bullet = several_lines && first && is_bullet(word);
                first = false;
                if !bullet {
                    words.push(word);
                }
            }
            if let Some(last) = words.item_end.last_mut() {
                *last = true;
            }
        }
        words
    }

    fn push(&mut self, word: &str) {
        let trimmed = word.trim_matches(|c: char| {
            matches!(
                c,
                ',' | '.' | '!' | '?' | ';' | ':' | '"' | '“' | '”' | '(' | ')' | '\'' | '‘' | '’'
            )
        });
        // "!!" is all punctuation, and means something: keep it.
        let trimmed = if trimmed.is_empty() { word } else { trimmed };
        let lower = trimmed.to_lowercase().replace('’', "'");
        let norm = MISSPELLINGS
            .iter()
            .find(|(typo, _)| *typo == lower)
            .map_or(lower, |(_, meant)| (*meant).to_string());
        let end = word.trim_end_matches(['"', '”', '’', '\'', ')']);
        self.raw.push(word.to_string());
        self.norm.push(norm);
        self.item_end.push(end.ends_with([',', ';']));
        self.colon.push(end.ends_with(':'));
    }

    /// How many words.
    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    /// No words at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The normalized word `i` ("" past the end, so look-ahead needs no bounds checks).
    pub(crate) fn norm(&self, i: usize) -> &str {
        self.norm.get(i).map_or("", String::as_str)
    }

    /// The word `i` as typed.
    pub(crate) fn raw(&self, i: usize) -> &str {
        self.raw.get(i).map_or("", String::as_str)
    }

    /// Word `i` ends a list item (comma, semicolon, end of line).
    pub(crate) fn ends_item(&self, i: usize) -> bool {
        self.item_end.get(i).copied().unwrap_or(false)
    }

    /// Word `i` ends with a colon.
    pub(crate) fn ends_with_colon(&self, i: usize) -> bool {
        self.colon.get(i).copied().unwrap_or(false)
    }

    /// Any word is `word`.
    pub(crate) fn contains(&self, word: &str) -> bool {
        self.norm.iter().any(|w| w == word)
    }

    /// Any word is one of `words`.
    pub(crate) fn contains_any(&self, words: &[&str]) -> bool {
        self.norm.iter().any(|w| words.contains(&w.as_str()))
    }

    /// The message starts with these words.
    pub(crate) fn starts_with(&self, words: &[&str]) -> bool {
        self.matches_at(0, words)
    }

    /// Words `at..` start with `words`.
    pub(crate) fn matches_at(&self, at: usize, words: &[&str]) -> bool {
        at + words.len() <= self.len()
            && words
                .iter()
                .enumerate()
                .all(|(i, w)| self.norm(at + i) == *w)
    }

    /// The message ends with these words.
    pub(crate) fn ends_with(&self, words: &[&str]) -> bool {
        self.len()
            .checked_sub(words.len())
            .is_some_and(|offset| self.matches_at(offset, words))
    }

    /// Words `start..`.
    pub(crate) fn from(&self, start: usize) -> Self {
        self.range(start.min(self.len()), self.len())
    }

    /// Words `..end`.
    pub(crate) fn until(&self, end: usize) -> Self {
        self.range(0, end.min(self.len()))
    }

    /// Words `start..end`.
    pub(crate) fn range(&self, start: usize, end: usize) -> Self {
        let end = end.min(self.len());
        let start = start.min(end);
        Self {
            raw: self.raw[start..end].to_vec(),
            norm: self.norm[start..end].to_vec(),
            item_end: self.item_end[start..end].to_vec(),
            colon: self.colon[start..end].to_vec(),
        }
    }

    /// The words at `indexes`, in that order.
    pub(crate) fn pick(&self, indexes: &[usize]) -> Self {
        let mut out = Self::default();
        for &i in indexes.iter().filter(|&&i| i < self.len()) {
            out.raw.push(self.raw[i].clone());
            out.norm.push(self.norm[i].clone());
            out.item_end.push(self.item_end[i]);
            out.colon.push(self.colon[i]);
        }
        out
    }

    /// Splits at the first of `separators`: (before, after), both non-empty.
    pub(crate) fn split_on(&self, separators: &[&str]) -> Option<(Self, Self)> {
        let at = (1..self.len()).find(|&i| separators.contains(&self.norm(i)))?;
        let (before, after) = (self.until(at), self.from(at + 1));
        (!after.is_empty()).then_some((before, after))
    }

    /// Splits at the last of `separators`.
    pub(crate) fn split_last_on(&self, separators: &[&str]) -> Option<(Self, Self)> {
        let at = (1..self.len())
            .rev()
            .find(|&i| separators.contains(&self.norm(i)))?;
        let (before, after) = (self.until(at), self.from(at + 1));
        (!after.is_empty()).then_some((before, after))
    }

    /// Without any of `words`.
    pub(crate) fn strip_words(&self, words: &[&str]) -> Self {
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| !words.contains(&self.norm(i)))
            .collect();
        self.pick(&keep)
    }

    /// Without `words` at the end.
    pub(crate) fn strip_trailing(&self, words: &[&str]) -> Self {
        let mut end = self.len();
        while end > 0 && words.contains(&self.norm(end - 1)) {
            end -= 1;
        }
        self.until(end)
    }

    /// "3's" → "3", "milk's" → "milk".
    pub(crate) fn without_possessive(&self) -> Self {
        let mut out = self.clone();
        for (raw, norm) in out.raw.iter_mut().zip(out.norm.iter_mut()) {
            if let Some(stripped) = norm.strip_suffix("'s") {
                *norm = stripped.to_string();
                for suffix in ["'s", "’s"] {
                    if let Some(raw_stripped) = raw.strip_suffix(suffix) {
                        *raw = raw_stripped.to_string();
                    }
                }
            }
        }
        out
    }

    /// The same words with those marked in `used` hidden from matching (their normalized
    /// form becomes a placeholder), so a later finder skips them and indexes stay valid.
    pub(crate) fn masked(&self, used: &[bool]) -> Self {
        let mut out = self.clone();
        for (norm, _) in out.norm.iter_mut().zip(used).filter(|(_, used)| **used) {
            *norm = "\u{1}".to_string();
        }
        out
    }

    /// The words as typed, joined by single spaces.
    pub(crate) fn raw_text(&self) -> String {
        self.raw.join(" ")
    }
}

fn is_bullet(word: &str) -> bool {
    matches!(word, "-" | "*" | "•" | "–")
        || word
            .strip_suffix(['.', ')'])
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_the_typed_text_and_compare_a_normalized_form() {
        let w = Words::new("Buy MILK tmrw, \"now\"!");
        assert_eq!(w.raw(0), "Buy");
        assert_eq!(w.norm(1), "milk");
        assert_eq!(w.norm(2), "tomorrow");
        assert!(w.ends_item(2), "a comma ends a list item");
        assert_eq!(w.norm(3), "now");
        assert_eq!(w.norm(9), "", "past the end");
    }

    #[test]
    fn lines_end_items_and_bullets_go() {
        let w = Words::new("add:\n- eggs\n* milk\n2. bread");
        assert_eq!(w.raw_text(), "add: eggs milk bread");
        assert!(w.ends_with_colon(0));
        assert!(w.ends_item(1) && w.ends_item(2) && w.ends_item(3));
        assert_eq!(Words::new("add - eggs").raw_text(), "add - eggs");
    }
}
