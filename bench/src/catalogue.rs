//! Real-looking product text for retrieval benchmarks: many stores' worth of products, each
//! with an overview, usage, ingredients, warnings and paraphrased questions and answers, and
//! the questions customers ask about them.
//!
//! Text is put together from phrase lists per product category (skin care, hair care,
//! supplements, coffee and tea, pet food, home fragrance, baby care, sports nutrition): a brand,
//! a product line and a product type make a title; each section is sentences drawn from several
//! wordings of the same kind of statement, filled with the product's own ingredients, amounts,
//! scents and times. So chunks of one category share most of their words and differ in the
//! details (the hard case for a nearest-neighbour index: many near neighbours), while the FAQs
//! ask the same things in different words, as merchants write them. Everything is drawn from a
//! seeded generator: the same seed gives the same catalogue.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use recete_knowledge::SectionKind;

/// One product category's vocabulary.
struct Category {
    types: &'static [&'static str],
    lines: &'static [&'static str],
    ingredients: &'static [&'static str],
    benefits: &'static [&'static str],
    usage: &'static [&'static str],
    warnings: &'static [&'static str],
    /// Words for the product's sensory side: a scent, a taste, a texture.
    sensory: &'static [&'static str],
}

const BRANDS: &[&str] = &[
    "Nordlys",
    "Verde & Co",
    "Maison Olea",
    "Kora",
    "Atlas Botanics",
    "Solenne",
    "Brightwell",
    "Pure Harbor",
    "Lumen",
    "Oak & Ash",
    "Sable",
    "Terra Nova",
    "Wildroot",
    "Halcyon",
    "Merrow",
    "Aurelia",
    "Cobalt Lane",
    "Fjord",
    "Ember",
    "Juniper Row",
    "Saltwater",
    "Marigold",
    "Northfield",
    "Tidewell",
    "Clover Hill",
    "Alba",
    "Rue Verte",
    "Kinfolk",
    "Meadowsweet",
    "Hearth",
];

