//! A cache shared by every audit of the process, with one computation in flight per key: when
//! a thousand sites of one zone (or one CA's CRL) are audited at once, the first computes and the
//! others wait for its answer instead of asking the same servers a thousand times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

type Slot<V> = Arc<tokio::sync::Mutex<Option<(Instant, V)>>>;

/// Beyond this many keys, expired entries are swept on insert, so memory follows the keys in
/// use rather than every key ever seen.
const SWEEP_ABOVE: usize = 4096;

/// Values by key, each valid until the expiry its computation chose.
pub struct SharedCache<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
}

impl<V> Default for SharedCache<V> {
    fn default() -> Self {
        SharedCache {
            slots: Mutex::default(),
        }
    }
}

impl<V: Clone> SharedCache<V> {
    /// The cached value for `key` if still fresh, else the value `compute` returns (with how
    /// long it stays fresh). Returns `None` only when `deadline` passes while another audit is
    /// computing the same key.
    pub async fn get_or_compute<F, Fut>(&self, key: &str, deadline: Instant, compute: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = (V, Duration)>,
    {
        let slot = self.slot(key);
        let mut guard = tokio::time::timeout_at(deadline, slot.lock()).await.ok()?;
        if let Some((expires, value)) = guard.as_ref() {
            if *expires > Instant::now() {
                return Some(value.clone());
            }
        }
        let (value, fresh_for) = compute().await;
        *guard = Some((Instant::now() + fresh_for, value.clone()));
        Some(value)
    }

    /// How many keys are held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.slots.lock().map(|slots| slots.len()).unwrap_or_default()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, key: &str) -> Slot<V> {
        let Ok(mut slots) = self.slots.lock() else {
            // A poisoned map only loses sharing: compute alone.
            return Arc::default();
        };
        if slots.len() > SWEEP_ABOVE && !slots.contains_key(key) {
            let now = Instant::now();
            slots.retain(|_, slot| match slot.try_lock() {
                Ok(guard) => guard.as_ref().is_some_and(|(expires, _)| *expires > now),
                Err(_) => true,
            });
        }
        slots.entry(key.to_string()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_computation() {
        let cache: Arc<SharedCache<u32>> = Arc::default();
        let computed = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(10);
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
        let callers: Vec<_> = (0..16)
            .map(|_| {
                let cache = cache.clone();
                let computed = computed.clone();
                let mut gate = gate_rx.clone();
                tokio::spawn(async move {
                    cache
                        .get_or_compute("zone.vn", deadline, || async move {
                            computed.fetch_add(1, Ordering::SeqCst);
                            // Hold the computation open until every caller has been spawned.
                            let _ = gate.wait_for(|open| *open).await;
                            (7, Duration::from_secs(60))
                        })
                        .await
                })
            })
            .collect();
        gate_tx.send_replace(true);
        for caller in callers {
            assert_eq!(caller.await.expect("joined"), Some(7));
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_expired_value_is_computed_again() {
        let cache: SharedCache<u32> = SharedCache::default();
        let deadline = Instant::now() + Duration::from_secs(10);
        let first = cache
            .get_or_compute("k", deadline, || async { (1, Duration::ZERO) })
            .await;
        let second = cache
            .get_or_compute("k", deadline, || async { (2, Duration::from_secs(60)) })
            .await;
        let third = cache
            .get_or_compute("k", deadline, || async { (3, Duration::from_secs(60)) })
            .await;
        assert_eq!((first, second, third), (Some(1), Some(2), Some(2)));
    }
}
