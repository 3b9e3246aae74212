//! The fetching half: one shared client whose every connection goes through the address guard,
//! with redirects, robots.txt and size limits handled hop by hop.

use std::sync::Arc;
use std::time::Duration;

use crate::settings::ScrapeSettings;
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use url::Url;

use crate::fetch::{self, DeclaredType};
use crate::politeness::CrawlGate;
use crate::resolver::GuardedResolver;
use crate::robots::{self, RobotsCache, RobotsPolicy};
use crate::{ScrapeError, ScrapedProduct, extract, guard};

/// Origins whose robots.txt (and crawl-delay slot) we remember at once.
const ORIGINS_REMEMBERED: usize = 1024;
/// How long a robots.txt we could read stays trusted.
const ROBOTS_FRESH_FOR: Duration = Duration::from_secs(15 * 60);
/// How long an unreadable robots.txt keeps a site off limits before we ask again.
const ROBOTS_UNREACHABLE_FOR: Duration = Duration::from_secs(60);
const PAGE_ACCEPT: &str = "text/html,application/xhtml+xml;q=0.9";

/// Fetches product pages politely and safely. Cheap to clone: clones share one connection pool,
/// one robots.txt cache and one crawl-delay schedule.
#[derive(Clone)]
pub struct Scraper {
    shared: Arc<Shared>,
}

struct Shared {
    client: Client,
    /// The product token of the user agent ("ReceteBot"), which robots.txt groups name.
    robots_agent: String,
    max_bytes: usize,
    max_redirects: usize,
    allow_loopback: bool,
    robots: RobotsCache,
    crawl_gate: CrawlGate,
}

impl Scraper {
    pub fn new(settings: &ScrapeSettings) -> Result<Self, ScrapeError> {
        let robots_agent = product_token(&settings.user_agent)?;
        if settings.max_bytes == 0 {
            return Err(ScrapeError::InvalidSettings("max_bytes must be above zero".into()));
        }
        if settings.connect_timeout_ms == 0 || settings.request_timeout_ms == 0 {
            return Err(ScrapeError::InvalidSettings(
                "connect_timeout_ms and request_timeout_ms must be above zero".into(),
            ));
        }
        let connect_timeout = Duration::from_millis(settings.connect_timeout_ms);
        let resolver = GuardedResolver { allow_loopback: settings.allow_loopback, lookup_timeout: connect_timeout };
        let client = Client::builder()
            .user_agent(settings.user_agent.as_str())
            .connect_timeout(connect_timeout)
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            // Every hop is vetted here before it is followed.
            .redirect(Policy::none())
            // A proxy would resolve names itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            // Bytes are capped as received; decompression would let a small body become a huge one.
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .referer(false)
            .build()
            .map_err(|error| ScrapeError::InvalidSettings(format!("HTTP client cannot be built: {error}")))?;
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                robots_agent,
                max_bytes: settings.max_bytes,
                max_redirects: settings.max_redirects,
                allow_loopback: settings.allow_loopback,
                robots: RobotsCache::new(ORIGINS_REMEMBERED, ROBOTS_FRESH_FOR, ROBOTS_UNREACHABLE_FOR),
                crawl_gate: CrawlGate::new(ORIGINS_REMEMBERED),
            }),
        })
    }

    /// Fetches `url` and extracts its product knowledge. The returned product's URL is the one
    /// the page was finally served from, after redirects.
    pub async fn scrape(&self, url: &str) -> Result<ScrapedProduct, ScrapeError> {
        let requested = page_url(url)?;
        let (page_url, response) = self.follow_redirects(requested).await?;
        let html = self.read_html(response, &page_url).await?;
        tracing::debug!(%page_url, bytes = html.len(), "page fetched");
        let extracting = tokio::task::spawn_blocking(move || extract(&html, &page_url));
        match extracting.await {
            Ok(product) => Ok(product),
            Err(failure) => match failure.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(cancelled) => Err(ScrapeError::Network(format!("extraction was cancelled: {cancelled}"))),
            },
        }
    }

    /// Requests `url`, following redirects ourselves so each hop gets the scheme check, the
    /// address guard and its origin's robots.txt before any byte is sent to it.
    async fn follow_redirects(&self, requested: Url) -> Result<(Url, Response), ScrapeError> {
        let shared = &*self.shared;
        let mut current = requested.clone();
        let mut redirects = 0;
        loop {
            guard::check_literal_host(&current, shared.allow_loopback)?;
            let policy = self.robots_policy(&current).await?;
            policy.check(&current)?;
            if let Some(delay) = policy.crawl_delay() {
                shared.crawl_gate.wait_turn(&origin_key(&current), delay).await;
            }
            let response = fetch::get(&shared.client, &current, PAGE_ACCEPT).await?;
            let Some(next) = fetch::redirect_target(&response, &current)? else {
                return Ok((current, response));
            };
            redirects += 1;
            if redirects > shared.max_redirects {
                return Err(ScrapeError::TooManyRedirects { url: requested.to_string(), limit: shared.max_redirects });
            }
            tracing::debug!(from = %current, to = %next, "following redirect");
            current = page_url(next.as_str())
                .map_err(|error| ScrapeError::InvalidUrl(format!("{current} redirects to {next}: {error}")))?;
        }
    }

    async fn robots_policy(&self, url: &Url) -> Result<Arc<RobotsPolicy>, ScrapeError> {
        let shared = &*self.shared;
        let origin = origin_key(url);
        if let Some(policy) = shared.robots.get(&origin) {
            return Ok(policy);
        }
        let policy =
            Arc::new(robots::fetch_policy(&shared.client, url, &shared.robots_agent, shared.allow_loopback).await?);
        shared.robots.insert(origin, Arc::clone(&policy));
        Ok(policy)
    }

    /// Checks status and content type, then reads the body under the byte cap.
    async fn read_html(&self, response: Response, page_url: &Url) -> Result<String, ScrapeError> {
        let status = response.status();
        if !status.is_success() {
            return Err(ScrapeError::HttpStatus { status: status.as_u16() });
        }
        let declared = fetch::declared_type(&response);
        if let DeclaredType::Other(content_type) = declared {
            return Err(ScrapeError::NotHtml { content_type });
        }
        let limit = self.shared.max_bytes;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(ScrapeError::TooLarge { limit });
        }
        let body = fetch::read_capped(response, page_url, limit).await?;
        if body.truncated {
            return Err(ScrapeError::TooLarge { limit });
        }
        if declared == DeclaredType::Missing && !fetch::looks_like_html(&body.bytes) {
            return Err(ScrapeError::NotHtml { content_type: "(none declared, and the body is not HTML)".into() });
        }
        Ok(fetch::decode_html(body.bytes))
    }
}

