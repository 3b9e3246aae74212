//! Percentiles of latency samples in milliseconds, and the table rows the benchmarks print.

/// The sample at `share` (0 to 1) of `sorted`, nearest rank; NaN when there is none.
pub fn percentile(sorted: &[f64], share: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// The header of the rows [`row`] prints.
pub fn header() {
    println!("{:<44} {:>5} {:>9} {:>9} {:>9}", "measure", "n", "p50 ms", "p99 ms", "max ms");
}

/// Prints `name`, the count, p50, p99 and the maximum of `millis`; returns p50 and p99.
pub fn row(name: &str, mut millis: Vec<f64>) -> (f64, f64) {
    millis.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&millis, 0.5), percentile(&millis, 0.99));
    println!(
        "{name:<44} {:>5} {p50:>9.1} {p99:>9.1} {:>9.1}",
        millis.len(),
        millis.last().copied().unwrap_or(f64::NAN)
    );
    (p50, p99)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.5), 51.0);
        assert_eq!(percentile(&samples, 0.99), 99.0);
        assert_eq!(percentile(&samples, 1.0), 100.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
