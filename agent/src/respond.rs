//! Deciding the reply to one customer message: intent, retrieval, an answer from the language
//! model or from the product text, the guardrails, and hand-over when no safe answer exists.

use std::sync::Arc;

use recete_knowledge::{Embedder, RetrievedChunk, retrieval, sentences, store};
use recete_llm::{AnswerOutcome, AnswerRequest, ChatModel, HistoryTurn, ToolRecord};
use recete_platform::config::AgentSettings;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{CustomerId, MerchantId};
use recete_shared::languages::{Language, Phrases, say};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::extractive::{self, Extraction, Thresholds};
use crate::glossary;
use crate::guardrails::{self, AnswerCheck, InputFlag, Rule, Verdict};
use crate::intent::{self, Intent};
use crate::orders;
use crate::tools::DatabaseTools;

/// Similarity a message needs to an intent's examples to take that intent.
const INTENT_SIMILARITY: f32 = 0.5;

/// One customer message and what the agent may know around it.
pub struct Inquiry<'a> {
    pub merchant: MerchantId,
    pub merchant_name: &'a str,
    /// The store's language: fixed phrases are said in the language the customer wrote in, or
    /// in this one when the message does not say which.
    pub store_language: Language,
    pub customer: CustomerId,
    pub text: &'a str,
    /// Earlier messages of the conversation, oldest first.
    pub history: &'a [HistoryTurn],
}

impl Inquiry<'_> {
    /// The language this message is answered in.
    pub fn language(&self) -> Language {
        Language::of(self.text, self.store_language)
    }

    /// The fixed phrases in [`Inquiry::language`].
    pub fn phrases(&self) -> &'static Phrases {
        self.language().phrases()
    }
}

/// How an answer was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerMode {
    /// A fixed reply (greeting, opt-out help, hand-over notice).
    Template,
    /// Sentences quoted from the product text.
    Extractive,
    /// The language model, checked by the guardrails.
    Model,
    /// The customer's order from the database.
    OrderLookup,
}

/// A chunk an answer rests on, as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    pub chunk_id: uuid::Uuid,
    pub product_title: String,
    pub section: String,
    pub similarity: f32,
}

/// Why an answer was not sent as produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardrailRecord {
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub text: String,
    pub intent: Intent,
    pub mode: AnswerMode,
    pub citations: Vec<Citation>,
    pub guardrail: Option<GuardrailRecord>,
    /// Set when the conversation goes to a person: no automatic replies until it is resolved.
    pub handoff: Option<String>,
    /// Tool calls of the language model, valid or not.
    pub tools: Vec<ToolRecord>,
    /// Why the language model was not used for this answer, when it was configured.
    pub model_error: Option<String>,
}

impl Reply {
    fn template(intent: Intent, text: String) -> Self {
        Self {
            text,
            intent,
            mode: AnswerMode::Template,
            citations: Vec::new(),
            guardrail: None,
            handoff: None,
            tools: Vec::new(),
            model_error: None,
        }
    }

    fn handed_over(mut self, reason: impl Into<String>) -> Self {
        self.handoff = Some(reason.into());
        self
    }

    fn blocked(mut self, rule: &str, detail: impl Into<String>) -> Self {
        self.guardrail = Some(GuardrailRecord { rule: rule.to_owned(), detail: detail.into() });
        self
    }
}

/// A question read before answering: its guardrail flags, its intent, its vector when the
/// intent took one or the answer searches the product text, and the chunks found for it when
/// [`Agent::prepare`] searched already.
#[derive(Debug, Clone)]
pub struct Understanding {
    text: String,
    flags: Vec<InputFlag>,
    intent: Intent,
    query: Option<Vec<f32>>,
    /// The merchant searched and the chunks found.
    chunks: Option<(MerchantId, Vec<RetrievedChunk>)>,
}

impl Understanding {
    /// Whether the reply is looked for in the product text: a question about products, or of no
    /// known kind, that no guardrail answers first.
    fn searches_products(&self) -> bool {
        matches!(self.intent, Intent::ProductQuestion | Intent::Other)
            && !self.flags.iter().any(|flag| {
                matches!(
                    flag,
                    InputFlag::PromptInjection { .. }
                        | InputFlag::MedicalDiagnosis
                        | InputFlag::DiscountRequest
                        | InputFlag::OtherCustomerData
                )
            })
    }
}

