//! The schema.org Product a page describes in `<script type="application/ld+json">`.
//!
//! Shop themes and apps write these blocks by hand and often badly, so every block is parsed
//! on its own (a broken one is skipped, not fatal) and field shapes are read leniently.

use std::sync::LazyLock;

use scraper::{Html, Selector};
use serde_json::{Map, Value};
use url::Url;

use super::text::field;

static SCRIPTS: LazyLock<Selector> = LazyLock::new(|| super::selector("script[type]"));

/// How deep into `mainEntity` links we look for the product.
const MAX_NESTING: usize = 8;

/// What the Product node says; every field is optional because every field is, in the wild.
#[derive(Debug, Default)]
pub(super) struct ProductFacts {
    pub name: Option<String>,
    pub description: Option<String>,
    pub brand: Option<String>,
    pub sku: Option<String>,
    pub image: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub node: Option<Value>,
}

/// The first Product (or ProductGroup) found: top-level nodes and `@graph` members of every
/// block first, then nodes reached through `mainEntity`. Products merely mentioned elsewhere
/// (related items, lists, reviews) are not looked at, so they cannot pass for the page's own.
pub(super) fn read(document: &Html, page_url: &Url) -> ProductFacts {
    let blocks: Vec<Value> = document
        .select(&SCRIPTS)
        .filter(|script| script.attr("type").is_some_and(is_json_ld_type))
        .filter_map(|script| parse_block(&script.text().collect::<String>(), page_url))
        .collect();
    let top_level = blocks.iter().find_map(|block| top_level_nodes(block).find(|node| is_product(node)));
    let product = top_level.or_else(|| {
        blocks.iter().find_map(|block| top_level_nodes(block).find_map(|node| product_in_main_entity(node, 0)))
    });
    product.map(|node| facts(node, page_url)).unwrap_or_default()
}

fn is_json_ld_type(declared: &str) -> bool {
    declared.split(';').next().is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/ld+json"))
}

/// Parses one block, forgiving what hand-written blocks commonly get wrong: HTML comment or
/// CDATA wrappers, a trailing semicolon, and raw line breaks or tabs inside strings.
fn parse_block(raw: &str, page_url: &Url) -> Option<Value> {
    let mut text = raw.trim();
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>")] {
        if let Some(inner) = text.strip_prefix(open).and_then(|inner| inner.strip_suffix(close)) {
            text = inner.trim();
        }
    }
    let text = text.trim_end_matches(';');
    let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match serde_json::from_str(&cleaned) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::debug!(%page_url, %error, "skipping a JSON-LD block that is not valid JSON");
            None
        }
    }
}

