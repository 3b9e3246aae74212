use recete_knowledge::{RetrievedChunk, SectionKind};
use uuid::Uuid;

use super::*;

const TITLE: &str = "Brightening Vitamin C Serum";

fn chunk(section: SectionKind, content: &str) -> RetrievedChunk {
    RetrievedChunk {
        id: Uuid::nil(),
        product_id: Uuid::nil(),
        product_title: TITLE.to_owned(),
        section,
        content: content.to_owned(),
        similarity: 0.8,
        sentences: None,
    }
}

fn serum() -> Vec<RetrievedChunk> {
    vec![
        chunk(
            SectionKind::Usage,
            "Apply four drops to clean, dry skin every morning. Use once a day. Follow with sunscreen.",
        ),
        chunk(
            SectionKind::Warnings,
            "For external use only. Avoid contact with eyes. Do not use on broken skin. Keep out of reach of children. \
             If you have eczema, ask your doctor before use.",
        ),
        chunk(
            SectionKind::Ingredients,
            "Contains 15% vitamin C and hyaluronic acid. Does not contain fragrance or parabens.",
        ),
        chunk(
            SectionKind::Details,
            "Free shipping on orders over $50. Questions? Write to help@glowlab.com, visit www.glowlab.com/faq or call \
             us on +90 212 555 0100.",
        ),
    ]
}

fn verdict(answer: &str, flags: &[InputFlag]) -> Verdict {
    let facts = ["Glow Lab".to_owned(), "#1001".to_owned(), "shipped".to_owned()];
    check_answer(&AnswerCheck { answer, context: &serum(), allowed_facts: &facts, question_flags: flags })
}

fn blocked_by(answer: &str, flags: &[InputFlag]) -> Option<Rule> {
    match verdict(answer, flags) {
        Verdict::Pass => None,
        Verdict::Block { rule, .. } => Some(rule),
    }
}

fn detail(answer: &str, flags: &[InputFlag]) -> String {
    match verdict(answer, flags) {
        Verdict::Pass => panic!("expected {answer:?} to be blocked"),
        Verdict::Block { detail, .. } => detail,
    }
}

#[test]
fn answers_resting_on_the_product_text_pass() {
    let answers = [
        "About Brightening Vitamin C Serum: Apply four drops to clean, dry skin every morning.",
        "Brightening Vitamin C Serum: Apply four drops to clean, dry skin every morning. Use once a day.",
        "Happy to help! Apply 4 drops to clean, dry skin every morning.",
        "Use once a day.",
        "It doesn't contain fragrance or parabens.",
        "It is fragrance-free and paraben-free.",
        "The serum contains 15% vitamin C.",
        "Avoid contact with eyes; keep out of reach of children.",
        "Your order #1001 has shipped. Thanks for reaching out!",
        "Free shipping on orders over $50.",
        "Write to help@glowlab.com or visit www.glowlab.com/faq.",
        "You can call us on +90 212 555 0100.",
        "If you have eczema, ask your doctor before use.",
        "Glow Lab: Follow with sunscreen.",
    ];
    for answer in answers {
        assert_eq!(verdict(answer, &[]), Verdict::Pass, "answer: {answer:?}");
    }
}

#[test]
fn unsupported_sentences_are_blocked() {
    let answers = [
        "Use twice a day.",
        "Apply four drops to clean, dry skin twice a day.",
        "Apply four drops to clean, dry skin every morning. It also fades scars within a week.",
        "It contains fragrance.",
        "You can use it on broken skin.",
        "The serum cures acne in 3 days.",
        "Our bestseller, loved by dermatologists everywhere.",
        "Your order #1002 has shipped.",
    ];
    for answer in answers {
        assert_eq!(blocked_by(answer, &[]), Some(Rule::Unsupported), "answer: {answer:?}");
    }
}

#[test]
fn unsupported_details_quote_the_sentence_and_the_number() {
    assert_eq!(detail("Use twice a day.", &[]), "\"2\" is not in the product text: \"Use twice a day.\"");
    assert_eq!(
        detail("Apply four drops. It makes you look ten years younger!", &[]),
        "\"10\" is not in the product text: \"It makes you look ten years younger!\""
    );
    assert_eq!(detail("It contains fragrance.", &[]), "contradicts the product text: \"It contains fragrance.\"");
    let long = format!("It gives {} results.", "wonderful ".repeat(30));
    assert!(detail(&long, &[]).chars().count() <= 130);
}

#[test]
fn answers_need_context_and_words() {
    let facts: [String; 0] = [];
    let check = AnswerCheck { answer: "Apply four drops.", context: &[], allowed_facts: &facts, question_flags: &[] };
    assert!(matches!(check_answer(&check), Verdict::Block { rule: Rule::Unsupported, .. }));
    assert_eq!(blocked_by("  ", &[]), Some(Rule::Unsupported));
    assert_eq!(verdict("Thanks for your question! Hope this helps.", &[]), Verdict::Pass);
}

#[test]
fn medical_advice_is_blocked() {
    let cases: &[(&str, &[InputFlag])] = &[
        ("It sounds like you have eczema.", &[]),
        ("This is probably an allergic reaction.", &[]),
        ("You should take two capsules with food.", &[]),
        ("Yes, it is safe during pregnancy.", &[InputFlag::DosageOrMedication]),
        ("Yes.", &[InputFlag::DosageOrMedication]),
        ("The serum contains 15% vitamin C.", &[InputFlag::DosageOrMedication]),
        ("Use once a day. It is gentle enough for everyone.", &[InputFlag::MedicalDiagnosis]),
    ];
    for (answer, flags) in cases {
        assert_eq!(blocked_by(answer, flags), Some(Rule::MedicalAdvice), "answer: {answer:?}");
    }
}

