//! What a page's `<head>` says about it: OpenGraph and product meta tags, the meta
//! description and the `<title>`.

use std::sync::LazyLock;

use scraper::{Html, Selector};
use url::Url;

use super::json_ld::absolute_url;
use super::text::{element_text, field};

static META: LazyLock<Selector> = LazyLock::new(|| super::selector("meta[content]"));
static TITLE: LazyLock<Selector> = LazyLock::new(|| super::selector("head > title"));

#[derive(Debug, Default)]
pub(super) struct PageMeta {
    pub og_title: Option<String>,
    pub title_tag: Option<String>,
    /// og:description, else the meta description.
    pub description: Option<String>,
    pub image: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
}

pub(super) fn read(document: &Html, page_url: &Url) -> PageMeta {
    let mut og_description = None;
    let mut meta_description = None;
    let mut meta = PageMeta::default();
    for tag in document.select(&META) {
        // OpenGraph wants `property`, but many themes write `name`; both are read.
        let Some(key) = tag.attr("property").or_else(|| tag.attr("name")) else { continue };
        let Some(content) = tag.attr("content") else { continue };
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "og:title" => &mut meta.og_title,
            "og:description" => &mut og_description,
            "description" => &mut meta_description,
            "og:image" | "og:image:url" | "og:image:secure_url" => {
                if meta.image.is_none() {
                    meta.image = absolute_url(content, page_url);
                }
                continue;
            }
            "product:price:amount" | "og:price:amount" => &mut meta.price,
            "product:price:currency" | "og:price:currency" => &mut meta.currency,
            _ => continue,
        };
        if slot.is_none() {
            *slot = field(content);
        }
    }
    meta.description = og_description.or(meta_description);
    meta.title_tag = document.select(&TITLE).next().map(element_text).filter(|title| !title.is_empty());
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_head(head: &str) -> PageMeta {
        let html = format!("<html><head>{head}</head><body><svg><title>icon</title></svg></body></html>");
        read(&Html::parse_document(&html), &Url::parse("https://shop.example/products/a").expect("valid"))
    }

    #[test]
    fn opengraph_and_product_tags_are_read() {
        let meta = read_head(
            r#"<title> Serum | Shop </title>
            <meta property="og:title" content="Vitamin C Serum">
            <meta name="description" content="Plain description">
            <meta property="og:description" content="Bright skin in 4 weeks">
            <meta property="og:image" content="/cdn/serum.jpg">
            <meta property="product:price:amount" content="249.90">
            <meta property="product:price:currency" content="TRY">"#,
        );
        assert_eq!(meta.og_title.as_deref(), Some("Vitamin C Serum"));
        assert_eq!(meta.title_tag.as_deref(), Some("Serum | Shop"));
        assert_eq!(meta.description.as_deref(), Some("Bright skin in 4 weeks"), "og:description wins");
        assert_eq!(meta.image.as_deref(), Some("https://shop.example/cdn/serum.jpg"));
        assert_eq!((meta.price.as_deref(), meta.currency.as_deref()), (Some("249.90"), Some("TRY")));
    }

    #[test]
    fn meta_description_is_the_fallback_and_first_tags_win() {
        let meta = read_head(
            r#"<meta name="description" content="  Plain
            description ">
            <meta name="og:title" content="First"><meta property="og:title" content="Second">"#,
        );
        assert_eq!(meta.description.as_deref(), Some("Plain description"));
        assert_eq!(meta.og_title.as_deref(), Some("First"));
        assert_eq!(meta.title_tag, None, "an svg title in the body is not the page title");
    }
}
