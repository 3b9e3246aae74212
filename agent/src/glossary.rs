//! A small cross-language glossary for product questions: the Turkish, German, Spanish and
//! Arabic words customers ask with ("kullanılır", "Inhaltsstoffe", "caduca", "للأطفال") and the
//! English words of the store's product text they mean ("how to use", "ingredients",
//! "expiry", "children").
//!
//! The embedding model is English-only, so a question in another language lands far from the
//! English text that answers it. [`query_text`] appends the English words of every glossary
//! entry the question holds; that text is what is embedded for retrieval and what the
//! extractive answer picks its sentences by. The customer's own words stay what the guardrails
//! check and what intent is read from, and answers quote only the store's text.
//!
//! Entries are written folded (`recete_shared::languages::fold`), with the syntax of the intent
//! words: a trailing `*` lets the last word go on, a leading `*` lets the first word start
//! inside a longer one (Arabic joins "ال", "و", "ب", "ل" to the word). One row per English
//! term, every language's words for it together, so a missing translation shows.

use recete_shared::languages::fold;

use crate::intent::lexicon::holds;

/// (English words added to the query, the words that mean them in tr, de, es and ar).
#[rustfmt::skip]
const GLOSSARY: &[(&str, &[&str])] = &[
    ("how to use apply", &[
        "kullan*", "surulur", "surmeli*", "uygula*",
        "verwend*", "benutz*", "anwend*", "auftrag*", "aufgetragen",
        "usar", "uso", "utiliz*", "aplic*", "pongo", "poner",
        "*استخدام*", "*استخدم*", "*استعمال*", "*استعمل*", "اضع", "*تطبيق*",
    ]),
    ("how often times a day a week", &[
        "ne siklikla", "siklik*", "kac kez", "kac kere", "haftada", "gunde",
        "wie oft", "wie haufig", "taglich", "pro tag", "pro woche", "am tag",
        "cada cuanto", "con que frecuencia", "cuantas veces", "al dia", "por semana", "a la semana",
        "كم مره", "*يوميا", "في اليوم", "في الاسبوع", "اسبوعيا", "كل يوم",
    ]),
    ("how much how many amount", &[
        "ne kadar", "kac tane", "miktar*",
        "wie viel*", "wieviel*", "menge",
        "cuanto", "cuanta", "cuantos", "cuantas", "cantidad",
        "كم", "*كميه*",
    ]),
    ("how long leave on minutes", &[
        "ne kadar sure", "kac dakika", "beklet*", "dakika*",
        "wie lange", "einwirk*", "minuten",
        "cuanto tiempo", "minutos", "dejo", "dejar",
        "كم دقيقه", "*دقايق", "كم من الوقت", "*مده*",
    ]),
    ("ingredients contains", &[
        "icerik*", "icerig*", "icind*", "icer*", "bilesen*",
        "inhaltsstoff*", "enthalt*", "zutaten",
        "ingrediente*", "contiene", "componentes", "lleva",
        "*مكونات*", "*يحتوي*", "*مكون*",
    ]),
    ("safe", &[
        "guvenli*", "zararli*", "zarari",
        "sicher", "unbedenklich", "schadlich",
        "seguro", "segura", "peligroso*",
        "امن", "امنه", "*امان*", "ضار", "ضاره",
    ]),
    ("pregnancy pregnant breastfeeding", &[
        "hamile*", "gebelik*", "emzir*",
        "schwanger*", "stillzeit", "stillen",
        "embaraz*", "lactancia", "amamant*",
        "*حامل*", "*الحمل", "*رضاعه*", "*مرضع*",
    ]),
    ("skin", &["cilt*", "cild*", "deri", "derim*", "*haut", "piel", "*بشره*", "*بشرتي*", "*جلد*"]),
    ("face", &["yuz", "yuzum*", "yuze", "gesicht*", "cara", "rostro", "*وجه*", "*وجهي*"]),
    ("hair", &["sac", "saci*", "sacim*", "sacla*", "sacin*", "*haar*", "pelo", "cabello*", "*شعر", "*شعري"]),
    ("scalp", &["sac derisi*", "kafa derisi*", "kopfhaut", "cuero cabelludo", "فروه الراس"]),
    ("sensitive", &["hassas*", "empfindlich*", "sensible*", "حساس", "*حساسه"]),
    ("allergy allergic", &["alerji*", "*allergi*", "alergi*", "alergic*", "*حساسي*"]),
    ("nut", &["findik*", "ceviz*", "kuruyemis*", "*nuss*", "nusse", "nuez", "nueces", "frutos secos", "*مكسرات*"]),
    ("vegan vegetarian animal origin", &[
        "vejetaryen*", "hayvansal*", "vegetarisch*", "tierisch*", "vegano", "vegana", "vegetariano*", "origen animal",
        "*نباتي*", "*حيواني*",
    ]),
    ("side effects", &["yan etki*", "nebenwirkung*", "efectos secundarios", "efecto secundario", "*اعراض جانبيه*", "*اثار جانبيه*"]),
    ("expiry expire best before use within months of opening", &[
        "son kullanma*", "skt", "bozulur*", "dayanir*", "raf omru", "acildiktan sonra",
        "haltbar*", "ablauf*", "verfallsdatum", "mindesthaltbar*", "nach dem offnen",
        "caduc*", "vencimiento", "vence", "fecha de", "despues de abrir",
        "*صلاحيه*", "*انتهاء*", "بعد الفتح",
    ]),
    ("dose take capsule softgel a day", &[
        "doz*", "kapsul*", "tabletler*", "tableti", "almaliyim", "alinmali*", "alinir", "icilir", "alabilir*",
        "dosis", "dosierung", "kapsel*", "einnehm*",
        "capsula*", "tomo", "tomar", "pastilla*",
        "*جرعه*", "*كبسول*", "حبه", "حبات", "*حبوب*", "اخذ", "اتناول", "*تناول*",
    ]),
    ("children kids baby age years", &[
        "cocuk*", "bebek*", "yasinda", "yas",
        "kinder*", "mein kind", "saugling*",
        "nino*", "nina*", "hijo*", "hija*", "bebe*", "edad", "anos",
        "*اطفال*", "*طفل*", "*رضيع*", "*الرضع", "سنوات", "عمر*",
    ]),
    ("with food meal", &["yemek*", "tok karnina", "ac karnina", "essen", "mahlzeit*", "comida*", "comer", "*الطعام*", "*الاكل*", "*وجبه*"]),
    ("morning evening night", &[
        "sabah*", "aksam*", "gece*", "morgens", "abends", "nachts", "manana", "noche*",
        "*صباح*", "*مساء*", "*الليل*",
    ]),
    ("eyes", &["goz*", "auge*", "ojo*", "عيني", "العين", "*عيون*"]),
    ("colour-treated bleached dyed hair", &[
        "boyali*", "boyanmis*", "gefarbt*", "blondiert*", "tenido*", "tinte", "decolorado*", "*مصبوغ*", "*صبغ*",
    ]),
    ("oily", &["yagli*", "fettig*", "olig*", "graso*", "grasa", "*دهني*", "*دهنيه*"]),
    ("dry", &["kuru", "kurum*", "trocken*", "seco", "seca", "*جاف*"]),
    ("store keep", &[
        "sakla*", "buzdolabi*", "aufbewahr*", "lager*", "kuhlschrank", "guardar", "conservar", "nevera",
        "*تخزين*", "*احفظ*", "*حفظ*",
    ]),
    ("sun sunscreen", &["gunes*", "sonne*", "sol", "solar", "*شمس*", "*واقي*"]),
    ("cleanser wash", &["temizle*", "yika*", "reinig*", "wasch*", "limpiador*", "lavar", "limpiar", "*غسول*", "*منظف*", "*غسل*"]),
    ("gel", &["jel*", "الجل", "جل"]),
    ("shampoo", &["sampuan*", "champu", "*شامبو*"]),
    ("serum", &["serumu", "serumun", "serumlar*", "*سيروم*", "*سيرم*"]),
    ("vitamin", &["vitamini*", "vitamina*", "*فيتامين*"]),
    ("vitamin C", &["vitamini c", "c vitamini*", "vitamina c", "فيتامين سي", "فيتامين c"]),
    ("vitamin D", &["vitamini d", "d vitamini*", "vitamina d", "فيتامين د", "فيتامين d"]),
    ("magnesium", &["magnezyum*", "magnesio", "*مغنيسيوم*", "*مغنسيوم*"]),
    ("cream", &["krem*", "crema", "*كريم*"]),
    ("body lotion", &["losyon*", "vucut*", "bodylotion", "korperlotion", "locion*", "corporal", "*لوشن*", "*الجسم"]),
    ("hair mask", &["maske*", "haarmaske", "mascarilla*", "*ماسك*", "*قناع*"]),
    ("oil", &["yag", "yagi*", "yagini", "haarol", "aceite*", "*زيت*"]),
    ("candle", &["mumu", "mumun", "mumlar*", "kerze*", "vela*", "*شمعه*"]),
    ("frying pan", &["tava*", "pfanne*", "sarten*", "*مقلاه*"]),
    ("retinol night cream", &["retinollu", "retinolu", "*ريتينول*", "*ريتنول*"]),
    ("hyaluronic", &["hyaluronik*", "hialuronico", "*هيالورونيك*", "*هيالورونيك"]),
    ("silicones", &["silikon*", "silicona*", "*سيليكون*"]),
    ("fragrance scent smell", &["koku*", "parfum*", "duft*", "olor", "fragancia", "perfume", "*رايحه*", "*عطر*"]),
    ("beard", &["sakal*", "bart", "barba", "*لحيه*"]),
    ("oat", &["yulaf*", "hafer*", "avena", "*شوفان*"]),
    ("clothing stain mark", &["kiyafet*", "leke*", "kleidung", "abfarb*", "farbt", "ropa", "mancha*", "*ملابس*", "*بقع*"]),
    ("rice", &["pirinc*", "reis", "arroz", "*ارز*"]),
    ("dishwasher", &["bulasik makine*", "spulmaschine*", "lavavajillas", "*غساله الصحون*"]),
];

