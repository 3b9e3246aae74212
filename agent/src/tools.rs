//! The tools a language model may call, run against the database in the answer's own
//! transaction: only this customer's orders, only this merchant's products.

use recete_knowledge::products;
use recete_llm::{ToolCall, ToolFailure, ToolHost};
use recete_platform::db::Tx;
use recete_platform::ids::CustomerId;
use recete_shared::languages::Language;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::orders;

/// Longest product text handed back to the model by `product_info`.
const PRODUCT_INFO_CHARS: usize = 4000;

pub struct DatabaseTools<'a> {
    tx: Mutex<&'a mut Tx>,
    customer: CustomerId,
    /// Text the tools returned: an answer may repeat it (an order's status, a product's text).
    facts: std::sync::Mutex<Vec<String>>,
}

impl<'a> DatabaseTools<'a> {
    pub fn new(tx: &'a mut Tx, customer: CustomerId) -> Self {
        Self { tx: Mutex::new(tx), customer, facts: std::sync::Mutex::new(Vec::new()) }
    }

    pub fn into_facts(self) -> Vec<String> {
        self.facts.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, fact: String) {
        self.facts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(fact);
    }
}

impl ToolHost for DatabaseTools<'_> {
    async fn run(&self, call: &ToolCall) -> Result<Value, ToolFailure> {
        let mut guard = self.tx.lock().await;
        let tx: &mut Tx = &mut guard;
        let failure = |error: sqlx::Error| {
            tracing::warn!(%error, "agent tool failed");
            ToolFailure { message: "the lookup failed; try again later or hand over to a person".into() }
        };
        match call {
            ToolCall::OrderStatus(args) => {
                let found =
                    orders::customer_orders(tx, self.customer, args.order_number.as_deref()).await.map_err(failure)?;
                if found.is_empty() {
                    return Ok(json!({ "orders": [], "note": "no order of this customer matches" }));
                }
                let orders: Vec<Value> = found
                    .iter()
                    .map(|order| {
                        // For the model, which answers in the customer's language itself.
                        let summary = orders::describe(order, &Language::English.phrases().orders);
                        self.remember(summary.clone());
                        json!({ "number": order.number, "status": order.status, "summary": summary })
                    })
                    .collect();
                Ok(json!({ "orders": orders }))
            }
            ToolCall::ProductInfo(args) => {
                let query = args.product.trim();
                let found: Option<(Uuid, String)> = sqlx::query_as(
                    "SELECT id, title FROM products
                     WHERE sku = $1 OR title ILIKE '%' || $2 || '%'
                     ORDER BY (sku = $1) IS TRUE DESC, length(title) LIMIT 1",
                )
                .bind(query)
                .bind(escape_like(query))
                .fetch_optional(&mut **tx)
                .await
                .map_err(failure)?;
                let Some((id, title)) = found else {
                    return Ok(json!({ "found": false, "note": "no product of this shop matches" }));
                };
                self.remember(title.clone());
                let document = products::load_document(tx, id).await.map_err(failure)?;
                let mut sections = Vec::new();
                let mut budget = PRODUCT_INFO_CHARS;
                for section in document.map(|d| d.sections).unwrap_or_default() {
                    if budget == 0 {
                        break;
                    }
                    let text: String = section.text.chars().take(budget).collect();
                    budget = budget.saturating_sub(text.len());
                    self.remember(text.clone());
                    sections.push(json!({ "section": section.kind.as_str(), "text": text }));
                }
                Ok(json!({ "found": true, "title": title, "sections": sections }))
            }
            ToolCall::HandoffToHuman(_) => Ok(json!({ "status": "a person from the shop will follow up" })),
        }
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
