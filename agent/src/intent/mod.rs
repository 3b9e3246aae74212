//! What the customer wants, so each message reaches the flow that can serve it: product
//! questions the answering agent, order questions the order lookup, and complaints, opt-outs
//! and requests for a person the merchant's team.
//!
//! [`by_rules`] settles the unmistakable cases from words and phrases; the rest are placed by
//! [`nearest_example`], comparing the message's embedding with those of [`EXAMPLES`].
//!
//! The English words are below; Turkish, German, Spanish and Arabic ones are in one file per
//! language ([`lexicon`] says why there), read by the same rules in the same order, whatever
//! language the store speaks: a complaint or a request for a person in any of them is handed
//! over, and an opt-out is honoured. The examples are English only: the embedding model is.

mod arabic;
mod german;
pub mod lexicon;
mod spanish;
mod turkish;

use std::sync::LazyLock;

use recete_knowledge::embedder::cosine;
use recete_shared::languages::fold;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// The lexicons of every language but English, whose words are in this file.
const LEXICONS: [&lexicon::Lexicon; 4] = [&turkish::WORDS, &german::WORDS, &spanish::WORDS, &arabic::WORDS];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    ProductQuestion,
    OrderStatus,
    Complaint,
    OptOut,
    Greeting,
    HumanRequest,
    Other,
}

impl Intent {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ProductQuestion => "product_question",
            Self::OrderStatus => "order_status",
            Self::Complaint => "complaint",
            Self::OptOut => "opt_out",
            Self::Greeting => "greeting",
            Self::HumanRequest => "human_request",
            Self::Other => "other",
        }
    }
}

/// The intent a message states unmistakably, or `None` when its words leave room for doubt.
///
/// Rules are tried in order and the first that matches wins. Opting out comes first because
/// consent overrides everything else; a request for a person beats a complaint, since the
/// customer already said how they want it handled; a complaint beats an order question, so "my
/// order #1234 arrived broken" reaches the team rather than the order lookup; a greeting counts
/// only when the message is nothing but one, so "hi, how do I use the serum?" is a question.
pub fn by_rules(text: &str) -> Option<Intent> {
    let message = Message::new(text);
    RULES.iter().find(|(_, matches)| matches(&message)).map(|(intent, _)| *intent)
}

type IntentRule = (Intent, fn(&Message) -> bool);

const RULES: &[IntentRule] = &[
    (Intent::OptOut, Message::opts_out),
    (Intent::HumanRequest, Message::asks_for_person),
    (Intent::Complaint, Message::complains),
    (Intent::OrderStatus, Message::asks_about_order),
    (Intent::Greeting, Message::only_greets),
    (Intent::ProductQuestion, Message::asks_about_product),
];

