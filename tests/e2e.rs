//! End to end on real parts from Debian: NSD serves the lab zone, nginx serves the lab sites
//! over IPv4 and IPv6 with lab certificates, the real `vnready serve` audits them, and a real
//! Prometheus scrapes it with our rules loaded. Then: every dashboard panel query returns data,
//! the alerts expected for the broken sites fire (and none for the healthy one), the /probe
//! and sharded scrape configs from deploy/ cover every target exactly once, and promtool and
//! amtool accept everything in deploy/.

mod harness;
#[allow(dead_code)]
#[path = "lab/pki.rs"]
mod pki;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use harness::Daemon;
use pki::{LabPki, Validity};
use serde_json::Value;
use tokio::process::{Child, Command};

const ZONE: &str = "e2e.gov.vn";
/// The whole test must finish well inside this.
const BUDGET: Duration = Duration::from_secs(240);

fn site(label: &str) -> String {
    format!("{label}.{ZONE}")
}

fn free_port() -> u16 {
    // Bind both families on one port so nginx and NSD can take it on 127.0.0.1 and ::1.
    for _ in 0..50 {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = v4.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("::1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("::1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port on both families");
}

fn require_tool(name: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{name} is required by the end-to-end test; scripts/test.sh installs it from Debian (nsd, nginx-light, prometheus, prometheus-alertmanager)"
    );
}

/// A child process killed when the test ends.
struct Server {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master then stops its workers, which a SIGKILL would orphan.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            for _ in 0..50 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!(
                "--- {} log\n{}",
                self.name,
                log.lines().rev().take(40).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

fn spawn(name: &'static str, program: &str, args: &[String], dir: &Path) -> Server {
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("start {program}: {err}"));
    Server { name, child, log }
}

/// Polls `check` until it returns Some or the deadline passes; used for readiness of external
/// servers and for Prometheus to have evaluated something, never to wait out a race.
async fn wait_for<T, F, Fut>(what: &str, deadline: Instant, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One GET with a 10 s cap, so a stuck server fails the test instead of hanging it.
async fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    tokio::time::timeout(Duration::from_secs(10), http_get_unbounded(address, path))
        .await
        .ok()
        .flatten()
}

async fn http_get_unbounded(address: &str, path: &str) -> Option<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .uri(path)
        .header("host", address)
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .ok()?
        .to_bytes();
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// An instant query; `None` when Prometheus is not answering yet.
async fn query(prometheus: &str, promql: &str) -> Option<Vec<Value>> {
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={}", url_encode(promql))).await?;
    let document: Value = serde_json::from_str(&body).ok()?;
    assert_eq!(status, 200, "query {promql} failed: {body}");
    document["data"]["result"].as_array().cloned()
}

struct Lab {
    dir: tempfile::TempDir,
    dns_port: u16,
    https_port: u16,
    http_port: u16,
    root: PathBuf,
    nginx_conf: PathBuf,
    pki: LabPki,
    _nsd: Server,
    _nginx: Server,
}

const HEALTHY: &str = "good";
const LABELS: [&str; 7] = ["good", "v6broken", "down", "expiring", "expiring7", "invalid", "flip"];

fn zone_file() -> String {
    let mut zone = format!(
        "$ORIGIN {ZONE}.\n$TTL 30\n@ IN SOA ns1 hostmaster 2026112901 3600 600 86400 30\n@ IN NS ns1\n@ IN NS ns2\n\
         @ IN MX 10 mail-v4\nmail-v4 IN A 127.0.0.1\nres-v4 IN A 127.0.0.1\n\
         @ IN TXT \"v=spf1 mx -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n\
         _25._tcp.mail-v4 IN TLSA 3 1 1 {}\n",
        // A DANE record in this unsigned zone (mail.dane: warn), so the mail panels have data.
        "ab".repeat(32)
    );
    for name in ["ns1", "ns2"].iter().chain(LABELS.iter()) {
        zone.push_str(&format!("{name} IN A 127.0.0.1\n{name} IN AAAA ::1\n"));
    }
    zone
}

fn nginx_config(lab_dir: &Path, https: u16, http: u16, flipped: bool) -> String {
    let d = lab_dir.display();
    let mut servers = String::new();
    let body = "<html><head><title>Cổng thông tin điện tử</title></head><body><p>Tin tức sự kiện</p></body></html>";
    for label in LABELS {
        let host = site(label);
        let location = match label {
            "v6broken" => {
                format!("if ($server_addr = \"::1\") {{ return 503; }} default_type text/html; return 200 '{body}';")
            }
            "down" => "return 503;".to_string(),
            // A logo from a host without AAAA blocks IPv6-only users (the overview's table).
            "expiring" => format!(
                "default_type text/html; return 200 '{}';",
                body.replace("</p>", &format!("</p><img src=\"https://res-v4.{ZONE}/logo.png\">"))
            ),
            _ => format!("default_type text/html; return 200 '{body}';"),
        };
        servers.push_str(&format!(
            "server {{ listen 127.0.0.1:{https} ssl; listen [::1]:{https} ssl; server_name {host};\n\
             ssl_certificate {d}/{label}.crt; ssl_certificate_key {d}/{label}.key; ssl_protocols TLSv1.2 TLSv1.3;\n\
             add_header Strict-Transport-Security \"max-age=31536000\" always;\n\
             location / {{ {location} }} }}\n"
        ));
        let plain = if label == "flip" && flipped {
            "default_type text/plain; return 200 'no redirect any more';".to_string()
        } else {
            format!("return 301 https://$host:{https}$request_uri;")
        };
        servers.push_str(&format!(
            "server {{ listen 127.0.0.1:{http}; listen [::1]:{http}; server_name {host}; location / {{ {plain} }} }}\n"
        ));
    }
    format!(
        "user root root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\nevents {{ worker_connections 256; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n{servers}}}\n"
    )
}

async fn start_lab(deadline: Instant) -> Lab {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let pki = LabPki::new();
    for label in LABELS {
        let host = site(label);
        let cert = match label {
            "expiring" => pki.leaf(&[&host], Validity::ExpiresInDays(10), true),
            "expiring7" => pki.leaf(&[&host], Validity::ExpiresInDays(3), true),
            "invalid" => pki.self_signed(&[&host]),
            _ => pki.leaf(&[&host], Validity::Current, true),
        };
        std::fs::write(d.join(format!("{label}.crt")), &cert.chain_pem).expect("write cert");
        std::fs::write(d.join(format!("{label}.key")), &cert.key_pem).expect("write key");
    }
    let root = d.join("root.pem");
    std::fs::write(&root, &pki.root_pem).expect("write root");

    // NSD, authoritative for the lab zone on both loopbacks.
    let dns_port = free_port();
    std::fs::write(d.join(format!("{ZONE}.zone")), zone_file()).expect("zone");
    let nsd_conf = d.join("nsd.conf");
    std::fs::write(
        &nsd_conf,
        format!(
            "server:\n  ip-address: 127.0.0.1@{dns_port}\n  ip-address: ::1@{dns_port}\n  port: {dns_port}\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{dir}\"\n  pidfile: \"{dir}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{dir}/xfrd.state\"\n  zonelistfile: \"{dir}/zone.list\"\n  logfile: \"{dir}/nsd-server.log\"\n  verbosity: 1\nremote-control:\n  control-enable: no\nzone:\n  name: {ZONE}\n  zonefile: {ZONE}.zone\n",
            dir = d.display()
        ),
    )
    .expect("nsd.conf");
    let nsd = spawn(
        "nsd",
        "nsd",
        &["-d".into(), "-c".into(), nsd_conf.display().to_string()],
        d,
    );

    // nginx with every site on one HTTPS and one HTTP port, both families.
    let https_port = free_port();
    let http_port = free_port();
    let nginx_conf = d.join("nginx.conf");
    std::fs::write(&nginx_conf, nginx_config(d, https_port, http_port, false)).expect("nginx.conf");
    let nginx = spawn(
        "nginx",
        "nginx",
        &[
            "-c".into(),
            nginx_conf.display().to_string(),
            "-g".into(),
            "daemon off;".into(),
        ],
        d,
    );
    wait_for("nginx", deadline, || async {
        tokio::net::TcpStream::connect(("::1", https_port)).await.ok()
    })
    .await;
    wait_for("nsd", deadline, || async {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
        // A minimal SOA query for the zone apex.
        let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ZONE.split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 6, 0, 1]);
        socket.send_to(&query, ("127.0.0.1", dns_port)).await.ok()?;
        let mut buffer = [0u8; 512];
        let (read, _) = tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buffer))
            .await
            .ok()?
            .ok()?;
        // Answer count > 0.
        (read > 12 && buffer[7] > 0).then_some(())
    })
    .await;
    Lab {
        dir,
        dns_port,
        https_port,
        http_port,
        root,
        nginx_conf,
        pki,
        _nsd: nsd,
        _nginx: nginx,
    }
}

