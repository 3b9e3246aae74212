//! The messages pool: follow-ups and replies go out exactly once, at a moment the customer would
//! welcome.
//!
//! A task is decided by [`recete_shared::followups::timing::decide`] (cancel, defer, or send).
//! Sending writes the message row first, with a unique key per task, and commits it; only then
//! is the Cloud API called. A retry finds the row: already sent means done; a send whose outcome
//! is unknown (a timeout) waits `whatsapp.unknown_outcome_wait_secs` for Meta's status webhook,
//! which carries our message id, before it sends again. The customer never sees two copies.
//! A person's reply comes with its row already written (`queued`, so the merchant sees it at
//! once); the send reuses that row, and a task cancelled instead marks it `skipped` with why.

mod render;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use chrono::Utc;
use chrono_tz::Tz;
use recete_jobs::TaskJob;
use recete_jobs::claims::{self, TaskClaim};
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_messaging::messages::{self, Failed, Sending};
use recete_messaging::whatsapp::limits::Limits;
use recete_messaging::whatsapp::{Content, OutgoingMessage, SendError, Sender};
use recete_platform::config::{PoolSettings, WhatsAppSettings};
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{CustomerId, MerchantId, TaskId};
use recete_platform::redis_client::RedisClient;
use recete_shared::consent::{self, ConsentChange};
use recete_shared::conversations::{self, author};
use recete_shared::customers::{self, ContactField, CustomerRow};
use recete_shared::followups::planning;
use recete_shared::followups::timing::{self, Consent, Decision, TimingInput};
use recete_shared::followups::zones;
use recete_shared::merchant_events::{self, MerchantEvent, MessageFailed};
use recete_shared::merchants;
use recete_shared::orders::OrderStatus;
use recete_shared::tasks::finish;
use recete_shared::{integrations, orders};
use sqlx::PgPool;
use uuid::Uuid;

use crate::WorkerDeps;
use crate::whatsapp::message_context;

const ACTOR: &str = "worker:messages";
/// A wait this short for a rate limit is slept through; a longer one defers the task.
const INLINE_WAIT: Duration = Duration::from_millis(1500);

#[derive(Clone)]
pub struct MessageDeps {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub sender: Sender,
    pub redis: RedisClient,
    pub limits: Arc<Limits>,
    /// One multiplexed connection for every job's rate-limit checks, opened on first use.
    connection: Arc<tokio::sync::OnceCell<redis::aio::ConnectionManager>>,
    pub whatsapp: WhatsAppSettings,
    pub settings: PoolSettings,
}

impl MessageDeps {
    pub fn new(deps: &WorkerDeps, settings: PoolSettings) -> Self {
        let whatsapp = deps.settings.whatsapp.clone();
        Self {
            pool: deps.pool.clone(),
            keyring: deps.keyring.clone(),
            sender: deps.sender.clone(),
            redis: deps.redis.clone(),
            limits: Arc::new(Limits::new(
                deps.redis.key_prefix(),
                whatsapp.messages_per_second,
                Duration::from_secs(whatsapp.customer_gap_secs),
            )),
            connection: Arc::new(tokio::sync::OnceCell::new()),
            whatsapp,
            settings,
        }
    }

    async fn redis_connection(&self) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
        self.connection.get_or_try_init(|| self.redis.connection()).await.cloned()
    }
}

pub async fn process(job: TaskJob, deps: Data<MessageDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let task_id = job.task_id();
    jobs::run(&context, JobRow::Task(task_id), handle_task(task_id, &deps)).await;
    if let Err(error) = announce_if_dead(&deps.pool, task_id).await {
        tracing::warn!(%task_id, error = %format!("{error:#}"), "a message given up on could not be announced");
    }
    Ok(())
}