const CATEGORIES: &[Category] = &[
    Category {
        types: &[
            "cleanser",
            "serum",
            "moisturiser",
            "toner",
            "face oil",
            "eye cream",
            "sunscreen SPF 50",
            "exfoliant",
            "sheet mask",
            "night cream",
        ],
        lines: &[
            "Hydrating",
            "Calming",
            "Brightening",
            "Barrier Repair",
            "Daily",
            "Overnight",
            "Gentle",
            "Clarifying",
            "Firming",
            "Sensitive",
        ],
        ingredients: &[
            "niacinamide",
            "hyaluronic acid",
            "ceramides",
            "vitamin C",
            "retinol",
            "squalane",
            "centella asiatica",
            "panthenol",
            "zinc oxide",
            "salicylic acid",
            "aloe vera",
            "shea butter",
            "glycerin",
            "green tea extract",
            "bakuchiol",
            "lactic acid",
        ],
        benefits: &[
            "keeps skin hydrated all day",
            "calms redness",
            "evens out skin tone",
            "strengthens the skin barrier",
            "reduces the look of fine lines",
            "unclogs pores",
            "soothes dry patches",
            "leaves a matte finish",
        ],
        usage: &[
            "apply a pea-sized amount to clean, dry skin",
            "massage gently in circular motions",
            "use morning and evening after cleansing",
            "follow with moisturiser and sunscreen in the morning",
            "rinse off with lukewarm water",
            "leave on for ten minutes, then remove",
        ],
        warnings: &[
            "avoid contact with the eyes",
            "do a patch test before first use",
            "stop using it if irritation occurs",
            "use sunscreen during the day while using it",
            "not for use on broken skin",
            "ask your doctor before use if you are pregnant",
        ],
        sensory: &[
            "unscented",
            "a light citrus scent",
            "a lightweight gel texture",
            "a rich cream texture",
            "a faint cucumber scent",
            "a silky, fast-absorbing feel",
        ],
    },
    Category {
        types: &[
            "shampoo",
            "conditioner",
            "hair mask",
            "scalp serum",
            "leave-in spray",
            "hair oil",
            "dry shampoo",
            "curl cream",
        ],
        lines: &[
            "Volume",
            "Repair",
            "Curl Defining",
            "Colour Care",
            "Scalp Balance",
            "Smoothing",
            "Strength",
            "Moisture",
        ],
        ingredients: &[
            "argan oil",
            "keratin",
            "biotin",
            "rosemary oil",
            "coconut oil",
            "rice protein",
            "tea tree oil",
            "jojoba oil",
            "caffeine",
            "shea butter",
            "panthenol",
            "aloe vera",
        ],
        benefits: &[
            "reduces frizz",
            "adds volume without weighing hair down",
            "protects colour from fading",
            "soothes an itchy scalp",
            "strengthens brittle ends",
            "defines curls",
            "adds shine",
        ],
        usage: &[
            "work into wet hair and rinse thoroughly",
            "apply from mid-lengths to ends",
            "leave on for three to five minutes",
            "massage a few drops into the scalp",
            "use two to three times a week",
            "spray onto towel-dried hair and style as usual",
        ],
        warnings: &[
            "avoid contact with the eyes",
            "for external use only",
            "rinse with water if it gets in the eyes",
            "do a strand test on chemically treated hair",
            "keep out of reach of children",
        ],
        sensory: &[
            "a fresh mint scent",
            "a warm vanilla scent",
            "a sweet coconut scent",
            "fragrance-free",
            "a herbal rosemary scent",
        ],
    },
    Category {
        types: &["capsules", "gummies", "tablets", "powder", "liquid drops", "softgels"],
        lines: &[
            "Magnesium",
            "Vitamin D3",
            "Zinc",
            "Omega-3",
            "Ashwagandha",
            "Collagen",
            "Probiotic",
            "Iron",
            "Multivitamin",
            "Vitamin B12",
        ],
        ingredients: &[
            "magnesium glycinate",
            "vitamin D3 from lichen",
            "zinc picolinate",
            "fish oil",
            "algae oil",
            "ashwagandha root extract",
            "collagen peptides",
            "Lactobacillus cultures",
            "iron bisglycinate",
            "methylcobalamin",
            "vegetable cellulose capsule",
            "natural orange flavour",
        ],
        benefits: &[
            "supports restful sleep",
            "supports the immune system",
            "supports healthy bones",
            "helps reduce tiredness",
            "supports joint comfort",
            "supports digestion",
            "supports normal energy levels",
        ],
        usage: &[
            "take one capsule daily with food",
            "take two gummies a day",
            "mix one scoop into water or a smoothie",
            "take with a glass of water",
            "do not exceed the recommended daily dose",
            "take it in the evening for best results",
        ],
        warnings: &[
            "consult your doctor if you are pregnant or breastfeeding",
            "keep out of reach of children",
            "not a substitute for a varied diet",
            "talk to your doctor if you take prescription medication",
            "store below 25 °C in a dry place",
        ],
        sensory: &[
            "a natural berry flavour",
            "no taste",
            "a mild lemon flavour",
            "small, easy-to-swallow capsules",
            "a slightly chalky texture",
        ],
    },
    Category {
        types: &[
            "whole bean coffee",
            "ground coffee",
            "loose leaf tea",
            "tea bags",
            "cold brew concentrate",
            "matcha powder",
            "herbal infusion",
        ],
        lines: &["Morning", "Single Origin", "Dark Roast", "Decaf", "Breakfast Blend", "Calm", "Ceremonial", "House"],
        ingredients: &[
            "arabica beans from Ethiopia",
            "arabica beans from Colombia",
            "green tea leaves",
            "chamomile flowers",
            "rooibos",
            "ginger root",
            "peppermint leaves",
            "Assam black tea",
            "hibiscus",
            "lemongrass",
        ],
        benefits: &[
            "roasted in small batches",
            "naturally caffeine-free",
            "smooth with low acidity",
            "rich in antioxidants",
            "packed within a week of roasting",
        ],
        usage: &[
            "brew one tablespoon per cup with water just off the boil",
            "steep for three to five minutes",
            "use 15 grams of coffee for 250 ml of water",
            "whisk with water at 80 °C",
            "dilute one part concentrate with two parts milk or water",
        ],
        warnings: &[
            "contains caffeine",
            "store in a cool, dry place away from sunlight",
            "reseal the bag after opening",
            "best enjoyed within six weeks of opening",
        ],
        sensory: &[
            "notes of dark chocolate and cherry",
            "a floral, honeyed taste",
            "a bright citrus finish",
            "an earthy, grassy taste",
            "a spicy, warming taste",
        ],
    },
    Category {
        types: &["dry dog food", "wet cat food", "dog treats", "puppy food", "senior dog food", "cat treats"],
        lines: &["Grain-Free", "Sensitive Stomach", "Healthy Weight", "Active", "Small Breed", "Indoor"],
        ingredients: &[
            "deboned chicken",
            "wild salmon",
            "lamb",
            "brown rice",
            "sweet potato",
            "pumpkin",
            "glucosamine",
            "fish oil",
            "peas",
            "blueberries",
            "taurine",
        ],
        benefits: &[
            "supports healthy digestion",
            "keeps the coat shiny",
            "supports joint health",
            "helps maintain a healthy weight",
            "made without artificial colours",
        ],
        usage: &[
            "feed according to your pet's weight as shown in the table",
            "switch over gradually across seven days",
            "always provide fresh water",
            "give up to three treats a day",
        ],
        warnings: &[
            "not suitable for cats",
            "not suitable for dogs",
            "store in a cool, dry place",
            "refrigerate after opening and use within two days",
            "supervise your pet while it eats treats",
        ],
        sensory: &["small, crunchy kibble", "a soft pâté texture", "chunks in gravy", "chewy bite-sized pieces"],
    },
    Category {
        types: &["scented candle", "reed diffuser", "room spray", "wax melts", "linen mist"],
        lines: &[
            "Fig & Cedar",
            "Sea Salt",
            "Lavender Fields",
            "Amber Night",
            "Fresh Linen",
            "Orange Blossom",
            "Smoked Vanilla",
        ],
        ingredients: &[
            "soy wax",
            "coconut wax",
            "cotton wick",
            "lavender essential oil",
            "cedarwood oil",
            "bergamot",
            "vanilla absolute",
            "rattan reeds",
        ],
        benefits: &[
            "burns cleanly for about 45 hours",
            "fills a medium-sized room",
            "hand-poured in small batches",
            "lasts up to three months",
        ],
        usage: &[
            "burn for two to three hours the first time so the wax melts to the edge",
            "trim the wick to 5 mm before each use",
            "flip the reeds once a week",
            "spray two or three times into the air",
        ],
        warnings: &[
            "never leave a burning candle unattended",
            "keep away from children and pets",
            "do not burn for more than four hours at a time",
            "keep away from flammable materials",
        ],
        sensory: &["a woody, warm scent", "a fresh, clean scent", "a sweet floral scent", "a soft, powdery scent"],
    },
    Category {
        types: &["baby lotion", "nappy cream", "baby wash", "baby oil", "teething gel"],
        lines: &["Gentle", "Sensitive", "Calming", "Newborn", "Organic"],
        ingredients: &[
            "calendula",
            "zinc oxide",
            "oat extract",
            "sunflower oil",
            "chamomile",
            "shea butter",
            "glycerin",
        ],
        benefits: &[
            "soothes delicate skin",
            "protects against nappy rash",
            "is tear-free",
            "is suitable from birth",
            "is dermatologically tested",
        ],
        usage: &[
            "apply a thin layer at every nappy change",
            "massage gently into the skin after bath time",
            "add a small amount to warm bath water",
        ],
        warnings: &[
            "for external use only",
            "do not use on broken skin",
            "keep out of the baby's eyes",
            "stop using it if a rash appears",
        ],
        sensory: &["unscented", "a very mild chamomile scent", "a light, non-greasy texture"],
    },
    Category {
        types: &["protein powder", "pre-workout", "electrolyte tablets", "creatine", "protein bar", "recovery drink"],
        lines: &["Lean", "Performance", "Plant", "Endurance", "Recovery"],
        ingredients: &[
            "whey protein isolate",
            "pea protein",
            "creatine monohydrate",
            "electrolytes",
            "BCAAs",
            "beta-alanine",
            "caffeine from green tea",
            "sea salt",
            "stevia",
        ],
        benefits: &[
            "supports muscle recovery",
            "helps you stay hydrated during long sessions",
            "has 25 grams of protein per serving",
            "is low in sugar",
            "mixes without clumps",
        ],
        usage: &[
            "mix one scoop with 300 ml of water or milk",
            "take 30 minutes before training",
            "dissolve one tablet in 500 ml of water",
            "take 5 grams daily",
        ],
        warnings: &[
            "contains milk",
            "not suitable for children or pregnant women",
            "do not take within six hours of bedtime",
            "contains caffeine",
        ],
        sensory: &["a chocolate flavour", "a vanilla flavour", "a tropical flavour", "an unflavoured powder"],
    },
];