/// The main daemon's basic-auth user, as a scrape config carries it.
const WEB_USER: &str = "prometheus";
const WEB_PASSWORD: &str = "e2e-s3cret";

impl Lab {
    /// An exporter-toolkit web config: TLS with a lab certificate for 127.0.0.1 and one
    /// bcrypt-hashed user.
    fn web_config(&self) -> PathBuf {
        let d = self.dir.path();
        let cert = self.pki.leaf(&["localhost", "127.0.0.1"], Validity::Current, true);
        std::fs::write(d.join("web.crt"), &cert.chain_pem).expect("write web cert");
        std::fs::write(d.join("web.key"), &cert.key_pem).expect("write web key");
        let hash = bcrypt::hash(WEB_PASSWORD, 4).expect("bcrypt");
        let path = d.join("web.yml");
        std::fs::write(
            &path,
            format!(
                "tls_server_config:\n  cert_file: web.crt\n  key_file: web.key\nbasic_auth_users:\n  {WEB_USER}: {hash}\n"
            ),
        )
        .expect("write web config");
        path
    }

    fn url(&self, label: &str) -> String {
        format!("https://{}:{}/", site(label), self.https_port)
    }

    fn urls(&self) -> Vec<String> {
        LABELS.iter().map(|l| self.url(l)).collect()
    }

