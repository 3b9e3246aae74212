//! A person's reply to a customer: free-form text while the customer's 24-hour service window is
//! open, an approved template at any time.
//!
//! The reply becomes a `reply` task on the messages queue and, in the same transaction, its
//! message row (`queued`, keyed `task:<task id>` like every send), so it is in the thread at once
//! and the messages pool sends it exactly once, under the per-number rate limit, moving it to
//! `sent`, `delivered`, `read` or `failed` as Meta reports. Texts and template parameters are
//! sealed in the task payload; the plain text never sits in `scheduled_tasks`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ConversationError, ConversationState, store};
use crate::audit::{self, AuditEntry};
use crate::message_bodies;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId, TaskId};

/// WhatsApp's limit on a text message's body.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest template parameter accepted.
pub const MAX_PARAMETER_CHARS: usize = 1024;

/// An approved WhatsApp template and its body parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateReply {
    /// The template's name as approved in WhatsApp Manager (`order_update`).
    pub name: String,
    /// Its language code (`en`, `en_US`, `tr`).
    pub language: String,
    /// Values of `{{1}}`, `{{2}}`... of the template's body.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// What a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyContent {
    Text(String),
    Template(TemplateReply),
}

/// A reply to send.
pub struct NewReply<'a> {
    pub merchant: MerchantId,
    pub conversation_id: Uuid,
    /// `merchant:<key id>` or `user:<console user id>`: shown beside the message.
    pub author: &'a str,
    /// Who acted, for the audit trail (`api-key:<id>`, `user:<email>`).
    pub actor: &'a str,
    pub content: &'a ReplyContent,
}

/// The reply as accepted: queued for the messages pool. Holds no personal data, so it can be
/// kept as the answer to a repeated request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueuedReply {
    /// The message's id in `GET /api/conversations/{id}/messages`.
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `merchant:<API key id>` (or `user:<console user id>` from the console).
    pub author: String,
    /// `text` or `template`.
    pub kind: String,
    pub template_name: Option<String>,
    /// `queued`: the messages pool sends it next.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Recipient {
    customer_id: CustomerId,
    whatsapp_consent: String,
    erased: bool,
}

/// Checks the conversation and the window, then queues the reply.
pub async fn send(tx: &mut Tx, keyring: &Keyring, reply: &NewReply<'_>) -> Result<QueuedReply, ConversationError> {
    let conversation = store::lock(tx, reply.conversation_id).await?;
    if conversation.state == ConversationState::Closed {
        return Err(ConversationError::Conflict(format!("conversation {} is closed", reply.conversation_id)));
    }
    let recipient: Recipient = sqlx::query_as(
        "SELECT c.customer_id, cu.whatsapp_consent, cu.erased_at IS NOT NULL AS erased
         FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1",
    )
    .bind(reply.conversation_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ConversationError::NotFound(reply.conversation_id))?;
    if recipient.erased {
        return Err(ConversationError::Conflict("the customer's data was erased; there is nobody to message".into()));
    }
    let (kind, template_name, body, task_content) = match reply.content {
        ReplyContent::Text(text) => {
            let now = Utc::now();
            if conversation.window_expires_at.is_none_or(|expires| expires <= now) {
                return Err(ConversationError::WindowClosed { closed_at: conversation.window_expires_at });
            }
            let sealed = json!({ "text_sealed": message_bodies::seal_for_payload(keyring, reply.merchant, text) });
            ("text", None, Some(text.as_str()), sealed)
        }
        ReplyContent::Template(template) => {
            if recipient.whatsapp_consent == "revoked" {
                return Err(ConversationError::Conflict(
                    "the customer opted out of WhatsApp messages; a template would message them unasked".into(),
                ));
            }
            let parameters = serde_json::to_string(&template.parameters).unwrap_or_else(|_| "[]".to_owned());
            let sealed = json!({ "template": {
                "name": template.name,
                "language": template.language,
                "parameters_sealed": message_bodies::seal_for_payload(keyring, reply.merchant, &parameters),
            }});
            ("template", Some(template.name.as_str()), None, sealed)
        }
    };
    let task_id = TaskId::generate();
    let message_id = Uuid::now_v7();
    let mut payload = json!({
        "conversation_id": reply.conversation_id,
        "author": reply.author,
        "metadata": {},
    });
    if let (Some(fields), serde_json::Value::Object(content)) = (payload.as_object_mut(), task_content) {
        fields.extend(content);
    }
    sqlx::query(
        "INSERT INTO scheduled_tasks (id, merchant_id, kind, customer_id, unique_key, due_at, payload)
         VALUES ($1, $2, 'reply', $3, $4, now(), $5)",
    )
    .bind(task_id)
    .bind(reply.merchant)
    .bind(recipient.customer_id)
    .bind(format!("merchant-reply:{message_id}"))
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    let sealed = body.map(|text| keyring.seal(text.as_bytes(), &message_bodies::context(reply.merchant)));
    let created_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO messages (id, merchant_id, conversation_id, customer_id, scheduled_task_id, direction, kind, author,
             pii_key_id, body_sealed, template_name, idempotency_key, status, status_at, proactive)
         VALUES ($1, $2, $3, $4, $5, 'outbound', $6, $7, $8, $9, $10, $11, 'queued', now(), false)
         RETURNING created_at",
    )
    .bind(message_id)
    .bind(reply.merchant)
    .bind(reply.conversation_id)
    .bind(recipient.customer_id)
    .bind(task_id)
    .bind(kind)
    .bind(reply.author)
    .bind(sealed.as_ref().map(|s| s.key_id.clone()))
    .bind(sealed.map(|s| s.bytes))
    .bind(template_name)
    .bind(format!("task:{task_id}"))
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE conversations SET last_message_at = greatest(coalesce(last_message_at, $2), $2) WHERE id = $1")
        .bind(reply.conversation_id)
        .bind(created_at)
        .execute(&mut **tx)
        .await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(reply.merchant),
            actor: reply.actor,
            action: "conversation.replied",
            subject_type: "conversation",
            subject_id: reply.conversation_id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({ "message_id": message_id, "kind": kind, "template_name": template_name })),
        },
    )
    .await?;
    Ok(QueuedReply {
        id: message_id,
        conversation_id: reply.conversation_id,
        author: reply.author.to_owned(),
        kind: kind.to_owned(),
        template_name: template_name.map(str::to_owned),
        status: "queued".to_owned(),
        created_at,
    })
}

/// A template reply's parameters, opened from its task payload.
pub fn open_template_parameters(
    keyring: &Keyring,
    merchant: MerchantId,
    sealed: &serde_json::Value,
) -> Result<Vec<String>, message_bodies::BodyError> {
    let text = message_bodies::open_from_payload(keyring, merchant, sealed)?;
    serde_json::from_str(&text).map_err(|_| message_bodies::BodyError::Malformed)
}
