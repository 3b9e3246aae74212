//! How an answer's sentence is compared with the product text: by its content words, lightly
//! stemmed, with numbers and negations kept because they carry the facts ("twice a day", "not
//! for children") that a paraphrase must not change.

use std::collections::HashSet;

/// The term a negation becomes, so "don't", "never" and "without" compare alike.
pub const NOT: &str = "not";

/// Words that carry no fact of their own; "order" and its kin are here because the customer's
/// own order details arrive as allowed facts, not as product text.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "if", "then", "so", "to", "of", "in", "on", "at", "by", "for", "with", "from",
    "into", "onto", "over", "after", "before", "up", "down", "out", "about", "as", "is", "are", "was", "were", "be",
    "been", "being", "am", "do", "does", "did", "doing", "done", "have", "has", "had", "having", "it", "its", "itself",
    "this", "that", "these", "those", "there", "here", "i", "me", "my", "we", "us", "our", "you", "your", "yours", "he",
    "she", "they", "them", "their", "his", "her", "can", "could", "will", "would", "should", "shall", "may", "might",
    "must", "also", "just", "very", "too", "really", "quite", "any", "some", "all", "each", "every", "which", "what",
    "when", "where", "who", "how", "why", "than", "such", "get", "got", "like", "one", "per", "yes", "sure",
    "absolutely", "certainly", "course", "ok", "okay", "hi", "hello", "hey", "thanks", "thank", "please", "well",
    "great", "happy", "help", "hope", "order", "orders", "package", "parcel", "shipment", "item", "items", "product",
    "products",
];

/// Negations, including contractions as [`words`] spells them ("don't" becomes "dont"), and
/// "free" as in "fragrance-free", which says "without fragrance".
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "free", "none", "nor", "neither", "dont", "doesnt", "didnt", "isnt", "arent",
    "wasnt", "werent", "cant", "cannot", "wont", "wouldnt", "shouldnt", "couldnt", "hasnt", "havent", "hadnt",
    "mustnt", "neednt",
];

/// Number words, so "four drops" matches "4 drops" and "twice" differs from "once".
#[rustfmt::skip]
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("once", "1"), ("two", "2"), ("twice", "2"), ("three", "3"), ("thrice", "3"), ("four", "4"), ("five", "5"),
    ("six", "6"), ("seven", "7"), ("eight", "8"), ("nine", "9"), ("ten", "10"), ("eleven", "11"), ("twelve", "12"),
    ("fifteen", "15"), ("twenty", "20"), ("thirty", "30"), ("forty", "40"), ("fifty", "50"), ("hundred", "100"),
];