/// Phrases end at word boundaries; a trailing `*` lets the last word continue ("arriv*").
#[rustfmt::skip]
const OPT_OUT: &[&str] = &[
    "unsubscrib*", "unsub", "stop messag*", "stop text*", "stop send*", "stop contact*", "stop spam*", "stop writing",
    "do not message*", "do not text*", "do not contact*", "opt out", "opt me out", "optout", "remove me", "take me off",
    "no more messages", "leave me alone",
];
const PERSON_VERBS: &[&str] = &["talk to", "talk with", "speak to", "speak with", "chat with", "connect me with"];
#[rustfmt::skip]
const PERSON_NOUNS: &[&str] = &[
    "a person", "person", "a human", "human", "someone", "somebody", "an agent", "agent", "a real", "real",
    "representative", "a representative", "rep", "staff", "manager", "the manager", "support", "customer service",
    "the owner", "anyone",
];
#[rustfmt::skip]
const PERSON_PHRASES: &[&str] = &[
    "real person", "real human", "actual person", "human being", "live agent", "call me", "phone me", "ring me",
    "give me a call", "customer service", "are you a bot", "are you a robot", "is this a bot", "need a human",
    "want a human", "get me a human",
];
#[rustfmt::skip]
const COMPLAINT: &[&str] = &[
    "broken", "broke", "damaged", "wrong item*", "wrong order", "wrong product", "wrong size", "wrong colo*", "refund*",
    "terrible", "disappoint*", "missing item*", "item missing", "is missing", "was missing", "leaking", "leaked",
    "cracked", "smashed", "faulty", "defective", "does not work", "not working", "stopped working", "awful", "horrible",
    "worst", "scam*", "rip off", "ripoff", "unacceptable", "money back", "want to return", "return it", "complain*",
    "not happy", "unhappy", "furious",
];
/// Asking how to keep something from happening.
#[rustfmt::skip]
const PREVENTION: &[&str] = &[
    "how do i stop", "how can i stop", "how to stop", "how do i prevent", "how can i prevent", "how to prevent",
    "how do i avoid", "how can i avoid", "how to avoid", "how do i keep it from", "how to keep it from",
];
#[rustfmt::skip]
const ORDER_PHRASES: &[&str] = &[
    "where is my", "track*", "not arriv*", "not received", "not got it", "still not here", "still waiting",
    "not yet arriv*", "shipped yet", "dispatched yet", "delivery status", "order status", "status of my order",
    "has my order", "has it shipped", "has it been shipped",
];
const ORDER_TIMING: &[&str] = &["arriv*", "deliver*", "ship*", "dispatch*", "get here", "get it", "receive it"];
#[rustfmt::skip]
const QUESTION_PHRASES: &[&str] = &[
    "how", "what", "which", "why", "when", "can i", "can you", "could i", "is it", "is this", "is there", "are they",
    "are these", "does it", "does this", "do i", "do you", "should i", "will it", "would it",
];
#[rustfmt::skip]
const PRODUCT_WORDS: &[&str] = &[
    "use", "using", "apply*", "ingredient*", "contain*", "safe", "sensitive", "skin", "hair", "allerg*", "vegan",
    "cruelty", "pregnan*", "fragrance*", "paraben*", "routine", "dose", "dosage", "instruction*", "recommend*",
    "suitable", "side effect*", "expir*", "shelf life", "store it", "size", "shade",
];
/// Small talk that does not change a greeting into something else ("hi, how are you?").
const SMALL_TALK: &[&str] = &["how are you", "how is it going", "how are things", "hope you are well"];
#[rustfmt::skip]
const GREETING_WORDS: &[&str] = &[
    "hi", "hello", "hey", "heya", "hiya", "hallo", "howdy", "greetings", "yo", "morning", "afternoon", "evening",
    "thanks", "thank", "cheers", "merhaba", "selam",
];
const GREETING_FILLER: &[&str] = &[
    "good", "there", "you", "so", "much", "very", "a", "lot", "again", "all", "everyone", "guys", "team", "and", "ok",
    "okay", "great", "perfect", "awesome", "cool", "lovely", "many", "for", "that", "this", "the", "info", "help",
    "your", "please",
];
/// Shorthand and contractions customers type, spelled out so phrases need one spelling.
#[rustfmt::skip]
const SPELLINGS: &[(&str, &str)] = &[
    ("u", "you"), ("ur", "your"), ("pls", "please"), ("plz", "please"), ("thx", "thanks"), ("ty", "thanks"),
    ("thnx", "thanks"), ("tks", "thanks"), ("wheres", "where is"), ("whats", "what is"), ("hows", "how is"),
    ("im", "i am"), ("ive", "i have"), ("dont", "do not"), ("doesnt", "does not"), ("didnt", "did not"),
    ("hasnt", "has not"), ("havent", "have not"), ("isnt", "is not"), ("wasnt", "was not"), ("arent", "are not"),
    ("cant", "can not"), ("cannot", "can not"), ("wont", "will not"), ("recieved", "received"), ("recived", "received"),
    ("arived", "arrived"), ("arive", "arrive"), ("packge", "package"),
];

static ORDER_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"#\s?\d{3,}|\border (?:(?:no|number|num|nr|id) )?(?:is )?#?\s?\d{3,}")
        .expect("order number pattern is valid")
});

