//! Splitting product text into sentences: chunks are packed from whole sentences, and
//! extractive answers quote them. A chunk's quotable sentences are embedded when its product is
//! synced ([`crate::store`]), so answering a question embeds only the question.

use crate::document::SectionKind;

/// The sentences of a chunk an answer may quote, as quoted: FAQ questions dropped (their answers
/// are quoted), "A:" prefixes removed, fragments of one word left out.
pub fn quotable(content: &str, section: SectionKind) -> Vec<String> {
    split(content).iter().filter_map(|sentence| quotable_sentence(sentence, section)).collect()
}

fn quotable_sentence(sentence: &str, section: SectionKind) -> Option<String> {
    let trimmed = sentence.trim();
    let lower = trimmed.to_lowercase();
    if section == SectionKind::Faq
        && (lower.starts_with("q:") || lower.starts_with("q.") || lower.starts_with("question:"))
    {
        return None;
    }
    let without_prefix = ["a:", "answer:"]
        .iter()
        .find_map(|prefix| lower.starts_with(prefix).then(|| trimmed[prefix.len()..].trim()))
        .unwrap_or(trimmed);
    (without_prefix.split_whitespace().count() >= 2).then(|| without_prefix.to_owned())
}

/// The text a quotable sentence is embedded as: the product's name gives it its subject.
pub fn embedding_input(product_title: &str, sentence: &str) -> String {
    format!("{product_title}: {sentence}")
}

/// Sentences of `text` in order, trimmed, without empty ones. A line break always ends a
/// sentence (product pages put list items and "Q:"/"A:" on their own lines); `.`, `!` and `?`
/// end one when followed by a space and a capital letter, digit or quote, so "approx. 5 ml" and
/// "e.g. retinol" stay whole.
pub fn split(text: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut start = 0;
        let mut index = 0;
        while index < chars.len() {
            let c = chars[index];
            if matches!(c, '.' | '!' | '?') {
                let mut end = index + 1;
                while end < chars.len() && matches!(chars[end], '.' | '!' | '?' | '"' | '\'' | ')' | '”') {
                    end += 1;
                }
                let next_starts_sentence = chars.get(end).is_some_and(|c| c.is_whitespace())
                    && chars[end..]
                        .iter()
                        .find(|c| !c.is_whitespace())
                        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '“' | '('));
                if next_starts_sentence && !ends_with_abbreviation(&chars[start..index]) {
                    push(&mut sentences, &chars[start..end]);
                    start = end;
                }
                index = end;
            } else {
                index += 1;
            }
        }
        push(&mut sentences, &chars[start..]);
    }
    sentences
}

fn push(sentences: &mut Vec<String>, chars: &[char]) {
    let sentence: String = chars.iter().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ");
    if sentence.chars().any(char::is_alphanumeric) {
        sentences.push(sentence);
    }
}

fn ends_with_abbreviation(before_dot: &[char]) -> bool {
    let word: String = before_dot.iter().rev().take_while(|c| c.is_alphabetic() || **c == '.').collect();
    let word: String = word.chars().rev().collect::<String>().to_lowercase();
    matches!(word.as_str(), "e.g" | "i.e" | "approx" | "incl" | "vs" | "etc" | "no" | "dr" | "mr" | "mrs" | "ms" | "st")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faq_questions_are_not_quoted_and_answer_prefixes_go() {
        assert_eq!(
            quotable("Q: Is it vegan?\nA: Yes, fully vegan. Really.", SectionKind::Faq),
            vec!["Yes, fully vegan.".to_owned()]
        );
        assert_eq!(quotable("Apply four drops.", SectionKind::Usage), vec!["Apply four drops.".to_owned()]);
    }

    #[test]
    fn sentences_end_at_stops_and_line_breaks() {
        let text = "Apply four drops every morning. Avoid the eye area!\nQ: Can I use it daily? A: Yes, once a day.";
        assert_eq!(
            split(text),
            vec![
                "Apply four drops every morning.",
                "Avoid the eye area!",
                "Q: Can I use it daily?",
                "A: Yes, once a day."
            ]
        );
    }

    #[test]
    fn abbreviations_and_decimals_do_not_split() {
        let text = "Use approx. 2.5 ml, e.g. Morning and evening. Store below 25 °C.";
        assert_eq!(split(text), vec!["Use approx. 2.5 ml, e.g. Morning and evening.", "Store below 25 °C."]);
    }

    #[test]
    fn blank_and_punctuation_only_lines_are_dropped() {
        assert_eq!(split("  \n - \n\nOne.  Two words here."), vec!["One.", "Two words here."]);
    }
}
