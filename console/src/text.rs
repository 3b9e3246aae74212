//! Every English word the console shows, in one place: a second language is a second module of
//! the same names. Pages and errors take their text from here, never from string literals.

pub const PRODUCT: &str = "Recete";
pub const CONSOLE: &str = "console";
pub const LANGUAGE: &str = "en";
pub const SKIP_TO_CONTENT: &str = "Skip to content";
pub const MAIN_NAVIGATION: &str = "Main navigation";

// Navigation.
pub const NAV_INBOX: &str = "Inbox";
pub const NAV_ORDERS: &str = "Orders";
pub const NAV_CUSTOMERS: &str = "Customers";
pub const NAV_IMPORTS: &str = "Imports";
pub const NAV_KNOWLEDGE: &str = "Knowledge";
pub const NAV_USERS: &str = "Users";
pub const NAV_ACCOUNT: &str = "Your account";
pub const NAV_ANALYTICS: &str = "Analytics";
pub const NAV_SETTINGS: &str = "Settings";

// Roles, as people read them (`Role::label`, `Role::description`).
pub const ROLE_OWNER: &str = "owner";
pub const ROLE_AGENT: &str = "agent";
pub const ROLE_VIEWER: &str = "viewer";
pub const ROLE_OWNER_DESCRIPTION: &str = "Everything, including users and settings";
pub const ROLE_AGENT_DESCRIPTION: &str = "Answers customers in the inbox; reads everything else";
pub const ROLE_VIEWER_DESCRIPTION: &str = "Reads everything, changes nothing";

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

