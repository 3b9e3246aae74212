//! Turkish intent words (folded: "iade", "siparisim", "konusmak").

use super::lexicon::Lexicon;

#[rustfmt::skip]
pub static WORDS: Lexicon = Lexicon {
    opt_out: &[
        "abonelik iptal*", "abonelikten cik*", "mesaj gondermeyin", "mesaj gondermeyi birak*", "mesaj atmayin",
        "mesaj atmayi birak*", "beni listeden cikar*", "listeden cikar*", "mesaj istemiyorum", "bir daha yazmayin",
        "rahatsiz etmeyin", "bana yazmayin",
    ],
    person_verbs: &["konusmak", "konusabilir", "konusayim", "gorusmek", "gorusebilir", "baglar", "baglayin"],
    person_nouns: &["biriyle", "birisiyle", "bir insanla", "insanla", "yetkiliyle", "bir yetkiliyle", "temsilciyle", "musteri temsilcisiyle", "operatorle", "gercek biriyle"],
    person: &[
        "gercek bir insan*", "gercek biri*", "canli destek", "musteri hizmetleri*", "musteri temsilci*", "yetkili biri*",
        "beni arayin", "beni arar misiniz", "bot musun", "robot musun", "insan misin",
    ],
    complaint: &[
        "kirik*", "kirildi*", "kirilmis*", "hasarli*", "hasar gor*", "bozuk*", "bozuldu", "bozulmus", "calismiyor",
        "iade*", "para iade*", "parami geri*", "geri odeme*", "yanlis urun*", "yanlis siparis*",
        "yanlis gelmis", "eksik*", "sikayet*", "rezalet", "berbat", "dolandir*", "memnun degil*",
        "hayal kirikli*", "akmis", "dokulmus", "patlamis",
    ],
    prevention: &["nasil onler*", "nasil engelle*", "onlemek icin"],
    order: &[
        "siparisim nerede", "siparis nerede", "siparisim ne zaman", "siparisim gelmedi", "siparisim hala", "kargom nerede",
        "kargo nerede", "kargom ne zaman", "kargo takip*", "takip numara*", "takip no", "hala gelmedi", "gelmedi",
        "ne zaman gelir*", "ne zaman gelecek", "ne zaman kargo*", "kargoya verildi*", "siparis durum*",
        "siparisimin durum*", "teslim edilmedi", "ulasmadi",
    ],
    greeting: &[
        "merhaba", "merhabalar", "selam", "selamlar", "gunaydin", "tesekkurler", "tesekkur", "sagol", "sagolun",
        "iyi gunler", "iyi aksamlar", "kolay gelsin", "slm", "mrb", "tskler",
    ],
    greeting_filler: &["ederim", "ederiz", "cok", "iyi", "gunler", "aksamlar", "sag", "ol", "olun", "kolay", "gelsin", "tamam", "harika", "super", "size", "sana", "hepinize"],
    small_talk: &["nasilsiniz", "nasilsin", "naber", "ne haber"],
    question: &[
        "nasil", "ne", "neden", "nicin", "hangi", "kac", "mi", "mu", "midir", "mudur", "misiniz", "nedir", "var mi",
        "olur mu", "uygun mu",
    ],
};
