//! German (Deutsch).

use super::{OrderPhrases, Phrases};

pub static PHRASES: Phrases = Phrases {
    greeting: "Hallo! Hier ist {store}. Fragen Sie mich alles zu unseren Produkten oder Ihrer Bestellung.",
    how_to_opt_out: "Wenn Sie keine Nachrichten mehr von uns möchten, antworten Sie mit STOPP.",
    person_will_reply: "Gern. Jemand aus unserem Team antwortet Ihnen hier so bald wie möglich.",
    complaint_passed_on: "Das tut mir leid. Ich habe Ihre Nachricht an unser Team weitergegeben; jemand antwortet \
                          Ihnen hier bald.",
    dont_know: "Das weiß ich leider nicht. Jemand aus unserem Team meldet sich hier bei Ihnen.",
    order_not_found: "Zu dieser Nummer habe ich keine Bestellung gefunden. Jemand aus unserem Team sieht nach und \
                      antwortet Ihnen hier.",
    no_medical_advice: "Medizinischen Rat kann ich nicht geben. Wenn Sie eine Reaktion bemerken, verwenden Sie das \
                        Produkt nicht weiter und fragen Sie einen Arzt oder Apotheker. Jemand aus unserem Team \
                        meldet sich außerdem hier.",
    no_discounts: "Rabatte oder andere Preise kann ich hier nicht anbieten. Jemand aus unserem Team meldet sich.",
    beyond_the_label: "Für alles, was über die Angaben auf dem Etikett hinausgeht, fragen Sie bitte Ihren Arzt oder Apotheker. Jemand aus unserem Team meldet sich außerdem.",
    only_your_orders: "Ich kann leider nur über Ihre eigenen Bestellungen sprechen.",
    only_store_topics: "Ich helfe nur bei Fragen zu den Produkten von {store} und zu Ihren Bestellungen.",
    opted_out: "Sie erhalten keine Nachrichten mehr von {store}. Antworten Sie mit START, um sie wieder zu erhalten.",
    opted_in: "Sie erhalten wieder Nachrichten von {store}. Mit STOPP können Sie sie jederzeit abbestellen.",
    orders: OrderPhrases {
        date_format: "%d.%m.%Y",
        delivered_on: "Ihre Bestellung {number} wurde am {date} zugestellt.",
        delivered: "Ihre Bestellung {number} wurde zugestellt.",
        shipped_on: "Ihre Bestellung {number} wurde am {date} versandt und ist unterwegs.",
        shipped: "Ihre Bestellung {number} wurde versandt und ist unterwegs.",
        preparing: "Ihre Bestellung {number} ist bestätigt und wird für den Versand vorbereitet.",
        cancelled: "Ihre Bestellung {number} wurde storniert.",
        refunded: "Ihre Bestellung {number} wurde erstattet.",
        other: "Status Ihrer Bestellung {number}: {status}.",
    },
    stop_words: &["stopp", "abmelden", "abbestellen", "keine nachrichten mehr", "aufhoren", "beenden"],
    start_words: &["anmelden", "fortsetzen"],
    stop_buttons: &["werbung stoppen", "angebote stoppen"],
};
