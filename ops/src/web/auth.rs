//! Who is asking, and whether a write really comes from the board.
//!
//! A request is signed in by the session cookie (set by the sign-in page) or, for scripts, by
//! `Authorization: Bearer <token>`. Every POST of a cookie session carries the session's CSRF
//! token (form field `csrf` or header `X-CSRF-Token`), compared in constant time; a bearer
//! request carries no cookie, so another site cannot make a browser send it, and needs none.
//! Any POST whose `Origin` or `Sec-Fetch-Site` names another site is refused outright.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use recete_platform::browser_requests::{self, CrossSite, tokens_match};

use super::BoardState;
use super::error::PageError;
use crate::operators::{self, Operator, Role};

pub const SESSION_COOKIE: &str = "recete_ops_session";
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form the board takes; its forms hold a few short fields.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The signed-in operator of this request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub operator: Operator,
    /// The session's CSRF token; `None` for a bearer-token request, which needs none.
    csrf: Option<String>,
}

impl Viewer {
    pub fn may(&self, needs: Role) -> bool {
        self.operator.role >= needs
    }

    /// `Forbidden`, naming `action` and the role it needs, unless the operator's role allows it.
    pub fn require(&self, needs: Role, action: &'static str) -> Result<(), PageError> {
        if self.may(needs) { Ok(()) } else { Err(PageError::Forbidden { action, needs, have: self.operator.role }) }
    }

    /// The token forms of this page carry (empty for bearer requests, which post without one).
    pub fn csrf_token(&self) -> &str {
        self.csrf.as_deref().unwrap_or_default()
    }

    pub fn actor(&self) -> String {
        self.operator.actor()
    }
}

/// Finds the operator behind the request, or sends a browser to the sign-in page; on POSTs of
/// cookie sessions, checks the CSRF token.
pub async fn authenticate(State(state): State<BoardState>, request: Request, next: Next) -> Response {
    match signed_in(&state, request.headers()).await {
        Ok(Some(viewer)) => {
            let html = wants_html(request.headers());
            let request = match check_csrf(&viewer, request).await {
                Ok(request) => request,
                Err(error) if html => return error.into_response(),
                Err(error) => return error.json().into_response(),
            };
            let mut request = request;
            request.extensions_mut().insert(viewer);
            next.run(request).await
        }
        Ok(None) if request.method() == Method::GET && wants_html(request.headers()) => {
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/ops");
            let next_query: String =
                form_urlencoded::Serializer::new(String::new()).append_pair("next", target).finish();
            Redirect::to(&format!("/ops/sign-in?{next_query}")).into_response()
        }
        Ok(None) => {
            let error =
                PageError::Unauthorized("sign in at /ops/sign-in, or send `Authorization: Bearer <token>`".into());
            answer(error, request.headers())
        }
        Err(error) => answer(error, request.headers()),
    }
}

/// A page for a browser, `{"error": …}` for a script.
fn answer(error: PageError, headers: &HeaderMap) -> Response {
    if wants_html(headers) { error.into_response() } else { error.json().into_response() }
}

async fn signed_in(state: &BoardState, headers: &HeaderMap) -> Result<Option<Viewer>, PageError> {
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let token = authorization
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| PageError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?;
        let operator = operators::by_token(&state.pool, token)
            .await?
            .ok_or_else(|| PageError::Unauthorized("the bearer token is unknown or its operator is disabled".into()))?;
        return Ok(Some(Viewer { operator, csrf: None }));
    }
    let Some(cookie) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = operators::session(&state.pool, cookie, state.session_ttl).await?;
    Ok(session.map(|session| Viewer { operator: session.operator, csrf: Some(session.csrf_token) }))
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

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// Reads the body of a cookie session's POST far enough to compare its CSRF token, then hands
/// the request on with the body intact.
async fn check_csrf(viewer: &Viewer, request: Request) -> Result<Request, PageError> {
    let Some(expected) = viewer.csrf.as_deref() else {
        return Ok(request);
    };
    if request.method() != Method::POST {
        return Ok(request);
    }
    if let Some(given) = request.headers().get(CSRF_HEADER) {
        return if tokens_match(expected, given.as_bytes()) {
            Ok(request)
        } else {
            Err(PageError::CrossSite("the X-CSRF-Token header does not match this session; reload the page".into()))
        };
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::BadRequest(format!("the form is larger than {MAX_FORM_BYTES} bytes")))?;
    let given = form_urlencoded::parse(&bytes).find(|(key, _)| key == CSRF_FIELD).map(|(_, value)| value);
    match given {
        Some(given) if tokens_match(expected, given.as_bytes()) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Some(_) => {
            Err(PageError::CrossSite("the form's CSRF token does not match this session; reload the page".into()))
        }
        None => Err(PageError::CrossSite(
            "the form carries no CSRF token (field `csrf` or header X-CSRF-Token); reload the page".into(),
        )),
    }
}

/// Refuses a POST that a browser says came from another site: `Sec-Fetch-Site` other than
/// same-origin or none (typed by the user), or an `Origin` whose host is not this one.
pub async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST
        && let Err(reason) = same_origin(request.headers())
    {
        return PageError::CrossSite(reason).into_response();
    }
    next.run(request).await
}

fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    browser_requests::same_origin(header("sec-fetch-site"), header("origin"), header("host")).map_err(|refused| {
        match refused {
            CrossSite::FetchSite(site) => {
                format!("the browser says this request came from another site (Sec-Fetch-Site: {site})")
            }
            CrossSite::Origin { origin, host } => format!("the request's Origin ({origin}) is not this board ({host})"),
        }
    })
}

/// A `next` target after signing in: only a path of the board, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with("/ops") && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/ops",
    }
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
    fn the_session_cookie_is_found_among_others() {
        let map = headers(&[("cookie", "theme=dark; recete_ops_session=abc123"), ("cookie", "x=1")]);
        assert_eq!(cookie_value(&map, SESSION_COOKIE), Some("abc123"));
        assert_eq!(cookie_value(&headers(&[("cookie", "recete_ops_sessionx=1")]), SESSION_COOKIE), None);
    }

    #[test]
    fn posts_from_other_sites_are_refused_and_same_site_ones_pass() {
        assert!(same_origin(&headers(&[])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:8081"), ("host", "127.0.0.1:8081")])).is_ok());
        let refused = same_origin(&headers(&[("sec-fetch-site", "cross-site")])).err().unwrap_or_default();
        assert!(refused.contains("cross-site"), "{refused}");
        let refused = same_origin(&headers(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8081")])).err();
        assert!(refused.is_some_and(|r| r.contains("evil.example")));
    }

    #[test]
    fn sign_in_only_returns_to_the_board() {
        assert_eq!(safe_next(Some("/ops/jobs?state=dead")), "/ops/jobs?state=dead");
        assert_eq!(safe_next(Some("https://evil.example")), "/ops");
        assert_eq!(safe_next(Some("//evil.example")), "/ops");
        assert_eq!(safe_next(None), "/ops");
    }
}
