//! robots.txt as RFC 9309 reads it: fetched once per origin through the same guarded client,
//! matched for our product token, cached for a while.

mod cache;

use std::time::Duration;

use reqwest::Client;
use texting_robots::Robot;
use url::Url;

use crate::error::RobotsRefusal;
use crate::{ScrapeError, fetch, guard};

pub(crate) use cache::RobotsCache;

/// RFC 9309 asks crawlers to parse at least 500 KiB; anything past that is ignored.
const MAX_ROBOTS_BYTES: usize = 500 * 1024;
/// RFC 9309 asks crawlers to follow at least five redirects for robots.txt.
const MAX_ROBOTS_REDIRECTS: usize = 5;
/// A crawl-delay above this is honoured only up to this: a worker should not sit idle for
/// minutes because a site asked for it.
const MAX_HONOURED_CRAWL_DELAY: Duration = Duration::from_secs(10);

/// What one origin's robots.txt lets us do.
#[derive(Debug)]
pub(crate) enum RobotsPolicy {
    /// No usable robots.txt (4xx, too many redirects, unparseable): everything may be fetched.
    AllowAll,
    Rules(Robot),
    /// 5xx, 429, or a failure past a redirect: nothing on the origin may be fetched until
    /// robots.txt can be read.
    Unreachable(String),
}

impl RobotsPolicy {
    pub(crate) fn check(&self, url: &Url) -> Result<(), ScrapeError> {
        let refuse = |reason| Err(ScrapeError::RobotsDisallowed { url: url.to_string(), reason });
        match self {
            Self::AllowAll => Ok(()),
            Self::Rules(robot) if robot.allowed(url.as_str()) => Ok(()),
            Self::Rules(_) => refuse(RobotsRefusal::Disallowed),
            Self::Unreachable(detail) => refuse(RobotsRefusal::Unreachable(detail.clone())),
        }
    }

    /// The pause the site asks for between our requests, capped at [`MAX_HONOURED_CRAWL_DELAY`].
    pub(crate) fn crawl_delay(&self) -> Option<Duration> {
        let Self::Rules(robot) = self else { return None };
        let seconds = robot.delay?;
        Duration::try_from_secs_f32(seconds).ok().map(|delay| delay.min(MAX_HONOURED_CRAWL_DELAY))
    }

    fn parse(agent: &str, body: &[u8], robots_url: &Url) -> Self {
        match Robot::new(agent, body) {
            Ok(robot) => Self::Rules(robot),
            Err(error) => {
                tracing::warn!(%robots_url, %error, "robots.txt could not be parsed; treating it as absent");
                Self::AllowAll
            }
        }
    }
}

/// Fetches and reads the robots.txt of `page`'s origin for the product token `agent`.
///
/// Failing to reach the origin at all (forbidden address, network error, timeout) is returned
/// as that error, since the page cannot be fetched either; every other outcome becomes the
/// policy RFC 9309 prescribes for it.
pub(crate) async fn fetch_policy(
    client: &Client,
    page: &Url,
    agent: &str,
    allow_loopback: bool,
) -> Result<RobotsPolicy, ScrapeError> {
    let mut robots_url = page
        .join("/robots.txt")
        .map_err(|error| ScrapeError::InvalidUrl(format!("{page} has no robots.txt: {error}")))?;
    for hop in 0..=MAX_ROBOTS_REDIRECTS {
        let attempt = match guard::check_literal_host(&robots_url, allow_loopback) {
            Ok(()) => fetch::get(client, &robots_url, "text/plain").await,
            Err(error) => Err(error),
        };
        let response = match attempt {
            Ok(response) => response,
            // The origin itself is refused or unreachable: the page would fail the same way,
            // and saying so names the problem better than a robots refusal would.
            Err(error @ (ScrapeError::ForbiddenAddress { .. } | ScrapeError::Network(_) | ScrapeError::Timeout))
                if hop == 0 =>
            {
                return Err(error);
            }
            Err(error) => return Ok(RobotsPolicy::Unreachable(format!("fetching {robots_url} failed: {error}"))),
        };
        match fetch::redirect_target(&response, &robots_url) {
            Ok(Some(next)) if matches!(next.scheme(), "http" | "https") => {
                robots_url = next;
                continue;
            }
            Ok(Some(next)) => return Ok(RobotsPolicy::Unreachable(format!("{robots_url} redirects to {next}"))),
            Ok(None) => {}
            Err(error) => return Ok(RobotsPolicy::Unreachable(error.to_string())),
        }
        let status = response.status();
        if status.is_success() {
            return Ok(match fetch::read_capped(response, &robots_url, MAX_ROBOTS_BYTES).await {
                Ok(body) => RobotsPolicy::parse(agent, &body.bytes, &robots_url),
                Err(error) => RobotsPolicy::Unreachable(format!("reading {robots_url} failed: {error}")),
            });
        }
        if status.is_client_error() && status.as_u16() != 429 {
            return Ok(RobotsPolicy::AllowAll);
        }
        return Ok(RobotsPolicy::Unreachable(format!("{robots_url} answered HTTP {}", status.as_u16())));
    }
    tracing::debug!(%page, "robots.txt redirects more than {MAX_ROBOTS_REDIRECTS} times; treating it as absent");
    Ok(RobotsPolicy::AllowAll)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> RobotsPolicy {
        RobotsPolicy::parse(
            "ReceteBot",
            text.as_bytes(),
            &Url::parse("https://shop.example/robots.txt").expect("valid"),
        )
    }

    fn allowed(policy: &RobotsPolicy, url: &str) -> bool {
        policy.check(&Url::parse(url).expect("valid")).is_ok()
    }

    #[test]
    fn our_group_wins_over_the_catch_all() {
        let policy = rules("User-agent: *\nDisallow: /\n\nUser-agent: ReceteBot\nDisallow: /private\n");
        assert!(allowed(&policy, "https://shop.example/products/serum"));
        assert!(!allowed(&policy, "https://shop.example/private/list"));
    }

    #[test]
    fn refusals_say_whether_they_may_pass() {
        let url = Url::parse("https://shop.example/p").expect("valid");
        let disallowed = rules("User-agent: *\nDisallow: /p\n").check(&url).expect_err("path is disallowed");
        assert!(!disallowed.is_retryable());
        let unreachable = RobotsPolicy::Unreachable("HTTP 503".into()).check(&url).expect_err("site is off limits");
        assert!(unreachable.is_retryable());
        assert!(RobotsPolicy::AllowAll.check(&url).is_ok());
    }

    #[test]
    fn crawl_delay_is_read_and_capped() {
        assert_eq!(rules("User-agent: *\nCrawl-delay: 2\n").crawl_delay(), Some(Duration::from_secs(2)));
        assert_eq!(rules("User-agent: *\nCrawl-delay: 3600\n").crawl_delay(), Some(MAX_HONOURED_CRAWL_DELAY));
        assert_eq!(rules("User-agent: *\nDisallow:\n").crawl_delay(), None);
    }
}
