//! Who is asking, and whether a write really comes from the console.
//!
//! A request is signed in by the session cookie `recete_console_session` (HttpOnly,
//! SameSite=Strict, Path=/console, Secure when the public URL is https). Every POST of a session
//! carries the session's CSRF token (form field `csrf` or header `X-CSRF-Token`), compared in
//! constant time. Any POST whose `Origin` or `Sec-Fetch-Site` names another site is refused
//! outright, signed in or not (sign-in forms included).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use recete_platform::browser_requests::{self, CrossSite, tokens_match};
use recete_platform::db::{self, Tx};
use sqlx::PgPool;

use crate::error::PageError;
use crate::signed_in::{CSRF_FIELD, ConsoleUser};
use crate::users::Role;
use crate::{ConsoleState, sessions, text};

pub const SESSION_COOKIE: &str = "recete_console_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form the console takes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// The routes that take a file (`multipart/form-data`). Their CSRF token is the first part of
/// the body (or the `X-CSRF-Token` header), checked by the handler before it reads the file;
/// any other route refuses a multipart POST that lacks the header.
pub const UPLOAD_PATHS: &[&str] = &["/console/imports"];

/// Whether `request` is a POST to a route that takes a file.
pub fn is_upload(request: &Request) -> bool {
    request.method() == Method::POST && UPLOAD_PATHS.contains(&request.uri().path())
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Marks an upload whose CSRF token is still to be read from its body's first part.
#[derive(Debug, Clone, Copy)]
pub struct CsrfInBody;

/// Checks the CSRF token a multipart body carries as its first part (`csrf`), read by the
/// upload handler before the file.
pub fn check_csrf_part(expected: &str, given: Option<&str>) -> Result<(), PageError> {
    match given {
        Some(given) if tokens_match(expected, given.as_bytes()) => Ok(()),
        Some(_) => Err(PageError::CrossSite(text::CSRF_WRONG.into())),
        None => Err(PageError::CrossSite(text::CSRF_MISSING.into())),
    }
}

/// What a signed-in user may do, and the transaction their pages work in.
impl ConsoleUser {
    /// `Forbidden` (a 403 page naming `action`, the role it needs and the user's role) unless
    /// the user's role allows it.
    pub fn require(&self, needs: Role, action: &'static str) -> Result<(), PageError> {
        if self.may(needs) { Ok(()) } else { Err(PageError::Forbidden { action, needs, have: self.role }) }
    }

    /// A transaction that sees and writes only this user's merchant's rows (row-level security,
    /// exactly as for API keys): how every console handler touches tenant data.
    pub async fn transaction(&self, pool: &PgPool) -> Result<Tx, PageError> {
        Ok(db::tenant_tx(pool, self.merchant_id).await?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConsoleUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ConsoleUser>()
            .cloned()
            .ok_or_else(|| PageError::Unauthorized(text::SESSION_ENDED.into()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ConsoleUser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<ConsoleUser>().cloned())
    }
}

/// Commits a handler's transaction; an unreachable database is a 503 like any other.
pub async fn commit(tx: Tx) -> Result<(), PageError> {
    Ok(tx.commit().await?)
}

/// Finds the user behind the session cookie or sends them to sign in; on POSTs, checks the
/// session's CSRF token.
pub async fn authenticate(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let found = match cookie_value(request.headers(), SESSION_COOKIE) {
        Some(cookie) => sessions::find(&state.pool, cookie, state.session_idle)
            .await
            .map(|session| session.map(|session| (session, cookie.to_owned()))),
        None => Ok(None),
    };
    match found {
        Ok(Some((session, cookie))) => {
            let user = ConsoleUser {
                user_id: session.user.id,
                merchant_id: session.user.merchant_id,
                email: session.user.email,
                role: session.user.role,
                csrf: session.csrf_token,
                session: cookie,
            };
            let mut request = match check_csrf(&user.csrf, request).await {
                Ok(request) => request,
                Err(error) => return error.into_response(),
            };
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Ok(None) if request.method() == Method::GET || request.method() == Method::HEAD => {
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/console");
            let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("next", target).finish();
            Redirect::to(&format!("/console/sign-in?{query}")).into_response()
        }
        Ok(None) => PageError::Unauthorized(text::SESSION_ENDED.into()).into_response(),
        Err(error) => PageError::from(error).into_response(),
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Reads a POST's body far enough to compare its CSRF token, then hands the request on with
/// the body intact.
async fn check_csrf(expected: &str, request: Request) -> Result<Request, PageError> {
    if request.method() != Method::POST {
        return Ok(request);
    }
    if let Some(given) = request.headers().get(CSRF_HEADER) {
        return if tokens_match(expected, given.as_bytes()) {
            Ok(request)
        } else {
            Err(PageError::CrossSite(text::CSRF_WRONG.into()))
        };
    }
    if is_upload(&request) && is_multipart(&request) {
        // The handler reads the token from the body's first part before anything else.
        let mut request = request;
        request.extensions_mut().insert(CsrfInBody);
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::BadRequest(text::form_too_large(MAX_FORM_BYTES)))?;
    let given = form_urlencoded::parse(&bytes).find(|(key, _)| key == CSRF_FIELD).map(|(_, value)| value);
    match given {
        Some(given) if tokens_match(expected, given.as_bytes()) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Some(_) => Err(PageError::CrossSite(text::CSRF_WRONG.into())),
        None => Err(PageError::CrossSite(text::CSRF_MISSING.into())),
    }
}

/// Refuses a POST that a browser says came from another site: `Sec-Fetch-Site` other than
/// same-origin or none (typed by the user), or an `Origin` whose host is not this one.
pub async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST
        && let Err(reason) = same_origin(request.headers())
    {
        return PageError::CrossSite(text::cross_site(&reason)).into_response();
    }
    next.run(request).await
}

fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    browser_requests::same_origin(header("sec-fetch-site"), header("origin"), header("host")).map_err(|refused| {
        match refused {
            CrossSite::FetchSite(site) => format!("Sec-Fetch-Site: {site}"),
            CrossSite::Origin { origin, host } => format!("Origin {origin} is not {host}"),
        }
    })
}

/// Where to go after signing in: only a path of the console, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if (path == "/console" || path.starts_with("/console/") || path.starts_with("/console?"))
                && !path.contains('\\') =>
        {
            path
        }
        _ => "/console",
    }
}

/// The client's address as the API's rate limits see it: the peer, or the `X-Forwarded-For`
/// hop a trusted proxy names.
pub fn client_address(request_parts: &Parts, state: &ConsoleState) -> Option<IpAddr> {
    let ConnectInfo(peer) = request_parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    let forwarded = request_parts.headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
    Some(recete_platform::client_ip::client_ip(peer.ip(), forwarded, &state.trusted_proxies))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn posts_from_other_sites_are_refused_and_same_site_ones_pass() {
        assert!(same_origin(&headers(&[])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        let refused = same_origin(&headers(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8080")])).err();
        assert!(refused.is_some_and(|r| r.contains("evil.example")));
    }

    #[test]
    fn sign_in_only_returns_to_the_console() {
        assert_eq!(safe_next(Some("/console/settings/users")), "/console/settings/users");
        assert_eq!(safe_next(Some("https://evil.example")), "/console");
        assert_eq!(safe_next(Some("//evil.example")), "/console");
        assert_eq!(safe_next(Some("/consolex")), "/console");
        assert_eq!(safe_next(None), "/console");
    }
}
