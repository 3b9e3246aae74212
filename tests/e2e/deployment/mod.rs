//! A deployment as an operator makes one: TLS to PostgreSQL and Redis, PgBouncer in transaction
//! mode in front of PostgreSQL, and the two roles (an owner that migrates, an application role
//! that owns nothing). Each runs against real servers the test starts on loopback. The Kubernetes
//! manifests are checked against the Kubernetes schemas and against live processes.

mod compose;
mod kubernetes;
mod pgbouncer;
mod roles;
mod tls;
mod upgrades;

use std::time::Duration;

use crate::followups::{SENT, deliver, graph_accepts, sent_bodies, shop};
use crate::helpers::TestApp;

/// A delivered order becomes a committed order and its first follow-up goes out through the
/// fake Graph API: the whole fleet (API, relays, every pool) did its work over the backends.
pub async fn serve_an_order_through_to_a_follow_up(app: &TestApp, graph: &wiremock::MockServer) {
    graph_accepts(graph).await;
    let shop = shop(app).await;
    let workers = app.start_workers();
    deliver(app, &shop, "7001").await;
    app.wait_for_count("SELECT count(*) FROM orders WHERE external_order_id = '7001' AND status = 'delivered'", 1, 30)
        .await;
    app.wait_for_count(SENT, 1, 30).await;
    let bodies = sent_bodies(graph).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["type"], "template");
    tokio::time::timeout(Duration::from_secs(30), workers.stop()).await.expect("workers stop in time");
}
