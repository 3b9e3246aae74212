//! Which texts go through the model together. A batch is padded to its longest text, so texts
//! of similar length are grouped: a product page's short FAQ answers do not pay for its long
//! usage section. Padding never changes a vector, only the work done.

/// Indices into `texts` grouped into batches of at most `batch_size` (at least 1), longest texts
/// first; every index appears exactly once.
pub(crate) fn by_length(texts: &[String], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(texts[index].len()));
    order.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
}

/// `batch` cut into at most `parts` runs of consecutive indices (so each keeps texts of similar
/// length), as even as can be, none empty.
pub(crate) fn split(batch: &[usize], parts: usize) -> Vec<Vec<usize>> {
    if batch.is_empty() {
        return Vec::new();
    }
    let parts = parts.clamp(1, batch.len());
    let (size, larger) = (batch.len() / parts, batch.len() % parts);
    let mut start = 0;
    (0..parts)
        .map(|part| {
            let end = start + size + usize::from(part < larger);
            let run = batch[start..end].to_vec();
            start = end;
            run
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lengths: &[usize]) -> Vec<String> {
        lengths.iter().map(|&n| "x".repeat(n)).collect()
    }

    #[test]
    fn every_text_lands_in_exactly_one_batch_of_bounded_size() {
        let texts = texts(&[5, 1, 9, 3, 7, 2, 8]);
        let batches = by_length(&texts, 3);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 1]);
        let mut seen: Vec<usize> = batches.concat();
        seen.sort_unstable();
        assert_eq!(seen, (0..texts.len()).collect::<Vec<_>>());
    }

    #[test]
    fn similar_lengths_share_a_batch() {
        let texts = texts(&[5, 100, 6, 90]);
        assert_eq!(by_length(&texts, 2), vec![vec![1, 3], vec![2, 0]]);
    }

    #[test]
    fn a_zero_batch_size_still_makes_progress() {
        assert_eq!(by_length(&texts(&[1, 2]), 0), vec![vec![1], vec![0]]);
    }

    #[test]
    fn a_batch_splits_into_even_runs_in_order() {
        assert_eq!(split(&[4, 1, 3, 0, 2], 2), vec![vec![4, 1, 3], vec![0, 2]]);
        assert_eq!(split(&[7, 8], 4), vec![vec![7], vec![8]]);
        assert_eq!(split(&[7, 8], 0), vec![vec![7, 8]]);
        assert!(split(&[], 2).is_empty());
    }

    #[test]
    fn no_texts_no_batches() {
        assert!(by_length(&[], 4).is_empty());
    }
}
