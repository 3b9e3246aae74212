//! The merchant API's OpenAPI 3.1 document, generated from the handlers' annotations, and the
//! reference page at `/docs`, whose files are compiled into the binary so it works offline.
//!
//! Handlers document their own success responses; the errors every `/api` operation can answer
//! (and the API-key requirement) are added here once, so the document cannot forget one.

use std::collections::BTreeMap;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, Response, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::Problem;
use crate::merchant;
use crate::state::AppState;
use crate::tenant_tx;

pub const DOCUMENT_PATH: &str = "/openapi.json";
pub const DOCS_PATH: &str = "/docs";
const PROBLEM_JSON: &str = "application/problem+json";
const BEARER: &str = "bearer";
const HEADER_KEY: &str = "api_key_header";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Recete merchant API",
        description = "Products, imports, customers, orders, messages, conversations, analytics and account \
                       settings of one merchant. Authenticate with an API key (`rk_live_...`) as \
                       `Authorization: Bearer <key>` or `X-Api-Key: <key>`; a key's scopes (`read`, `write`, \
                       `admin`) decide which operations it may call. Errors are RFC 9457 problem documents. \
                       Lists are paginated with an opaque `cursor` and a `limit`."
    ),
    components(schemas(Problem))
)]
struct ApiDoc;

/// The merchant routes with their document: the router to serve, and the routes for
/// `/openapi.json` and `/docs`.
pub fn merchant_api() -> Router<AppState> {
    let (router, mut document) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(merchant::routes()).split_for_parts();
    complete(&mut document);
    let router = router.layer(axum::middleware::from_fn(tenant_tx::commit_on_success));
    router.merge(SwaggerUi::new(DOCS_PATH).url(DOCUMENT_PATH, document))
}

/// The generated document, for tests and tools that want it without a server.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document) =
        OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi()).merge(merchant::routes()).split_for_parts();
    complete(&mut document);
    document
}

fn complete(document: &mut utoipa::openapi::OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("rk_live_...").build()),
    );
    components.add_security_scheme(HEADER_KEY, SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    let common = common_responses();
    for (path, item) in document.paths.paths.iter_mut() {
        if !path.starts_with("/api/") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            add_common(operation, &common);
        }
    }
}

fn add_common(operation: &mut Operation, common: &BTreeMap<&'static str, Response>) {
    for (status, response) in common {
        operation.responses.responses.entry((*status).to_owned()).or_insert_with(|| response.clone().into());
    }
    if operation.security.is_none() {
        operation.security = Some(vec![
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
            SecurityRequirement::new(HEADER_KEY, Vec::<String>::new()),
        ]);
    }
}

fn common_responses() -> BTreeMap<&'static str, Response> {
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
    };
    let header = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String)))
            .description(Some(description))
            .build()
    };
    BTreeMap::from([
        ("400", problem("The request is malformed: a body that is not JSON, a wrong content type.").build()),
        ("401", problem("No API key, or a malformed, revoked or expired one.").build()),
        (
            "403",
            problem(
                "The API key lacks the scope this operation needs: `read` for GET, `write` for changes, `admin` \
                 for API keys and for creating, rotating or disabling integrations.",
            )
            .build(),
        ),
        ("404", problem("No such resource for this merchant (another merchant's ids answer the same).").build()),
        ("422", problem("A field or parameter is invalid; `field` names it.").build()),
        (
            "429",
            problem("A rate limit is exhausted; retry after `Retry-After` seconds.")
                .header("Retry-After", header("Seconds to wait before retrying."))
                .header(
                    "RateLimit-Policy",
                    header("The limits that apply, as `\"name\";q=<quota>;w=<window seconds>`."),
                )
                .header("RateLimit", header("What is left, as `\"name\";r=<remaining>;t=<seconds to reset>`."))
                .build(),
        ),
        ("500", problem("Our fault; the cause is logged, never returned.").build()),
        (
            "503",
            problem("A dependency is briefly unavailable; retry after `Retry-After` seconds.")
                .header("Retry-After", header("Seconds to wait before retrying."))
                .build(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_operation_documents_the_common_problems_and_security() {
        let document = serde_json::to_value(document()).expect("serializable");
        assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
        if let Ok(path) = std::env::var("RECETE_OPENAPI_OUT") {
            std::fs::write(path, serde_json::to_string_pretty(&document).expect("json")).expect("written");
        }
        let paths = document["paths"].as_object().expect("paths");
        assert!(!paths.is_empty());
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("item") {
                for status in ["400", "401", "403", "404", "422", "429", "500", "503"] {
                    assert!(
                        operation["responses"][status]["content"][PROBLEM_JSON].is_object(),
                        "{method} {path}: {status}"
                    );
                }
                assert_eq!(operation["security"].as_array().map(Vec::len), Some(2), "{method} {path}");
            }
        }
    }
}
