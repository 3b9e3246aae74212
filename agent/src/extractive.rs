//! Answers without a language model: the sentences of the retrieved chunks that best match the
//! question, quoted as written and prefixed with the product's name.
//!
//! A sentence is quoted only when it is close to the question in embedding space, or fairly
//! close and sharing a word the question turns on ("vegan", "pregnant", "dishwasher"): a
//! question the text does not answer gets "I don't know", not the nearest sentence.

use std::collections::HashSet;
use std::sync::LazyLock;

use recete_knowledge::embedder::cosine;
use recete_knowledge::{EmbedError, Embedder, RetrievedChunk, SectionKind, sentences};
use regex::Regex;
use uuid::Uuid;

/// Thresholds on the cosine similarity of a sentence to the question.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A sentence this close answers whatever words it uses.
    pub certain: f32,
    /// A sentence this close answers a question with no key word of its own ("how do I use
    /// the serum?").
    pub strong: f32,
    /// A sentence this close answers when it shares a key word with the question, or answers
    /// its kind ("how many" with a quantity, "how often" with a frequency).
    pub weak: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { certain: 0.72, strong: 0.5, weak: 0.35 }
    }
}

/// Chunks whose sentences are considered; further ones rarely hold a better sentence.
const CANDIDATE_CHUNKS: usize = 5;
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

