//! A JSON request body whose errors name the field: `title: missing field` rather than a
//! generic "invalid JSON".

use axum::extract::{FromRef, FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::body::{BodyLimit, RawBody};
use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    BodyLimit: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
        if !is_json {
            return Err(ApiError::BadRequest("send the body as JSON with `Content-Type: application/json`".into()));
        }
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer).map(JsonBody).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let message = inner.to_string();
            // A field missing at the top level has no path of its own: serde names it instead.
            if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
                let field = if path == "." { field.to_owned() } else { format!("{path}.{field}") };
                return ApiError::InvalidField { field, detail: "is required".into() };
            }
            if inner.is_syntax() || inner.is_eof() || path == "." {
                ApiError::BadRequest(format!("the body is not valid JSON for this endpoint: {inner}"))
            } else {
                ApiError::InvalidField { field: path, detail: inner.to_string() }
            }
        })
    }
}
