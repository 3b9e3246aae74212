//! The conversations pool: each customer message that is not STOP or START gets the agent's
//! reply, sent through the messages queue inside the 24-hour window.
//!
//! A conversation handed over to a person gets no automatic reply until the merchant resolves
//! it. The reply, the hand-over and the audit rows commit together with the task, so a crash
//! answers the message again from scratch, never twice.

use std::sync::Arc;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use recete_agent::{Agent, Inquiry, Reply};
use recete_jobs::TaskJob;
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_llm::HistoryTurn;
use recete_messaging::messages::{self, Inbound};
use recete_platform::config::PoolSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{CustomerId, MerchantId, TaskId};
use recete_shared::audit::{self, AuditEntry};
use recete_shared::conversations::{ConversationState, store};
use recete_shared::followups::planning::{self, ReplyContext};
use recete_shared::merchant_events::{self, GuardrailHit, HandedOver, MerchantEvent};
use recete_shared::merchants;
use recete_shared::message_bodies;
use recete_shared::tasks::{self, finish};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::WorkerDeps;

const ACTOR: &str = "worker:conversations";

#[derive(Clone)]
pub struct ConversationDeps {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub settings: PoolSettings,
    pub agent: Arc<Agent>,
    pub history_messages: usize,
}

impl ConversationDeps {
    pub fn new(deps: &WorkerDeps, agent: Arc<Agent>, settings: PoolSettings) -> Self {
        Self {
            pool: deps.pool.clone(),
            keyring: deps.keyring.clone(),
            settings,
            agent,
            history_messages: deps.settings.agent.history_messages,
        }
    }
}

pub async fn process(job: TaskJob, deps: Data<ConversationDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let task_id = job.task_id();
    jobs::run(&context, JobRow::Task(task_id), handle_task(task_id, &deps)).await;
    Ok(())
}

pub async fn handle_task(task_id: TaskId, deps: &ConversationDeps) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    // The question is read by the model, and the product text searched, before the task is
    // claimed, so no transaction (and no connection) is held while the model runs; the claim
    // then checks it is still the same text of the same merchant.
    let understood = match peek_question(task_id, deps).await? {
        Some((merchant, text)) => Some(deps.agent.prepare(&deps.pool, merchant, &text).await?),
        None => None,
    };
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin the task transaction")?;
    let Some(task) = jobs::claim_task(&mut tx, task_id).await? else {
        return Ok(Outcome::Skipped);
    };
    anyhow::ensure!(task.kind == tasks::ANSWER, "a `{}` task reached the conversations queue", task.kind);
    let merchant = task.merchant_id;
    let message_id = jobs::payload_uuid(&task.payload, "message_id")?;
    let inbound = messages::find_inbound(&mut tx, message_id).await?;
    let Some(Inbound { conversation_id: Some(conversation_id), customer_id: Some(customer), .. }) = &inbound else {
        return end(tx, task_id, "cancelled", "the message or its conversation no longer exists").await;
    };
    let (conversation_id, customer) = (*conversation_id, *customer);
    let inbound = inbound.context("checked above")?;
    let conversation = store::lock(&mut tx, conversation_id).await.context("Failed to lock the conversation")?;
    if conversation.state == ConversationState::HandedOver {
        mark_inbound(&mut tx, message_id, json!({ "agent": "not answered: a person has the conversation" })).await?;
        return end(tx, task_id, "cancelled", "the conversation is with a person").await;
    }
    if conversation.window_expires_at.is_none_or(|expires| expires <= Utc::now() + chrono::Duration::minutes(1)) {
        return end(tx, task_id, "cancelled", "the 24-hour window closed before an answer").await;
    }
    let Some(text) = open_body(&deps.keyring, merchant, inbound.pii_key_id.as_deref(), inbound.body_sealed.as_deref())?
    else {
        return end(tx, task_id, "cancelled", "not a text message").await;
    };
    let history = history(&mut tx, deps, merchant, conversation_id, inbound.created_at).await?;
    let (merchant_name, store_language) =
        merchants::voice(&mut tx, merchant).await?.context("the merchant is not visible to its own task")?;
    let inquiry =
        Inquiry { merchant, merchant_name: &merchant_name, store_language, customer, text: &text, history: &history };
    let reply = match understood {
        Some(understood) => deps.agent.respond_understood(&mut tx, &inquiry, understood).await?,
        None => deps.agent.respond(&mut tx, &inquiry).await?,
    };
    record(&mut tx, &deps.keyring, merchant, customer, conversation_id, message_id, &reply).await?;
    finish(&mut tx, task_id, "done", &format!("answered ({})", reply.intent.as_str())).await?;
    tx.commit().await.context("Failed to commit the answer")?;
    metrics::counter!("recete_agent_answers_total", "intent" => reply.intent.as_str(), "handed_over" => reply.handoff.is_some().to_string())
        .increment(1);
    metrics::histogram!("recete_agent_answer_seconds").record(started.elapsed().as_secs_f64());
    Ok(Outcome::Done)
}

