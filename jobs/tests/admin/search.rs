use std::collections::HashSet;

use recete_jobs::admin::count::{self, Count, EXACT_UP_TO};
use recete_jobs::admin::search::{self, SearchError};
use recete_jobs::admin::{JobFilter, JobState, JobTable};
use uuid::Uuid;

use crate::fleet::{Fleet, NewEvent, NewTask, ago};

fn filter(query: &str) -> JobFilter {
    JobFilter::from_query(query).unwrap_or_else(|e| panic!("filter `{query}`: {e}"))
}

async fn ids(fleet: &Fleet, query: &str) -> HashSet<Uuid> {
    let page = search::search(&fleet.pool, &filter(query), None, 100).await.expect("search");
    page.jobs.iter().map(|job| job.id).collect()
}

fn set(ids: &[Uuid]) -> HashSet<Uuid> {
    ids.iter().copied().collect()
}

#[tokio::test]
async fn every_filter_field_narrows_the_search_over_both_tables() {
    let fleet = Fleet::new().await;
    let other = fleet.another_shop("Other Shop").await;
    let order = fleet.order(fleet.shop, "1001").await;
    let paid = fleet
        .event(NewEvent {
            kind: "order.paid",
            subject_id: Some("1001".into()),
            platform_event_id: Some("evt-1".into()),
            created_at: ago(600),
            ..NewEvent::default()
        })
        .await;
    let whatsapp_dead = fleet
        .event(NewEvent {
            shop: Some(other),
            source: "whatsapp",
            kind: "message.received",
            state: "dead",
            created_at: ago(500),
            ..NewEvent::default()
        })
        .await;
    let ignored = fleet
        .event(NewEvent {
            source: "generic",
            kind: "order.created",
            state: "ignored",
            created_at: ago(400),
            ..NewEvent::default()
        })
        .await;
    let processed_long_ago = fleet
        .event(NewEvent {
            source: "woocommerce",
            state: "processed",
            created_at: ago(86_400 * 3),
            ..NewEvent::default()
        })
        .await;
    let follow_up_retrying = fleet
        .task(NewTask {
            kind: "follow_up",
            state: "failed",
            order_id: Some(order),
            unique_key: Some("follow_up:1001:3d".into()),
            due_at: ago(-60),
            created_at: ago(300),
            ..NewTask::default()
        })
        .await;
    let scrape_scheduled =
        fleet.task(NewTask { kind: "scrape", due_at: ago(-3600), created_at: ago(200), ..NewTask::default() }).await;
    let answer_done =
        fleet.task(NewTask { kind: "answer", state: "done", created_at: ago(100), ..NewTask::default() }).await;

    assert_eq!(ids(&fleet, &format!("id={paid}")).await, set(&[paid]));
    assert_eq!(ids(&fleet, &format!("id={answer_done}")).await, set(&[answer_done]));
    assert_eq!(ids(&fleet, "queue=whatsapp-events").await, set(&[whatsapp_dead]));
    assert_eq!(ids(&fleet, "queue=order-events").await, set(&[paid, ignored, processed_long_ago]));
    assert_eq!(ids(&fleet, "queue=messages").await, set(&[follow_up_retrying]));
    assert_eq!(ids(&fleet, "queue=knowledge").await, set(&[scrape_scheduled]));
    assert_eq!(ids(&fleet, "kind=answer").await, set(&[answer_done]));
    assert_eq!(ids(&fleet, "kind=order.paid").await, set(&[paid, processed_long_ago]));
    assert_eq!(ids(&fleet, "state=pending").await, set(&[paid]));
    assert_eq!(ids(&fleet, "state=scheduled").await, set(&[scrape_scheduled]));
    assert_eq!(ids(&fleet, "state=retrying").await, set(&[follow_up_retrying]));
    assert_eq!(ids(&fleet, "state=dead").await, set(&[whatsapp_dead]));
    assert_eq!(ids(&fleet, "state=done").await, set(&[processed_long_ago, answer_done]));
    assert_eq!(ids(&fleet, "state=ignored").await, set(&[ignored]));
    assert_eq!(ids(&fleet, &format!("merchant={}", other.merchant)).await, set(&[whatsapp_dead]));
    assert_eq!(ids(&fleet, "order=1001").await, set(&[paid, follow_up_retrying]), "by the store's order id");
    assert_eq!(ids(&fleet, &format!("order={order}")).await, set(&[paid, follow_up_retrying]), "by our order id");
    assert_eq!(ids(&fleet, "external_id=evt-1").await, set(&[paid]));
    assert_eq!(ids(&fleet, "external_id=follow_up:1001:3d").await, set(&[follow_up_retrying]));
    let from = (chrono::Utc::now() - chrono::TimeDelta::seconds(450)).to_rfc3339();
    let to = (chrono::Utc::now() - chrono::TimeDelta::seconds(150)).to_rfc3339();
    let window = format!("from={}&to={}", urlencode(&from), urlencode(&to));
    assert_eq!(ids(&fleet, &window).await, set(&[ignored, follow_up_retrying, scrape_scheduled]));
    assert_eq!(ids(&fleet, &format!("{window}&queue=messages&state=retrying")).await, set(&[follow_up_retrying]));

    let page = search::search(&fleet.pool, &filter("queue=messages"), None, 10).await.expect("search");
    let job = &page.jobs[0];
    assert_eq!((job.table, job.queue.as_str(), job.kind.as_str()), (JobTable::ScheduledTasks, "messages", "follow_up"));
    assert_eq!(job.state, JobState::Retrying);
    assert_eq!(page.estimated_total, Count::Exact(1));
}

