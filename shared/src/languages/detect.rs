//! Which language a customer's message is written in, from the letters only some languages use
//! and the short words every sentence of a language is full of. A message too short or too
//! mixed to tell gives `None`, and the caller falls back to the store's language. Arabic is told
//! by its script: a message mostly written in Arabic letters is Arabic.

use super::Language;

/// Letters that belong to one language of ours alone (lower case).
const LETTERS: &[(Language, &[char])] = &[
    (Language::Turkish, &['ş', 'ğ', 'ı']),
    (Language::German, &['ß', 'ä']),
    (Language::Spanish, &['ñ', '¿', '¡', 'á', 'é', 'í', 'ó']),
];

/// Common words of each language, as written (lower case) and without their accents.
const WORDS: &[(Language, &[&str])] = &[
    (
        Language::English,
        &[
            "the", "is", "are", "and", "my", "what", "how", "can", "i", "you", "it", "does", "do", "when", "where",
            "this", "with", "for", "to", "of", "please", "thanks", "hello", "hi", "use", "order", "have", "will",
            "should", "skin", "not", "why", "which",
        ],
    ),
    (
        Language::Turkish,
        &[
            "ve",
            "bir",
            "bu",
            "ne",
            "nasil",
            "nasıl",
            "mi",
            "mı",
            "mu",
            "mü",
            "için",
            "icin",
            "siparis",
            "sipariş",
            "siparişim",
            "siparisim",
            "kargo",
            "kargom",
            "urun",
            "ürün",
            "merhaba",
            "tesekkurler",
            "teşekkürler",
            "neden",
            "var",
            "yok",
            "ben",
            "ile",
            "ama",
            "çok",
            "cok",
            "zaman",
            "nerede",
            "hangi",
            "kullanilir",
            "kullanılır",
            "kullanmalıyım",
            "kullanmaliyim",
            "selam",
            "lutfen",
            "lütfen",
            "nezaman",
            "da",
            "de",
            "gibi",
            "olur",
            "mısınız",
            "misiniz",
            "cilt",
            "cildim",
            "krem",
            "hala",
            "hâlâ",
            "gelmedi",
            "istiyorum",
        ],
    ),
    (
        Language::German,
        &[
            "und",
            "ist",
            "ich",
            "nicht",
            "wie",
            "das",
            "der",
            "die",
            "ein",
            "eine",
            "mit",
            "für",
            "fur",
            "meine",
            "mein",
            "bestellung",
            "wann",
            "wo",
            "kann",
            "haben",
            "bitte",
            "danke",
            "hallo",
            "verwenden",
            "anwenden",
            "auf",
            "es",
            "sie",
            "zu",
            "noch",
            "wird",
            "soll",
            "oder",
            "auch",
            "haut",
            "benutzen",
            "wurde",
            "wieso",
            "warum",
            "welche",
            "gibt",
        ],
    ),
    (
        Language::Spanish,
        &[
            "el", "la", "los", "las", "que", "qué", "de", "y", "es", "mi", "cómo", "como", "pedido", "cuándo",
            "cuando", "dónde", "donde", "para", "por", "con", "una", "un", "hola", "gracias", "usar", "puedo", "se",
            "lo", "no", "piel", "mis", "tengo", "todavía", "todavia", "llega", "llegado", "crema", "debo", "cuál",
            "cual",
        ],
    ),
];

/// The language of `text`, when its letters or words say so clearly.
pub fn detect(text: &str) -> Option<Language> {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let arabic = text.chars().filter(|c| is_arabic_letter(*c)).count();
    // Two letters at least ("لا" is a whole answer), and more than half of the message's letters.
    if arabic >= 2 && arabic * 2 > letters {
        return Some(Language::Arabic);
    }
    let lower = text.to_lowercase();
    let mut scores = [0.0_f32; Language::ALL.len()];
    let index = |language: Language| Language::ALL.iter().position(|l| *l == language).unwrap_or(0);
    for (language, letters) in LETTERS {
        if lower.chars().any(|c| letters.contains(&c)) {
            scores[index(*language)] += 2.0;
        }
    }
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).collect();
    for word in &words {
        for (language, known) in WORDS {
            if known.contains(word) {
                scores[index(*language)] += 1.0;
            }
        }
    }
    let (best, best_score) =
        scores.iter().enumerate().fold((0, 0.0_f32), |best, (i, s)| if *s > best.1 { (i, *s) } else { best });
    let runner_up = scores.iter().enumerate().filter(|(i, _)| *i != best).map(|(_, s)| *s).fold(0.0_f32, f32::max);
    // One word alone ("ok", "hi") does not tell; a clear lead does.
    (best_score >= 2.0 && best_score > runner_up).then(|| Language::ALL[best])
}

/// A letter of the Arabic script (its basic block and the presentation forms keyboards emit).
fn is_arabic_letter(c: char) -> bool {
    c.is_alphabetic()
        && matches!(c, '\u{0600}'..='\u{06ff}' | '\u{0750}'..='\u{077f}' | '\u{fb50}'..='\u{fdff}' | '\u{fe70}'..='\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_customers_write_are_told_apart() {
        for (text, language) in [
            ("How do I use the vitamin C serum?", Language::English),
            ("is it safe for sensitive skin", Language::English),
            ("Where is my order? It has not arrived yet", Language::English),
            ("Serumu nasıl kullanmalıyım?", Language::Turkish),
            ("siparisim hala gelmedi", Language::Turkish),
            ("Merhaba, kargom nerede?", Language::Turkish),
            ("bu krem hassas cilt için uygun mu", Language::Turkish),
            ("Wie verwende ich das Serum?", Language::German),
            ("Wo ist meine Bestellung?", Language::German),
            ("Ist die Creme für empfindliche Haut geeignet?", Language::German),
            ("¿Cómo uso el sérum?", Language::Spanish),
            ("donde esta mi pedido", Language::Spanish),
            ("Hola, ¿la crema es buena para piel sensible?", Language::Spanish),
            ("كيف أستخدم السيروم؟", Language::Arabic),
            ("وين طلبي؟ رقم الطلب ١٠٤٣", Language::Arabic),
            ("هَلْ الكريمُ مناسبٌ للبشرةِ الحساسة", Language::Arabic),
            ("مرحبا", Language::Arabic),
            ("ok شكرا جزيلا", Language::Arabic),
            ("Vitamin C serum هل هو آمن للمرأة الحامل؟", Language::Arabic),
        ] {
            assert_eq!(detect(text), Some(language), "{text}");
        }
    }

    #[test]
    fn too_little_to_tell_is_no_language() {
        for text in ["ok", "👍", "", "1001", "Glow Serum", "١٠٤٣", "ok لا"] {
            assert_eq!(detect(text), None, "{text}");
        }
    }
}