/// `needs` and `have` are roles' labels.
pub fn forbidden(action: &str, needs: &str, have: &str) -> String {
    format!("{action} needs the {needs} role; you are signed in as {have}.")
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

// The inbox.
pub const INBOX: &str = "Inbox";
pub const INBOX_INTRO: &str = "Conversations handed over to a person come first, the one waiting longest at the top; then every other \
     conversation, newest activity first. New messages and hand-overs appear here as they happen.";
pub const WAITING_FOR_A_PERSON: &str = "Waiting for a person";
pub const OTHER_CONVERSATIONS: &str = "Other conversations";
pub const NO_CONVERSATIONS: &str = "No conversations yet. When customers write on WhatsApp they appear here.";
pub const CUSTOMER: &str = "Customer";
pub const PHONE: &str = "Phone";
pub const STATE: &str = "State";
pub const WAITING: &str = "Waiting";
pub const REASON: &str = "Reason";
pub const LAST_ACTIVITY: &str = "Last activity";
pub const PAGES: &str = "Pages of the inbox";
pub const NEXT_PAGE: &str = "Next page";
pub const FIRST_PAGE: &str = "Back to the top";
pub const UNKNOWN_CUSTOMER: &str = "(no name)";
pub const ERASED_CUSTOMER: &str = "(erased)";
pub const BACK_TO_INBOX: &str = "Back to the inbox";
pub const CONVERSATION: &str = "Conversation";
pub const MESSAGES: &str = "Messages";
pub const NO_MESSAGES: &str = "No messages yet.";
pub const WINDOW: &str = "24-hour window";
pub const HANDED_OVER_SINCE: &str = "With a person since";
pub const TAKE_OVER: &str = "Take over";
pub const TAKE_OVER_HELP: &str = "The agent stops answering this customer until the conversation is resolved.";
pub const RESOLVE: &str = "Resolve";
pub const RESOLVE_HELP: &str = "Hands the conversation back to the agent, which answers the customer's next message.";
pub const REPLY: &str = "Reply";
pub const REPLY_TEXT: &str = "Your reply";
pub const SEND: &str = "Send";
pub const SEND_TEMPLATE: &str = "Send this template";
pub const ONLY_AGENTS_REPLY: &str = "Agents and owners reply, take conversations over and resolve them.";
pub const CONVERSATION_CLOSED: &str = "This conversation is closed; nothing more can be sent in it.";
pub const NO_TEMPLATES: &str =
    "Your follow-up plan has no approved templates, so nothing can be sent until the customer writes again.";
pub const QUOTED: &str = "Quoted";
pub const BLOCKED_BY: &str = "Held back by the rule";
pub const REPLIED: &str = "Your reply is queued; its status below moves as WhatsApp reports it.";
pub const REPLY_REPEATED: &str = "That reply was already sent; it was not sent again.";
pub const TAKEN_OVER: &str = "You took the conversation over; the agent stays silent until it is resolved.";
pub const RESOLVED: &str = "Resolved: the agent answers this customer again.";
pub const NO_SUCH_CONVERSATION: &str = "Your store has no conversation with that id.";
pub const REPLY_EMPTY: &str = "The reply is empty; write something to send.";
pub const REPLY_KEY_REUSED: &str =
    "This form was already used to send another reply; reload the conversation to write a new one.";
pub const REPLY_FORM_STALE: &str = "The reply form is missing its one-time key; reload the conversation.";
pub const UNKNOWN_TEMPLATE: &str = "That template is not in your follow-up plan; choose one the page offers.";
pub const LIVE_UPDATES_BUSY: &str =
    "Too many live views of this store are open right now; close one (pages still work, reload to update).";

pub fn reply_too_long(max: usize) -> String {
    format!("The reply is longer than WhatsApp allows ({max} characters).")
}
pub fn parameter_missing(label: &str) -> String {
    format!("The template needs a value for “{label}”.")
}
pub fn window_open_until(at: &str) -> String {
    format!("Open until {at}: you may write freely.")
}
pub const WINDOW_NEVER_OPENED: &str = "The customer has not written yet, so WhatsApp allows only approved templates.";
pub fn window_closed_at(at: &str) -> String {
    format!(
        "Closed at {at}: the customer last wrote more than 24 hours ago, so WhatsApp allows only approved templates."
    )
}
pub const WINDOW_CLOSED_OFFER: &str = "Free text cannot be sent now. Send one of your approved templates instead:";
pub fn conversation_state(state: &str) -> &'static str {
    match state {
        "open" => "answered by the agent",
        "handed_over" => "with a person",
        _ => "closed",
    }
}
/// Who wrote a message, as people read it.
pub fn author(author: &str, person: Option<&str>) -> String {
    match author {
        "customer" => "Customer".into(),
        "agent" => "Agent".into(),
        "system" => "Automatic message".into(),
        _ if author.starts_with("merchant:") => "Your team (through the API)".into(),
        _ => match person {
            Some(email) => email.to_owned(),
            None => "Your team".into(),
        },
    }
}
pub fn message_status(status: &str) -> &'static str {
    match status {
        "received" => "received",
        "queued" => "queued",
        "sending" => "sending",
        "sent" => "sent",
        "delivered" => "delivered",
        "read" => "read",
        "failed" => "failed",
        "skipped" => "skipped",
        "cancelled" => "cancelled",
        _ => "unknown",
    }
}
pub fn message_kind(kind: &str) -> &'static str {
    match kind {
        "image" => "Photo",
        "document" => "Document",
        "audio" => "Voice message",
        "video" => "Video",
        "sticker" => "Sticker",
        "location" => "Location",
        "template" => "Template",
        "other" => "Something WhatsApp could not show as text",
        _ => "Text",
    }
}
pub fn template_label(name: &str, language: &str) -> String {
    format!("Template {name} ({language})")
}
pub fn parameter_label(parameter: &str) -> &'static str {
    match parameter {
        "customer_first_name" => "Customer's first name",
        "order_number" => "Order number",
        _ => "Product title",
    }
}
pub fn failed_because(reason: &str, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{reason} (WhatsApp error {code})"),
        None => reason.to_owned(),
    }
}
/// How long someone has waited: `3 minutes`, `2 hours 5 minutes`, `3 days 4 hours`.
pub fn waited(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let unit = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if days > 0 {
        format!("{} {}", unit(days, "day", "days"), unit(hours, "hour", "hours"))
    } else if hours > 0 {
        format!("{} {}", unit(hours, "hour", "hours"), unit(minutes, "minute", "minutes"))
    } else if minutes > 0 {
        unit(minutes, "minute", "minutes")
    } else {
        "less than a minute".into()
    }
}

