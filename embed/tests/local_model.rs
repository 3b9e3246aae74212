//! The real all-MiniLM-L6-v2 weights (fetched by `bash scripts/models.sh`) run through
//! `LocalMiniLm`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use recete_embed::{LocalMiniLm, MAX_TOKENS, MODEL_NAME};
use recete_knowledge::embedder::cosine;
use recete_knowledge::{DIMENSIONS, EmbedError, Embedder};

const MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/all-MiniLM-L6-v2");

fn model() -> Arc<LocalMiniLm> {
    LocalMiniLm::shared(MODEL_DIR).expect("the model files are present (run `bash scripts/models.sh`)")
}

fn owned(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| (*text).to_owned()).collect()
}

async fn embed_with(embedder: &LocalMiniLm, texts: &[&str]) -> Vec<Vec<f32>> {
    embedder.embed(&owned(texts)).await.expect("local embedding succeeds")
}

async fn embed(texts: &[&str]) -> Vec<Vec<f32>> {
    embed_with(&model(), texts).await
}

fn norm(vector: &[f32]) -> f32 {
    vector.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A scratch folder of this test binary, emptied first.
fn scratch_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("recete-embed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create scratch folder");
    folder
}

#[tokio::test]
async fn every_text_gets_a_unit_vector_of_the_stored_width() {
    let texts = ["Apply four drops to clean skin every morning.", "", "Ürün 30 ml'dir; güneşten uzak tutun."];
    let vectors = embed(&texts).await;
    assert_eq!(vectors.len(), texts.len());
    for vector in &vectors {
        assert_eq!(vector.len(), DIMENSIONS);
        assert!((norm(vector) - 1.0).abs() < 1e-5, "norm {}", norm(vector));
        assert!(vector.iter().all(|x| x.is_finite()));
    }
    assert!(max_difference(&vectors[0], &vectors[2]) > 0.01, "different texts, different vectors");
}