/// A message lower-cased, stripped of punctuation and apostrophes, with letters repeated three
/// times or more cut to two ("sooo" to "soo") and shorthand spelled out.
struct Message {
    /// Words separated by single spaces, with a space at each end so phrases match whole words.
    padded: String,
    /// The words with every run of a repeated letter cut to one, so "hellooo" equals "hello".
    squeezed: Vec<String>,
    /// The message folded as the other languages' words are written (accents off, Arabic letter
    /// forms unified), repeats cut to two, with a space at each end.
    folded: String,
}

impl Message {
    fn new(text: &str) -> Self {
        let cleaned: String = text
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, '\'' | '’' | '‘' | '`'))
            .map(|c| if c.is_alphanumeric() || c == '#' { c } else { ' ' })
            .collect();
        let words: Vec<String> = cleaned
            .split_whitespace()
            .map(|word| limit_repeats(word, 2))
            .map(|word| {
                let squeezed = limit_repeats(&word, 1);
                SPELLINGS
                    .iter()
                    .find(|(typed, _)| limit_repeats(typed, 1) == squeezed)
                    .map_or(word, |(_, spelled)| (*spelled).to_owned())
            })
            .collect();
        let padded = format!(" {} ", words.join(" "));
        let squeezed = padded.split_whitespace().map(|word| limit_repeats(word, 1)).collect();
        let without_apostrophes: String = text.chars().filter(|c| !matches!(c, '\'' | '’' | '‘' | '`')).collect();
        let folded_words: Vec<String> =
            fold(&without_apostrophes).split_whitespace().map(|word| limit_repeats(word, 2)).collect();
        let folded = format!(" {} ", folded_words.join(" "));
        Self { padded, squeezed, folded }
    }

    /// Whether the folded message holds `phrase`, a folded entry of a [`lexicon::Lexicon`].
    fn says(&self, phrase: &str) -> bool {
        lexicon::holds(&self.folded, phrase)
    }

    /// Whether the folded message holds `verb` and `noun` side by side, in either order: Turkish
    /// puts the verb last ("yetkiliyle görüşmek"), the others first ("hablar con alguien").
    fn says_either_order(&self, verb: &str, noun: &str) -> bool {
        self.says(&format!("{verb} {noun}")) || self.says(&format!("{noun} {verb}"))
    }

    /// Whether any language's list (chosen by `list`) holds a phrase of the message.
    fn says_any(&self, list: fn(&lexicon::Lexicon) -> &'static [&'static str]) -> bool {
        LEXICONS.iter().any(|words| list(words).iter().any(|phrase| self.says(phrase)))
    }

    fn has(&self, phrase: &str) -> bool {
        match phrase.strip_suffix('*') {
            Some(stem) => self.padded.contains(&format!(" {stem}")),
            None => self.padded.contains(&format!(" {phrase} ")),
        }
    }

    fn has_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|phrase| self.has(phrase))
    }

    fn is_only(&self, words: &[&str]) -> bool {
        !self.squeezed.is_empty()
            && self.squeezed.iter().all(|word| words.iter().any(|allowed| limit_repeats(allowed, 1) == *word))
    }

    fn opts_out(&self) -> bool {
        self.has_any(OPT_OUT)
            || (self.has("stop") && self.is_only(&["stop", "please", "it", "now", "all"]))
            || self.says_any(|words| words.opt_out)
            || recete_shared::consent::command_in(&self.folded) == Some(recete_shared::consent::ConsentCommand::OptOut)
    }

    fn asks_for_person(&self) -> bool {
        let talk_to_someone =
            PERSON_VERBS.iter().any(|verb| PERSON_NOUNS.iter().any(|noun| self.has(&format!("{verb} {noun}"))));
        let other_language = LEXICONS.iter().any(|words| {
            words.person.iter().any(|phrase| self.says(phrase))
                || words
                    .person_verbs
                    .iter()
                    .any(|verb| words.person_nouns.iter().any(|noun| self.says_either_order(verb, noun)))
        });
        talk_to_someone
            || other_language
            || self.has_any(PERSON_PHRASES)
            || self.is_only(&["human", "agent", "operator", "person", "please", "a", "representative"])
    }

    /// A complaint word the customer asks how to avoid ("how do I stop it leaking in my bag?") is
    /// a product question, not a complaint.
    fn complains(&self) -> bool {
        (self.has_any(COMPLAINT) || self.says_any(|words| words.complaint))
            && !self.has_any(PREVENTION)
            && !self.says_any(|words| words.prevention)
    }

    fn asks_about_order(&self) -> bool {
        ORDER_NUMBER.is_match(&self.padded)
            || self.has_any(ORDER_PHRASES)
            || (self.has("when") && self.has_any(ORDER_TIMING))
            || self.says_any(|words| words.order)
    }

    fn only_greets(&self) -> bool {
        let mut rest = self.padded.clone();
        for phrase in SMALL_TALK {
            rest = rest.replace(&format!(" {phrase} "), " ");
        }
        let rest = Message::new(&rest);
        let english = rest.squeezed.iter().any(|word| GREETING_WORDS.iter().any(|g| limit_repeats(g, 1) == *word))
            && rest.is_only(&[GREETING_WORDS, GREETING_FILLER].concat());
        english || self.only_greets_in_another_language()
    }

    /// A message of nothing but greeting and thanks words of one of the other languages (and,
    /// as customers mix, English ones), after its small talk is taken out.
    fn only_greets_in_another_language(&self) -> bool {
        LEXICONS.iter().any(|words| {
            let mut rest = self.folded.clone();
            for phrase in words.small_talk {
                rest = rest.replace(&format!(" {phrase} "), " ");
            }
            let rest: Vec<String> = rest.split_whitespace().map(|word| limit_repeats(word, 1)).collect();
            // A greeting of two words ("iyi günler", "guten Tag") counts as one.
            let joined = format!(" {} ", rest.join(" "));
            let is_in = |list: &[&str], word: &str| list.iter().any(|entry| limit_repeats(entry, 1) == word);
            let greets = words.greeting.iter().any(|entry| joined.contains(&format!(" {} ", limit_repeats(entry, 1))));
            greets
                && rest.iter().all(|word| {
                    is_in(words.greeting, word)
                        || is_in(words.greeting_filler, word)
                        || is_in(GREETING_WORDS, word)
                        || is_in(GREETING_FILLER, word)
                        || words.greeting.iter().any(|entry| entry.split(' ').any(|part| part == word))
                })
        })
    }

    fn asks_about_product(&self) -> bool {
        self.has_any(QUESTION_PHRASES)
            || self.has_any(PRODUCT_WORDS)
            || self.says_any(|words| words.question)
            || !crate::glossary::english_terms(&self.folded).is_empty()
    }
}

