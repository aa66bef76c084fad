//! Limits that keep a sweep of thousands of sites from looking like an attack on the few
//! hosting servers and name servers they share: at most N connections at once to one server
//! address, and at most Q DNS queries per second to one zone's authoritative server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The limits as the command line or config sets them; `None` means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PolitenessSettings {
    /// Connections open at once to one server address (every port, every probe).
    pub per_address_connections: Option<usize>,
    /// DNS queries per second attributed to one authoritative server address.
    pub per_nameserver_qps: Option<f64>,
}

/// Beyond this many idle entries a map is swept, so memory follows the servers in use.
const SWEEP_ABOVE: usize = 4096;

/// One semaphore per server address, shared by every audit of the process.
pub struct AddressGate {
    limit: Option<usize>,
    gates: KeyedGate<IpAddr>,
}

/// Held for as long as the connection (or the audit) it was taken for is open.
pub struct ConnectionPermit {
    _permit: Option<OwnedSemaphorePermit>,
}

impl AddressGate {
    pub fn new(limit: Option<usize>) -> AddressGate {
        AddressGate {
            limit: limit.filter(|n| *n > 0),
            gates: KeyedGate::default(),
        }
    }

    /// Waits for a free slot to `ip`; `None` when `deadline` passes first.
    pub async fn acquire(&self, ip: IpAddr, deadline: Instant) -> Option<ConnectionPermit> {
        match self.limit {
            Some(limit) => self.gates.acquire(ip, limit, deadline).await,
            None => Some(ConnectionPermit { _permit: None }),
        }
    }
}

/// A semaphore per key, each created with the limit its first caller names.
pub struct KeyedGate<K> {
    gates: Mutex<HashMap<K, Arc<Semaphore>>>,
}

impl<K> Default for KeyedGate<K> {
    fn default() -> Self {
        KeyedGate {
            gates: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> KeyedGate<K> {
    /// Waits for one of `limit` slots of `key`; `None` when `deadline` passes first.
    pub async fn acquire(&self, key: K, limit: usize, deadline: Instant) -> Option<ConnectionPermit> {
        let semaphore = {
            let Ok(mut gates) = self.gates.lock() else {
                return Some(ConnectionPermit { _permit: None });
            };
            if gates.len() >= SWEEP_ABOVE && !gates.contains_key(&key) {
                // Only this map holds an idle gate: nobody waits on it or holds a permit.
                gates.retain(|_, gate| Arc::strong_count(gate) > 1);
            }
            gates
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(limit.max(1))))
                .clone()
        };
        match tokio::time::timeout_at(deadline, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Some(ConnectionPermit { _permit: Some(permit) }),
            _ => None,
        }
    }
}

/// A stream that gives its connection slot back when it is dropped: hyper, rustls and the raw
/// probes all own their stream, so the permit travels with it.
pub struct PoliteStream<S> {
    stream: S,
    _permit: ConnectionPermit,
}

impl<S> PoliteStream<S> {
    pub fn new(stream: S, permit: ConnectionPermit) -> PoliteStream<S> {
        PoliteStream {
            stream,
            _permit: permit,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for PoliteStream<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for PoliteStream<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The process's connection limit. One per process, not per prober: the servers see the
/// process, and every probe (HTTP, TLS scans, SMTP, the raw TLS clients) connects through
/// [`connect`] without having to carry the gate through its arguments.
static GATE: std::sync::RwLock<Option<Arc<AddressGate>>> = std::sync::RwLock::new(None);

/// Sets the limit every later [`connect`] of the process obeys (a prober's settings).
pub fn limit_connections(limit: Option<usize>) {
    if let Ok(mut gate) = GATE.write() {
        *gate = limit.map(|limit| Arc::new(AddressGate::new(Some(limit))));
    }
}

/// A TCP connection to `address` once a slot to its server is free; `socket`, when given,
/// is a prepared socket (an MSS set) to connect with.
pub async fn connect(
    address: std::net::SocketAddr,
    socket: Option<tokio::net::TcpSocket>,
) -> std::io::Result<PoliteStream<tokio::net::TcpStream>> {
    let gate = GATE.read().ok().and_then(|gate| gate.clone());
    let permit = match gate {
        // The caller's own deadline bounds the wait; this one only keeps the future finite.
        Some(gate) => gate
            .acquire(address.ip(), Instant::now() + Duration::from_secs(3600))
            .await
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "no free connection slot"))?,
        None => ConnectionPermit { _permit: None },
    };
    let stream = match socket {
        Some(socket) => socket.connect(address).await?,
        None => tokio::net::TcpStream::connect(address).await?,
    };
    Ok(PoliteStream::new(stream, permit))
}

/// Who a query is counted against: a server of the zone, or (until the zone's servers are
/// known) the zone's name itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum PaceKey {
    Server(IpAddr),
    Zone(String),
}

/// Spaces DNS queries so that no authoritative server is asked more than `qps` times a
/// second by this process. A query goes to the resolver, but a recursive resolver passes each
/// new name on to the zone's servers, so it is counted against them; a zone with several
/// servers takes its queries on whichever is free first.
#[derive(Default)]
pub struct QueryPacer {
    interval: Option<Duration>,
    zones: Mutex<HashMap<String, Arc<[IpAddr]>>>,
    next_free: Mutex<HashMap<PaceKey, Instant>>,
    /// Questions asked lately: the resolver answers a repeat from its cache, so it is not
    /// paced (a sweep's sites of one zone ask the zone's MX, SPF and CAA once between them).
    asked: Mutex<Asked>,
}

/// Questions by (name, type) and when they were last sent, swept as they age out.
#[derive(Default)]
struct Asked {
    at: HashMap<(String, u32), Instant>,
    sweep_at: usize,
}

/// How long the resolver keeps an answer (its cache's cap, `positive_max_ttl`).
const ANSWERS_CACHED_FOR: Duration = Duration::from_secs(30);

impl QueryPacer {
    pub fn new(qps: Option<f64>) -> QueryPacer {
        QueryPacer {
            interval: qps
                .filter(|q| q.is_finite() && *q > 0.0)
                .map(|q| Duration::from_secs_f64(1.0 / q)),
            ..QueryPacer::default()
        }
    }

