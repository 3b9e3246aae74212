//! The languages customers write in, which one a message is written in, and what is said to
//! customers in each: every fixed phrase (greetings, "a person will follow up", refusals,
//! opt-out and opt-in confirmations) and the words that opt out and back in (STOP, START and
//! their equivalents) come from one table per language (`english.rs`, `turkish.rs`,
//! `german.rs`, `spanish.rs`, `arabic.rs`). A phrase naming the store writes `{store}` where its
//! name goes.

mod arabic;
mod detect;
mod english;
mod german;
mod spanish;
mod turkish;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use detect::detect;

/// A language the fixed phrases exist in, by its ISO 639-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    English,
    #[serde(rename = "tr")]
    Turkish,
    #[serde(rename = "de")]
    German,
    #[serde(rename = "es")]
    Spanish,
    #[serde(rename = "ar")]
    Arabic,
}

impl Language {
    pub const ALL: [Language; 5] = [Self::English, Self::Turkish, Self::German, Self::Spanish, Self::Arabic];

    pub fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Turkish => "tr",
            Self::German => "de",
            Self::Spanish => "es",
            Self::Arabic => "ar",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|language| language.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The language's name in English, for settings pages.
    pub fn name(self) -> &'static str {
        match self {
            Self::English => "English",
            Self::Turkish => "Turkish",
            Self::German => "German",
            Self::Spanish => "Spanish",
            Self::Arabic => "Arabic",
        }
    }

    pub fn phrases(self) -> &'static Phrases {
        match self {
            Self::English => &english::PHRASES,
            Self::Turkish => &turkish::PHRASES,
            Self::German => &german::PHRASES,
            Self::Spanish => &spanish::PHRASES,
            Self::Arabic => &arabic::PHRASES,
        }
    }

    /// The language `text` is written in, or `fallback` (the store's own) when it cannot be told.
    pub fn of(text: &str, fallback: Language) -> Language {
        detect(text).unwrap_or(fallback)
    }
}

/// What is said to customers in one language, and the words they opt out and in with (folded:
/// lower case, accents off, see [`fold`]).
#[derive(Debug)]
pub struct Phrases {
    /// A greeting answered; names the store.
    pub greeting: &'static str,
    /// How to stop messages, for a customer who asks.
    pub how_to_opt_out: &'static str,
    /// The customer asked for a person.
    pub person_will_reply: &'static str,
    /// A complaint, handed to a person.
    pub complaint_passed_on: &'static str,
    /// The agent cannot answer from the store's text.
    pub dont_know: &'static str,
    pub order_not_found: &'static str,
    pub no_medical_advice: &'static str,
    pub no_discounts: &'static str,
    pub only_your_orders: &'static str,
    /// Added to an answer quoting a label's dosage: anything more is for a professional.
    pub beyond_the_label: &'static str,
    /// A prompt-injection attempt refused; names the store.
    pub only_store_topics: &'static str,
    /// The confirmation of an opt-out; names the store.
    pub opted_out: &'static str,
    /// The confirmation of an opt-in; names the store.
    pub opted_in: &'static str,
    /// What the customer's latest order is doing.
    pub orders: OrderPhrases,
    /// Whole messages that opt out.
    pub stop_words: &'static [&'static str],
    /// Whole messages that opt back in.
    pub start_words: &'static [&'static str],
    /// Labels of Meta's opt-out quick-reply button in this language.
    pub stop_buttons: &'static [&'static str],
}

/// An order's state in words: each phrase writes `{number}` where the order's number goes,
/// `{date}` where the day goes (written with `date_format`, a chrono format), `other` `{status}`
/// where a state without its own phrase goes.
#[derive(Debug)]
pub struct OrderPhrases {
    pub date_format: &'static str,
    pub delivered_on: &'static str,
    pub delivered: &'static str,
    pub shipped_on: &'static str,
    pub shipped: &'static str,
    /// Paid or created, not shipped yet.
    pub preparing: &'static str,
    pub cancelled: &'static str,
    pub refunded: &'static str,
    pub other: &'static str,
}

/// `phrase` with the store's name where it says `{store}`.
pub fn say(phrase: &str, store: &str) -> String {
    phrase.replace("{store}", store)
}

