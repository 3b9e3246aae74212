//! Every English word the console shows, in one place: a second language is a second module of
//! the same names. Pages and errors take their text from here, never from string literals.

use crate::users::Role;

pub const PRODUCT: &str = "Recete";
pub const CONSOLE: &str = "console";
pub const LANGUAGE: &str = "en";
pub const SKIP_TO_CONTENT: &str = "Skip to content";
pub const MAIN_NAVIGATION: &str = "Main navigation";

// Navigation.
pub const NAV_USERS: &str = "Users";
pub const NAV_ACCOUNT: &str = "Your account";
pub const NAV_ANALYTICS: &str = "Analytics";
pub const NAV_SETTINGS: &str = "Settings";

// Roles, as people read them.
pub fn role(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Agent => "agent",
        Role::Viewer => "viewer",
    }
}

pub fn role_description(role: Role) -> &'static str {
    match role {
        Role::Owner => "Everything, including users and settings",
        Role::Agent => "Answers customers in the inbox; reads everything else",
        Role::Viewer => "Reads everything, changes nothing",
    }
}

// Sign-in.
pub const SIGN_IN: &str = "Sign in";
pub const SIGN_IN_INTRO: &str = "Sign in with the email address your store's owner invited and your password.";
pub const EMAIL: &str = "Email";
pub const PASSWORD: &str = "Password";
pub const WRONG_EMAIL_OR_PASSWORD: &str = "That email and password do not match an account that may sign in.";
pub const SIGNED_OUT: &str = "You are signed out.";

pub fn too_many_attempts_for_account(wait_secs: u64) -> String {
    format!("Too many failed sign-ins for this account. Try again in {}.", wait(wait_secs))
}

pub fn too_many_attempts_from_address(wait_secs: u64) -> String {
    format!("Too many failed sign-ins from your network address. Try again in {}.", wait(wait_secs))
}

