//! `/api/api-keys`: the merchant's API keys. A key is shown once, when it is created; lists show
//! its first characters so keys can be told apart, never the key or its hash.
//!
//! Every route here needs a key with the `admin` scope. A new key gets `read` and `write` unless
//! it asks for others, never a scope its maker lacks, and expires after
//! `api.default_key_expiry_days` unless it says when (never after its maker). Revoking a key
//! revokes every key it made.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use recete_platform::db;
use recete_platform::ids::ApiKeyId;
use recete_shared::api_keys::{self, ApiKeyRecord, KeyGrant, ListFilter, Scope, ScopeSet};
use recete_shared::audit::{self, AuditEntry};
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

/// The API key routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

const MAX_NAME: usize = 100;
/// Keys live at most this long: a forgotten key should not work forever.
const MAX_LIFETIME_DAYS: i64 = 730;

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyState {
    Active,
    Revoked,
    Expired,
}

impl ApiKeyState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "revoked" => Self::Revoked,
            "expired" => Self::Expired,
            _ => Self::Active,
        }
    }
}

/// What a key may do: `read` (every GET), `write` (every other change to the merchant's data),
/// `admin` (API keys and integrations, whose secrets are credentials).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeView {
    Read,
    Write,
    Admin,
}

impl From<Scope> for ScopeView {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::Read => Self::Read,
            Scope::Write => Self::Write,
            Scope::Admin => Self::Admin,
        }
    }
}

impl From<ScopeView> for Scope {
    fn from(scope: ScopeView) -> Self {
        match scope {
            ScopeView::Read => Self::Read,
            ScopeView::Write => Self::Write,
            ScopeView::Admin => Self::Admin,
        }
    }
}

/// An API key, without the key.
#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    id: Uuid,
    name: String,
    /// The key's first characters (`rk_live_ab12`), to tell keys apart.
    display_prefix: String,
    state: ApiKeyState,
    scopes: Vec<ScopeView>,
    /// The key that created this one; revoking it revokes this one too.
    created_by_key_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRecord> for ApiKey {
    fn from(record: ApiKeyRecord) -> Self {
        Self {
            scopes: record.scopes().into_iter().map(Into::into).collect(),
            id: record.id.as_uuid(),
            name: record.name,
            display_prefix: record.display_prefix,
            state: ApiKeyState::parse(&record.state),
            created_by_key_id: record.created_by_key_id.map(|id| id.as_uuid()),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
        }
    }
}

