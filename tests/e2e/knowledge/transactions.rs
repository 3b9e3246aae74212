//! The embedding model runs only while no transaction is open: when a product is embedded, and
//! when a question is answered, even from chunks synced before chunks kept their sentences'
//! vectors, which the answer completes and keeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use recete_agent::Agent;
use recete_jobs::execution::Outcome;
use recete_knowledge::{EmbedError, Embedder};
use recete_platform::ids::TaskId;
use recete_workers::Pool;
use recete_workers::conversations::{self, ConversationDeps};
use recete_workers::knowledge::{self, KnowledgeDeps};
use sqlx::PgPool;

use super::{USAGE, WAIT_SECS, ask, embedded_serum, serum, shop, spawn_knowledge_app};
use crate::helpers::TestApp;

/// The real embedder, counting before each call the sessions of the test database that are
/// inside a transaction.
struct TransactionWatch {
    inner: Arc<dyn Embedder>,
    admin: PgPool,
    calls: AtomicUsize,
    calls_inside_a_transaction: AtomicUsize,
}

impl TransactionWatch {
    fn new(app: &TestApp) -> Arc<Self> {
        Arc::new(Self {
            inner: recete_embed::from_settings(&app.settings.embedding).expect("the local model"),
            admin: app.admin.clone(),
            calls: AtomicUsize::new(0),
            calls_inside_a_transaction: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> (usize, usize) {
        (self.calls.load(Ordering::SeqCst), self.calls_inside_a_transaction.load(Ordering::SeqCst))
    }
}

async fn task_of_kind(app: &TestApp, kind: &str) -> TaskId {
    sqlx::query_scalar("SELECT id FROM scheduled_tasks WHERE kind = $1")
        .bind(kind)
        .fetch_one(&app.admin)
        .await
        .unwrap_or_else(|error| panic!("one {kind} task: {error}"))
}

impl Embedder for TransactionWatch {
    fn model_name(&self) -> &str {
        self.inner.model_name()
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend'
                     AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
            )
            .fetch_one(&self.admin)
            .await
            .expect("sessions counted");
            self.calls.fetch_add(1, Ordering::SeqCst);
            if open > 0 {
                self.calls_inside_a_transaction.fetch_add(1, Ordering::SeqCst);
            }
            self.inner.embed(texts).await
        })
    }
}

#[tokio::test]
async fn an_answer_embeds_outside_transactions_and_completes_chunks_synced_without_sentences() {
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;
    let workers = app.start_pools(&[Pool::Knowledge, Pool::WhatsAppEvents]);
    let product = embedded_serum(&app, &shop).await;
    // As synced before sentences were stored.
    sqlx::query("UPDATE knowledge_chunks SET sentences = NULL, sentence_embeddings = NULL WHERE product_id = $1")
        .bind(product)
        .execute(&app.admin)
        .await
        .expect("sentences cleared");
    ask(&app, &shop, "how many drops of the serum should i use?", "wamid.LEGACY").await;
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer'", 1, WAIT_SECS).await;
    workers.stop().await;

    let watch = TransactionWatch::new(&app);
    let deps = ConversationDeps {
        pool: app.pool.clone(),
        keyring: app.keyring.clone(),
        settings: app.settings.pools.conversations.clone(),
        agent: Arc::new(Agent::new(watch.clone(), None, app.settings.agent.clone())),
        history_messages: app.settings.agent.history_messages,
    };
    let task = task_of_kind(&app, "answer").await;
    let outcome = conversations::handle_task(task, &deps).await.expect("the question is answered");
    assert!(matches!(outcome, Outcome::Done));

    let extractive_replies = app
        .count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'reply' AND payload -> 'metadata' -> 'agent' ->> 'mode' = 'extractive'")
        .await;
    assert_eq!(extractive_replies, 1, "the answer is quoted from the product text");
    let (calls, inside) = watch.calls();
    assert!(calls >= 2, "the question, then the old chunks' sentences: {calls} calls");
    assert_eq!(inside, 0, "no model call inside a transaction");
    let usage_sentences: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(sentences) FROM knowledge_chunks
         WHERE product_id = $1 AND section = 'usage' AND cardinality(sentence_embeddings) = cardinality(sentences)",
    )
    .bind(product)
    .fetch_all(&app.admin)
    .await
    .expect("usage sentences");
    assert!(
        usage_sentences.iter().any(|sentence| USAGE.contains(sentence.as_str())),
        "the answer kept the sentences it embedded: {usage_sentences:?}"
    );
}

#[tokio::test]
async fn a_product_is_embedded_with_no_transaction_open() {
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;
    // No workers run: the embedding task waits for the call below.
    assert_eq!(shop.post(&app, "/api/products", &serum(USAGE)).await.status(), 201);
    let watch = TransactionWatch::new(&app);
    let deps = KnowledgeDeps::new(&app.worker_deps(), watch.clone(), app.settings.pools.knowledge.clone())
        .expect("knowledge deps");
    let task = task_of_kind(&app, "embed").await;
    let outcome = knowledge::handle_task(task, &deps).await.expect("the product is embedded");
    assert!(matches!(outcome, Outcome::Done));

    assert_eq!(app.count("SELECT count(*) FROM products WHERE embedded_at IS NOT NULL").await, 1);
    let chunks = app.count("SELECT count(*) FROM knowledge_chunks WHERE sentences IS NOT NULL").await;
    assert!(chunks >= 3, "usage, warnings and the FAQ, each with its sentences: {chunks}");
    assert_eq!(app.count("SELECT count(*) FROM knowledge_chunks WHERE sentences IS NULL").await, 0);
    let (calls, inside) = watch.calls();
    assert!(calls >= 1, "the product's text went through the model");
    assert_eq!(inside, 0, "no model call inside a transaction");
}
