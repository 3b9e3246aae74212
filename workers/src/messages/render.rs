//! What a task says: the step's text inside an open service window, its template outside it,
//! a reply's own text or the template a person chose.

use anyhow::Context;
use recete_messaging::whatsapp::Content;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_shared::conversations::replies;
use recete_shared::followups::plan::TemplateParameter;
use recete_shared::merchants::MerchantSettings;
use recete_shared::message_bodies;
use recete_shared::orders;

use recete_jobs::claims::TaskClaim;

pub(super) async fn content(
    tx: &mut Tx,
    keyring: &Keyring,
    task: &TaskClaim,
    settings: &MerchantSettings,
    window_open: bool,
    customer_name: Option<&str>,
) -> anyhow::Result<Option<Content>> {
    if task.kind == "reply" {
        if let Some(template) = task.payload.get("template") {
            return template_reply(keyring, task, template).map(Some);
        }
        let sealed = task.payload.get("text_sealed").context("a reply task carries its sealed text")?;
        let text = message_bodies::open_from_payload(keyring, task.merchant_id, sealed)
            .context("Failed to open the reply's text")?;
        return Ok(Some(Content::Text { body: text }));
    }
    let Some(step) = settings.follow_up_plan.iter().find(|step| Some(step.key.as_str()) == task.step.as_deref()) else {
        return Ok(None);
    };
    if window_open && let Some(text) = &step.window_text {
        return Ok(Some(Content::Text { body: text.clone() }));
    }
    let (order_number, product_title) =
        orders::read::number_and_first_title(tx, task.order_id).await?.unwrap_or((None, None));
    let first_name = customer_name.and_then(|name| name.split_whitespace().next()).unwrap_or("there").to_owned();
    let parameters = step
        .template
        .parameters
        .iter()
        .map(|parameter| match parameter {
            TemplateParameter::CustomerFirstName => first_name.clone(),
            TemplateParameter::OrderNumber => order_number.clone().unwrap_or_default(),
            TemplateParameter::ProductTitle => product_title.clone().unwrap_or_else(|| "your order".to_owned()),
        })
        .collect();
    Ok(Some(Content::Template {
        name: step.template.name.clone(),
        language: step.template.language.clone(),
        parameters,
    }))
}

/// A person's template reply: its name and language as chosen, its parameters opened.
fn template_reply(keyring: &Keyring, task: &TaskClaim, template: &serde_json::Value) -> anyhow::Result<Content> {
    let field = |name: &str| {
        template
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("a template reply carries its template's {name}"))
    };
    let parameters = match template.get("parameters_sealed") {
        Some(sealed) => replies::open_template_parameters(keyring, task.merchant_id, sealed)
            .context("Failed to open the template reply's parameters")?,
        None => Vec::new(),
    };
    Ok(Content::Template { name: field("name")?, language: field("language")?, parameters })
}
