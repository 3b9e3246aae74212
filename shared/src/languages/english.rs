//! English.

use super::Phrases;

pub static PHRASES: Phrases = Phrases {
    greeting: "Hi! This is {store}. Ask me anything about our products or your order.",
    how_to_opt_out: "To stop receiving messages from us, reply STOP.",
    person_will_reply: "Of course. A person from our team will reply here as soon as possible.",
    complaint_passed_on: "I'm sorry to hear that. I've passed your message to our team and a person will reply here soon.",
    dont_know: "I don't know the answer to that, sorry. A person from our team will follow up here.",
    order_not_found: "I couldn't find an order for this number. A person from our team will look into it and reply here.",
    no_medical_advice: "I can't give medical advice. If you have a reaction, stop using the product and ask a doctor or \
                        pharmacist. A person from our team will also follow up here.",
    no_discounts: "I can't offer discounts or change prices here. A person from our team will follow up.",
    beyond_the_label: "For anything beyond what the label says, please ask your doctor or pharmacist. A person from our team will also follow up.",
    only_your_orders: "I can only talk about your own orders, sorry.",
    only_store_topics: "I can only help with questions about {store}'s products and your orders.",
    opted_out: "You will not receive more messages from {store}. Reply START to opt back in.",
    opted_in: "You will receive messages from {store} again. Reply STOP at any time to opt out.",
    stop_words: &[
        "stop",
        "stop all",
        "stop please",
        "please stop",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "opt out",
        "optout",
        "stop messaging me",
        "stop messaging",
        "stop sending",
        "stop sending messages",
        "stop texting me",
        "no more messages",
        "remove me",
    ],
    start_words: &["start", "unstop", "subscribe", "opt in", "optin", "resume"],
    stop_buttons: &["stop promotions", "stop promotion"],
};