    fn vnready_config(&self) -> PathBuf {
        let mut yaml = format!(
            "defaults:\n  interval: 2s\n  timeout: 3s\nresolver:\n  servers: [\"127.0.0.1:{port}\"]\n  ns_port: {port}\n\
             trust:\n  extra_roots: [\"{root}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]\n\
             slo:\n  state_portal:\n    availability: 99.5%\n\
             goals:\n  - id: e2e_ipv6\n    title: 100% cổng thông tin hỗ trợ IPv6\n    title_en: 100% of portals on IPv6\n    categories: [state_portal]\n    checks: [ipv6.aaaa, ipv6.reachable]\n    deadline: 2026-12-31\n\
             targets:\n",
            port = self.dns_port,
            root = self.root.display()
        );
        for (index, label) in LABELS.iter().enumerate() {
            yaml.push_str(&format!(
                "  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n    name: \"E2E {label}\"\n    agency: \"{}\"\n    district: \"{}\"\n    category: state_portal\n",
                self.url(label),
                site(label),
                self.http_port,
                if index % 2 == 0 { "Sở Khoa học và Công nghệ" } else { "Sở Y tế" },
                if index % 3 == 0 { "Kinh Môn" } else { "Chí Linh" },
            ));
        }
        let path = self.dir.path().join("targets.yaml");
        std::fs::write(&path, yaml).expect("write targets");
        path
    }
}

