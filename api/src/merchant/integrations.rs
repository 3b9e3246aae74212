//! `/api/integrations`: the merchant's connections to their store and to WhatsApp. Secrets are
//! shown once, when we generate them, and never listed.
//!
//! Rotating a secret keeps the previous one verifying for an overlap (24 hours unless asked
//! otherwise, at most 7 days), so deliveries signed before the store switched are not lost.
//! Rotations and disables take effect at once in this process and within
//! `ingest.integration_cache_ttl_secs` in every other (see `IntegrationDirectory`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use recete_platform::db;
use recete_platform::ids::IntegrationId;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::integrations::{
    self, CreateIntegrationError, IntegrationRecord, ListFilter, MAX_ROTATION_OVERLAP, NewIntegration, RotateError,
    Rotation,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::json_body::JsonBody;
use super::pagination::{self, ListQuery, Listed, Page, PageParams};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The integration routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(rotate_secret)).routes(routes!(disable))
}

const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 60 * 60;

/// Who sends the webhooks.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[schema(as = IntegrationKind)]
pub enum Kind {
    Shopify,
    Woocommerce,
    /// Our own signed order format, for any other store.
    Generic,
    Whatsapp,
}

impl From<Kind> for integrations::IntegrationKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Shopify => Self::Shopify,
            Kind::Woocommerce => Self::WooCommerce,
            Kind::Generic => Self::Generic,
            Kind::Whatsapp => Self::WhatsApp,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum IntegrationStatus {
    Active,
    /// Its webhooks are refused.
    Disabled,
}

/// An integration, without its secret.
#[derive(Serialize, ToSchema)]
pub struct Integration {
    id: Uuid,
    kind: Kind,
    status: IntegrationStatus,
    /// Where the store (or Meta) must send its webhooks, appended to this API's public URL.
    webhook_path: String,
    /// WhatsApp only: Meta's id of the business phone number.
    phone_number_id: Option<String>,
    /// When the secret was last rotated.
    secret_rotated_at: Option<DateTime<Utc>>,
    /// Whether the secret replaced by the last rotation still verifies signatures.
    rotation_overlap_active: bool,
    /// Until when the replaced secret verifies, while it does.
    previous_secret_valid_until: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<integrations::IntegrationKind> for Kind {
    fn from(kind: integrations::IntegrationKind) -> Self {
        match kind {
            integrations::IntegrationKind::Shopify => Self::Shopify,
            integrations::IntegrationKind::WooCommerce => Self::Woocommerce,
            integrations::IntegrationKind::Generic => Self::Generic,
            integrations::IntegrationKind::WhatsApp => Self::Whatsapp,
        }
    }
}

impl IntegrationStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

impl TryFrom<IntegrationRecord> for Integration {
    type Error = ApiError;