// Actions named in "needs the … role" refusals.
pub const ACTION_REPLY: &str = "Replying to a customer";
pub const ACTION_TAKE_OVER: &str = "Taking a conversation over";
pub const ACTION_RESOLVE: &str = "Resolving a hand-over";

// Orders and customers: lists, one order with its follow-up timeline, one customer with export
// and erasure.
pub const BAD_CURSOR: &str = "The `cursor` is not one this console gave; start again from the first page.";
pub const LIST_FIRST_PAGE: &str = "First page";
pub const SEARCH: &str = "Search";
pub const CLEAR: &str = "Clear";
pub const ANY: &str = "any";
pub const NONE_GIVEN: &str = "—";
pub const ORDERS: &str = "Orders";
pub const CUSTOMER_ORDER: &str = "Order";
pub const ORDERS_INTRO: &str = "Your store's orders, newest first.";
pub const ORDER_NUMBER: &str = "Order number";
pub const ORDER_NUMBER_HINT: &str = "The number or its start, with or without #.";
pub const CUSTOMER_SEARCH_HINT: &str = "Their email address or phone number, as you would type it.";
pub const PLACED_FROM: &str = "Placed from";
pub const PLACED_TO: &str = "Placed until (inclusive)";
pub fn dates_in_zone(zone: &str) -> String {
    format!("Dates are days in your store's time zone, {zone}.")
}
pub const TOTAL: &str = "Total";
pub const PLACED: &str = "Placed";
pub const NO_ORDERS: &str = "No orders match.";
pub const NO_CUSTOMER_MATCHES: &str = "No customer has that email address or phone number, so no order matches.";
pub const NO_SUCH_ORDER: &str = "Your store has no order with that id.";
pub const BACK_TO_ORDERS: &str = "Back to the orders";
pub const ITEMS: &str = "Items";
pub const TITLE: &str = "Title";
pub const SKU: &str = "SKU";
pub const QUANTITY: &str = "Quantity";
pub const UNIT_PRICE: &str = "Unit price";
pub const NO_ITEMS: &str = "The store sent no items for this order.";
pub const STATUS_TIMES: &str = "Status times";
pub const STORE_ORDER_ID: &str = "Store's order id";
pub const FIRST_SEEN: &str = "First seen";
pub const PAID: &str = "Paid";
pub const FULFILLED: &str = "Fulfilled";
pub const DELIVERED: &str = "Delivered";
pub const CANCELLED: &str = "Cancelled";
pub const REFUNDED: &str = "Refunded";
pub const FOLLOW_UPS: &str = "Follow-ups";
pub const NO_FOLLOW_UPS: &str = "No follow-ups are planned for this order (they are planned when it is delivered).";
pub const STEP: &str = "Step";
pub const WHEN: &str = "When";
pub const WHAT_HAPPENED: &str = "What happened";
pub const OPEN_CONVERSATION: &str = "Open the latest conversation";
pub const NO_CONVERSATION: &str = "No conversation yet.";
pub fn planned_step(step: &str) -> String {
    format!("Step {step}")
}
pub fn deferred(reason: &str) -> String {
    format!("deferred: {reason}")
}
pub const PLANNED: &str = "planned";
pub const SENDING: &str = "being sent";
pub const SENT: &str = "sent";
pub const DELIVERED_STATE: &str = "delivered";
pub const READ: &str = "read";
pub const TIMELINE_REPLIED: &str = "the customer replied";
pub const RETRYING: &str = "failed, retrying";
pub fn failed(reason: &str) -> String {
    format!("failed: {reason}")
}
pub const FAILED_NO_REASON: &str = "failed";
pub fn skipped(reason: &str) -> String {
    format!("not sent: {reason}")
}
pub fn cancelled(reason: &str) -> String {
    format!("cancelled: {reason}")
}
pub fn template(name: &str) -> String {
    format!("template {name}")
}
pub const CUSTOMERS: &str = "Customers";
pub const CUSTOMERS_INTRO: &str =
    "The people who bought from your store, newest first. Phone numbers are shown masked.";
