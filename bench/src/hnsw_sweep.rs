//! A sweep of the HNSW index's settings over one loaded catalogue: for each build (`m`,
//! `ef_construction`) the index is rebuilt, and for each `ef_search` every query runs the
//! agent's search at depth ten; recall@10 is measured against the exact top ten, computed once
//! per query before the sweep, and latency beside it. The printed table is what the product's
//! settings are chosen from.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use recete_knowledge::retrieval;
use recete_platform::db;
use recete_platform::ids::MerchantId;
use sqlx::PgPool;
use uuid::Uuid;

use crate::latency::percentile;

/// Depth of the recall check: the exact top ten are the truth.
pub const DEPTH: usize = 10;
/// Queries run untimed after each rebuild and each change of `ef_search`.
const WARMUP: usize = 10;

/// One index build of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Build {
    pub m: u32,
    pub ef_construction: u32,
}

impl std::str::FromStr for Build {
    type Err = String;

    /// `m:ef_construction`, for example `16:64` (pgvector's defaults).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (m, ef_construction) =
            text.split_once(':').ok_or_else(|| format!("an index build is m:ef_construction, not {text:?}"))?;
        let m: u32 = m.trim().parse().map_err(|_| format!("m in {text:?} is not a whole number"))?;
        let ef_construction: u32 =
            ef_construction.trim().parse().map_err(|_| format!("ef_construction in {text:?} is not a whole number"))?;
        // pgvector's bounds: m 2..=100, ef_construction 4..=1000 and at least 2·m.
        if !(2..=100).contains(&m) {
            return Err(format!("m must be between 2 and 100, not {m}"));
        }
        if !(4..=1000).contains(&ef_construction) || ef_construction < 2 * m {
            return Err(format!("ef_construction must be between 4 and 1000 and at least 2·m, not {ef_construction}"));
        }
        Ok(Self { m, ef_construction })
    }
}

/// One row of the sweep's table.
pub struct Row {
    pub build: Build,
    pub build_time: Duration,
    pub ef_search: u32,
    /// Milliseconds per search, sorted.
    pub millis: Vec<f64>,
    /// Mean share of the exact top ten found.
    pub recall: f64,
    /// Queries that found fewer than eight of the exact ten.
    pub poor_queries: usize,
}

/// The exact top [`DEPTH`] of each query: the truth the sweep measures against.
pub async fn exact_truth(
    pool: &PgPool,
    merchant: MerchantId,
    model: &str,
    queries: &[Vec<f32>],
) -> anyhow::Result<Vec<HashSet<Uuid>>> {
    let mut truth = Vec::with_capacity(queries.len());
    for query in queries {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let exact = retrieval::search_exact(&mut tx, merchant, model, query, DEPTH).await?;
        tx.rollback().await?;
        anyhow::ensure!(exact.len() == DEPTH, "the merchant has fewer than {DEPTH} chunks");
        truth.push(exact.into_iter().collect());
    }
    Ok(truth)
}

/// Drops the chunk index and builds it again with `build`'s parameters (through the superuser
/// pool, with the memory the build needs to stay in memory); returns how long the build took.
pub async fn rebuild_index(admin: &PgPool, build: Build) -> anyhow::Result<Duration> {
    let mut connection = admin.acquire().await?;
    sqlx::query("DROP INDEX IF EXISTS knowledge_chunks_embedding_idx").execute(&mut *connection).await?;
    sqlx::query("SET maintenance_work_mem = '1GB'").execute(&mut *connection).await?;
    let started = Instant::now();
    sqlx::query(&format!(
        "CREATE INDEX knowledge_chunks_embedding_idx ON knowledge_chunks USING hnsw (embedding vector_cosine_ops)
         WITH (m = {}, ef_construction = {})",
        build.m, build.ef_construction
    ))
    .execute(&mut *connection)
    .await
    .context("building the HNSW index")?;
    let took = started.elapsed();
    sqlx::query("RESET maintenance_work_mem").execute(&mut *connection).await?;
    drop(connection);
    sqlx::query("ANALYZE knowledge_chunks").execute(admin).await?;
    Ok(took)
}

/// Every query through the agent's index search at depth [`DEPTH`] with `ef_search`, timed,
/// and its recall against `truth`.
pub async fn measure(
    pool: &PgPool,
    merchant: MerchantId,
    model: &str,
    queries: &[Vec<f32>],
    truth: &[HashSet<Uuid>],
    ef_search: u32,
) -> anyhow::Result<(Vec<f64>, f64, usize)> {
    for query in queries.iter().take(WARMUP) {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        retrieval::search_with_ef(&mut tx, merchant, model, query, DEPTH, ef_search).await?;
        tx.rollback().await?;
    }
    let mut millis = Vec::with_capacity(queries.len());
    let mut recall_sum = 0.0;
    let mut poor = 0;
    for (query, exact) in queries.iter().zip(truth) {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let started = Instant::now();
        let found = retrieval::search_with_ef(&mut tx, merchant, model, query, DEPTH, ef_search).await?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        tx.rollback().await?;
        let hits = found.iter().filter(|chunk| exact.contains(&chunk.id)).count();
        recall_sum += hits as f64 / DEPTH as f64;
        if hits < 8 {
            poor += 1;
        }
    }
    millis.sort_by(f64::total_cmp);
    Ok((millis, recall_sum / queries.len().max(1) as f64, poor))
}

/// The whole sweep: each build, then each `ef_search` on it. The index is left as the last
/// build made it.
pub async fn run(
    admin: &PgPool,
    pool: &PgPool,
    merchant: MerchantId,
    model: &str,
    queries: &[Vec<f32>],
    builds: &[Build],
    ef_searches: &[u32],
) -> anyhow::Result<Vec<Row>> {
    let truth = exact_truth(pool, merchant, model, queries).await?;
    let mut rows = Vec::new();
    for build in builds {
        let build_time = rebuild_index(admin, *build).await?;
        for ef_search in ef_searches {
            let (millis, recall, poor_queries) = measure(pool, merchant, model, queries, &truth, *ef_search).await?;
            rows.push(Row { build: *build, build_time, ef_search: *ef_search, millis, recall, poor_queries });
        }
    }
    Ok(rows)
}

/// The sweep as a table: one line per build and `ef_search`.
pub fn print(rows: &[Row], queries: usize) {
    println!(
        "{:>4} {:>15} {:>9} {:>9} {:>10} {:>8} {:>8} {:>14}",
        "m", "ef_construction", "build s", "ef_search", "recall@10", "p50 ms", "p99 ms", "queries < 0.8"
    );
    for row in rows {
        println!(
            "{:>4} {:>15} {:>9.1} {:>9} {:>10.3} {:>8.2} {:>8.2} {:>10} of {queries}",
            row.build.m,
            row.build.ef_construction,
            row.build_time.as_secs_f64(),
            row.ef_search,
            row.recall,
            percentile(&row.millis, 0.50),
            percentile(&row.millis, 0.99),
            row.poor_queries
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        text.parse::<Build>().err().unwrap_or_default()
    }

    #[test]
    fn builds_are_read_as_m_and_ef_construction_within_pgvector_bounds() {
        assert_eq!("16:64".parse::<Build>(), Ok(Build { m: 16, ef_construction: 64 }));
        assert_eq!(" 32 : 200 ".parse::<Build>(), Ok(Build { m: 32, ef_construction: 200 }));
        assert!(refusal("16").contains("m:ef_construction"));
        assert!(refusal("x:64").contains("m in"));
        assert!(refusal("1:64").contains("between 2 and 100"));
        assert!(refusal("32:40").contains("at least 2·m"));
    }
}