/// A message whose every attempt failed (Meta refusing it for now, again and again) is failed
/// for good once its task is a dead letter: the merchant's systems hear of it once.
async fn announce_if_dead(pool: &PgPool, task_id: TaskId) -> anyhow::Result<()> {
    let mut tx = db::system_tx(pool).await?;
    let failed = messages::given_up_unannounced(&mut tx, task_id).await?;
    let Some(failed) = failed else {
        return Ok(());
    };
    let event = MerchantEvent::MessageFailed(MessageFailed {
        message_id: failed.id,
        customer_id: failed.customer_id.map(|id| id.as_uuid()),
        conversation_id: failed.conversation_id,
        code: failed.error_code,
        reason: failed.reason,
    });
    merchant_events::raise(&mut tx, failed.merchant_id, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// What is needed to make the call once the row is committed.
struct Prepared {
    message_id: Uuid,
    customer_id: CustomerId,
    outgoing: OutgoingMessage,
    proactive: bool,
}

pub async fn handle_task(task_id: TaskId, deps: &MessageDeps) -> anyhow::Result<Outcome> {
    let Some(prepared) = prepare(task_id, deps).await? else {
        settle_unsent(&deps.pool, task_id).await.context("Failed to settle the unsent message")?;
        return Ok(Outcome::Skipped);
    };
    let mut connection = deps.redis_connection().await.context("Failed to reach Redis for rate limits")?;
    if let Some(wait) = rate_limit_wait(deps, &mut connection, &prepared).await? {
        // Nothing was sent: the row goes back to `queued`, so the retry sends without waiting
        // for a status as it would after an unknown outcome.
        let mut tx = db::system_tx(&deps.pool).await?;
        messages::requeue_unsent(&mut tx, prepared.message_id).await?;
        claims::defer_task(&mut tx, task_id, Utc::now() + wait, "rate limit of the phone number or customer").await?;
        tx.commit().await?;
        return Ok(Outcome::Done);
    }
    match deps.sender.send(&prepared.outgoing).await {
        Ok(wa_message_id) => {
            let mut tx = db::system_tx(&deps.pool).await?;
            messages::mark_sent(&mut tx, prepared.message_id, &wa_message_id).await?;
            finish(&mut tx, task_id, "done", if deps.sender.is_outbox() { "sent to the local outbox" } else { "sent" })
                .await?;
            tx.commit().await?;
            metrics::counter!("recete_whatsapp_sends_total", "outcome" => "sent", "proactive" => prepared.proactive.to_string()).increment(1);
            Ok(Outcome::Done)
        }
        Err(SendError::Ambiguous(reason)) => {
            // The row stays `sending`: the retry waits for Meta's status before sending again.
            metrics::counter!("recete_whatsapp_sends_total", "outcome" => "unknown", "proactive" => prepared.proactive.to_string()).increment(1);
            anyhow::bail!("send outcome unknown: {reason}")
        }
        Err(SendError::Retryable { code, reason }) => {
            set_message_failed(&deps.pool, prepared.message_id, &code, &reason).await?;
            metrics::counter!("recete_whatsapp_sends_total", "outcome" => "retryable", "proactive" => prepared.proactive.to_string()).increment(1);
            anyhow::bail!("Cloud API refused for now ({code}): {reason}")
        }
        Err(SendError::Permanent { code, reason, opted_out }) => {
            let mut tx = db::system_tx(&deps.pool).await?;
            let Failed { merchant_id: merchant, conversation_id } =
                messages::mark_failed(&mut tx, prepared.message_id, &code, &reason)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
            finish(&mut tx, task_id, "done", &format!("not sent ({code}): {reason}")).await?;
            let event = MerchantEvent::MessageFailed(MessageFailed {
                message_id: prepared.message_id,
                customer_id: Some(prepared.customer_id.as_uuid()),
                conversation_id,
                code: Some(code.clone()),
                reason: Some(reason.clone()),
            });
            merchant_events::raise(&mut tx, merchant, &event).await?;
            if opted_out {
                let change = ConsentChange {
                    merchant_id: merchant,
                    customer_id: prepared.customer_id,
                    granted: false,
                    source: "whatsapp:131050",
                    at: Utc::now(),
                    actor: ACTOR,
                    event_id: None,
                };
                consent::record(&mut tx, &change).await?;
                planning::cancel_for_customer(&mut tx, prepared.customer_id, planning::STOPPED_MARKETING).await?;
            }
            tx.commit().await?;
            metrics::counter!("recete_whatsapp_sends_total", "outcome" => "permanent", "proactive" => prepared.proactive.to_string()).increment(1);
            tracing::warn!(%task_id, code, reason, "message not sent; task ended");
            Ok(Outcome::Done)
        }
    }
}

/// Decides the task and, to send, commits the message row; `None` when nothing is to be sent now.
async fn prepare(task_id: TaskId, deps: &MessageDeps) -> anyhow::Result<Option<Prepared>> {
    let mut tx = db::system_tx(&deps.pool).await?;
    let task = claims::claim_task(&mut tx, task_id).await.context("Failed to claim the task")?;
    let Some(task) = task else {
        return Ok(None);
    };
    db::set_tenant(&mut tx, task.merchant_id).await?;
    let Some(customer_id) = task.customer_id else {
        finish(&mut tx, task_id, "cancelled", "no customer to message").await?;
        tx.commit().await?;
        return Ok(None);
    };
    // Locked: two due messages for one customer are decided one after the other, so the second
    // sees the first and the frequency cap holds.
    let customer = customers::lock_recipient(&mut tx, customer_id).await.context("Failed to load the customer")?;
    let (merchant_zone, settings) = merchant_context(&mut tx, task.merchant_id).await?;
    let phone = open_field(deps, task.merchant_id, &customer, ContactField::Phone)?;
    let Some(phone) = phone else {
        finish(&mut tx, task_id, "cancelled", "customer has no phone number").await?;
        tx.commit().await?;
        return Ok(None);
    };
    let zone = customer
        .timezone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .or_else(|| customer.country_code.as_deref().and_then(zones::zone_for_country))
        .or_else(|| zones::zone_for_phone(&phone))
        .unwrap_or(merchant_zone);
    let proactive = task.kind == planning::FOLLOW_UP;
    let order_status: Option<OrderStatus> = match task.order_id {
        Some(order_id) => orders::read::status(&mut tx, order_id).await?.and_then(|s| s.parse().ok()),
        None => None,
    };
    let window = chrono::Duration::hours(i64::from(settings.frequency_cap.per_hours));
    let recent = messages::recent_proactive_sends(&mut tx, customer_id, window, &messages::task_key(task_id)).await?;
    let input = TimingInput {
        now: Utc::now(),
        due_at: task.due_at,
        proactive,
        order_status,
        consent: Consent::from_column(customer.whatsapp_consent.as_str()),
        customer_zone: zone,
        quiet_hours: settings.quiet_hours,
        cap: settings.frequency_cap,
        recent_proactive_sends: &recent,
    };
    match timing::decide(&input) {
        Decision::Cancel { reason } => {
            finish(&mut tx, task_id, "cancelled", &reason).await?;
            tx.commit().await?;
            return Ok(None);
        }
        Decision::Defer { until, reason } => {
            claims::defer_task(&mut tx, task_id, until, &reason).await?;
            tx.commit().await?;
            return Ok(None);
        }
        Decision::SendNow => {}
    }
    let existing = messages::lock_by_key(&mut tx, task.merchant_id, &messages::task_key(task_id)).await?;
    if let Some(existing) = &existing {
        match existing.status.as_str() {
            "sent" | "delivered" | "read" => {
                finish(&mut tx, task_id, "done", "sent (confirmed on retry)").await?;
                tx.commit().await?;
                return Ok(None);
            }
            "sending" => {
                let wait = chrono::Duration::seconds(deps.whatsapp.unknown_outcome_wait_secs as i64);
                if existing.updated_at + wait > Utc::now() {
                    let reason =
                        "an earlier attempt's outcome is unknown; waiting for Meta's status before sending again";
                    claims::defer_task(&mut tx, task_id, existing.updated_at + wait, reason).await?;
                    tx.commit().await?;
                    return Ok(None);
                }
            }
            _ => {}
        }
    }
    let phone_number_id = integrations::whatsapp_phone_number_id(&mut tx, task.merchant_id).await?;
    let Some(phone_number_id) = phone_number_id.or_else(|| deps.sender.is_outbox().then(|| "outbox".to_owned())) else {
        finish(&mut tx, task_id, "cancelled", "the merchant has no active WhatsApp integration").await?;
        tx.commit().await?;
        return Ok(None);
    };
    let window_open = conversations::store::window_open(&mut tx, customer_id).await?;
    let name = open_field(deps, task.merchant_id, &customer, ContactField::Name)?;
    let content = render::content(&mut tx, &deps.keyring, &task, &settings, window_open, name.as_deref()).await?;
    let Some(content) = content else {
        finish(&mut tx, task_id, "cancelled", "the step is no longer in the merchant's follow-up plan").await?;
        tx.commit().await?;
        return Ok(None);
    };
    let message_id = existing.as_ref().map_or_else(Uuid::now_v7, |m| m.id);
    let (kind, template_name, body_text) = match &content {
        Content::Text { body } => ("text", None, Some(body.as_str())),
        Content::Template { name, .. } => ("template", Some(name.as_str()), None),
    };
    let sealed = body_text.map(|text| deps.keyring.seal(text.as_bytes(), &message_context(task.merchant_id)));
    let sending = Sending {
        id: message_id,
        merchant_id: task.merchant_id,
        customer_id,
        order_id: task.order_id,
        task_id,
        kind,
        pii_key_id: sealed.as_ref().map(|s| s.key_id.clone()),
        body_sealed: sealed.map(|s| s.bytes),
        template_name,
        proactive,
        metadata: message_metadata(&task),
        conversation_id: reply_conversation(&task),
        author: message_author(&task),
    };
    messages::record_sending(&mut tx, sending).await.context("Failed to record the message before sending")?;
    tx.commit().await.context("Failed to commit the message before sending")?;
    let to = phone.trim_start_matches('+').to_owned();
    Ok(Some(Prepared {
        message_id,
        customer_id,
        outgoing: OutgoingMessage { phone_number_id, to, callback_data: message_id.to_string(), content },
        proactive,
    }))
}

/// What the merchant sees beside the message: the follow-up step, or for a reply whatever its
/// author attached (the agent's intent, citations and guardrail verdict).
fn message_metadata(task: &TaskClaim) -> serde_json::Value {
    let mut metadata = match task.payload.get("metadata") {
        Some(serde_json::Value::Object(attached)) => attached.clone(),
        _ => serde_json::Map::new(),
    };
    if let Some(step) = &task.step {
        metadata.insert("step".into(), step.clone().into());
    }
    serde_json::Value::Object(metadata)
}

/// Who wrote the message: the person named in the task (a merchant's reply), the agent when
/// its verdict is attached, else the system (follow-ups, consent confirmations).
fn message_author(task: &TaskClaim) -> String {
    if let Some(author) = task.payload.get("author").and_then(serde_json::Value::as_str) {
        return author.to_owned();
    }
    let by_agent = task.payload.get("metadata").and_then(|metadata| metadata.get("agent")).is_some();
    if by_agent { author::AGENT } else { author::SYSTEM }.to_owned()
}

fn reply_conversation(task: &TaskClaim) -> Option<Uuid> {
    task.payload.get("conversation_id").and_then(|id| id.as_str()).and_then(|id| Uuid::parse_str(id).ok())
}

async fn merchant_context(tx: &mut Tx, merchant: MerchantId) -> anyhow::Result<(Tz, merchants::MerchantSettings)> {
    let zone = merchants::timezone(tx, merchant).await?.ok_or(sqlx::Error::RowNotFound)?;
    let settings = merchants::settings(tx, merchant).await?;
    Ok((zone.parse().unwrap_or(chrono_tz::UTC), settings))
}

fn open_field(
    deps: &MessageDeps,
    merchant: MerchantId,
    customer: &CustomerRow,
    field: ContactField,
) -> anyhow::Result<Option<String>> {
    customer
        .sealed
        .open(&deps.keyring, merchant, field)
        .with_context(|| format!("Failed to open the customer's {}", field.as_str()))
}

async fn rate_limit_wait(
    deps: &MessageDeps,
    connection: &mut redis::aio::ConnectionManager,
    prepared: &Prepared,
) -> anyhow::Result<Option<chrono::Duration>> {
    for _ in 0..3 {
        let number_wait = deps.limits.number_wait(connection, &prepared.outgoing.phone_number_id).await?;
        let wait = match number_wait {
            Some(wait) => Some(wait),
            None => deps.limits.customer_wait(connection, &prepared.customer_id.to_string()).await?,
        };
        match wait {
            None => return Ok(None),
            Some(wait) if wait <= INLINE_WAIT => tokio::time::sleep(wait).await,
            Some(wait) => return Ok(Some(chrono::Duration::from_std(wait)?)),
        }
    }
    Ok(Some(chrono::Duration::seconds(1)))
}

async fn set_message_failed(pool: &PgPool, message_id: Uuid, code: &str, reason: &str) -> Result<(), sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    messages::mark_failed(&mut tx, message_id, code, reason).await?;
    tx.commit().await
}

/// A message written before its task was decided (a person's reply is in the thread at once)
/// whose task was then cancelled: it says it was skipped and why, instead of staying queued.
async fn settle_unsent(pool: &PgPool, task_id: TaskId) -> Result<(), sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    messages::skip_for_cancelled_task(&mut tx, task_id).await?;
    tx.commit().await
}
