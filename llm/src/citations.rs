//! Source markers in the model's answer: which numbered sources it cited, and the text without
//! the markers, since the customer never sees the numbered list.

/// Longest number read as a source marker; `[2024]` is a year, not a source.
const MAX_MARKER_DIGITS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Citations {
    /// The answer with every marker removed, trimmed.
    pub text: String,
    /// Cited source numbers (1-based) within the list, in order of first citation, no repeats.
    pub cited: Vec<usize>,
    /// Markers naming a source the model was not given.
    pub out_of_range: usize,
}

/// Reads markers such as `[1]`, `[2][3]` and `[1, 4]` for a list of `source_count` sources.
pub(crate) fn extract(answer: &str, source_count: usize) -> Citations {
    let mut text = String::with_capacity(answer.len());
    let mut cited = Vec::new();
    let mut out_of_range = 0;
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        let (before, from_bracket) = rest.split_at(open);
        text.push_str(before);
        let Some((numbers, marker_len)) = parse_marker(from_bracket) else {
            text.push('[');
            rest = &from_bracket[1..];
            continue;
        };
        for number in numbers {
            if (1..=source_count).contains(&number) {
                if !cited.contains(&number) {
                    cited.push(number);
                }
            } else {
                out_of_range += 1;
            }
        }
        rest = &from_bracket[marker_len..];
        close_gap(&mut text, rest);
    }
    text.push_str(rest);
    Citations { text: text.trim().to_owned(), cited, out_of_range }
}

/// After a marker is cut, "daily [1]." becomes "daily." and "daily [1] then" keeps one space.
fn close_gap(text: &mut String, after: &str) {
    let kept = text.trim_end_matches([' ', '\t']).len();
    let next = after.chars().next();
    if next.is_none_or(|c| c.is_whitespace() || c.is_ascii_punctuation()) {
        text.truncate(kept);
    } else if text.len() == kept && text.chars().next_back().is_some_and(char::is_alphanumeric) {
        text.push(' ');
    }
}

/// `from_bracket` starts with `[`; returns the numbers and the marker's length in bytes.
fn parse_marker(from_bracket: &str) -> Option<(Vec<usize>, usize)> {
    let bytes = from_bracket.as_bytes();
    let skip_spaces = |mut at: usize| {
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        at
    };
    let mut numbers = Vec::new();
    let mut at = 1;
    loop {
        let start = skip_spaces(at);
        let end = start + bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if end == start || end - start > MAX_MARKER_DIGITS {
            return None;
        }
        numbers.push(from_bracket[start..end].parse().ok()?);
        at = skip_spaces(end);
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b']') => return Some((numbers, at + 1)),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_single_grouped_and_adjacent_markers_in_first_citation_order() {
        let found = extract("Apply 2 drops at night [2]. Avoid eyes [3][1]; rinse [2, 1].", 3);
        assert_eq!(found.text, "Apply 2 drops at night. Avoid eyes; rinse.");
        assert_eq!(found.cited, [2, 3, 1]);
        assert_eq!(found.out_of_range, 0);
    }

    #[test]
    fn markers_naming_unknown_sources_are_removed_but_not_cited() {
        let found = extract("Use daily [1] and store cold [4] [0].", 2);
        assert_eq!(found.text, "Use daily and store cold.");
        assert_eq!(found.cited, [1]);
        assert_eq!(found.out_of_range, 2);
    }

    #[test]
    fn brackets_that_are_not_markers_stay() {
        let text = "Sizes [30 ml] and [50ml], launched [2024], see [a] or [] or [1";
        let found = extract(text, 9);
        assert_eq!(found.text, text);
        assert!(found.cited.is_empty());
    }

    #[test]
    fn words_around_a_removed_marker_stay_apart() {
        assert_eq!(extract("twice[1]daily", 1).text, "twice daily");
        assert_eq!(extract("[1] Shake well.\n[2]\nThen apply.", 2).text, "Shake well.\n\nThen apply.");
        assert_eq!(extract("Merhaba, günde iki kez [1]!", 1).text, "Merhaba, günde iki kez!");
    }

    #[test]
    fn an_answer_made_only_of_markers_is_empty() {
        let found = extract(" [1] [2] ", 2);
        assert_eq!(found.text, "");
        assert_eq!(found.cited, [1, 2]);
    }
}
