//! CSV imports of the merchant's orders and products: the upload, the import's progress and its
//! failed rows, the failed rows as a CSV file to fix and upload again, and the templates.
//!
//! An upload is streamed into storage as it arrives (never held whole in memory, and holding no
//! database connection until the whole file is in) and answered 202 once stored; a worker of the
//! imports pool reads it. The upload routes lift the usual body limit for their own,
//! `imports.max_upload_bytes`, which every part of a multipart body counts against. Uploads in
//! progress are bounded per merchant and per process ([`recete_shared::imports::slots`]).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use recete_platform::ids::ImportId;
use recete_shared::imports::errors_file::ErrorsFile;
use recete_shared::imports::store::{self, ImportRecord, ListFilter, StoredRowError};
use recete_shared::imports::upload::{NewImport, Upload, UploadError};
use recete_shared::imports::{self, DateOrder, ImportKind, ImportOptions, ImportStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination::{self, ListQuery, Listed, Page, PageParams};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// Failed rows shown with an import's status; the rest are paged through `/errors`.
const ERRORS_SHOWN: i64 = 20;
const CSV: &str = "text/csv; charset=utf-8";

/// What a refused upload is told to wait before trying again.
const UPLOAD_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(10);
/// Room in a multipart body for boundaries and part headers, beyond `imports.max_upload_bytes`.
const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;

/// The import routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    // The uploads count their own bytes against `imports.max_upload_bytes`; the default body
    // limit (and axum's 2 MB cap on multipart bodies) would cut them off first.
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_orders))
        .routes(routes!(upload_products))
        .routes(routes!(upload_customers))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(errors))
        .routes(routes!(errors_csv))
        .routes(routes!(orders_template))
        .routes(routes!(products_template))
        .routes(routes!(customers_template))
}

/// How `05/03/2026` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateOrderParam {
    /// The 5th of March (the default).
    DayFirst,
    /// The 3rd of May.
    MonthFirst,
}

impl From<DateOrderParam> for DateOrder {
    fn from(value: DateOrderParam) -> Self {
        match value {
            DateOrderParam::DayFirst => Self::DayFirst,
            DateOrderParam::MonthFirst => Self::MonthFirst,
        }
    }
}

