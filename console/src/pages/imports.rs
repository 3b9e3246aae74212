//! Imports: owners upload a CSV of orders, products or customers (a plain multipart form, with
//! drag and drop and a progress bar from `/console/assets/imports.js` where JavaScript runs);
//! everyone sees past imports, an import's status, counts and failed rows, downloads the failed
//! rows as `errors.csv` and the templates. The upload goes through the same domain path as the
//! API's (`imports.max_upload_bytes`, the same slots, sealed storage, the import task), and a
//! worker of the imports pool reads it. Another merchant's import is not found (row-level
//! security).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use recete_platform::ids::ImportId;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::imports::errors_file::ErrorsFile;
use recete_shared::imports::store::{self, ImportRecord, ListFilter, StoredRowError};
use recete_shared::imports::upload::{NewImport, Upload, UploadError};
use recete_shared::imports::{self, DateOrder, ImportKind, ImportOptions, ImportStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{CsrfInBody, check_csrf_part, commit};
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

/// Imports listed per page of the history.
const PAGE_SIZE: i64 = 25;
/// Failed rows shown per page of an import.
const ERRORS_PAGE: i64 = 50;
/// Room in a multipart body for the small fields, boundaries and part headers, beyond the file.
const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;
/// How often the progress script asks for the rows read.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// The imports routes; the upload takes bodies up to `imports.max_upload_bytes`, counted by the
/// handler itself.
pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/imports", get(list).post(upload).layer(DefaultBodyLimit::disable()))
        .route("/console/imports/templates/{file}", get(template))
        .route("/console/imports/{id}", get(detail))
        .route("/console/imports/{id}/progress", get(progress))
        .route("/console/imports/{id}/errors.csv", get(errors_csv))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    status: Option<String>,
    /// The last import of the previous page: `<created_at RFC 3339>,<id>`.
    before: Option<String>,
}

fn parse_kind(name: &str) -> Result<ImportKind, PageError> {
    name.parse().map_err(|_| PageError::BadRequest(text::unknown_import_kind(name)))
}

fn parse_before(cursor: &str) -> Result<(DateTime<Utc>, ImportId), PageError> {
    let bad = || PageError::BadRequest(text::BAD_PAGE_LINK.into());
    let (at, id) = cursor.split_once(',').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&Utc);
    let id: Uuid = id.parse().map_err(|_| bad())?;
    Ok((at, ImportId::from_uuid(id)))
}

