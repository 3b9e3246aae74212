//! Reading the catalogue: products page by page with their chunk counts, one product with its
//! sections and where its scrape and embedding stand, and a product's chunks. Every function
//! runs in the caller's tenant transaction (row-level security); the API's product routes and
//! the console's knowledge pages both read through here.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

use crate::document::Section;

/// Which products a page lists.
#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    /// A LIKE pattern (already escaped) matched in the title, or at the start of the SKU.
    pub pattern: Option<String>,
    /// `none`, `pending`, `done` or `failed`.
    pub scrape_state: Option<String>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// The last product of the previous page (newest first).
    pub before: Option<(DateTime<Utc>, Uuid)>,
}

/// A product in a list.
#[derive(Debug, Clone, FromRow)]
pub struct ProductSummary {
    pub id: Uuid,
    pub sku: Option<String>,
    pub external_id: Option<String>,
    pub title: String,
    pub url: Option<String>,
    pub brand: Option<String>,
    /// `order`, `api`, `scrape` or `csv`.
    pub source: String,
    /// `none`, `pending`, `done` or `failed`.
    pub scrape_state: String,
    pub chunk_count: i64,
    pub embedded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Products, newest first: at most `limit`.
pub async fn list(
    tx: &mut Tx,
    merchant: MerchantId,
    filter: &ProductFilter,
    limit: i64,
) -> sqlx::Result<Vec<ProductSummary>> {
    sqlx::query_as(
        "SELECT p.id, p.sku, p.external_id, p.title, p.url, p.brand, p.source, p.scrape_state,
                (SELECT count(*) FROM knowledge_chunks c WHERE c.product_id = p.id) AS chunk_count,
                p.embedded_at, p.created_at, p.updated_at
         FROM products p
         WHERE p.merchant_id = $1
           AND ($2::text IS NULL OR p.title ILIKE '%' || $2 || '%' OR p.sku ILIKE $2 || '%')
           AND ($3::text IS NULL OR p.scrape_state = $3)
           AND ($4::timestamptz IS NULL OR p.updated_at >= $4)
           AND ($5::timestamptz IS NULL OR p.updated_at < $5)
           AND ($6::timestamptz IS NULL OR (p.created_at, p.id) < ($6, $7))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT $8",
    )
    .bind(merchant)
    .bind(filter.pattern.as_deref())
    .bind(filter.scrape_state.as_deref())
    .bind(filter.updated_from)
    .bind(filter.updated_to)
    .bind(filter.before.map(|(at, _)| at))
    .bind(filter.before.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// One product with its sections and where its scrape and embedding stand.
#[derive(Debug, Clone)]
pub struct ProductDetail {
    pub id: Uuid,
    pub sku: Option<String>,
    pub external_id: Option<String>,
    pub title: String,
    pub url: Option<String>,
    pub brand: Option<String>,
    pub description: Option<String>,
    pub sections: Vec<Section>,
    pub attributes: Value,
    pub source: String,
    pub scrape_state: String,
    pub scrape_error: Option<String>,
    pub scraped_at: Option<DateTime<Utc>>,
    pub chunk_count: i64,
    pub embedded_at: Option<DateTime<Utc>>,
    /// Its text changed and waits to be embedded again.
    pub embedding_pending: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct DetailRow {
    id: Uuid,
    sku: Option<String>,
    external_id: Option<String>,
    title: String,
    url: Option<String>,
    brand: Option<String>,
    description: Option<String>,
    sections: Value,
    attributes: Value,
    source: String,
    scrape_state: String,
    scrape_error: Option<String>,
    scraped_at: Option<DateTime<Utc>>,
    chunk_count: i64,
    embedded_at: Option<DateTime<Utc>>,
    embedding_pending: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The product as `tx` sees it; `None` when there is none (or it is another merchant's).
pub async fn detail(tx: &mut Tx, product_id: Uuid) -> sqlx::Result<Option<ProductDetail>> {
    let row: Option<DetailRow> = sqlx::query_as(
        "SELECT p.id, p.sku, p.external_id, p.title, p.url, p.brand, p.description, p.sections, p.attributes,
                p.source, p.scrape_state, p.scrape_error, p.scraped_at,
                (SELECT count(*) FROM knowledge_chunks c WHERE c.product_id = p.id) AS chunk_count,
                p.embedded_at,
                EXISTS (SELECT 1 FROM scheduled_tasks t
                        WHERE t.merchant_id = p.merchant_id AND t.unique_key = 'embed:' || p.id::text
                          AND t.state IN ('pending', 'running', 'failed')) AS embedding_pending,
                p.created_at, p.updated_at
         FROM products p WHERE p.id = $1",
    )
    .bind(product_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| ProductDetail {
        id: row.id,
        sku: row.sku,
        external_id: row.external_id,
        title: row.title,
        url: row.url,
        brand: row.brand,
        description: row.description,
        sections: serde_json::from_value(row.sections).unwrap_or_default(),
        attributes: row.attributes,
        source: row.source,
        scrape_state: row.scrape_state,
        scrape_error: row.scrape_error,
        scraped_at: row.scraped_at,
        chunk_count: row.chunk_count,
        embedded_at: row.embedded_at,
        embedding_pending: row.embedding_pending,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }))
}

/// A stored chunk of a product's text, and the section it came from.
#[derive(Debug, Clone, FromRow)]
pub struct StoredChunk {
    pub id: Uuid,
    /// The section's kind (`description`, `usage`, `ingredients`, `warnings`, `faq`, ...).
    pub section: String,
    pub position: i32,
    pub content: String,
    pub model: String,
    pub updated_at: DateTime<Utc>,
}

/// A product's chunks in section and reading order.
pub async fn chunks(tx: &mut Tx, product_id: Uuid) -> sqlx::Result<Vec<StoredChunk>> {
    sqlx::query_as(
        "SELECT id, section, position, content, model, updated_at FROM knowledge_chunks
         WHERE product_id = $1 ORDER BY section, position, id",
    )
    .bind(product_id)
    .fetch_all(&mut **tx)
    .await
}