    fn try_from(row: IntegrationRecord) -> Result<Self, ApiError> {
        let kind: integrations::IntegrationKind = row
            .kind
            .parse()
            .map_err(|error: String| ApiError::Internal(anyhow::anyhow!("integration {}: {error}", row.id)))?;
        let status = if row.status == "disabled" { IntegrationStatus::Disabled } else { IntegrationStatus::Active };
        Ok(Self {
            id: row.id.as_uuid(),
            kind: kind.into(),
            status,
            webhook_path: integrations::webhook_path(kind, row.id),
            phone_number_id: row.phone_number_id,
            secret_rotated_at: row.secret_rotated_at,
            rotation_overlap_active: row.previous_secret_valid_until.is_some(),
            previous_secret_valid_until: row.previous_secret_valid_until,
            disabled_at: row.disabled_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

async fn find(tx: &mut db::Tx, integration_id: Uuid) -> Result<Integration, ApiError> {
    integrations::find(tx, IntegrationId::from_uuid(integration_id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no integration {integration_id}")))?
        .try_into()
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IntegrationQuery {
    kind: Option<Kind>,
    status: Option<IntegrationStatus>,
    /// Created at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Created before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

impl Listed for Integration {
    const KEY: &'static str = "integrations";
    const LIST: &'static str = "IntegrationList";
}

pub type IntegrationList = Page<Integration>;

/// Integrations, newest first. Secrets are never listed.
#[utoipa::path(
    get,
    path = "/api/integrations",
    tag = "integrations",
    params(PageParams, IntegrationQuery),
    responses((status = 200, description = "One page of integrations.", body = IntegrationList))
)]
pub async fn list(
    merchant: Merchant,
    mut tenant: TenantTx,
    ListQuery { page, filter: query }: ListQuery<IntegrationQuery>,
) -> Result<Json<IntegrationList>, ApiError> {
    pagination::check_range(("from", query.from), ("to", query.to))?;
    let tx = tenant.begin().await?;
    let filter = ListFilter {
        kind: query.kind.map(|kind| integrations::IntegrationKind::from(kind).as_str()),
        status: query.status.map(IntegrationStatus::as_str),
        from: query.from,
        to: query.to,
        before: page.after.map(|(at, id)| (at, IntegrationId::from_uuid(id))),
    };
    let rows = integrations::list(tx, merchant.merchant_id, &filter, page.fetch_limit()).await?;
    let integrations = rows.into_iter().map(Integration::try_from).collect::<Result<_, _>>()?;
    Ok(Json(page.page(integrations, |last| (last.created_at, last.id))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegrationRequest {
    kind: Kind,
    /// The signing secret, 16 to 256 printable characters. Required for `shopify` (the app's
    /// secret) and `whatsapp` (the Meta app secret); generated for the others when left out.
    #[schema(min_length = 16, max_length = 256, pattern = r"^[\x21-\x7E]+$")]
    secret: Option<String>,
    /// WhatsApp only, required: Meta's id of the business phone number.
    #[schema(pattern = r"^[0-9]{1,32}$")]
    phone_number_id: Option<String>,
    /// WhatsApp only: the verify token entered in Meta's webhook settings; generated when left out.
    #[schema(min_length = 16, max_length = 256, pattern = r"^[\x21-\x7E]+$")]
    verify_token: Option<String>,
    /// Shopify only: the store's myshopify.com domain. Privacy webhooks naming any other shop are
    /// refused; when left out, the shop of the first verified delivery is recorded.
    #[schema(
        max_length = 77,
        pattern = r"^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$",
        example = "snowdevil.myshopify.com"
    )]
    shop_domain: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedIntegration {
    integration: Integration,
    /// The generated signing secret: shown this once. Null when the secret was given.
    secret: Option<String>,
    /// WhatsApp only: the generated verify token, shown this once. Null when it was given.
    verify_token: Option<String>,
}

/// Connects a store or a WhatsApp number.
#[utoipa::path(
    post,
    path = "/api/integrations",
    tag = "integrations",
    request_body = NewIntegrationRequest,
    responses(
        (status = 201, description = "Created; configure `webhook_path` in the store.", body = CreatedIntegration),
        (status = 409, description = "The `phone_number_id` or `verify_token` is already in use; the problem \
         names the field and nothing about who uses it.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(body): JsonBody<NewIntegrationRequest>,
) -> Result<(StatusCode, Json<CreatedIntegration>), ApiError> {
    let invalid = |field: &str, detail: &str| ApiError::InvalidField { field: field.into(), detail: detail.into() };
    if body.secret.is_none() {
        match body.kind {
            Kind::Shopify => {
                return Err(invalid("secret", "Shopify signs webhooks with the app's own secret: send it as `secret`"));
            }
            Kind::Whatsapp => {
                return Err(invalid("secret", "Meta signs webhooks with the app secret: send it as `secret`"));
            }
            Kind::Woocommerce | Kind::Generic => {}
        }
    }
    if let Some(phone_number_id) = &body.phone_number_id
        && (!(1..=32).contains(&phone_number_id.len()) || !phone_number_id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid("phone_number_id", "must be Meta's phone number id: 1 to 32 digits"));
    }
    let new = NewIntegration {
        merchant_id: merchant.merchant_id,
        kind: body.kind.into(),
        secret: body.secret.as_deref(),
        phone_number_id: body.phone_number_id.as_deref(),
    };
    let shop_domain =
        integrations::given_shop_domain(new.kind, body.shop_domain.as_deref()).map_err(|error| match error {
            CreateIntegrationError::UnexpectedShopDomain => {
                invalid("shop_domain", "applies to shopify integrations only")
            }
            _ => invalid("shop_domain", "must be the store's myshopify.com domain, e.g. snowdevil.myshopify.com"),
        })?;
    let tx = tenant.begin().await?;
    let created =
        integrations::insert(tx, &state.keyring, &new, body.verify_token.as_deref()).await.map_err(|error| {
            match error {
                CreateIntegrationError::MissingPhoneNumberId => {
                    invalid("phone_number_id", "is required for a whatsapp integration")
                }
                CreateIntegrationError::UnexpectedPhoneNumberId => {
                    invalid("phone_number_id", "applies to whatsapp integrations only")
                }
                CreateIntegrationError::UnexpectedVerifyToken => {
                    invalid("verify_token", "applies to whatsapp integrations only")
                }
                CreateIntegrationError::WeakSecret => invalid("secret", "must be 16 to 256 printable characters"),
                CreateIntegrationError::WeakVerifyToken => {
                    invalid("verify_token", "must be 16 to 256 printable characters")
                }
                // The same answer whoever holds the value, this merchant or another.
                CreateIntegrationError::DuplicatePhoneNumberId => ApiError::FieldConflict {
                    field: "phone_number_id".into(),
                    detail: "is already in use by an integration; each business phone number may be connected once"
                        .into(),
                },
                CreateIntegrationError::DuplicateVerifyToken => ApiError::FieldConflict {
                    field: "verify_token".into(),
                    detail: "is already in use by an integration; choose another".into(),
                },
                CreateIntegrationError::InvalidShopDomain | CreateIntegrationError::UnexpectedShopDomain => {
                    invalid("shop_domain", &error.to_string())
                }
                CreateIntegrationError::Database(error) => ApiError::from(error),
                other @ CreateIntegrationError::UnknownMerchant(_) => ApiError::Internal(other.into()),
            }
        })?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant.merchant_id),
            actor: &actor,
            action: "integration.created",
            subject_type: "integration",
            subject_id: created.integration_id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({
                "kind": created.kind,
                "phone_number_id": body.phone_number_id,
                "shop_domain": shop_domain,
                "secret": if body.secret.is_some() { "given" } else { "generated" },
            })),
        },
    )
    .await?;
    if let Some(domain) = &shop_domain {
        integrations::bind_shop_domain(tx, created.integration_id, domain).await?;
    }
    let integration = find(tx, created.integration_id.as_uuid()).await?;
    // Committed first, so a lookup after the cache is cleared finds the new integration.
    tenant.commit().await?;
    // Deliveries for it may have been refused (and remembered as unknown) before it existed.
    state.integrations.forget_unknown();
    Ok((
        StatusCode::CREATED,
        Json(CreatedIntegration {
            integration,
            secret: body.secret.is_none().then_some(created.secret),
            verify_token: created.verify_token.filter(|_| body.verify_token.is_none()),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the current secret keeps verifying, 0 to 604800 (7 days); 86400 when left out.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 604800)]
    overlap_seconds: Option<f64>,
    /// The new secret, when the store or Meta issued it (16 to 256 printable characters);
    /// generated when left out.
    #[schema(min_length = 16, max_length = 256, pattern = r"^[\x21-\x7E]+$")]
    secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    integration: Integration,
    /// The generated secret: shown this once. Null when the secret was given.
    secret: Option<String>,
}

/// Replaces the signing secret. The previous secret keeps verifying during the overlap.
#[utoipa::path(
    post,
    path = "/api/integrations/{integration_id}/rotate-secret",
    tag = "integrations",
    params(("integration_id" = Uuid, Path, description = "The integration.")),
    request_body = RotateSecretRequest,
    responses(
        (status = 200, description = "Rotated.", body = RotatedSecret),
        (status = 409, description = "The integration is disabled.", body = crate::error::Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(integration_id): Path<Uuid>,
    JsonBody(body): JsonBody<RotateSecretRequest>,
) -> Result<Json<RotatedSecret>, ApiError> {
    let max_seconds = MAX_ROTATION_OVERLAP.num_seconds();
    // JSON has one number type: `3600.0` is a whole number of seconds as much as `3600` is.
    let overlap_seconds = match body.overlap_seconds {
        None => DEFAULT_OVERLAP_SECONDS,
        Some(seconds) if seconds.fract() == 0.0 && (0.0..=max_seconds as f64).contains(&seconds) => seconds as i64,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "overlap_seconds".into(),
                detail: format!("must be a whole number of seconds between 0 and {max_seconds} (7 days)"),
            });
        }
    };
    let id = IntegrationId::from_uuid(integration_id);
    let tx = tenant.begin().await?;
    let before = find(tx, integration_id).await?;
    let rotation = Rotation { new_secret: body.secret.as_deref(), overlap: chrono::Duration::seconds(overlap_seconds) };
    let rotated = integrations::rotate_secret(tx, &state.keyring, id, rotation)
        .await
        .map_err(|error| match error {
            RotateError::Disabled(_) => ApiError::Conflict(error.to_string()),
            RotateError::WeakSecret => ApiError::InvalidField {
                field: "secret".into(),
                detail: "must be 16 to 256 printable characters".into(),
            },
            RotateError::SameSecret => ApiError::InvalidField {
                field: "secret".into(),
                detail: "is the current secret; a rotation needs a new one".into(),
            },
            RotateError::OverlapOutOfRange => {
                ApiError::InvalidField { field: "overlap_seconds".into(), detail: error.to_string() }
            }
            RotateError::Database(error) => ApiError::from(error),
            other @ RotateError::Secret(..) => ApiError::Internal(other.into()),
        })?
        .ok_or_else(|| ApiError::NotFound(format!("no integration {integration_id}")))?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant.merchant_id),
            actor: &actor,
            action: "integration.secret_rotated",
            subject_type: "integration",
            subject_id: integration_id.to_string(),
            event_id: None,
            before: Some(json!({ "secret_rotated_at": before.secret_rotated_at })),
            after: Some(json!({
                "secret_rotated_at": rotated.rotated_at,
                "previous_secret_valid_until": rotated.previous_valid_until,
                "overlap_seconds": overlap_seconds,
                "secret": if body.secret.is_some() { "given" } else { "generated" },
            })),
        },
    )
    .await?;
    let integration = find(tx, integration_id).await?;
    tenant.commit().await?;
    state.integrations.forget(id);
    Ok(Json(RotatedSecret { integration, secret: rotated.generated_secret }))
}

/// Disables an integration: its webhooks are refused from now on. Disabling twice is harmless.
#[utoipa::path(
    post,
    path = "/api/integrations/{integration_id}/disable",
    tag = "integrations",
    params(("integration_id" = Uuid, Path, description = "The integration.")),
    responses((status = 200, description = "Disabled.", body = Integration))
)]
pub async fn disable(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(integration_id): Path<Uuid>,
) -> Result<Json<Integration>, ApiError> {
    let id = IntegrationId::from_uuid(integration_id);
    let tx = tenant.begin().await?;
    let changed = integrations::disable(tx, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no integration {integration_id}")))?;
    if changed {
        let actor = format!("api-key:{}", merchant.api_key_id);
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(merchant.merchant_id),
                actor: &actor,
                action: "integration.disabled",
                subject_type: "integration",
                subject_id: integration_id.to_string(),
                event_id: None,
                before: Some(json!({ "status": "active" })),
                after: Some(json!({ "status": "disabled" })),
            },
        )
        .await?;
    }
    let integration = find(tx, integration_id).await?;
    tenant.commit().await?;
    state.integrations.forget(id);
    Ok(Json(integration))
}