/// The upload form, the templates and the history of imports, newest first.
pub async fn list(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let kind = query.kind.as_deref().filter(|k| !k.is_empty()).map(parse_kind).transpose()?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => {
            Some(ImportStatus::parse(name).ok_or_else(|| PageError::BadRequest(text::unknown_import_status(name)))?)
        }
        None => None,
    };
    let before = query.before.as_deref().map(parse_before).transpose()?;
    let filter = ListFilter { status, kind, from: None, to: None, before };
    let mut tx = user.transaction(&state.pool).await?;
    let mut records = store::list(&mut tx, &filter, PAGE_SIZE + 1).await?;
    commit(tx).await?;
    let more = records.len() as i64 > PAGE_SIZE;
    records.truncate(PAGE_SIZE as usize);
    let next =
        more.then(|| records.last().map(|last| format!("{},{}", last.created_at.to_rfc3339(), last.id))).flatten();
    let max_mb = state.upload_limits.max_upload_bytes.div_ceil(1024 * 1024);
    Ok(layout::page(
        text::IMPORTS,
        &user,
        Nav::Imports,
        html! {
            script src="/console/assets/imports.js" defer {}
            p.muted { (text::IMPORTS_INTRO) }
            @if user.may(Role::Owner) {
                section aria-labelledby="upload" {
                    h2 #upload { (text::UPLOAD_CSV) }
                    form.stack #upload-form method="post" action="/console/imports" enctype="multipart/form-data"
                        data-poll-ms=(POLL_EVERY.as_millis()) {
                        // First, so the server checks it before reading the file.
                        (layout::csrf_field(&user))
                        label for="kind" { (text::IMPORT_KIND) }
                        select #kind name="kind" {
                            @for kind in [ImportKind::Orders, ImportKind::Products, ImportKind::Customers] {
                                option value=(kind.as_str()) { (text::import_kind(kind)) }
                            }
                        }
                        label for="date_order" { (text::DATE_ORDER) }
                        select #date_order name="date_order" {
                            option value="day_first" { (text::DAY_FIRST) }
                            option value="month_first" { (text::MONTH_FIRST) }
                        }
                        label for="default_country" { (text::DEFAULT_COUNTRY) }
                        input #default_country type="text" name="default_country" maxlength="2" autocomplete="off"
                            aria-describedby="default_country_hint";
                        p.hint #default_country_hint { (text::DEFAULT_COUNTRY_HINT) }
                        label for="file" { (text::CSV_FILE) }
                        div.dropzone #dropzone {
                            input #file type="file" name="file" accept=".csv,text/csv" required aria-describedby="file_hint";
                            p.hint #file_hint { (text::drop_hint(max_mb)) }
                        }
                        button.primary type="submit" { (text::UPLOAD_BUTTON) }
                        div.upload-progress #upload-progress hidden {
                            label for="sent" #sent-label { (text::BYTES_SENT) }
                            progress #sent max="100" value="0" {}
                            label for="rows" #rows-label { (text::ROWS_READ) }
                            progress #rows max="100" value="0" {}
                            p #upload-status role="status" aria-live="polite" {}
                        }
                    }
                }
            } @else {
                p.hint { (text::ONLY_OWNERS_UPLOAD) }
            }
            section aria-labelledby="templates" {
                h2 #templates { (text::TEMPLATES) }
                p.muted { (text::TEMPLATES_INTRO) }
                ul {
                    @for kind in [ImportKind::Orders, ImportKind::Products, ImportKind::Customers] {
                        li { a href=(format!("/console/imports/templates/{}.csv", kind.as_str())) download { (kind.as_str()) ".csv" } }
                    }
                }
            }
            section aria-labelledby="history" {
                h2 #history { (text::IMPORT_HISTORY) }
                form.filters method="get" action="/console/imports" {
                    label for="filter-kind" { (text::IMPORT_KIND) }
                    select #filter-kind name="kind" {
                        option value="" { (text::FILTER_ANY) }
                        @for k in [ImportKind::Orders, ImportKind::Products, ImportKind::Customers] {
                            option value=(k.as_str()) selected[kind == Some(k)] { (text::import_kind(k)) }
                        }
                    }
                    label for="filter-status" { (text::STATUS) }
                    select #filter-status name="status" {
                        option value="" { (text::FILTER_ANY) }
                        @for s in [ImportStatus::Queued, ImportStatus::Running, ImportStatus::Completed, ImportStatus::Failed] {
                            option value=(s.as_str()) selected[status == Some(s)] { (text::import_status(s)) }
                        }
                    }
                    button type="submit" { (text::FILTER) }
                }
                @if records.is_empty() {
                    p { (text::NO_IMPORTS) }
                } @else {
                    (history(&records))
                }
                @if let Some(next) = next {
                    p { a href=(next_page_href(kind, status, &next)) { (text::OLDER) } }
                }
            }
        },
    ))
}

fn next_page_href(kind: Option<ImportKind>, status: Option<ImportStatus>, before: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(kind) = kind {
        query.append_pair("kind", kind.as_str());
    }
    if let Some(status) = status {
        query.append_pair("status", status.as_str());
    }
    query.append_pair("before", before);
    format!("/console/imports?{}", query.finish())
}

fn history(records: &[ImportRecord]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (text::UPLOADED) } th scope="col" { (text::IMPORT_KIND) } th scope="col" { (text::FILE) }
                th scope="col" { (text::STATUS) } th scope="col" { (text::ROWS) } th scope="col" { (text::FAILED_ROWS) }
                th scope="col" { (text::UPLOADED_BY) }
            } }
            tbody {
                @for record in records {
                    tr {
                        td data-label=(text::UPLOADED) { a href=(format!("/console/imports/{}", record.id)) { (layout::time(record.created_at)) } }
                        td data-label=(text::IMPORT_KIND) { (text::import_kind(record.kind())) }
                        td data-label=(text::FILE) { (record.file_name.as_deref().unwrap_or(text::NO_FILE_NAME)) }
                        td data-label=(text::STATUS) { (text::import_status(record.status())) }
                        td data-label=(text::ROWS) { (rows_of(record)) }
                        td data-label=(text::FAILED_ROWS) { (record.failed) }
                        td data-label=(text::UPLOADED_BY) { (record.created_by) }
                    }
                }
            }
        }
    }
}