pub const NAME: &str = "Name";
pub const CONSENT: &str = "WhatsApp consent";
pub const ORDER_COUNT: &str = "Orders";
pub const LAST_ORDER: &str = "Last order";
pub const NO_CUSTOMERS: &str = "No customers match.";
pub const NO_SUCH_CUSTOMER: &str = "Your store has no customer with that id.";
pub const BACK_TO_CUSTOMERS: &str = "Back to the customers";
pub const UNNAMED: &str = "(no name)";
pub fn consent_state(state: &str) -> &'static str {
    match state {
        "granted" => "granted",
        "revoked" => "revoked",
        _ => "unknown",
    }
}
pub fn consent_from(source: &str) -> String {
    format!("from {source}")
}
pub const COUNTRY: &str = "Country";
pub const TIME_ZONE: &str = "Time zone";
pub const STORE_CUSTOMER_ID: &str = "Store's customer id";
pub const CUSTOMER_SINCE: &str = "Customer since";
pub const ERASED_ON: &str = "Erased";
pub const ERASED_NOTE: &str = "This customer's personal data was erased; what remains names no one.";
pub const PRIVACY: &str = "Privacy";
pub const EXPORT: &str = "Export their data";
pub const EXPORT_HELP: &str =
    "Downloads everything held about this customer as one JSON document, to hand to them. The export is recorded.";
pub const ERASE: &str = "Erase their data";
pub const ERASE_HELP: &str = "Shows exactly what would be erased, and asks you to confirm.";
pub const ONLY_OWNERS_PRIVACY: &str = "Only owners export or erase a customer's data.";
pub fn erase_title(name: &str) -> String {
    format!("Erase {name}?")
}
pub const ERASE_INTRO: &str =
    "Erasing removes what names this person and keeps what your figures need. It cannot be undone.";
pub const ERASE_WILL: &str = "What will be erased";
pub fn erase_customer_row(n: u64) -> String {
    format!(
        "{n} customer record: name, email, phone, the store's id, country, time zone and consent source are cleared; the record stays, naming no one"
    )
}
pub fn erase_orders(n: u64) -> String {
    format!("{n} orders lose every link to this person (amounts and products stay)")
}
pub fn erase_conversations(n: u64) -> String {
    format!("{n} conversations keep only their times and states")
}
pub fn erase_messages(n: u64) -> String {
    format!("{n} messages lose their texts, WhatsApp ids and error texts")
}
pub fn erase_follow_ups(n: u64) -> String {
    format!("{n} pending follow-ups or replies are cancelled")
}
pub fn erase_events(n: u64) -> String {
    format!("{n} stored webhooks that named this person are replaced by tombstones")
}
pub fn erase_import_errors(n: u64) -> String {
    format!("{n} rows of failed imports that named this person are deleted")
}
pub fn erase_documents(n: u64) -> String {
    format!("{n} kept export documents are deleted")
}
pub const ERASE_CONFIRM: &str = "Erase for good";
pub const ERASE_CANCEL: &str = "Keep the data";
pub const ERASE_CONFIRM_FIELD: &str = "Type ERASE to confirm";
pub const ERASE_CONFIRM_WORD: &str = "ERASE";
pub const ERASE_NOT_CONFIRMED: &str = "The erasure was not confirmed: type ERASE in the confirmation field.";
pub fn erased(counts: &str) -> String {
    format!("The customer's data is erased ({counts}).")
}
pub const ALREADY_ERASED: &str = "This customer was erased already; anything that arrived since is erased too.";
pub const ACTION_EXPORT: &str = "Exporting a customer's data";
pub const ACTION_ERASE: &str = "Erasing a customer's data";
pub fn bad_date(field: &str, value: &str) -> String {
    format!("`{field}` must be a date like 2026-12-07, not `{value}`.")
}
pub fn dates_reversed(from: &str, to: &str) -> String {
    format!("The start date {from} is after the end date {to}.")
}
pub fn bad_status(value: &str) -> String {
    format!("No order status is named `{value}` (created, paid, fulfilled, delivered, cancelled, refunded).")
}
pub fn bad_consent(value: &str) -> String {
    format!("No consent state is named `{value}` (granted, revoked, unknown).")
}
pub fn bad_search(field: &str, reason: &str) -> String {
    format!("The {field} searched for cannot be read: it {reason}.")
}
pub fn too_long(field: &str, max: usize) -> String {
    format!("`{field}` must be at most {max} characters.")
}

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
pub const STORE_LANGUAGE: &str = "Language";
pub const STORE_LANGUAGE_HINT: &str = "Customers are answered in the language they write in when it is one of these; a message that does not say (a STOP, an \"ok\") is answered in this one.";
pub fn language_rule() -> String {
    let codes: Vec<&str> = recete_shared::languages::Language::ALL.iter().map(|language| language.code()).collect();
    format!("must be one of {}", codes.join(", "))
}
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
pub const KEY_START: &str = "Starts with";
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
pub const CUSTOMERS_ORDERED: &str = "Ordered";
pub const REPEAT_CUSTOMERS: &str = "Ordered again";
pub const REPEAT_RATE: &str = "Repeat rate";
pub const WITH_FOLLOW_UPS: &str = "With follow-ups";
pub const WITHOUT_FOLLOW_UPS: &str = "Without follow-ups";
pub const NO_CUSTOMERS_IN_GROUP: &str = "no customers";
pub fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

