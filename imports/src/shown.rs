//! Values as an error list may show them on a dashboard: short, printable, and without the
//! customer's contact details (only enough of a phone or email to find the row again).

/// Longest shown value, in characters, before an ellipsis.
const SHOWN_CHARS: usize = 64;

/// Any value: control characters and invisible direction or line marks escaped (they could
/// reorder or hide a dashboard's text), cut at [`SHOWN_CHARS`] characters with an ellipsis.
pub(crate) fn plain(raw: &str) -> String {
    let mut shown = String::new();
    let mut count = 0;
    for c in raw.chars() {
        let escaped = invisible(c).then(|| c.escape_default().to_string());
        let width = escaped.as_ref().map_or(1, |text| text.chars().count());
        if count + width > SHOWN_CHARS {
            shown.push('…');
            break;
        }
        match escaped {
            Some(text) => shown.push_str(&text),
            None => shown.push(c),
        }
        count += width;
    }
    shown
}

fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A phone number reduced to its last two digits: `***89`.
pub(crate) fn phone(raw: &str) -> String {
    let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return "***".to_owned();
    }
    let tail: String = digits[digits.len() - 2..].iter().collect();
    format!("***{tail}")
}

/// An email reduced to its domain: `***@example.com`.
pub(crate) fn email(raw: &str) -> String {
    match raw.rsplit_once('@') {
        Some((_, domain)) if !domain.trim().is_empty() => format!("***@{}", plain(domain.trim())),
        _ => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "ü".repeat(100);
        let shown = plain(&long);
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 1);
        assert!(shown.ends_with("ü…"));
        assert_eq!(plain("short"), "short");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(plain("a\nb\tc\r\u{7}"), "a\\nb\\tc\\r\\u{7}");
        assert_eq!(plain("abc\u{202E}fed"), "abc\\u{202e}fed");
        let escapes = "\u{0}".repeat(20);
        assert_eq!(plain(&escapes), format!("{}…", "\\u{0}".repeat(12)));
    }

    #[test]
    fn contact_details_are_masked() {
        assert_eq!(phone("+49 151 2345 6789"), "***89");
        assert_eq!(phone("0151-23"), "***23");
        assert_eq!(phone("12345"), "***");
        assert_eq!(phone("call me"), "***");
        assert_eq!(email("Ada.Lovelace@Example.com"), "***@Example.com");
        assert_eq!(email("ada@"), "***");
        assert_eq!(email("no at sign"), "***");
    }
}