impl From<DateOrder> for DateOrderParam {
    fn from(value: DateOrder) -> Self {
        match value {
            DateOrder::DayFirst => Self::DayFirst,
            DateOrder::MonthFirst => Self::MonthFirst,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrdersUploadQuery {
    /// Plan follow-ups for delivered orders, as a delivery webhook would (default false).
    plan_followups: Option<bool>,
    /// ISO 3166-1 alpha-2 country of phone numbers written without `+` (default: the
    /// merchant's default phone country).
    #[param(min_length = 2, max_length = 2)]
    default_country: Option<String>,
    date_order: Option<DateOrderParam>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductsUploadQuery {
    #[param(min_length = 2, max_length = 2)]
    default_country: Option<String>,
    date_order: Option<DateOrderParam>,
}

/// The file as the body: the bytes of a CSV file, in any of the encodings and separators
/// spreadsheets write.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(value_type = String, format = Binary)]
pub struct CsvFile(Vec<u8>);

/// The file as a `multipart/form-data` part.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The CSV file.
    #[schema(value_type = String, format = Binary, min_length = 1)]
    file: Vec<u8>,
}

/// What an import holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportKindView {
    Orders,
    Products,
    Customers,
}

impl From<ImportKind> for ImportKindView {
    fn from(kind: ImportKind) -> Self {
        match kind {
            ImportKind::Orders => Self::Orders,
            ImportKind::Products => Self::Products,
            ImportKind::Customers => Self::Customers,
        }
    }
}

impl From<ImportKindView> for ImportKind {
    fn from(kind: ImportKindView) -> Self {
        match kind {
            ImportKindView::Orders => Self::Orders,
            ImportKindView::Products => Self::Products,
            ImportKindView::Customers => Self::Customers,
        }
    }
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatusView {
    /// Stored, waiting for a worker.
    Queued,
    Running,
    /// Every row was read; failed rows are in `errors`.
    Completed,
    /// The file as a whole could not be imported; `failure_reason` says why.
    Failed,
}

impl From<ImportStatus> for ImportStatusView {
    fn from(status: ImportStatus) -> Self {
        match status {
            ImportStatus::Queued => Self::Queued,
            ImportStatus::Running => Self::Running,
            ImportStatus::Completed => Self::Completed,
            ImportStatus::Failed => Self::Failed,
        }
    }
}

impl From<ImportStatusView> for ImportStatus {
    fn from(status: ImportStatusView) -> Self {
        match status {
            ImportStatusView::Queued => Self::Queued,
            ImportStatusView::Running => Self::Running,
            ImportStatusView::Completed => Self::Completed,
            ImportStatusView::Failed => Self::Failed,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportAccepted {
    import_id: Uuid,
    kind: ImportKindView,
    status: ImportStatusView,
    byte_size: i64,
    /// SHA-256 of the file, hex.
    sha256: String,
    /// Where to follow the import.
    status_url: String,
}

/// Upload an orders CSV.
///
/// One row per line item: rows sharing an order id are one order. Send the file as the body
/// (`Content-Type: text/csv`) or as the `file` part of a `multipart/form-data` body.
#[utoipa::path(
    post,
    path = "/api/imports/orders",
    tag = "imports",
    params(OrdersUploadQuery),
    request_body(
        description = "The CSV file, up to `imports.max_upload_bytes` (50 MB by default).",
        content((CsvFile = "text/csv"), (UploadForm = "multipart/form-data"))
    ),
    responses(
        (status = 202, description = "Stored and queued; follow it at `status_url`.", body = ImportAccepted),
        (status = 413, description = "The file (or the multipart body, all parts counted) is larger than the limit.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither `text/csv` nor `multipart/form-data`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many uploads in progress for this merchant or this server; retry after `Retry-After` seconds.", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn upload_orders(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<OrdersUploadQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let options = options(query.plan_followups.unwrap_or(false), query.default_country, query.date_order)?;
    upload(state, merchant, ImportKind::Orders, options, request).await
}

/// Upload a products CSV.
///
/// One row per product, identified by its SKU: uploading a product again updates it. Send the
/// file as the body (`Content-Type: text/csv`) or as the `file` part of a `multipart/form-data` body.
#[utoipa::path(
    post,
    path = "/api/imports/products",
    tag = "imports",
    params(ProductsUploadQuery),
    request_body(
        description = "The CSV file, up to `imports.max_upload_bytes` (50 MB by default).",
        content((CsvFile = "text/csv"), (UploadForm = "multipart/form-data"))
    ),
    responses(
        (status = 202, description = "Stored and queued; follow it at `status_url`.", body = ImportAccepted),
        (status = 413, description = "The file (or the multipart body, all parts counted) is larger than the limit.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither `text/csv` nor `multipart/form-data`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many uploads in progress for this merchant or this server; retry after `Retry-After` seconds.", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn upload_products(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<ProductsUploadQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let options = options(false, query.default_country, query.date_order)?;
    upload(state, merchant, ImportKind::Products, options, request).await
}

/// Upload a customers CSV.
///
/// One row per customer, found again by phone, email or the store's customer id: a customer
/// uploaded again is updated. Reads Shopify's customers export as it is (its `Accepts SMS
/// Marketing` is the WhatsApp consent Shopify's webhooks carry; `Accepts Email Marketing` is never
/// read as consent) and the customers template. Send the file as the body (`Content-Type:
/// text/csv`) or as the `file` part of a `multipart/form-data` body.
#[utoipa::path(
    post,
    path = "/api/imports/customers",
    tag = "imports",
    params(ProductsUploadQuery),
    request_body(
        description = "The CSV file, up to `imports.max_upload_bytes` (50 MB by default).",
        content((CsvFile = "text/csv"), (UploadForm = "multipart/form-data"))
    ),
    responses(
        (status = 202, description = "Stored and queued; follow it at `status_url`.", body = ImportAccepted),
        (status = 413, description = "The file (or the multipart body, all parts counted) is larger than the limit.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither `text/csv` nor `multipart/form-data`.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many uploads in progress for this merchant or this server; retry after `Retry-After` seconds.", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn upload_customers(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<ProductsUploadQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let options = options(false, query.default_country, query.date_order)?;
    upload(state, merchant, ImportKind::Customers, options, request).await
}

fn options(
    plan_followups: bool,
    default_country: Option<String>,
    date_order: Option<DateOrderParam>,
) -> Result<ImportOptions, ApiError> {
    let default_country = match default_country {
        Some(code) => Some(imports::country_code(&code).ok_or_else(|| ApiError::InvalidField {
            field: "default_country".into(),
            detail: "must be an ISO 3166-1 alpha-2 country code such as DE".into(),
        })?),
        None => None,
    };
    Ok(ImportOptions { plan_followups, default_country, date_order: date_order.map(Into::into).unwrap_or_default() })
}

/// How the file arrives.
enum Arrival {
    Csv,
    Multipart,
}

fn body_kind(headers: &HeaderMap) -> Result<Arrival, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media_type.as_str() {
        "text/csv" | "application/csv" => Ok(Arrival::Csv),
        "multipart/form-data" => Ok(Arrival::Multipart),
        _ => Err(ApiError::UnsupportedMediaType(
            "send the file as the body with `Content-Type: text/csv`, or as the `file` part of a \
             `multipart/form-data` body"
                .into(),
        )),
    }
}

async fn upload(
    state: AppState,
    merchant: Merchant,
    kind: ImportKind,
    options: ImportOptions,
    request: Request,
) -> Result<Response, ApiError> {
    let limits = state.import_limits.clone();
    let body = body_kind(request.headers())?;
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if matches!(body, Arrival::Csv) && declared.is_some_and(|length| length > limits.max_upload_bytes as u64) {
        return Err(ApiError::PayloadTooLarge { limit: limits.max_upload_bytes });
    }
    // Held until the response is built, whatever happens to the upload.
    let _slot = limits.slots.try_take(merchant.merchant_id).map_err(|refusal| {
        tracing::info!(merchant = %merchant.merchant_id, ?refusal, "upload refused: too many in progress");
        ApiError::TooManyInProgress { detail: refusal.detail(), retry_after: UPLOAD_RETRY_AFTER }
    })?;
    let mut upload =
        Upload::begin(&state.pool, &state.keyring, merchant.merchant_id, limits.max_upload_bytes, limits.chunk_bytes)
            .await
            .map_err(upload_error)?;
    let file_name = match body {
        Arrival::Csv => {
            let mut stream = request.into_body().into_data_stream();
            while let Some(bytes) = stream.next().await {
                let bytes = bytes.map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e}")))?;
                upload.write(&bytes).await.map_err(upload_error)?;
            }
            None
        }
        Arrival::Multipart => {
            // The whole body is bounded too, so neither other parts nor part headers can carry
            // more than the file may.
            let (parts, body) = request.into_parts();
            let bounded = Body::new(http_body_util::Limited::new(
                body,
                limits.max_upload_bytes.saturating_add(MULTIPART_OVERHEAD_BYTES),
            ));
            let request = Request::from_parts(parts, bounded);
            let mut multipart = Multipart::from_request(request, &state)
                .await
                .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
            let mut file_name = None;
            let mut found = false;
            // Bytes of the parts other than the file, counted against the same limit.
            let mut other_bytes = 0_u64;
            let limit = limits.max_upload_bytes as u64;
            while let Some(mut field) =
                multipart.next_field().await.map_err(|e| multipart_error(e, limits.max_upload_bytes))?
            {
                let is_file = field.name() == Some("file") && !found;
                if is_file {
                    found = true;
                    file_name = field.file_name().map(|name| name.chars().take(255).collect::<String>());
                }
                while let Some(bytes) = field.chunk().await.map_err(|e| multipart_error(e, limits.max_upload_bytes))? {
                    if upload.byte_size() + other_bytes + bytes.len() as u64 > limit {
                        return Err(ApiError::PayloadTooLarge { limit: limits.max_upload_bytes });
                    }
                    if is_file {
                        upload.write(&bytes).await.map_err(upload_error)?;
                    } else {
                        other_bytes += bytes.len() as u64;
                    }
                }
            }
            if !found {
                return Err(ApiError::InvalidField {
                    field: "file".into(),
                    detail: "is required: no `file` part was sent".into(),
                });
            }
            file_name
        }
    };
    if upload.byte_size() == 0 {
        // Nothing is stored for an empty file: there is no header to read and no row to report.
        return Err(ApiError::InvalidField {
            field: "file".into(),
            detail: "is empty: a CSV file needs a header line naming the columns".into(),
        });
    }
    let created_by = format!("api-key:{}", merchant.api_key_id);
    let stored = upload
        .finish(NewImport { kind, options: &options, file_name: file_name.as_deref(), created_by: &created_by })
        .await
        .map_err(upload_error)?;
    let status_url = format!("/api/imports/{}", stored.id);
    let accepted = ImportAccepted {
        import_id: stored.id.as_uuid(),
        kind: kind.into(),
        status: ImportStatusView::Queued,
        byte_size: stored.byte_size as i64,
        sha256: hex::encode(stored.sha256),
        status_url: status_url.clone(),
    };
    let mut response = (StatusCode::ACCEPTED, Json(accepted)).into_response();
    if let Ok(location) = HeaderValue::from_str(&status_url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn upload_error(error: UploadError) -> ApiError {
    match error {
        UploadError::TooLarge { limit } => ApiError::PayloadTooLarge { limit },
        UploadError::Spool(error) => ApiError::Internal(anyhow::Error::new(error).context("Failed to spool an upload")),
        UploadError::Database(error) => ApiError::from(error),
    }
}

fn multipart_error(error: axum::extract::multipart::MultipartError, limit: usize) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge { limit };
    }
    ApiError::BadRequest(format!("the multipart body is malformed: {}", error.body_text()))
}

#[derive(Serialize, ToSchema)]
pub struct ImportOptionsView {
    plan_followups: bool,
    default_country: Option<String>,
    date_order: DateOrderParam,
}

/// A row that could not be imported.
#[derive(Serialize, ToSchema)]
pub struct RowErrorView {
    /// The line of the file the row starts on; the header is line 1.
    line: i64,
    /// The column at fault, as the file's header names it; absent when the row as a whole is wrong.
    column: Option<String>,
    /// The value at fault, made safe to show: cut short, phones and emails masked.
    value: Option<String>,
    message: String,
}

impl From<StoredRowError> for RowErrorView {
    fn from(error: StoredRowError) -> Self {
        Self { line: error.line, column: error.column_name, value: error.value, message: error.message }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportView {
    id: Uuid,
    kind: ImportKindView,
    status: ImportStatusView,
    file_name: Option<String>,
    byte_size: i64,
    /// SHA-256 of the file, hex.
    sha256: String,
    options: ImportOptionsView,
    /// Rows in the file; known once the whole file has been read.
    total_rows: Option<i64>,
    /// Rows handled so far: imported + skipped + failed.
    processed_rows: i64,
    /// Rows that created or changed something.
    imported: i64,
    /// Rows that changed nothing (already imported).
    skipped: i64,
    /// Rows that could not be imported; each is in `errors`.
    failed: i64,
    /// Share of the file read, 0 to 1.
    progress: f64,
    /// The origin the file's header was recognised as (`shopify_orders`, `shopify_customers`,
    /// `woocommerce_order_export`, `woocommerce_advanced_order_export`, or `generic` for the
    /// template and other spreadsheets); unset until the header has been read.
    profile: Option<String>,
    /// Columns of the file that are not read.
    ignored_columns: Vec<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    /// The first failed rows, in line order.
    errors: Vec<RowErrorView>,
    /// Failed rows in all.
    errors_total: i64,
    /// Pass as `cursor` to `/api/imports/{import_id}/errors` for the failed rows after these.
    errors_next_cursor: Option<String>,
}

fn view(record: ImportRecord, errors: Vec<StoredRowError>, next_cursor: Option<String>) -> ImportView {
    let progress = record.progress();
    let options = &record.options.0;
    ImportView {
        id: record.id.as_uuid(),
        kind: record.kind().into(),
        status: record.status().into(),
        sha256: hex::encode(&record.sha256),
        options: ImportOptionsView {
            plan_followups: options.plan_followups,
            default_country: options.default_country.clone(),
            date_order: options.date_order.into(),
        },
        total_rows: record.total_rows,
        processed_rows: record.records_done,
        imported: record.imported,
        skipped: record.skipped,
        failed: record.failed,
        progress,
        errors_total: record.failed,
        errors: errors.into_iter().map(Into::into).collect(),
        errors_next_cursor: next_cursor,
        file_name: record.file_name,
        byte_size: record.byte_size,
        ignored_columns: record.ignored_columns,
        profile: record.profile,
        failure_reason: record.failure_reason,
        created_at: record.created_at,
        started_at: record.started_at,
        finished_at: record.finished_at,
    }
}

/// An import's progress, counts and first failed rows.
#[utoipa::path(
    get,
    path = "/api/imports/{import_id}",
    tag = "imports",
    params(("import_id" = Uuid, Path, description = "The import's id.")),
    responses((status = 200, description = "The import.", body = ImportView))
)]
pub async fn show(mut tenant: TenantTx, Path(import_id): Path<Uuid>) -> Result<Json<ImportView>, ApiError> {
    let import = ImportId::from_uuid(import_id);
    let tx = tenant.begin().await?;
    let record = store::find(tx, import).await?.ok_or_else(|| not_found(import))?;
    let mut errors = store::errors(tx, import, None, ERRORS_SHOWN + 1).await?;
    let next_cursor = finish_errors_page(&mut errors, ERRORS_SHOWN);
    Ok(Json(view(record, errors, next_cursor)))
}

fn not_found(import: ImportId) -> ApiError {
    ApiError::NotFound(format!("no import {import}"))
}

fn finish_errors_page(errors: &mut Vec<StoredRowError>, limit: i64) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if errors.len() <= limit {
        return None;
    }
    errors.truncate(limit);
    errors.last().map(|last| URL_SAFE_NO_PAD.encode(format!("line:{}", last.line)))
}

fn decode_errors_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("line:").and_then(|line| line.parse().ok()))
        .ok_or_else(|| ApiError::InvalidField {
            field: "cursor".into(),
            detail: "is not a cursor this API returned".into(),
        })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ErrorsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `errors_next_cursor` of the import, or `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorList {
    errors: Vec<RowErrorView>,
    /// Failed rows in all.
    total: i64,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// An import's failed rows, in line order.
#[utoipa::path(
    get,
    path = "/api/imports/{import_id}/errors",
    tag = "imports",
    params(("import_id" = Uuid, Path, description = "The import's id."), ErrorsQuery),
    responses((status = 200, description = "One page of failed rows.", body = RowErrorList))
)]
pub async fn errors(
    mut tenant: TenantTx,
    Path(import_id): Path<Uuid>,
    Query(query): Query<ErrorsQuery>,
) -> Result<Json<RowErrorList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = query.cursor.as_deref().map(decode_errors_cursor).transpose()?;
    let import = ImportId::from_uuid(import_id);
    let tx = tenant.begin().await?;
    let record = store::find(tx, import).await?.ok_or_else(|| not_found(import))?;
    let mut errors = store::errors(tx, import, after, limit + 1).await?;
    let next_cursor = finish_errors_page(&mut errors, limit);
    Ok(Json(RowErrorList { errors: errors.into_iter().map(Into::into).collect(), total: record.failed, next_cursor }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    status: Option<ImportStatusView>,
    kind: Option<ImportKindView>,
    /// Uploaded at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Uploaded before (RFC 3339).
    to: Option<DateTime<Utc>>,
}

impl Listed for ImportView {
    const KEY: &'static str = "imports";
    const LIST: &'static str = "ImportList";
}

pub type ImportList = Page<ImportView>;

/// Imports, newest first. Each shows its counts; failed rows are listed per import.
#[utoipa::path(
    get,
    path = "/api/imports",
    tag = "imports",
    params(PageParams, ImportQuery),
    responses((status = 200, description = "One page of imports.", body = ImportList))
)]
pub async fn list(
    mut tenant: TenantTx,
    ListQuery { page, filter: query }: ListQuery<ImportQuery>,
) -> Result<Json<ImportList>, ApiError> {
    pagination::check_range(("from", query.from), ("to", query.to))?;
    let filter = ListFilter {
        status: query.status.map(Into::into),
        kind: query.kind.map(Into::into),
        from: query.from,
        to: query.to,
        before: page.after.map(|(at, id)| (at, ImportId::from_uuid(id))),
    };
    let records = store::list(tenant.begin().await?, &filter, page.fetch_limit()).await?;
    let page = page.page(records, |last| (last.created_at, last.id.as_uuid()));
    let imports = page.items.into_iter().map(|record| view(record, Vec::new(), None)).collect();
    Ok(Json(Page { items: imports, next_cursor: page.next_cursor }))
}

/// The failed rows as a CSV file: the file's own header and fields, and the reason in a last
/// `error` column, ready to fix and upload again.
#[utoipa::path(
    get,
    path = "/api/imports/{import_id}/errors.csv",
    tag = "imports",
    params(("import_id" = Uuid, Path, description = "The import's id.")),
    responses((status = 200, description = "The failed rows with their reasons.", body = String, content_type = "text/csv; charset=utf-8"))
)]
pub async fn errors_csv(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(import_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let import = ImportId::from_uuid(import_id);
    let tx = tenant.begin().await?;
    let record = store::find(tx, import).await?.ok_or_else(|| not_found(import))?;
    let rows = ErrorsFile::new(state.pool.clone(), state.keyring.clone(), merchant.merchant_id, &record)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let stream = futures_util::stream::unfold(rows, |mut rows| async move {
        match rows.next_bytes().await {
            Ok(Some(bytes)) => Some((Ok::<Bytes, std::io::Error>(Bytes::from(bytes)), rows)),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(import = %rows.import(), error = %format!("{error:#}"), "writing the errors file failed");
                rows.abandon();
                Some((Err(std::io::Error::other("the errors file could not be completed")), rows))
            }
        }
    });
    let file_name = format!("attachment; filename=\"import-{import}-errors.csv\"");
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CSV));
    if let Ok(disposition) = HeaderValue::from_str(&file_name) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// The orders template: every column, with two example rows.
#[utoipa::path(
    get,
    path = "/api/imports/templates/orders.csv",
    tag = "imports",
    responses((status = 200, description = "An orders CSV to fill in.", body = String, content_type = "text/csv; charset=utf-8"))
)]
pub async fn orders_template(_merchant: Merchant) -> Response {
    template(ImportKind::Orders)
}

/// The products template: every column, with two example rows.
#[utoipa::path(
    get,
    path = "/api/imports/templates/products.csv",
    tag = "imports",
    responses((status = 200, description = "A products CSV to fill in.", body = String, content_type = "text/csv; charset=utf-8"))
)]
pub async fn products_template(_merchant: Merchant) -> Response {
    template(ImportKind::Products)
}

/// The customers template: every column, with two example rows.
#[utoipa::path(
    get,
    path = "/api/imports/templates/customers.csv",
    tag = "imports",
    responses((status = 200, description = "A customers CSV to fill in.", body = String, content_type = "text/csv; charset=utf-8"))
)]
pub async fn customers_template(_merchant: Merchant) -> Response {
    template(ImportKind::Customers)
}

fn template(kind: ImportKind) -> Response {
    let disposition = format!("attachment; filename=\"{kind}.csv\"");
    let mut response = recete_imports::template(kind).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CSV));
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}
