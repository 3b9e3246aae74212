//! The verdict on an answer. Rules run in a fixed order and the first block wins: the precise
//! rules (a link, a phone number, a price, a diagnosis) come before [`Rule::Unsupported`], which
//! most bad answers also break, so the merchant reads the real reason. Email addresses count as
//! links: one the product text does not give is far likelier made up than another customer's.

use std::collections::HashSet;
use std::sync::LazyLock;

use recete_knowledge::{RetrievedChunk, SectionKind, sentences};
use regex::Regex;

use super::support::{self, NOT};
use super::{InputFlag, Rule, Verdict, any_of, quote};

/// Share of a sentence's content words one chunk (or allowed fact) must contain.
pub const SUPPORT_THRESHOLD: f32 = 0.6;
/// How closely a product sentence must match an answer's sentence before their negations are
/// compared: below this they are about different things.
const POLARITY_THRESHOLD: f32 = 0.5;
/// Allowed facts shorter than this are not blanked out of the answer: a two-letter shop name
/// would erase parts of words.
const MIN_FACT_CHARS: usize = 3;

/// An answer and what it may rest on.
pub struct AnswerCheck<'a> {
    pub answer: &'a str,
    /// The product text the answer may rest on.
    pub context: &'a [RetrievedChunk],
    /// Text the answer may repeat verbatim: the customer's own order numbers and statuses,
    /// product titles, the shop's name, product text returned by tools.
    pub allowed_facts: &'a [String],
    pub question_flags: &'a [InputFlag],
}

type AnswerRule = (Rule, fn(&Evidence) -> Option<String>);

const RULES: &[AnswerRule] = &[
    (Rule::PromptInjection, |evidence| evidence.injection()),
    (Rule::UnknownLink, |evidence| evidence.unknown_link()),
    (Rule::OtherCustomer, |evidence| evidence.other_customer()),
    (Rule::PricePromise, |evidence| evidence.price_promise()),
    (Rule::MedicalAdvice, |evidence| evidence.medical_advice()),
    (Rule::Unsupported, |evidence| evidence.unsupported()),
];

pub fn check_answer(check: &AnswerCheck) -> Verdict {
    if check.answer.trim().is_empty() {
        return Verdict::Block { rule: Rule::Unsupported, detail: "the answer is empty".to_owned() };
    }
    let evidence = Evidence::new(check);
    RULES
        .iter()
        .find_map(|(rule, broken)| broken(&evidence).map(|detail| Verdict::Block { rule: *rule, detail }))
        .unwrap_or(Verdict::Pass)
}

/// One sentence (or clause) of the answer that states something.
struct Claim {
    /// As written, without a leading "About <title>:" or "<title>:".
    text: String,
    /// Lower-cased, with allowed facts and product titles blanked out.
    blanked: String,
}

/// A sentence of the product text or of an allowed fact.
struct Statement {
    terms: HashSet<String>,
    negated: bool,
}

/// The answer and its sources, prepared once for every rule.
struct Evidence<'a> {
    check: &'a AnswerCheck<'a>,
    /// The whole answer lower-cased, allowed facts and product titles blanked out.
    blanked: String,
    claims: Vec<Claim>,
    /// Lower-cased context and allowed facts, for tokens that must appear verbatim.
    sources: String,
    /// Digits of each phone-like number in the sources.
    source_phones: HashSet<String>,
    /// Terms of each chunk (with its title) and of each allowed fact.
    supports: Vec<HashSet<String>>,
    statements: Vec<Statement>,
    numbers: HashSet<String>,
    /// [`support::verbatim_key`] of every chunk and allowed fact, and of the label text alone.
    all_keys: Vec<String>,
    label_keys: Vec<String>,
}