    /// Remembers which servers answer for `apex`, once its name servers' addresses are known.
    pub fn learn(&self, apex: &str, servers: Vec<IpAddr>) {
        if self.interval.is_none() || servers.is_empty() {
            return;
        }
        let apex = apex.trim_end_matches('.').to_ascii_lowercase();
        // Queries sent before the servers were known were counted against the zone's guessed
        // name: their turns carry over, so learning never doubles the rate.
        if let Ok(mut next_free) = self.next_free.lock() {
            let guessed = PaceKey::Zone(crate::model::target::site_domain(&apex));
            if let Some(busy_until) = next_free.get(&guessed).copied() {
                for ip in &servers {
                    let slot = next_free.entry(PaceKey::Server(*ip)).or_insert(busy_until);
                    *slot = (*slot).max(busy_until);
                }
            }
        }
        if let Ok(mut zones) = self.zones.lock() {
            zones.insert(apex, servers.into());
        }
    }

    /// Waits for the turn of the question (`name`, `question`: the record type, plus a flag
    /// for the validating resolver's own cache); `false` when its turn would come after
    /// `deadline`. A question asked in the last half minute goes through at once.
    pub async fn pace(&self, name: &str, question: u32, deadline: Instant) -> bool {
        let Some(interval) = self.interval else {
            return true;
        };
        if self.recently_asked(name, question) {
            return true;
        }
        let keys = self.keys_for(name);
        let turn = {
            let Ok(mut next_free) = self.next_free.lock() else {
                return true;
            };
            let now = Instant::now();
            if next_free.len() >= SWEEP_ABOVE {
                next_free.retain(|_, free| *free > now);
            }
            let Some((key, turn)) = keys
                .into_iter()
                .map(|key| {
                    let free = next_free.get(&key).copied().unwrap_or(now).max(now);
                    (key, free)
                })
                .min_by_key(|(_, free)| *free)
            else {
                return true;
            };
            if turn > deadline {
                return false;
            }
            next_free.insert(key, turn + interval);
            turn
        };
        if turn > Instant::now() {
            tokio::time::sleep_until(turn).await;
        }
        true
    }