/// The best sentences of `chunks` for `question`, whose vector `question_vector` is when the
/// caller has it. Sentences stored with their vectors (every chunk synced since they are) cost
/// no model call; the question, when its vector is not given, and the sentences of chunks synced
/// before are embedded in one call.
pub async fn answer(
    question: &str,
    question_vector: Option<&[f32]>,
    chunks: &[RetrievedChunk],
    embedder: &dyn Embedder,
    thresholds: Thresholds,
) -> Result<Extraction, EmbedError> {
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut vectors: Vec<Option<&[f32]>> = Vec::new();
    for chunk in chunks.iter().take(CANDIDATE_CHUNKS) {
        match &chunk.sentences {
            Some(stored) => {
                for sentence in stored {
                    candidates.push(Candidate { chunk, sentence: sentence.text.clone() });
                    vectors.push(Some(&sentence.vector));
                }
            }
            None => {
                for sentence in sentences::quotable(&chunk.content, chunk.section) {
                    candidates.push(Candidate { chunk, sentence });
                    vectors.push(None);
                }
            }
        }
    }
    if candidates.is_empty() {
        return Ok(Extraction::NotFound { best_similarity: 0.0 });
    }
    let mut texts: Vec<String> = Vec::new();
    if question_vector.is_none() {
        texts.push(question.to_owned());
    }
    for (candidate, vector) in candidates.iter().zip(&vectors) {
        if vector.is_none() {
            texts.push(sentences::embedding_input(&candidate.chunk.product_title, &candidate.sentence));
        }
    }
    let embedded = if texts.is_empty() { Vec::new() } else { embedder.embed(&texts).await? };
    if embedded.len() != texts.len() {
        return Err(EmbedError::Count { expected: texts.len(), got: embedded.len() });
    }
    let mut fresh = embedded.iter();
    let question_vector = match question_vector {
        Some(vector) => vector,
        None => fresh.next().map(Vec::as_slice).unwrap_or_default(),
    };
    let sentence_vectors: Vec<&[f32]> =
        vectors.iter().map(|stored| stored.or_else(|| fresh.next().map(Vec::as_slice)).unwrap_or_default()).collect();
    let key_words = key_words(question, chunks);
    let cues = question_cues(question);
    let asked = asked_section(question);
    let in_asked_section = |index: usize| asked == Some(candidates[index].chunk.section);
    let named = named_product(question, chunks);
    let voted = voted_product(chunks);
    // The merchant's own FAQ entry nearest to the question, when retrieval put it first: its
    // question is the customer's in other words, so its answer needs no shared word.
    let first_faq = chunks
        .iter()
        .take(CANDIDATE_CHUNKS)
        .find(|chunk| named.is_none_or(|product| chunk.product_id == product))
        .filter(|chunk| chunk.section == SectionKind::Faq && chunk.similarity >= FAQ_ENTRY_SIMILARITY)
        .map(|chunk| chunk.id);
    let answers_faq_entry = |index: usize| first_faq == Some(candidates[index].chunk.id);
    // Ranked by the sentence's own closeness and its chunk's: a sentence of the chunk retrieval
    // put first beats an equally close one from a chunk further down; one of the section the
    // question asks for ("how do I use it?": the usage), or of the kind of answer it asks for
    // ("how many drops?": a quantity), beats an equally close one elsewhere; one of another
    // product than most of the retrieved text is about loses a little.
    let mut scored: Vec<(usize, f32, f32)> = sentence_vectors
        .iter()
        .enumerate()
        .filter(|(index, _)| named.is_none_or(|product| candidates[*index].chunk.product_id == product))
        .map(|(index, vector)| {
            let similarity = cosine(question_vector, vector);
            let candidate = &candidates[index];
            let mut bonus = if in_asked_section(index) { SECTION_BONUS } else { 0.0 };
            if cues.iter().any(|cue| cue.matches(&candidate.sentence)) {
                bonus += CUE_BONUS;
            }
            if voted.is_some_and(|product| candidate.chunk.product_id != product) {
                bonus -= OTHER_PRODUCT_PENALTY;
            }
            (index, similarity, 0.6 * similarity + 0.4 * candidate.chunk.similarity + bonus)
        })
        .collect();
    scored.sort_by(|a, b| b.2.total_cmp(&a.2));
    let accepted = |index: usize, similarity: f32| {
        let sentence = &candidates[index].sentence;
        let related = shares_word(sentence, &key_words)
            || cues.iter().any(|cue| cue.matches(sentence))
            || in_asked_section(index)
            || answers_faq_entry(index);
        similarity >= thresholds.certain
            || (similarity >= thresholds.strong && key_words.is_empty())
            || (similarity >= thresholds.weak && related)
    };
    let best_similarity = scored.iter().map(|(_, s, _)| *s).fold(0.0, f32::max);
    let Some(&(best, best_similarity_of_answer, best_rank)) =
        scored.iter().find(|(index, similarity, _)| accepted(*index, *similarity))
    else {
        return Ok(Extraction::NotFound { best_similarity });
    };
    let chunk = candidates[best].chunk;
    let mut quoted = vec![best];
    // A second sentence of the same product when it is nearly as relevant: "Apply four drops."
    // reads better with "Use every morning." beside it, and "Reapply after swimming." with
    // "Water resistant for 40 minutes only.". One of another chunk must be nearer still, and one
    // that shares no word with the question must be closer to it than the first.
    if let Some(&(second, _, _)) = scored.iter().find(|(index, similarity, rank)| {
        let candidate = &candidates[*index];
        let same_chunk = candidate.chunk.id == chunk.id;
        *index != best
            && candidate.chunk.product_id == chunk.product_id
            && *rank >= best_rank - if same_chunk { SAME_CHUNK_MARGIN } else { OTHER_CHUNK_MARGIN }
            && (accepted(*index, *similarity)
                || (*similarity >= thresholds.strong && *similarity >= best_similarity_of_answer))
    }) {
        quoted.push(second);
    }
    quoted.sort_unstable();
    let body = quoted.iter().map(|&index| candidates[index].sentence.as_str()).collect::<Vec<_>>().join(" ");
    let text = clip(&format!("{}: {body}", chunk.product_title), MAX_ANSWER_CHARS);
    let mut cited_chunks: Vec<Uuid> = Vec::new();
    for &index in &quoted {
        if !cited_chunks.contains(&candidates[index].chunk.id) {
            cited_chunks.push(candidates[index].chunk.id);
        }
    }
    Ok(Extraction::Answer(ExtractedAnswer {
        text,
        cited_chunks,
        product_title: chunk.product_title.clone(),
        similarity: best_similarity_of_answer,
    }))
}

