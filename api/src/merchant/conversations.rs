//! The merchant's view of WhatsApp conversations: the list (newest first), each conversation's
//! messages with who wrote them, what the agent cited and any guardrail verdict, taking a
//! conversation over from the agent, and handing it back (resolving the hand-over). Replies are
//! in [`super::replies`].

use axum::Json;
use axum::extract::State;
use recete_shared::conversations::thread::{self, ConversationMessage};
use recete_shared::conversations::{ConversationError, store};
pub use recete_shared::conversations::{ConversationState, ConversationSummary};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination::{ListQuery, Listed, Page, PageParams};
use super::replies;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The conversation routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(messages, replies::reply))
        .routes(routes!(resolve))
        .routes(routes!(take_over))
}

impl From<ConversationError> for ApiError {
    fn from(error: ConversationError) -> Self {
        match error {
            ConversationError::NotFound(_) => Self::NotFound(error.to_string()),
            ConversationError::Conflict(_) | ConversationError::WindowClosed { .. } => {
                Self::Conflict(error.to_string())
            }
            ConversationError::Database(error) => error.into(),
            ConversationError::Body(error) => Self::Internal(error.into()),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    state: Option<ConversationState>,
}

impl Listed for ConversationSummary {
    const KEY: &'static str = "conversations";
    const LIST: &'static str = "ConversationList";
}

pub type ConversationList = Page<ConversationSummary>;

/// Conversations, newest activity first.
#[utoipa::path(
    get,
    path = "/api/conversations",
    tag = "conversations",
    params(PageParams, ConversationQuery),
    responses((status = 200, description = "One page of conversations.", body = ConversationList))
)]
pub async fn list(
    mut tenant: TenantTx,
    ListQuery { page, filter: query }: ListQuery<ConversationQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    let conversations = store::list(tenant.begin().await?, query.state, page.after, page.fetch_limit()).await?;
    Ok(Json(page.page(conversations, |last| (last.last_message_at.unwrap_or(last.created_at), last.id))))
}

#[derive(Serialize, ToSchema)]
#[schema(as = ConversationMessages)]
pub struct MessageList {
    conversation: ConversationSummary,
    messages: Vec<ConversationMessage>,
}

/// A conversation and its messages, oldest first (the latest 500), decrypted, each with its
/// author and, for ours, its delivery status.
#[utoipa::path(
    get,
    path = "/api/conversations/{conversation_id}/messages",
    tag = "conversations",
    params(("conversation_id" = Uuid, Path, description = "The conversation.")),
    responses((status = 200, description = "The conversation and its messages.", body = MessageList))
)]
pub async fn messages(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<MessageList>, ApiError> {
    let tx = tenant.begin().await?;
    let conversation = store::find(tx, conversation_id).await?;
    let messages = thread::messages(tx, &state.keyring, merchant.merchant_id, conversation_id).await?;
    Ok(Json(MessageList { conversation, messages }))
}

/// Closes the hand-over: the agent answers this customer's messages again.
#[utoipa::path(
    post,
    path = "/api/conversations/{conversation_id}/resolve",
    tag = "conversations",
    params(("conversation_id" = Uuid, Path, description = "The conversation.")),
    responses(
        (status = 200, description = "Open again.", body = ConversationSummary),
        (status = 409, description = "The conversation is not handed over.", body = crate::error::Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn resolve(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<ConversationSummary>, ApiError> {
    let tx = tenant.begin().await?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    let resolved = store::resolve(tx, merchant.merchant_id, conversation_id, &actor).await?;
    Ok(Json(resolved))
}

/// Takes the conversation over from the agent before it hands over: the agent stays silent, as
/// after its own hand-over, until the conversation is resolved.
#[utoipa::path(
    post,
    path = "/api/conversations/{conversation_id}/take-over",
    tag = "conversations",
    params(("conversation_id" = Uuid, Path, description = "The conversation.")),
    responses(
        (status = 200, description = "Handed over to a person.", body = ConversationSummary),
        (status = 409, description = "The conversation is already with a person, or closed.",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn take_over(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<ConversationSummary>, ApiError> {
    let tx = tenant.begin().await?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    let taken = store::take_over(tx, merchant.merchant_id, conversation_id, &actor).await?;
    Ok(Json(taken))
}