impl<'a> Evidence<'a> {
    fn new(check: &'a AnswerCheck<'a>) -> Self {
        let titles = check.context.iter().map(|chunk| chunk.product_title.as_str());
        let mut masks: Vec<String> = check
            .allowed_facts
            .iter()
            .map(String::as_str)
            .chain(titles)
            .map(|text| text.trim().to_lowercase())
            .filter(|text| text.chars().count() >= MIN_FACT_CHARS)
            .collect();
        // Longest first, so a title is blanked before a shorter fact inside it.
        masks.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        masks.dedup();
        let blank = |text: &str| {
            let lower = text.to_lowercase().replace('’', "'");
            masks.iter().fold(lower, |text, mask| support::blank_out(&text, mask))
        };
        let claims =
            claims(check.answer, &masks).into_iter().map(|text| Claim { blanked: blank(&text), text }).collect();

        let source_texts: Vec<String> = check
            .context
            .iter()
            .map(|chunk| format!("{}\n{}", chunk.product_title, chunk.content))
            .chain(check.allowed_facts.iter().cloned())
            .collect();
        let sources = source_texts.join("\n").to_lowercase();
        let statements = source_texts
            .iter()
            .flat_map(|text| sentences::split(text))
            .map(|sentence| {
                let terms: HashSet<String> = support::terms(&sentence).into_iter().collect();
                Statement { negated: terms.contains(NOT), terms }
            })
            .collect();
        let supports: Vec<HashSet<String>> =
            source_texts.iter().map(|text| support::terms(text).into_iter().collect()).collect();
        let numbers = supports.iter().flatten().filter(|term| support::is_number(term)).cloned().collect();
        let label_keys = check
            .context
            .iter()
            .filter(|chunk| matches!(chunk.section, SectionKind::Usage | SectionKind::Warnings))
            .map(|chunk| support::verbatim_key(&chunk.content))
            .collect();
        Self {
            check,
            blanked: blank(check.answer),
            claims,
            source_phones: PHONE.find_iter(&sources).map(|found| digits(found.as_str())).collect(),
            sources,
            supports,
            statements,
            numbers,
            all_keys: source_texts.iter().map(|text| support::verbatim_key(text)).collect(),
            label_keys,
        }
    }

    fn is_verbatim(&self, claim: &Claim) -> bool {
        let key = support::verbatim_key(&claim.text);
        self.all_keys.iter().any(|source| source.contains(&key))
    }

    fn injection(&self) -> Option<String> {
        let pattern = self.check.question_flags.iter().find_map(|flag| match flag {
            InputFlag::PromptInjection { pattern } => Some(pattern),
            _ => None,
        });
        if let Some(pattern) = pattern {
            return Some(format!("the question tried to change the instructions: {}", quote(pattern)));
        }
        ANSWER_LEAK.find(&self.blanked).map(|found| format!("the answer talks about itself: {}", quote(found.as_str())))
    }

    fn other_customer(&self) -> Option<String> {
        if self.check.question_flags.contains(&InputFlag::OtherCustomerData) {
            return Some("the question asks about another person's order or contact details".to_owned());
        }
        let phone = PHONE
            .find_iter(&self.blanked)
            .map(|found| found.as_str())
            .find(|number| !DATE.is_match(number) && !self.source_phones.contains(&digits(number)));
        let address = ADDRESS
            .find_iter(self.check.answer)
            .map(|found| found.as_str())
            .find(|address| !self.sources.contains(&address.to_lowercase()));
        phone.or(address).map(|found| format!("contact data that is not the customer's own: {}", quote(found)))
    }

    fn unknown_link(&self) -> Option<String> {
        LINK.find_iter(&self.blanked)
            .map(|found| found.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')']))
            .find(|link| !self.sources.contains(link))
            .map(|link| format!("a link that is not in the product text: {}", quote(link)))
    }

    fn price_promise(&self) -> Option<String> {
        self.claims.iter().find_map(|claim| {
            let found = PRICE.find(&claim.blanked)?;
            (!self.is_verbatim(claim)).then(|| format!("{} in {}", quote(found.as_str()), quote(&claim.text)))
        })
    }

    fn medical_advice(&self) -> Option<String> {
        let diagnosis = self.claims.iter().find_map(|claim| {
            let found =
                DIAGNOSIS.find_iter(&claim.blanked).find(|found| !is_conditional(&claim.blanked, found.start()))?;
            (!self.is_verbatim(claim)).then(|| format!("diagnosis or dosing {}", quote(found.as_str())))
        });
        if diagnosis.is_some() || !self.check.question_flags.iter().any(InputFlag::is_medical) {
            return diagnosis;
        }
        self.claims
            .iter()
            .find(|claim| {
                let key = support::verbatim_key(&claim.text);
                !self.label_keys.iter().any(|label| label.contains(&key))
            })
            .map(|claim| format!("not label text, for a medical question: {}", quote(&claim.text)))
    }

    fn unsupported(&self) -> Option<String> {
        self.claims.iter().find_map(|claim| {
            let terms = support::terms(&claim.blanked);
            if terms.iter().all(|term| term == NOT) {
                return None;
            }
            if let Some(number) = terms.iter().find(|term| support::is_number(term) && !self.numbers.contains(*term)) {
                return Some(format!("{} is not in the product text: {}", quote(number), quote(&claim.text)));
            }
            let best = self.supports.iter().map(|known| support::coverage(&terms, known)).fold(0.0, f32::max);
            if best < SUPPORT_THRESHOLD {
                return Some(format!("not in the product text: {}", quote(&claim.text)));
            }
            // A clause quoted word for word cannot contradict its own source.
            (!self.is_verbatim(claim) && self.contradicts(&terms))
                .then(|| format!("contradicts the product text: {}", quote(&claim.text)))
        })
    }

    /// Whether the product sentence closest to `terms` says the opposite: one of them is negated
    /// and no equally close sentence agrees.
    fn contradicts(&self, terms: &[String]) -> bool {
        let negated = terms.iter().any(|term| term == NOT);
        let (mut agreeing, mut opposing) = (0.0_f32, 0.0_f32);
        for statement in &self.statements {
            let closeness = support::coverage(terms, &statement.terms);
            let best = if statement.negated == negated { &mut agreeing } else { &mut opposing };
            *best = best.max(closeness);
        }
        opposing >= POLARITY_THRESHOLD && opposing > agreeing
    }
}