/// A retrieved FAQ entry at least this close to the question, retrieved before any other
/// text, is the question's entry.
const FAQ_ENTRY_SIMILARITY: f32 = 0.45;
/// What ranking adds for a sentence holding the kind of answer the question asks for.
const CUE_BONUS: f32 = 0.08;
/// What ranking takes from a sentence of a product other than the one the retrieved text is
/// mostly about.
const OTHER_PRODUCT_PENALTY: f32 = 0.05;
/// How far below the first quoted sentence a second may rank, from the same chunk or another.
const SAME_CHUNK_MARGIN: f32 = 0.06;
const OTHER_CHUNK_MARGIN: f32 = 0.04;

/// The product the question names: the one whose title shares the most words with it ("the
/// hair oil" is the Argan & Camellia Hair Oil, not the Hair Mask), when no other shares as many.
fn named_product(question: &str, chunks: &[RetrievedChunk]) -> Option<Uuid> {
    let stop: HashSet<String> = STOP_WORDS.iter().map(|w| stem(w)).collect();
    let asked: Vec<String> = words(question).filter(|word| !stop.contains(word)).collect();
    let mut overlaps: Vec<(Uuid, usize)> = Vec::new();
    for chunk in chunks.iter().take(CANDIDATE_CHUNKS) {
        if overlaps.iter().any(|(product, _)| *product == chunk.product_id) {
            continue;
        }
        let title: HashSet<String> =
            words(&chunk.product_title).filter(|word| !word.chars().all(|c| c.is_ascii_digit())).collect();
        let shared = title.iter().filter(|word| asked.iter().any(|asked| same_word(word, asked))).count();
        overlaps.push((chunk.product_id, shared));
    }
    let most = overlaps.iter().map(|(_, shared)| *shared).max().filter(|most| *most > 0)?;
    let mut named = overlaps.iter().filter(|(_, shared)| *shared == most);
    match (named.next(), named.next()) {
        (Some((product, _)), None) => Some(*product),
        _ => None,
    }
}

/// The product with the largest summed similarity over the candidate chunks.
fn voted_product(chunks: &[RetrievedChunk]) -> Option<Uuid> {
    let mut votes: Vec<(Uuid, f32)> = Vec::new();
    for chunk in chunks.iter().take(CANDIDATE_CHUNKS) {
        match votes.iter_mut().find(|(product, _)| *product == chunk.product_id) {
            Some(vote) => vote.1 += chunk.similarity,
            None => votes.push((chunk.product_id, chunk.similarity)),
        }
    }
    votes.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(product, _)| product)
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "be", "it", "its", "this", "that", "these", "those", "i", "me", "my", "you",
    "your", "we", "our", "can", "could", "should", "would", "will", "do", "does", "did", "how", "what", "when",
    "where", "which", "who", "why", "to", "of", "in", "on", "for", "with", "and", "or", "if", "at", "by", "from",
    "about", "use", "using", "used", "product", "much", "many", "often", "there", "any", "have", "has", "get", "need",
    "ok", "okay", "please", "thanks", "hi", "hello", "hey", "just", "also", "so", "im", "i'm", "u", "ur", "put",
    "much", "out", "made",
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

/// Words customers use for what labels say otherwise: "will it make me break out?" is answered
/// by "suitable for acne-prone skin", "what does it smell like?" by "Fragrance: soft green pear".
#[rustfmt::skip]
const LABEL_WORDS: &[(&[&str], &[&str])] = &[
    (&["break out", "breaks out", "breakout", "breakouts", "pimple", "pimples", "zits", "spots"], &["acne"]),
    (&["smell", "smells", "smelly", "perfume", "perfumed", "scent", "scents"], &["fragrance", "scent", "scented"]),
    (&["sleepy", "drowsy", "knock me out", "knocks me out", "help me sleep"], &["sleep", "sleeping"]),
    (&["bubbles", "bubbly", "suds", "sudsy", "foamy"], &["foam", "lather"]),
    (&["straightener", "flat iron", "curling iron", "curling wand", "blow dry", "blow dryer", "hair dryer"], &["heat"]),
    (&["greasy", "shiny"], &["oily", "greasy", "shine"]),
    (&["go off", "goes off", "gone off", "expire", "expires", "expired"], &["expiry", "opening", "discard"]),
];