async fn end(mut tx: Tx, task_id: TaskId, state: &str, reason: &str) -> anyhow::Result<Outcome> {
    finish(&mut tx, task_id, state, reason).await?;
    tx.commit().await?;
    Ok(Outcome::Done)
}

/// Schedules the reply with what the merchant sees beside it, hands the conversation over when
/// the agent asked, and audits tool calls and blocked answers.
async fn record(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer: CustomerId,
    conversation_id: Uuid,
    message_id: Uuid,
    reply: &Reply,
) -> anyhow::Result<()> {
    let metadata = json!({
        "in_reply_to": message_id,
        "agent": {
            "intent": reply.intent,
            "mode": reply.mode,
            "citations": reply.citations,
            "guardrail": reply.guardrail,
            "handoff": reply.handoff,
            "model_error": reply.model_error,
        },
    });
    let context = ReplyContext { conversation_id: Some(conversation_id), metadata };
    let scheduled = planning::schedule_reply(
        tx,
        keyring,
        merchant,
        customer,
        &format!("reply:{message_id}"),
        &reply.text,
        &context,
    )
    .await?;
    anyhow::ensure!(scheduled, "a reply to message {message_id} was already scheduled");
    mark_inbound(tx, message_id, json!({ "intent": reply.intent })).await?;
    let entry = |action: &'static str, after: serde_json::Value| AuditEntry {
        merchant_id: Some(merchant),
        actor: ACTOR,
        action,
        subject_type: "conversation",
        subject_id: conversation_id.to_string(),
        event_id: None,
        before: None,
        after: Some(after),
    };
    for tool in &reply.tools {
        let outcome = format!("{:?}", tool.outcome);
        audit::record(
            tx,
            entry("agent.tool_called", json!({ "tool": tool.name, "arguments": tool.arguments, "outcome": outcome })),
        )
        .await?;
    }
    if let Some(guardrail) = &reply.guardrail {
        audit::record(
            tx,
            entry(
                "agent.answer_blocked",
                json!({ "message_id": message_id, "rule": guardrail.rule, "detail": guardrail.detail }),
            ),
        )
        .await?;
    }
    if let Some(reason) = &reply.handoff {
        store::hand_over(tx, conversation_id, reason).await?;
        audit::record(tx, entry("conversation.handed_over", json!({ "reason": reason, "message_id": message_id })))
            .await?;
        let event = MerchantEvent::HandedOver(HandedOver {
            conversation_id,
            customer_id: customer.as_uuid(),
            message_id,
            reason: reason.clone(),
            guardrail: reply.guardrail.as_ref().map(|guardrail| GuardrailHit { rule: guardrail.rule.clone() }),
        });
        merchant_events::raise(tx, merchant, &event).await?;
    }
    Ok(())
}

async fn mark_inbound(tx: &mut Tx, message_id: Uuid, fields: serde_json::Value) -> anyhow::Result<()> {
    Ok(messages::annotate(tx, message_id, fields).await?)
}

/// The merchant and text of the message a pending answer task is about, read without claiming
/// the task: what the model reads before the claim. `None` when there is nothing to read (the
/// task already ended, or the message is not text).
async fn peek_question(task_id: TaskId, deps: &ConversationDeps) -> anyhow::Result<Option<(MerchantId, String)>> {
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin a read of the question")?;
    let Some((merchant, payload)) = jobs::peek_task(&mut tx, task_id, tasks::ANSWER).await? else {
        return Ok(None);
    };
    let message_id = jobs::payload_uuid(&payload, "message_id")?;
    let inbound = messages::find_inbound(&mut tx, message_id).await?;
    tx.commit().await?;
    let Some(inbound) = inbound else {
        return Ok(None);
    };
    // A body that does not open now will not open under the claim either; that path says why.
    Ok(open_body(&deps.keyring, merchant, inbound.pii_key_id.as_deref(), inbound.body_sealed.as_deref())
        .ok()
        .flatten()
        .map(|text| (merchant, text)))
}

fn open_body(
    keyring: &Keyring,
    merchant: MerchantId,
    key_id: Option<&str>,
    sealed: Option<&[u8]>,
) -> anyhow::Result<Option<String>> {
    Ok(message_bodies::open(keyring, merchant, key_id, sealed)?)
}

/// The conversation's messages before `before`, oldest first, at most `history_messages`.
async fn history(
    tx: &mut Tx,
    deps: &ConversationDeps,
    merchant: MerchantId,
    conversation_id: Uuid,
    before: DateTime<Utc>,
) -> anyhow::Result<Vec<HistoryTurn>> {
    let rows = messages::latest_before(tx, conversation_id, before, deps.history_messages as i64).await?;
    let mut turns = Vec::with_capacity(rows.len());
    for turn in rows.into_iter().rev() {
        if let Some(text) = open_body(&deps.keyring, merchant, turn.pii_key_id.as_deref(), turn.body_sealed.as_deref())?
        {
            turns.push(HistoryTurn { from_customer: turn.direction == "inbound", text });
        }
    }
    Ok(turns)
}