/// Reads a deploy/ Prometheus config as JSON (YAML's superset), so the test runs the shipped
/// relabelling and only swaps addresses, targets and intervals.
fn deploy_config(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/prometheus")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read deploy config");
    serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn swap_addresses(value: &mut Value, replicas: &BTreeMap<String, String>) {
    match value {
        Value::String(text) => {
            if let Some(local) = replicas.get(text.as_str()) {
                *text = local.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| swap_addresses(v, replicas)),
        Value::Object(map) => map.values_mut().for_each(|v| swap_addresses(v, replicas)),
        _ => {}
    }
}

/// Short intervals so the test is quick; the probe job gets room for slow audits.
fn speed_up(job: &mut Value, probe: bool) {
    job["scrape_interval"] = if probe { "5s" } else { "1s" }.into();
    job["scrape_timeout"] = if probe { "4500ms" } else { "1s" }.into();
}

async fn start_prometheus(name: &'static str, config: &Value, dir: &Path, deadline: Instant) -> (Server, String) {
    let port = free_port();
    let config_path = dir.join(format!("{name}.yml"));
    std::fs::write(&config_path, serde_json::to_string_pretty(config).expect("json")).expect("write");
    let server = spawn(
        name,
        "prometheus",
        &[
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", dir.join(format!("{name}-data")).display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        dir,
    );
    let address = format!("127.0.0.1:{port}");
    wait_for(name, deadline, || async {
        http_get(&address, "/-/ready")
            .await
            .filter(|(status, _)| *status == 200)
    })
    .await;
    (server, address)
}

/// Every panel query of every dashboard, with variables filled in.
fn dashboard_queries(good: &str) -> Vec<(String, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut queries = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dashboards/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "overview, site and certificates dashboards");
    for file in files {
        let board: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        let uid = board["uid"].as_str().expect("uid").to_string();
        let single_target = uid == "vnready-site";
        for panel in board["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                let filled = expr
                    .replace("$agency", ".*")
                    .replace("$category", ".*")
                    .replace("$district", ".*")
                    .replace("$target", if single_target { good } else { ".*" })
                    .replace("$__rate_interval", "1m")
                    .replace("$__interval", "1m")
                    .replace("$__range", "1h");
                queries.push((
                    format!(
                        "{uid} / {} / {}",
                        panel["title"].as_str().unwrap_or_default(),
                        target["refId"]
                    ),
                    filled,
                    expr.to_string(),
                ));
            }
        }
    }
    queries
}

