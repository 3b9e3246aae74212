//! Answers without a language model: the sentences of the retrieved chunks that best match the
//! question, quoted as written and prefixed with the product's name.
//!
//! A sentence is quoted only when it is close to the question in embedding space, or fairly
//! close and sharing a word the question turns on ("vegan", "pregnant", "dishwasher"): a
//! question the text does not answer gets "I don't know", not the nearest sentence.

use std::collections::HashSet;

use recete_knowledge::embedder::cosine;
use recete_knowledge::{EmbedError, Embedder, RetrievedChunk, SectionKind, sentences};
use uuid::Uuid;

/// Thresholds on the cosine similarity of a sentence to the question.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A sentence this close answers on its own.
    pub strong: f32,
    /// A sentence this close answers when it shares a key word with the question.
    pub weak: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { strong: 0.55, weak: 0.38 }
    }
}

/// Chunks whose sentences are considered; further ones rarely hold a better sentence.
const CANDIDATE_CHUNKS: usize = 3;
/// Keeps a WhatsApp answer readable.
const MAX_ANSWER_CHARS: usize = 420;

#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedAnswer {
    pub text: String,
    pub cited_chunks: Vec<Uuid>,
    pub product_title: String,
    /// Similarity of the best quoted sentence to the question.
    pub similarity: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Extraction {
    Answer(ExtractedAnswer),
    /// Nothing in the chunks answers; the best candidate and its similarity say how close it came.
    NotFound {
        best_similarity: f32,
    },
}

struct Candidate<'a> {
    chunk: &'a RetrievedChunk,
    sentence: String,
}

pub async fn answer(
    question: &str,
    chunks: &[RetrievedChunk],
    embedder: &dyn Embedder,
    thresholds: Thresholds,
) -> Result<Extraction, EmbedError> {
    let candidates: Vec<Candidate> = chunks
        .iter()
        .take(CANDIDATE_CHUNKS)
        .flat_map(|chunk| {
            sentences::split(&chunk.content)
                .into_iter()
                .filter_map(|sentence| quotable(&sentence, chunk.section))
                .map(move |sentence| Candidate { chunk, sentence })
        })
        .collect();
    if candidates.is_empty() {
        return Ok(Extraction::NotFound { best_similarity: 0.0 });
    }
    let mut texts = vec![question.to_owned()];
    texts.extend(candidates.iter().map(|c| format!("{}: {}", c.chunk.product_title, c.sentence)));
    let vectors = embedder.embed(&texts).await?;
    let Some((question_vector, sentence_vectors)) = vectors.split_first() else {
        return Ok(Extraction::NotFound { best_similarity: 0.0 });
    };
    let key_words = key_words(question, chunks);
    let mut scored: Vec<(usize, f32)> =
        sentence_vectors.iter().enumerate().map(|(index, vector)| (index, cosine(question_vector, vector))).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let accepted = |index: usize, similarity: f32| {
        similarity >= thresholds.strong
            || (similarity >= thresholds.weak && shares_word(&candidates[index].sentence, &key_words))
    };
    let best_similarity = scored.first().map_or(0.0, |(_, s)| *s);
    let Some(&(best, best_score)) = scored.iter().find(|(index, similarity)| accepted(*index, *similarity)) else {
        return Ok(Extraction::NotFound { best_similarity });
    };
    let chunk = candidates[best].chunk;
    let mut quoted = vec![best];
    // A second sentence of the same chunk when it is nearly as relevant: "Apply four drops."
    // reads better with "Use every morning." beside it.
    if let Some(&(second, _)) = scored.iter().find(|(index, similarity)| {
        *index != best && candidates[*index].chunk.id == chunk.id && *similarity >= best_score - 0.08
    }) {
        quoted.push(second);
    }
    quoted.sort_unstable();
    let body = quoted.iter().map(|&index| candidates[index].sentence.as_str()).collect::<Vec<_>>().join(" ");
    let text = clip(&format!("{}: {body}", chunk.product_title), MAX_ANSWER_CHARS);
    Ok(Extraction::Answer(ExtractedAnswer {
        text,
        cited_chunks: vec![chunk.id],
        product_title: chunk.product_title.clone(),
        similarity: best_score,
    }))
}

/// A sentence fit to quote: FAQ questions are dropped (their answers are quoted), "A:" prefixes
/// removed.
fn quotable(sentence: &str, section: SectionKind) -> Option<String> {
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

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "be", "it", "its", "this", "that", "these", "those", "i", "me", "my", "you",
    "your", "we", "our", "can", "could", "should", "would", "will", "do", "does", "did", "how", "what", "when",
    "where", "which", "who", "why", "to", "of", "in", "on", "for", "with", "and", "or", "if", "at", "by", "from",
    "about", "use", "using", "used", "product", "much", "many", "often", "there", "any", "have", "has", "get", "need",
    "ok", "okay", "please", "thanks", "hi", "hello", "hey", "just", "also", "so", "im", "i'm", "u", "ur", "put",
    "much",
];

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2).map(|w| stem(&w.to_lowercase()))
}

fn stem(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(root) = word.strip_suffix(suffix)
            && root.len() >= 3
        {
            return root.to_owned();
        }
    }
    word.to_owned()
}

/// The question's words that are neither filler nor the product's own name.
fn key_words(question: &str, chunks: &[RetrievedChunk]) -> HashSet<String> {
    let title_words: HashSet<String> =
        chunks.iter().flat_map(|c| words(&c.product_title).collect::<Vec<_>>()).collect();
    let stop: HashSet<String> = STOP_WORDS.iter().map(|w| stem(w)).collect();
    words(question).filter(|w| !stop.contains(w) && !title_words.contains(w)).collect()
}

fn shares_word(sentence: &str, key_words: &HashSet<String>) -> bool {
    words(sentence).any(|w| key_words.contains(&w))
}

fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let cut: String = text.chars().take(limit).collect();
    match cut.rfind(['.', '!', '?']) {
        Some(end) if end > limit / 2 => cut[..=end].to_owned(),
        _ => format!("{}…", cut.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faq_questions_are_not_quoted_and_answer_prefixes_go() {
        assert_eq!(quotable("Q: Is it vegan?", SectionKind::Faq), None);
        assert_eq!(quotable("A: Yes, fully vegan.", SectionKind::Faq).as_deref(), Some("Yes, fully vegan."));
        assert_eq!(quotable("Apply four drops.", SectionKind::Usage).as_deref(), Some("Apply four drops."));
    }

    #[test]
    fn key_words_skip_filler_and_the_product_name() {
        let chunk = RetrievedChunk {
            id: Uuid::nil(),
            product_id: Uuid::nil(),
            product_title: "Gentle Shampoo".into(),
            section: SectionKind::Overview,
            content: String::new(),
            similarity: 0.5,
        };
        let words = key_words("is the shampoo vegan?", &[chunk]);
        assert_eq!(words, HashSet::from(["vegan".to_owned()]));
        assert!(shares_word("This formula is 100% vegan.", &words));
        assert!(!shares_word("Contains coconut oil.", &words));
    }

    #[test]
    fn long_answers_are_clipped_at_a_sentence() {
        let text = format!("{} End.", "word ".repeat(100));
        let clipped = clip(&text, 60);
        assert!(clipped.chars().count() <= 61);
        assert!(clipped.ends_with('…'));
    }
}