// Imports.
pub const IMPORTS: &str = "Imports";
pub const IMPORTS_INTRO: &str = "Upload a CSV file of orders, products or customers from your shop or a spreadsheet. Rows already imported are \
     skipped; rows that cannot be read are listed with the reason, to fix and upload again.";
pub const UPLOAD_CSV: &str = "Upload a CSV file";
pub const IMPORT_KIND: &str = "What the file holds";
pub const DATE_ORDER: &str = "Dates like 05/03/2026 are";
pub const DAY_FIRST: &str = "day first (5 March)";
pub const MONTH_FIRST: &str = "month first (3 May)";
pub const DEFAULT_COUNTRY: &str = "Country of phone numbers without +";
pub const DEFAULT_COUNTRY_HINT: &str = "Two letters, such as DE. Empty: your store's default country.";
pub const CSV_FILE: &str = "CSV file";
pub const UPLOAD_BUTTON: &str = "Upload";
pub const BYTES_SENT: &str = "File sent";
pub const ROWS_READ: &str = "Rows read";
pub const ONLY_OWNERS_UPLOAD: &str = "Only owners upload files.";
pub const ACTION_UPLOAD: &str = "upload a CSV file";
pub const TEMPLATES: &str = "Templates";
pub const TEMPLATES_INTRO: &str = "Every column the import reads, with two example rows to copy.";
pub const IMPORT_HISTORY: &str = "Past imports";
pub const NO_IMPORTS: &str = "No imports yet.";
pub const FILTER_ANY: &str = "Any";
pub const FILTER: &str = "Filter";
pub const OLDER: &str = "Older imports";
pub const UPLOADED: &str = "Uploaded";
pub const UPLOADED_BY: &str = "By";
pub const FILE: &str = "File";
pub const NO_FILE_NAME: &str = "(no name)";
pub const ROWS: &str = "Rows read";
pub const FAILED_ROWS: &str = "Failed rows";
pub const IMPORTED: &str = "Imported";
pub const SKIPPED: &str = "Skipped (already imported)";
pub const FINISHED: &str = "Finished";
pub const RECOGNISED_AS: &str = "Recognised as";
pub const IGNORED_COLUMNS: &str = "Columns not read";
pub const STILL_RUNNING: &str = "This import is still running.";
pub const REFRESH: &str = "Refresh";
pub const ROW_ERRORS: &str = "Rows that could not be imported";
pub const NO_ROW_ERRORS: &str = "No row failed.";
pub const DOWNLOAD_ERRORS_CSV: &str = "Download errors.csv";
pub const ERRORS_CSV_HINT: &str =
    "The failed rows as they were, with the reason in a last column: fix them and upload the file again.";