/// `120 of 300`, or `120` while the total is unknown.
fn rows_of(record: &ImportRecord) -> String {
    match record.total_rows {
        Some(total) => text::of(record.records_done, total),
        None => record.records_done.to_string(),
    }
}

/// An id in a path; one that is not a UUID names no import.
fn import_id(id: &str) -> Result<ImportId, PageError> {
    id.parse::<Uuid>().map(ImportId::from_uuid).map_err(|_| PageError::NotFound(text::NO_SUCH_IMPORT.into()))
}

async fn find(state: &ConsoleState, user: &ConsoleUser, id: ImportId) -> Result<ImportRecord, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let record = store::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_IMPORT.into()))?;
    commit(tx).await?;
    Ok(record)
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// The line after which failed rows are shown.
    after: Option<i64>,
}

/// One import: status, counts, failed rows (row, column, message) and the errors file.
pub async fn detail(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Result<Markup, PageError> {
    let id = import_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let record = store::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_IMPORT.into()))?;
    let mut errors = store::errors(&mut tx, id, query.after, ERRORS_PAGE + 1).await?;
    commit(tx).await?;
    let more = errors.len() as i64 > ERRORS_PAGE;
    errors.truncate(ERRORS_PAGE as usize);
    let next = more.then(|| errors.last().map(|last| last.line)).flatten();
    let status = record.status();
    let base = format!("/console/imports/{id}");
    let title = text::import_title(record.kind(), record.file_name.as_deref());
    Ok(layout::page(
        &title,
        &user,
        Nav::Imports,
        html! {
            script src="/console/assets/imports.js" defer {}
            p { a href="/console/imports" { (text::BACK_TO_IMPORTS) } }
            dl #import-summary data-progress-url=[(!status.is_final()).then(|| format!("{base}/progress"))]
                data-poll-ms=(POLL_EVERY.as_millis()) {
                dt { (text::STATUS) } dd #import-status { (text::import_status(status)) }
                dt { (text::ROWS) } dd #import-rows { (rows_of(&record)) }
                dt { (text::IMPORTED) } dd { (record.imported) }
                dt { (text::SKIPPED) } dd { (record.skipped) }
                dt { (text::FAILED_ROWS) } dd { (record.failed) }
                dt { (text::UPLOADED) } dd { (layout::time(record.created_at)) }
                dt { (text::UPLOADED_BY) } dd { (record.created_by) }
                @if let Some(finished) = record.finished_at { dt { (text::FINISHED) } dd { (layout::time(finished)) } }
                @if let Some(profile) = &record.profile { dt { (text::RECOGNISED_AS) } dd { (profile) } }
                @if !record.ignored_columns.is_empty() {
                    dt { (text::IGNORED_COLUMNS) } dd { (record.ignored_columns.join(", ")) }
                }
            }
            @if !status.is_final() {
                progress #import-progress max="100" value=(format!("{:.0}", record.progress() * 100.0)) aria-label=(text::ROWS_READ) {}
                p.hint { (text::STILL_RUNNING) " " a href=(base.as_str()) { (text::REFRESH) } }
            }
            @if let Some(reason) = &record.failure_reason { (layout::flash(&text::import_failed(reason), false)) }
            section aria-labelledby="row-errors" {
                h2 #row-errors { (text::ROW_ERRORS) }
                @if record.failed > 0 {
                    p { a href=(format!("{base}/errors.csv")) download { (text::DOWNLOAD_ERRORS_CSV) } " " span.hint { (text::ERRORS_CSV_HINT) } }
                }
                @if errors.is_empty() {
                    p { (text::NO_ROW_ERRORS) }
                } @else {
                    (errors_table(&errors))
                    @if let Some(line) = next {
                        p { a href=(format!("{base}?after={line}")) { (text::MORE_ROW_ERRORS) } }
                    }
                }
            }
        },
    ))
}

