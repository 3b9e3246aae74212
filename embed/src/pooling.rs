//! Turning per-token hidden states into one sentence vector the way sentence-transformers does for
//! all-MiniLM-L6-v2 (mean over the real tokens, then unit length), so stored vectors stay
//! comparable with that model's published behaviour.

use candle_core::{D, DType, Tensor};

/// sentence-transformers divides by the token count clamped to this, so an all-padding row
/// (which the tokenizer never produces) cannot divide by zero.
const MIN_TOKEN_COUNT: f64 = 1e-9;

/// The smallest norm divided by, as in `torch.nn.functional.normalize`: a zero vector stays zero.
const MIN_NORM: f32 = 1e-12;

/// Mean of `hidden` (batch × tokens × width) over the positions where `mask` (batch × tokens)
/// is 1; padding positions contribute nothing.
pub(crate) fn masked_mean(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(MIN_TOKEN_COUNT, f64::MAX)?;
    summed.broadcast_div(&counts)
}

/// Each row scaled to unit L2 norm.
pub(crate) fn l2_normalize_rows(rows: &Tensor) -> candle_core::Result<Tensor> {
    let norms = rows.to_dtype(DType::F32)?.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(MIN_NORM, f32::MAX)?;
    rows.broadcast_div(&norms)
}

/// Scales `vector` to unit L2 norm in place; vectors from remote endpoints are not trusted to be.
pub(crate) fn l2_normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(MIN_NORM);
    vector.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn masked_mean_ignores_padding_positions() {
        // Two sentences of width 2: the first has two real tokens, the second one real token
        // followed by padding whose hidden state is large and must not leak into the mean.
        let hidden = Tensor::new(&[[[1f32, 2.], [3., 4.]], [[5., 6.], [100., 100.]]], &Device::Cpu).expect("tensor");
        let mask = Tensor::new(&[[1u32, 1], [1, 0]], &Device::Cpu).expect("mask");
        let pooled = masked_mean(&hidden, &mask).expect("pooling").to_vec2::<f32>().expect("rows");
        assert!(close(&pooled[0], &[2., 3.]), "{pooled:?}");
        assert!(close(&pooled[1], &[5., 6.]), "{pooled:?}");
    }

    #[test]
    fn rows_become_unit_length_and_keep_direction() {
        let rows = Tensor::new(&[[3f32, 4.], [0., 0.]], &Device::Cpu).expect("tensor");
        let normalized = l2_normalize_rows(&rows).expect("normalise").to_vec2::<f32>().expect("rows");
        assert!(close(&normalized[0], &[0.6, 0.8]), "{normalized:?}");
        assert!(close(&normalized[1], &[0., 0.]), "a zero row stays zero: {normalized:?}");
    }

    #[test]
    fn slices_become_unit_length() {
        let mut vector = vec![0f32, 5., 12.];
        l2_normalize(&mut vector);
        assert!(close(&vector, &[0., 5. / 13., 12. / 13.]), "{vector:?}");
        let mut zero = vec![0f32; 3];
        l2_normalize(&mut zero);
        assert!(close(&zero, &[0., 0., 0.]), "{zero:?}");
    }
}
