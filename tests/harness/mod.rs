//! Spawns the real `vnready serve` on port 0, reads the bound address from its JSON log (as
//! hickory-dns's server_harness does), and prints the daemon's log when a test fails.

#![allow(dead_code)]

pub mod browser;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How long the daemon may take to print its address or reach a logged state.
pub const WAIT: Duration = Duration::from_secs(60);

/// Limits that `check` runs in the lab with unless a test sets its own. The lab is one DNS
/// server and a few web servers carrying dozens of sites: with the sweep's polite defaults (4
/// connections per address, 20 queries a second per name server) every test would wait in
/// its own queue. tests/sweep.rs runs the defaults themselves.
pub const LAB_POLITENESS: [&str; 4] = ["--per-address-concurrency", "256", "--per-nameserver-qps", "100000"];

/// Runs the real binary to completion (for one-shot commands).
pub async fn vnready(args: &[&str]) -> std::process::Output {
    let mut args = args.to_vec();
    if args.first() == Some(&"check") && !args.iter().any(|arg| arg.starts_with("--per-")) {
        args.extend(LAB_POLITENESS);
    }
    Command::new(env!("CARGO_BIN_EXE_vnready"))
        .args(&args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run vnready")
}

/// `vnready check --config CONFIG --only ONLY --format json --timeout TIMEOUT`, its JSON
/// document parsed (panics with the output when it is not JSON).
pub async fn check_json(config: &Path, only: &str, timeout: &str) -> Value {
    let config = config.display().to_string();
    let output = vnready(&[
        "check",
        "--config",
        &config,
        "--only",
        only,
        "--format",
        "json",
        "--timeout",
        timeout,
    ])
    .await;
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("JSON output ({err})\n{}", show(&output)))
}

/// The result of `check` for the first target whose id satisfies `is_target`, in a `check`
/// document: the whole result object, for its `observed`.
pub fn check_result<'a>(document: &'a Value, is_target: impl Fn(&str) -> bool, check: &str) -> &'a Value {
    let target = document["targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["target"].as_str().is_some_and(&is_target)))
        .unwrap_or_else(|| panic!("target not in {document}"));
    target["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == check))
        .unwrap_or_else(|| panic!("{check} did not run for {}", target["target"]))
}

/// The status and English reason of `check` for the target whose id is `target`.
pub fn status_and_reason<'a>(document: &'a Value, target: &str, check: &str) -> (&'a str, &'a str) {
    let found = check_result(document, |id| id == target, check);
    (
        found["status"].as_str().unwrap_or_default(),
        found["reason"]["en"].as_str().unwrap_or_default(),
    )
}

