//! The users page: owners invite, re-role and disable; agents and viewers may not; the last
//! owner stays; one merchant never sees another's users; every change is audited as the user.

use recete_console::users::Role;
use reqwest::StatusCode;

use super::{PASSWORD, spawn_console};

/// The one-time link an invitation page shows (`http://…/console/sign-in/link/<token>`).
fn shown_link(page: &str) -> String {
    let start = page.find("/console/sign-in/link/").expect("the page shows the link");
    page[start..].split('<').next().expect("the link ends").to_owned()
}

#[tokio::test]
async fn an_owner_invites_re_roles_and_disables_users_and_each_change_is_audited() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;

    let invited =
        console.post(&owner, "/console/settings/users", &[("email", "Agent@Shop.example"), ("role", "agent")]).await;
    assert_eq!(invited.status(), StatusCode::OK);
    let page = invited.text().await.expect("page");
    assert!(page.contains("agent@shop.example is invited."), "{page}");
    let link = shown_link(&page);
    assert!(
        page.contains(&format!("{}{link}", console.app.settings.app.public_url)),
        "a full link under the public URL"
    );
    let listed = console.get_html(&owner, "/console/settings/users").await;
    assert!(!listed.contains("/console/sign-in/link/"), "the link is shown once, never again");
    assert!(listed.contains("invited, no password yet"));

    let agent = console.session_from(console.redeem(&link, PASSWORD, PASSWORD).await).await;
    assert!(console.is_signed_in(&agent).await, "the invited person signs in with the link");

    let taken =
        console.post(&owner, "/console/settings/users", &[("email", "agent@shop.example"), ("role", "viewer")]).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let bad = console.post(&owner, "/console/settings/users", &[("email", "not an email"), ("role", "viewer")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.expect("page").contains("is not an email address"));
    let bad_role =
        console.post(&owner, "/console/settings/users", &[("email", "x@shop.example"), ("role", "admin")]).await;
    assert_eq!(bad_role.status(), StatusCode::BAD_REQUEST);

    let agent_id = console.user_id("agent@shop.example").await;
    let detail = console.get_html(&owner, &format!("/console/settings/users/{agent_id}")).await;
    assert!(detail.contains("agent@shop.example"));
    let re_roled =
        console.post(&owner, &format!("/console/settings/users/{agent_id}/role"), &[("role", "viewer")]).await;
    assert_eq!(re_roled.status(), StatusCode::OK);
    assert!(re_roled.text().await.expect("page").contains("agent@shop.example is now viewer."));
    assert_eq!(console.role_of("agent@shop.example").await, "viewer");

    let disabled = console.post(&owner, &format!("/console/settings/users/{agent_id}/disable"), &[]).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert!(!console.is_signed_in(&agent).await, "a disabled user's sessions end at once");
    assert_eq!(console.sign_in("agent@shop.example", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

    for action in ["user.invited", "user.role_changed", "user.disabled"] {
        let rows = console.audited(action).await;
        let by_owner: Vec<_> = rows.iter().filter(|(actor, _)| actor == "user:owner@shop.example").collect();
        assert_eq!(by_owner.len(), 1, "{action}: {rows:?}");
        assert_eq!(by_owner[0].1.map(|id| id.to_string()), Some(merchant.to_string()));
    }
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_or_disabled() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;
    let owner_id = console.user_id("owner@shop.example").await;
    let demote = console.post(&owner, &format!("/console/settings/users/{owner_id}/role"), &[("role", "agent")]).await;
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    assert!(demote.text().await.expect("page").contains("is the last active owner of this store"));
    let disable = console.post(&owner, &format!("/console/settings/users/{owner_id}/disable"), &[]).await;
    assert_eq!(disable.status(), StatusCode::CONFLICT);
    assert_eq!(console.role_of("owner@shop.example").await, "owner");

    console.user(merchant, "second@shop.example", Role::Owner).await;
    let demote = console.post(&owner, &format!("/console/settings/users/{owner_id}/role"), &[("role", "agent")]).await;
    assert_eq!(demote.status(), StatusCode::OK, "with another owner, an owner may step down");
    assert_eq!(console.role_of("owner@shop.example").await, "agent");
}

#[tokio::test]
async fn an_agent_or_viewer_trying_an_owner_action_gets_403_naming_the_roles_and_nothing_changes() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    console.user(merchant, "owner@shop.example", Role::Owner).await;
    let agent = console.user(merchant, "agent@shop.example", Role::Agent).await;
    let viewer = console.user(merchant, "viewer@shop.example", Role::Viewer).await;
    let owner_id = console.user_id("owner@shop.example").await;

    let page = console.get_html(&agent, "/console/settings/users").await;
    assert!(page.contains("owner@shop.example"), "agents read the list");
    assert!(!page.contains(r#"action="/console/settings/users""#), "but get no invite form");

    let invite =
        console.post(&agent, "/console/settings/users", &[("email", "x@shop.example"), ("role", "owner")]).await;
    assert_eq!(invite.status(), StatusCode::FORBIDDEN);
    let text = invite.text().await.expect("page");
    assert!(text.contains("Inviting a user needs the owner role; you are signed in as agent."), "{text}");
    let demote = console.post(&agent, &format!("/console/settings/users/{owner_id}/role"), &[("role", "viewer")]).await;
    assert_eq!(demote.status(), StatusCode::FORBIDDEN);
    assert!(demote.text().await.expect("page").contains("Changing a user's role needs the owner role"));
    let disable = console.post(&viewer, &format!("/console/settings/users/{owner_id}/disable"), &[]).await;
    assert_eq!(disable.status(), StatusCode::FORBIDDEN);
    assert!(
        disable
            .text()
            .await
            .expect("page")
            .contains("Disabling a user needs the owner role; you are signed in as viewer.")
    );

    assert_eq!(console.app.count("SELECT count(*) FROM merchant_users").await, 3, "nobody was added");
    assert_eq!(console.role_of("owner@shop.example").await, "owner");
    assert_eq!(console.app.count("SELECT count(*) FROM merchant_users WHERE disabled_at IS NOT NULL").await, 0);
    assert!(console.audited("user.role_changed").await.is_empty());
}

#[tokio::test]
async fn a_user_of_one_merchant_never_sees_or_changes_another_merchants_users() {
    let console = spawn_console().await;
    let shop_a = console.app.merchant().await;
    let shop_b = console.app.merchant().await;
    let owner_a = console.user(shop_a, "owner@a.example", Role::Owner).await;
    console.user(shop_b, "owner@b.example", Role::Owner).await;
    let b_id = console.user_id("owner@b.example").await;

    let list = console.get_html(&owner_a, "/console/settings/users").await;
    assert!(list.contains("owner@a.example") && !list.contains("owner@b.example"));
    let detail = console.get(&owner_a, &format!("/console/settings/users/{b_id}")).await;
    assert_eq!(detail.status(), StatusCode::NOT_FOUND);
    assert!(detail.text().await.expect("page").contains("Your store has no user with that id."));
    let demote = console.post(&owner_a, &format!("/console/settings/users/{b_id}/role"), &[("role", "viewer")]).await;
    assert_eq!(demote.status(), StatusCode::NOT_FOUND);
    let disable = console.post(&owner_a, &format!("/console/settings/users/{b_id}/disable"), &[]).await;
    assert_eq!(disable.status(), StatusCode::NOT_FOUND);
    assert_eq!(console.role_of("owner@b.example").await, "owner");
    assert_eq!(console.get(&owner_a, "/console/settings/users/not-a-uuid").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(console.get(&owner_a, "/console/no/such/page").await.status(), StatusCode::NOT_FOUND);

    // The tables are tenant tables: the application role sees nothing without a tenant.
    let unscoped: i64 =
        sqlx::query_scalar("SELECT count(*) FROM merchant_users").fetch_one(&console.app.pool).await.expect("count");
    assert_eq!(unscoped, 0, "row-level security hides every user outside a tenant transaction");
}
