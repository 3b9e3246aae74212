//! Product knowledge from a page's HTML, without any network: structured data first (JSON-LD),
//! then OpenGraph and meta tags, then the visible text split into sections.

mod json_ld;
mod meta;
mod sections;
mod text;

use recete_knowledge::{Section, SectionKind};
use scraper::{Html, Selector};
use url::Url;

use crate::ScrapedProduct;

/// Reads everything we know how to read from `html`. Never fails: a page with nothing usable
/// gives a product with no fields and no sections. `page_url` makes relative image links
/// absolute and becomes the product's URL.
pub fn extract(html: &str, page_url: &Url) -> ScrapedProduct {
    let document = Html::parse_document(html);
    let product = json_ld::read(&document, page_url);
    let meta = meta::read(&document, page_url);
    let page_text = sections::read(&document);

    // Structured data is what the merchant's platform states about the product; it wins over
    // social-sharing tags, which win over what the page happens to display.
    let description = product.description.or(meta.description);
    let mut sections = page_text.sections;
    if let Some(description) = &description
        && !sections.iter().any(|section| section.kind == SectionKind::Overview)
    {
        sections.insert(0, Section { kind: SectionKind::Overview, heading: None, text: description.clone() });
    }
    ScrapedProduct {
        url: page_url.clone(),
        title: product.name.or(meta.og_title).or(page_text.page_heading).or(meta.title_tag),
        description,
        brand: product.brand,
        sku: product.sku,
        image: product.image.or(meta.image),
        price: product.price.or(meta.price),
        currency: product.currency.or(meta.currency),
        json_ld: product.node,
        sections,
    }
}

/// Parses a selector written in this crate; a typo in one is a bug the tests catch at once.
fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("selectors written in this crate are valid CSS")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("https://shop.example/products/serum").expect("valid")
    }

    #[test]
    fn json_ld_wins_over_meta_and_meta_over_the_page() {
        let html = r#"<html><head><title>Serum | Shop</title>
            <meta property="og:title" content="OG title"><meta property="og:description" content="OG description">
            <meta property="og:image" content="https://cdn.example/og.jpg">
            <meta property="product:price:amount" content="1.00"><meta property="product:price:currency" content="USD">
            <script type="application/ld+json">{"@type": "Product", "name": "JSON-LD name",
              "description": "JSON-LD description", "offers": {"price": "249.90", "priceCurrency": "TRY"}}</script>
            </head><body><h1>Heading name</h1><h2>How to use</h2><p>Twice daily.</p></body></html>"#;
        let product = extract(html, &page_url());
        assert_eq!(product.title.as_deref(), Some("JSON-LD name"));
        assert_eq!(product.description.as_deref(), Some("JSON-LD description"));
        assert_eq!(product.image.as_deref(), Some("https://cdn.example/og.jpg"), "meta fills what JSON-LD lacks");
        assert_eq!((product.price.as_deref(), product.currency.as_deref()), (Some("249.90"), Some("TRY")));
        assert_eq!(
            product.sections[0],
            Section { kind: SectionKind::Overview, heading: None, text: "JSON-LD description".into() }
        );
        assert_eq!(product.sections[1].kind, SectionKind::Usage);
    }

    #[test]
    fn the_description_does_not_replace_an_overview_the_page_has() {
        let html = r#"<html><head><meta name="description" content="Short blurb"></head>
            <body><p>The page's own overview.</p></body></html>"#;
        let product = extract(html, &page_url());
        assert_eq!(product.description.as_deref(), Some("Short blurb"));
        assert_eq!(product.sections.len(), 1);
        assert_eq!(product.sections[0].text, "The page's own overview.");
    }

    #[test]
    fn titles_fall_back_from_heading_to_title_tag() {
        let with_heading =
            extract("<html><head><title>Tag</title></head><body><h1>Heading</h1></body></html>", &page_url());
        assert_eq!(with_heading.title.as_deref(), Some("Heading"));
        let tag_only = extract("<html><head><title>Tag</title></head><body></body></html>", &page_url());
        assert_eq!(tag_only.title.as_deref(), Some("Tag"));
    }

    #[test]
    fn an_empty_page_gives_an_empty_product() {
        let product = extract("", &page_url());
        assert_eq!(product.url, page_url());
        assert!(product.title.is_none() && product.json_ld.is_none() && product.sections.is_empty());
    }
}
