//! `/api/api-keys`: the merchant's API keys. A key is shown once, when it is created; lists show
//! its first characters so keys can be told apart, never the key or its hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use recete_shared::api_keys;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::db;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::json_body::JsonBody;
use super::pagination;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The API key routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

const MAX_NAME: usize = 100;
/// Keys live at most this long: a forgotten key should not work forever.
const MAX_LIFETIME_DAYS: i64 = 730;

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum ApiKeyState {
    Active,
    Revoked,
    Expired,
}

/// An API key, without the key.
#[derive(Serialize, FromRow, ToSchema)]
pub struct ApiKey {
    id: Uuid,
    name: String,
    /// The key's first characters (`rk_live_ab12`), to tell keys apart.
    display_prefix: String,
    state: ApiKeyState,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

const SELECT_KEY: &str = "
    SELECT id, name, display_prefix,
           CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                WHEN expires_at <= now() THEN 'expired'
                ELSE 'active' END AS state,
           created_at, last_used_at, expires_at, revoked_at
    FROM api_keys";

async fn find(tx: &mut db::Tx, api_key_id: Uuid) -> Result<ApiKey, ApiError> {
    sqlx::query_as(&format!("{SELECT_KEY} WHERE id = $1"))
        .bind(api_key_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(ApiError::from_database)?
        .ok_or_else(|| ApiError::NotFound(format!("no API key {api_key_id}")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    state: Option<ApiKeyState>,
    /// Created at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Created before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    api_keys: Vec<ApiKey>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// API keys, newest first.
#[utoipa::path(
    get,
    path = "/api/api-keys",
    tag = "api-keys",
    params(ApiKeyQuery),
    responses((status = 200, description = "One page of API keys.", body = ApiKeyList))
)]
pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<ApiKeyQuery>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::after(query.cursor.as_deref())?;
    pagination::check_range(query.from, query.to)?;
    let mut tx = merchant.transaction(&state.pool).await?;
    let mut api_keys: Vec<ApiKey> = sqlx::query_as(&format!(
        "SELECT * FROM ({SELECT_KEY} WHERE merchant_id = $1) AS keys
         WHERE ($2::text IS NULL OR state = $2)
           AND ($3::timestamptz IS NULL OR created_at >= $3)
           AND ($4::timestamptz IS NULL OR created_at < $4)
           AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
         ORDER BY created_at DESC, id DESC
         LIMIT $7"
    ))
    .bind(merchant.merchant_id)
    .bind(query.state)
    .bind(query.from)
    .bind(query.to)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    let next_cursor = pagination::finish_page(&mut api_keys, limit, |last| (last.created_at, last.id));
    Ok(Json(ApiKeyList { api_keys, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for (`warehouse sync`), 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// When the key stops working (RFC 3339): in the future, at most two years ahead. Never,
    /// when left out.
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    api_key: ApiKey,
    /// The key itself: shown this once, stored only as a hash.
    key: String,
}

/// Creates an API key for this merchant.
#[utoipa::path(
    post,
    path = "/api/api-keys",
    tag = "api-keys",
    request_body = NewApiKey,
    responses((status = 201, description = "Created; `key` is shown this once.", body = CreatedApiKey))
)]
pub async fn create(
    State(state): State<AppState>,
    merchant: Merchant,
    JsonBody(body): JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.contains(char::is_control) {
        return Err(ApiError::InvalidField {
            field: "name".into(),
            detail: format!("must be 1 to {MAX_NAME} characters, without control characters"),
        });
    }
    if let Some(expires_at) = body.expires_at {
        let now = Utc::now();
        if expires_at <= now {
            return Err(ApiError::InvalidField { field: "expires_at".into(), detail: "must be in the future".into() });
        }
        if expires_at > now + Duration::days(MAX_LIFETIME_DAYS) {
            return Err(ApiError::InvalidField {
                field: "expires_at".into(),
                detail: format!("must be at most {MAX_LIFETIME_DAYS} days from now"),
            });
        }
    }
    let mut tx = merchant.transaction(&state.pool).await?;
    let (id, key) = api_keys::insert(&mut tx, merchant.merchant_id, name, body.expires_at)
        .await
        .map_err(ApiError::from_database)?;
    let api_key = find(&mut tx, id.as_uuid()).await?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(merchant.merchant_id),
            actor: &actor,
            action: "api_key.created",
            subject_type: "api_key",
            subject_id: id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({
                "name": api_key.name,
                "display_prefix": api_key.display_prefix,
                "expires_at": api_key.expires_at,
            })),
        },
    )
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { api_key, key })))
}

#[derive(Serialize, ToSchema)]
pub struct RevokedApiKey {
    api_key: ApiKey,
    /// True when the key revoked is the one that made this request: it works no more, so the
    /// next request needs another key.
    revoked_calling_key: bool,
}

/// Revokes an API key at once. Revoking the key that makes the request is allowed (and said
/// in the response); revoking a revoked key changes nothing.
#[utoipa::path(
    delete,
    path = "/api/api-keys/{api_key_id}",
    tag = "api-keys",
    params(("api_key_id" = Uuid, Path, description = "The API key's id (not the key).")),
    responses((status = 200, description = "Revoked.", body = RevokedApiKey))
)]
pub async fn revoke(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(api_key_id): Path<Uuid>,
) -> Result<Json<RevokedApiKey>, ApiError> {
    let mut tx = merchant.transaction(&state.pool).await?;
    let revoked: Option<Uuid> =
        sqlx::query_scalar("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id")
            .bind(api_key_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::from_database)?;
    let api_key = find(&mut tx, api_key_id).await?;
    let revoked_calling_key = api_key_id == merchant.api_key_id.as_uuid();
    if revoked.is_some() {
        let actor = format!("api-key:{}", merchant.api_key_id);
        audit::record(
            &mut tx,
            AuditEntry {
                merchant_id: Some(merchant.merchant_id),
                actor: &actor,
                action: "api_key.revoked",
                subject_type: "api_key",
                subject_id: api_key_id.to_string(),
                event_id: None,
                before: Some(json!({ "revoked_at": null })),
                after: Some(json!({ "revoked_at": api_key.revoked_at, "revoked_calling_key": revoked_calling_key })),
            },
        )
        .await
        .map_err(ApiError::from_database)?;
    }
    crate::auth::commit(tx).await?;
    Ok(Json(RevokedApiKey { api_key, revoked_calling_key }))
}
