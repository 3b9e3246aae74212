//! The words that settle a message's intent in the languages other than English, one file per
//! language beside this one (`turkish.rs`, `german.rs`, `spanish.rs`, `arabic.rs`).
//!
//! They live with the intent rules rather than with the fixed phrases in
//! `recete_shared::languages`: those tables hold what is *said* to customers and the whole-message
//! consent words the webhook needs; these are what the agent *reads*, used by nothing but the
//! rules in [`super`], so each list sits next to the rule that uses it and its tests.
//!
//! Every entry is written folded (`recete_shared::languages::fold`: lower case, no accents, the
//! Arabic letter forms unified), so "İADE", "iade" and "ıade" are one word and a customer who
//! types without accents is read the same. An entry is a phrase matched at word boundaries; a
//! trailing `*` lets its last word go on ("siparis*" for "siparişim"), a leading `*` lets its
//! first word start inside a longer one (Arabic joins "ال", "و", "ب" to the word: "*مكسور").

/// The intent words of one language.
pub struct Lexicon {
    /// Asking to stop receiving messages, inside a longer message.
    pub opt_out: &'static [&'static str],
    /// Verbs of talking to someone, each combined with every one of [`Lexicon::person_nouns`],
    /// before or after it.
    pub person_verbs: &'static [&'static str],
    pub person_nouns: &'static [&'static str],
    /// Phrases that ask for a person by themselves.
    pub person: &'static [&'static str],
    /// Something went wrong: broken, missing, wrong item, a refund or a return.
    pub complaint: &'static [&'static str],
    /// Asking how to keep something from happening, which turns a complaint word into a question.
    pub prevention: &'static [&'static str],
    /// Where an order is, when it arrives, that it has not.
    pub order: &'static [&'static str],
    /// Words that greet or thank; a message of nothing else is a greeting.
    pub greeting: &'static [&'static str],
    /// Words that may come with a greeting without making it something else.
    pub greeting_filler: &'static [&'static str],
    /// "How are you" and the like, which leave a greeting a greeting.
    pub small_talk: &'static [&'static str],
    /// Question words: a message with one, and no other intent, asks about a product.
    pub question: &'static [&'static str],
}

/// Whether `folded`, a folded text with a space at each end, holds `phrase`, an entry written
/// with the syntax above.
pub fn holds(folded: &str, phrase: &str) -> bool {
    let (open, phrase) = match phrase.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, phrase),
    };
    let (stem, phrase) = match phrase.strip_suffix('*') {
        Some(rest) => (true, rest),
        None => (false, phrase),
    };
    let needle = format!("{}{phrase}{}", if open { "" } else { " " }, if stem { "" } else { " " });
    folded.contains(&needle)
}
