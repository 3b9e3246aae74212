//! German intent words (folded: umlauts without dots, ß as "ss").

use super::lexicon::Lexicon;

#[rustfmt::skip]
pub static WORDS: Lexicon = Lexicon {
    opt_out: &[
        "keine nachrichten mehr", "keine nachrichten", "keine werbung mehr", "abmelden", "abbestellen", "austragen",
        "nicht mehr schreiben", "nicht mehr kontaktieren", "schreiben sie mir nicht", "schreibt mir nicht",
        "hort auf mir zu schreiben", "horen sie auf mir zu schreiben", "lasst mich in ruhe", "lassen sie mich in ruhe",
    ],
    person_verbs: &["sprechen mit", "reden mit", "verbinden mit", "verbinden sie mich mit"],
    person_nouns: &["einem menschen", "einem mitarbeiter", "einer mitarbeiterin", "einer person", "jemandem", "einem echten menschen", "dem chef", "dem kundenservice", "dem kundendienst"],
    person: &[
        "mit einem menschen*", "mit einem mitarbeiter*", "mit einer mitarbeiterin*", "mit jemandem*", "echten menschen",
        "echte person", "echter mensch", "kundenservice", "kundendienst", "rufen sie mich an", "ruf mich an",
        "ruft mich an", "bist du ein bot", "sind sie ein bot", "bist du ein roboter", "mensch bitte",
    ],
    complaint: &[
        "kaputt*", "beschadigt*", "defekt*", "zerbrochen*", "gebrochen", "falsche artikel", "falschen artikel",
        "falsches produkt", "falsche produkt", "falsche bestellung", "fehlt", "fehlen", "fehlend*", "erstattung*",
        "ruckerstattung*", "geld zuruck", "reklamation*", "reklamieren", "beschwerde*", "beschweren", "ausgelaufen",
        "undicht", "funktioniert nicht", "enttauscht*", "unzufrieden", "katastrophe", "betrug", "zuruckschicken",
        "zurucksenden", "zuruckgeben", "umtauschen", "unverschamt",
    ],
    prevention: &["wie verhindere", "wie vermeide", "wie kann ich verhindern", "wie kann ich vermeiden"],
    order: &[
        "wo ist meine bestellung", "wo bleibt meine bestellung", "wo ist mein paket", "wo bleibt mein paket",
        "wo ist die bestellung", "noch nicht angekommen", "nicht angekommen", "nicht geliefert", "noch nicht da",
        "sendungsverfolgung", "sendungsnummer", "trackingnummer", "tracking*", "wann kommt meine", "wann kommt mein",
        "wann kommt die bestellung", "wann kommt das paket", "wann wird meine", "wann wird mein", "lieferstatus",
        "bestellstatus", "schon versendet", "schon verschickt", "schon unterwegs", "immer noch nicht",
    ],
    greeting: &["hallo", "hi", "hey", "servus", "moin", "danke", "dank", "dankeschon", "gruezi", "tag", "morgen", "abend", "grusse"],
    greeting_filler: &["guten", "vielen", "schonen", "sehr", "super", "ok", "alles", "klar", "gut", "und", "ihnen", "dir", "euch", "liebe", "lieben", "zusammen", "toll", "nochmal", "fur", "die", "info", "hilfe"],
    small_talk: &["wie geht es ihnen", "wie geht es dir", "wie gehts"],
    question: &[
        "wie", "was ist", "was sind", "was kann", "welche*", "warum", "wann", "wieso", "wieviel*", "kann ich", "darf ich", "ist es", "ist das",
        "ist die", "ist der", "sind die", "soll ich", "muss ich", "enthalt", "gibt es",
    ],
};