    /// Whether the question was sent lately; records it as sent now when not.
    fn recently_asked(&self, name: &str, question: u32) -> bool {
        let Ok(mut asked) = self.asked.lock() else {
            return false;
        };
        let now = Instant::now();
        let key = (name.trim_end_matches('.').to_ascii_lowercase(), question);
        if asked
            .at
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < ANSWERS_CACHED_FOR)
        {
            return true;
        }
        if asked.at.len() >= asked.sweep_at.max(SWEEP_ABOVE) {
            asked.at.retain(|_, at| now.duration_since(*at) < ANSWERS_CACHED_FOR);
            asked.sweep_at = 2 * asked.at.len();
        }
        asked.at.insert(key, now);
        false
    }

    /// Who `name`'s queries are counted against, as one key, and how many servers that is;
    /// `None` without a limit.
    pub fn servers_of(&self, name: &str) -> Option<(String, usize)> {
        self.interval?;
        let keys = self.keys_for(name);
        let text: Vec<String> = keys
            .iter()
            .map(|key| match key {
                PaceKey::Server(ip) => ip.to_string(),
                PaceKey::Zone(zone) => zone.clone(),
            })
            .collect();
        Some((text.join(","), keys.len()))
    }

    /// Queries per second allowed to one server.
    pub fn per_server_qps(&self) -> Option<f64> {
        self.interval.map(|interval| 1.0 / interval.as_secs_f64())
    }

    /// The servers of the closest enclosing zone known, else that zone's guessed name.
    fn keys_for(&self, name: &str) -> Vec<PaceKey> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(zones) = self.zones.lock() {
            let mut candidate = name.as_str();
            loop {
                if let Some(servers) = zones.get(candidate) {
                    return servers.iter().map(|ip| PaceKey::Server(*ip)).collect();
                }
                match candidate.split_once('.') {
                    Some((_, parent)) => candidate = parent,
                    None => break,
                }
            }
        }
        vec![PaceKey::Zone(crate::model::target::site_domain(&name))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn queries_to_one_server_are_spaced_and_two_servers_share_the_load() {
        let pacer = QueryPacer::new(Some(10.0));
        let deadline = Instant::now() + Duration::from_secs(60);
        let started = Instant::now();
        for n in 0..10 {
            assert!(pacer.pace(&format!("www{n}.a.gov.vn"), 1, deadline).await);
        }
        // Ten queries to one (guessed) server at 10 per second: the tenth waits 0.9 s.
        assert_eq!(started.elapsed(), Duration::from_millis(900));
        pacer.learn(
            "b.gov.vn",
            vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()],
        );
        let started = Instant::now();
        for n in 0..10 {
            assert!(pacer.pace(&format!("www{n}.b.gov.vn"), 1, deadline).await);
        }
        assert_eq!(started.elapsed(), Duration::from_millis(400));
        // Both servers are next free at 0.5 s; a deadline at 0.55 s leaves each one turn.
        let soon = Instant::now() + Duration::from_millis(150);
        assert!(pacer.pace("x1.b.gov.vn", 1, soon).await);
        assert!(pacer.pace("x2.b.gov.vn", 1, soon).await);
        assert!(
            pacer.pace("x1.b.gov.vn", 1, soon).await,
            "a repeat is the resolver's cache's"
        );
        assert!(
            !pacer.pace("x3.b.gov.vn", 1, soon).await,
            "a turn past the deadline is refused"
        );
    }

    #[tokio::test]
    async fn the_gate_admits_at_most_the_limit_and_frees_on_drop() {
        let gate = AddressGate::new(Some(2));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let first = gate.acquire(ip, deadline).await.expect("first");
        let _second = gate.acquire(ip, deadline).await.expect("second");
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(
            gate.acquire(ip, soon).await.is_none(),
            "a third waits past its deadline"
        );
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(
            gate.acquire(other, soon).await.is_some(),
            "another address has its own slots"
        );
        drop(first);
        assert!(
            gate.acquire(ip, soon).await.is_some(),
            "a dropped permit frees its slot"
        );
    }
}
