//! Cutting a product's document into chunks along its sections: one chunk never mixes usage
//! with warnings, so the chunk an answer cites says where the answer came from.
//!
//! Each FAQ question with its answer is its own chunk (customers ask those very questions);
//! other sections are packed from whole sentences up to [`MAX_CHUNK_CHARS`].

use sha2::{Digest, Sha256};

use crate::document::{ProductDocument, SectionKind};
use crate::sentences;

/// About 100 to 150 tokens of English: well inside the local model's 256-token window once the
/// product title is prefixed, and small enough that a chunk answers one thing.
pub const MAX_CHUNK_CHARS: usize = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDraft {
    pub section: SectionKind,
    pub heading: Option<String>,
    /// Order within the product, so chunks can be shown in page order.
    pub position: i32,
    /// The text as stored and quoted.
    pub content: String,
    /// The text as embedded: the product title and section prefixed, so "how often do I use
    /// it" finds the chunk even when the sentence itself never names the product.
    pub embedding_input: String,
}

impl ChunkDraft {
    /// SHA-256 of the model name and the embedded text: the same text for the same model is
    /// never embedded twice, and a model change re-embeds everything.
    pub fn content_hash(&self, model: &str) -> Vec<u8> {
        let mut hasher = Sha256::new();
        hasher.update(model.as_bytes());
        hasher.update([0]);
        hasher.update(self.embedding_input.as_bytes());
        hasher.finalize().to_vec()
    }
}

pub fn chunk_document(document: &ProductDocument) -> Vec<ChunkDraft> {
    let mut drafts = Vec::new();
    let title = document.title.trim();
    let mut push = |section: SectionKind, heading: Option<&str>, content: String| {
        let label = heading.map_or_else(|| section_label(section).to_owned(), str::to_owned);
        let embedding_input = format!("{title} — {label}: {content}");
        drafts.push(ChunkDraft {
            section,
            heading: heading.map(str::to_owned),
            position: drafts.len() as i32,
            content,
            embedding_input,
        });
    };
    if document.sections.iter().all(|section| section.text.trim().is_empty()) {
        // A product known only by name (from an order) is still findable by name.
        let mut text = title.to_owned();
        if let Some(brand) = &document.brand {
            text = format!("{text} by {brand}");
        }
        push(SectionKind::Overview, None, text);
        return drafts;
    }
    for section in &document.sections {
        let heading = section.heading.as_deref().map(str::trim).filter(|h| !h.is_empty());
        let pieces = if section.kind == SectionKind::Faq {
            faq_entries(&section.text)
        } else {
            pack(&sentences::split(&section.text), MAX_CHUNK_CHARS)
        };
        for piece in pieces {
            push(section.kind, heading, piece);
        }
    }
    drafts
}

fn section_label(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Overview => "Description",
        SectionKind::Usage => "How to use",
        SectionKind::Ingredients => "Ingredients",
        SectionKind::Warnings => "Warnings",
        SectionKind::Faq => "FAQ",
        SectionKind::Details => "Details",
    }
}

/// Sentences packed greedily into pieces of at most `limit` characters; a longer sentence is a
/// piece of its own, cut at a word boundary.
fn pack(sentences: &[String], limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for sentence in sentences {
        let sentence = truncate_at_word(sentence, limit);
        if !current.is_empty() && current.len() + 1 + sentence.len() > limit {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(sentence);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

fn truncate_at_word(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(space) if space > limit / 2 => &text[..space],
        _ => &text[..end],
    }
}

/// "Q: … A: …" pairs, one per piece; text that does not follow the pattern is packed like any
/// other section.
fn faq_entries(text: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    let mut loose = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let lower = line.to_lowercase();
        if lower.starts_with("q:") || lower.starts_with("q.") || lower.starts_with("question:") {
            entries.push(line.to_owned());
        } else if let Some(last) = entries.last_mut().filter(|_| loose.is_empty()) {
            last.push(' ');
            last.push_str(line);
        } else {
            loose.push(line.to_owned());
        }
    }
    if entries.is_empty() {
        return pack(&sentences::split(text), MAX_CHUNK_CHARS);
    }
    let mut pieces: Vec<String> =
        entries.iter().map(|entry| truncate_at_word(entry, MAX_CHUNK_CHARS).to_owned()).collect();
    pieces.extend(pack(&loose, MAX_CHUNK_CHARS));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Section;

    fn document(sections: Vec<Section>) -> ProductDocument {
        ProductDocument { title: "Vitamin C Serum".into(), brand: None, sections }
    }

    fn section(kind: SectionKind, text: &str) -> Section {
        Section { kind, heading: None, text: text.into() }
    }

    #[test]
    fn sections_never_share_a_chunk() {
        let drafts = chunk_document(&document(vec![
            section(SectionKind::Usage, "Apply four drops. Use every morning."),
            section(SectionKind::Warnings, "Avoid the eyes."),
        ]));
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].section, SectionKind::Usage);
        assert_eq!(drafts[0].content, "Apply four drops. Use every morning.");
        assert_eq!(drafts[0].embedding_input, "Vitamin C Serum — How to use: Apply four drops. Use every morning.");
        assert_eq!(drafts[1].section, SectionKind::Warnings);
        assert_eq!(drafts[1].position, 1);
    }

    #[test]
    fn long_sections_are_packed_from_whole_sentences() {
        let text = (0..40).map(|i| format!("Sentence number {i} says something useful.")).collect::<Vec<_>>().join(" ");
        let drafts = chunk_document(&document(vec![section(SectionKind::Overview, &text)]));
        assert!(drafts.len() > 1);
        for draft in &drafts {
            assert!(draft.content.len() <= MAX_CHUNK_CHARS, "{}", draft.content.len());
            assert!(draft.content.ends_with('.'), "{}", draft.content);
        }
        let rejoined = drafts.iter().map(|d| d.content.as_str()).collect::<Vec<_>>().join(" ");
        assert_eq!(rejoined, text);
    }

    #[test]
    fn each_faq_answer_is_its_own_chunk() {
        let drafts = chunk_document(&document(vec![section(
            SectionKind::Faq,
            "Q: Is it vegan? A: Yes.\nQ: Can I use it with retinol?\nA: Use retinol at night and the serum in the morning.",
        )]));
        let contents: Vec<&str> = drafts.iter().map(|d| d.content.as_str()).collect();
        assert_eq!(
            contents,
            vec![
                "Q: Is it vegan? A: Yes.",
                "Q: Can I use it with retinol? A: Use retinol at night and the serum in the morning."
            ]
        );
    }

    #[test]
    fn a_product_known_by_name_only_still_gets_a_chunk() {
        let drafts =
            chunk_document(&ProductDocument { title: "Hair Oil".into(), brand: Some("Luma".into()), sections: vec![] });
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].content, "Hair Oil by Luma");
    }

    #[test]
    fn hashes_depend_on_text_and_model() {
        let drafts = chunk_document(&document(vec![section(SectionKind::Usage, "Apply four drops.")]));
        let again = chunk_document(&document(vec![section(SectionKind::Usage, "Apply four drops.")]));
        assert_eq!(drafts[0].content_hash("m1"), again[0].content_hash("m1"));
        assert_ne!(drafts[0].content_hash("m1"), drafts[0].content_hash("m2"));
        let changed = chunk_document(&document(vec![section(SectionKind::Usage, "Apply five drops.")]));
        assert_ne!(drafts[0].content_hash("m1"), changed[0].content_hash("m1"));
    }
}
