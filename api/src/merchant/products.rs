//! `POST /api/products` and `POST /api/products/scrape`: the merchant's own product text, and
//! product pages fetched for them. Both schedule the embedding that makes the text answerable.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use recete_knowledge::products::{self, ProductInput, Source};
use recete_knowledge::{Section, SectionKind};
use recete_shared::db;
use recete_shared::tasks;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::json_body::JsonBody;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::state::AppState;

const MAX_TITLE: usize = 300;
const MAX_TEXT: usize = 20_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    sku: Option<String>,
    external_id: Option<String>,
    title: String,
    url: Option<String>,
    brand: Option<String>,
    description: Option<String>,
    usage: Option<String>,
    ingredients: Option<String>,
    warnings: Option<String>,
    #[serde(default)]
    faq: Vec<FaqEntry>,
    /// Further sections under the merchant's own headings.
    #[serde(default)]
    sections: Vec<NewSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    question: String,
    answer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSection {
    kind: SectionKind,
    heading: Option<String>,
    text: String,
}

#[derive(Serialize)]
pub struct ProductSaved {
    id: Uuid,
    created: bool,
    /// Whether the product's text changed, so its knowledge is being embedded again.
    embedding_scheduled: bool,
}

pub async fn create(
    State(state): State<AppState>,
    merchant: Merchant,
    JsonBody(body): JsonBody<NewProduct>,
) -> Result<(StatusCode, Json<ProductSaved>), ApiError> {
    let input = validate(body)?;
    let mut tx = db::tenant_tx(&state.pool, merchant.merchant_id).await.map_err(ApiError::from_database)?;
    let saved =
        products::upsert(&mut tx, merchant.merchant_id, &input, Source::Api).await.map_err(ApiError::from_database)?;
    if saved.knowledge_changed {
        tasks::schedule_embedding(&mut tx, merchant.merchant_id, saved.id).await.map_err(ApiError::from_database)?;
    }
    tx.commit().await.map_err(ApiError::from_database)?;
    let status = if saved.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(ProductSaved { id: saved.id, created: saved.created, embedding_scheduled: saved.knowledge_changed }),
    ))
}

fn validate(body: NewProduct) -> Result<ProductInput, ApiError> {
    let invalid = |field: &str, detail: &str| ApiError::InvalidField { field: field.into(), detail: detail.into() };
    let title = body.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(invalid("title", &format!("must be 1 to {MAX_TITLE} characters")));
    }
    let sku = non_empty(body.sku);
    let external_id = non_empty(body.external_id);
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
        let mut text = String::new();
        for (index, entry) in body.faq.iter().enumerate() {
            let (question, answer) = (entry.question.trim(), entry.answer.trim());
            if question.is_empty() || answer.is_empty() {
                return Err(invalid(&format!("faq[{index}]"), "question and answer must not be empty"));
            }
            text.push_str(&format!("Q: {question} A: {answer}\n"));
        }
        check_length("faq", &text)?;
        sections.push(Section { kind: SectionKind::Faq, heading: None, text });
    }
    for (index, section) in body.sections.into_iter().enumerate() {
        let field = format!("sections[{index}].text");
        let text = section.text.trim().to_owned();
        if text.is_empty() {
            return Err(invalid(&field, "must not be empty"));
        }
        check_length(&field, &text)?;
        sections.push(Section { kind: section.kind, heading: non_empty(section.heading), text });
    }
    let description = non_empty(body.description);
    if let Some(description) = &description {
        check_length("description", description)?;
    }
    Ok(ProductInput { sku, external_id, title, url, brand: non_empty(body.brand), description, sections })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn check_length(field: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::InvalidField {
            field: field.into(),
            detail: format!("must be at most {MAX_TEXT} characters"),
        });
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://"))
        || url.len() > 2048
        || url.contains(char::is_whitespace)
    {
        return Err("must be an http or https URL of at most 2048 characters".into());
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeRequest {
    url: String,
    /// The product to fill in; by default the product with this URL, created if none has it.
    product_id: Option<Uuid>,
}

#[derive(Serialize)]
pub struct ScrapeScheduled {
    product_id: Uuid,
    task_id: Uuid,
    status: &'static str,
}

pub async fn scrape(
    State(state): State<AppState>,
    merchant: Merchant,
    JsonBody(body): JsonBody<ScrapeRequest>,
) -> Result<(StatusCode, Json<ScrapeScheduled>), ApiError> {
    let url = body.url.trim().to_owned();
    check_url(&url).map_err(|detail| ApiError::InvalidField { field: "url".into(), detail })?;
    let mut tx = db::tenant_tx(&state.pool, merchant.merchant_id).await.map_err(ApiError::from_database)?;
    let product_id = match body.product_id {
        Some(id) => {
            let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(ApiError::from_database)?;
            if !known {
                return Err(ApiError::NotFound(format!("no product {id}")));
            }
            id
        }
        None => products::find_or_create_for_url(&mut tx, merchant.merchant_id, &[&url])
            .await
            .map_err(ApiError::from_database)?,
    };
    sqlx::query("UPDATE products SET scrape_state = 'pending' WHERE id = $1")
        .bind(product_id)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::from_database)?;
    let task_id = tasks::schedule_scrape(&mut tx, merchant.merchant_id, product_id, &url)
        .await
        .map_err(ApiError::from_database)?;
    tx.commit().await.map_err(ApiError::from_database)?;
    Ok((StatusCode::ACCEPTED, Json(ScrapeScheduled { product_id, task_id: task_id.as_uuid(), status: "queued" })))
}
