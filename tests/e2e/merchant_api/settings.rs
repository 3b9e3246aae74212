//! Settings: the defaults, partial changes validated as a whole (nested fields named in
//! errors), the stored result as the planner reads it, and the audit of what changed.

use recete_platform::db;
use recete_shared::merchants;
use serde_json::{Value, json};

use super::{json_with, misnamed_fields, tenant};
use crate::helpers::spawn_app;

fn step(key: &str, offset_hours: u32) -> Value {
    json!({
        "key": key,
        "offset_hours": offset_hours,
        "template": {"name": "recete_how_to_use", "language": "tr", "category": "utility",
                     "parameters": ["customer_first_name", "product_title"]},
        "window_text": "Kullanımla ilgili bir sorunuz var mı?"
    })
}

#[tokio::test]
async fn settings_change_in_part_are_stored_as_the_planner_reads_them_and_audited() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let other = tenant(&app, "Other Store").await;

    let defaults = shop.get_json(&app, "/api/settings").await;
    assert_eq!(defaults["timezone"], "Europe/Istanbul");
    assert_eq!(defaults["quiet_hours"], json!({"start": "21:00", "end": "09:00"}));
    assert_eq!(defaults["frequency_cap"], json!({"max_messages": 1, "per_hours": 24}));
    assert_eq!(defaults["default_phone_country"], Value::Null);
    assert_eq!(defaults["phone_country"], json!({"country": "TR", "source": "timezone"}), "unset: the zone's country");
    let default_keys: Vec<&str> =
        defaults["follow_up_plan"].as_array().expect("plan").iter().filter_map(|s| s["key"].as_str()).collect();
    assert_eq!(default_keys, ["t3", "t14"]);
    assert_eq!(defaults["attribution_window_days"], 7);

    let changed = json_with(
        shop.patch(
            &app,
            "/api/settings",
            &json!({
                "timezone": "America/New_York",
                "quiet_hours": {"start": "22:30"},
                "frequency_cap": {"max_messages": 2, "per_hours": 48},
                "default_phone_country": "tr",
                "follow_up_plan": [step("day2", 48)],
                "attribution_window_days": 14
            }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["timezone"], "America/New_York");
    assert_eq!(changed["quiet_hours"], json!({"start": "22:30", "end": "09:00"}), "end left as it was");
    assert_eq!(changed["frequency_cap"], json!({"max_messages": 2, "per_hours": 48}));
    assert_eq!(changed["default_phone_country"], "TR");
    assert_eq!(changed["phone_country"], json!({"country": "TR", "source": "setting"}), "set: the setting");
    assert_eq!(changed["follow_up_plan"], json!([step("day2", 48)]));
    assert_eq!(changed["stale_delivery_hours"], defaults["stale_delivery_hours"]);
    assert_eq!(changed["attribution_window_days"], 14);
    assert_eq!(shop.get_json(&app, "/api/settings").await, changed);

    let mut tx = db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
    let stored = merchants::settings(&mut tx, shop.merchant).await.expect("settings");
    tx.commit().await.expect("commit");
    assert_eq!(stored.follow_up_plan.len(), 1);
    assert_eq!(stored.follow_up_plan[0].offset_hours, 48);
    assert_eq!(stored.frequency_cap.max_messages, 2);
    assert_eq!(stored.quiet_hours.start.format("%H:%M").to_string(), "22:30");
    assert_eq!(stored.default_phone_country.as_deref(), Some("TR"));
    assert_eq!(stored.attribution_window_days, 14);

    let (before, after): (Value, Value) = sqlx::query_as(
        "SELECT before, after FROM audit_log WHERE action = 'merchant.settings_changed' AND actor LIKE 'api-key:%'",
    )
    .fetch_one(&app.admin)
    .await
    .expect("one audit row");
    assert_eq!(before["timezone"], "Europe/Istanbul");
    assert_eq!(after["timezone"], "America/New_York");
    assert_eq!(before["quiet_hours"]["start"], "21:00");
    assert!(before.get("stale_delivery_hours").is_none(), "only what changed: {before}");

    let cleared =
        json_with(shop.patch(&app, "/api/settings", &json!({"default_phone_country": null})).await, 200).await;
    assert_eq!(cleared["default_phone_country"], Value::Null);
    assert_eq!(cleared["phone_country"], json!({"country": "US", "source": "timezone"}), "New York's country");
    let in_utc = json_with(shop.patch(&app, "/api/settings", &json!({"timezone": "UTC"})).await, 200).await;
    assert_eq!(in_utc["phone_country"], Value::Null, "a zone of no country gives none");
    let unchanged = json_with(shop.patch(&app, "/api/settings", &json!({})).await, 200).await;
    assert_eq!(unchanged, in_utc, "an empty change changes nothing");
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'merchant.settings_changed'").await, 3);

    let untouched = other.get_json(&app, "/api/settings").await;
    assert_eq!(untouched["timezone"], "Europe/Istanbul", "another merchant's settings are their own");
    assert_eq!(untouched["follow_up_plan"], defaults["follow_up_plan"]);
}

#[tokio::test]
async fn invalid_settings_are_refused_naming_the_nested_field_and_change_nothing() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let before = shop.get_json(&app, "/api/settings").await;

    let mut bad_category = step("t1", 24);
    bad_category["template"]["category"] = json!("promotion");
    let mut bad_language = step("t1", 24);
    bad_language["template"]["language"] = json!("Turkish");
    let mut extra = step("t1", 24);
    extra["delay"] = json!(3);
    let wrong = misnamed_fields(
        &app,
        &shop,
        reqwest::Method::PATCH,
        "/api/settings",
        vec![
            (json!({"timezone": "Mars/Olympus_Mons"}), "timezone"),
            (json!({"timezone": null}), "timezone"),
            (json!({"quiet_hours": {"start": "25:00"}}), "quiet_hours.start"),
            (json!({"quiet_hours": {"end": "8am"}}), "quiet_hours.end"),
            (json!({"quiet_hours": {"begin": "21:00"}}), "quiet_hours.begin"),
            (json!({"quiet_hours": null}), "quiet_hours"),
            (json!({"frequency_cap": {"per_hours": 0}}), "frequency_cap.per_hours"),
            (json!({"frequency_cap": {"max_messages": -1}}), "frequency_cap.max_messages"),
            (json!({"frequency_cap": {"max_messages": 51}}), "frequency_cap.max_messages"),
            (json!({"default_phone_country": "XX"}), "default_phone_country"),
            (json!({"default_phone_country": "TUR"}), "default_phone_country"),
            (json!({"follow_up_plan": [step("t1", 24), step("t2", 0)]}), "follow_up_plan[1].offset_hours"),
            (json!({"follow_up_plan": [step("t1", 24), step("t1", 48)]}), "follow_up_plan[1].key"),
            (json!({"follow_up_plan": [bad_category]}), "follow_up_plan[0].template.category"),
            (json!({"follow_up_plan": [bad_language]}), "follow_up_plan[0].template.language"),
            (json!({"follow_up_plan": [extra]}), "follow_up_plan[0].delay"),
            (json!({"follow_up_plan": null}), "follow_up_plan"),
            (json!({"stale_delivery_hours": 0}), "stale_delivery_hours"),
            (json!({"assume_delivered_after_days": 365}), "assume_delivered_after_days"),
            (json!({"attribution_window_days": 0}), "attribution_window_days"),
            (json!({"attribution_window_days": 91}), "attribution_window_days"),
            (json!({"attribution_window_days": -1}), "attribution_window_days"),
            (json!({"attribution_window_days": "7"}), "attribution_window_days"),
            (json!({"colour": "red"}), "colour"),
        ],
    )
    .await;
    assert!(wrong.is_empty(), "each invalid setting is a 422 naming its field:\n{}", wrong.join("\n"));
    assert_eq!(shop.get_json(&app, "/api/settings").await, before);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'merchant.settings_changed'").await, 0);
}