/// The nodes a block declares at its top: the block itself, the items of a top-level array,
/// and the members of `@graph` in either.
fn top_level_nodes(block: &Value) -> impl Iterator<Item = &Map<String, Value>> {
    let roots: Vec<&Value> = match block {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    roots.into_iter().filter_map(Value::as_object).flat_map(|root| {
        let graph = root.get("@graph").map(as_list).unwrap_or_default();
        std::iter::once(root).chain(graph.into_iter().filter_map(Value::as_object))
    })
}

fn product_in_main_entity(node: &Map<String, Value>, depth: usize) -> Option<&Map<String, Value>> {
    if depth > MAX_NESTING {
        return None;
    }
    let entity = node.get("mainEntity")?;
    as_list(entity).into_iter().filter_map(Value::as_object).find_map(|candidate| {
        if is_product(candidate) { Some(candidate) } else { product_in_main_entity(candidate, depth + 1) }
    })
}

fn is_product(node: &Map<String, Value>) -> bool {
    let Some(declared) = node.get("@type") else { return false };
    as_list(declared).into_iter().filter_map(Value::as_str).any(|type_name| {
        // "Product", "schema:Product" and "https://schema.org/Product" all name the same type.
        let short = type_name.rsplit(['/', ':', '#']).next().unwrap_or(type_name);
        ["Product", "ProductGroup", "IndividualProduct", "ProductModel"]
            .iter()
            .any(|product_type| short.eq_ignore_ascii_case(product_type))
    })
}

fn facts(node: &Map<String, Value>, page_url: &Url) -> ProductFacts {
    let (price, currency) = offer(node.get("offers"), 0)
        .or_else(|| first_variant(node).and_then(|variant| offer(variant.get("offers"), 0)))
        .unwrap_or_default();
    ProductFacts {
        name: node.get("name").and_then(text),
        description: node.get("description").and_then(text),
        // A brand is a string, a Brand or Organization with a name, or a list of those.
        brand: node.get("brand").and_then(text),
        sku: ["sku", "mpn", "gtin", "gtin13", "gtin12", "gtin14", "gtin8", "productID"]
            .iter()
            .find_map(|key| node.get(*key).and_then(text)),
        image: node.get("image").and_then(|image| image_url(image, page_url)),
        price,
        currency,
        node: Some(Value::Object(node.clone())),
    }
}

/// A ProductGroup often carries its offers on its variants only.
fn first_variant(node: &Map<String, Value>) -> Option<&Map<String, Value>> {
    node.get("hasVariant").map(as_list)?.into_iter().find_map(Value::as_object)
}

/// Price and currency from an Offer, an AggregateOffer, a price specification, or the first
/// priced entry of a list of those.
fn offer(offers: Option<&Value>, depth: usize) -> Option<(Option<String>, Option<String>)> {
    if depth > MAX_NESTING {
        return None;
    }
    as_list(offers?).into_iter().filter_map(Value::as_object).find_map(|offer_node| {
        let specification = offer_node.get("priceSpecification").map(as_list).unwrap_or_default();
        let specification = specification.first().and_then(|value| value.as_object());
        let price = ["price", "lowPrice"]
            .iter()
            .find_map(|key| offer_node.get(*key).and_then(text))
            .or_else(|| specification.and_then(|spec| spec.get("price")).and_then(text));
        let currency = offer_node
            .get("priceCurrency")
            .and_then(text)
            .or_else(|| specification.and_then(|spec| spec.get("priceCurrency")).and_then(text));
        match price {
            Some(price) => Some((Some(price), currency)),
            None => offer(offer_node.get("offers"), depth + 1),
        }
    })
}

/// A string, a number, the first usable item of a list, or a `@value`/`name` of an object.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(raw) => field(raw),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(items) => items.iter().find_map(text),
        Value::Object(node) => node.get("@value").or_else(|| node.get("name")).and_then(text),
        Value::Null | Value::Bool(_) => None,
    }
}