/// The English words of the glossary entries `text` holds, in glossary order, each once.
/// `text` may be raw or folded: it is folded here.
pub fn english_terms(text: &str) -> Vec<&'static str> {
    let folded = format!(" {} ", fold(text));
    GLOSSARY
        .iter()
        .filter(|(_, words)| words.iter().any(|word| holds(&folded, word)))
        .map(|(english, _)| *english)
        .collect()
}

/// The text embedded to search the product text for `question`: the question itself, followed
/// by the English words of its glossary entries when it has any.
pub fn query_text(question: &str) -> String {
    let terms = english_terms(question);
    if terms.is_empty() { question.to_owned() } else { format!("{question} ({})", terms.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_in_other_languages_get_the_english_words_they_ask_with() {
        for (question, expected) in [
            ("Serumu nasıl kullanmalıyım?", &["how to use apply", "serum"][..]),
            ("serumu nasil kullanmaliyim", &["how to use apply", "serum"]),
            ("Ist die Haarmaske vegan?", &["hair", "hair mask"]),
            ("¿Cuándo caduca el magnesio?", &["expiry expire best before use within months of opening", "magnesium"]),
            ("hamileyken kullanabilir miyim", &["how to use apply", "pregnancy pregnant breastfeeding"]),
            ("هل الشامبو آمن للأطفال؟", &["safe", "children kids baby age years", "shampoo"]),
            ("هل الشامبو امن للاطفال", &["safe", "children kids baby age years", "shampoo"]),
            ("عندي حساسية من المكسرات", &["allergy allergic", "nut"]),
        ] {
            assert_eq!(english_terms(question), expected, "{question}");
        }
    }

    #[test]
    fn english_questions_and_plain_words_add_nothing() {
        for question in [
            "how do I use the serum?",
            "is the vitamin c serum vegan",
            "my mum ordered a candle",
            "where is my order",
            "hello",
            "",
            "ok",
        ] {
            assert_eq!(query_text(question), question);
        }
        assert_eq!(
            query_text("Sonnencreme auf Kleidung?"),
            "Sonnencreme auf Kleidung? (sun sunscreen, clothing stain mark)"
        );
    }

    #[test]
    fn every_entry_is_written_folded() {
        for (english, words) in GLOSSARY {
            assert!(!words.is_empty(), "{english}");
            for word in *words {
                let bare = word.trim_matches('*');
                assert_eq!(fold(bare), bare, "{english}: {word}");
            }
        }
    }
}