/// `45 seconds`, `1 minute`, `15 minutes`.
pub fn wait(secs: u64) -> String {
    match secs {
        0..=1 => "1 second".into(),
        2..60 => format!("{secs} seconds"),
        60..120 => "1 minute".into(),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

// The one-time link.
pub const SET_PASSWORD: &str = "Choose your password";
pub fn set_password_intro(email: &str) -> String {
    format!("You are signing in as {email} for the first time, or with a new link. Choose a password to continue.")
}
pub const NEW_PASSWORD: &str = "New password";
pub const REPEAT_PASSWORD: &str = "The new password again";
pub const SAVE_AND_SIGN_IN: &str = "Save and sign in";
pub const LINK_UNUSABLE: &str =
    "This sign-in link is unknown, was used already or has expired. Ask an owner of your store for a new one.";
pub fn password_rules(min: usize) -> String {
    format!("At least {min} characters. A sentence you remember works well.")
}

// Password rules.
pub fn password_too_short(min: usize) -> String {
    format!("The password must be at least {min} characters long.")
}
pub fn password_too_long(max_bytes: usize) -> String {
    format!("The password must be at most {max_bytes} bytes long.")
}
pub const PASSWORDS_DIFFER: &str = "The two new passwords are not the same.";

// The account page.
pub const ACCOUNT: &str = "Your account";
pub fn signed_in_as(email: &str, role_name: &str) -> String {
    format!("Signed in as {email} ({role_name}).")
}
pub const CHANGE_PASSWORD: &str = "Change your password";
pub const CURRENT_PASSWORD: &str = "Current password";
pub const CHANGE_PASSWORD_BUTTON: &str = "Change password";
pub const CURRENT_PASSWORD_WRONG: &str = "The current password is not right.";
pub const PASSWORD_CHANGED: &str = "Your password is changed. Every other session of yours has ended.";
pub const SIGN_OUT: &str = "Sign out";
pub const SIGN_OUT_EVERYWHERE: &str = "Sign out everywhere";
pub const SIGN_OUT_EVERYWHERE_HELP: &str =
    "Ends every session of your account, on this device and every other one (a lost phone, a shared computer).";

// The users page.
pub const USERS: &str = "Users";
pub const USERS_INTRO: &str = "The people of your store who may sign in to this console.";
pub const ROLE: &str = "Role";
pub const STATUS: &str = "Status";
pub const ADDED: &str = "Added";
pub const ACTIONS: &str = "Actions";
pub const ACTIVE: &str = "active";
pub const INVITED: &str = "invited, no password yet";
pub const DISABLED: &str = "disabled";
pub const YOU: &str = "you";
pub const INVITE: &str = "Invite someone";
pub const INVITE_BUTTON: &str = "Invite";
pub const CHANGE_ROLE: &str = "Change role";
pub const DISABLE: &str = "Disable";
pub const USER: &str = "User";
pub const BACK_TO_USERS: &str = "Back to the users";
pub const ONLY_OWNERS_CHANGE_USERS: &str = "Only owners invite people, change roles and disable users.";
pub const NO_USERS: &str = "No users yet.";
pub fn invited(email: &str) -> String {
    format!("{email} is invited.")
}
pub fn invitation_link_once(hours: u64) -> String {
    format!(
        "Send them this sign-in link. It is shown only now, works once, and expires in {hours} hours. \
         With it they choose their password."
    )
}
pub fn role_changed(email: &str, role_name: &str) -> String {
    format!("{email} is now {role_name}.")
}
pub fn user_disabled(email: &str) -> String {
    format!("{email} is disabled and signed out everywhere.")
}

// Errors.
pub const ERROR_BAD_REQUEST: &str = "Bad request";
pub const ERROR_NOT_FOUND: &str = "Not found";
pub const ERROR_SIGN_IN_NEEDED: &str = "Sign-in needed";
pub const ERROR_FORBIDDEN: &str = "Not allowed for your role";
pub const ERROR_REFUSED: &str = "Request refused";
pub const ERROR_CONFLICT: &str = "Cannot do that now";
pub const ERROR_TOO_MANY: &str = "Too many attempts";
pub const ERROR_UNAVAILABLE: &str = "Temporarily unavailable";
pub const ERROR_INTERNAL: &str = "Internal error";
pub const DATABASE_UNAVAILABLE: &str = "The database cannot be reached right now; try again in a moment.";
pub const INTERNAL: &str = "Something went wrong on our side; it has been logged.";
pub const TIMED_OUT: &str = "The console took too long to answer; try again in a moment.";
pub const BACK_HOME: &str = "Back to the console";
pub const SESSION_ENDED: &str = "Your session has ended or is unknown; sign in again.";

pub fn forbidden(action: &str, needs: &Role, have: &Role) -> String {
    format!("{action} needs the {} role; you are signed in as {}.", role(*needs), role(*have))
}
pub fn no_page(path: &str) -> String {
    format!("The console has no page at {path}.")
}
pub const NO_SUCH_USER: &str = "Your store has no user with that id.";
pub const CSRF_MISSING: &str = "The form carries no CSRF token (field `csrf` or header X-CSRF-Token); reload the page.";
pub const CSRF_WRONG: &str = "The form's CSRF token does not match this session; reload the page.";
pub fn cross_site(detail: &str) -> String {
    format!("This request came from another site and is refused: {detail}.")
}
pub fn form_too_large(max: usize) -> String {
    format!("The form is larger than {max} bytes.")
}
pub fn bad_email(email: &str) -> String {
    format!("`{email}` is not an email address (name@domain, at most 254 characters, no spaces).")
}
pub fn email_taken(email: &str) -> String {
    format!("{email} already has a console account (an email address belongs to one account only).")
}
pub fn bad_role(name: &str) -> String {
    format!("No role is named `{name}` (roles: owner, agent, viewer).")
}
pub fn last_owner(email: &str) -> String {
    format!("{email} is the last active owner of this store; make someone else owner first.")
}
pub fn unknown_merchant(id: &str) -> String {
    format!("No merchant has the id {id}.")
}
pub fn unknown_user_email(email: &str) -> String {
    format!("No console user has the email {email}.")
}

// Actions named in "needs the … role" refusals.
pub const ACTION_INVITE: &str = "Inviting a user";
pub const ACTION_CHANGE_ROLE: &str = "Changing a user's role";
pub const ACTION_DISABLE: &str = "Disabling a user";

// The settings page.
pub const SETTINGS: &str = "Settings";
pub const SETTINGS_INTRO: &str = "How and when your customers hear from you, and how your store and systems connect.";
pub const MANAGE_USERS: &str = "Users who may sign in to this console";
pub const GENERAL: &str = "Time zone and sending rules";
pub const TIMEZONE: &str = "Time zone";
pub const TIMEZONE_HINT: &str = "An IANA time zone such as Europe/Istanbul; your analytics days are counted in it.";
pub const QUIET_HOURS: &str = "Quiet hours";
pub const QUIET_HOURS_HINT: &str = "No follow-up goes out between these times, in each customer's own time zone (HH:MM; the same time twice means none).";
pub const QUIET_START: &str = "Quiet from";
pub const QUIET_END: &str = "Quiet until";
pub const FREQUENCY_CAP: &str = "Frequency cap";
pub const CAP_MAX: &str = "Most follow-ups per customer";
pub const CAP_MAX_HINT: &str = "0 means no cap.";
pub const CAP_HOURS: &str = "Within this many hours";
pub const ATTRIBUTION_WINDOW: &str = "Attribution window (days)";
pub const ATTRIBUTION_WINDOW_HINT: &str =
    "An order placed within this many days after a follow-up reached the customer counts as brought back by it.";
pub const PLAN: &str = "Follow-up plan";
pub const PLAN_HINT: &str = "The messages sent after each delivery, in order. Changes apply to deliveries from now on.";
pub const NO_STEPS: &str = "No follow-ups are planned.";
pub fn step_heading(number: usize) -> String {
    format!("Step {number}")
}
pub const STEP_KEY: &str = "Step name";
pub const STEP_KEY_HINT: &str = "Lowercase letters, digits, _ or -, unique in the plan (for example t3).";
pub const STEP_OFFSET: &str = "Hours after delivery";
pub const STEP_TEMPLATE: &str = "WhatsApp template name";
pub const STEP_LANGUAGE: &str = "Template language";
pub const STEP_CATEGORY: &str = "Template category";
pub const STEP_PARAMETERS: &str = "Template parameters";
pub const STEP_PARAMETERS_HINT: &str =
    "In order, separated by commas: customer_first_name, order_number, product_title.";
pub const STEP_WINDOW_TEXT: &str = "Text while the chat window is open";
pub const STEP_WINDOW_TEXT_HINT: &str =
    "Sent instead of the template within 24 hours of the customer's last message; may be empty.";
pub const CATEGORY_UTILITY: &str = "utility";
pub const CATEGORY_MARKETING: &str = "marketing";
pub const ADD_STEP: &str = "Add a step";
pub const REMOVE_STEP: &str = "Remove";
pub const MOVE_UP: &str = "Move up";
pub const MOVE_DOWN: &str = "Move down";
pub const SAVE_SETTINGS: &str = "Save settings";
pub const SETTINGS_SAVED: &str = "Settings saved.";
pub const SETTINGS_UNCHANGED: &str = "Nothing was changed.";
pub const PLAN_EDITED: &str = "The plan is edited but not saved yet; save the settings to keep it.";
pub fn settings_not_saved(problems: usize) -> String {
    if problems == 1 {
        "The settings were not saved: one field needs fixing, marked below.".to_owned()
    } else {
        format!("The settings were not saved: {problems} fields need fixing, marked below.")
    }
}
pub fn field_error(label: &str, detail: &str) -> String {
    format!("{label} {detail}.")
}
pub const NOT_A_TIMEZONE: &str = "is not an IANA time zone (for example Europe/Istanbul)";
pub const NOT_A_WHOLE_NUMBER: &str = "must be a whole number";
pub fn unknown_parameter(name: &str) -> String {
    format!("names `{name}`, which is not a parameter (customer_first_name, order_number, product_title)")
}
pub fn unknown_category(name: &str) -> String {
    format!("is `{name}`; it must be utility or marketing")
}
pub const ONLY_OWNERS_CHANGE_SETTINGS: &str = "Only owners change settings, integrations and API keys.";
pub const SECRET_ONCE: &str = "Copy it now: it is shown only this once.";
pub const COPY: &str = "Copy";

pub const INTEGRATIONS: &str = "Store integrations";
pub const INTEGRATIONS_HINT: &str = "Paste an integration's webhook URL into Shopify or WooCommerce, with its secret.";
pub const NO_INTEGRATIONS: &str = "No store is connected yet.";
pub const KIND: &str = "Kind";
pub const WEBHOOK_URL: &str = "Webhook URL";
pub const SECRET_ROTATED: &str = "Secret rotated";
pub const NEVER: &str = "never";
pub const NEW_INTEGRATION: &str = "Connect a store";
pub const NEW_INTEGRATION_BUTTON: &str = "Connect";
pub const INTEGRATION_SECRET: &str = "Signing secret";
pub const INTEGRATION_SECRET_HINT: &str =
    "Shopify: the app's secret, required. WooCommerce and others: leave empty to have one made.";
pub const SHOP_DOMAIN: &str = "Shopify store domain";
pub const SHOP_DOMAIN_HINT: &str = "Optional, Shopify only: the store's myshopify.com domain.";
pub const ROTATE_SECRET: &str = "Rotate secret";
pub const NEW_SECRET: &str = "New secret";
pub const NEW_SECRET_HINT: &str = "Leave empty to have one made (Shopify: paste the app's new secret).";
pub const OVERLAP: &str = "The old secret keeps working for";
pub fn overlap_choice(hours: i64) -> String {
    match hours {
        0 => "no time: stop it now".to_owned(),
        1 => "1 hour".to_owned(),
        hours if hours % 24 == 0 && hours > 24 => format!("{} days", hours / 24),
        hours => format!("{hours} hours"),
    }
}
pub fn integration_created(kind: &str) -> String {
    format!("The {kind} integration is connected. Paste its webhook URL into the store.")
}
pub fn secret_rotated(until: Option<&str>) -> String {
    match until {
        Some(until) => format!("The secret is rotated. The old one keeps working until {until}."),
        None => "The secret is rotated. The old one no longer works.".to_owned(),
    }
}
pub const INTEGRATION_DISABLED: &str = "The integration is disabled: its webhooks are refused from now on.";
pub const SHOPIFY_NEEDS_SECRET: &str = "is required for Shopify: paste the app's secret (Shopify signs with it)";
pub const SECRET_RULE: &str = "must be 16 to 256 printable characters, without spaces";
pub const SAME_SECRET: &str = "is the current secret; a rotation needs a new one";
pub const SHOP_DOMAIN_RULE: &str = "must be the store's myshopify.com domain, for example snowdevil.myshopify.com";
pub const SHOP_DOMAIN_SHOPIFY_ONLY: &str = "applies to Shopify integrations only";
pub const NO_SUCH_INTEGRATION: &str = "Your store has no integration with that id.";
pub fn integration_is_disabled() -> String {
    "This integration is disabled; a disabled integration's secret is not rotated.".to_owned()
}
pub fn bad_kind(kind: &str) -> String {
    format!("No integration kind is named `{kind}` (shopify, woocommerce, generic).")
}
pub fn bad_overlap(max_hours: i64) -> String {
    format!("The overlap must be a whole number of hours between 0 and {max_hours}.")
}

pub const API_KEYS: &str = "API keys";
pub const API_KEYS_HINT: &str =
    "Keys for your own systems to call the Recete API. A key is shown once, when it is made.";
pub const NO_API_KEYS: &str = "No API keys.";
pub const NAME: &str = "Name";
pub const KEY_START: &str = "Starts with";
pub const STATE: &str = "State";
pub const SCOPES: &str = "Scopes";
pub const EXPIRES: &str = "Expires";
pub const LAST_USED: &str = "Last used";
pub const NEW_API_KEY: &str = "Make an API key";
pub const NEW_API_KEY_BUTTON: &str = "Make key";
pub const KEY_NAME_HINT: &str = "What the key is for, for example warehouse sync.";
pub const EXPIRY_DAYS: &str = "Expires after (days)";
pub fn expiry_days_hint(max: i64) -> String {
    format!("1 to {max} days; 0 for a key that never expires.")
}
pub const SCOPE_READ: &str = "read: every GET";
pub const SCOPE_WRITE: &str = "write: changes to your data";
pub const SCOPE_ADMIN: &str = "admin: API keys and integrations";
pub const REVOKE: &str = "Revoke";
pub fn api_key_created(name: &str) -> String {
    format!("The API key {name} is made.")
}
pub fn api_key_revoked(name: &str, with: usize) -> String {
    match with {
        0 => format!("The API key {name} is revoked."),
        with => format!("The API key {name} is revoked, with {with} key(s) it made."),
    }
}
pub const KEY_NAME_RULE: &str = "must be 1 to 100 characters, without control characters";
pub const SCOPES_RULE: &str = "must include at least one of read, write, admin";
pub fn expiry_rule(max: i64) -> String {
    format!("must be a whole number of days from 0 (never) to {max}")
}
pub const NO_SUCH_API_KEY: &str = "Your store has no API key with that id.";

pub const WEBHOOK_ENDPOINTS: &str = "Webhook endpoints";
pub const WEBHOOK_ENDPOINTS_HINT: &str =
    "Addresses of your own systems that receive events (Standard Webhooks, signed with the endpoint's secret).";
pub const NO_WEBHOOK_ENDPOINTS: &str = "No webhook endpoints.";
pub const URL: &str = "URL";
pub const DESCRIPTION: &str = "Description";
pub const EVENT_TYPES: &str = "Event types";
pub const NEW_WEBHOOK_ENDPOINT: &str = "Add a webhook endpoint";
pub const NEW_WEBHOOK_ENDPOINT_BUTTON: &str = "Add endpoint";
pub const EVENT_TYPES_RULE: &str = "must include at least one event type";
pub const NO_SUCH_ENDPOINT: &str = "Your store has no webhook endpoint with that id.";
pub const BACK_TO_SETTINGS: &str = "Back to the settings";
pub const RECENT_DELIVERIES: &str = "Recent deliveries";
pub const NO_DELIVERIES: &str = "Nothing has been sent to this endpoint yet.";
pub const EVENT: &str = "Event";
pub const ATTEMPTS: &str = "Attempts";
pub const LAST_ATTEMPT: &str = "Last attempt";
pub const HTTP_STATUS: &str = "Answer";
pub fn unknown_event_type(name: &str) -> String {
    format!("names `{name}`, which is not an event type")
}
pub fn too_many_endpoints(max: i64) -> String {
    format!("A store may have at most {max} webhook endpoints; disable or delete one first.")
}
pub fn endpoint_created(url: &str) -> String {
    format!("The endpoint {url} is added. Its signing secret:")
}
pub fn endpoint_disabled(url: &str) -> String {
    format!("The endpoint {url} is disabled: nothing is sent to it any more.")
}
pub fn endpoint_disabled_because(reason: &str) -> String {
    format!("disabled: {reason}")
}
pub fn endpoint_failing_since(since: &str) -> String {
    format!("failing since {since}")
}
pub fn delivery_state(state: recete_shared::webhooks::deliveries::DeliveryState) -> &'static str {
    use recete_shared::webhooks::deliveries::DeliveryState;
    match state {
        DeliveryState::Pending => "waiting",
        DeliveryState::Failed => "failed, will retry",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Dead => "failed for good",
        DeliveryState::Cancelled => "not sent (endpoint disabled)",
    }
}

// Actions named in "needs the … role" refusals, on the settings page.
pub const ACTION_CHANGE_SETTINGS: &str = "Changing the settings";
pub const ACTION_CONNECT_STORE: &str = "Connecting a store";
pub const ACTION_ROTATE_SECRET: &str = "Rotating an integration's secret";
pub const ACTION_DISABLE_INTEGRATION: &str = "Disabling an integration";
pub const ACTION_MAKE_API_KEY: &str = "Making an API key";
pub const ACTION_REVOKE_API_KEY: &str = "Revoking an API key";
pub const ACTION_ADD_ENDPOINT: &str = "Adding a webhook endpoint";
pub const ACTION_ROTATE_ENDPOINT_SECRET: &str = "Rotating a webhook endpoint's secret";
pub const ACTION_DISABLE_ENDPOINT: &str = "Disabling a webhook endpoint";

// Charts.
pub const DAY: &str = "Day";
pub const AXIS_DAY: &str = "Day (month-day)";
pub const NO_DAYS: &str = "No days to show.";
pub fn chart_total(total: i64) -> String {
    format!("{total} in total")
}
pub fn chart_description(
    explanation: &str,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    total: i64,
    axis_max: i64,
) -> String {
    format!(
        "{explanation}, per day from {first} to {last}: {total} in total. Bars per day; the value axis runs from 0 to {axis_max}."
    )
}

// The analytics page.
pub const ANALYTICS: &str = "Analytics";
pub const RANGE: &str = "Days shown";
pub const RANGE_FROM: &str = "From";
pub const RANGE_TO: &str = "To (included)";
pub const SHOW: &str = "Show";
pub fn range_hint(default_days: u64, max_days: u64) -> String {
    format!("Days in your store's time zone; the last {default_days} days when left empty, at most {max_days} days.")
}
pub fn not_a_day(value: &str) -> String {
    format!("`{value}` is not a day (YYYY-MM-DD)")
}
pub fn range_title(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    format!("{from} to {to}")
}
pub fn days_in_zone(timezone: &str) -> String {
    format!("Days are counted in {timezone}.")
}
pub const FRESH_AS_OF: &str = "The figures include what happened before";
pub const NOT_ROLLED_UP: &str = "The figures have not been counted yet; they are within a few minutes.";
pub const DAILY_FIGURES: &str = "Per day";
pub const CHART_SENT: &str = "Sent";
pub const CHART_SENT_EXPLAINED: &str = "Messages sent (follow-ups and replies) whose sending WhatsApp confirmed";
pub const CHART_DELIVERED: &str = "Delivered";
pub const CHART_DELIVERED_EXPLAINED: &str = "Messages sent that day that reached the phone";
pub const CHART_READ: &str = "Read";
pub const CHART_READ_EXPLAINED: &str = "Messages sent that day that the customer read";
pub const CHART_REPLIED: &str = "Replied";
pub const CHART_REPLIED_EXPLAINED: &str = "Follow-ups sent that day that the customer answered within 24 hours";
pub const CHART_OPT_OUTS: &str = "Opt-outs";
pub const CHART_OPT_OUTS_EXPLAINED: &str = "Customers who stopped WhatsApp messages";
pub const CHART_HAND_OVERS: &str = "Hand-overs";
pub const CHART_HAND_OVERS_EXPLAINED: &str = "Conversations handed to a person";
pub const ORDERS_DELIVERED: &str = "Orders delivered";
pub const FOLLOW_UPS_PLANNED: &str = "Follow-ups planned";
pub const PER_STEP: &str = "Per follow-up step";
pub const PER_STEP_CAPTION: &str = "What each step's follow-ups sent in the range did";
pub const STEP: &str = "Step";
pub const STEP_GONE: &str = "(task erased)";
pub const ATTRIBUTION: &str = "What follow-ups brought back";
pub fn attribution_explained(window_days: u32) -> String {
    format!(
        "An order counts when its customer placed it within {window_days} days after a follow-up reached them \
         (cancelled and refunded orders do not count). Revenue is never added across currencies."
    )
}
pub const ATTRIBUTED_ORDERS: &str = "Attributed orders";
pub const ATTRIBUTED_ORDERS_EXPLAINED: &str = "Orders placed after a follow-up reached the customer";
pub const ORDERS_WITHOUT_AMOUNT: &str = "Of those, orders without an amount";
pub const ATTRIBUTED_REVENUE: &str = "Attributed revenue per currency";
pub const NO_ATTRIBUTED_REVENUE: &str = "No attributed revenue in these days.";
pub const CURRENCY: &str = "Currency";
pub const REVENUE: &str = "Revenue";
pub const REPEAT_PURCHASE: &str = "Repeat purchase";
pub const REPEAT_PURCHASE_CAPTION: &str = "Customers who ordered in these days, and how many ordered twice or more";
pub const CUSTOMERS_GROUP: &str = "Customers";
pub const CUSTOMERS: &str = "Ordered";
pub const REPEAT_CUSTOMERS: &str = "Ordered again";
pub const REPEAT_RATE: &str = "Repeat rate";
pub const WITH_FOLLOW_UPS: &str = "With follow-ups";
pub const WITHOUT_FOLLOW_UPS: &str = "Without follow-ups";
pub const NO_CUSTOMERS: &str = "no customers";
pub fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait(0), "1 second");
        assert_eq!(wait(45), "45 seconds");
        assert_eq!(wait(60), "1 minute");
        assert_eq!(wait(61), "1 minute");
        assert_eq!(wait(900), "15 minutes");
        assert_eq!(wait(901), "16 minutes");
    }

    #[test]
    fn refusals_name_the_action_and_both_roles() {
        assert_eq!(
            forbidden(ACTION_INVITE, &Role::Owner, &Role::Agent),
            "Inviting a user needs the owner role; you are signed in as agent."
        );
    }
}
