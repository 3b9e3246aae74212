//! Text clean-up shared by the extractors: which elements carry no product text, which break
//! lines, and how whitespace and length are tamed.

use scraper::{ElementRef, Html, Node};

/// Longest single field (title, description, brand...) we keep; a description longer than this
/// is a page dumped into a field, not a description.
pub(super) const MAX_FIELD_CHARS: usize = 20_000;

/// Elements whose content is code, chrome or controls rather than product text.
const IGNORED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "nav", "header", "footer", "aside", "form", "iframe",
    "button", "select", "textarea", "canvas", "object", "embed", "audio", "video",
];

/// Elements that start and end a line of text.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "caption",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

pub(super) fn is_ignored(name: &str) -> bool {
    IGNORED.contains(&name)
}

pub(super) fn is_block(name: &str) -> bool {
    BLOCKS.contains(&name)
}

/// The readable text inside an element on one line: ignored elements skipped, block and cell
/// boundaries and `<br>` turned into spaces, whitespace collapsed. Walks with an explicit stack,
/// so no nesting depth a page can throw at us overflows ours.
pub(super) fn element_text(element: ElementRef<'_>) -> String {
    let mut text = String::new();
    let mut stack = vec![(element.children(), false)];
    while let Some((children, _)) = stack.last_mut() {
        let Some(node) = children.next() else {
            if let Some((_, true)) = stack.pop() {
                text.push(' ');
            }
            continue;
        };
        match node.value() {
            Node::Text(chunk) => text.push_str(chunk),
            Node::Element(child) if is_ignored(child.name()) => {}
            Node::Element(child) => {
                let separates = is_block(child.name()) || matches!(child.name(), "br" | "td" | "th");
                if separates {
                    text.push(' ');
                }
                stack.push((node.children(), separates));
            }
            _ => {}
        }
    }
    collapse_whitespace(&text)
}

/// Collapses every run of whitespace (including non-breaking spaces) into one space and trims.
pub(super) fn collapse_whitespace(text: &str) -> String {
    let mut collapsed = String::with_capacity(text.len());
    for word in text.split(char::is_whitespace).filter(|word| !word.is_empty()) {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    collapsed
}

/// A field value as readable text: markup and entities some sites leave in structured data are
/// rendered away, whitespace collapsed, length capped; `None` when nothing is left.
pub(super) fn field(raw: &str) -> Option<String> {
    let text = if raw.contains(['<', '&']) {
        element_text(Html::parse_fragment(raw).root_element())
    } else {
        collapse_whitespace(raw)
    };
    let text = truncate_chars(text, MAX_FIELD_CHARS);
    (!text.is_empty()).then_some(text)
}

/// Cuts `text` to at most `max` characters, on a character boundary.
pub(super) fn truncate_chars(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_collapsed_including_non_breaking_spaces() {
        assert_eq!(collapse_whitespace("  Vitamin\u{a0}C \n\t serum "), "Vitamin C serum");
        assert_eq!(collapse_whitespace(" \n "), "");
    }

    #[test]
    fn fields_lose_markup_and_entities_but_keep_word_boundaries() {
        assert_eq!(
            field("<p>Gentle &amp; <b>fragrance</b>-free</p><p>Daily</p>").as_deref(),
            Some("Gentle & fragrance-free Daily")
        );
        assert_eq!(field("Plain\n text").as_deref(), Some("Plain text"));
        assert_eq!(field("  <br> "), None);
        assert_eq!(field("<script>track()</script>Serum").as_deref(), Some("Serum"));
    }

    #[test]
    fn deeply_nested_markup_does_not_exhaust_the_stack() {
        let depth = 100_000;
        let html = format!("{}deep{}", "<span>".repeat(depth), "</span>".repeat(depth));
        assert_eq!(field(&html).as_deref(), Some("deep"));
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate_chars("çğüşöı".to_owned(), 3), "çğü");
        assert_eq!(truncate_chars("short".to_owned(), 10), "short");
    }
}