/// `word` with each run of one repeated character cut to at most `limit` characters.
fn limit_repeats(word: &str, limit: usize) -> String {
    let mut out = String::with_capacity(word.len());
    let mut run = 0;
    let mut previous = None;
    for c in word.chars() {
        run = if previous == Some(c) { run + 1 } else { 1 };
        previous = Some(c);
        if run <= limit || c.is_ascii_digit() {
            out.push(c);
        }
    }
    out
}

/// Messages typical of each intent, embedded once and compared with messages the rules leave
/// undecided. [`Intent::Other`] has none: it is what remains when nothing is near.
pub const EXAMPLES: &[(Intent, &str)] = &[
    (Intent::ProductQuestion, "how do I use the serum?"),
    (Intent::ProductQuestion, "how many drops should I apply?"),
    (Intent::ProductQuestion, "can I use it every day?"),
    (Intent::ProductQuestion, "is this suitable for sensitive skin?"),
    (Intent::ProductQuestion, "what are the ingredients?"),
    (Intent::ProductQuestion, "does it contain fragrance or alcohol?"),
    (Intent::ProductQuestion, "is it vegan and cruelty free?"),
    (Intent::ProductQuestion, "can I use it together with retinol?"),
    (Intent::ProductQuestion, "should I apply it in the morning or at night?"),
    (Intent::ProductQuestion, "how long does one bottle last?"),
    (Intent::ProductQuestion, "do I need to shake it before use?"),
    (Intent::ProductQuestion, "how should I store it after opening?"),
    (Intent::OrderStatus, "where is my order?"),
    (Intent::OrderStatus, "my package hasn't arrived yet"),
    (Intent::OrderStatus, "when will my order be delivered?"),
    (Intent::OrderStatus, "can you give me the tracking number"),
    (Intent::OrderStatus, "has my parcel been shipped?"),
    (Intent::OrderStatus, "I ordered last week and still nothing"),
    (Intent::OrderStatus, "what's the status of order 1043"),
    (Intent::OrderStatus, "how long until my delivery comes"),
    (Intent::OrderStatus, "is my order on the way?"),
    (Intent::OrderStatus, "I'm still waiting for my package"),
    (Intent::Complaint, "the bottle arrived broken"),
    (Intent::Complaint, "you sent me the wrong item"),
    (Intent::Complaint, "I want a refund"),
    (Intent::Complaint, "this product is terrible, very disappointed"),
    (Intent::Complaint, "one item is missing from my box"),
    (Intent::Complaint, "the pump doesn't work"),
    (Intent::Complaint, "the package was damaged and leaking"),
    (Intent::Complaint, "I paid twice for the same order"),
    (Intent::Complaint, "this is not what I ordered"),
    (Intent::Complaint, "it smells off and looks different from before"),
    (Intent::OptOut, "stop messaging me"),
    (Intent::OptOut, "unsubscribe"),
    (Intent::OptOut, "please don't send me any more messages"),
    (Intent::OptOut, "remove me from your list"),
    (Intent::OptOut, "I don't want these texts anymore"),
    (Intent::OptOut, "no more whatsapp messages please"),
    (Intent::OptOut, "stop contacting me"),
    (Intent::OptOut, "how do I opt out of these messages"),
    (Intent::Greeting, "hi"),
    (Intent::Greeting, "hello!"),
    (Intent::Greeting, "hey there"),
    (Intent::Greeting, "good morning"),
    (Intent::Greeting, "thanks!"),
    (Intent::Greeting, "thank you so much"),
    (Intent::Greeting, "hi, how are you?"),
    (Intent::Greeting, "great, thanks a lot"),
    (Intent::HumanRequest, "can I talk to a person?"),
    (Intent::HumanRequest, "I want to speak with a human"),
    (Intent::HumanRequest, "is there a real person there?"),
    (Intent::HumanRequest, "please call me"),
    (Intent::HumanRequest, "connect me to customer service"),
    (Intent::HumanRequest, "I'd rather talk to someone from the shop"),
    (Intent::HumanRequest, "are you a bot?"),
    (Intent::HumanRequest, "can a manager contact me"),
];