/// The question's words that are neither filler nor the product's own name, with the label's
/// words for the customer's own ([`LABEL_WORDS`]).
fn key_words(question: &str, chunks: &[RetrievedChunk]) -> HashSet<String> {
    let title_words: HashSet<String> =
        chunks.iter().flat_map(|c| words(&c.product_title).collect::<Vec<_>>()).collect();
    let stop: HashSet<String> = STOP_WORDS.iter().map(|w| stem(w)).collect();
    let mut key_words: HashSet<String> =
        words(question).filter(|w| !stop.contains(w) && !title_words.contains(w)).collect();
    let padded = format!(
        " {} ",
        question
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (said, labelled) in LABEL_WORDS {
        if said.iter().any(|phrase| padded.contains(&format!(" {phrase} "))) {
            key_words.extend(labelled.iter().map(|word| stem(word)));
        }
    }
    key_words
}

fn shares_word(sentence: &str, key_words: &HashSet<String>) -> bool {
    words(sentence).any(|word| {
        key_words.iter().any(|key| same_word(&word, key) || (key.len() >= 6 && word.starts_with(key.as_str())))
    })
}

/// Equal, or one typo apart in a word of five letters or more ("shampo", "alergy").
fn same_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.len().min(b.len()) < 5 || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    prefix + suffix >= a.len().max(b.len()) - 1
}

/// What kind of answer a question asks for, recognisable in a sentence that shares none of its
/// words: "how much serum?" is answered by "Apply four drops".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    Quantity,
    Frequency,
    Duration,
    /// How much of an ingredient or nutrient the product holds: a percentage or an amount in a
    /// unit ("0.3%", "120 mg", "1000 IU").
    Content,
    /// Whether it suits someone of an age ("my 2 yr old", "my son"): ages and children.
    Age,
}

impl Cue {
    fn matches(&self, sentence: &str) -> bool {
        let lower = sentence.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|word| lower.contains(word));
        match self {
            Self::Quantity => {
                lower.chars().any(|c| c.is_ascii_digit())
                    || has(&[
                        "one ",
                        "two ",
                        "three ",
                        "four ",
                        "five ",
                        "drop",
                        "pump",
                        "capsule",
                        "softgel",
                        "pea-sized",
                        "amount",
                        "layer",
                        "dose",
                    ])
            }
            Self::Frequency => has(&[
                "daily",
                "every",
                "once",
                "twice",
                "morning",
                "evening",
                "night",
                "week",
                "day",
                "times",
                "after each",
                "before each",
            ]),
            Self::Duration => has(&["minute", "hour", "second", "week", "month", "year", "until", "lasts", "last "]),
            Self::Content => lower.contains('%') || AMOUNT_IN_UNIT.is_match(&lower),
            Self::Age => AGE_IN_ANSWER.is_match(&lower),
        }
    }
}

/// What ranking adds for a sentence of the section the question asks for: enough to beat a
/// sentence elsewhere that is as close or slightly closer ("For external use only." is close to
/// "how do I use it?" by its words, not by what it says).
const SECTION_BONUS: f32 = 0.08;

/// The section a question asks for by its form, whatever its words: how to use (or apply, or
/// take) a product is its usage; what is in it, its ingredients.
fn asked_section(question: &str) -> Option<SectionKind> {
    let lower = question.to_lowercase();
    let has = |phrases: &[&str]| phrases.iter().any(|phrase| lower.contains(phrase));
    let how = ["how do i ", "how to ", "how should i ", "how do you ", "how can i ", "how would i "];
    let verbs = ["use", "apply", "take"];
    let asks_how_to = how.iter().any(|start| {
        lower.match_indices(start).any(|(at, _)| verbs.iter().any(|verb| lower[at + start.len()..].starts_with(verb)))
    });
    // "how many drops should I use?", "how much lotion do I need?": an amount or a frequency of
    // use is the usage's.
    let asks_amount_of_use = has(&["how much", "how many", "how often"]) && USE_VERB.is_match(&lower);
    if asks_how_to || has(&["directions", "instructions for use", "usage"]) {
        Some(SectionKind::Usage)
    } else if has(&["ingredient", "what is in ", "what's in ", "made of", "made from"]) || asks_content(&lower) {
        Some(SectionKind::Ingredients)
    } else if asks_amount_of_use {
        Some(SectionKind::Usage)
    } else {
        None
    }
}