/// Questions customers ask in their own words, with `{product}` for what they call it and
/// `{thing}` for one of its ingredients.
const CUSTOMER_QUESTIONS: &[&str] = &[
    "how often should i use the {product}",
    "can i use {product} every day",
    "is the {product} safe during pregnancy",
    "does {product} have {thing} in it",
    "what does the {product} smell like",
    "how much of the {product} do i need each time",
    "can kids use the {product}",
    "is {product} ok for sensitive skin or a sensitive stomach",
    "how long does one {product} last",
    "what is in the {product}",
    "should i take {product} with food",
    "any side effects with {product}?",
    "how do i store the {product} once opened",
    "is the {product} vegan",
    "why does my {product} look different from last time",
    "can i combine {product} with {thing}",
];

/// Merchants' ways of asking the same FAQ.
const FAQ_FORMS: &[(&str, &str)] = &[
    ("How often should I use it?", "{usage}."),
    ("How often do I use this?", "{usage}."),
    ("Can I use it every day?", "Yes, {usage}."),
    ("Is it suitable during pregnancy?", "{warning}."),
    ("Can I use it while pregnant or breastfeeding?", "{warning}."),
    ("What does it smell or taste like?", "It has {sensory}."),
    ("What is it made with?", "It is made with {ingredient} and {ingredient2}."),
    ("Does it contain {ingredient}?", "Yes, {ingredient} is one of its main ingredients."),
    ("Why should I choose it?", "It {benefit}."),
    ("What does it do?", "It {benefit} and {benefit2}."),
    ("How should I store it?", "{warning}."),
    ("Is it safe for children?", "{warning}."),
];

