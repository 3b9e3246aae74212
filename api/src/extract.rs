//! Query-string and path extractors whose rejections are problem documents naming the parameter,
//! where axum's own answer in plain text with no field.

use axum::extract::FromRequestParts;
use axum::extract::rejection::PathRejection;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `?a=1&b=2` into `T`; an unknown, malformed or out-of-range parameter is a 422 naming it.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// A query string into `T`; an unknown, malformed or out-of-range parameter is a 422 naming it.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
            return ApiError::InvalidField { field: field.to_owned(), detail: "is required".into() };
        }
        if let Some(field) = message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next()) {
            return ApiError::InvalidField {
                field: field.to_owned(),
                detail: "is not a parameter of this endpoint".into(),
            };
        }
        let field = if path == "." { "query".to_owned() } else { path };
        ApiError::InvalidField { field, detail: message }
    })
}

/// Path parameters into `T`; a malformed id is a 422 naming the parameter, so a typo is told
/// apart from a missing resource.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_problem(rejection)),
        }
    }
}

fn path_problem(rejection: PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    match rejection {
        PathRejection::FailedToDeserializePathParams(error) => match error.kind() {
            ErrorKind::ParseErrorAtKey { key, value, expected_type } => ApiError::InvalidField {
                field: key.clone(),
                detail: format!("`{}` is not a valid {}", shown(value), friendly_type(expected_type)),
            },
            ErrorKind::ParseError { value, expected_type } => ApiError::InvalidField {
                field: "path".into(),
                detail: format!("`{}` is not a valid {}", shown(value), friendly_type(expected_type)),
            },
            ErrorKind::Message(message) => ApiError::InvalidField { field: "path".into(), detail: shown(message) },
            other => ApiError::BadRequest(format!("invalid path: {other}")),
        },
        other => ApiError::BadRequest(other.body_text()),
    }
}

fn friendly_type(expected: &str) -> &str {
    if expected.ends_with("Uuid") { "UUID" } else { expected }
}

/// Path values are echoed back, so long or odd ones are cut short.
fn shown(value: &str) -> String {
    let mut shown: String = value.chars().filter(|c| !c.is_control()).take(64).collect();
    if value.chars().count() > 64 {
        shown.push('…');
    }
    shown
}