pub struct Agent {
    embedder: Arc<dyn Embedder>,
    chat: Option<ChatModel>,
    settings: AgentSettings,
    thresholds: Thresholds,
    examples: OnceCell<Vec<(Intent, Vec<f32>)>>,
}

impl Agent {
    pub fn new(embedder: Arc<dyn Embedder>, chat: Option<ChatModel>, settings: AgentSettings) -> Self {
        Self { embedder, chat, settings, thresholds: Thresholds::default(), examples: OnceCell::new() }
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The reply to `inquiry`, every step in the caller's transaction, scoped to the merchant (a
    /// chunk synced before sentences were stored is embedded in it). The answering job calls
    /// [`Agent::prepare`] before its transaction instead, and runs no model inside it.
    pub async fn respond(&self, tx: &mut Tx, inquiry: &Inquiry<'_>) -> anyhow::Result<Reply> {
        let understood = self.understand(inquiry.text).await?;
        self.respond_understood(tx, inquiry, understood).await
    }

    /// What the question is and, when the intent or the answer needs it, its vector: the only
    /// model call an answer without a language model makes for chunks synced with their
    /// sentences, so a caller runs it before opening a transaction and holds no connection while
    /// the model runs.
    pub async fn understand(&self, text: &str) -> anyhow::Result<Understanding> {
        let flags = guardrails::check_question(text);
        let injected = flags.iter().any(|flag| matches!(flag, InputFlag::PromptInjection { .. }));
        let (intent, query) = if injected { (Intent::Other, None) } else { self.classify(text).await? };
        let mut understood = Understanding { text: text.to_owned(), flags, intent, query, chunks: None };
        // A question in another language searches with the English words of its glossary
        // entries added; the intent was read from its own words.
        let search_text = glossary::query_text(text);
        if understood.searches_products() && (understood.query.is_none() || search_text != text) {
            understood.query = Some(self.embed_one(&search_text).await?);
        }
        Ok(understood)
    }

    /// [`Agent::understand`], then for a question answered from the product text the chunks
    /// that may answer it, searched in a short read of `merchant`'s knowledge committed before
    /// any further model call. A chunk synced before chunks kept their sentences' vectors gets
    /// them here, embedded with no transaction open and stored for the next question, so
    /// [`Agent::respond_understood`] then makes no model call at all.
    pub async fn prepare(&self, pool: &PgPool, merchant: MerchantId, text: &str) -> anyhow::Result<Understanding> {
        let mut understood = self.understand(text).await?;
        let Some(query) = understood.query.as_deref().filter(|_| understood.searches_products()) else {
            return Ok(understood);
        };
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let mut chunks = self.search(&mut tx, merchant, query).await?;
        tx.commit().await?;
        let missing: Vec<usize> = (0..chunks.len()).filter(|&index| chunks[index].sentences.is_none()).collect();
        if !missing.is_empty() {
            self.complete_sentences(pool, merchant, &mut chunks, &missing).await?;
        }
        understood.chunks = Some((merchant, chunks));
        Ok(understood)
    }

    /// Embeds the quotable sentences of `chunks[missing]`, which were synced before sentences
    /// were stored, in one model call, sets them on the chunks, and stores them.
    async fn complete_sentences(
        &self,
        pool: &PgPool,
        merchant: MerchantId,
        chunks: &mut [RetrievedChunk],
        missing: &[usize],
    ) -> anyhow::Result<()> {
        let quotable: Vec<Vec<String>> =
            missing.iter().map(|&index| sentences::quotable(&chunks[index].content, chunks[index].section)).collect();
        let mut inputs: Vec<String> = Vec::new();
        for (&index, texts) in missing.iter().zip(&quotable) {
            let title = &chunks[index].product_title;
            inputs.extend(texts.iter().map(|sentence| sentences::embedding_input(title, sentence)));
        }
        let mut vectors = if inputs.is_empty() { Vec::new() } else { self.embedder.embed(&inputs).await? }.into_iter();
        anyhow::ensure!(vectors.len() == inputs.len(), "{} vectors for {} sentences", vectors.len(), inputs.len());
        let mut tx = db::tenant_tx(pool, merchant).await?;
        for (&index, texts) in missing.iter().zip(quotable) {
            let chunk_vectors: Vec<Vec<f32>> = vectors.by_ref().take(texts.len()).collect();
            store::store_sentences(&mut tx, chunks[index].id, &texts, chunk_vectors.clone()).await?;
            chunks[index].sentences = Some(
                texts
                    .into_iter()
                    .zip(chunk_vectors)
                    .map(|(text, vector)| recete_knowledge::StoredSentence { text, vector })
                    .collect(),
            );
        }
        tx.commit().await?;
        Ok(())
    }

    /// The `top_k` chunks of `merchant` nearest to `query`.
    async fn search(&self, tx: &mut Tx, merchant: MerchantId, query: &[f32]) -> anyhow::Result<Vec<RetrievedChunk>> {
        Ok(retrieval::search(tx, merchant, self.embedder.model_name(), query, self.settings.top_k).await?)
    }

    /// The reply to `inquiry` once [`Agent::understand`] has read its text; an understanding of
    /// another text is read again.
    pub async fn respond_understood(
        &self,
        tx: &mut Tx,
        inquiry: &Inquiry<'_>,
        understood: Understanding,
    ) -> anyhow::Result<Reply> {
        let understood =
            if understood.text == inquiry.text { understood } else { self.understand(inquiry.text).await? };
        let Understanding { flags, intent, query, chunks, .. } = understood;
        // Chunks found for another merchant's question are searched again.
        let chunks = chunks.filter(|(merchant, _)| *merchant == inquiry.merchant).map(|(_, chunks)| chunks);
        if let Some(InputFlag::PromptInjection { pattern }) =
            flags.iter().find(|flag| matches!(flag, InputFlag::PromptInjection { .. }))
        {
            let text = say(inquiry.phrases().only_store_topics, inquiry.merchant_name);
            return Ok(Reply::template(Intent::Other, text)
                .blocked(Rule::PromptInjection.as_str(), format!("question matched `{pattern}`")));
        }
        // The question's vector, once embedded for the intent, serves retrieval and the
        // extractive answer too.
        let phrases = inquiry.phrases();
        match intent {
            Intent::Greeting => Ok(Reply::template(intent, say(phrases.greeting, inquiry.merchant_name))),
            Intent::OptOut => Ok(Reply::template(intent, phrases.how_to_opt_out.to_owned())),
            Intent::HumanRequest => Ok(Reply::template(intent, phrases.person_will_reply.to_owned())
                .handed_over("the customer asked for a person")),
            Intent::Complaint => {
                Ok(Reply::template(intent, phrases.complaint_passed_on.to_owned()).handed_over("complaint"))
            }
            Intent::OrderStatus => self.order_status(tx, inquiry).await,
            Intent::ProductQuestion | Intent::Other => {
                self.product_answer(tx, inquiry, Searched { intent, flags: &flags, query, chunks }).await
            }
        }
    }

    async fn classify(&self, text: &str) -> anyhow::Result<(Intent, Option<Vec<f32>>)> {
        if let Some(intent) = intent::by_rules(text) {
            return Ok((intent, None));
        }
        let examples = self
            .examples
            .get_or_try_init(|| async {
                let texts: Vec<String> = intent::EXAMPLES.iter().map(|(_, text)| (*text).to_owned()).collect();
                let vectors = self.embedder.embed(&texts).await?;
                Ok::<_, recete_knowledge::EmbedError>(
                    intent::EXAMPLES.iter().map(|(intent, _)| *intent).zip(vectors).collect(),
                )
            })
            .await?;
        let query = self.embed_one(text).await?;
        let intent = intent::nearest_example(&query, examples, INTENT_SIMILARITY)
            .map_or(Intent::ProductQuestion, |(intent, _)| intent);
        Ok((intent, Some(query)))
    }

    async fn embed_one(&self, text: &str) -> Result<Vec<f32>, recete_knowledge::EmbedError> {
        let mut vectors = self.embedder.embed(&[text.to_owned()]).await?;
        vectors.pop().ok_or(recete_knowledge::EmbedError::Count { expected: 1, got: 0 })
    }

    async fn order_status(&self, tx: &mut Tx, inquiry: &Inquiry<'_>) -> anyhow::Result<Reply> {
        let number = orders::number_in(inquiry.text);
        let found = orders::customer_orders(tx, inquiry.customer, number.as_deref()).await?;
        let Some(latest) = found.first() else {
            return Ok(Reply::template(Intent::OrderStatus, inquiry.phrases().order_not_found.to_owned())
                .handed_over("order not found for the customer"));
        };
        let mut reply = Reply::template(Intent::OrderStatus, orders::describe(latest, &inquiry.phrases().orders));
        reply.mode = AnswerMode::OrderLookup;
        Ok(reply)
    }

    async fn product_answer(
        &self,
        tx: &mut Tx,
        inquiry: &Inquiry<'_>,
        searched: Searched<'_>,
    ) -> anyhow::Result<Reply> {
        let Searched { intent, flags, query, chunks } = searched;
        if flags.contains(&InputFlag::MedicalDiagnosis) {
            return Ok(Reply::template(intent, inquiry.phrases().no_medical_advice.to_owned())
                .handed_over("medical question")
                .blocked(Rule::MedicalAdvice.as_str(), "the question asks for a diagnosis"));
        }
        if flags.contains(&InputFlag::DiscountRequest) {
            return Ok(Reply::template(intent, inquiry.phrases().no_discounts.to_owned())
                .handed_over("discount or price request")
                .blocked(Rule::PricePromise.as_str(), "the question asks for a discount or a price"));
        }
        if flags.contains(&InputFlag::OtherCustomerData) {
            return Ok(Reply::template(intent, inquiry.phrases().only_your_orders.to_owned())
                .blocked(Rule::OtherCustomer.as_str(), "the question asks about another person"));
        }
        let query = match query {
            Some(query) => query,
            None => self.embed_one(&glossary::query_text(inquiry.text)).await?,
        };
        let chunks = match chunks {
            Some(chunks) => chunks,
            None => self.search(tx, inquiry.merchant, &query).await?,
        };
        let supporting: Vec<RetrievedChunk> =
            chunks.into_iter().filter(|chunk| chunk.similarity >= self.settings.min_similarity).collect();
        let mut allowed_facts = vec![inquiry.merchant_name.to_owned()];
        let model_result = match &self.chat {
            Some(chat) => Some(self.model_answer(chat, tx, inquiry, &supporting, intent).await),
            None => None,
        };
        let mut reply = match model_result {
            Some(Ok((reply, facts))) => {
                allowed_facts.extend(facts);
                reply
            }
            Some(Err(reason)) => {
                tracing::warn!(%reason, "language model unavailable; answering from the product text");
                let mut reply = self.extractive_answer(inquiry, &query, &supporting, intent).await?;
                reply.model_error = Some(reason);
                reply
            }
            None => self.extractive_answer(inquiry, &query, &supporting, intent).await?,
        };
        if reply.handoff.is_some() || reply.mode == AnswerMode::Template {
            return Ok(reply);
        }
        let verdict = guardrails::check_answer(&AnswerCheck {
            answer: &reply.text,
            context: &supporting,
            allowed_facts: &allowed_facts,
            question_flags: flags,
        });
        if let Verdict::Block { rule, detail } = verdict {
            tracing::info!(rule = rule.as_str(), "answer blocked by a guardrail; handing over");
            let tools = std::mem::take(&mut reply.tools);
            let mut blocked = Reply::template(intent, inquiry.phrases().dont_know.to_owned())
                .handed_over(format!("answer blocked: {}", rule.as_str()))
                .blocked(rule.as_str(), detail);
            blocked.tools = tools;
            blocked.model_error = reply.model_error;
            return Ok(blocked);
        }
        if flags.contains(&InputFlag::DosageOrMedication) {
            // The label's own words may be repeated; anything beyond them is for a professional.
            reply.text = format!("{} {}", reply.text, inquiry.phrases().beyond_the_label);
            reply.handoff = Some("medication or dosage question".into());
        }
        Ok(reply)
    }

    async fn extractive_answer(
        &self,
        inquiry: &Inquiry<'_>,
        query: &[f32],
        supporting: &[RetrievedChunk],
        intent: Intent,
    ) -> anyhow::Result<Reply> {
        if supporting.is_empty() {
            return Ok(Reply::template(intent, inquiry.phrases().dont_know.to_owned())
                .handed_over("no product text matches the question")
                .blocked(Rule::Unsupported.as_str(), "no product text is close enough to the question"));
        }
        // Sentences are picked by the question with its glossary words, so a Turkish question about
        // use finds the usage; what is quoted is the store's own text.
        let question = glossary::query_text(inquiry.text);
        match extractive::answer(&question, Some(query), supporting, self.embedder.as_ref(), self.thresholds).await? {
            Extraction::Answer(answer) => Ok(Reply {
                text: answer.text,
                intent,
                mode: AnswerMode::Extractive,
                citations: citations(supporting, &answer.cited_chunks),
                guardrail: None,
                handoff: None,
                tools: Vec::new(),
                model_error: None,
            }),
            Extraction::NotFound { best_similarity } => {
                Ok(Reply::template(intent, inquiry.phrases().dont_know.to_owned())
                    .handed_over("the product text does not answer the question")
                    .blocked(
                        Rule::Unsupported.as_str(),
                        format!("no sentence answers the question (best similarity {best_similarity:.2})"),
                    ))
            }
        }
    }

    /// The model's answer; `Err` with the reason when the model could not be used and the
    /// extractive answer should stand in.
    async fn model_answer(
        &self,
        chat: &ChatModel,
        tx: &mut Tx,
        inquiry: &Inquiry<'_>,
        supporting: &[RetrievedChunk],
        intent: Intent,
    ) -> Result<(Reply, Vec<String>), String> {
        let system_prompt = format!(
            "You answer WhatsApp messages for the shop {name}. Be brief and friendly. Answer only about {name}'s \
             products and this customer's own orders.",
            name = inquiry.merchant_name
        );
        let request = AnswerRequest {
            system_prompt: &system_prompt,
            history: inquiry.history,
            question: inquiry.text,
            context: supporting,
        };
        let host = DatabaseTools::new(tx, inquiry.customer);
        let outcome = chat.answer(&request, &host).await;
        let facts = host.into_facts();
        let reply = match outcome {
            AnswerOutcome::Answer { text, cited_chunks, tools } => {
                let used_order_lookup = tools.iter().any(|record| record.name == "order_status");
                Ok::<_, String>(Reply {
                    text,
                    intent,
                    mode: if used_order_lookup && cited_chunks.is_empty() {
                        AnswerMode::OrderLookup
                    } else {
                        AnswerMode::Model
                    },
                    citations: citations(supporting, &cited_chunks),
                    guardrail: None,
                    handoff: None,
                    tools,
                    model_error: None,
                })
            }
            AnswerOutcome::Handoff { reason, tools } => {
                let mut reply = Reply::template(intent, inquiry.phrases().dont_know.to_owned()).handed_over(reason);
                reply.tools = tools;
                Ok(reply)
            }
            AnswerOutcome::Refused { reason } => Ok(Reply::template(intent, inquiry.phrases().dont_know.to_owned())
                .handed_over("the model declined to answer")
                .blocked("model_refusal", reason)),
            AnswerOutcome::Failed { reason, .. } => Err(reason),
        }?;
        Ok((reply, facts))
    }
}

/// What a product answer starts from: the question's intent, flags and vector, and its chunks
/// when they were found before the transaction.
struct Searched<'a> {
    intent: Intent,
    flags: &'a [InputFlag],
    query: Option<Vec<f32>>,
    chunks: Option<Vec<RetrievedChunk>>,
}

fn citations(chunks: &[RetrievedChunk], cited: &[uuid::Uuid]) -> Vec<Citation> {
    cited
        .iter()
        .filter_map(|id| chunks.iter().find(|chunk| chunk.id == *id))
        .map(|chunk| Citation {
            chunk_id: chunk.id,
            product_title: chunk.product_title.clone(),
            section: chunk.section.as_str().to_owned(),
            similarity: chunk.similarity,
        })
        .collect()
}
