//! The catalogue side of knowledge: products created or updated by the merchant API and by
//! scrapes, and the document each product's chunks are cut from.

use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use serde_json::{Value, json};
use sqlx::FromRow;
use uuid::Uuid;

use crate::document::{ProductDocument, Section, SectionKind};

/// Where a product's text came from (`products.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Scrape,
    Csv,
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Scrape => "scrape",
            Self::Csv => "csv",
        }
    }
}

/// A product as the merchant describes it. `sku` (or `external_id`) identifies it: sending the
/// same SKU again updates that product.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductInput {
    pub sku: Option<String>,
    pub external_id: Option<String>,
    pub title: String,
    pub url: Option<String>,
    pub brand: Option<String>,
    pub description: Option<String>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upserted {
    pub id: Uuid,
    pub created: bool,
    /// Whether anything the chunks are cut from changed.
    pub knowledge_changed: bool,
    /// Whether the row was written at all; a product sent again unchanged is left as it is,
    /// `updated_at` included.
    pub changed: bool,
}

#[derive(FromRow)]
struct KnowledgeRow {
    id: Uuid,
    title: String,
    brand: Option<String>,
    description: Option<String>,
    sections: Value,
    url: Option<String>,
    sku: Option<String>,
    external_id: Option<String>,
}

