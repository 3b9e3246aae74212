//! Fetching merchants' product pages politely and safely, and extracting the product
//! knowledge they contain for chunking and embedding.
//!
//! [`Scraper::scrape`] fetches a page; [`extract`] reads HTML already at hand.
//!
//! # Safety rules
//! A product URL comes from a merchant, so it is treated as hostile until proven otherwise:
//! - Only `http` and `https` URLs without credentials are fetched.
//! - Only public unicast addresses are connected to. Private, loopback, link-local,
//!   carrier-grade NAT, documentation, benchmarking, multicast, broadcast, reserved and
//!   unique-local ranges are refused, as are IPv4 addresses hidden in IPv6 forms (mapped,
//!   compatible, NAT64, 6to4). Names are checked after DNS resolution, inside the HTTP client's
//!   own resolver, so the addresses checked are exactly the ones connected to; literal IP hosts
//!   are checked before the request. If any address of a name is refused, the name is.
//!   `allow_loopback` (tests only) admits 127.0.0.0/8 and `::1`, nothing else.
//!   [`outbound`] applies the same rules to other merchant-supplied URLs (webhook endpoints).
//! - Proxies from the environment are ignored: they would resolve names out of the guard's sight.
//! - Redirects are followed by hand, at most `max_redirects` of them, and every hop is checked
//!   again: scheme, address and the new origin's robots.txt.
//! - Connecting and each whole request (robots.txt and every redirect hop separately) have
//!   timeouts from the settings.
//! - A page is read up to `max_bytes`: a larger declared length is refused before reading, and
//!   a body that keeps coming is cut off the moment it passes the cap. No compression is
//!   negotiated, so what is counted is what is received.
//! - Only `text/html` and `application/xhtml+xml` are read. A response with no content type is
//!   read only if its body opens like an HTML document (a doctype, `<html`, `<head` or `<body`).
//!   Pages are decoded as UTF-8; other charsets lose their non-ASCII characters to replacement
//!   characters.
//!
//! # Politeness
//! robots.txt is read per origin as RFC 9309 says, for the product token of our user agent
//! (`ReceteBot` in `ReceteBot/0.1 (...)`): a 4xx means no rules; a 5xx, a 429 or a failure
//! after a redirect means the whole site is off limits for now (a retryable refusal); an origin
//! that cannot be reached at all fails the scrape with that network error or timeout (also
//! retryable). Up to five redirects are followed and at most 500 KiB is parsed. Policies are cached per origin for 15 minutes (one minute
//! when unreachable), for up to 1024 origins. A `Crawl-delay` is honoured per origin, up to
//! 10 seconds, by spacing our page requests to that origin.

mod client;
mod error;
mod extract;
mod fetch;
pub mod guard;
pub mod outbound;
mod politeness;
mod resolver;
mod robots;
pub mod settings;

pub use client::Scraper;
pub use error::{RobotsRefusal, ScrapeError};
pub use extract::extract;
pub use recete_knowledge::{Section, SectionKind};
pub use settings::ScrapeSettings;

/// What one product page says about its product. Fields the page does not state are `None`;
/// structured data (JSON-LD) wins over OpenGraph and meta tags, which win over page text.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapedProduct {
    /// Where the page was finally served from, after redirects.
    pub url: url::Url,
    pub title: Option<String>,
    pub description: Option<String>,
    pub brand: Option<String>,
    /// The merchant's SKU, else the MPN or GTIN.
    pub sku: Option<String>,
    /// Absolute URL of the main product image.
    pub image: Option<String>,
    /// As the page writes it (`"249.90"`), without currency.
    pub price: Option<String>,
    /// ISO 4217 code as the page writes it.
    pub currency: Option<String>,
    /// The JSON-LD Product node as found, for fields not lifted out above.
    pub json_ld: Option<serde_json::Value>,
    /// The main text split by headings, in page order.
    pub sections: Vec<Section>,
}

impl ScrapedProduct {
    /// The page in the shape the catalogue keeps: image, price and the JSON-LD node go to the
    /// product's attributes, for display, never quoted as a promise.
    pub fn into_facts(self) -> recete_knowledge::products::ScrapedFacts {
        let attributes = serde_json::json!({
            "image": self.image,
            "price": self.price,
            "currency": self.currency,
            "json_ld": self.json_ld,
        });
        recete_knowledge::products::ScrapedFacts {
            final_url: self.url.to_string(),
            title: self.title,
            brand: self.brand,
            sku: self.sku,
            description: self.description,
            sections: self.sections,
            attributes,
        }
    }
}