fn errors_table(errors: &[StoredRowError]) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { (text::ROW) } th scope="col" { (text::COLUMN) } th scope="col" { (text::VALUE) } th scope="col" { (text::MESSAGE) } } }
            tbody {
                @for error in errors {
                    tr {
                        td data-label=(text::ROW) { (error.line) }
                        td data-label=(text::COLUMN) { (error.column_name.as_deref().unwrap_or(text::WHOLE_ROW)) }
                        td data-label=(text::VALUE) { (error.value.as_deref().unwrap_or("")) }
                        td data-label=(text::MESSAGE) { (error.message) }
                    }
                }
            }
        }
    }
}

/// What the progress script polls.
#[derive(Debug, Serialize)]
pub struct Progress {
    status: &'static str,
    /// Whether nothing more will happen.
    done: bool,
    processed: i64,
    total: Option<i64>,
    imported: i64,
    skipped: i64,
    failed: i64,
    /// Share of the file read, 0 to 1.
    progress: f64,
    /// The words for the status line.
    summary: String,
}

/// The import's counts as JSON, for the progress bar.
pub async fn progress(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Json<Progress>, PageError> {
    let record = find(&state, &user, import_id(&id)?).await?;
    let status = record.status();
    Ok(Json(Progress {
        status: status.as_str(),
        done: status.is_final(),
        processed: record.records_done,
        total: record.total_rows,
        imported: record.imported,
        skipped: record.skipped,
        failed: record.failed,
        progress: record.progress(),
        summary: text::progress_summary(text::import_status(status), &rows_of(&record), record.failed),
    }))
}

/// The failed rows as a CSV file to fix and upload again.
pub async fn errors_csv(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let record = find(&state, &user, import_id(&id)?).await?;
    let file =
        ErrorsFile::new(state.pool.clone(), state.keyring.clone(), user.merchant_id, &record).map_err(|error| {
            tracing::error!(%error, "console: cannot start an errors file");
            PageError::Internal
        })?;
    let disposition = format!("attachment; filename=\"{}\"", file.file_name());
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        match file.next_bytes().await {
            Ok(Some(bytes)) => Some((Ok::<Bytes, std::io::Error>(Bytes::from(bytes)), file)),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(import = %file.import(), error = %format!("{error:#}"), "console: writing the errors file failed");
                file.abandon();
                Some((Err(std::io::Error::other("the errors file could not be completed")), file))
            }
        }
    });
    Ok(csv_response(Body::from_stream(stream), &disposition))
}

fn csv_response(body: Body, disposition: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(disposition) = HeaderValue::from_str(disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// `orders.csv`, `products.csv`, `customers.csv`: every column, with two example rows.
pub async fn template(_user: ConsoleUser, Path(file): Path<String>) -> Result<Response, PageError> {
    let name = file.strip_suffix(".csv").ok_or_else(|| PageError::NotFound(text::no_page(&file)))?;
    let kind: ImportKind = name.parse().map_err(|_| PageError::NotFound(text::no_page(&file)))?;
    let disposition = format!("attachment; filename=\"{kind}.csv\"");
    Ok(csv_response(Body::from(recete_imports::template(kind)), &disposition))
}

/// The small fields of the upload form, read as they come.
#[derive(Default)]
struct UploadFields {
    kind: Option<String>,
    date_order: Option<String>,
    default_country: Option<String>,
    plan_followups: bool,
}

impl UploadFields {
    fn options(&self) -> Result<(ImportKind, ImportOptions), PageError> {
        let kind = parse_kind(self.kind.as_deref().unwrap_or_default())?;
        let date_order = match self.date_order.as_deref().unwrap_or("day_first") {
            "day_first" | "" => DateOrder::DayFirst,
            "month_first" => DateOrder::MonthFirst,
            other => return Err(PageError::BadRequest(text::unknown_date_order(other))),
        };
        let default_country = match self.default_country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                Some(imports::country_code(code).ok_or_else(|| PageError::BadRequest(text::bad_country(code)))?)
            }
            None => None,
        };
        let plan_followups = self.plan_followups && kind == ImportKind::Orders;
        Ok((kind, ImportOptions { plan_followups, default_country, date_order }))
    }
}

