//! Every English word the console shows, in one place: a second language is a second module of
//! the same names. Pages and errors take their text from here, never from string literals.

use crate::users::Role;

pub const PRODUCT: &str = "Recete";
pub const CONSOLE: &str = "console";
pub const LANGUAGE: &str = "en";
pub const SKIP_TO_CONTENT: &str = "Skip to content";
pub const MAIN_NAVIGATION: &str = "Main navigation";

// Navigation.
pub const NAV_INBOX: &str = "Inbox";
pub const NAV_USERS: &str = "Users";
pub const NAV_ACCOUNT: &str = "Your account";

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
            forbidden(ACTION_INVITE, &Role::Owner, &Role::Agent),
            "Inviting a user needs the owner role; you are signed in as agent."
        );
    }
}