fn firing(alerts: &[Value], name: &str) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| a["metric"]["alertname"] == name && a["metric"]["alertstate"] == "firing")
        .map(|a| a["metric"]["target"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_stack_panels_alerts_and_coverage() {
    let started = Instant::now();
    let deadline = started + BUDGET;
    for tool in ["nsd", "nginx", "prometheus", "promtool", "amtool"] {
        require_tool(tool);
    }
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");

    // promtool and amtool accept everything in deploy/.
    for entry in std::fs::read_dir(deploy.join("prometheus")).expect("deploy/prometheus") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let args: Vec<&str> = if name.starts_with("prometheus") {
            vec!["check", "config"]
        } else if name.ends_with(".rules.yml") {
            vec!["check", "rules"]
        } else if name.ends_with(".test.yml") {
            vec!["test", "rules"]
        } else {
            continue;
        };
        let output = std::process::Command::new("promtool")
            .args(&args)
            .arg(&name)
            .current_dir(deploy.join("prometheus"))
            .output()
            .expect("promtool");
        assert!(
            output.status.success(),
            "promtool {args:?} {name}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("e2e: promtool {} {name}: ok", args.join(" "));
    }
    let output = std::process::Command::new("amtool")
        .args(["check-config"])
        .arg(deploy.join("alertmanager/alertmanager.yml"))
        .output()
        .expect("amtool");
    assert!(
        output.status.success(),
        "amtool: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let lab = start_lab(deadline).await;
    eprintln!("e2e: nsd and nginx up after {:.1}s", started.elapsed().as_secs_f64());
    let config = lab.vnready_config();
    let config_arg = config.display().to_string();
    // The main daemon is protected as a hardened deployment is: TLS and basic auth from an
    // exporter-toolkit web config; Prometheus scrapes it with scheme https and basic_auth.
    let web_config = lab.web_config();
    let mut main = Daemon::start(&[
        "--config",
        &config_arg,
        "--storage.path",
        "",
        "--web.config.file",
        &web_config.display().to_string(),
    ])
    .await;
    main.use_tls(&lab.pki.root_pem, WEB_USER, WEB_PASSWORD);
    let mut shards = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        shards.push(Daemon::start(&["--config", &config_arg, "--storage.path", "", "--shard", &shard]).await);
    }
    main.wait_ready().await;
    for shard in &mut shards {
        shard.wait_ready().await;
    }
    eprintln!(
        "e2e: 4 vnready daemons ready after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Prometheus 1: deploy/prometheus/prometheus.yml over the main daemon, with our rules. The
    // rules' `for:` durations are dropped so alerts fire within the test's minute.
    let mut single = deploy_config("prometheus.yml");
    single["global"]["scrape_interval"] = "1s".into();
    single["global"]["evaluation_interval"] = "1s".into();
    if let Some(map) = single.as_object_mut() {
        map.remove("alerting");
    }
    let rules = std::fs::read_to_string(deploy.join("prometheus/vnready.rules.yml")).expect("rules");
    let fast_rules: String = rules
        .lines()
        .filter(|line| !line.trim_start().starts_with("for:"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(lab.dir.path().join("vnready.rules.yml"), fast_rules).expect("write rules");
    speed_up(&mut single["scrape_configs"][0], false);
    single["scrape_configs"][0]["scheme"] = "https".into();
    single["scrape_configs"][0]["tls_config"] = serde_json::json!({ "ca_file": lab.dir.path().join("root.pem") });
    single["scrape_configs"][0]["basic_auth"] = serde_json::json!({ "username": WEB_USER, "password": WEB_PASSWORD });
    let replicas: BTreeMap<String, String> = BTreeMap::from([
        ("localhost:9731".to_string(), main.address.to_string()),
        ("vnready-1:9731".to_string(), shards[0].address.to_string()),
        ("vnready-2:9731".to_string(), shards[1].address.to_string()),
        ("vnready-3:9731".to_string(), shards[2].address.to_string()),
    ]);
    swap_addresses(&mut single, &replicas);
    let (_prometheus, prometheus) = start_prometheus("prometheus", &single, lab.dir.path(), deadline).await;

    // Prometheus 2: the sharded self-scheduling config and the hashmod /probe config from
    // deploy/, side by side, to count coverage.
    let mut shard_job = deploy_config("prometheus-shards.yml")["scrape_configs"][0].clone();
    speed_up(&mut shard_job, false);
    let mut probe_job = deploy_config("prometheus-probe-hashmod.yml")["scrape_configs"][0].clone();
    speed_up(&mut probe_job, true);
    probe_job["static_configs"][0]["targets"] = lab.urls().into_iter().map(Value::from).collect();
    let mut coverage = serde_json::json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [shard_job, probe_job],
    });
    swap_addresses(&mut coverage, &replicas);
    let (_coverage_prometheus, coverage_address) =
        start_prometheus("prometheus-coverage", &coverage, lab.dir.path(), deadline).await;

    let count = LABELS.len();
    wait_for("every lab target in Prometheus", deadline, || async {
        let result = query(&prometheus, "count(vnready_target_info)").await?;
        let n = result.first()?["value"][1].as_str()?.parse::<usize>().ok()?;
        (n == count).then_some(())
    })
    .await;

    // A regression needs a pass Prometheus has seen: wait for flip's redirect to be recorded as
    // passing, then break it in nginx.
    let flip = lab.url("flip");
    let flip_passing = format!("vnready_check_status{{target=\"{flip}\",check=\"https.redirect\"}} <= 1");
    eprintln!(
        "e2e: Prometheus has every target after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    wait_for("flip passing in Prometheus", deadline, || async {
        query(&prometheus, &flip_passing).await.filter(|r| !r.is_empty())
    })
    .await;
    std::fs::write(
        &lab.nginx_conf,
        nginx_config(lab.dir.path(), lab.https_port, lab.http_port, true),
    )
    .expect("rewrite nginx.conf");
    // The same reload swaps flip's certificate for a newly issued one: a SOC event.
    let before_renewal = main.mark();
    let renewed = lab.pki.leaf(&[&site("flip")], Validity::Current, true);
    std::fs::write(lab.dir.path().join("flip.crt"), &renewed.chain_pem).expect("write cert");
    std::fs::write(lab.dir.path().join("flip.key"), &renewed.key_pem).expect("write key");
    let reload = std::process::Command::new("nginx")
        .args(["-c", &lab.nginx_conf.display().to_string(), "-s", "reload"])
        .output()
        .expect("nginx -s reload");
    assert!(
        reload.status.success(),
        "nginx reload: {}",
        String::from_utf8_lossy(&reload.stderr)
    );

    let changed = main
        .wait_for_event(before_renewal, |e| {
            e["event"] == "certificate_changed" && e["target"] == flip.as_str()
        })
        .await;
    assert_ne!(changed["from_sha256"], changed["to_sha256"]);
    eprintln!("e2e: certificate_changed event for {flip}");

    // A bad targets file for the main daemon: rejected, the running config stays.
    let good_config = std::fs::read_to_string(&config).expect("read");
    std::fs::write(&config, format!("{good_config}  - url: [not, a, url]\n")).expect("write bad");
    let reply = main.request("POST", "/-/reload", &[]).await;
    assert_eq!(reply.status, 500, "{}", reply.body);

    // The expected alerts fire for the broken sites.
    let expected: Vec<(&str, String)> = vec![
        ("VnreadySiteDown", lab.url("down")),
        ("VnreadyIPv6BrokenIPv4Works", lab.url("v6broken")),
        ("VnreadyCertificateExpiresIn21Days", lab.url("expiring")),
        ("VnreadyCertificateExpiresIn7Days", lab.url("expiring7")),
        ("VnreadyCertificateInvalid", lab.url("invalid")),
        ("VnreadyComplianceRegression", flip.clone()),
        ("VnreadyConfigReloadFailed", String::new()),
        ("VnreadyAvailabilityBudgetBurnPage", lab.url("down")),
        ("VnreadyAvailabilityBudgetBurnPage", lab.url("v6broken")),
    ];
    let alerts = wait_for("expected alerts", deadline, || async {
        let alerts = query(&prometheus, "ALERTS").await?;
        expected
            .iter()
            .all(|(name, target)| firing(&alerts, name).contains(target))
            .then_some(alerts)
    })
    .await;
    for (name, target) in &expected {
        eprintln!(
            "e2e: alert {name} firing for {}",
            if target.is_empty() { "the daemon" } else { target }
        );
    }
    let good = lab.url(HEALTHY);
    let healthy_alerts: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["metric"]["target"] == good.as_str())
        .collect();
    assert!(
        healthy_alerts.is_empty(),
        "alerts for the healthy site: {healthy_alerts:?}"
    );
    // Each broken site raises only what is expected of it (and the site-down one, nothing else).
    assert_eq!(firing(&alerts, "VnreadySiteDown"), vec![lab.url("down")]);
    // The objective's burn-rate page: down on both families, v6broken over IPv6 only.
    let burning: Vec<(String, String)> = alerts
        .iter()
        .filter(|a| {
            a["metric"]["alertname"] == "VnreadyAvailabilityBudgetBurnPage" && a["metric"]["alertstate"] == "firing"
        })
        .map(|a| {
            (
                a["metric"]["target"].as_str().unwrap_or_default().to_string(),
                a["metric"]["ip_family"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(burning.contains(&(lab.url("v6broken"), "ipv6".into())), "{burning:?}");
    assert!(!burning.contains(&(lab.url("v6broken"), "ipv4".into())), "{burning:?}");
    assert_eq!(firing(&alerts, "VnreadyCertificateInvalid"), vec![lab.url("invalid")]);
    assert_eq!(
        firing(&alerts, "VnreadyCertificateExpiresIn7Days"),
        vec![lab.url("expiring7")]
    );

    // Every dashboard panel query returns data.
    let queries = dashboard_queries(&good);
    let mut empty = Vec::new();
    for (panel, filled, _) in &queries {
        let result = query(&prometheus, filled).await.unwrap_or_default();
        eprintln!("e2e: panel {panel}: {} series", result.len());
        if result.is_empty() {
            empty.push(format!("{panel}: {filled}"));
        }
    }
    assert!(empty.is_empty(), "panel queries without data:\n{}", empty.join("\n"));
    eprintln!("e2e: {} panel queries, all with data", queries.len());

    // Coverage: the three shards and the hashmod /probe job each see every target once.
    for job in ["vnready", "vnready-probe"] {
        let promql = format!("count by (target) (vnready_target_info{{job=\"{job}\"}})");
        let per_target = wait_for(&format!("{job} coverage"), deadline, || async {
            let result = query(&coverage_address, &promql).await?;
            (result.len() == count).then_some(result)
        })
        .await;
        for series in &per_target {
            assert_eq!(series["value"][1], "1", "{job}: {series}");
        }
        eprintln!("e2e: job {job}: {count} targets, each exactly once");
    }
    let instances = query(&coverage_address, "count by (instance) (up{job=\"vnready-probe\"})")
        .await
        .unwrap_or_default();
    assert_eq!(instances.len(), count, "one /probe scrape per target");

    drop(shards);
    drop(main);
    eprintln!("e2e: done in {:.1}s", started.elapsed().as_secs_f64());
}
