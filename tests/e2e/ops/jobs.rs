//! Job search with bookmarkable URLs and keyset pages, a job's page with its attempts and
//! payload, and retrying by role.

use recete_jobs::admin::{JobFilter, JobState};
use recete_ops::operators::Role;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use uuid::Uuid;

use super::{location, signed_in, spawn_board};

fn job_ids_on(page: &str) -> Vec<Uuid> {
    page.split(r#"data-job-id=""#).skip(1).filter_map(|rest| rest.split('"').next()?.parse().ok()).collect()
}

#[tokio::test]
async fn a_search_is_a_bookmarkable_url_with_keyset_pages_and_bad_filters_name_their_field() {
    let board = spawn_board().await;
    let session = signed_in(&board, "reader", Role::ReadOnly).await;
    let (merchant, dead) = board.dead_jobs(5).await;
    let (_other_merchant, other) = board.dead_jobs(2).await;

    // The form sends every field; the board answers with the canonical URL of the filter.
    let submitted =
        format!("/ops/jobs?id=&queue=order-events&kind=&state=dead&merchant={merchant}&order=&external_id=&from=&to=");
    let response = board.get(&session, &submitted).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let canonical = location(&response);
    let filter = JobFilter {
        queue: Some("order-events".into()),
        state: Some(JobState::Dead),
        merchant: Some(merchant.as_uuid()),
        ..JobFilter::default()
    };
    assert_eq!(canonical, format!("/ops/jobs?{}", filter.to_query()));

    // The bookmark shows the same search: its values in the form, and only its jobs.
    let page = board.get_html(&session, &canonical).await;
    assert!(page.contains(&format!(r#"name="merchant" value="{merchant}""#)), "the form keeps the merchant");
    assert!(page.contains(r#"<option value="dead" selected>"#), "and the state");
    let mut shown = job_ids_on(&page);
    shown.sort();
    let mut expected = dead.clone();
    expected.sort();
    assert_eq!(shown, expected);
    assert!(other.iter().all(|id| !page.contains(&id.to_string())), "another merchant's jobs are not shown");
    assert!(page.contains("<strong>5</strong> matching jobs"), "the exact count");

    // Keyset pages of 2: every job once, none twice, then no next link.
    let mut seen = Vec::new();
    let mut next = Some(format!("{canonical}&limit=2"));
    while let Some(url) = next.take() {
        let page = board.get_html(&session, &url.replace("&amp;", "&")).await;
        let ids = job_ids_on(&page);
        assert!(ids.len() <= 2, "{ids:?} on {url}: {page}");
        seen.extend(ids);
        next = page.split(r#"id="next-page" href=""#).nth(1).and_then(|rest| rest.split('"').next()).map(str::to_owned);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique), (5, expected), "no repeats, no gaps");

    for (query, field) in
        [("state=failed", "state"), ("merchant=shop-1", "merchant"), ("stat=dead", "stat"), ("limit=0", "limit")]
    {
        let response = board.get(&session, &format!("/ops/jobs?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let page = response.text().await.expect("page");
        assert!(
            page.contains(&format!(r#"id="filter-error">{field}"#)) || page.contains(&format!("`{field}`")),
            "{query}: {page}"
        );
    }
    let malformed = board.get(&session, "/ops/jobs?state=done&after=notacursor").await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(malformed.text().await.expect("page").contains("after: the page cursor is malformed"));
    let first_page = board.get_html(&session, &format!("{canonical}&limit=2")).await;
    let cursor = first_page.split("after=").nth(1).and_then(|rest| rest.split('"').next()).expect("a next cursor");
    let foreign = board.get(&session, &format!("/ops/jobs?state=done&after={cursor}")).await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST, "a cursor only pages the search that made it");
    assert!(foreign.text().await.expect("page").contains("belongs to another search"));
}

#[tokio::test]
async fn a_jobs_page_shows_its_attempts_and_a_redacted_payload_that_only_admins_reveal_on_the_record() {
    let board = spawn_board().await;
    let (_, ids) = board.dead_jobs(1).await;
    let id = ids[0];
    sqlx::query(
        "INSERT INTO job_attempts (job_id, job_table, queue, attempt, worker, due_at, started_at, finished_at, outcome, error)
         VALUES ($1, 'external_events', 'order-events', 1, 'order-events-host-1-1', now() - interval '3 s',
                 now() - interval '2 s', now() - interval '1 s', 'failed', 'connection reset by the store')",
    )
    .bind(id)
    .execute(&board.app.admin)
    .await
    .expect("attempt recorded");
    let operator = signed_in(&board, "ops", Role::Operator).await;
    let admin = signed_in(&board, "root", Role::Admin).await;

    let page = board.get_html(&operator, &format!("/ops/jobs/{id}")).await;
    assert!(page.contains("connection reset by the store") && page.contains("order-events-host-1-1"), "the attempt");
    for action in ["retry", "cancel", "requeue"] {
        assert!(page.contains(&format!(r#"action="/ops/jobs/{id}/{action}""#)), "a dead job offers {action}");
    }
    assert!(!page.contains("reveal-payload"), "revealing is for admins");
    assert!(board.get_html(&admin, &format!("/ops/jobs/{id}")).await.contains("reveal-payload"));

    let redacted: serde_json::Value =
        board.get(&operator, &format!("/ops/jobs/{id}/payload")).await.json().await.expect("payload json");
    assert_eq!(redacted["redacted"], true, "{redacted}");
    let text = redacted["text"].as_str().expect("text");
    assert!(text.contains("SERUM-30") && text.contains("[redacted]") && !text.contains("+90555"), "{text}");

    let reveal = |session: &super::Session| {
        board
            .client
            .post(board.url(&format!("/ops/jobs/{id}/payload/reveal")))
            .header(COOKIE, &session.cookie)
            .header("x-csrf-token", &session.csrf)
            .send()
    };
    let refused = reveal(&operator).await.expect("sent");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = refused.json().await.expect("json");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("needs the admin role")), "{body}");
    assert!(board.audited("job.payload_revealed").await.is_empty());

    let revealed: serde_json::Value = reveal(&admin).await.expect("sent").json().await.expect("json");
    assert_eq!(revealed["redacted"], false);
    assert!(revealed["text"].as_str().is_some_and(|t| t.contains("+905550000000")), "{revealed}");
    assert_eq!(board.audited("job.payload_revealed").await, vec![("operator:root".to_owned(), Some(id.to_string()))]);

    let bad = board.get(&operator, "/ops/jobs/not-a-job").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.expect("page").contains("id: `not-a-job` is not a job id"));
    let missing = board.get(&operator, &format!("/ops/jobs/{}", Uuid::now_v7())).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn read_only_cannot_retry_an_operator_can_and_the_retry_is_audited() {
    let board = spawn_board().await;
    let (_, ids) = board.dead_jobs(1).await;
    let id = ids[0];
    let reader = signed_in(&board, "reader", Role::ReadOnly).await;
    let operator = signed_in(&board, "ops", Role::Operator).await;

    let refused = board.post(&reader, &format!("/ops/jobs/{id}/retry"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.expect("page").contains("Retrying a job needs the operator role"));
    assert_eq!(board.job_state(id).await, "dead");

    let retried = board.post(&operator, &format!("/ops/jobs/{id}/retry"), &[]).await;
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&retried), format!("/ops/jobs/{id}?done=retry"));
    let (state, attempts): (String, i32) = sqlx::query_as("SELECT state, attempts FROM external_events WHERE id = $1")
        .bind(id)
        .fetch_one(&board.app.admin)
        .await
        .expect("row");
    assert_eq!((state.as_str(), attempts), ("pending", 0));
    assert_eq!(board.audited("job.retried").await, vec![("operator:ops".to_owned(), Some(id.to_string()))]);
    let page = board.get_html(&operator, &location(&retried)).await;
    assert!(page.contains("Done: retry — the job is pending now."));
    assert!(page.contains(&format!(r#"action="/ops/jobs/{id}/cancel""#)), "a pending job may be cancelled");
    for refused in ["retry", "requeue"] {
        assert!(!page.contains(&format!(r#"action="/ops/jobs/{id}/{refused}""#)), "no button that would be refused");
    }

    let again = board.post(&operator, &format!("/ops/jobs/{id}/retry"), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.expect("page").contains("cannot retry a job that is pending"));
    let unknown = board.post(&operator, &format!("/ops/jobs/{id}/explode"), &[]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
