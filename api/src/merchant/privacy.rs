//! Customers' privacy requests: export everything held about a customer, erase it, and look up
//! past requests (including those a store's privacy webhook made, whose export document the
//! merchant fetches here to hand to the customer).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use recete_platform::ids::CustomerId;
use recete_privacy::customer_requests::{self, ExportOutcome};
use recete_privacy::export::ExportDocument;
use recete_privacy::requests::{self, PrivacyRequest, RequestFilter, RequestKind, RequestStatus};
use recete_privacy::subject::{self, Subject, SubjectError};
use recete_privacy::{Channel, Counts, PrivacyError};
use serde::{Deserialize, Serialize};
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

const MAX_PHONE_CHARS: usize = 32;
const MAX_EMAIL_CHARS: usize = 254;

/// The privacy routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_customer))
        .routes(routes!(erase_customer))
        .routes(routes!(list))
        .routes(routes!(show))
}

/// Names the customer by exactly one of our id, a phone or an email.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSelector {
    customer_id: Option<Uuid>,
    phone: Option<String>,
    email: Option<String>,
}

/// Documented as what it accepts: an object with exactly one of the three fields.
impl utoipa::PartialSchema for CustomerSelector {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
        };
        let only = |name: &str, value: ObjectBuilder, description: &str| {
            ObjectBuilder::new()
                .property(name, value.description(Some(description)))
                .required(name)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        let text =
            |max: usize| ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(max));
        let uuid =
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        OneOfBuilder::new()
            .item(only("customer_id", uuid, "Our id of the customer."))
            .item(only(
                "phone",
                text(MAX_PHONE_CHARS),
                "The customer's phone; a number without `+` is read in the merchant's default phone country.",
            ))
            .item(only("email", text(MAX_EMAIL_CHARS), "The customer's email address."))
            .description(Some("The customer, by exactly one of our id, a phone or an email."))
            .into()
    }
}

impl ToSchema for CustomerSelector {}

impl CustomerSelector {
    fn subject(self) -> Result<Subject, ApiError> {
        let invalid = |field: &str, detail: String| ApiError::InvalidField { field: field.into(), detail };
        let out_of_bounds = |value: &str, max: usize| value.is_empty() || value.chars().count() > max;
        match (self.customer_id, self.phone, self.email) {
            (Some(id), None, None) => Ok(Subject::Id(CustomerId::from_uuid(id))),
            (None, Some(phone), None) if out_of_bounds(&phone, MAX_PHONE_CHARS) => {
                Err(invalid("phone", format!("must be 1 to {MAX_PHONE_CHARS} characters")))
            }
            (None, Some(phone), None) => Ok(Subject::Phone(phone)),
            (None, None, Some(email)) if out_of_bounds(&email, MAX_EMAIL_CHARS) => {
                Err(invalid("email", format!("must be 1 to {MAX_EMAIL_CHARS} characters")))
            }
            (None, None, Some(email)) => Ok(Subject::Email(email)),
            (None, None, None) => Err(invalid("customer_id", "give one of customer_id, phone or email".into())),
            (_, _, Some(_)) => Err(invalid("email", "give only one of customer_id, phone or email".into())),
            (Some(_), Some(_), None) => Err(invalid("phone", "give only one of customer_id, phone or email".into())),
        }
    }
}

fn described(subject: &Subject) -> String {
    match subject {
        Subject::Id(id) => format!("no customer {id}"),
        Subject::Phone(_) => "no customer with this phone number".to_owned(),
        Subject::Email(_) => "no customer with this email address".to_owned(),
    }
}

/// A phone or email that cannot be read matches no one: the answer says so, and why, without
/// repeating the value.
fn subject_error(error: SubjectError) -> ApiError {
    match error {
        SubjectError::Phone(reason) => ApiError::NotFound(format!("no customer with this phone number ({reason})")),
        SubjectError::Email => {
            ApiError::NotFound("no customer with this email address (it is not shaped like one)".into())
        }
        SubjectError::Database(error) => ApiError::from(error),
    }
}

