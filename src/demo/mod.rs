//! `recete all --demo FILE`: the first ten minutes. The fleet starts as usual; once it answers
//! readiness, a demo merchant is made (once, kept in FILE) and a whole story is told through the
//! product's real paths (see [`story`]), then the closing words say where to look.
//!
//! Development only: the demo store's product pages are served by the API itself
//! (`/demo/products/...`, see `recete_api::demo_pages`), and scraping them needs
//! `scrape.allow_loopback`, which `--demo` turns on for its own process.
//!
//! # Layout
//! - [`shop`]: the demo merchant, its integrations and settings, and the demo file.
//! - [`story`]: products, the delivered order, the answered question, the hand-over.
//! - [`client`]: the merchant API and signed webhooks over HTTP.
//! - [`report`]: the closing words, with the sign-in step.
//! - [`owner`]: the demo owner of the console and their one-time sign-in link.

pub mod client;
pub mod owner;
pub mod report;
pub mod shop;
pub mod story;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use recete_config::{Environment, Settings};

use crate::fleet;
use client::DemoClient;

/// How long the demo waits for the fleet to answer readiness.
const READY_WAIT: Duration = Duration::from_secs(60);

/// The demo merchant and what its story left behind.
#[derive(Debug)]
pub struct Seeded {
    pub shop: shop::DemoShop,
    pub told: story::Told,
    pub file: PathBuf,
    /// A one-time link that signs the demo owner in to the console (a new one each run).
    pub sign_in_link: String,
}

/// Makes the demo merchant (unless `file` names one this database knows) and tells the story on
/// the API at `base_url`, whose workers must be running. Safe to repeat: a second run finds
/// everything in place and adds nothing.
pub async fn seed(settings: &Settings, base_url: &str, file: &Path) -> anyhow::Result<Seeded> {
    let client = DemoClient::new(base_url)?;
    let shop = shop::ensure(settings, &client, file).await?;
    let told = story::tell(&client, &shop).await?;
    let sign_in_link = owner::sign_in_link(settings, shop.merchant.merchant_id).await?;
    Ok(Seeded { shop, told, file: file.to_owned(), sign_in_link })
}

/// `recete all --demo FILE`: the API and every worker pool, and the demo story once they are
/// ready. A story that cannot be told is reported; the fleet keeps running.
pub async fn run_all(mut settings: Settings, listen: Option<SocketAddr>, file: PathBuf) -> anyhow::Result<()> {
    let environment = match settings.app.environment {
        Environment::Development => "development",
        Environment::Test => "test",
        Environment::Production => "production",
    };
    if environment != "development" {
        bail!(
            "--demo serves the demo store's pages on the API's own address and needs app.environment = \
             \"development\"; this one is \"{environment}\" (nothing was started)"
        );
    }
    let address = listen.unwrap_or(settings.api.listen);
    if address.port() == 0 {
        bail!("--demo needs the API on a known port; api.listen (or --listen) says port 0");
    }
    if !settings.scrape.allow_loopback {
        tracing::info!("demo: scrape.allow_loopback is on in this process, to scrape the demo store's pages");
        settings.scrape.allow_loopback = true;
    }
    let base_url = local_base_url(address);
    let demo_settings = settings.clone();
    tokio::spawn(async move {
        match seed_when_ready(&demo_settings, &base_url, &file).await {
            Ok(seeded) => println!("{}", report::closing_words(&demo_settings, &base_url, &seeded)),
            Err(error) => tracing::error!(error.cause_chain = ?error, "demo: the story could not be told"),
        }
    });
    fleet::run(&settings, fleet::Roles::all(listen)).await
}

async fn seed_when_ready(settings: &Settings, base_url: &str, file: &Path) -> anyhow::Result<Seeded> {
    let client = DemoClient::new(base_url)?;
    let deadline = Instant::now() + READY_WAIT;
    while !client.ready().await {
        if Instant::now() > deadline {
            bail!("{base_url}/readyz did not answer 200 within {} s", READY_WAIT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tracing::info!(file = %file.display(), "demo: the fleet is ready; telling the demo story");
    seed(settings, base_url, file).await
}

/// The API's address as this machine reaches it: a wildcard listener is reached on loopback.
fn local_base_url(address: SocketAddr) -> String {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_reached_on_loopback() {
        let parse = |text: &str| text.parse::<SocketAddr>().expect("address");
        assert_eq!(local_base_url(parse("0.0.0.0:8080")), "http://127.0.0.1:8080");
        assert_eq!(local_base_url(parse("[::]:9000")), "http://[::1]:9000");
        assert_eq!(local_base_url(parse("127.0.0.1:8080")), "http://127.0.0.1:8080");
    }
}