/// Parses a page URL and refuses what we never fetch: other schemes, hostless URLs, and URLs
/// carrying credentials (a product page needs none, and they would be sent to every hop).
fn page_url(raw: &str) -> Result<Url, ScrapeError> {
    let url = Url::parse(raw.trim()).map_err(|error| ScrapeError::InvalidUrl(format!("`{raw}`: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ScrapeError::InvalidUrl(format!("`{raw}`: only http and https pages are fetched")));
    }
    if url.host().is_none() {
        return Err(ScrapeError::InvalidUrl(format!("`{raw}` has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ScrapeError::InvalidUrl(format!("`{raw}` carries credentials")));
    }
    Ok(url)
}

fn origin_key(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The product token robots.txt groups are matched against: the user agent up to its first
/// `/` or space, made only of the letters, `_` and `-` RFC 9309 allows.
fn product_token(user_agent: &str) -> Result<String, ScrapeError> {
    let token = user_agent.trim().split(['/', ' ']).next().unwrap_or_default();
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-') {
        return Err(ScrapeError::InvalidSettings(format!(
            "user agent `{user_agent}` must start with a product token of letters, `_` and `-` (like `ReceteBot/1.0`)"
        )));
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_token_is_the_user_agent_name() {
        assert_eq!(product_token("ReceteBot/0.1 (+https://recete.dev/bot)").ok().as_deref(), Some("ReceteBot"));
        assert_eq!(product_token("Recete-Bot").ok().as_deref(), Some("Recete-Bot"));
        assert!(matches!(product_token(""), Err(ScrapeError::InvalidSettings(_))));
        assert!(matches!(product_token("Bot2000/1"), Err(ScrapeError::InvalidSettings(_))));
    }

    #[test]
    fn only_plain_http_pages_are_accepted() {
        assert!(page_url("https://shop.example/products/serum").is_ok());
        assert!(page_url(" http://shop.example/p ").is_ok());
        for refused in ["ftp://shop.example/p", "file:///etc/passwd", "not a url", "https://user:pw@shop.example/p"] {
            assert!(matches!(page_url(refused), Err(ScrapeError::InvalidUrl(_))), "{refused}");
        }
    }
}