/// Takes the file (streamed into sealed storage as it arrives, never held whole), queues the
/// import and sends the browser to its page.
pub async fn upload(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    request: Request,
) -> Result<Response, PageError> {
    let csrf_in_body = request.extensions().get::<CsrfInBody>().is_some();
    user.require(Role::Owner, text::ACTION_UPLOAD)?;
    let limits = state.upload_limits.clone();
    let limit = limits.max_upload_bytes;
    let _slot = limits
        .slots
        .try_take(user.merchant_id)
        .map_err(|refusal| PageError::TooManyRequests { message: refusal.detail(), retry_after_secs: 10 })?;
    let (parts, body) = request.into_parts();
    let bounded = Body::new(http_body_util::Limited::new(body, limit.saturating_add(MULTIPART_OVERHEAD_BYTES)));
    let mut multipart = Multipart::from_request(Request::from_parts(parts, bounded), &state)
        .await
        .map_err(|rejection| PageError::BadRequest(text::not_a_file_upload(&rejection.body_text())))?;
    let mut upload = Upload::begin(&state.pool, &state.keyring, user.merchant_id, limit, limits.chunk_bytes)
        .await
        .map_err(|error| upload_error(error, limit))?;
    let mut fields = UploadFields::default();
    let mut file_name = None;
    let mut found = false;
    let mut first = true;
    let mut small_bytes = 0_usize;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| multipart_error(&e, limit))? {
        let name = field.name().unwrap_or_default().to_owned();
        if std::mem::take(&mut first) && csrf_in_body {
            let given = if name == crate::signed_in::CSRF_FIELD {
                Some(field.text().await.map_err(|e| multipart_error(&e, limit))?)
            } else {
                None
            };
            check_csrf_part(&user.csrf, given.as_deref())?;
            continue;
        }
        if name == "file" && !found {
            found = true;
            file_name = field.file_name().map(|name| name.chars().take(255).collect::<String>());
            while let Some(bytes) = field.chunk().await.map_err(|e| multipart_error(&e, limit))? {
                upload.write(&bytes).await.map_err(|error| upload_error(error, limit))?;
            }
            continue;
        }
        let value = field.text().await.map_err(|e| multipart_error(&e, limit))?;
        small_bytes += value.len();
        if small_bytes > MULTIPART_OVERHEAD_BYTES {
            return Err(PageError::BadRequest(text::form_too_large(MULTIPART_OVERHEAD_BYTES)));
        }
        match name.as_str() {
            "kind" => fields.kind = Some(value),
            "date_order" => fields.date_order = Some(value),
            "default_country" => fields.default_country = Some(value),
            "plan_followups" => fields.plan_followups = matches!(value.as_str(), "on" | "true" | "1"),
            _ => {}
        }
    }
    if first && csrf_in_body {
        return Err(PageError::CrossSite(text::CSRF_MISSING.into()));
    }
    if !found {
        return Err(PageError::BadRequest(text::NO_FILE_SENT.into()));
    }
    if upload.byte_size() == 0 {
        return Err(PageError::BadRequest(text::EMPTY_FILE.into()));
    }
    let (kind, options) = fields.options()?;
    let actor = user.actor();
    let stored = upload
        .finish(NewImport { kind, options: &options, file_name: file_name.as_deref(), created_by: &actor })
        .await
        .map_err(|error| upload_error(error, limit))?;
    let mut tx = user.transaction(&state.pool).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &actor,
            action: "import.uploaded",
            subject_type: "import",
            subject_id: stored.id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "kind": kind.as_str(), "byte_size": stored.byte_size })),
        },
    )
    .await?;
    commit(tx).await?;
    Ok(Redirect::to(&format!("/console/imports/{}", stored.id)).into_response())
}

fn upload_error(error: UploadError, limit: usize) -> PageError {
    match error {
        UploadError::TooLarge { .. } => PageError::BadRequest(text::file_too_large(limit)),
        UploadError::Spool(error) => {
            tracing::error!(%error, "console: cannot spool an upload");
            PageError::Internal
        }
        UploadError::Database(error) => error.into(),
    }
}

fn multipart_error(error: &axum::extract::multipart::MultipartError, limit: usize) -> PageError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return PageError::BadRequest(text::file_too_large(limit));
    }
    PageError::BadRequest(text::not_a_file_upload(&error.body_text()))
}
