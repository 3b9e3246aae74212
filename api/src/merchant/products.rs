//! The merchant's catalogue: products created from their own text (`POST /api/products`) or
//! from product pages fetched for them (`POST /api/products/scrape`), read (`read`), edited and
//! deleted (`edit`). Every change to a product's text schedules the embedding that makes it
//! answerable.

mod edit;
mod read;

use axum::Json;
use axum::http::StatusCode;
use recete_knowledge::products::{self, ProductInput, Source};
use recete_knowledge::{Section, SectionKind};
use recete_shared::tasks;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::json_body::JsonBody;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The product routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, read::list)).routes(routes!(scrape)).routes(routes!(
        read::show,
        edit::update,
        edit::delete
    ))
}

const MAX_TITLE: usize = 300;
const MAX_TEXT: usize = 20_000;
/// SKUs, external ids, brands and headings: names, not text.
const MAX_NAME: usize = 255;
const MAX_URL: usize = 2048;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// With `external_id`, what identifies the product: sending it again updates it. One of
    /// the two is required.
    #[schema(max_length = 255)]
    sku: Option<String>,
    #[schema(max_length = 255)]
    external_id: Option<String>,
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    title: String,
    /// The product page; blank means none.
    #[schema(max_length = 2048, pattern = r"^(\s*|[hH][tT][tT][pP][sS]?://[^\s\x00-\x1F\x7F-\x9F]+)$")]
    url: Option<String>,
    #[schema(max_length = 255)]
    brand: Option<String>,
    #[schema(max_length = 20000)]
    description: Option<String>,
    #[schema(max_length = 20000)]
    usage: Option<String>,
    #[schema(max_length = 20000)]
    ingredients: Option<String>,
    #[schema(max_length = 20000)]
    warnings: Option<String>,
    #[serde(default)]
    faq: Vec<FaqEntry>,
    /// Further sections under the merchant's own headings.
    #[serde(default)]
    sections: Vec<NewSection>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    #[schema(min_length = 1, pattern = r"\S")]
    question: String,
    #[schema(min_length = 1, pattern = r"\S")]
    answer: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSection {
    kind: SectionKind,
    #[schema(max_length = 255)]
    heading: Option<String>,
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    text: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductSaved {
    id: Uuid,
    created: bool,
    /// Whether the product's text changed, so its knowledge is being embedded again.
    embedding_scheduled: bool,
}

/// Creates a product, or updates the one with the same `sku` or `external_id`.
#[utoipa::path(
    post,
    path = "/api/products",
    tag = "products",
    request_body = NewProduct,
    responses(
        (status = 201, description = "Created; its knowledge is being embedded.", body = ProductSaved),
        (status = 200, description = "An existing product updated.", body = ProductSaved),
        (status = 409, description = "The `sku` and `external_id` given belong to two different products.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(body): JsonBody<NewProduct>,
) -> Result<(StatusCode, Json<ProductSaved>), ApiError> {
    let input = validate(body)?;
    let tx = tenant.begin().await?;
    let saved = products::upsert(tx, merchant.merchant_id, &input, Source::Api).await.map_err(identifier_taken)?;
    if saved.knowledge_changed {
        tasks::schedule_embedding(tx, merchant.merchant_id, saved.id).await?;
    }
    let status = if saved.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(ProductSaved { id: saved.id, created: saved.created, embedding_scheduled: saved.knowledge_changed }),
    ))
}

fn validate(body: NewProduct) -> Result<ProductInput, ApiError> {
    check_sent_lengths(&body)?;
    let title = checked_title(&body.title)?;
    let sku = checked_name("sku", body.sku)?;
    let external_id = checked_name("external_id", body.external_id)?;
    if sku.is_none() && external_id.is_none() {
        return Err(invalid("sku", "give a sku or an external_id, so sending the product again updates it"));
    }
    let url = non_empty(body.url);
    if let Some(url) = &url {
        check_url(url).map_err(|detail| invalid("url", &detail))?;
    }
    let mut sections = Vec::new();
    for (field, kind, text) in [
        ("usage", SectionKind::Usage, body.usage),
        ("ingredients", SectionKind::Ingredients, body.ingredients),
        ("warnings", SectionKind::Warnings, body.warnings),
    ] {
        if let Some(text) = non_empty(text) {
            check_length(field, &text)?;
            sections.push(Section { kind, heading: None, text });
        }
    }
    if !body.faq.is_empty() {
        sections.push(faq_section(&body.faq)?);
    }
    for (index, section) in body.sections.into_iter().enumerate() {
        sections.push(own_section(index, section)?);
    }
    let description = non_empty(body.description);
    if let Some(description) = &description {
        check_length("description", description)?;
    }
    let brand = checked_name("brand", body.brand)?;
    Ok(ProductInput { sku, external_id, title, url, brand, description, sections })
}

