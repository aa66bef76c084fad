//! An in-process authoritative DNS server for the lab, speaking real DNS over UDP and TCP on
//! 127.0.0.1 and ::1 (same port everywhere, so it doubles as every zone's name server).
//! Special names answer SERVFAIL or never answer at all.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Zone data and quirks.
#[derive(Default)]
pub struct ZoneData {
    apexes: Vec<Name>,
    records: HashMap<(Name, RecordType), Vec<Record>>,
    servfail: HashSet<Name>,
    silent: HashSet<Name>,
    /// Every query received, over UDP and TCP, for cost assertions.
    queries: AtomicUsize,
    /// When each query arrived and what it asked, for rate assertions.
    arrivals: std::sync::Mutex<Vec<(std::time::Instant, String)>>,
}

fn name(text: &str) -> Name {
    let mut name = Name::from_utf8(text).expect("lab names are valid");
    name.set_fqdn(true);
    name.to_lowercase()
}

impl ZoneData {
    /// Adds a zone with its SOA and NS set.
    pub fn zone(&mut self, apex: &str, name_servers: &[&str]) {
        let apex_name = name(apex);
        self.apexes.push(apex_name.clone());
        let soa = SOA::new(
            name(name_servers[0]),
            name(&format!("hostmaster.{apex}")),
            2026112901,
            3600,
            600,
            86400,
            300,
        );
        self.add(apex, RData::SOA(soa));
        for server in name_servers {
            self.add(apex, RData::NS(NS(name(server))));
        }
    }

    pub fn add(&mut self, owner: &str, data: RData) {
        let owner = name(owner);
        let record = Record::from_rdata(owner.clone(), 60, data);
        self.records
            .entry((owner, record.record_type()))
            .or_default()
            .push(record);
    }

    pub fn a(&mut self, owner: &str, ip: &str) {
        match ip.parse::<IpAddr>().expect("lab address") {
            IpAddr::V4(v4) => self.add(owner, RData::A(A(v4))),
            IpAddr::V6(v6) => self.add(owner, RData::AAAA(AAAA(v6))),
        }
    }

    /// A TXT record of one or more character-strings.
    pub fn txt(&mut self, owner: &str, strings: &[&str]) {
        self.add(
            owner,
            RData::TXT(TXT::new(strings.iter().map(|s| s.to_string()).collect())),
        );
    }

    pub fn cname(&mut self, owner: &str, target: &str) {
        self.add(owner, RData::CNAME(CNAME(name(target))));
    }

    pub fn servfail(&mut self, owner: &str) {
        self.servfail.insert(name(owner));
    }

    pub fn silent(&mut self, owner: &str) {
        self.silent.insert(name(owner));
    }

    fn apex_of(&self, qname: &Name) -> Option<&Name> {
        self.apexes
            .iter()
            .filter(|apex| apex.zone_of(qname))
            .max_by_key(|apex| apex.num_labels())
    }

    fn name_exists(&self, qname: &Name) -> bool {
        self.records
            .keys()
            .any(|(owner, _)| owner == qname || qname.zone_of(owner))
    }

    /// Builds the answer, or `None` to stay silent.
    fn answer(&self, request: &Message) -> Option<Message> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        let query = request.queries.first()?;
        let qname = query.name().to_lowercase();
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.push((std::time::Instant::now(), qname.to_string()));
        }
        let qtype = query.query_type();
        if self.silent.contains(&qname) {
            return None;
        }
        let mut response = Message::new(request.metadata.id, MessageType::Response, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.add_query(query.clone());
        if self.servfail.contains(&qname) {
            response.metadata.response_code = ResponseCode::ServFail;
            return Some(response);
        }
        let Some(apex) = self.apex_of(&qname).cloned() else {
            response.metadata.response_code = ResponseCode::Refused;
            return Some(response);
        };
        response.metadata.authoritative = true;
        let mut current = qname.clone();
        for _ in 0..8 {
            if let Some(records) = self.records.get(&(current.clone(), qtype)) {
                response.add_answers(records.iter().cloned());
                return Some(response);
            }
            match self.records.get(&(current.clone(), RecordType::CNAME)) {
                Some(cnames) if qtype != RecordType::CNAME => {
                    response.add_answers(cnames.iter().cloned());
                    let RData::CNAME(target) = &cnames[0].data else { break };
                    current = target.0.to_lowercase();
                    if self.apex_of(&current).is_none() {
                        return Some(response);
                    }
                }
                _ => break,
            }
        }
        if response.answers.is_empty() && !self.name_exists(&current) {
            response.metadata.response_code = ResponseCode::NXDomain;
        }
        if let Some(soa) = self.records.get(&(apex, RecordType::SOA)) {
            response.add_authorities(soa.iter().cloned());
        }
        Some(response)
    }
}

/// The running server: bound on 127.0.0.1 and ::1, UDP and TCP, one port.
pub struct DnsServer {
    pub port: u16,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    zones: Arc<ZoneData>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl DnsServer {
    pub async fn start(zones: ZoneData) -> DnsServer {
        let zones = Arc::new(zones);
        for _attempt in 0..50 {
            let Ok(udp4) = UdpSocket::bind("127.0.0.1:0").await else {
                continue;
            };
            let port = udp4.local_addr().expect("bound").port();
            let (Ok(tcp4), Ok(udp6), Ok(tcp6)) = (
                TcpListener::bind(("127.0.0.1", port)).await,
                UdpSocket::bind(("::1", port)).await,
                TcpListener::bind(("::1", port)).await,
            ) else {
                continue;
            };
            let tasks = vec![
                tokio::spawn(serve_udp(udp4, zones.clone())),
                tokio::spawn(serve_udp(udp6, zones.clone())),
                tokio::spawn(serve_tcp(tcp4, zones.clone())),
                tokio::spawn(serve_tcp(tcp6, zones.clone())),
            ];
            return DnsServer { port, tasks, zones };
        }
        panic!("could not find a free port for the lab DNS server on 127.0.0.1 and ::1");
    }

    /// Queries answered (or deliberately ignored) so far.
    /// Arrival time and query name of every query so far.
    #[allow(dead_code)]
    pub fn arrivals(&self) -> Vec<(std::time::Instant, String)> {
        self.zones.arrivals.lock().map(|a| a.clone()).unwrap_or_default()
    }

    pub fn queries(&self) -> usize {
        self.zones.queries.load(Ordering::SeqCst)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

async fn serve_udp(socket: UdpSocket, zones: Arc<ZoneData>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((read, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let Ok(request) = Message::from_vec(&buffer[..read]) else {
            continue;
        };
        if let Some(response) = zones.answer(&request) {
            if let Ok(wire) = response.to_vec() {
                let _ = socket.send_to(&wire, peer).await;
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, zones: Arc<ZoneData>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let zones = zones.clone();
        tokio::spawn(async move {
            loop {
                let mut length = [0u8; 2];
                if stream.read_exact(&mut length).await.is_err() {
                    return;
                }
                let mut wire = vec![0u8; usize::from(u16::from_be_bytes(length))];
                if stream.read_exact(&mut wire).await.is_err() {
                    return;
                }
                let Ok(request) = Message::from_vec(&wire) else { return };
                let Some(response) = zones.answer(&request) else {
                    // Silent names: hold the connection open and say nothing.
                    std::future::pending::<()>().await;
                    return;
                };
                let Ok(answer) = response.to_vec() else { return };
                let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&answer);
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
        });
    }
}
