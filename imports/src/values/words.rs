//! Cells holding a word from a small vocabulary: yes/no answers and statuses.

/// Lower case, `_` and `-` as spaces, runs of spaces as one: `Partially_Fulfilled ` is
/// `partially fulfilled`.
pub(crate) fn fold_word(raw: &str) -> String {
    raw.to_lowercase().replace(['_', '-'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Some(true)` for yes, `Some(false)` for no, `None` for unknown or empty, in any case.
pub(crate) fn yes_no(raw: &str) -> Result<Option<bool>, String> {
    match fold_word(raw).as_str() {
        "yes" | "y" | "true" | "1" | "granted" | "opted in" => Ok(Some(true)),
        "no" | "n" | "false" | "0" | "revoked" | "opted out" => Ok(Some(false)),
        "" | "unknown" => Ok(None),
        _ => Err("expected yes, no or unknown (or y/n, true/false, 1/0)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_and_unknown_in_any_case() {
        for yes in ["yes", "YES", "Y", "true", "True", "1", " granted "] {
            assert_eq!(yes_no(yes), Ok(Some(true)), "{yes}");
        }
        for no in ["no", "No", "n", "FALSE", "0", "revoked"] {
            assert_eq!(yes_no(no), Ok(Some(false)), "{no}");
        }
        for unknown in ["", "  ", "unknown", "Unknown"] {
            assert_eq!(yes_no(unknown), Ok(None), "{unknown:?}");
        }
        assert!(yes_no("maybe").is_err());
        assert!(yes_no("2").is_err());
    }

    #[test]
    fn words_fold_to_one_spelling() {
        assert_eq!(fold_word(" Partially_Fulfilled "), "partially fulfilled");
        assert_eq!(fold_word("IN-TRANSIT"), "in transit");
    }
}
