//! How a merchant's chunks are searched. A small catalogue is compared chunk by chunk, so the
//! agent gets exactly the nearest chunks even where the HNSW index would give up: here another
//! merchant's chunks crowd the question's neighbourhood past what the index's iterative scan
//! visits (`hnsw.max_scan_tuples`, lowered for this database so a few thousand chunks do it),
//! and the planner is made to prefer the index wherever it can (as it does for a merchant whose
//! rows it estimates many: a generic plan, stale statistics, a large table of mid-sized
//! merchants). A large catalogue still goes through the index.

use pgvector::Vector;
use recete_knowledge::retrieval::{self, EXACT_SCAN_MAX_CHUNKS, SearchPlan};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

const MODEL: &str = "test-model";
const DIMENSIONS: usize = 384;
const SMALL_CATALOGUE: usize = 40;
const LIMIT: usize = 10;

/// A deterministic stream of numbers in [-1, 1) (a linear congruential generator).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// A unit vector `toward` the first axis by `along` (its cosine with it), the rest random.
    fn vector(&mut self, along: f32) -> Vec<f32> {
        let mut rest: Vec<f32> = (1..DIMENSIONS).map(|_| self.next()).collect();
        let norm = rest.iter().map(|x| x * x).sum::<f32>().sqrt();
        let scale = (1.0 - along * along).max(0.0).sqrt() / norm;
        rest.iter_mut().for_each(|x| *x *= scale);
        std::iter::once(along).chain(rest).collect()
    }
}

fn question() -> Vec<f32> {
    std::iter::once(1.0).chain(std::iter::repeat_n(0.0, DIMENSIONS - 1)).collect()
}

async fn catalogue(admin: &PgPool, name: &str, vectors: Vec<Vec<f32>>) -> MerchantId {
    let merchant = MerchantId::generate();
    let product = Uuid::now_v7();
    sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, $2)")
        .bind(merchant.as_uuid())
        .bind(name)
        .execute(admin)
        .await
        .expect("merchant");
    sqlx::query("INSERT INTO products (id, merchant_id, title) VALUES ($1, $2, $3)")
        .bind(product)
        .bind(merchant.as_uuid())
        .bind(format!("{name} catalogue"))
        .execute(admin)
        .await
        .expect("product");
    let ids: Vec<Uuid> = vectors.iter().map(|_| Uuid::now_v7()).collect();
    let contents: Vec<String> = (0..vectors.len()).map(|i| format!("{name} fact {i}.")).collect();
    let hashes: Vec<Vec<u8>> = ids.iter().map(|id| id.as_bytes().to_vec()).collect();
    let embeddings: Vec<Vector> = vectors.into_iter().map(Vector::from).collect();
    sqlx::query(
        "INSERT INTO knowledge_chunks (id, merchant_id, product_id, section, content, content_hash, model, embedding)
         SELECT id, $2, $3, 'faq', content, content_hash, $4, embedding
         FROM UNNEST($1::uuid[], $5::text[], $6::bytea[], $7::vector[]) AS c(id, content, content_hash, embedding)",
    )
    .bind(&ids)
    .bind(merchant.as_uuid())
    .bind(product)
    .bind(MODEL)
    .bind(&contents)
    .bind(&hashes)
    .bind(&embeddings)
    .execute(admin)
    .await
    .expect("chunks");
    merchant
}

#[tokio::test]
async fn a_small_catalogue_is_searched_exactly_and_a_large_one_through_the_index() {
    let db = TestDatabase::create().await.expect("database");
    let admin = db.admin_pool().await.expect("admin pool");
    // The iterative scan stops after this many index tuples: a merchant whose chunks all lie
    // behind more of another's than that gets nothing from the index.
    for setting in ["hnsw.max_scan_tuples = 500", "enable_sort = off"] {
        sqlx::query(&format!(r#"ALTER DATABASE "{}" SET {setting}"#, db.name()))
            .execute(&admin)
            .await
            .expect("database setting");
    }
    let mut numbers = Numbers(7);
    // The large catalogue sits right around the question; the small one further off, each of its
    // chunks at a distinct distance.
    let large_vectors = (0..EXACT_SCAN_MAX_CHUNKS as usize + 200).map(|_| numbers.vector(0.95)).collect();
    let small_vectors = (0..SMALL_CATALOGUE).map(|i| numbers.vector(0.5 - i as f32 * 0.01)).collect();
    let large = catalogue(&admin, "large", large_vectors).await;
    let small = catalogue(&admin, "small", small_vectors).await;
    sqlx::query("ANALYZE knowledge_chunks").execute(&admin).await.expect("analyze");
    let pool = db.app_pool().await.expect("app pool");

    let mut tx = db::tenant_tx(&pool, small).await.expect("tenant");
    assert_eq!(retrieval::plan(&mut tx, small, MODEL).await.expect("plan"), SearchPlan::Exact);
    let found = retrieval::search(&mut tx, small, MODEL, &question(), LIMIT).await.expect("search");
    let exact = retrieval::search_exact(&mut tx, small, MODEL, &question(), LIMIT).await.expect("exact");
    assert_eq!(exact.len(), LIMIT);
    assert_eq!(found.iter().map(|chunk| chunk.id).collect::<Vec<_>>(), exact, "the nearest ten, nearest first");
    let facts: Vec<&str> = found.iter().map(|chunk| chunk.content.as_str()).collect();
    assert_eq!(facts[..3], ["small fact 0.", "small fact 1.", "small fact 2."]);
    assert!(found.iter().all(|chunk| chunk.product_title == "small catalogue"));
    tx.rollback().await.expect("rollback");

    // For contrast, the same query left to the planner, which here takes the index: the
    // iterative scan gives up among the other merchant's chunks before it reaches these.
    let mut tx = db::tenant_tx(&pool, small).await.expect("tenant");
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await.expect("set");
    let through_the_index: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM knowledge_chunks WHERE merchant_id = $2 AND model = $3 ORDER BY embedding <=> $1 LIMIT $4",
    )
    .bind(Vector::from(question()))
    .bind(small)
    .bind(MODEL)
    .bind(LIMIT as i64)
    .fetch_all(&mut *tx)
    .await
    .expect("index search");
    assert_ne!(through_the_index, exact, "the index finds the small catalogue's nearest ten here");
    tx.rollback().await.expect("rollback");

    let mut tx = db::tenant_tx(&pool, large).await.expect("tenant");
    assert_eq!(retrieval::plan(&mut tx, large, MODEL).await.expect("plan"), SearchPlan::Index);
    let found = retrieval::search(&mut tx, large, MODEL, &question(), LIMIT).await.expect("search");
    assert_eq!(found.len(), LIMIT);
    assert!(found.iter().all(|chunk| chunk.content.starts_with("large fact")), "only the merchant's own chunks");
    tx.rollback().await.expect("rollback");
}
