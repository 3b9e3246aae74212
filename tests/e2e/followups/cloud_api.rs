//! The Cloud API client against a fake Graph API: exact request shapes and every error class.

use std::time::Duration;

use recete_config::{Settings, base_figment};
use recete_messaging::whatsapp::{CloudClient, Content, OutgoingMessage, SendError};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(graph: &MockServer) -> CloudClient {
    let settings = Settings::load_from(
        base_figment(None)
            .merge(("whatsapp.graph_base_url", graph.uri()))
            .merge(("whatsapp.access_token", "test-token"))
            .merge(("whatsapp.request_timeout_ms", 300)),
    )
    .expect("settings");
    CloudClient::new(&settings.whatsapp).expect("client")
}

fn message(content: Content) -> OutgoingMessage {
    OutgoingMessage {
        phone_number_id: "106540352242922".into(),
        to: "905551234567".into(),
        callback_data: "msg-1".into(),
        content,
    }
}

fn graph_error(code: i64) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": code,
                  "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send"}, "fbtrace_id": "Az8or2yhqkZfEZ"}
    }))
}

#[tokio::test]
async fn text_and_template_requests_have_the_documented_shape() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/106540352242922/messages"))
        .and(header("authorization", "Bearer test-token"))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "905551234567",
            "biz_opaque_callback_data": "msg-1", "type": "text", "text": {"preview_url": false, "body": "Hello"}
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.TEXT"}]})),
        )
        .expect(1)
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v21.0/106540352242922/messages"))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "905551234567",
            "biz_opaque_callback_data": "msg-1", "type": "template",
            "template": {"name": "recete_how_to_use", "language": {"code": "tr"},
                         "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "Serum"}]}]}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.TEMPLATE"}]})))
        .expect(1)
        .mount(&graph)
        .await;
    let client = client(&graph);
    assert_eq!(client.send(&message(Content::Text { body: "Hello".into() })).await, Ok("wamid.TEXT".into()));
    let template = Content::Template {
        name: "recete_how_to_use".into(),
        language: "tr".into(),
        parameters: vec!["Ada".into(), "Serum".into()],
    };
    assert_eq!(client.send(&message(template)).await, Ok("wamid.TEMPLATE".into()));
}

#[tokio::test]
async fn each_failure_is_sorted_into_retry_give_up_or_unknown() {
    type Expectation = fn(&SendError) -> bool;
    let cases: Vec<(ResponseTemplate, Expectation)> = vec![
        (graph_error(130429), |e| matches!(e, SendError::Retryable { code, .. } if code == "130429")),
        (ResponseTemplate::new(503), |e| matches!(e, SendError::Retryable { .. })),
        (ResponseTemplate::new(500).set_body_string("<html>oops</html>"), |e| matches!(e, SendError::Retryable { .. })),
        (graph_error(131026), |e| matches!(e, SendError::Permanent { code, opted_out: false, .. } if code == "131026")),
        (graph_error(131047), |e| matches!(e, SendError::Permanent { reason, .. } if reason.contains("24 hours"))),
        (graph_error(131049), |e| matches!(e, SendError::Permanent { code, .. } if code == "131049")),
        (graph_error(131050), |e| matches!(e, SendError::Permanent { opted_out: true, .. })),
        (
            graph_error(100),
            |e| matches!(e, SendError::Permanent { reason, .. } if reason.contains("invalid parameter")),
        ),
        (ResponseTemplate::new(200).set_delay(Duration::from_secs(2)), |e| matches!(e, SendError::Ambiguous(_))),
    ];
    for (index, (response, expected)) in cases.into_iter().enumerate() {
        let graph = MockServer::start().await;
        Mock::given(method("POST")).respond_with(response).mount(&graph).await;
        let outcome = client(&graph).send(&message(Content::Text { body: "Hi".into() })).await;
        let error = outcome.expect_err("every case fails");
        assert!(expected(&error), "case {index}: {error:?}");
    }
    // Nothing listening at all: the request never left, so it is safe to retry.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let settings = Settings::load_from(
        base_figment(None)
            .merge(("whatsapp.graph_base_url", format!("http://127.0.0.1:{port}")))
            .merge(("whatsapp.access_token", "test-token")),
    )
    .expect("settings");
    let client = CloudClient::new(&settings.whatsapp).expect("client");
    let error = client.send(&message(Content::Text { body: "Hi".into() })).await.expect_err("refused");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
}