/// One chunk of the catalogue, as the chunker would label and embed it.
pub struct CatalogueChunk {
    /// Index of the product within the catalogue.
    pub product: usize,
    pub section: SectionKind,
    pub content: String,
    /// The product title and section label before the content, as stored chunks are embedded.
    pub embedding_input: String,
}

/// A generated catalogue: titles and chunks.
pub struct Catalogue {
    pub titles: Vec<String>,
    pub chunks: Vec<CatalogueChunk>,
}

/// What one generated product is made of.
struct Product {
    title: String,
    category: &'static Category,
    kind: &'static str,
    ingredients: Vec<&'static str>,
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn product(rng: &mut StdRng) -> Product {
    let category = CATEGORIES.choose(rng).unwrap_or(&CATEGORIES[0]);
    let kind = pick(rng, category.types);
    let title = format!("{} {} {}", pick(rng, BRANDS), pick(rng, category.lines), capitalised(kind));
    let mut ingredients: Vec<&'static str> = category.ingredients.choose_multiple(rng, 4).copied().collect();
    ingredients.shuffle(rng);
    Product { title, category, kind, ingredients }
}

fn fill(template: &str, product: &Product, rng: &mut StdRng) -> String {
    let category = product.category;
    let mut text = template.to_owned();
    let ingredient = product.ingredients.first().copied().unwrap_or("water");
    let ingredient2 = product.ingredients.get(1).copied().unwrap_or("glycerin");
    text = text.replace("{ingredient2}", ingredient2).replace("{ingredient}", ingredient);
    text = text.replace("{benefit2}", pick(rng, category.benefits)).replace("{benefit}", pick(rng, category.benefits));
    text = text.replace("{usage}", &capitalised(pick(rng, category.usage)));
    text = text.replace("{warning}", &capitalised(pick(rng, category.warnings)));
    text.replace("{sensory}", pick(rng, category.sensory))
}

/// Sentences of one section of `product`, in several wordings.
fn section_sentences(product: &Product, section: SectionKind, rng: &mut StdRng) -> Vec<String> {
    let category = product.category;
    let ingredient = |index: usize| product.ingredients.get(index).copied().unwrap_or("water");
    let percent = rng.random_range(1..=20);
    match section {
        SectionKind::Overview => vec![
            format!("Our {} {}.", product.kind, pick(rng, category.benefits)),
            format!("Made with {} and {}, it {}.", ingredient(0), ingredient(1), pick(rng, category.benefits)),
            format!("It has {}.", pick(rng, category.sensory)),
            format!("A favourite of our customers because it {}.", pick(rng, category.benefits)),
        ],
        SectionKind::Usage => vec![
            format!("{}.", capitalised(pick(rng, category.usage))),
            format!("For best results, {}.", pick(rng, category.usage)),
            format!(
                "Most people {} and see a difference within {} weeks.",
                pick(rng, category.usage),
                rng.random_range(2..=8)
            ),
        ],
        SectionKind::Ingredients => vec![
            format!("Key ingredients: {} ({percent}%), {}, {}.", ingredient(0), ingredient(1), ingredient(2)),
            format!(
                "Full ingredient list: {}, {}, {}, {}.",
                ingredient(0),
                ingredient(1),
                ingredient(2),
                ingredient(3)
            ),
            format!("{} is included at {percent}% for a visible effect.", capitalised(ingredient(0))),
        ],
        SectionKind::Warnings => vec![
            format!("{}.", capitalised(pick(rng, category.warnings))),
            format!("Please note: {}.", pick(rng, category.warnings)),
            format!("{}, and {}.", capitalised(pick(rng, category.warnings)), pick(rng, category.warnings)),
        ],
        SectionKind::Faq | SectionKind::Details => {
            let (question, answer) = FAQ_FORMS.choose(rng).copied().unwrap_or(FAQ_FORMS[0]);
            vec![fill(question, product, rng), fill(answer, product, rng)]
        }
    }
}

/// `chunks` chunks over `products` products, each chunk two or three sentences of one section.
pub fn generate(products: usize, chunks: usize, rng: &mut StdRng) -> Catalogue {
    let made: Vec<Product> = (0..products.max(1)).map(|_| product(rng)).collect();
    let sections =
        [SectionKind::Overview, SectionKind::Usage, SectionKind::Ingredients, SectionKind::Warnings, SectionKind::Faq];
    let mut generated = Vec::with_capacity(chunks);
    for index in 0..chunks {
        let owner = index % made.len();
        let product = &made[owner];
        let section = sections[rng.random_range(0..sections.len())];
        let mut sentences = section_sentences(product, section, rng);
        let keep =
            if section == SectionKind::Faq { sentences.len() } else { rng.random_range(2..=3).min(sentences.len()) };
        sentences.truncate(keep);
        let content = if section == SectionKind::Faq {
            format!(
                "Q: {} A: {}",
                sentences.first().cloned().unwrap_or_default(),
                sentences.get(1).cloned().unwrap_or_default()
            )
        } else {
            sentences.join(" ")
        };
        let label = match section {
            SectionKind::Faq => "FAQ",
            other => other.as_str(),
        };
        generated.push(CatalogueChunk {
            product: owner,
            section,
            embedding_input: format!("{} — {label}: {content}", product.title),
            content,
        });
    }
    Catalogue { titles: made.into_iter().map(|product| product.title).collect(), chunks: generated }
}

/// `count` questions about products of `catalogue`, in customers' words: the product called by
/// its type or its full title, lower case, sometimes without a question mark.
pub fn customer_questions(catalogue: &Catalogue, count: usize, rng: &mut StdRng) -> Vec<String> {
    (0..count)
        .map(|_| {
            let title = catalogue.titles.choose(rng).map(String::as_str).unwrap_or("product");
            let called = if rng.random_bool(0.5) {
                title.to_lowercase()
            } else {
                title.rsplit(' ').next().unwrap_or(title).to_lowercase()
            };
            let category = CATEGORIES.choose(rng).unwrap_or(&CATEGORIES[0]);
            pick(rng, CUSTOMER_QUESTIONS)
                .replace("{product}", &called)
                .replace("{thing}", pick(rng, category.ingredients))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_catalogue_has_the_chunks_asked_for_spread_over_its_products_and_sections() {
        let mut rng = StdRng::seed_from_u64(3);
        let catalogue = generate(40, 400, &mut rng);
        assert_eq!(catalogue.titles.len(), 40);
        assert_eq!(catalogue.chunks.len(), 400);
        let products: HashSet<usize> = catalogue.chunks.iter().map(|chunk| chunk.product).collect();
        assert_eq!(products.len(), 40);
        let sections: HashSet<&str> = catalogue.chunks.iter().map(|chunk| chunk.section.as_str()).collect();
        assert_eq!(sections.len(), 5, "{sections:?}");
        for chunk in &catalogue.chunks {
            assert!(!chunk.content.contains('{'), "an unfilled slot: {}", chunk.content);
            assert!(chunk.embedding_input.starts_with(&catalogue.titles[chunk.product]));
            assert!(chunk.content.len() <= 600, "longer than a chunk: {}", chunk.content);
        }
        // Text varies: most chunks are unique although they share a vocabulary.
        let distinct: HashSet<&str> = catalogue.chunks.iter().map(|chunk| chunk.content.as_str()).collect();
        assert!(distinct.len() > 300, "only {} distinct chunks of 400", distinct.len());
    }

    #[test]
    fn the_same_seed_gives_the_same_catalogue_and_questions() {
        let first = generate(10, 50, &mut StdRng::seed_from_u64(9));
        let second = generate(10, 50, &mut StdRng::seed_from_u64(9));
        let texts = |catalogue: &Catalogue| catalogue.chunks.iter().map(|c| c.content.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&first), texts(&second));
        let questions = customer_questions(&first, 20, &mut StdRng::seed_from_u64(1));
        assert_eq!(questions, customer_questions(&first, 20, &mut StdRng::seed_from_u64(1)));
        assert!(questions.iter().all(|question| !question.contains('{')), "{questions:?}");
    }
}
