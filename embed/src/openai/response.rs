//! Reading an `/embeddings` response and checking it before any vector is stored: one vector per
//! text, each of [`DIMENSIONS`] floats, made unit length. Only `data[].embedding` and the
//! optional `data[].index` are read, since compatible servers differ in everything else
//! (`usage`, `object`, `model`).

use recete_knowledge::{DIMENSIONS, EmbedError};
use serde::Deserialize;

use crate::pooling;

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    /// Position of the input this vector belongs to; absent means "in input order".
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

/// The vectors of a successful response to a request for `expected` texts, in input order.
pub(super) fn vectors(body: &[u8], expected: usize, endpoint: &str) -> Result<Vec<Vec<f32>>, EmbedError> {
    let response: EmbeddingsResponse = serde_json::from_slice(body).map_err(|e| EmbedError::Remote {
        message: format!("unreadable embeddings response from {endpoint}: {e}"),
        retryable: false,
    })?;
    if response.data.len() != expected {
        return Err(EmbedError::Count { expected, got: response.data.len() });
    }
    let mut ordered: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (position, item) in response.data.into_iter().enumerate() {
        if item.embedding.len() != DIMENSIONS {
            return Err(EmbedError::Dimensions { expected: DIMENSIONS, got: item.embedding.len() });
        }
        let index = item.index.unwrap_or(position);
        let slot = ordered.get_mut(index).filter(|slot| slot.is_none()).ok_or_else(|| EmbedError::Remote {
            message: format!("embeddings response from {endpoint} has index {index} out of range or repeated"),
            retryable: false,
        })?;
        let mut vector = item.embedding;
        pooling::l2_normalize(&mut vector);
        *slot = Some(vector);
    }
    // Every slot is filled: as many items as slots, each in a distinct one.
    Ok(ordered.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENDPOINT: &str = "http://embeddings.test/v1/embeddings";

    fn item(index: Option<usize>, first: f32, dimensions: usize) -> serde_json::Value {
        let mut embedding = vec![0f32; dimensions];
        embedding[0] = first;
        match index {
            Some(index) => json!({ "index": index, "embedding": embedding }),
            None => json!({ "embedding": embedding }),
        }
    }

    fn body(items: Vec<serde_json::Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({ "data": items })).expect("serialise")
    }

    #[test]
    fn vectors_follow_their_index_and_are_normalised() {
        let body = body(vec![item(Some(1), 2.0, DIMENSIONS), item(Some(0), -3.0, DIMENSIONS)]);
        let vectors = vectors(&body, 2, ENDPOINT).expect("valid response");
        assert_eq!(vectors[0][0], -1.0);
        assert_eq!(vectors[1][0], 1.0);
    }

    #[test]
    fn without_indices_input_order_is_kept() {
        let body = body(vec![item(None, 2.0, DIMENSIONS), item(None, -2.0, DIMENSIONS)]);
        let vectors = vectors(&body, 2, ENDPOINT).expect("valid response");
        assert_eq!((vectors[0][0], vectors[1][0]), (1.0, -1.0));
    }

    #[test]
    fn repeated_or_out_of_range_indices_are_refused() {
        let repeated = body(vec![item(Some(0), 1.0, DIMENSIONS), item(Some(0), 1.0, DIMENSIONS)]);
        assert!(matches!(vectors(&repeated, 2, ENDPOINT), Err(EmbedError::Remote { retryable: false, .. })));
        let out_of_range = body(vec![item(Some(5), 1.0, DIMENSIONS)]);
        assert!(matches!(vectors(&out_of_range, 1, ENDPOINT), Err(EmbedError::Remote { retryable: false, .. })));
    }

    #[test]
    fn wrong_count_and_dimensions_are_named() {
        let one = body(vec![item(Some(0), 1.0, DIMENSIONS)]);
        assert!(matches!(vectors(&one, 2, ENDPOINT), Err(EmbedError::Count { expected: 2, got: 1 })));
        let short = body(vec![item(Some(0), 1.0, 1536)]);
        assert!(matches!(
            vectors(&short, 1, ENDPOINT),
            Err(EmbedError::Dimensions { expected: DIMENSIONS, got: 1536 })
        ));
    }

    #[test]
    fn a_body_without_data_is_unreadable() {
        let error = vectors(br#"{"object":"list"}"#, 1, ENDPOINT).expect_err("no data");
        assert!(error.to_string().contains(ENDPOINT), "{error}");
        assert!(!error.is_retryable());
    }
}