/// The documented limits hold for the text as sent, before it is trimmed: a value one character
/// too long is refused even when that character is a space.
fn check_sent_lengths(body: &NewProduct) -> Result<(), ApiError> {
    let fields = [
        ("sku", body.sku.as_deref(), MAX_NAME),
        ("external_id", body.external_id.as_deref(), MAX_NAME),
        ("title", Some(body.title.as_str()), MAX_TITLE),
        ("url", body.url.as_deref(), MAX_URL),
        ("brand", body.brand.as_deref(), MAX_NAME),
        ("description", body.description.as_deref(), MAX_TEXT),
        ("usage", body.usage.as_deref(), MAX_TEXT),
        ("ingredients", body.ingredients.as_deref(), MAX_TEXT),
        ("warnings", body.warnings.as_deref(), MAX_TEXT),
    ];
    for (field, value, max) in fields {
        if value.is_some_and(|value| value.chars().count() > max) {
            return Err(invalid(field, &format!("must be at most {max} characters")));
        }
    }
    Ok(())
}

fn invalid(field: &str, detail: &str) -> ApiError {
    ApiError::InvalidField { field: field.into(), detail: detail.into() }
}

fn checked_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE || title.contains('\0') {
        return Err(invalid("title", &format!("must be 1 to {MAX_TITLE} characters of text")));
    }
    Ok(title.to_owned())
}

/// A SKU, external id or brand: trimmed, blank meaning none, at most [`MAX_NAME`] characters.
fn checked_name(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let value = non_empty(value);
    if value.as_ref().is_some_and(|value| value.chars().count() > MAX_NAME || value.contains('\0')) {
        return Err(invalid(field, &format!("must be at most {MAX_NAME} characters of text")));
    }
    Ok(value)
}

/// The FAQ as one section of `Q: ... A: ...` lines, as the chunker expects it.
fn faq_section(entries: &[FaqEntry]) -> Result<Section, ApiError> {
    let mut text = String::new();
    for (index, entry) in entries.iter().enumerate() {
        let (question, answer) = (entry.question.trim(), entry.answer.trim());
        if question.is_empty() || answer.is_empty() {
            return Err(invalid(&format!("faq[{index}]"), "question and answer must not be empty"));
        }
        text.push_str(&format!("Q: {question} A: {answer}\n"));
    }
    check_length("faq", &text)?;
    Ok(Section { kind: SectionKind::Faq, heading: None, text })
}

/// One of `sections[]`, under the merchant's own heading.
fn own_section(index: usize, section: NewSection) -> Result<Section, ApiError> {
    let field = format!("sections[{index}].text");
    let text = section.text.trim().to_owned();
    if text.is_empty() {
        return Err(invalid(&field, "must not be empty"));
    }
    check_length(&field, &text)?;
    let heading = checked_name(&format!("sections[{index}].heading"), section.heading)?;
    Ok(Section { kind: section.kind, heading, text })
}

/// Another product of the merchant already has this SKU or external id: a 409 naming it.
fn identifier_taken(error: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(database) = &error {
        match database.constraint() {
            Some("products_merchant_id_sku_key") => {
                return ApiError::Conflict("another product already has this sku".into());
            }
            Some("products_merchant_id_external_id_key") => {
                return ApiError::Conflict("another product already has this external_id".into());
            }
            _ => {}
        }
    }
    ApiError::from(error)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Text the database can hold (PostgreSQL refuses NUL characters) within [`MAX_TEXT`].
fn check_length(field: &str, text: &str) -> Result<(), ApiError> {
    if text.contains('\0') {
        return Err(invalid(field, "must not contain NUL characters"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::InvalidField {
            field: field.into(),
            detail: format!("must be at most {MAX_TEXT} characters"),
        });
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    match products::url_problem(url) {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrapeRequest {
    #[schema(max_length = 2048, pattern = r"^[hH][tT][tT][pP][sS]?://[^\s\x00-\x1F\x7F-\x9F]+$")]
    url: String,
    /// The product to fill in; by default the product with this URL, created if none has it.
    product_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ScrapeScheduled {
    product_id: Uuid,
    task_id: Uuid,
    /// Always `queued`.
    status: &'static str,
}

/// Fetches a product page and fills in (or creates) the product from it, in the background.
#[utoipa::path(
    post,
    path = "/api/products/scrape",
    tag = "products",
    request_body = ScrapeRequest,
    responses((status = 202, description = "The page will be fetched.", body = ScrapeScheduled))
)]
pub async fn scrape(
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(body): JsonBody<ScrapeRequest>,
) -> Result<(StatusCode, Json<ScrapeScheduled>), ApiError> {
    let url = body.url.trim().to_owned();
    check_url(&url).map_err(|detail| ApiError::InvalidField { field: "url".into(), detail })?;
    let tx = tenant.begin().await?;
    let (product_id, task_id) = products::request_scrape(tx, merchant.merchant_id, &url, body.product_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no product {}", body.product_id.unwrap_or_default())))?;
    Ok((StatusCode::ACCEPTED, Json(ScrapeScheduled { product_id, task_id: task_id.as_uuid(), status: "queued" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(sku: &str) -> NewProduct {
        serde_json::from_value(serde_json::json!({ "title": "Serum", "sku": sku })).expect("a product body")
    }

    #[test]
    fn a_value_longer_than_documented_is_refused_even_when_trimming_would_shorten_it() {
        let padded = format!("\n{}", "m".repeat(MAX_NAME));
        let refused = validate(product(&padded)).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(refused.contains("sku"), "{refused}");
        let exact = validate(product(&"m".repeat(MAX_NAME))).ok().and_then(|input| input.sku);
        assert_eq!(exact.map(|sku| sku.len()), Some(MAX_NAME));
    }
}
