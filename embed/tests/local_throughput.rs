//! How many product-text chunks the local model embeds per second on this machine. Printed, not
//! asserted: the figure depends on the hardware; the benchmark harness tracks it.

use std::time::Instant;

use recete_embed::LocalMiniLm;
use recete_knowledge::{DIMENSIONS, Embedder};

const MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/all-MiniLM-L6-v2");
const CHUNKS: usize = 128;
const WORDS_PER_CHUNK: usize = 60;
const BATCH_SIZE: usize = 32;

/// Chunks of product-page prose, each different, cut from a looping run of sentences.
fn chunks() -> Vec<String> {
    let sentences = [
        "Apply two pumps to damp hair and comb through from roots to ends.",
        "The formula contains niacinamide, panthenol and hyaluronic acid for lasting hydration.",
        "Avoid contact with eyes; if it happens, rinse with plenty of lukewarm water.",
        "Suitable for sensitive skin and tested under dermatological supervision.",
        "Store in a cool, dry place away from direct sunlight and use within twelve months of opening.",
        "Each bottle holds 50 ml, enough for about two months of daily use.",
        "Do not use on broken or irritated skin, and stop if redness persists.",
        "Our packaging is made from 80% recycled plastic and can be recycled again.",
    ];
    let words: Vec<&str> = sentences.iter().flat_map(|sentence| sentence.split_whitespace()).collect();
    (0..CHUNKS)
        .map(|chunk| {
            let start = chunk * 7;
            let text: Vec<&str> = (0..WORDS_PER_CHUNK).map(|i| words[(start + i) % words.len()]).collect();
            format!("Chunk {chunk}: {}", text.join(" "))
        })
        .collect()
}

#[tokio::test]
async fn local_throughput_is_measured() {
    let embedder = LocalMiniLm::shared(MODEL_DIR)
        .expect("the model files are present (run `bash scripts/models.sh`)")
        .with_batch_size(BATCH_SIZE);
    let chunks = chunks();
    // One warm-up batch: first-call allocations are not throughput.
    embedder.embed(&chunks[..BATCH_SIZE]).await.expect("warm-up embedding");

    let started = Instant::now();
    let vectors = embedder.embed(&chunks).await.expect("embedding succeeds");
    let elapsed = started.elapsed();

    assert_eq!(vectors.len(), CHUNKS);
    assert!(vectors.iter().all(|vector| vector.len() == DIMENSIONS));
    println!(
        "local embedding throughput: {:.1} chunks/s ({CHUNKS} chunks of ~{WORDS_PER_CHUNK} words, batch {BATCH_SIZE}, \
         {:.2} s)",
        CHUNKS as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}
