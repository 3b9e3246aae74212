use recete_platform::ids::MerchantId;

use super::{policy, retry_after, service_limit};
use crate::helpers::{TestApp, assert_problem, spawn_app_with};

async fn second_key(app: &TestApp, merchant: MerchantId) -> String {
    let mut tx = recete_platform::db::tenant_tx(&app.pool, merchant).await.expect("tx");
    let (_, key) = recete_shared::api_keys::insert(&mut tx, merchant, "second", None).await.expect("key");
    tx.commit().await.expect("commit");
    key
}

async fn list(app: &TestApp, key: &str) -> reqwest::Response {
    app.client.get(app.url("/api/conversations")).bearer_auth(key).send().await.expect("sent")
}

#[tokio::test]
async fn each_key_has_its_quota_and_the_keys_of_a_merchant_share_the_merchants() {
    let app = spawn_app_with(|figment| {
        figment
            .merge(("rate_limits.api_key.quantity", 3))
            .merge(("rate_limits.api_key.window_secs", 3600))
            .merge(("rate_limits.merchant.quantity", 5))
            .merge(("rate_limits.merchant.window_secs", 3600))
    })
    .await;
    let shop = recete_shared::merchants::create(&app.pool, "Shop", "UTC").await.expect("merchant");
    let first_key = shop.api_key.clone();
    let second_key = second_key(&app, shop.merchant_id).await;

    // The key's quota (3) is the tighter one, so its headers are the ones sent.
    for expected_left in [2, 1, 0] {
        let response = list(&app, &first_key).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(policy(&response).as_deref(), Some("\"api_key\";q=3;w=3600"));
        let limit = service_limit(&response);
        assert_eq!((limit.name.as_str(), limit.available), ("api_key", expected_left));
        assert!((1190..=1200).contains(&limit.seconds), "one request is earned every 1200 s: {limit:?}");
    }
    let refused = list(&app, &first_key).await;
    assert_eq!(policy(&refused).as_deref(), Some("\"api_key\";q=3;w=3600"));
    assert!((1190..=1200).contains(&retry_after(&refused)));
    let problem = assert_problem(refused, 429).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`api_key`")), "{problem}");

    // The refused request cost the merchant nothing: 3 of its 5 are used, by the first key.
    let response = list(&app, &second_key).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(policy(&response).as_deref(), Some("\"merchant\";q=5;w=3600"));
    assert_eq!(service_limit(&response).available, 1);
    assert_eq!(service_limit(&list(&app, &second_key).await).available, 0);
    let refused = list(&app, &second_key).await;
    assert_eq!(policy(&refused).as_deref(), Some("\"merchant\";q=5;w=3600"));
    let problem = assert_problem(refused, 429).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`merchant`")), "{problem}");

    // Another merchant is untouched, and a bad key is refused by authentication, not by a quota.
    let other = recete_shared::merchants::create(&app.pool, "Other", "UTC").await.expect("merchant");
    let response = list(&app, &other.api_key).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(service_limit(&response).available, 2);
    let bad = list(&app, "rk_live_notarealkey").await;
    assert_problem(bad, 401).await;
}