pub const MORE_ROW_ERRORS: &str = "More failed rows";
pub const ROW: &str = "Row";
pub const COLUMN: &str = "Column";
pub const VALUE: &str = "Value";
pub const MESSAGE: &str = "What is wrong";
pub const WHOLE_ROW: &str = "(the whole row)";
pub const BACK_TO_IMPORTS: &str = "← All imports";
pub const NO_SUCH_IMPORT: &str = "There is no such import in this store.";
pub const BAD_PAGE_LINK: &str = "That page link is not one this console made; go back to the first page.";
pub const NO_FILE_SENT: &str = "Choose a CSV file to upload: the form sent none.";
pub const EMPTY_FILE: &str = "The file is empty: a CSV file needs a header line naming the columns.";

pub fn import_kind(kind: recete_imports::ImportKind) -> &'static str {
    match kind {
        recete_imports::ImportKind::Orders => "Orders",
        recete_imports::ImportKind::Products => "Products",
        recete_imports::ImportKind::Customers => "Customers",
    }
}

pub fn import_status(status: recete_shared::imports::ImportStatus) -> &'static str {
    use recete_shared::imports::ImportStatus;
    match status {
        ImportStatus::Queued => "waiting for a worker",
        ImportStatus::Running => "running",
        ImportStatus::Completed => "completed",
        ImportStatus::Failed => "failed",
    }
}

pub fn import_title(kind: recete_imports::ImportKind, file_name: Option<&str>) -> String {
    match file_name {
        Some(name) => format!("{} import: {name}", import_kind(kind)),
        None => format!("{} import", import_kind(kind)),
    }
}

pub fn drop_hint(max_mb: usize) -> String {
    format!("Drop the file here or choose it; up to {max_mb} MB.")
}

/// `120 of 300`.
pub fn of(done: i64, total: i64) -> String {
    format!("{done} of {total}")
}

pub fn progress_summary(status: &str, rows: &str, failed: i64) -> String {
    format!("{status}: {rows} rows read, {failed} failed")
}

pub fn import_failed(reason: &str) -> String {
    format!("The file could not be imported: {reason}")
}

pub fn unknown_import_kind(name: &str) -> String {
    format!("“{name}” is not something to import: choose orders, products or customers.")
}

pub fn unknown_import_status(name: &str) -> String {
    format!("“{name}” is not an import status: queued, running, completed or failed.")
}

pub fn unknown_date_order(name: &str) -> String {
    format!("“{name}” is not a date order: day_first or month_first.")
}

pub fn bad_country(code: &str) -> String {
    format!("“{code}” is not a two-letter country code such as DE.")
}

pub fn file_too_large(limit: usize) -> String {
    format!("The file is larger than the {} MB an upload may be.", limit.div_ceil(1024 * 1024))
}

pub fn not_a_file_upload(detail: &str) -> String {
    format!("The upload could not be read as a form with a file: {detail}")
}

// Knowledge.
pub const KNOWLEDGE: &str = "Knowledge";
pub const KNOWLEDGE_INTRO: &str = "What the answering agent knows about your products: each product's text is cut into chunks it can quote. \
     A product with no chunks cannot be answered about yet.";
pub const SEARCH_PRODUCTS: &str = "Title or SKU";
pub const SCRAPE_STATE: &str = "Product page";
pub const NO_PRODUCTS: &str = "No products yet.";
pub const OLDER_PRODUCTS: &str = "Older products";
pub const PRODUCT_TITLE: &str = "Product";
pub const CHUNKS: &str = "Chunks";
pub const SOURCE: &str = "Source";
pub const EMBEDDED: &str = "Embedded";
pub const NOT_YET: &str = "not yet";
pub const NO_SUCH_PRODUCT: &str = "There is no such product in this store.";
pub const BACK_TO_KNOWLEDGE: &str = "← All products";
pub const BRAND: &str = "Brand";
pub const PAGE: &str = "Page";
pub const SCRAPE_ERROR: &str = "Why the page could not be read";
pub const SCRAPED: &str = "Page read";
pub const EMBEDDING_PENDING: &str = "changed, waiting to be embedded again";
pub const SECTIONS: &str = "Sections";
pub const NO_SECTIONS: &str = "This product has no text yet.";
pub const CHUNKS_HEADING: &str = "Chunks the agent can quote";
pub const CHUNKS_INTRO: &str = "Each chunk is a piece of one section; answers quote them and cite their product page.";
pub const NO_CHUNKS: &str = "No chunks yet: the product's text has not been embedded.";
pub const SECTION: &str = "Section";
pub const CHUNK_TEXT: &str = "Text";
pub const FROM_PAGE: &str = "Cited as";
pub const NO_PAGE: &str = "(no page)";
pub const EDIT_SECTIONS: &str = "Edit the product's text";
pub const EDIT_SECTIONS_INTRO: &str = "What you write here is what the agent quotes. An empty box removes that section; saving changed text embeds the product again.";
pub const SAVE_SECTIONS: &str = "Save";
pub const ACTION_EDIT_SECTIONS: &str = "edit a product's text";
pub const ACTION_SCRAPE: &str = "read a product page";
pub const ASK_TEST_QUESTION: &str = "Ask a test question";
pub const ASK_INTRO: &str =
    "See the answer the agent would give a customer, and what it rests on. Nobody is messaged and nothing is kept.";