static USE_VERB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:use|put|apply|take|need)\b").expect("use verb pattern is valid"));

/// "How much shea is in it?", "what % retinol?", "how many IU?": the question asks for an
/// amount the product contains.
static CONTENT_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"how\s+(?:much|many)\s+\w+(?:\s+\w+)?\s+(?:is|are)\s+(?:in|there)\b|%|\bpercent|\b(?:iu|mg|mcg|µg)\b")
        .expect("content question pattern is valid")
});

/// A number followed by a unit of content.
static AMOUNT_IN_UNIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d\s*(?:mg|µg|mcg|iu|g)\b").expect("amount pattern is valid"));

/// An age or a child in the question.
static AGE_IN_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b\d+\s*(?:yr|yrs|year|years|y/o|yo|month|months|mo|mths?)\b|",
        r"\b(?:son|daughter|kids?|child|children|toddler|baby|babies|infant|teen|teenager|newborn)\b",
    ))
    .expect("age pattern is valid")
});

/// An age limit or children in a sentence.
static AGE_IN_ANSWER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:child|children|babies|baby|infants?|toddlers?|adults?|age|ages|years old|\d+\s+(?:years|months))\b",
    )
    .expect("age answer pattern is valid")
});

fn asks_content(lower: &str) -> bool {
    CONTENT_QUESTION.is_match(lower)
}

