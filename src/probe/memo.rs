//! A small, bounded map of recent answers that are pure functions of their key (a parsed
//! certificate, a verified chain), each with its own expiry. Many sites present the same
//! certificate (a province's wildcard, the same chain on IPv4 and IPv6), and parsing and
//! verifying it again for every address was a tenth of a `check`'s CPU.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

/// Recent answers by key. Never grows past its capacity: when full, expired entries go, and if
/// that frees nothing the whole map is dropped (answers are cheap to recompute).
pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub fn new(capacity: usize) -> Memo<K, V> {
        Memo {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The answer for `key`, if one is stored and has not expired at `now`.
    pub fn get<Q>(&self, key: &Q, now: Instant) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(value, _)| value.clone())
    }

    /// Stores `value` for `key` until `until`.
    pub fn put(&self, key: K, value: V, until: Instant, now: Instant) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, expiry)| *expiry > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, until));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|entries| entries.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_expire_and_the_map_never_outgrows_its_capacity() {
        let memo: Memo<u32, &str> = Memo::new(3);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        memo.put(1, "one", later, now);
        assert_eq!(memo.get(&1, now), Some("one"));
        assert_eq!(memo.get(&1, later), None, "expired at its own deadline");
        for key in 2..=10 {
            memo.put(key, "x", later, now);
            assert!(memo.len() <= 3);
        }
        assert_eq!(memo.get(&10, now), Some("x"), "the newest answer is kept");
        // Full, then all of them expired: the expired ones make room.
        memo.put(11, "x", later, now);
        memo.put(12, "x", later, now);
        assert_eq!(memo.len(), 3);
        let much_later = later + Duration::from_secs(1);
        memo.put(13, "y", much_later + Duration::from_secs(60), much_later);
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.get(&13, much_later), Some("y"));
    }
}
