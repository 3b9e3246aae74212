//! The labelled set in `eval/` run through the real path (storage, embedding, retrieval, the
//! agent, the guardrails) with the local model. The bounds sit a little under the figures
//! measured when they were set, so a change that makes retrieval or answers worse fails here.

use std::path::Path;

use recete_agent::Agent;
use recete_agent::evaluation::{self, Dataset};
use recete_embed::LocalMiniLm;
use recete_platform::config::{PlatformSettings, base_figment};
use recete_testkit::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labelled_set_meets_its_bounds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dataset = Dataset::load(&root.join("eval")).expect("the evaluation set loads");
    assert!(dataset.products.len() >= 10, "at least 10 products");
    assert!(dataset.questions.answerable.len() >= 110, "at least 110 answerable questions");
    assert!(dataset.questions.refused.len() >= 35, "at least 35 questions to refuse");

    let database = TestDatabase::create().await.expect("a test database");
    let pool = database.app_pool().await.expect("a pool");
    let settings = PlatformSettings::load_from(base_figment(None)).expect("default settings");
    let embedder = LocalMiniLm::shared(root.join("models/all-MiniLM-L6-v2")).expect("run `make models` first");
    let agent = Agent::new(embedder, None, settings.agent.clone());
    let report = evaluation::run(&pool, &agent, &dataset, 32).await.expect("the evaluation runs");
    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    println!("{}", report.table());

    // (part, its figures, lowest recall@5, MRR, share of refusals done right, answered from the
    // evidence, grounded): a little under the figures measured (tuning 0.959, 0.822, 23 of 23,
    // 0.932, 0.972; held-out 0.984, 0.903, 20 of 20, 0.841, 0.964; the questions in Turkish,
    // German, Spanish and Arabic of the tuning part 1.000, 0.821, 2 of 2, 0.923, 1.000). Every
    // refusal must be right.
    let bounds = [
        ("tuning", &report.tuning, 0.95, 0.81, 1.0, 0.92, 0.96),
        ("held-out", &report.held_out, 0.97, 0.89, 1.0, 0.83, 0.95),
        ("other languages, tuning", &report.other_languages_tuning, 0.92, 0.8, 1.0, 0.9, 0.95),
    ];
    for (part, figures, recall, mrr, refusals, from_evidence, grounded) in bounds {
        assert!(figures.recall_at_5 >= recall, "{part}: recall@5 {}", figures.recall_at_5);
        assert!(figures.mrr >= mrr, "{part}: MRR {}", figures.mrr);
        assert!(figures.refusals_correct >= refusals, "{part}: refusals done right {}", figures.refusals_correct);
        assert!(
            figures.answered_from_evidence >= from_evidence,
            "{part}: answered from the evidence {}",
            figures.answered_from_evidence
        );
        assert!(figures.grounded >= grounded, "{part}: answers citing the right product {}", figures.grounded);
    }
    // As the superuser: row-level security would hide the rows from the application role.
    let admin = database.admin_pool().await.expect("a superuser pool");
    let left: i64 =
        sqlx::query_scalar("SELECT (SELECT count(*) FROM knowledge_chunks) + (SELECT count(*) FROM merchants)")
            .fetch_one(&admin)
            .await
            .expect("rows counted");
    assert_eq!(left, 0, "the throwaway merchant and its chunks are removed");
}
