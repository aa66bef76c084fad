//! A cache shared by every audit of the process, with one computation in flight per key: when
//! a thousand sites of one zone (or one CA's CRL) are audited at once, the first computes and the
//! others wait for its answer instead of asking the same servers a thousand times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

type Slot<V> = Arc<SlotState<V>>;

/// One key: its value, the right to compute it, and a wake-up for everyone waiting on it.
/// Waiters are all woken at once when the value lands: queued on the computing lock instead,
/// each took the lock in turn, and a thousand sites of one zone handed it along one task
/// wake-up at a time, until the last ones passed their deadline.
struct SlotState<V> {
    value: Mutex<Option<(Instant, V)>>,
    computing: tokio::sync::Mutex<()>,
    done: tokio::sync::Notify,
}

impl<V> Default for SlotState<V> {
    fn default() -> Self {
        SlotState {
            value: Mutex::new(None),
            computing: tokio::sync::Mutex::new(()),
            done: tokio::sync::Notify::new(),
        }
    }
}

impl<V: Clone> SlotState<V> {
    fn fresh(&self, now: Instant) -> Option<V> {
        let value = self.value.lock().ok()?;
        value
            .as_ref()
            .filter(|(expires, _)| *expires > now)
            .map(|(_, value)| value.clone())
    }

    /// Whether the slot is worth keeping: fresh, or being computed right now.
    fn live(&self, now: Instant) -> bool {
        let fresh = self
            .value
            .lock()
            .map(|value| value.as_ref().is_some_and(|(expires, _)| *expires > now))
            .unwrap_or(false);
        fresh || self.computing.try_lock().is_err()
    }
}

/// Wakes the waiters when a computation ends, finished or dropped (a cancelled audit), so they
/// never wait on a computation nobody is running.
struct WakeOnDrop<'a>(&'a tokio::sync::Notify);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.notify_waiters();
    }
}

/// Beyond this many keys, expired entries are swept on insert, so memory follows the keys in
/// use rather than every key ever seen.
const SWEEP_ABOVE: usize = 4096;

/// Values by key, each valid until the expiry its computation chose.
pub struct SharedCache<V> {
    slots: Mutex<Slots<V>>,
}

struct Slots<V> {
    map: HashMap<String, Slot<V>>,
    /// The size at which the next sweep runs: twice what the last one kept, so sweeping stays
    /// amortised O(1) per insert even when every key is fresh (10,000 sites' names in one
    /// round made each insert sweep the whole map: a sixth of the daemon's CPU).
    sweep_at: usize,
    /// Sweeps so far (for tests).
    sweeps: usize,
}

impl<V> Default for SharedCache<V> {
    fn default() -> Self {
        SharedCache {
            slots: Mutex::new(Slots {
                map: HashMap::new(),
                sweep_at: SWEEP_ABOVE,
                sweeps: 0,
            }),
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
        let mut compute = Some(compute);
        loop {
            if let Some(value) = slot.fresh(Instant::now()) {
                return Some(value);
            }
            // Registered before trying to compute, so an answer landing in between is not missed.
            let landed = slot.done.notified();
            tokio::pin!(landed);
            landed.as_mut().enable();
            match slot.computing.try_lock() {
                Ok(computing) => {
                    // Declared in this order so the lock is released before the waiters wake.
                    let _wake = WakeOnDrop(&slot.done);
                    let _computing = computing;
                    if let Some(value) = slot.fresh(Instant::now()) {
                        return Some(value);
                    }
                    let compute = compute.take()?;
                    let (value, fresh_for) = compute().await;
                    if let Ok(mut stored) = slot.value.lock() {
                        *stored = Some((Instant::now() + fresh_for, value.clone()));
                    }
                    return Some(value);
                }
                Err(_) => tokio::time::timeout_at(deadline, landed).await.ok()?,
            }
        }
    }

    /// How many keys are held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.slots.lock().map(|slots| slots.map.len()).unwrap_or_default()
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
        if slots.map.len() >= slots.sweep_at && !slots.map.contains_key(key) {
            let now = Instant::now();
            slots.map.retain(|_, slot| slot.live(now));
            slots.sweep_at = (2 * slots.map.len()).max(SWEEP_ABOVE);
            slots.sweeps += 1;
        }
        slots.map.entry(key.to_string()).or_default().clone()
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
    async fn many_fresh_keys_are_swept_rarely_and_expired_ones_leave() {
        let cache: SharedCache<u32> = SharedCache::default();
        let deadline = Instant::now() + Duration::from_secs(10);
        for i in 0..5 * SWEEP_ABOVE {
            let key = format!("t{i}.perf.lab.gov.vn");
            cache
                .get_or_compute(&key, deadline, || async { (1, Duration::from_secs(60)) })
                .await;
        }
        let sweeps = cache.slots.lock().map(|slots| slots.sweeps).unwrap_or(usize::MAX);
        assert!(sweeps <= 3, "{sweeps} sweeps for {} fresh keys", 5 * SWEEP_ABOVE);
        assert_eq!(cache.len(), 5 * SWEEP_ABOVE);

        let expiring: SharedCache<u32> = SharedCache::default();
        for i in 0..2 * SWEEP_ABOVE {
            let key = format!("e{i}");
            expiring
                .get_or_compute(&key, deadline, || async { (1, Duration::ZERO) })
                .await;
        }
        assert!(expiring.len() <= SWEEP_ABOVE, "expired keys kept: {}", expiring.len());
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

    #[tokio::test]
    async fn a_computation_dropped_midway_leaves_the_waiters_to_compute() {
        let cache: Arc<SharedCache<u32>> = Arc::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let abandoned = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_compute("zone.vn", deadline, || async move {
                        let _ = started_tx.send(());
                        std::future::pending::<(u32, Duration)>().await
                    })
                    .await
            })
        };
        started_rx.await.expect("the first computation started");
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_compute("zone.vn", deadline, || async { (9, Duration::from_secs(60)) })
                    .await
            })
        };
        abandoned.abort();
        assert_eq!(waiter.await.expect("joined"), Some(9), "the waiter computed it itself");
    }
}
