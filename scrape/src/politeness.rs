//! Spacing requests to one origin by the crawl-delay its robots.txt asks for.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Hands out request slots per origin, `delay` apart. Concurrent scrapes of one shop queue up
/// behind each other instead of arriving together.
pub(crate) struct CrawlGate {
    next_slot: Mutex<HashMap<String, Instant>>,
    capacity: usize,
}

impl CrawlGate {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { next_slot: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    /// Waits until this origin may be asked again, and books the following slot.
    pub(crate) async fn wait_turn(&self, origin: &str, delay: Duration) {
        if delay.is_zero() {
            return;
        }
        let slot = self.book(origin, delay, Instant::now());
        tokio::time::sleep_until(slot.into()).await;
    }

    fn book(&self, origin: &str, delay: Duration, now: Instant) -> Instant {
        let mut next_slot = self.next_slot.lock().unwrap_or_else(PoisonError::into_inner);
        if next_slot.len() >= self.capacity && !next_slot.contains_key(origin) {
            // Origins whose next slot has passed impose no wait, so forgetting them changes nothing.
            next_slot.retain(|_, slot| *slot > now);
        }
        let slot = next_slot.get(origin).copied().filter(|slot| *slot > now).unwrap_or(now);
        if next_slot.len() < self.capacity || next_slot.contains_key(origin) {
            next_slot.insert(origin.to_owned(), slot + delay);
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_to_one_origin_are_spaced_by_the_delay() {
        let gate = CrawlGate::new(16);
        let now = Instant::now();
        let delay = Duration::from_secs(2);
        assert_eq!(gate.book("https://a.example", delay, now), now);
        assert_eq!(gate.book("https://a.example", delay, now), now + delay);
        assert_eq!(gate.book("https://a.example", delay, now), now + delay * 2);
        assert_eq!(gate.book("https://b.example", delay, now), now, "other origins do not wait");
        assert_eq!(gate.book("https://a.example", delay, now + delay * 10), now + delay * 10, "old slots lapse");
    }
}