/// Neighbours that vote in [`nearest_example`]: one close example alone should not decide.
const NEIGHBOURS: usize = 3;

/// The intent of the examples nearest to `query`, with the similarity of its closest example.
///
/// The three most similar examples at or above `min_similarity` vote with their similarity; the
/// intent with the largest sum wins, ties going to the closer example. `None` when no example is
/// similar enough. Examples of another dimension than the query are skipped.
pub fn nearest_example(query: &[f32], examples: &[(Intent, Vec<f32>)], min_similarity: f32) -> Option<(Intent, f32)> {
    let mut neighbours: Vec<(Intent, f32)> = examples
        .iter()
        .filter(|(_, vector)| !query.is_empty() && vector.len() == query.len())
        .map(|(intent, vector)| (*intent, cosine(query, vector)))
        .filter(|(_, similarity)| *similarity >= min_similarity)
        .collect();
    neighbours.sort_by(|a, b| b.1.total_cmp(&a.1));
    neighbours.truncate(NEIGHBOURS);
    // (intent, summed similarity, best similarity); neighbours are sorted, so the first is the best.
    let mut votes: Vec<(Intent, f32, f32)> = Vec::new();
    for (intent, similarity) in neighbours {
        match votes.iter_mut().find(|(voted, _, _)| *voted == intent) {
            Some(vote) => vote.1 += similarity,
            None => votes.push((intent, similarity, similarity)),
        }
    }
    votes
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)))
        .map(|(intent, _, best)| (intent, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_classify_realistic_messages() {
        let cases: &[(&str, Option<Intent>)] = &[
            ("hi, how do i use the serum?", Some(Intent::ProductQuestion)),
            ("hello", Some(Intent::Greeting)),
            ("Hellooo!!", Some(Intent::Greeting)),
            ("good morning :)", Some(Intent::Greeting)),
            ("thanks!", Some(Intent::Greeting)),
            ("Thank you so much", Some(Intent::Greeting)),
            ("hi, how are you?", Some(Intent::Greeting)),
            ("where is my order??", Some(Intent::OrderStatus)),
            ("wheres my package", Some(Intent::OrderStatus)),
            ("my order hasn't arrived yet", Some(Intent::OrderStatus)),
            ("any update on #10234", Some(Intent::OrderStatus)),
            ("can i get the tracking number", Some(Intent::OrderStatus)),
            ("when will it arrive?", Some(Intent::OrderStatus)),
            ("order 5531 status pls", Some(Intent::OrderStatus)),
            ("my order number is 12345678, where is it?", Some(Intent::OrderStatus)),
            ("the bottle arrived broken", Some(Intent::Complaint)),
            ("my order #1234 arrived damaged", Some(Intent::Complaint)),
            ("you sent the wrong item", Some(Intent::Complaint)),
            ("I want a refund", Some(Intent::Complaint)),
            ("very disappointed with this", Some(Intent::Complaint)),
            ("how do i stop the pump leaking in my bag?", Some(Intent::ProductQuestion)),
            ("it is leaking, how do i stop it?", Some(Intent::ProductQuestion)),
            ("this is terrible, I want to talk to a real person", Some(Intent::HumanRequest)),
            ("can I speak to someone?", Some(Intent::HumanRequest)),
            ("please call me", Some(Intent::HumanRequest)),
            ("HUMAN", Some(Intent::HumanRequest)),
            ("STOP", Some(Intent::OptOut)),
            ("stop messaging me", Some(Intent::OptOut)),
            ("Unsubscribe please", Some(Intent::OptOut)),
            ("dont text me again, this is terrible", Some(Intent::OptOut)),
            ("can I use it on my face?", Some(Intent::ProductQuestion)),
            ("is it safe for sensitive skin", Some(Intent::ProductQuestion)),
            ("what are the ingredients", Some(Intent::ProductQuestion)),
            ("how do I stop the serum pilling?", Some(Intent::ProductQuestion)),
            ("I'd like to know the ingredients", Some(Intent::ProductQuestion)),
            ("ok", None),
            ("I bought it for my sister", None),
            ("", None),
        ];
        for (message, expected) in cases {
            assert_eq!(by_rules(message), *expected, "message: {message:?}");
        }
    }

    #[test]
    fn rules_read_turkish_german_spanish_and_arabic_as_people_type_them() {
        let cases: &[(&str, Intent)] = &[
            // Opting out.
            ("bana mesaj göndermeyin artık", Intent::OptOut),
            ("Abonelikten çıkmak istiyorum", Intent::OptOut),
            ("BENI LISTEDEN CIKARIN", Intent::OptOut),
            ("Bitte keine Nachrichten mehr schicken", Intent::OptOut),
            ("ich will mich abmelden", Intent::OptOut),
            ("dejen de escribirme por favor", Intent::OptOut),
            ("no quiero mas mensajes", Intent::OptOut),
            ("إيقاف", Intent::OptOut),
            ("لا ترسلوا لي رسائل بعد الآن", Intent::OptOut),
            ("الغاء الاشتراك من فضلك", Intent::OptOut),
            // Asking for a person, also when angry: the customer said how they want it handled.
            ("bir yetkiliyle görüşmek istiyorum", Intent::HumanRequest),
            ("gercek biriyle konusmak istiyorum, urun kirik geldi", Intent::HumanRequest),
            ("Kann ich bitte mit einem Mitarbeiter sprechen?", Intent::HumanRequest),
            ("ich möchte mit einem menschen reden", Intent::HumanRequest),
            ("quiero hablar con una persona", Intent::HumanRequest),
            ("QUIERO HABLAR CON ALGUIEN", Intent::HumanRequest),
            ("أريد التحدث مع شخص", Intent::HumanRequest),
            ("ابي اكلم موظف", Intent::HumanRequest),
            ("هل أنت بوت؟", Intent::HumanRequest),
            // Complaints.
            ("iade istiyorum", Intent::Complaint),
            ("Ürün kırık geldi!!", Intent::Complaint),
            ("siparisim eksik geldi", Intent::Complaint),
            ("yanlış ürün gönderdiniz", Intent::Complaint),
            ("Die Flasche ist kaputt angekommen", Intent::Complaint),
            ("ich will mein geld zurück", Intent::Complaint),
            ("es fehlt ein Artikel in meinem Paket", Intent::Complaint),
            ("el frasco llegó roto", Intent::Complaint),
            ("quiero un reembolso", Intent::Complaint),
            ("me falta un producto en el pedido", Intent::Complaint),
            ("وصلت الزجاجة مكسورة", Intent::Complaint),
            ("أريد استرجاع المبلغ", Intent::Complaint),
            ("المنتج تالف", Intent::Complaint),
            // Where the order is.
            ("siparişim nerede?", Intent::OrderStatus),
            ("kargom hala gelmedi", Intent::OrderStatus),
            ("wo ist meine bestellung", Intent::OrderStatus),
            ("Mein Paket ist noch nicht angekommen", Intent::OrderStatus),
            ("¿Dónde está mi pedido?", Intent::OrderStatus),
            ("mi pedido no ha llegado todavia", Intent::OrderStatus),
            ("وين طلبي؟", Intent::OrderStatus),
            ("متى يصل طلبي", Intent::OrderStatus),
            ("طلبي لم يصل بعد", Intent::OrderStatus),
            // Greetings and thanks alone.
            ("Merhaba", Intent::Greeting),
            ("merhabaaa", Intent::Greeting),
            ("teşekkür ederim", Intent::Greeting),
            ("iyi günler", Intent::Greeting),
            ("Guten Tag!", Intent::Greeting),
            ("vielen Dank", Intent::Greeting),
            ("hola, ¿qué tal?", Intent::Greeting),
            ("muchas gracias!!", Intent::Greeting),
            ("السلام عليكم", Intent::Greeting),
            ("مرحبا", Intent::Greeting),
            ("شكراً جزيلاً", Intent::Greeting),
            // Questions about products, also after a greeting.
            ("merhaba, serumu nasıl kullanmalıyım?", Intent::ProductQuestion),
            ("Ist die Creme für empfindliche Haut geeignet?", Intent::ProductQuestion),
            ("hola, ¿cómo se usa el champú?", Intent::ProductQuestion),
            ("هل الكريم مناسب للبشرة الحساسة؟", Intent::ProductQuestion),
            ("kremin içeriği", Intent::ProductQuestion),
            // Asking how to prevent something is a question, not a complaint.
            ("wie verhindere ich, dass die Pumpe ausgelaufen ist", Intent::ProductQuestion),
        ];
        for (message, expected) in cases {
            assert_eq!(by_rules(message), Some(*expected), "message: {message:?}");
        }
    }

    #[test]
    fn arabic_is_read_with_or_without_diacritics_and_stretched_letters() {
        for message in ["أُرِيدُ التَّحَدُّثَ مَعَ شَخْصٍ", "اريد التحدث مع شخص", "أريـــد التحدث مع شخص"]
        {
            assert_eq!(by_rules(message), Some(Intent::HumanRequest), "{message}");
        }
        for message in ["الطلب رقم ١٠٤٣ وصل مكسور", "الطلب رقم 1043 وصل مكسور"] {
            assert_eq!(by_rules(message), Some(Intent::Complaint), "{message}");
        }
    }

    #[test]
    fn normalising_cuts_repeats_and_spells_out_shorthand() {
        let message = Message::new("Whereee's MY order?!! u said monday");
        assert_eq!(message.padded, " where is my order you said monday ");
        assert_eq!(message.squeezed[0], "where");
        assert_eq!(limit_repeats("order #10001", 1), "order #10001");
    }

    #[test]
    fn every_intent_but_other_has_enough_examples() {
        for intent in [
            Intent::ProductQuestion,
            Intent::OrderStatus,
            Intent::Complaint,
            Intent::OptOut,
            Intent::Greeting,
            Intent::HumanRequest,
        ] {
            let count = EXAMPLES.iter().filter(|(example, _)| *example == intent).count();
            assert!((8..=15).contains(&count), "{} has {count} examples", intent.as_str());
        }
        assert!(EXAMPLES.iter().all(|(intent, _)| *intent != Intent::Other));
    }

    #[test]
    fn intents_serialise_as_their_names() {
        for intent in [Intent::ProductQuestion, Intent::HumanRequest, Intent::Other] {
            let json = serde_json::to_string(&intent).expect("an intent serialises");
            assert_eq!(json, format!("\"{}\"", intent.as_str()));
        }
    }

    fn examples() -> Vec<(Intent, Vec<f32>)> {
        vec![
            (Intent::Greeting, vec![1.0, 0.0, 0.0]),
            (Intent::OrderStatus, vec![0.0, 1.0, 0.0]),
            (Intent::OrderStatus, vec![0.1, 1.0, 0.0]),
            (Intent::Complaint, vec![0.0, 0.9, 0.3]),
            (Intent::ProductQuestion, vec![0.0, 0.0, 1.0]),
        ]
    }

    #[test]
    fn nearest_example_takes_the_closest_intent() {
        let (intent, similarity) =
            nearest_example(&[0.9, 0.1, 0.0], &examples(), 0.5).expect("a greeting example is near");
        assert_eq!(intent, Intent::Greeting);
        assert!(similarity > 0.9);
    }

    #[test]
    fn nearest_example_lets_two_neighbours_outvote_a_closer_one() {
        // The complaint example is the single closest, but two order examples are nearly as close.
        let query = [0.0, 0.95, 0.32];
        let (intent, _) = nearest_example(&query, &examples(), 0.5).expect("examples are near");
        assert_eq!(intent, Intent::OrderStatus);
    }

    #[test]
    fn nearest_example_needs_the_minimum_similarity() {
        assert_eq!(nearest_example(&[-1.0, -1.0, -1.0], &examples(), 0.2), None);
        assert_eq!(nearest_example(&[1.0, 0.0], &examples(), 0.0), None, "other dimensions are skipped");
        assert_eq!(nearest_example(&[], &examples(), 0.0), None);
        assert_eq!(nearest_example(&[1.0, 0.0, 0.0], &[], 0.0), None);
    }

    #[test]
    fn every_lexicon_is_written_folded_and_fills_every_list() {
        for lexicon in LEXICONS {
            let lists = [
                lexicon.opt_out,
                lexicon.person_verbs,
                lexicon.person_nouns,
                lexicon.person,
                lexicon.complaint,
                lexicon.prevention,
                lexicon.order,
                lexicon.greeting,
                lexicon.greeting_filler,
                lexicon.small_talk,
                lexicon.question,
            ];
            for list in lists {
                assert!(!list.is_empty(), "every list has words");
                for entry in list {
                    let bare = entry.trim_matches('*');
                    assert_eq!(fold(bare), bare, "{entry} is written folded");
                }
            }
        }
    }
}
