//! The demo merchant: made once and kept in the demo file (mode 0600, ignored by git) with its
//! API key and the secrets of its Shopify and WhatsApp integrations, so every later run finds it
//! again. The merchant is made the way `recete merchant create` makes one; its integrations and
//! settings go through the merchant API like a merchant's own.

use std::path::Path;

use anyhow::Context;
use recete_config::Settings;
use recete_shared::merchants;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::DemoClient;
use crate::commands::admin;

pub const MERCHANT_NAME: &str = "Recete Demo Store";
pub const TIMEZONE: &str = "Europe/Istanbul";
/// The shop the demo's Shopify webhooks come from.
pub const SHOP_DOMAIN: &str = "recete-demo.myshopify.com";
/// A delivery reported up to four days late still plans follow-ups, so the demo order, delivered
/// three days and an hour ago, has its first step (three days after delivery) due at once.
pub const STALE_DELIVERY_HOURS: u32 = 96;

/// What the demo file holds.
#[derive(Serialize, Deserialize)]
pub struct DemoShop {
    pub merchant: MerchantKey,
    #[serde(default)]
    pub shopify: Option<Integration>,
    #[serde(default)]
    pub whatsapp: Option<Integration>,
}

#[derive(Serialize, Deserialize)]
pub struct MerchantKey {
    pub merchant_id: Uuid,
    pub api_key: String,
}

/// An integration and the secret that signs its webhooks (Shopify's app secret, Meta's app
/// secret).
#[derive(Serialize, Deserialize)]
pub struct Integration {
    pub integration_id: Uuid,
    pub secret: String,
    pub webhook_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
}

impl std::fmt::Debug for DemoShop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and secrets stay out of any debug output.
        f.debug_struct("DemoShop").field("merchant_id", &self.merchant.merchant_id).finish_non_exhaustive()
    }
}

impl DemoShop {
    pub fn shopify(&self) -> anyhow::Result<&Integration> {
        self.shopify.as_ref().context("the demo shop has no Shopify integration")
    }

    pub fn whatsapp(&self) -> anyhow::Result<&Integration> {
        self.whatsapp.as_ref().context("the demo shop has no WhatsApp integration")
    }

    pub fn phone_number_id(&self) -> anyhow::Result<&str> {
        self.whatsapp()?.phone_number_id.as_deref().context("the demo file names no WhatsApp phone_number_id")
    }
}

/// The demo merchant of `file`, made (with what it lacks) when the file is missing or names a
/// merchant this database does not know. Creates nothing that is already there.
pub async fn ensure(settings: &Settings, client: &DemoClient, file: &Path) -> anyhow::Result<DemoShop> {
    let mut shop = match load(file)? {
        Some(shop) if known(client, &shop).await? => shop,
        stale => {
            if stale.is_some() {
                tracing::warn!(file = %file.display(), "the demo file names a merchant this database does not know; making a new one");
            }
            let pool = admin::connect(settings).await?;
            let created = merchants::create(&pool, MERCHANT_NAME, TIMEZONE).await?;
            pool.close().await;
            let shop = DemoShop {
                merchant: MerchantKey { merchant_id: created.merchant_id.as_uuid(), api_key: created.api_key },
                shopify: None,
                whatsapp: None,
            };
            save(file, &shop)?;
            shop
        }
    };
    let key = shop.merchant.api_key.clone();
    if shop.shopify.is_none() {
        let secret = new_secret();
        let body = json!({ "kind": "shopify", "secret": secret, "shop_domain": SHOP_DOMAIN });
        let created = client.expect(&key, Method::POST, "/api/integrations", Some(&body), StatusCode::CREATED).await?;
        shop.shopify = Some(integration(&created, secret, None)?);
        save(file, &shop)?;
    }
    if shop.whatsapp.is_none() {
        let secret = new_secret();
        let phone_number_id = phone_number_id(shop.merchant.merchant_id);
        let body = json!({ "kind": "whatsapp", "secret": secret, "phone_number_id": phone_number_id });
        let created = client.expect(&key, Method::POST, "/api/integrations", Some(&body), StatusCode::CREATED).await?;
        shop.whatsapp = Some(integration(&created, secret, Some(phone_number_id))?);
        save(file, &shop)?;
    }
    settle(client, &key).await?;
    Ok(shop)
}