/// Lower case, accents folded, punctuation and emoji dropped, spaces collapsed: how the opt-out
/// and opt-in words are written and compared. Arabic loses its diacritics and tatweel, writes
/// every alef as ا, ة as ه, ى and ئ as ي, ؤ as و, and its digits (٠–٩, ۰–۹) as 0–9, since
/// customers type each word with and without them.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let plain = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'ı' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ş' => 's',
            'ğ' => 'g',
            'ñ' => 'n',
            'ß' => 's',
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ة' => 'ه',
            'ى' | 'ئ' => 'ي',
            'ؤ' => 'و',
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            // Arabic short vowels, shadda, sukun, dagger alef and tatweel decorate the letters.
            '\u{064b}'..='\u{065f}' | '\u{0670}' | '\u{0640}' => continue,
            // Combining marks (the dot of a lower-cased 'İ') belong to the letter before them.
            '\u{0300}'..='\u{036f}' => continue,
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        folded.push(plain);
        if c == 'ß' {
            folded.push('s');
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_says_every_phrase_and_names_the_store_where_it_should() {
        for language in Language::ALL {
            let phrases = language.phrases();
            for (name, phrase) in [
                ("greeting", phrases.greeting),
                ("only_store_topics", phrases.only_store_topics),
                ("opted_out", phrases.opted_out),
                ("opted_in", phrases.opted_in),
            ] {
                assert!(phrase.contains("{store}"), "{language:?} {name} names the store");
            }
            for phrase in [
                phrases.how_to_opt_out,
                phrases.person_will_reply,
                phrases.complaint_passed_on,
                phrases.dont_know,
                phrases.order_not_found,
                phrases.no_medical_advice,
                phrases.no_discounts,
                phrases.only_your_orders,
                phrases.beyond_the_label,
            ] {
                assert!(!phrase.trim().is_empty() && !phrase.contains("{store}"), "{language:?}: {phrase}");
            }
            let orders = &phrases.orders;
            for (phrase, needs) in [
                (orders.delivered_on, &["{number}", "{date}"][..]),
                (orders.delivered, &["{number}"]),
                (orders.shipped_on, &["{number}", "{date}"]),
                (orders.shipped, &["{number}"]),
                (orders.preparing, &["{number}"]),
                (orders.cancelled, &["{number}"]),
                (orders.refunded, &["{number}"]),
                (orders.other, &["{number}", "{status}"]),
            ] {
                for placeholder in needs {
                    assert!(phrase.contains(placeholder), "{language:?}: {phrase} says {placeholder}");
                }
            }
            assert!(!phrases.stop_words.is_empty() && !phrases.start_words.is_empty(), "{language:?}");
            for word in phrases.stop_words.iter().chain(phrases.start_words).chain(phrases.stop_buttons) {
                assert_eq!(fold(word), *word, "{language:?}: the table holds folded words");
            }
            assert_eq!(Language::from_code(language.code()), Some(language));
        }
        assert_eq!(say("Hi from {store}!", "Glow"), "Hi from Glow!");
        assert_eq!(Language::from_code(" TR "), Some(Language::Turkish));
        assert_eq!(Language::from_code("fr"), None);
    }

    #[test]
    fn folding_drops_case_accents_and_punctuation() {
        assert_eq!(fold(" İPTAL! "), "iptal");
        assert_eq!(fold("Başlat"), "baslat");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("¡Alto, por favor!"), "alto por favor");
        assert_eq!(fold("stop 🛑"), "stop");
    }

    #[test]
    fn folding_arabic_drops_diacritics_and_unifies_letter_forms() {
        assert_eq!(fold("إيقاف"), "ايقاف");
        assert_eq!(fold("إِيقَاف!"), "ايقاف");
        assert_eq!(fold("إيـــقاف"), "ايقاف", "tatweel stretches a word");
        assert_eq!(fold("أوقف الرسائل، من فضلك"), "اوقف الرسايل من فضلك");
        assert_eq!(fold("ابدأ"), "ابدا");
        assert_eq!(fold("طلبيّة رقم ١٢٣٤؟"), "طلبيه رقم 1234");
        assert_eq!(fold("سفارش ۱۰۰۱"), "سفارش 1001");
        assert_eq!(fold("مستشفى"), "مستشفي");
    }
}
