//! The merchant's customers: the list (newest first, filtered by consent, creation time, phone or
//! email) and one customer with their orders and conversation at a glance.
//!
//! A dashboard needs to recognise a customer, so the name and email (the store's own data) are
//! opened; the phone number is the key to the customer's WhatsApp and is never shown whole, only
//! its country code and last two digits. Phone and email filters are matched through the keyed
//! lookup hashes, so the values asked for are neither stored nor logged.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use recete_shared::customers::lookup::{self, LookupError};
use recete_shared::customers::read::{self, ConsentState, Customer, CustomerFilter, ReadError};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination::{self, ListQuery, Listed, Page, PageParams};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The customer routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    consent: Option<ConsentState>,
    /// Customers first seen at or after this time (RFC 3339).
    created_from: Option<DateTime<Utc>>,
    /// Customers first seen before this time (RFC 3339).
    created_to: Option<DateTime<Utc>>,
    /// Exact match on the phone number, in any usual format; a number without `+` is read in the
    /// merchant's default phone country.
    #[param(min_length = 1, max_length = 32)]
    phone: Option<String>,
    /// Exact match on the email address, case-insensitive.
    #[param(format = Email, max_length = 254)]
    email: Option<String>,
}

impl Listed for Customer {
    const KEY: &'static str = "customers";
    const LIST: &'static str = "CustomerList";
}

pub type CustomerList = Page<Customer>;

/// Customers, newest first.
#[utoipa::path(
    get,
    path = "/api/customers",
    tag = "customers",
    params(PageParams, CustomerQuery),
    responses((status = 200, description = "One page of customers.", body = CustomerList))
)]
pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    ListQuery { page, filter: query }: ListQuery<CustomerQuery>,
    mut tenant: TenantTx,
) -> Result<Json<CustomerList>, ApiError> {
    pagination::check_range(("created_from", query.created_from), ("created_to", query.created_to))?;
    let email_lookup = query
        .email
        .as_deref()
        .map(|raw| lookup::email_lookups(&state.keyring, raw))
        .transpose()
        .map_err(lookup_error)?;
    let tx = tenant.begin().await?;
    let phone_lookup = match query.phone.as_deref() {
        Some(raw) => {
            Some(lookup::phone_lookups(tx, &state.keyring, merchant.merchant_id, raw).await.map_err(lookup_error)?)
        }
        None => None,
    };
    let filter = CustomerFilter {
        consent: query.consent,
        created_from: query.created_from,
        created_to: query.created_to,
        phone_lookups: phone_lookup,
        email_lookups: email_lookup,
    };
    let customers = read::list(tx, &state.keyring, merchant.merchant_id, &filter, page.after, page.fetch_limit())
        .await
        .map_err(read_error)?;
    Ok(Json(page.page(customers, Customer::sort_key)))
}

/// One customer.
#[utoipa::path(
    get,
    path = "/api/customers/{customer_id}",
    tag = "customers",
    params(("customer_id" = Uuid, Path, description = "Our id of the customer.")),
    responses((status = 200, description = "The customer.", body = Customer))
)]
pub async fn show(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(customer_id): Path<Uuid>,
    mut tenant: TenantTx,
) -> Result<Json<Customer>, ApiError> {
    let tx = tenant.begin().await?;
    let customer = read::find(tx, &state.keyring, merchant.merchant_id, customer_id).await.map_err(read_error)?;
    let customer = customer.ok_or_else(|| ApiError::NotFound(format!("no customer {customer_id}")))?;
    Ok(Json(customer))
}

fn read_error(error: ReadError) -> ApiError {
    match error {
        ReadError::Database(error) => ApiError::from(error),
        sealed @ ReadError::Sealed { .. } => ApiError::Internal(sealed.into()),
    }
}

/// A phone or email filter that cannot be read names its field; the problem never repeats the value.
fn lookup_error(error: LookupError) -> ApiError {
    match error.field() {
        Some(field) => ApiError::InvalidField { field: field.into(), detail: error.to_string() },
        None => match error {
            LookupError::Database(error) => ApiError::from(error),
            other => ApiError::Internal(other.into()),
        },
    }
}
