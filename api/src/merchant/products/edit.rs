//! `PATCH /api/products/{product_id}` and `DELETE /api/products/{product_id}`.
//!
//! A PATCH body has JSON merge-patch meaning: a field left out is unchanged, `null` clears it
//! (where a product can be without it), a value replaces it. `usage`, `ingredients`, `warnings`
//! and `faq` replace the sections of their kind; `sections` replaces all of them at once (and is
//! applied first when sent with them).

use axum::Json;
use axum::http::StatusCode;
use recete_knowledge::products::{self, ProductInput};
use recete_knowledge::{Section, SectionKind};
use recete_shared::audit::{self, AuditEntry};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::read::{ProductDetail, detail};
use super::{
    FaqEntry, NewSection, check_length, check_url, checked_name, checked_title, faq_section, identifier_taken, invalid,
    own_section,
};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::merchant::json_body::JsonBody;
use crate::merchant::patch::Patch;
use crate::tenant_tx::TenantTx;

/// Changes to a product; every field is optional.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    /// Cannot be null.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 300, pattern = r"\S")]
    title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = r"\S")]
    sku: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = r"\S")]
    external_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = r"^[hH][tT][tT][pP][sS]?://[^\s\x00-\x1F\x7F-\x9F]+$")]
    url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = r"\S")]
    brand: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 20000, pattern = r"\S")]
    description: Patch<String>,
    /// Replaces the usage section; null removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 20000, pattern = r"\S")]
    usage: Patch<String>,
    /// Replaces the ingredients section; null removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 20000, pattern = r"\S")]
    ingredients: Patch<String>,
    /// Replaces the warnings section; null removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 20000, pattern = r"\S")]
    warnings: Patch<String>,
    /// Replaces the FAQ; null or `[]` removes it.
    #[serde(default)]
    #[schema(value_type = Option<Vec<FaqEntry>>)]
    faq: Patch<Vec<FaqEntry>>,
    /// Replaces every section, usage, ingredients, warnings and FAQ included; null or `[]`
    /// removes them all. Those four fields, when also sent, then replace their kind in it.
    #[serde(default)]
    #[schema(value_type = Option<Vec<NewSection>>)]
    sections: Patch<Vec<NewSection>>,
}

/// Changes a product. When its text changes, its knowledge is embedded again.
#[utoipa::path(
    patch,
    path = "/api/products/{product_id}",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product.")),
    request_body = ProductChanges,
    responses(
        (status = 200, description = "The product as changed.", body = ProductDetail),
        (status = 409, description = "Another product already has this `sku` or `external_id`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(product_id): Path<Uuid>,
    JsonBody(changes): JsonBody<ProductChanges>,
) -> Result<Json<ProductDetail>, ApiError> {
    let tx = tenant.begin().await?;
    let Some(before) = products::lock_for_edit(tx, product_id).await? else {
        return Err(ApiError::NotFound(format!("no product {product_id}")));
    };
    let after = apply(&before, changes)?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    products::save_edit(tx, merchant.merchant_id, product_id, &before, &after, &actor)
        .await
        .map_err(identifier_taken)?;
    let product = detail(tx, product_id).await?;
    Ok(Json(product))
}

/// The product after `changes`, every changed field validated as creation validates it.
fn apply(before: &ProductInput, changes: ProductChanges) -> Result<ProductInput, ApiError> {
    let mut after = before.clone();
    if let Some(title) = changes.title.non_null("title")? {
        after.title = checked_title(&title)?;
    }
    after.sku = name_change("sku", changes.sku, after.sku)?;
    after.external_id = name_change("external_id", changes.external_id, after.external_id)?;
    after.brand = name_change("brand", changes.brand, after.brand)?;
    after.url = match changes.url {
        Patch::Value(url) => {
            let url = url.trim().to_owned();
            check_url(&url).map_err(|detail| invalid("url", &detail))?;
            Some(url)
        }
        other => other.apply(after.url),
    };
    after.description = match changes.description {
        Patch::Value(text) => Some(required_text("description", text)?),
        other => other.apply(after.description),
    };
    let by_kind = [
        ("usage", SectionKind::Usage, &changes.usage),
        ("ingredients", SectionKind::Ingredients, &changes.ingredients),
        ("warnings", SectionKind::Warnings, &changes.warnings),
    ];
    match changes.sections {
        Patch::Absent => {}
        Patch::Null => after.sections.clear(),
        Patch::Value(sections) => {
            after.sections = sections
                .into_iter()
                .enumerate()
                .map(|(index, section)| own_section(index, section))
                .collect::<Result<_, _>>()?;
        }
    }
    for (field, kind, change) in by_kind {
        let replacement = match change {
            Patch::Absent => continue,
            Patch::Null => None,
            Patch::Value(text) => Some(Section { kind, heading: None, text: required_text(field, text.clone())? }),
        };
        replace_kind(&mut after.sections, kind, replacement);
    }
    match changes.faq {
        Patch::Absent => {}
        Patch::Value(entries) if !entries.is_empty() => {
            replace_kind(&mut after.sections, SectionKind::Faq, Some(faq_section(&entries)?));
        }
        _ => replace_kind(&mut after.sections, SectionKind::Faq, None),
    }
    Ok(after)
}

/// A SKU, external id or brand change: `null` clears it; an empty string is refused, since it
/// would read as a mistake rather than as clearing.
fn name_change(field: &str, change: Patch<String>, current: Option<String>) -> Result<Option<String>, ApiError> {
    match change {
        Patch::Value(value) => match checked_name(field, Some(value))? {
            Some(value) => Ok(Some(value)),
            None => Err(invalid(field, "must not be empty; send null to clear it")),
        },
        other => Ok(other.apply(current)),
    }
}

fn required_text(field: &str, text: String) -> Result<String, ApiError> {
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(invalid(field, "must not be empty; send null to remove it"));
    }
    check_length(field, &text)?;
    Ok(text)
}