/// An image as a URL string, an ImageObject (`url` or `contentUrl`) or a list of those; made
/// absolute against the page, since sites often write relative or protocol-relative paths.
fn image_url(value: &Value, page_url: &Url) -> Option<String> {
    let raw = match value {
        Value::String(raw) => Some(raw.trim().to_owned()),
        Value::Array(items) => return items.iter().find_map(|item| image_url(item, page_url)),
        Value::Object(node) => {
            node.get("url").or_else(|| node.get("contentUrl")).and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    }?;
    absolute_url(&raw, page_url)
}

pub(super) fn absolute_url(raw: &str, page_url: &Url) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    page_url.join(raw).ok().filter(|url| matches!(url.scheme(), "http" | "https")).map(String::from)
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_page(blocks: &[&str]) -> ProductFacts {
        let scripts: String =
            blocks.iter().map(|block| format!(r#"<script type="application/ld+json">{block}</script>"#)).collect();
        let html = format!("<html><head>{scripts}</head><body></body></html>");
        read(&Html::parse_document(&html), &Url::parse("https://shop.example/products/serum").expect("valid"))
    }

    #[test]
    fn a_malformed_block_does_not_hide_a_good_one() {
        let facts = read_page(&[
            r#"{"@context": "https://schema.org", "@type": "Product", "name": "Broken"#,
            r#"{"@type": "Product", "name": "Vitamin C Serum", "sku": "VC-30"}"#,
        ]);
        assert_eq!(facts.name.as_deref(), Some("Vitamin C Serum"));
        assert_eq!(facts.sku.as_deref(), Some("VC-30"));
    }

    #[test]
    fn products_are_found_in_graphs_and_arrays() {
        let graph = read_page(&[r#"{"@context": "https://schema.org", "@graph": [
            {"@type": "WebSite", "name": "Shop"},
            {"@type": ["Product", "Thing"], "name": "Night Cream",
             "brand": {"@type": "Brand", "name": "Lumen"},
             "image": {"@type": "ImageObject", "url": "/cdn/night.jpg"}}
        ]}"#]);
        assert_eq!(graph.name.as_deref(), Some("Night Cream"));
        assert_eq!(graph.brand.as_deref(), Some("Lumen"));
        assert_eq!(graph.image.as_deref(), Some("https://shop.example/cdn/night.jpg"));

        let array = read_page(&[r#"[{"@type": "BreadcrumbList"}, {"@type": "schema:Product", "name": "Toner",
            "image": ["//cdn.example/toner.jpg", "https://cdn.example/other.jpg"], "brand": "Lumen"}]"#]);
        assert_eq!(array.name.as_deref(), Some("Toner"));
        assert_eq!(array.brand.as_deref(), Some("Lumen"));
        assert_eq!(array.image.as_deref(), Some("https://cdn.example/toner.jpg"));
    }

    #[test]
    fn offers_are_read_from_objects_arrays_and_aggregates() {
        let array = read_page(&[r#"{"@type": "Product", "name": "A", "offers": [
            {"@type": "Offer", "availability": "InStock"},
            {"@type": "Offer", "price": 249.9, "priceCurrency": "TRY"},
            {"@type": "Offer", "price": "199.00", "priceCurrency": "EUR"}
        ]}"#]);
        assert_eq!((array.price.as_deref(), array.currency.as_deref()), (Some("249.9"), Some("TRY")));

        let aggregate = read_page(&[r#"{"@type": "Product", "name": "B",
            "offers": {"@type": "AggregateOffer", "lowPrice": "10.50", "priceCurrency": "USD"}}"#]);
        assert_eq!((aggregate.price.as_deref(), aggregate.currency.as_deref()), (Some("10.50"), Some("USD")));

        let specification = read_page(&[r#"{"@type": "Product", "name": "C", "offers": {"@type": "Offer",
            "priceSpecification": {"price": 5, "priceCurrency": "GBP"}}}"#]);
        assert_eq!((specification.price.as_deref(), specification.currency.as_deref()), (Some("5"), Some("GBP")));

        let group = read_page(&[r#"{"@type": "ProductGroup", "name": "D", "hasVariant": [
            {"@type": "Product", "offers": {"price": "12", "priceCurrency": "TRY"}}]}"#]);
        assert_eq!((group.price.as_deref(), group.currency.as_deref()), (Some("12"), Some("TRY")));
    }

    #[test]
    fn sku_falls_back_to_other_identifiers() {
        let facts = read_page(&[r#"{"@type": "Product", "name": "A", "gtin13": "8690000000001"}"#]);
        assert_eq!(facts.sku.as_deref(), Some("8690000000001"));
    }

    #[test]
    fn sloppy_blocks_are_still_read() {
        let facts = read_page(&[
            "<!--\n{\"@type\": \"Product\", \"name\": \"Line\nbreak\", \"description\": \"<p>Soft &amp; light</p>\"};\n-->",
        ]);
        assert_eq!(facts.name.as_deref(), Some("Line break"));
        assert_eq!(facts.description.as_deref(), Some("Soft & light"));
    }

    #[test]
    fn related_products_do_not_pass_for_the_page_product() {
        let facts =
            read_page(&[r#"{"@type": "ItemList", "itemListElement": [{"@type": "Product", "name": "Other"}]}"#]);
        assert!(facts.name.is_none() && facts.node.is_none());

        let main_entity =
            read_page(&[r#"{"@type": "WebPage", "mainEntity": {"@type": "Product", "name": "Main product"}}"#]);
        assert_eq!(main_entity.name.as_deref(), Some("Main product"));
    }

    #[test]
    fn the_product_node_is_kept_as_found() {
        let facts = read_page(&[r#"{"@type": "Product", "name": "A", "color": "amber"}"#]);
        let node = facts.node.expect("product node kept");
        assert_eq!(node["color"], "amber");
    }
}