fn urlencode(value: &str) -> String {
    value.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn pages_walk_both_tables_newest_first_without_repeats_or_gaps() {
    let fleet = Fleet::new().await;
    let shared_moment = ago(10_000);
    let mut expected = Vec::new();
    for n in 0..60_i64 {
        // Every third job shares one created_at with others, across both tables: ids break ties.
        let created_at = if n % 3 == 0 { shared_moment } else { ago(n * 7) };
        let id = if n % 2 == 0 {
            fleet.event(NewEvent { created_at, ..NewEvent::default() }).await
        } else {
            fleet.task(NewTask { created_at, ..NewTask::default() }).await
        };
        expected.push(id);
    }
    let everything = JobFilter::default();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = search::search(&fleet.pool, &everything, after.as_deref(), 7).await.expect("page");
        pages += 1;
        assert!(page.jobs.len() <= 7);
        seen.extend(page.jobs.iter().map(|job| (job.created_at, job.id)));
        if page.next.is_none() {
            break;
        }
        // A job arriving between pages is newer than every page so far: it never shifts them.
        fleet.event(NewEvent::default()).await;
        after = page.next;
    }
    assert_eq!(pages, 9, "60 jobs in pages of 7");
    let unique: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(unique.len(), seen.len(), "no job twice");
    assert_eq!(unique, set(&expected), "every job once");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");
}

#[tokio::test]
async fn bad_filters_and_foreign_cursors_are_refused_by_name() {
    let fleet = Fleet::new().await;
    for n in 0..3 {
        fleet.event(NewEvent { state: "dead", created_at: ago(n), ..NewEvent::default() }).await;
    }
    let dead = filter("state=dead");
    let first = search::search(&fleet.pool, &dead, None, 2).await.expect("first page");
    let cursor = first.next.expect("a second page");
    assert_eq!(search::search(&fleet.pool, &dead, Some(&cursor), 2).await.expect("second page").jobs.len(), 1);

    let error = search::search(&fleet.pool, &filter("state=retrying"), Some(&cursor), 2).await.expect_err("foreign");
    assert!(matches!(error, SearchError::Cursor(_)), "{error}");
    assert!(error.to_string().contains("another search"), "{error}");
    let error = search::search(&fleet.pool, &dead, Some("garbage"), 2).await.expect_err("malformed");
    assert!(error.to_string().starts_with("after:"), "{error}");

    let bad_queue = JobFilter { queue: Some("orders".into()), ..JobFilter::default() };
    let error = search::search(&fleet.pool, &bad_queue, None, 10).await.expect_err("unknown queue");
    assert!(error.to_string().starts_with("queue:"), "{error}");
    let error = search::search(&fleet.pool, &dead, None, 0).await.expect_err("no rows asked");
    assert!(error.to_string().starts_with("limit:"), "{error}");
    let error = JobFilter::from_query("merchant=acme").expect_err("not a uuid");
    assert_eq!(error.field(), "merchant");
}

#[tokio::test]
async fn counts_are_exact_when_small_and_estimated_past_the_cap() {
    let fleet = Fleet::new().await;
    let other = fleet.another_shop("Small Shop").await;
    fleet.many_events(fleet.shop, EXACT_UP_TO + 2_000, "dead", ago(0)).await;
    fleet.many_events(other, 25, "dead", ago(0)).await;
    sqlx::query("ANALYZE external_events").execute(&fleet.admin).await.expect("analyze");

    let small = count::count_jobs(&fleet.pool, &filter(&format!("merchant={}", other.merchant))).await.expect("count");
    assert_eq!(small, Count::Exact(25));
    let large = count::count_jobs(&fleet.pool, &filter("state=dead")).await.expect("count");
    let Count::Estimated(estimate) = large else { panic!("a count past the cap is an estimate: {large:?}") };
    assert!(estimate > EXACT_UP_TO, "never below what was counted: {estimate}");
    let truth = EXACT_UP_TO + 2_025;
    assert!((estimate - truth).abs() < truth / 5, "close to the truth ({truth}) after ANALYZE: {estimate}");
    let page = search::search(&fleet.pool, &filter("state=dead"), None, 50).await.expect("page");
    assert_eq!(page.jobs.len(), 50);
    assert!(!page.estimated_total.is_exact());

    let plan = search::explain(&fleet.pool, &filter("state=dead"), None, 50, false).await.expect("plan");
    assert!(plan.contains("Index Scan using external_events_state_created_at_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan") && !plan.contains("Sort  ("), "no scan and sort: {plan}");
    let plan = search::explain(&fleet.pool, &JobFilter::default(), None, 50, false).await.expect("plan");
    assert!(plan.contains("Index Scan using external_events_created_at_id_idx"), "{plan}");
}