/// Creates the product, or updates the one with the same SKU or external id.
pub async fn upsert(tx: &mut Tx, merchant: MerchantId, input: &ProductInput, source: Source) -> sqlx::Result<Upserted> {
    let sections = serde_json::to_value(&input.sections).unwrap_or_else(|_| json!([]));
    let existing: Option<KnowledgeRow> = sqlx::query_as(
        "SELECT id, title, brand, description, sections, url, sku, external_id FROM products
         WHERE merchant_id = $1 AND ((external_id = $2) OR (sku = $3))
         ORDER BY (external_id = $2) IS TRUE DESC LIMIT 1 FOR UPDATE",
    )
    .bind(merchant)
    .bind(&input.external_id)
    .bind(&input.sku)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = existing {
        let knowledge_changed = row.title != input.title
            || row.brand != input.brand
            || row.description != input.description
            || row.sections != sections;
        let kept = |new: &Option<String>, stored: &Option<String>| new.is_none() || new == stored;
        if !knowledge_changed
            && kept(&input.url, &row.url)
            && kept(&input.sku, &row.sku)
            && kept(&input.external_id, &row.external_id)
        {
            return Ok(Upserted { id: row.id, created: false, knowledge_changed: false, changed: false });
        }
        sqlx::query(
            "UPDATE products SET title = $2, url = coalesce($3, url), brand = $4, description = $5, sections = $6,
                 sku = coalesce($7, sku), external_id = coalesce($8, external_id)
             WHERE id = $1",
        )
        .bind(row.id)
        .bind(&input.title)
        .bind(&input.url)
        .bind(&input.brand)
        .bind(&input.description)
        .bind(&sections)
        .bind(&input.sku)
        .bind(&input.external_id)
        .execute(&mut **tx)
        .await?;
        return Ok(Upserted { id: row.id, created: false, knowledge_changed, changed: true });
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO products (id, merchant_id, sku, external_id, title, url, brand, description, sections, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(merchant)
    .bind(&input.sku)
    .bind(&input.external_id)
    .bind(&input.title)
    .bind(&input.url)
    .bind(&input.brand)
    .bind(&input.description)
    .bind(&sections)
    .bind(source.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(Upserted { id, created: true, knowledge_changed: true, changed: true })
}

/// The product with this page URL, or a new one to be titled by the scrape (its placeholder
/// title `(untitled)` is replaced by the page's own).
pub async fn find_or_create_for_url(tx: &mut Tx, merchant: MerchantId, urls: &[&str]) -> sqlx::Result<Uuid> {
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM products WHERE url = ANY($1) ORDER BY created_at LIMIT 1")
            .bind(urls)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO products (id, merchant_id, title, url, source) VALUES ($1, $2, '(untitled)', $3, 'scrape')",
    )
    .bind(id)
    .bind(merchant)
    .bind(urls.first().copied())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Locks product `id` for an edit and reads the fields an edit may change. `None` when the
/// transaction cannot see it.
pub async fn lock_for_edit(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<ProductInput>> {
    let row: Option<KnowledgeRow> = sqlx::query_as(
        "SELECT id, title, brand, description, sections, url, sku, external_id FROM products WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| ProductInput {
        sku: row.sku,
        external_id: row.external_id,
        title: row.title,
        url: row.url,
        brand: row.brand,
        description: row.description,
        sections: serde_json::from_value(row.sections).unwrap_or_default(),
    }))
}

/// Writes `after` over the product locked and read as `before`: unlike [`upsert`], a `None`
/// clears the URL, SKU or external id. `knowledge_changed` says whether the chunks must be
/// embedded again, judged as [`upsert`] judges it.
pub async fn replace(tx: &mut Tx, id: Uuid, before: &ProductInput, after: &ProductInput) -> sqlx::Result<Upserted> {
    let knowledge_changed = before.title != after.title
        || before.brand != after.brand
        || before.description != after.description
        || before.sections != after.sections;
    if before == after {
        return Ok(Upserted { id, created: false, knowledge_changed: false, changed: false });
    }
    let sections = serde_json::to_value(&after.sections).unwrap_or_else(|_| json!([]));
    sqlx::query(
        "UPDATE products SET title = $2, url = $3, brand = $4, description = $5, sections = $6, sku = $7, external_id = $8
         WHERE id = $1",
    )
    .bind(id)
    .bind(&after.title)
    .bind(&after.url)
    .bind(&after.brand)
    .bind(&after.description)
    .bind(&sections)
    .bind(&after.sku)
    .bind(&after.external_id)
    .execute(&mut **tx)
    .await?;
    Ok(Upserted { id, created: false, knowledge_changed, changed: true })
}

/// Writes `after` over `before` as [`replace`] does, schedules the product's embedding when its
/// text changed, and records `product.updated` by `actor` with the changed fields: how the API's
/// PATCH and the console's section edits save a product.
pub async fn save_edit(
    tx: &mut Tx,
    merchant: MerchantId,
    id: Uuid,
    before: &ProductInput,
    after: &ProductInput,
    actor: &str,
) -> sqlx::Result<Upserted> {
    let saved = replace(tx, id, before, after).await?;
    if saved.knowledge_changed {
        recete_shared::tasks::schedule_embedding(tx, merchant, id).await?;
    }
    if saved.changed {
        recete_shared::audit::record(
            tx,
            recete_shared::audit::AuditEntry {
                merchant_id: Some(merchant),
                actor,
                action: "product.updated",
                subject_type: "product",
                subject_id: id.to_string(),
                event_id: None,
                before: None,
                after: Some(json!({
                    "fields": changed_fields(before, after),
                    "embedding_scheduled": saved.knowledge_changed,
                })),
            },
        )
        .await?;
    }
    Ok(saved)
}

/// The fields `after` changes, by their API names.
pub fn changed_fields(before: &ProductInput, after: &ProductInput) -> Vec<&'static str> {
    [
        ("title", before.title != after.title),
        ("sku", before.sku != after.sku),
        ("external_id", before.external_id != after.external_id),
        ("url", before.url != after.url),
        ("brand", before.brand != after.brand),
        ("description", before.description != after.description),
        ("sections", before.sections != after.sections),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect()
}

/// Replaces the section of `kind` with `text` (its heading kept), or removes it when `text` is
/// empty; other sections stay as they are.
pub fn with_section(before: &ProductInput, kind: SectionKind, text: &str) -> ProductInput {
    let mut after = before.clone();
    let text = text.trim();
    let heading = before.sections.iter().find(|section| section.kind == kind).and_then(|s| s.heading.clone());
    after.sections.retain(|section| section.kind != kind);
    if !text.is_empty() {
        after.sections.push(Section { kind, heading, text: text.to_owned() });
    }
    after
}

/// Why `url` cannot be a product page to fetch, or `None` when it can.
pub fn url_problem(url: &str) -> Option<&'static str> {
    let lower = url.to_ascii_lowercase();
    let bad = !(lower.starts_with("http://") || lower.starts_with("https://"))
        || url.chars().count() > 2048
        || url.contains(|c: char| c.is_whitespace() || c.is_control());
    bad.then_some("must be an http or https URL of at most 2048 characters")
}

/// Queues a fetch of `url` to fill in `product` (by default the product with this URL, created
/// if none has it) and marks its scrape pending. `None` when `product` is not the merchant's.
pub async fn request_scrape(
    tx: &mut Tx,
    merchant: MerchantId,
    url: &str,
    product: Option<Uuid>,
) -> sqlx::Result<Option<(Uuid, recete_platform::ids::TaskId)>> {
    let product_id = match product {
        Some(id) => {
            let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
            if !known {
                return Ok(None);
            }
            id
        }
        None => find_or_create_for_url(tx, merchant, &[url]).await?,
    };
    sqlx::query("UPDATE products SET scrape_state = 'pending' WHERE id = $1")
        .bind(product_id)
        .execute(&mut **tx)
        .await?;
    let task_id = recete_shared::tasks::schedule_scrape(tx, merchant, product_id, url).await?;
    Ok(Some((product_id, task_id)))
}

/// A deleted product, as the audit trail remembers it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Deleted {
    pub title: String,
    pub sku: Option<String>,
    pub external_id: Option<String>,
}

