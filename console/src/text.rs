//! Every English word the console shows, in one place: a second language is a second module of
//! the same names. Pages and errors take their text from here, never from string literals.

use crate::users::Role;

pub const PRODUCT: &str = "Recete";
pub const CONSOLE: &str = "console";
pub const LANGUAGE: &str = "en";
pub const SKIP_TO_CONTENT: &str = "Skip to content";
pub const MAIN_NAVIGATION: &str = "Main navigation";

// Navigation.
pub const NAV_IMPORTS: &str = "Imports";
pub const NAV_KNOWLEDGE: &str = "Knowledge";
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
pub const ANY: &str = "Any";
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
pub const BAD_CURSOR: &str = "That page link is not one this console made; go back to the first page.";
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
pub const SKU: &str = "SKU";
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
pub const DESCRIPTION: &str = "Description";
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
    fn refusals_name_the_action_and_both_roles() {
        assert_eq!(
            forbidden(ACTION_INVITE, &Role::Owner, &Role::Agent),
            "Inviting a user needs the owner role; you are signed in as agent."
        );
    }
}
