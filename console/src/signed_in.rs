//! The signed-in user of a request, as pages, the layout and the request checks see it. How a
//! request becomes signed in, and what the user may do, is [`crate::auth`]'s.

use recete_platform::ids::MerchantId;
use uuid::Uuid;

use crate::users::Role;

/// The form field every POST of a session carries its CSRF token in.
pub const CSRF_FIELD: &str = "csrf";

/// The signed-in user of a request. As an extractor it refuses (401) a request with no session;
/// every page behind sign-in has one, put there by [`crate::auth::authenticate`].
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub user_id: Uuid,
    pub merchant_id: MerchantId,
    pub email: String,
    pub role: Role,
    /// The session's CSRF token, for the forms of the page ([`crate::layout::csrf_field`]).
    pub csrf: String,
    /// The session's cookie value, to tell this session from the user's others.
    pub(crate) session: String,
}

impl ConsoleUser {
    /// Whether the user's role allows what `needs` stands for.
    pub fn may(&self, needs: Role) -> bool {
        self.role >= needs
    }

    /// The `audit_log` actor of what this user does: `user:<email>`.
    pub fn actor(&self) -> String {
        crate::users::actor(&self.email)
    }

    pub(crate) fn session_cookie_value(&self) -> &str {
        &self.session
    }
}