/// The answer's sentences and clauses that say something: split at sentence ends and at
/// `.`/`!`/`?`/`;` followed by a space (so one supported sentence cannot carry an unsupported
/// one), without courtesy phrases, and without a leading product name.
fn claims(answer: &str, names: &[String]) -> Vec<String> {
    sentences::split(answer)
        .iter()
        .flat_map(|sentence| clauses(sentence))
        .map(|clause| without_name(clause.trim_start_matches(['-', '*', '•', ' ']), names).to_owned())
        .filter(|clause| clause.chars().any(char::is_alphanumeric))
        .filter(|clause| !COURTESY.iter().any(|phrase| support::verbatim_key(phrase) == support::verbatim_key(clause)))
        .collect()
}

fn clauses(sentence: &str) -> Vec<&str> {
    let mut clauses = Vec::new();
    let mut start = 0;
    let mut chars = sentence.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?' | ';') && chars.peek().is_some_and(|(_, next)| next.is_whitespace()) {
            clauses.push(sentence[start..=index].trim());
            start = index + c.len_utf8();
        }
    }
    clauses.push(sentence[start..].trim());
    clauses.retain(|clause| !clause.is_empty());
    clauses
}

/// `clause` without "About <name>:" or "<name>:" at its start, when the name is a product title
/// or an allowed fact (lower-cased in `names`).
fn without_name<'t>(clause: &'t str, names: &[String]) -> &'t str {
    let Some((head, rest)) = clause.split_once(':') else { return clause };
    let head = head.trim().to_lowercase();
    let name = head.strip_prefix("about ").unwrap_or(&head).trim();
    if names.iter().any(|known| known == name) { rest.trim() } else { clause }
}