fn question_cues(question: &str) -> Vec<Cue> {
    let lower = question.to_lowercase();
    let mut cues = Vec::new();
    if ["how much", "how many", "what amount", "what dose", "quantity"].iter().any(|p| lower.contains(p)) {
        cues.push(Cue::Quantity);
    }
    if ["how often", "how frequently", "every day", "morning or night", "morning or evening", "when should", "when do"]
        .iter()
        .any(|p| lower.contains(p))
    {
        cues.push(Cue::Frequency);
    }
    if ["how long", "how many hours", "how many minutes", "how many days"].iter().any(|p| lower.contains(p)) {
        cues.push(Cue::Duration);
    }
    if AGE_IN_QUESTION.is_match(&lower) {
        cues.push(Cue::Age);
    }
    if asks_content(&lower) {
        // The amount asked for is one the product holds, not one to use.
        cues.retain(|cue| *cue != Cue::Quantity);
        cues.push(Cue::Content);
    }
    cues
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
    use recete_knowledge::SectionKind;

    use super::*;

    #[test]
    fn key_words_skip_filler_and_the_product_name() {
        let chunk = RetrievedChunk {
            id: Uuid::nil(),
            product_id: Uuid::nil(),
            product_title: "Gentle Shampoo".into(),
            section: SectionKind::Overview,
            content: String::new(),
            similarity: 0.5,
            sentences: None,
        };
        let words = key_words("is the shampoo vegan?", &[chunk]);
        assert_eq!(words, HashSet::from(["vegan".to_owned()]));
        assert!(shares_word("This formula is 100% vegan.", &words));
        assert!(!shares_word("Contains coconut oil.", &words));
        let said = key_words("will the serum make me break out?", &[]);
        assert!(shares_word("Suitable for sensitive and acne-prone skin.", &said));
    }

    /// Counts calls and texts; each text's vector points along one axis chosen by its words, so
    /// "drops" sentences and questions land together.
    struct CountingEmbedder {
        calls: std::sync::atomic::AtomicUsize,
        texts: std::sync::atomic::AtomicUsize,
    }

    fn axis_vector(text: &str) -> Vec<f32> {
        let mut vector = vec![0.0; 4];
        let axis = if text.contains("drop") {
            0
        } else if text.contains("vegan") {
            1
        } else {
            2
        };
        vector[axis] = 1.0;
        vector
    }

    impl Embedder for CountingEmbedder {
        fn model_name(&self) -> &str {
            "counting"
        }

        fn embed<'a>(
            &'a self,
            texts: &'a [String],
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Vec<f32>>, EmbedError>> + Send + 'a>>
        {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.texts.fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move { Ok(texts.iter().map(|text| axis_vector(text)).collect()) })
        }
    }

    fn usage_chunk(sentences: Option<Vec<recete_knowledge::StoredSentence>>) -> RetrievedChunk {
        RetrievedChunk {
            id: Uuid::from_u128(7),
            product_id: Uuid::nil(),
            product_title: "Vitamin C Serum".into(),
            section: SectionKind::Usage,
            content: "Apply four drops to clean skin. Store in a cool place.".into(),
            similarity: 0.7,
            sentences,
        }
    }

    #[tokio::test]
    async fn stored_sentence_vectors_and_the_question_vector_need_no_model_call() {
        let embedder = CountingEmbedder { calls: 0.into(), texts: 0.into() };
        let stored = ["Apply four drops to clean skin.", "Store in a cool place."]
            .map(|text| recete_knowledge::StoredSentence { text: text.to_owned(), vector: axis_vector(text) })
            .to_vec();
        let question = "how many drops do I use?";
        let chunks = [usage_chunk(Some(stored))];
        let extracted = answer(question, Some(&axis_vector(question)), &chunks, &embedder, Thresholds::default())
            .await
            .expect("answers");
        let Extraction::Answer(found) = extracted else { panic!("no answer: {extracted:?}") };
        assert_eq!(found.text, "Vitamin C Serum: Apply four drops to clean skin.");
        assert_eq!(embedder.calls.load(std::sync::atomic::Ordering::SeqCst), 0);

        // A chunk synced before sentences were stored: the question and its two sentences go to
        // the model in one call, and the answer is the same.
        let chunks = [usage_chunk(None)];
        let again = answer(question, None, &chunks, &embedder, Thresholds::default()).await.expect("answers");
        assert_eq!(again, Extraction::Answer(found));
        assert_eq!(embedder.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(embedder.texts.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    /// A chunk of `product` whose one stored sentence lies at `cosine` from the question vector
    /// `[1, 0]`.
    fn chunk_with(
        id: u128,
        product: u128,
        title: &str,
        section: SectionKind,
        similarity: f32,
        sentence: &str,
        cosine: f32,
    ) -> RetrievedChunk {
        let vector = vec![cosine, (1.0 - cosine * cosine).sqrt()];
        RetrievedChunk {
            id: Uuid::from_u128(id),
            product_id: Uuid::from_u128(product),
            product_title: title.into(),
            section,
            content: sentence.into(),
            similarity,
            sentences: Some(vec![recete_knowledge::StoredSentence { text: sentence.into(), vector }]),
        }
    }

    async fn extract(question: &str, chunks: &[RetrievedChunk]) -> Extraction {
        let embedder = CountingEmbedder { calls: 0.into(), texts: 0.into() };
        answer(question, Some(&[1.0, 0.0]), chunks, &embedder, Thresholds::default()).await.expect("extracts")
    }

    #[test]
    fn the_product_a_question_names_is_the_one_whose_title_shares_most_words() {
        let oil = chunk_with(1, 1, "Argan & Camellia Hair Oil", SectionKind::Faq, 0.6, "It can mark silk.", 0.5);
        let mask = chunk_with(2, 2, "Deep Repair Hair Mask", SectionKind::Faq, 0.6, "Rinse it out.", 0.5);
        let chunks = [mask, oil];
        assert_eq!(named_product("will the hair oil stain my silk pillow", &chunks), Some(Uuid::from_u128(1)));
        assert_eq!(named_product("is this hair stuff vegan", &chunks), None, "both titles say hair");
        assert_eq!(named_product("is it vegan", &chunks), None);
    }

    #[tokio::test]
    async fn the_faq_entry_retrieved_first_answers_without_a_shared_word() {
        let entry = |similarity| {
            chunk_with(
                1,
                1,
                "Deep Repair Hair Mask",
                SectionKind::Faq,
                similarity,
                "No, rinse it out after 20 minutes at most.",
                0.45,
            )
        };
        let question = "can i sleep with it in my hair";
        let Extraction::Answer(found) = extract(question, &[entry(0.55)]).await else {
            panic!("the entry retrieved first answers");
        };
        assert_eq!(found.text, "Deep Repair Hair Mask: No, rinse it out after 20 minutes at most.");
        // Retrieved further from the question, the same entry is not taken for its answer.
        assert!(matches!(extract(question, &[entry(0.4)]).await, Extraction::NotFound { .. }));
    }

    #[tokio::test]
    async fn a_closer_sentence_of_another_section_joins_the_answer_and_both_chunks_are_cited() {
        let usage =
            chunk_with(1, 1, "Mineral Sunscreen", SectionKind::Usage, 0.5, "Reapply straight after swimming.", 0.57);
        let warnings = chunk_with(
            2,
            1,
            "Mineral Sunscreen",
            SectionKind::Warnings,
            0.55,
            "Water resistant for 40 minutes only.",
            0.6,
        );
        let other = chunk_with(3, 2, "Body Lotion", SectionKind::Usage, 0.55, "Apply after swimming.", 0.6);
        let Extraction::Answer(found) =
            extract("can i go swimming with the sunscreen on", &[usage, warnings, other]).await
        else {
            panic!("an answer");
        };
        assert_eq!(
            found.text,
            "Mineral Sunscreen: Reapply straight after swimming. Water resistant for 40 minutes only."
        );
        assert_eq!(found.cited_chunks, vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
    }

    #[test]
    fn one_typo_still_matches_a_long_word() {
        assert!(same_word("shampo", "shampoo"));
        assert!(same_word("alergy", "allergy"));
        assert!(!same_word("oil", "oils2"));
        assert!(!same_word("vegan", "vegetable"));
    }

    #[test]
    fn question_kinds_are_recognised_in_answers() {
        assert_eq!(question_cues("how much of the serum do i put on?"), vec![Cue::Quantity]);
        assert!(Cue::Quantity.matches("Apply four drops to clean skin."));
        assert!(Cue::Frequency.matches("Use every morning."));
        assert!(!Cue::Frequency.matches("Contains shea butter."));
        assert!(question_cues("is it vegan?").is_empty());
        assert_eq!(question_cues("how much magnesium is in one capsule"), vec![Cue::Content]);
        assert!(Cue::Content.matches("Each capsule provides 120 mg of magnesium."));
        assert!(Cue::Content.matches("Retinol (0.3%, encapsulated)"));
        assert!(!Cue::Content.matches("Take one capsule a day."));
        assert_eq!(question_cues("is the lotion ok for my 2 yr old"), vec![Cue::Age]);
        assert!(Cue::Age.matches("Do not use on children under 3 years."));
        assert!(!Cue::Age.matches("Use one to two pumps per arm or leg."));
    }

    #[test]
    fn questions_name_the_section_they_ask_for_by_their_form() {
        for usage in [
            "How do I use the night repair cream?",
            "how to apply it",
            "How should I take these capsules?",
            "what are the directions?",
            "how often should I use it?",
            "how many drops do i put on",
        ] {
            assert_eq!(asked_section(usage), Some(SectionKind::Usage), "{usage}");
        }
        for ingredients in [
            "What's in the serum?",
            "list the ingredients please",
            "what is it made of",
            "how much shea is in the body lotion",
            "what % retinol does it have",
            "how many IU per softgel",
        ] {
            assert_eq!(asked_section(ingredients), Some(SectionKind::Ingredients), "{ingredients}");
        }
        for neither in ["Is it safe during pregnancy?", "How do I return it?", "how many hours does the candle burn?"] {
            assert_eq!(asked_section(neither), None, "{neither}");
        }
    }

    #[test]
    fn long_answers_are_clipped_at_a_sentence() {
        let text = format!("{} End.", "word ".repeat(100));
        let clipped = clip(&text, 60);
        assert!(clipped.chars().count() <= 61);
        assert!(clipped.ends_with('…'));
    }
}
