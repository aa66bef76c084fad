//! Authoritative NSD on 127.0.0.1 serving zone files (signed at test time with Debian's ldns
//! tools), for the tests that need real DNSSEC: dns.dnssec and mail.dane.

use std::path::Path;
use std::process::{Command, Stdio};

/// Panics, naming the package, when a tool the DNSSEC lab needs is missing.
pub fn tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is required by the DNSSEC test; scripts/test.sh installs it from Debian (nsd, ldnsutils)"
    );
}

/// Runs `program` in `dir`; panics with its stderr when it fails, else returns its stdout.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Makes a KSK and a ZSK for `zone`; returns their file stems.
pub fn keys(dir: &Path, zone: &str) -> (String, String) {
    let ksk = run(dir, "ldns-keygen", &["-a", "ECDSAP256SHA256", "-k", zone]);
    let zsk = run(dir, "ldns-keygen", &["-a", "ECDSAP256SHA256", zone]);
    (ksk, zsk)
}

/// NSD serving the lab zones on 127.0.0.1; killed on drop.
pub struct Nsd {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let port = udp.local_addr().expect("bound").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

pub fn start_nsd(dir: &Path, zones: &[(&str, &str)]) -> Nsd {
    let port = free_port();
    let d = dir.display();
    let mut conf = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n  verbosity: 1\n  rrl-ratelimit: 0\nremote-control:\n  control-enable: no\n"
    );
    for (zone, file) in zones {
        conf.push_str(&format!("zone:\n  name: {zone}\n  zonefile: {file}\n"));
    }
    let conf_path = dir.join("nsd.conf");
    std::fs::write(&conf_path, conf).expect("nsd.conf");
    let child = Command::new("nsd")
        .args(["-d", "-c"])
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nsd");
    let mut nsd = Nsd { child, port };
    // The log file is new: "nsd started" can only be this process's line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default();
        if log.contains("nsd started") {
            return nsd;
        }
        if let Ok(Some(status)) = nsd.child.try_wait() {
            panic!("nsd exited ({status}): {log}");
        }
        assert!(std::time::Instant::now() < deadline, "nsd did not start: {log}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
