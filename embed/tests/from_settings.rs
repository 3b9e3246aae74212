//! `from_settings` picks the embedder the `[embedding]` settings name.

use recete_embed::from_settings;
use recete_embed::{EmbeddingProvider, EmbeddingSettings};
use recete_knowledge::EmbedError;
use secrecy::SecretString;

const MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/all-MiniLM-L6-v2");

fn settings(provider: EmbeddingProvider, model_dir: &str) -> EmbeddingSettings {
    EmbeddingSettings {
        provider,
        model_dir: model_dir.into(),
        batch_size: 8,
        base_url: "http://127.0.0.1:9/v1".to_owned(),
        model: "nomic-embed-text".to_owned(),
        api_key: SecretString::from(""),
        request_timeout_ms: 1_000,
    }
}

#[tokio::test]
async fn local_runs_the_model_from_the_folder() {
    let embedder = from_settings(&settings(EmbeddingProvider::Local, MODEL_DIR)).expect("model present");
    assert_eq!(embedder.model_name(), "all-MiniLM-L6-v2");
    let texts: Vec<String> = (0..10).map(|i| format!("Apply {i} drops.")).collect();
    let vectors = embedder.embed(&texts).await.expect("embedding succeeds");
    assert_eq!(vectors.len(), texts.len(), "batches of 8 cover all 10 texts");
}

#[test]
fn local_without_the_model_says_how_to_get_it() {
    let folder = "/nonexistent/recete/models/all-MiniLM-L6-v2";
    let error = from_settings(&settings(EmbeddingProvider::Local, folder)).err().expect("no model there");
    assert!(
        matches!(&error, EmbedError::Model(message) if message.contains(folder) && message.contains("make models"))
    );
}

#[test]
fn openai_uses_the_configured_model_without_touching_the_disk() {
    let embedder = from_settings(&settings(EmbeddingProvider::Openai, "/nonexistent")).expect("valid settings");
    assert_eq!(embedder.model_name(), "nomic-embed-text");
}