pub const QUESTION: &str = "Question";
pub const ASK_BUTTON: &str = "Ask";
pub const TEST_STORE_NAME: &str = "our store";
pub const THE_ANSWER: &str = "The agent's answer";
pub const INTENT: &str = "Read as";
pub const ANSWERED_BY: &str = "Answered by";
pub const GUARDRAILS: &str = "Guardrails";
pub const GUARDRAILS_PASSED: &str = "passed";
pub const HANDED_OVER: &str = "Would go to a person";
pub const CITATIONS: &str = "Citations";
pub const NO_CITATIONS: &str = "None: the answer quotes no product text.";
pub const SIMILARITY: &str = "Similarity";

pub fn guardrail_blocked(rule: &str, detail: &str) -> String {
    format!("stopped by {rule}: {detail}")
}

pub fn question_length(max: usize) -> String {
    format!("Write a question of 1 to {max} characters.")
}
pub const SCRAPE_A_URL: &str = "Read a product page";
pub const PRODUCT_PAGE_URL: &str = "Product page address";
pub const SCRAPE_HINT: &str = "An http or https address on your shop. Its text becomes the product's knowledge.";
pub const SCRAPE_BUTTON: &str = "Read the page";
pub const SCRAPE_PENDING: &str = "The page is being read; this page refreshes until it is done.";
pub const EMBEDDING_IN_PROGRESS: &str =
    "The text is being embedded for the agent; this page refreshes until it is done.";

pub fn bad_product_url(problem: &str) -> String {
    format!("The address {problem}.")
}

pub fn section_too_long(section: &str, max: usize) -> String {
    format!("{section} is longer than {max} characters.")
}

pub fn scrape_state(name: &str) -> &'static str {
    match name {
        "pending" => "being read",
        "done" => "read",
        "failed" => "could not be read",
        _ => "not asked for",
    }
}

pub fn product_source(name: &str) -> &'static str {
    match name {
        "order" => "named by an order",
        "scrape" => "its product page",
        "csv" => "a CSV import",
        _ => "the API",
    }
}

pub fn section_kind(name: &str) -> &'static str {
    match name {
        "overview" => "Overview",
        "usage" => "Usage",
        "ingredients" => "Ingredients",
        "warnings" => "Warnings",
        "faq" => "FAQ",
        "details" => "Details",
        "description" => "Description",
        _ => "Other",
    }
}

pub fn unknown_scrape_state(name: &str) -> String {
    format!("“{name}” is not a product page state: none, pending, done or failed.")
}

pub fn search_too_long(max: usize) -> String {
    format!("Search with at most {max} characters of text.")
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
    fn waits_are_read_in_the_two_largest_units() {
        assert_eq!(waited(20), "less than a minute");
        assert_eq!(waited(60), "1 minute");
        assert_eq!(waited(2 * 3600 + 5 * 60), "2 hours 5 minutes");
        assert_eq!(waited(86_400 + 3600), "1 day 1 hour");
    }

    #[test]
    fn refusals_name_the_action_and_both_roles() {
        assert_eq!(
            forbidden(ACTION_INVITE, ROLE_OWNER, ROLE_AGENT),
            "Inviting a user needs the owner role; you are signed in as agent."
        );
    }
}