fn privacy_error(error: PrivacyError) -> ApiError {
    match error {
        PrivacyError::Database(error) => ApiError::from(error),
        other => ApiError::Internal(other.into()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExportResponse {
    /// The privacy request this export was recorded as.
    request_id: Uuid,
    counts: Counts,
    document: ExportDocument,
}

/// Everything held about a customer, opened, as one document to hand to them.
#[utoipa::path(
    post,
    path = "/api/customers/export",
    tag = "privacy",
    request_body = CustomerSelector,
    responses((status = 200, description = "The customer's data. An erased customer answers 404.", body = ExportResponse))
)]
pub async fn export_customer(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(selector): JsonBody<CustomerSelector>,
) -> Result<Json<ExportResponse>, ApiError> {
    let subject = selector.subject()?;
    let tx = tenant.begin().await?;
    let matched = subject::find(tx, &state.keyring, merchant.merchant_id, &subject).await.map_err(subject_error)?;
    if matched.is_empty() {
        return Err(ApiError::NotFound(described(&subject)));
    }
    let channel = Channel::Api { api_key_id: merchant.api_key_id };
    let outcome = customer_requests::export(tx, &state.keyring, merchant.merchant_id, &channel, &matched)
        .await
        .map_err(privacy_error)?;
    let (request_id, counts, document) = match outcome {
        ExportOutcome::Exported { request_id, counts, document } => (request_id, counts, *document),
        ExportOutcome::Erased { on } => {
            return Err(ApiError::NotFound(format!(
                "the customer was erased on {}; nothing that names them is held",
                on.map(|at| at.format("%Y-%m-%d").to_string()).unwrap_or_default()
            )));
        }
    };
    Ok(Json(ExportResponse { request_id, counts, document }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureOutcome {
    /// The customer's data was erased now.
    Erased,
    /// An earlier request had erased it; anything that arrived since was erased too.
    AlreadyErased,
}

#[derive(Serialize, ToSchema)]
pub struct ErasureResponse {
    /// The privacy request this erasure was recorded as.
    request_id: Uuid,
    outcome: ErasureOutcome,
    /// Our ids of the customers erased; their rows stay as anonymous shells.
    customer_ids: Vec<Uuid>,
    counts: Counts,
}

/// Erases a customer: personal fields, message texts and the webhooks that named them go,
/// pending follow-ups are cancelled, and what aggregate figures need stays, naming no one.
#[utoipa::path(
    post,
    path = "/api/customers/erase",
    tag = "privacy",
    request_body = CustomerSelector,
    responses((status = 200, description = "Erased, now or by an earlier request.", body = ErasureResponse))
)]
pub async fn erase_customer(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(selector): JsonBody<CustomerSelector>,
) -> Result<Json<ErasureResponse>, ApiError> {
    let subject = selector.subject()?;
    let tx = tenant.begin().await?;
    let matched = subject::find(tx, &state.keyring, merchant.merchant_id, &subject).await.map_err(subject_error)?;
    if matched.is_empty() {
        return Err(ApiError::NotFound(described(&subject)));
    }
    let channel = Channel::Api { api_key_id: merchant.api_key_id };
    let erased = customer_requests::erase(tx, &state.keyring, merchant.merchant_id, &channel, &matched)
        .await
        .map_err(privacy_error)?;
    let outcome = if erased.already_erased { ErasureOutcome::AlreadyErased } else { ErasureOutcome::Erased };
    let customer_ids = erased.customers.iter().map(CustomerId::as_uuid).collect();
    let (request_id, counts) = (erased.request_id, erased.counts);
    Ok(Json(ErasureResponse { request_id, outcome, customer_ids, counts }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    kind: Option<RequestKind>,
    status: Option<RequestStatus>,
    /// Requests made at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Requests made before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

impl Listed for PrivacyRequest {
    const KEY: &'static str = "privacy_requests";
    const LIST: &'static str = "PrivacyRequestList";
}

pub type PrivacyRequestList = Page<PrivacyRequest>;

/// Privacy requests, newest first, whoever made them.
#[utoipa::path(
    get,
    path = "/api/privacy-requests",
    tag = "privacy",
    params(PageParams, RequestQuery),
    responses((status = 200, description = "One page of privacy requests.", body = PrivacyRequestList))
)]
pub async fn list(
    mut tenant: TenantTx,
    ListQuery { page, filter: query }: ListQuery<RequestQuery>,
) -> Result<Json<PrivacyRequestList>, ApiError> {
    pagination::check_range(("from", query.from), ("to", query.to))?;
    let filter = RequestFilter { kind: query.kind, status: query.status, from: query.from, to: query.to };
    let privacy_requests = requests::list(tenant.begin().await?, &filter, page.after, page.fetch_limit()).await?;
    Ok(Json(page.page(privacy_requests, PrivacyRequest::sort_key)))
}

#[derive(Serialize, ToSchema)]
pub struct PrivacyRequestDetail {
    #[serde(flatten)]
    request: PrivacyRequest,
    /// The export document a store's data request asked for, opened; absent for other requests
    /// and once the customer was erased.
    document: Option<ExportDocument>,
}

/// One privacy request, with its export document when one is kept.
#[utoipa::path(
    get,
    path = "/api/privacy-requests/{id}",
    tag = "privacy",
    params(("id" = Uuid, Path, description = "The privacy request's id.")),
    responses((status = 200, description = "The privacy request.", body = PrivacyRequestDetail))
)]
pub async fn show(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(id): Path<Uuid>,
) -> Result<Json<PrivacyRequestDetail>, ApiError> {
    let found =
        requests::find(tenant.begin().await?, &state.keyring, merchant.merchant_id, id).await.map_err(privacy_error)?;
    let (request, document) = found.ok_or_else(|| ApiError::NotFound(format!("no privacy request {id}")))?;
    Ok(Json(PrivacyRequestDetail { request, document }))
}