/// Whether the diagnosis found at `at` only sets a condition: "if you have eczema, ask a doctor".
fn is_conditional(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end();
    ["if", "unless", "when", "in case"].iter().any(|word| before.ends_with(word))
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Sentences that state nothing and need no support.
#[rustfmt::skip]
const COURTESY: &[&str] = &[
    "happy to help", "glad to help", "hope this helps", "hope that helps", "thanks for asking", "thank you for asking",
    "thanks for your question", "thank you for your question", "thanks for reaching out", "thank you for reaching out",
    "great question", "good question", "let me know if you have any other questions",
    "let me know if you have any more questions", "let me know if you need anything else", "feel free to ask",
    "you're welcome", "you are welcome", "hi", "hello", "hi there", "hello there", "thanks", "thank you", "sure",
    "of course", "absolutely", "certainly", "enjoy", "enjoy your purchase", "have a great day", "have a nice day",
    "here is what the product page says", "here's what the label says",
];

static ANSWER_LEAK: LazyLock<Regex> = LazyLock::new(|| {
    any_of(&[
        r"\bsystem\s+(?:prompt|message)\b",
        r"\bmy\s+(?:instructions|guidelines|programming)\b",
        r"\bas\s+an\s+ai\b|\b(?:large\s+)?language\s+model\b",
        r"\bdeveloper\s+mode\b|\bjailbr\w+",
    ])
});

static PHONE: LazyLock<Regex> = LazyLock::new(|| any_of(&[r"\+?\(?\d(?:[ .()-]{0,2}\d){6,}"]));
static DATE: LazyLock<Regex> =
    LazyLock::new(|| any_of(&[r"^\d{4}-\d{2}-\d{2}$", r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$"]));

/// Street addresses need capitalised names, so "2 drops the same way" is not one.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    let names = r"(?:\p{Lu}[\p{L}'-]*\s+){1,3}";
    let suffix = concat!(
        r"(?i:street|st|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd|way|court|place|square|terrace|crescent|",
        r"strasse|straße)",
    );
    let turkish = r"(?i:caddesi|cad|sokak|sokağı|sk|mahallesi|mah)";
    Regex::new(&format!(r"\b\d{{1,5}}[A-Za-z]?,?\s+{names}{suffix}\b|\b{names}{turkish}\.?\s*(?:No\s*[:.]?\s*)?\d+"))
        .expect("address pattern is valid")
});

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    any_of(&[
        r#"\bhttps?://[^\s<>()"']+"#,
        r#"\bwww\.[^\s<>()"']+"#,
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
        concat!(
            r"\b(?:[a-z0-9-]+\.)+",
            r"(?:com|net|org|io|shop|store|info|biz|app|ly|uk|de|tr|fr|eu|nl|es|link|site|online|xyz|ai)\b",
            r#"(?:/[^\s<>()"']*)?"#,
        ),
    ])
});

static PRICE: LazyLock<Regex> = LazyLock::new(|| {
    any_of(&[
        r"[$€£₺]\s?\d[\d.,]*",
        r"\d[\d.,]*\s?(?:usd|eur|gbp|try|tl|dollars?|euros?|pounds?|liras?|bucks)\b",
        r"\b(?:usd|eur|gbp|tl)\s?\d",
        r"\d+\s?%\s*(?:off|discount)",
        r"\bdiscount\w*|\bcoupons?\b|\bpromo(?:s|tions?|tional)?\b|\bvouchers?\b|\bcheaper\b",
        r"\bprice\s+(?:will|is\s+going\s+to|match\w*|drop\w*)|\bprice-match\w*",
        r"\bfree\s+of\s+charge\b|\bfor\s+free\b",
        r"\bfree\s+(?:shipping|delivery|samples?|gifts?|returns?|replacements?)\b",
        r"\bguarantee\w*|\brefund\w*|\bmoney\s+back\b",
    ])
});

static DIAGNOSIS: LazyLock<Regex> = LazyLock::new(|| {
    let condition =
        r"allerg\w*|eczema|infection|rosacea|psoriasis|dermatitis|fungal\w*|(?:an\s+)?(?:allergic\s+)?reaction|purging";
    let hedge = r"(?:probably|likely|might|may|could|just|definitely|only)\s+";
    let you_have = format!(r"\byou(?:'ve|\s+have|\s+{hedge}have)\s+(?:got\s+)?(?:an?\s+)?(?:\w+\s+)?");
    let it_is = format!(r"\b(?:it|this|that)(?:'s|\s+is|\s+(?:sounds|looks|seems)\s+like)\s+(?:{hedge})?(?:an?\s+)?");
    any_of(&[
        &format!(r"{you_have}(?:{condition}|acne|a\s+condition|a\s+disease|a\s+rash)\b"),
        &format!(r"{it_is}(?:{condition})\b"),
        r"\byou(?:'re|\s+are)\s+(?:probably\s+|likely\s+)?allergic\b",
        r"\byou\s+should\s+(?:take|double|increase|stop\s+taking|keep\s+taking)\b",
        r"\b(?:increase|double|raise|lower|reduce)\s+(?:the|your)\s+(?:dose|dosage)\b",
        concat!(
            r"\b(?:it'?s|it\s+is)\s+(?:completely\s+|perfectly\s+|totally\s+)?safe\s+(?:to\s+(?:take|use)\s+)?",
            r"(?:with\s+(?:your\s+)?(?:medication|antibiotics|pills)|during\s+pregnancy|",
            r"while\s+(?:pregnant|breastfeeding))",
        ),
    ])
});

#[cfg(test)]
mod tests;
