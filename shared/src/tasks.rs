//! Scheduling the work of the knowledge and conversations queues as `scheduled_tasks` rows, so
//! it gets the same relay, attempts, backoff and dead letters as follow-ups.
//!
//! A product has at most one scrape and one embedding task: asking again while one is pending
//! changes nothing (the pending run reads the latest text), and asking after it finished makes
//! it pending again. A task being worked holds its row lock, so a request during the run waits
//! for it and then re-arms it: a change is never lost between "read" and "done".

use serde_json::json;
use uuid::Uuid;

use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, ImportId, MerchantId, TaskId};

/// `scheduled_tasks.kind` of each task.
pub const SCRAPE: &str = "scrape";
pub const EMBED: &str = "embed";
pub const ANSWER: &str = "answer";
pub const IMPORT: &str = "import";
pub const WEBHOOK: &str = "webhook";

/// Fetch `url` and store what it says about the product; an embedding task follows.
pub async fn schedule_scrape(tx: &mut Tx, merchant: MerchantId, product_id: Uuid, url: &str) -> sqlx::Result<TaskId> {
    rearm(tx, merchant, SCRAPE, &format!("scrape:{product_id}"), None, json!({ "product_id": product_id, "url": url }))
        .await
}

/// Bring the product's chunks in line with its text.
pub async fn schedule_embedding(tx: &mut Tx, merchant: MerchantId, product_id: Uuid) -> sqlx::Result<TaskId> {
    rearm(tx, merchant, EMBED, &format!("embed:{product_id}"), None, json!({ "product_id": product_id })).await
}

/// Answer one inbound message; scheduling the same message twice answers it once.
pub async fn schedule_answer(
    tx: &mut Tx,
    merchant: MerchantId,
    customer: CustomerId,
    message_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO scheduled_tasks (id, merchant_id, kind, customer_id, unique_key, due_at, payload)
         VALUES ($1, $2, $3, $4, $5, now(), $6)
         ON CONFLICT ON CONSTRAINT scheduled_tasks_merchant_id_unique_key_key DO NOTHING",
    )
    .bind(TaskId::generate())
    .bind(merchant)
    .bind(ANSWER)
    .bind(customer)
    .bind(format!("answer:{message_id}"))
    .bind(json!({ "message_id": message_id }))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Read an uploaded CSV file into the merchant's orders or products; one task per import.
pub async fn schedule_import(tx: &mut Tx, merchant: MerchantId, import: ImportId) -> sqlx::Result<TaskId> {
    rearm(tx, merchant, IMPORT, &format!("import:{import}"), None, json!({ "import_id": import })).await
}

/// One delivery of a merchant event to one webhook endpoint; the task's id is the delivery's id,
/// so attempts, backoff and the dead-letter state are the task's.
pub async fn schedule_webhook_delivery(tx: &mut Tx, merchant: MerchantId, delivery_id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO scheduled_tasks (id, merchant_id, kind, unique_key, due_at, payload)
         VALUES ($1, $2, $3, $4, now(), $5)
         ON CONFLICT ON CONSTRAINT scheduled_tasks_merchant_id_unique_key_key DO NOTHING",
    )
    .bind(delivery_id)
    .bind(merchant)
    .bind(WEBHOOK)
    .bind(format!("webhook:{delivery_id}"))
    .bind(json!({ "delivery_id": delivery_id }))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Puts a webhook delivery's task back in line with a fresh attempt count, whatever its state
/// (a replay of a delivered or dead-lettered delivery).
pub async fn replay_webhook_delivery(tx: &mut Tx, delivery_id: Uuid) -> sqlx::Result<bool> {
    let replayed = sqlx::query(
        "UPDATE scheduled_tasks SET state = 'pending', attempts = 0, due_at = now(), enqueued_at = NULL,
             finished_at = NULL, last_error = NULL, status_reason = NULL, cancel_reason = NULL
         WHERE id = $1 AND kind = $2",
    )
    .bind(delivery_id)
    .bind(WEBHOOK)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(replayed == 1)
}

async fn rearm(
    tx: &mut Tx,
    merchant: MerchantId,
    kind: &str,
    unique_key: &str,
    customer: Option<CustomerId>,
    payload: serde_json::Value,
) -> sqlx::Result<TaskId> {
    sqlx::query_scalar(
        "INSERT INTO scheduled_tasks AS t (id, merchant_id, kind, customer_id, unique_key, due_at, payload)
         VALUES ($1, $2, $3, $4, $5, now(), $6)
         ON CONFLICT ON CONSTRAINT scheduled_tasks_merchant_id_unique_key_key DO UPDATE
             SET payload = EXCLUDED.payload,
                 state = CASE WHEN t.state IN ('pending', 'failed') THEN t.state ELSE 'pending' END,
                 due_at = CASE WHEN t.state IN ('pending', 'failed') THEN least(t.due_at, now()) ELSE now() END,
                 attempts = CASE WHEN t.state IN ('pending', 'failed') THEN t.attempts ELSE 0 END,
                 enqueued_at = CASE WHEN t.state IN ('pending', 'failed') THEN t.enqueued_at ELSE NULL END,
                 finished_at = NULL, last_error = NULL, status_reason = NULL
         RETURNING id",
    )
    .bind(TaskId::generate())
    .bind(merchant)
    .bind(kind)
    .bind(customer)
    .bind(unique_key)
    .bind(payload)
    .fetch_one(&mut **tx)
    .await
}

/// Ends a task: `done`, `cancelled` or `failed` for good, with the reason in words.
pub async fn finish(tx: &mut Tx, task_id: TaskId, state: &str, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scheduled_tasks SET state = $2, status_reason = $3, finished_at = now(),
             cancel_reason = CASE WHEN $2 = 'cancelled' THEN $3 ELSE cancel_reason END, attempts = attempts + 1
         WHERE id = $1",
    )
    .bind(task_id)
    .bind(state)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
