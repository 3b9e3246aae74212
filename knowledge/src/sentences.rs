//! Splitting product text into sentences: chunks are packed from whole sentences, and
//! extractive answers quote them.

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