/// Exit code and both streams, for assertion messages.
pub fn show(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A running daemon.
pub struct Daemon {
    pub child: Child,
    pub address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    lines: watch::Receiver<usize>,
    /// Set by [`Daemon::use_tls`] for a daemon behind `--web.config.file`.
    client: Option<SecureClient>,
}

/// How to reach a daemon that serves TLS with basic authentication.
struct SecureClient {
    tls: Arc<rustls::ClientConfig>,
    authorization: String,
}

/// A count of log lines, taken before an action whose effect a test waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

impl Mark {
    /// Before the daemon's first line: for the first occurrence in a fresh process.
    pub const START: Mark = Mark(0);
}

/// One HTTP answer.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub content_encoding: String,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Daemon {
    /// Starts `vnready serve` with JSON logs on 127.0.0.1:0 plus `args`.
    pub async fn start(args: &[&str]) -> Daemon {
        Daemon::start_with_env(args, &[]).await
    }

    /// [`Daemon::start`] with extra environment variables (fault points).
    pub async fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vnready"));
        command
            .args(["serve", "--log.format", "json", "--web.listen-address", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied());
        Daemon::from_command(command).await
    }

    /// `vnready serve` inside the network namespace `netns`, listening on `listen` (an address
    /// of the namespace the test can reach, port 0).
    pub async fn start_in_netns(netns: &str, listen: &str, args: &[&str]) -> Daemon {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", netns, env!("CARGO_BIN_EXE_vnready")])
            .args(["serve", "--log.format", "json", "--web.listen-address", listen])
            .args(args);
        Daemon::from_command(command).await
    }

    async fn from_command(mut command: Command) -> Daemon {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn vnready serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (notify, lines) = watch::channel(0usize);
        let task_log = log.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let count = {
                    let mut log = task_log.lock().expect("log lock");
                    log.push(line);
                    log.len()
                };
                let _ = notify.send(count);
            }
        });
        let mut daemon = Daemon {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            lines,
            client: None,
        };
        let listening = daemon
            .wait_for_event(Mark::START, |event| event["event"] == "listening")
            .await;
        daemon.address = listening["address"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {listening}"));
        daemon
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Log lines parsed as JSON objects.
    pub fn events(&self) -> Vec<Value> {
        self.log()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// A point in the log. Waits take one so they only see lines logged after the action the
    /// test caused: a line from an earlier reload or round can never satisfy a later wait.
    pub fn mark(&self) -> Mark {
        Mark(self.log.lock().expect("log lock").len())
    }

    /// JSON log lines logged after `mark`.
    pub fn events_since(&self, mark: Mark) -> Vec<Value> {
        self.log()
            .iter()
            .skip(mark.0)
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Waits until a JSON log line after `mark` satisfies `wanted`; panics with the log after
    /// [`WAIT`].
    pub async fn wait_for_event(&mut self, mark: Mark, wanted: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_events(mark, 1, wanted).await.remove(0)
    }

    /// Waits until `count` JSON log lines after `mark` satisfy `wanted` and returns them.
    pub async fn wait_for_events(&mut self, mark: Mark, count: usize, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found: Vec<Value> = self.events_since(mark).into_iter().filter(|e| wanted(e)).collect();
            if found.len() >= count {
                return found;
            }
            // A chatty daemon keeps `changed()` firing, so the deadline is checked here too.
            if tokio::time::Instant::now() >= deadline {
                panic!("timed out waiting for a log line\n{}", self.log().join("\n"));
            }
            let changed = tokio::time::timeout_at(deadline, self.lines.changed()).await;
            match changed {
                Ok(Ok(())) => {}
                Ok(Err(_)) => panic!("daemon exited before the awaited log line\n{}", self.log().join("\n")),
                Err(_) => panic!("timed out waiting for a log line\n{}", self.log().join("\n")),
            }
        }
    }

    /// Waits for the first round to finish, then checks /-/ready agrees.
    pub async fn wait_ready(&mut self) {
        self.wait_for_event(Mark::START, |e| e["event"] == "ready").await;
        let reply = self.get("/-/ready").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    /// Talks TLS (trusting `root_pem`) with basic authentication from now on.
    pub fn use_tls(&mut self, root_pem: &str, user: &str, password: &str) {
        use base64::Engine;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
            roots.add(cert.expect("root PEM")).expect("root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.client = Some(SecureClient {
            tls: Arc::new(tls),
            authorization: format!("Basic {credentials}"),
        });
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[]).await
    }

    /// One HTTP/1.1 request over a fresh connection.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let stream = tokio::net::TcpStream::connect(self.address).await.expect("connect");
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.address.to_string());
        let mut sender = match &self.client {
            None => {
                let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .expect("handshake");
                tokio::spawn(connection);
                sender
            }
            Some(client) => {
                builder = builder.header("authorization", client.authorization.as_str());
                let name = rustls::pki_types::ServerName::from(self.address.ip());
                let tls = tokio_rustls::TlsConnector::from(client.tls.clone())
                    .connect(name, stream)
                    .await
                    .expect("TLS handshake with the daemon");
                let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .expect("handshake");
                tokio::spawn(connection);
                sender
            }
        };
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(Bytes::new())).expect("request");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let content_encoding = response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            content_type,
            content_encoding,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body.to_vec(),
        }
    }

    /// Sends a signal by name (TERM, HUP, KILL) with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("daemon still running");
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit and returns its code.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.expect("wait").code(),
            Err(_) => panic!("daemon did not exit\n{}", self.log().join("\n")),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- vnready serve log ({})\n{}", self.address, self.log().join("\n"));
        }
    }
}

/// A metric sample line of the text format: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Fields after the value (a timestamp): must be empty.
    pub extra: String,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Parses the sample lines of a text exposition (enough for our own output: quoted label
/// values with \" and \\ escapes).
pub fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (name, rest) = match line.find(['{', ' ']) {
            Some(index) => line.split_at(index),
            None => continue,
        };
        let mut labels = Vec::new();
        let mut rest = rest;
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            let mut key = String::new();
            let mut end = inner.len();
            while let Some((index, c)) = chars.next() {
                match c {
                    '}' => {
                        end = index + 1;
                        break;
                    }
                    ',' => {}
                    '=' => {
                        let mut value = String::new();
                        chars.next(); // opening quote
                        while let Some((_, c)) = chars.next() {
                            match c {
                                '\\' => {
                                    if let Some((_, escaped)) = chars.next() {
                                        value.push(if escaped == 'n' { '\n' } else { escaped });
                                    }
                                }
                                '"' => break,
                                other => value.push(other),
                            }
                        }
                        labels.push((std::mem::take(&mut key), value));
                    }
                    other => key.push(other),
                }
            }
            rest = &inner[end..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
            extra: fields.collect::<Vec<_>>().join(" "),
        });
    }
    out
}

/// The lab's config with a different audit interval for every target.
pub fn with_interval(config: &Path, interval: &str, out: &Path) {
    let text = std::fs::read_to_string(config).expect("read lab config");
    let text = text.replacen("defaults:\n", &format!("defaults:\n  interval: {interval}\n"), 1);
    std::fs::write(out, text).expect("write config");
}