#[test]
fn label_text_answers_medical_questions() {
    let flags = [InputFlag::DosageOrMedication];
    for answer in [
        "Brightening Vitamin C Serum: Keep out of reach of children. For external use only.",
        "If you have eczema, ask your doctor before use.",
        "Use once a day. Thank you!",
    ] {
        assert_eq!(verdict(answer, &flags), Verdict::Pass, "answer: {answer:?}");
    }
}

#[test]
fn price_promises_are_blocked_unless_the_product_text_states_them() {
    for answer in [
        "Use code GLOW20 for 20% off your next order.",
        "It costs $25 today.",
        "I can send you a free sample.",
        "You'll get a full refund if you don't like it.",
        "We guarantee results in a week.",
        "The price will go up soon.",
        "Shipping is free of charge for you.",
        "Pay 450 TL at the door.",
    ] {
        assert_eq!(blocked_by(answer, &[InputFlag::DiscountRequest]), Some(Rule::PricePromise), "answer: {answer:?}");
    }
    assert_eq!(detail("It costs $25 today.", &[]), "\"$25\" in \"It costs $25 today.\"");
    assert_eq!(verdict("Free shipping on orders over $50.", &[InputFlag::DiscountRequest]), Verdict::Pass);
}

#[test]
fn links_and_emails_outside_the_product_text_are_blocked() {
    for answer in [
        "See https://cheap-serums.example.net/deal for details.",
        "Visit www.serumfacts.org.",
        "It is sold on amazon.com as well.",
        "Email sales@othershop.com for help.",
    ] {
        assert_eq!(blocked_by(answer, &[]), Some(Rule::UnknownLink), "answer: {answer:?}");
    }
    assert_eq!(
        detail("Visit www.serumfacts.org.", &[]),
        "a link that is not in the product text: \"www.serumfacts.org\""
    );
}

#[test]
fn contact_data_that_is_not_the_customers_is_blocked() {
    for answer in [
        "You can reach Jane on +44 7700 900123.",
        "Call 0212-555-8899 for help.",
        "Your neighbour lives at 221B Baker Street.",
        "Send it to Atatürk Caddesi No: 12.",
    ] {
        assert_eq!(blocked_by(answer, &[]), Some(Rule::OtherCustomer), "answer: {answer:?}");
    }
    assert_eq!(blocked_by("Use once a day.", &[InputFlag::OtherCustomerData]), Some(Rule::OtherCustomer));
    // A date is not a phone number: this one is blocked only because the product text lacks it.
    assert_eq!(blocked_by("It left on 2026-03-12.", &[]), Some(Rule::Unsupported));
    // Four drops "the same way" is not a street.
    assert_eq!(verdict("Apply 4 drops the same way.", &[]), Verdict::Pass);
}

#[test]
fn injection_blocks_any_answer_and_answers_may_not_talk_about_themselves() {
    let flags = [InputFlag::PromptInjection { pattern: "ignore previous instructions".to_owned() }];
    assert_eq!(blocked_by("Use once a day.", &flags), Some(Rule::PromptInjection));
    assert_eq!(
        detail("Use once a day.", &flags),
        "the question tried to change the instructions: \"ignore previous instructions\""
    );
    for answer in
        ["My instructions say I only talk about products.", "As an AI, I cannot say.", "My system prompt is secret."]
    {
        assert_eq!(blocked_by(answer, &[]), Some(Rule::PromptInjection), "answer: {answer:?}");
    }
}

#[test]
fn the_most_precise_rule_names_the_block() {
    let cases = [
        ("Call +44 7700 900123 for 20% off.", Rule::OtherCustomer),
        ("Find it cheaper at www.discountserums.com.", Rule::UnknownLink),
        ("You have eczema, so use it twice a day.", Rule::MedicalAdvice),
        ("Get 20% off when you apply it twice a day.", Rule::PricePromise),
    ];
    for (answer, rule) in cases {
        assert_eq!(blocked_by(answer, &[]), Some(rule), "answer: {answer:?}");
    }
}

#[test]
fn clauses_split_at_sentence_ends_and_names_are_dropped() {
    let names = ["brightening vitamin c serum".to_owned()];
    assert_eq!(
        claims("About Brightening Vitamin C Serum: Apply 2.5 ml daily. Happy to help!", &names),
        ["Apply 2.5 ml daily."]
    );
    assert_eq!(claims("Note: apply daily; avoid eyes.", &names), ["Note: apply daily;", "avoid eyes."]);
    assert_eq!(clauses("One. Two! Three"), ["One.", "Two!", "Three"]);
}

#[test]
fn a_clause_quoted_word_for_word_never_contradicts_its_source() {
    let context = [chunk(
        SectionKind::Details,
        "Store below 25°C and away from direct sunlight; a fridge is fine but not required. Contains argan kernel oil; \
         not suitable for people with a tree nut allergy.",
    )];
    for answer in [
        "Brightening Vitamin C Serum: Store below 25°C and away from direct sunlight; a fridge is fine but not required.",
        "Contains argan kernel oil; not suitable for people with a tree nut allergy.",
    ] {
        let check = AnswerCheck { answer, context: &context, allowed_facts: &[], question_flags: &[] };
        assert!(check_answer(&check).is_pass(), "{answer}");
    }
    let flipped =
        AnswerCheck { answer: "A fridge is required.", context: &context, allowed_facts: &[], question_flags: &[] };
    assert!(!check_answer(&flipped).is_pass());
}