/// Lower-cased words in order: apostrophes vanish inside words ("don't" is "dont"), a number
/// keeps its decimal point ("2.5", and "2,5" becomes "2.5"), and letters and digits part ("30ml"
/// is "30", "ml").
pub fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (index, &c) in chars.iter().enumerate() {
        let next = chars.get(index + 1).copied();
        let in_number = current.starts_with(|first: char| first.is_ascii_digit());
        if c.is_alphanumeric() {
            if !current.is_empty() && in_number != c.is_ascii_digit() {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
        } else if matches!(c, '\'' | '’') && !current.is_empty() && !in_number && next.is_some_and(char::is_alphabetic)
        {
            continue;
        } else if matches!(c, '.' | ',') && in_number && next.is_some_and(|n| n.is_ascii_digit()) {
            current.push('.');
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The words of `text` that carry facts, each once: stems, numbers (number words as digits) and
/// [`NOT`] for any negation.
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(text)
        .into_iter()
        .filter_map(|word| {
            if let Some((_, digits)) = NUMBER_WORDS.iter().find(|(name, _)| *name == word) {
                Some((*digits).to_owned())
            } else if NEGATIONS.contains(&word.as_str()) {
                Some(NOT.to_owned())
            } else if word.starts_with(|c: char| c.is_ascii_digit()) {
                Some(word)
            } else if word.chars().count() < 2 || STOP_WORDS.contains(&word.as_str()) {
                None
            } else {
                Some(stem(&word))
            }
        })
        .filter(|term| seen.insert(term.clone()))
        .collect()
}

pub fn is_number(term: &str) -> bool {
    term.starts_with(|c: char| c.is_ascii_digit())
}

/// A light suffix-stripper: plural, then "-ing"/"-ed", then a final "e", so "uses", "using",
/// "used" and "use" share one stem, as do "applies" and "applying".
fn stem(word: &str) -> String {
    let mut stem = word.to_owned();
    let len = stem.chars().count();
    if len > 4 && (stem.ends_with("ies") || stem.ends_with("ied")) {
        stem.truncate(stem.len() - 3);
        stem.push('y');
        return stem;
    }
    if len > 3 && stem.ends_with("es") && !stem.ends_with("sses") {
        stem.truncate(stem.len() - 2);
    } else if len > 3 && stem.ends_with('s') && !["ss", "us", "is"].iter().any(|end| stem.ends_with(end)) {
        stem.pop();
    }
    let len = stem.chars().count();
    if len >= 5 && stem.ends_with("ing") {
        stem.truncate(stem.len() - 3);
    } else if len >= 4 && stem.ends_with("ed") && !stem.ends_with("eed") {
        stem.truncate(stem.len() - 2);
    }
    let mut tail = stem.chars().rev();
    if let (Some(last), Some(before)) = (tail.next(), tail.next())
        && last == before
        && !matches!(last, 'l' | 's' | 'z' | 'e')
        && stem.chars().count() > 3
    {
        stem.pop();
    }
    if stem.ends_with('e') && stem.chars().count() >= 3 {
        stem.pop();
    }
    stem
}

/// The share of `terms` found in `known`, from 0 to 1; 1 when there are no terms.
pub fn coverage(terms: &[String], known: &HashSet<String>) -> f32 {
    if terms.is_empty() {
        return 1.0;
    }
    let found = terms.iter().filter(|term| known.contains(*term)).count();
    found as f32 / terms.len() as f32
}

/// `text` as space-separated words with a space at each end, so one key contains another only
/// when the words appear in a row, whatever the punctuation and case between them.
pub fn verbatim_key(text: &str) -> String {
    format!(" {} ", words(text).join(" "))
}

/// `text` with every whole-word occurrence of `phrase` replaced by a space.
pub fn blank_out(text: &str, phrase: &str) -> String {
    if phrase.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(phrase) {
        let end = at + phrase.len();
        let starts_word = text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let ends_word = text[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if at >= copied && starts_word && ends_word {
            out.push_str(&text[copied..at]);
            out.push(' ');
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_numbers_and_drop_apostrophes() {
        assert_eq!(
            words("Don't use 2,5 ml (30ml) - it's 4x!"),
            ["dont", "use", "2.5", "ml", "30", "ml", "its", "4", "x"]
        );
        assert_eq!(words("Version 1.2. Next"), ["version", "1.2", "next"]);
    }

    #[test]
    fn terms_keep_facts_and_drop_filler() {
        assert_eq!(
            terms("Apply four drops to clean, dry skin twice a day."),
            ["apply", "4", "drop", "clean", "dry", "skin", "2", "day"]
        );
        assert_eq!(terms("It doesn't contain parabens and never will."), ["not", "contain", "paraben"]);
        assert!(terms("Yes, of course, happy to help!").is_empty());
    }

    #[test]
    fn stems_join_word_forms() {
        let cases: &[(&[&str], &str)] = &[
            (&["use", "uses", "using", "used"], "us"),
            (&["apply", "applies", "applied", "applying"], "apply"),
            (&["drop", "drops", "dropped", "dropping"], "drop"),
            (&["morning", "mornings"], "morn"),
            (&["glass"], "glass"),
            (&["need", "needs"], "need"),
        ];
        for (forms, expected) in cases {
            for form in *forms {
                assert_eq!(stem(form), *expected, "form: {form}");
            }
        }
    }

    #[test]
    fn coverage_counts_known_terms() {
        let known: HashSet<String> = terms("Apply four drops every morning.").into_iter().collect();
        assert!((coverage(&terms("apply 4 drops"), &known) - 1.0).abs() < f32::EPSILON);
        assert!((coverage(&terms("apply drops at night"), &known) - 2.0 / 3.0).abs() < 1e-6);
        assert!((coverage(&[], &known) - 1.0).abs() < f32::EPSILON);
    }

    #[test]
    fn verbatim_keys_ignore_case_and_punctuation() {
        let chunk = verbatim_key("Keep out of reach of children. Do not swallow!");
        assert!(chunk.contains(&verbatim_key("do not swallow")));
        assert!(!chunk.contains(&verbatim_key("do not reach")));
    }

    #[test]
    fn blanking_takes_whole_words_only() {
        assert_eq!(blank_out("your order #1001 shipped", "#1001"), "your order   shipped");
        assert_eq!(blank_out("glowing glow", "glow"), "glowing  ");
        assert_eq!(blank_out("abc", ""), "abc");
    }
}