async fn find(tx: &mut db::Tx, api_key_id: Uuid) -> Result<ApiKey, ApiError> {
    api_keys::find(tx, ApiKeyId::from_uuid(api_key_id))
        .await?
        .map(ApiKey::from)
        .ok_or_else(|| ApiError::NotFound(format!("no API key {api_key_id}")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyQuery {
    state: Option<ApiKeyState>,
    /// Created at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Created before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

impl Listed for ApiKey {
    const KEY: &'static str = "api_keys";
    const LIST: &'static str = "ApiKeyList";
}

pub type ApiKeyList = Page<ApiKey>;

/// API keys, newest first.
#[utoipa::path(
    get,
    path = "/api/api-keys",
    tag = "api-keys",
    params(PageParams, ApiKeyQuery),
    responses((status = 200, description = "One page of API keys.", body = ApiKeyList))
)]
pub async fn list(
    merchant: Merchant,
    mut tenant: TenantTx,
    ListQuery { page, filter: query }: ListQuery<ApiKeyQuery>,
) -> Result<Json<ApiKeyList>, ApiError> {
    pagination::check_range(("from", query.from), ("to", query.to))?;
    let filter = ListFilter {
        state: query.state.map(ApiKeyState::as_str),
        from: query.from,
        to: query.to,
        before: page.after.map(|(at, id)| (at, ApiKeyId::from_uuid(id))),
    };
    let records = api_keys::list(tenant.begin().await?, merchant.merchant_id, &filter, page.fetch_limit()).await?;
    Ok(Json(page.page(records.into_iter().map(ApiKey::from).collect(), |last| (last.created_at, last.id))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for (`warehouse sync`), 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// When the key stops working (RFC 3339): in the future, at most two years ahead, and not
    /// after the key making it. When left out: `api.default_key_expiry_days` from now (90 by
    /// default), or never if that is 0 and the making key never expires either.
    expires_at: Option<DateTime<Utc>>,
    /// What the key may do; `["read", "write"]` when left out. Only scopes the making key holds.
    #[schema(min_items = 1)]
    scopes: Option<Vec<ScopeView>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    api_key: ApiKey,
    /// The key itself: shown this once, stored only as a hash.
    key: String,
}

/// Creates an API key for this merchant (needs the `admin` scope). The new key is revoked
/// together with the key that made it.
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
    mut tenant: TenantTx,
    JsonBody(body): JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.contains(char::is_control) {
        return Err(ApiError::InvalidField {
            field: "name".into(),
            detail: format!("must be 1 to {MAX_NAME} characters, without control characters"),
        });
    }
    let now = Utc::now();
    if let Some(expires_at) = body.expires_at {
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
    let scopes: Vec<Scope> = match &body.scopes {
        Some(scopes) if scopes.is_empty() => {
            return Err(ApiError::InvalidField {
                field: "scopes".into(),
                detail: "must name at least one of read, write, admin".into(),
            });
        }
        Some(scopes) => scopes.iter().map(|scope| Scope::from(*scope)).collect(),
        None => vec![Scope::Read, Scope::Write],
    };
    if !ScopeSet::of(&scopes).is_subset_of(merchant.scopes) {
        return Err(ApiError::InvalidField {
            field: "scopes".into(),
            detail: "may only name scopes the API key making the request holds".into(),
        });
    }
    let tx = tenant.begin().await?;
    // The maker stays live until this commits, and bounds the new key's life.
    let maker_expires_at = api_keys::lock_live(tx, merchant.api_key_id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the API key is not valid, revoked or expired".into()))?;
    let default_expiry =
        (state.default_key_expiry_days > 0).then(|| now + Duration::days(i64::from(state.default_key_expiry_days)));
    let expires_at = match (body.expires_at.or(default_expiry), maker_expires_at) {
        (Some(wanted), Some(maker)) if wanted > maker => {
            if body.expires_at.is_some() {
                return Err(ApiError::InvalidField {
                    field: "expires_at".into(),
                    detail: format!("must not be after the expiry of the API key making the request ({maker})"),
                });
            }
            Some(maker)
        }
        (wanted, maker) => wanted.or(maker),
    };
    let grant = KeyGrant { name, expires_at, scopes: &scopes, created_by: Some(merchant.api_key_id) };
    let (id, key) = api_keys::create(tx, merchant.merchant_id, &grant).await?;
    let api_key = find(tx, id.as_uuid()).await?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        tx,
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
                "scopes": api_key.scopes,
                "created_by_key_id": api_key.created_by_key_id,
            })),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { api_key, key })))
}

#[derive(Serialize, ToSchema)]
pub struct RevokedApiKey {
    api_key: ApiKey,
    /// True when the key revoked is the one that made this request: it works no more, so the
    /// next request needs another key.
    revoked_calling_key: bool,
    /// Keys made by this one (and by those, and so on) revoked with it now.
    revoked_descendants: Vec<Uuid>,
}

/// Revokes an API key at once, with every key it made (and every key those made). Revoking the
/// key that makes the request is allowed (and said in the response); revoking a revoked key
/// changes nothing.
#[utoipa::path(
    delete,
    path = "/api/api-keys/{api_key_id}",
    tag = "api-keys",
    params(("api_key_id" = Uuid, Path, description = "The API key's id (not the key).")),
    responses((status = 200, description = "Revoked.", body = RevokedApiKey))
)]
pub async fn revoke(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(api_key_id): Path<Uuid>,
) -> Result<Json<RevokedApiKey>, ApiError> {
    let tx = tenant.begin().await?;
    let target = ApiKeyId::from_uuid(api_key_id);
    let revoked = api_keys::revoke_with_descendants(tx, target).await?;
    let api_key = find(tx, api_key_id).await?;
    let revoked_calling_key = revoked.contains(&merchant.api_key_id) || api_key_id == merchant.api_key_id.as_uuid();
    let revoked_descendants: Vec<Uuid> = revoked.iter().filter(|id| **id != target).map(|id| id.as_uuid()).collect();
    let actor = format!("api-key:{}", merchant.api_key_id);
    for id in &revoked {
        let cascaded = *id != target;
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(merchant.merchant_id),
                actor: &actor,
                action: "api_key.revoked",
                subject_type: "api_key",
                subject_id: id.to_string(),
                event_id: None,
                before: Some(json!({ "revoked_at": null })),
                after: Some(json!({
                    "revoked_at": api_key.revoked_at,
                    "revoked_calling_key": *id == merchant.api_key_id,
                    "revoked_with": cascaded.then_some(api_key_id),
                })),
            },
        )
        .await?;
    }
    Ok(Json(RevokedApiKey { api_key, revoked_calling_key, revoked_descendants }))
}