/// Deletes product `id`. Its chunks go with it; order lines keep their own title and SKU and
/// lose only the link; a scrape or embedding still waiting for it is cancelled. `None` when the
/// transaction cannot see it.
pub async fn delete(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<Deleted>> {
    let deleted: Option<Deleted> =
        sqlx::query_as("DELETE FROM products WHERE id = $1 RETURNING title, sku, external_id")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    if deleted.is_some() {
        sqlx::query(
            "UPDATE scheduled_tasks
             SET state = 'cancelled', cancel_reason = $2, status_reason = $2, finished_at = now()
             WHERE unique_key = ANY($1) AND state IN ('pending', 'failed')",
        )
        .bind([format!("scrape:{id}"), format!("embed:{id}")])
        .bind("the product was deleted")
        .execute(&mut **tx)
        .await?;
    }
    Ok(deleted)
}

/// What a scrape found, in the shape the catalogue keeps.
#[derive(Debug, Clone, Default)]
pub struct ScrapedFacts {
    pub final_url: String,
    pub title: Option<String>,
    pub brand: Option<String>,
    pub sku: Option<String>,
    pub description: Option<String>,
    pub sections: Vec<Section>,
    /// Image, price, currency and the JSON-LD product node, kept for display, never quoted as
    /// a promise.
    pub attributes: Value,
}

/// Stores a successful scrape. The page's sections replace the stored ones; a title or brand the
/// merchant set is kept, and only filled in when missing.
pub async fn apply_scrape(tx: &mut Tx, product_id: Uuid, facts: &ScrapedFacts) -> sqlx::Result<()> {
    let sections = serde_json::to_value(&facts.sections).unwrap_or_else(|_| json!([]));
    sqlx::query(
        "UPDATE products SET
             title = CASE WHEN title = '(untitled)' OR title = '' THEN coalesce($2, title) ELSE title END,
             brand = coalesce(brand, $3),
             sku = coalesce(sku, $4),
             description = coalesce($5, description),
             sections = CASE WHEN jsonb_array_length($6) > 0 THEN $6 ELSE sections END,
             attributes = attributes || $7,
             url = $8,
             scrape_state = 'done', scraped_at = now(), scrape_error = NULL
         WHERE id = $1",
    )
    .bind(product_id)
    .bind(&facts.title)
    .bind(&facts.brand)
    .bind(&facts.sku)
    .bind(&facts.description)
    .bind(&sections)
    .bind(if facts.attributes.is_object() { facts.attributes.clone() } else { json!({}) })
    .bind(&facts.final_url)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records why a scrape failed for good (robots.txt, not HTML, a forbidden address...).
pub async fn record_scrape_failure(tx: &mut Tx, product_id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE products SET scrape_state = 'failed', scrape_error = $2 WHERE id = $1")
        .bind(product_id)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The product's document: its sections, with the description as the overview when no section
/// gives one. `None` when the product no longer exists.
pub async fn load_document(tx: &mut Tx, product_id: Uuid) -> sqlx::Result<Option<ProductDocument>> {
    let row: Option<(String, Option<String>, Option<String>, Value)> =
        sqlx::query_as("SELECT title, brand, description, sections FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(title, brand, description, sections)| document_of(title, brand, description, &sections)))
}

fn document_of(title: String, brand: Option<String>, description: Option<String>, sections: &Value) -> ProductDocument {
    let mut sections: Vec<Section> = serde_json::from_value(sections.clone()).unwrap_or_default();
    sections.retain(|section| !section.text.trim().is_empty());
    if let Some(description) = description.filter(|d| !d.trim().is_empty())
        && !sections.iter().any(|section| section.kind == SectionKind::Overview)
    {
        sections.insert(0, Section { kind: SectionKind::Overview, heading: None, text: description });
    }
    ProductDocument { title, brand, sections }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_becomes_the_overview_only_when_none_is_given() {
        let usage = json!([{ "kind": "usage", "text": "Two drops." }]);
        let document = document_of("Serum".into(), None, Some("A light serum.".into()), &usage);
        assert_eq!(document.sections.len(), 2);
        assert_eq!(document.sections[0].kind, SectionKind::Overview);
        assert_eq!(document.sections[0].text, "A light serum.");

        let with_overview = json!([{ "kind": "overview", "text": "From the page." }]);
        let document = document_of("Serum".into(), None, Some("A light serum.".into()), &with_overview);
        assert_eq!(document.sections.len(), 1);
        assert_eq!(document.sections[0].text, "From the page.");
    }
}
