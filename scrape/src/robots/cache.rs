//! Remembers each origin's robots policy for a while, so scraping a shop's catalogue reads its
//! robots.txt once, not once per product.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::RobotsPolicy;

pub(crate) struct RobotsCache {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    /// How long a policy read from the site (or its absence) stays trusted.
    readable_for: Duration,
    /// How long an unreachable robots.txt keeps the site off limits before we ask again; short,
    /// because the site is usually back soon.
    unreachable_for: Duration,
}

struct Entry {
    policy: Arc<RobotsPolicy>,
    expires_at: Instant,
}

impl RobotsCache {
    pub(crate) fn new(capacity: usize, readable_for: Duration, unreachable_for: Duration) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1), readable_for, unreachable_for }
    }

    pub(crate) fn get(&self, origin: &str) -> Option<Arc<RobotsPolicy>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(origin) {
            Some(entry) if entry.expires_at > Instant::now() => Some(Arc::clone(&entry.policy)),
            Some(_) => {
                entries.remove(origin);
                None
            }
            None => None,
        }
    }

    /// Stores a policy; when full, expired entries go first, then the one closest to expiring.
    pub(crate) fn insert(&self, origin: String, policy: Arc<RobotsPolicy>) {
        let now = Instant::now();
        let lifetime = match *policy {
            RobotsPolicy::Unreachable(_) => self.unreachable_for,
            RobotsPolicy::AllowAll | RobotsPolicy::Rules(_) => self.readable_for,
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&origin) {
            entries.retain(|_, entry| entry.expires_at > now);
            if entries.len() >= self.capacity
                && let Some(soonest) =
                    entries.iter().min_by_key(|(_, entry)| entry.expires_at).map(|(origin, _)| origin.clone())
            {
                entries.remove(&soonest);
            }
        }
        entries.insert(origin, Entry { policy, expires_at: now + lifetime });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(600);

    #[test]
    fn stays_within_capacity_by_dropping_the_soonest_to_expire() {
        let cache = RobotsCache::new(2, LONG, Duration::from_secs(60));
        cache.insert("https://a.example".into(), Arc::new(RobotsPolicy::AllowAll));
        cache.insert("https://b.example".into(), Arc::new(RobotsPolicy::Unreachable("HTTP 503".into())));
        cache.insert("https://c.example".into(), Arc::new(RobotsPolicy::AllowAll));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("https://b.example").is_none(), "the unreachable entry expires first, so it went");
        assert!(cache.get("https://a.example").is_some());
        assert!(cache.get("https://c.example").is_some());
    }

    #[test]
    fn expired_policies_are_fetched_again() {
        let cache = RobotsCache::new(8, Duration::ZERO, Duration::ZERO);
        cache.insert("https://a.example".into(), Arc::new(RobotsPolicy::AllowAll));
        assert!(cache.get("https://a.example").is_none());
        assert_eq!(cache.len(), 0, "reading an expired entry removes it");
    }
}