/// The similarities sentence-transformers documents for all-MiniLM-L6-v2 on these sentences.
#[tokio::test]
async fn similarities_match_sentence_transformers() {
    let vectors = embed(&["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]).await;
    let published = [((0, 1), 0.6660), ((0, 2), 0.1046), ((1, 2), 0.1411)];
    for ((a, b), expected) in published {
        let similarity = cosine(&vectors[a], &vectors[b]);
        assert!((similarity - expected).abs() < 0.002, "pair {a}-{b}: {similarity} vs {expected}");
    }
}

#[tokio::test]
async fn answers_score_above_unrelated_product_text() {
    // (question, the sentence that answers it, a sentence from the same catalogue that does not)
    let cases = [
        (
            "How many drops of the serum should I use?",
            "Apply four drops to clean skin every morning.",
            "The sunscreen is water resistant for 40 minutes.",
        ),
        (
            "Is this cream safe during pregnancy?",
            "Consult your doctor before using this product if you are pregnant or breastfeeding.",
            "Ships in recyclable cardboard packaging.",
        ),
        (
            "Can I use the shampoo every day?",
            "Gentle enough for daily washing of all hair types.",
            "Store below 25 degrees, away from direct sunlight.",
        ),
        (
            "Does the moisturizer contain fragrance?",
            "This moisturizer is fragrance-free and suitable for sensitive skin.",
            "Take two capsules with water after a meal.",
        ),
    ];
    for (question, answer, unrelated) in cases {
        let vectors = embed(&[question, answer, unrelated]).await;
        let related = cosine(&vectors[0], &vectors[1]);
        let unrelated_score = cosine(&vectors[0], &vectors[2]);
        assert!(related > unrelated_score + 0.15, "{question:?}: answer {related}, unrelated {unrelated_score}");
        assert!((0.35..0.95).contains(&related), "{question:?}: answer {related}");
        assert!(unrelated_score < 0.3, "{question:?}: unrelated {unrelated_score}");
    }
}

#[tokio::test]
async fn padding_in_a_batch_does_not_change_a_vector() {
    let short = "Apply four drops to clean skin every morning.";
    let long = "Our vitamin C serum combines 15% ascorbic acid with ferulic acid and vitamin E. Apply four to \
                five drops to clean, dry skin every morning before moisturiser and sunscreen. A slight tingling \
                is normal for the first days; stop using it if redness lasts longer than an hour.";
    let alone = embed(&[short]).await;
    let batched = embed(&[long, short, long]).await;
    let difference = max_difference(&alone[0], &batched[1]);
    assert!(difference < 1e-4, "padding changed the vector by {difference}");
    assert!(max_difference(&batched[0], &batched[2]) < 1e-4, "same text, same vector");
}

#[tokio::test]
async fn batch_size_and_order_do_not_change_vectors() {
    let texts = [
        "Shake well before use.",
        "Suitable for vegans: no animal-derived ingredients.",
        "Keep out of reach of children.",
        "Apply a thin layer to the face and neck, avoiding the eye area, then massage until absorbed.",
        "Once opened, use within twelve months.",
    ];
    let one_batch = embed(&texts).await;
    let pairs = embed_with(&model().with_batch_size(2), &texts).await;
    for (index, (whole, split)) in one_batch.iter().zip(&pairs).enumerate() {
        assert!(max_difference(whole, split) < 1e-4, "text {index} changed with the batch size");
    }
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    let reversed_vectors = embed(&reversed).await;
    for (index, vector) in one_batch.iter().enumerate() {
        assert!(max_difference(vector, &reversed_vectors[texts.len() - 1 - index]) < 1e-4, "text {index} moved");
    }
}

#[tokio::test]
async fn texts_are_cut_at_the_token_limit_not_refused() {
    // "water", "fire" and "earth" are one token each; with [CLS] and [SEP] the model sees
    // MAX_TOKENS - 2 words.
    let kept_words = MAX_TOKENS - 2;
    let water = "water ".repeat(kept_words);
    let then_fire = format!("{water}{}", "fire ".repeat(300));
    let then_earth = format!("{water}{}", "earth ".repeat(300));
    let one_word_earlier = format!("{}{}", "water ".repeat(kept_words - 1), "fire ".repeat(301));
    let vectors = embed(&[&then_fire, &then_earth, &one_word_earlier]).await;
    assert!((norm(&vectors[0]) - 1.0).abs() < 1e-5);
    let after_the_limit = max_difference(&vectors[0], &vectors[1]);
    assert!(after_the_limit < 1e-4, "words past the limit changed the vector by {after_the_limit}");
    let within_the_limit = max_difference(&vectors[0], &vectors[2]);
    assert!(within_the_limit > 1e-3, "the last kept word did not count ({within_the_limit})");
}

#[tokio::test]
async fn no_texts_no_vectors() {
    assert!(embed(&[]).await.is_empty());
}

#[tokio::test]
async fn the_model_is_named_as_stored() {
    assert_eq!(model().model_name(), MODEL_NAME);
    assert_eq!(MODEL_NAME, "all-MiniLM-L6-v2");
}

#[test]
fn one_folder_is_loaded_once_however_it_is_spelled() {
    let first = model();
    let respelled = format!("{}/../models/./all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    let second = LocalMiniLm::shared(respelled).expect("same folder");
    assert!(Arc::ptr_eq(&first, &second));
}

#[test]
fn a_missing_folder_is_named_with_the_fix() {
    let parent = scratch_folder("missing-folder");
    let missing = parent.join("all-MiniLM-L6-v2");
    let error = LocalMiniLm::shared(&missing).expect_err("no such folder");
    let message = error.to_string();
    assert!(matches!(error, EmbedError::Model(_)), "{error:?}");
    assert!(message.contains(&missing.display().to_string()), "{message}");
    assert!(message.contains("make models"), "{message}");
    let _ = std::fs::remove_dir_all(&parent);
}

#[test]
fn a_missing_weights_file_is_named_with_its_folder() {
    let folder = scratch_folder("no-weights");
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(PathBuf::from(MODEL_DIR).join(file), folder.join(file)).expect("copy model file");
    }
    let message = LocalMiniLm::load(&folder).expect_err("weights missing").to_string();
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains(&folder.display().to_string()), "{message}");
    assert!(message.contains("make models"), "{message}");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn corrupt_weights_are_reported_not_loaded() {
    let folder = scratch_folder("corrupt-weights");
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(PathBuf::from(MODEL_DIR).join(file), folder.join(file)).expect("copy model file");
    }
    std::fs::write(folder.join("model.safetensors"), b"not a safetensors file").expect("write weights");
    let message = LocalMiniLm::load(&folder).expect_err("weights unreadable").to_string();
    assert!(message.contains("model.safetensors") && message.contains("unusable"), "{message}");
    let _ = std::fs::remove_dir_all(&folder);
}

/// Inference runs on blocking threads: a task on a single-threaded runtime keeps running while
/// texts are embedded, which it could not if the model ran on the runtime's thread.
#[test]
fn inference_leaves_the_async_runtime_free() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticks_during = runtime.block_on(async {
        let counter = Arc::clone(&ticks);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(2)).await;
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let texts: Vec<String> =
            (0..16).map(|i| format!("Sentence number {i} about applying the night cream evenly.")).collect();
        let embedder = model().with_batch_size(16);
        let before = ticks.load(Ordering::Relaxed);
        embedder.embed(&texts).await.expect("embedding succeeds");
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        during
    });
    assert!(ticks_during >= 3, "the runtime thread was blocked: {ticks_during} ticks during inference");
}