/// The demo's settings: no quiet hours (the story shows at any hour of the day) and late
/// delivery reports still planned (see [`STALE_DELIVERY_HOURS`]). Changed only when they differ,
/// so a second run writes nothing.
async fn settle(client: &DemoClient, key: &str) -> anyhow::Result<()> {
    let current = client.expect(key, Method::GET, "/api/settings", None, StatusCode::OK).await?;
    let wanted = json!({
        "quiet_hours": { "start": "00:00", "end": "00:00" },
        "stale_delivery_hours": STALE_DELIVERY_HOURS,
    });
    if current["quiet_hours"] == wanted["quiet_hours"] && current["stale_delivery_hours"] == STALE_DELIVERY_HOURS {
        return Ok(());
    }
    client.expect(key, Method::PATCH, "/api/settings", Some(&wanted), StatusCode::OK).await?;
    Ok(())
}

/// Whether the API knows the file's key (a file left from another database does not).
async fn known(client: &DemoClient, shop: &DemoShop) -> anyhow::Result<bool> {
    let (status, body) = client.call(&shop.merchant.api_key, Method::GET, "/api/settings", None).await?;
    match status {
        StatusCode::OK => Ok(true),
        StatusCode::UNAUTHORIZED => Ok(false),
        other => anyhow::bail!("GET /api/settings with the demo key answered {other}: {body}"),
    }
}

fn integration(created: &Value, secret: String, phone_number_id: Option<String>) -> anyhow::Result<Integration> {
    let integration = &created["integration"];
    Ok(Integration {
        integration_id: integration["id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .context("POST /api/integrations answered no integration id")?,
        secret,
        webhook_path: integration["webhook_path"]
            .as_str()
            .context("POST /api/integrations answered no webhook_path")?
            .to_owned(),
        phone_number_id,
        verify_token: created["verify_token"].as_str().map(str::to_owned),
    })
}

/// A signing secret as a store or Meta would hand out: 32 random hex characters.
fn new_secret() -> String {
    Uuid::new_v4().simple().to_string()
}

/// Meta's phone number ids are long digit strings, one per number across all merchants; the demo
/// merchant's is made from its id, so two demo merchants in one database never share one.
fn phone_number_id(merchant: Uuid) -> String {
    format!("1{:014}", merchant.as_u128() % 100_000_000_000_000)
}

fn load(file: &Path) -> anyhow::Result<Option<DemoShop>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) if text.trim().is_empty() => return Ok(None),
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read the demo file {}", file.display())),
    };
    let shop = serde_json::from_str(&text).with_context(|| {
        format!("the demo file {} is not what `recete all --demo` writes; delete it to start afresh", file.display())
    })?;
    Ok(Some(shop))
}

/// Writes the file readable by its owner only: it holds an API key and webhook secrets.
fn save(file: &Path, shop: &DemoShop) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(shop)? + "\n";
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut handle = options.open(file).with_context(|| format!("cannot write the demo file {}", file.display()))?;
    std::io::Write::write_all(&mut handle, text.as_bytes())
        .with_context(|| format!("cannot write the demo file {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_number_ids_are_fifteen_digits() {
        for id in [Uuid::nil(), Uuid::max(), Uuid::new_v4()] {
            let number = phone_number_id(id);
            assert_eq!(number.len(), 15, "{number}");
            assert!(number.bytes().all(|b| b.is_ascii_digit()), "{number}");
        }
    }

    #[test]
    fn a_file_written_by_the_earlier_demo_script_is_read() {
        let text = r#"{"merchant": {"merchant_id": "0190a7f4-5c1e-7000-8000-000000000001", "api_key": "rk_live_x"},
                       "shopify": {"integration_id": "0190a7f4-5c1e-7000-8000-000000000002", "kind": "shopify",
                                   "secret": "s", "webhook_path": "/webhooks/commerce/shopify/x", "webhook_url": "u"}}"#;
        let shop: DemoShop = serde_json::from_str(text).expect("read");
        assert_eq!(shop.shopify.map(|s| s.secret).as_deref(), Some("s"));
        assert!(shop.whatsapp.is_none(), "made on the next run");
    }
}