/// Puts `replacement` where the first section of `kind` was (or at the end), and drops every
/// other section of that kind.
fn replace_kind(sections: &mut Vec<Section>, kind: SectionKind, replacement: Option<Section>) {
    let position = sections.iter().position(|section| section.kind == kind).unwrap_or(sections.len());
    let mut kept: Vec<Section> = Vec::with_capacity(sections.len() + 1);
    let mut replacement = replacement;
    for (index, section) in sections.drain(..).enumerate() {
        if index == position
            && let Some(new) = replacement.take()
        {
            kept.push(new);
        }
        if section.kind != kind {
            kept.push(section);
        }
    }
    kept.extend(replacement);
    *sections = kept;
}

/// Deletes a product and its knowledge. Order lines that named it keep their own title and SKU.
#[utoipa::path(
    delete,
    path = "/api/products/{product_id}",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product.")),
    responses((status = 204, description = "Deleted, with its knowledge."))
)]
pub async fn delete(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(product_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let tx = tenant.begin().await?;
    let Some(deleted) = products::delete(tx, product_id).await? else {
        return Err(ApiError::NotFound(format!("no product {product_id}")));
    };
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant.merchant_id),
            actor: &actor,
            action: "product.deleted",
            subject_type: "product",
            subject_id: product_id.to_string(),
            event_id: None,
            before: Some(json!({ "title": deleted.title, "sku": deleted.sku, "external_id": deleted.external_id })),
            after: None,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(kind: SectionKind, text: &str) -> Section {
        Section { kind, heading: None, text: text.into() }
    }

    #[test]
    fn a_kind_is_replaced_in_place_and_its_duplicates_go() {
        let mut sections = vec![
            section(SectionKind::Overview, "o"),
            section(SectionKind::Usage, "u1"),
            section(SectionKind::Warnings, "w"),
            section(SectionKind::Usage, "u2"),
        ];
        replace_kind(&mut sections, SectionKind::Usage, Some(section(SectionKind::Usage, "new")));
        let texts: Vec<&str> = sections.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["o", "new", "w"]);
        replace_kind(&mut sections, SectionKind::Faq, Some(section(SectionKind::Faq, "q")));
        replace_kind(&mut sections, SectionKind::Warnings, None);
        let texts: Vec<&str> = sections.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["o", "new", "q"]);
    }

    #[test]
    fn sections_are_replaced_first_then_a_kind_field_on_top() {
        let before = ProductInput { title: "Serum".into(), ..ProductInput::default() };
        let changes: ProductChanges = serde_json::from_str(
            r#"{"sections": [{"kind": "usage", "text": "One drop."}, {"kind": "details", "text": "Glass bottle."}],
                "usage": "Two drops."}"#,
        )
        .expect("valid changes");
        let after = apply(&before, changes).map_err(|error| error.to_string()).expect("applied");
        let texts: Vec<&str> = after.sections.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Two drops.", "Glass bottle."]);
        let changes: ProductChanges = serde_json::from_str(r#"{"title": null}"#).expect("valid changes");
        assert!(matches!(apply(&before, changes), Err(ApiError::InvalidField { field, .. }) if field == "title"));
    }
}
