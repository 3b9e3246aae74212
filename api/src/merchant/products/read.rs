//! `GET /api/products` and `GET /api/products/{product_id}`: the catalogue page by page, and one
//! product with its sections and the state of its scrape and embedding, read through
//! [`recete_knowledge::catalogue`].

use axum::Json;
use chrono::{DateTime, Utc};
use recete_knowledge::SectionKind;
use recete_knowledge::catalogue;
use recete_platform::db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::super::pagination::{self, ListQuery, Listed, Page, PageParams};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::tenant_tx::TenantTx;

const MAX_QUERY: usize = 200;

/// Where a product's text first came from.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSource {
    /// An order's line items named it.
    Order,
    Api,
    Scrape,
    Csv,
}

/// Where the product page's fetch stands.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScrapeState {
    /// Never asked for.
    None,
    Pending,
    Done,
    /// Failed for good; `scrape_error` says why.
    Failed,
}

impl ProductSource {
    /// The column's check constraint admits only these; anything else reads as `api`.
    fn parse(value: &str) -> Self {
        match value {
            "order" => Self::Order,
            "scrape" => Self::Scrape,
            "csv" => Self::Csv,
            _ => Self::Api,
        }
    }
}

impl ScrapeState {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// The column's check constraint admits only these; anything else reads as `none`.
    fn parse(value: &str) -> Self {
        match value {
            "pending" => Self::Pending,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => Self::None,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Text in the title, or the start of the SKU; case does not matter.
    #[param(min_length = 1, max_length = 200)]
    q: Option<String>,
    scrape_state: Option<ScrapeState>,
    /// Changed at or after this time (RFC 3339).
    updated_from: Option<DateTime<Utc>>,
    /// Changed before this time (RFC 3339).
    updated_to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductSummary {
    id: Uuid,
    sku: Option<String>,
    external_id: Option<String>,
    title: String,
    url: Option<String>,
    brand: Option<String>,
    source: ProductSource,
    scrape_state: ScrapeState,
    /// How many searchable pieces of its text the agent can quote.
    chunk_count: i64,
    /// When the chunks last matched the product's text.
    embedded_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<catalogue::ProductSummary> for ProductSummary {
    fn from(row: catalogue::ProductSummary) -> Self {
        Self {
            id: row.id,
            sku: row.sku,
            external_id: row.external_id,
            title: row.title,
            url: row.url,
            brand: row.brand,
            source: ProductSource::parse(&row.source),
            scrape_state: ScrapeState::parse(&row.scrape_state),
            chunk_count: row.chunk_count,
            embedded_at: row.embedded_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Listed for ProductSummary {
    const KEY: &'static str = "products";
    const LIST: &'static str = "ProductList";
}

pub type ProductList = Page<ProductSummary>;

/// Products, newest first.
#[utoipa::path(
    get,
    path = "/api/products",
    tag = "products",
    params(PageParams, ProductQuery),
    responses((status = 200, description = "One page of products.", body = ProductList))
)]
pub async fn list(
    merchant: Merchant,
    mut tenant: TenantTx,
    ListQuery { page, filter: query }: ListQuery<ProductQuery>,
) -> Result<Json<ProductList>, ApiError> {
    pagination::check_range(("updated_from", query.updated_from), ("updated_to", query.updated_to))?;
    let pattern = query.q.as_deref().map(search_pattern).transpose()?;
    let tx = tenant.begin().await?;
    let filter = catalogue::ProductFilter {
        pattern,
        scrape_state: query.scrape_state.map(|state| state.as_str().to_owned()),
        updated_from: query.updated_from,
        updated_to: query.updated_to,
        before: page.after,
    };
    let products = catalogue::list(tx, merchant.merchant_id, &filter, page.fetch_limit()).await?;
    let products = products.into_iter().map(ProductSummary::from).collect();
    Ok(Json(page.page(products, |last| (last.created_at, last.id))))
}

/// `q` as a LIKE pattern matching itself literally: `%`, `_` and `\` lose their meaning.
fn search_pattern(q: &str) -> Result<String, ApiError> {
    let q = q.trim();
    if q.is_empty() || q.chars().count() > MAX_QUERY || q.contains('\0') {
        return Err(ApiError::InvalidField {
            field: "q".into(),
            detail: format!("must be 1 to {MAX_QUERY} characters of text"),
        });
    }
    Ok(q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// One part of the product's text.
#[derive(Serialize, ToSchema)]
#[schema(as = ProductSection)]
pub struct SectionView {
    kind: SectionKind,
    heading: Option<String>,
    text: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductDetail {
    id: Uuid,
    sku: Option<String>,
    external_id: Option<String>,
    title: String,
    url: Option<String>,
    brand: Option<String>,
    description: Option<String>,
    sections: Vec<SectionView>,
    /// Facts from the product page kept for display (image, price, currency), never quoted
    /// to customers as a promise.
    #[schema(value_type = Object)]
    attributes: Value,
    source: ProductSource,
    scrape_state: ScrapeState,
    /// Why the last scrape failed for good.
    scrape_error: Option<String>,
    scraped_at: Option<DateTime<Utc>>,
    /// How many searchable pieces of its text the agent can quote.
    chunk_count: i64,
    /// When the chunks last matched the product's text.
    embedded_at: Option<DateTime<Utc>>,
    /// Whether its text changed and is waiting to be embedded again.
    embedding_pending: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// One product with its sections and where its scrape and embedding stand.
#[utoipa::path(
    get,
    path = "/api/products/{product_id}",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product.")),
    responses((status = 200, description = "The product.", body = ProductDetail))
)]
pub async fn show(mut tenant: TenantTx, Path(product_id): Path<Uuid>) -> Result<Json<ProductDetail>, ApiError> {
    let tx = tenant.begin().await?;
    let product = detail(tx, product_id).await?;
    Ok(Json(product))
}

/// The product as `tx` sees it, or a 404.
pub(super) async fn detail(tx: &mut db::Tx, product_id: Uuid) -> Result<ProductDetail, ApiError> {
    let row = catalogue::detail(tx, product_id).await?;
    let Some(row) = row else {
        return Err(ApiError::NotFound(format!("no product {product_id}")));
    };
    Ok(ProductDetail {
        id: row.id,
        sku: row.sku,
        external_id: row.external_id,
        title: row.title,
        url: row.url,
        brand: row.brand,
        description: row.description,
        sections: row
            .sections
            .into_iter()
            .map(|section| SectionView { kind: section.kind, heading: section.heading, text: section.text })
            .collect(),
        attributes: row.attributes,
        source: ProductSource::parse(&row.source),
        scrape_state: ScrapeState::parse(&row.scrape_state),
        scrape_error: row.scrape_error,
        scraped_at: row.scraped_at,
        chunk_count: row.chunk_count,
        embedded_at: row.embedded_at,
        embedding_pending: row.embedding_pending,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(search_pattern(" 100%_C\\ ").ok(), Some("100\\%\\_C\\\\".to_owned()));
        assert!(search_pattern("   ").is_err());
        assert!(search_pattern(&"a".repeat(201)).is_err());
    }
}
