//! Test hosts in network namespaces (`ip netns`, veth), for what loopback cannot show: a monitor
//! without IPv6, a router whose narrow IPv6 link drops "Packet Too Big". Real servers from
//! Debian (NSD, nginx) run inside them; the real `vnready` binary runs in the monitor's
//! namespace. Every namespace is deleted when its value drops. Needs root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A short name unique to this test process: interface names are limited to 15 bytes.
pub fn unique(tag: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("v{}{n}{tag}", std::process::id() % 100_000)
}

/// A TCP port free on 127.0.0.1 right now (for servers started with a fixed port).
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// Runs a command and fails the test, with its output, when it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("{program} {args:?}: {err} (the network lab needs iproute2, nft and root)"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A network namespace with its loopback up; deleted (with its veth ends) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME args…`
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Runs `program args…` inside the namespace to completion.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", self.name.as_str(), program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// The same for tokio.
    pub fn tokio_command(&self, program: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Turns IPv6 off entirely: the monitor of a data centre without IPv6.
    pub fn disable_ipv6(&self) {
        for key in ["all", "default", "lo"] {
            self.exec("sysctl", &["-qw", &format!("net.ipv6.conf.{key}.disable_ipv6=1")]);
        }
    }

    /// Lets the namespace route between its interfaces (a router).
    pub fn forward(&self) {
        self.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        self.exec("sysctl", &["-qw", "net.ipv6.conf.all.forwarding=1"]);
    }

    /// Adds an address to an interface; IPv6 addresses skip duplicate address detection so
    /// they are usable at once.
    pub fn addr(&self, interface: &str, cidr: &str) {
        if cidr.contains(':') {
            self.ip(&["-6", "addr", "add", cidr, "dev", interface, "nodad"]);
        } else {
            self.ip(&["addr", "add", cidr, "dev", interface]);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill what still runs inside, then delete it (its veth ends go with it).
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|out| {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            });
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// One end of a link: the namespace (or the host when `None`) and the interface name.
pub struct End<'a> {
    pub ns: Option<&'a Netns>,
    pub interface: String,
}

/// A veth pair from `a` to `b` (either may be the host), up, with `mtu` on both ends.
pub fn link<'a>(a: Option<&'a Netns>, b: Option<&'a Netns>, mtu: u32) -> (End<'a>, End<'a>) {
    let (name_a, name_b) = (unique("a"), unique("b"));
    run("ip", &["link", "add", &name_a, "type", "veth", "peer", "name", &name_b]);
    for (ns, name) in [(a, &name_a), (b, &name_b)] {
        if let Some(ns) = ns {
            run("ip", &["link", "set", name, "netns", &ns.name]);
        }
        let mtu = mtu.to_string();
        let set = ["link", "set", name.as_str(), "mtu", mtu.as_str(), "up"];
        match ns {
            Some(ns) => {
                ns.ip(&set);
            }
            None => {
                run("ip", &set);
            }
        }
    }
    (
        End {
            ns: a,
            interface: name_a,
        },
        End {
            ns: b,
            interface: name_b,
        },
    )
}

impl End<'_> {
    pub fn addr(&self, cidr: &str) {
        match self.ns {
            Some(ns) => ns.addr(&self.interface, cidr),
            None if cidr.contains(':') => {
                run("ip", &["-6", "addr", "add", cidr, "dev", &self.interface, "nodad"]);
            }
            None => {
                run("ip", &["addr", "add", cidr, "dev", &self.interface]);
            }
        }
    }
}

/// A server process, stopped when dropped (SIGTERM, so nginx stops its workers), with its log
/// shown when the test is failing.
pub struct Server {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Server {
    pub fn spawn(name: &str, mut command: Command, dir: &Path) -> Server {
        let log = dir.join(format!("{name}.out"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdout(Stdio::from(file.try_clone().expect("clone")))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|err| panic!("start {name}: {err}"));
        Server {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Waits until `ready` holds, failing with the server's output if it exits or takes more
    /// than 30 s. Polls a fact the server creates (a pid file, a log line), never a delay.
    pub fn wait(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}): {}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "{} not {what} after 30 s", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- {} output\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// NSD serving `zones` (name, zone-file text) on `addresses` port 53, inside `ns` (or the host).
pub fn nsd(ns: Option<&Netns>, dir: &Path, addresses: &[&str], zones: &[(&str, String)]) -> Server {
    let d = dir.display();
    let mut conf = format!(
        "server:\n  port: 53\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n  verbosity: 1\n  rrl-ratelimit: 0\n"
    );
    for address in addresses {
        conf.push_str(&format!("  ip-address: {address}\n"));
    }
    conf.push_str("remote-control:\n  control-enable: no\n");
    for (zone, text) in zones {
        std::fs::write(dir.join(format!("{zone}.zone")), text).expect("write zone");
        conf.push_str(&format!("zone:\n  name: {zone}\n  zonefile: {zone}.zone\n"));
    }
    let path = dir.join("nsd.conf");
    std::fs::write(&path, conf).expect("write nsd.conf");
    let mut command = match ns {
        Some(ns) => ns.command("nsd"),
        None => Command::new("nsd"),
    };
    command.arg("-d").arg("-c").arg(&path);
    let mut server = Server::spawn("nsd", command, dir);
    let log = dir.join("nsd.log");
    server.wait("started", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains("nsd started"))
    });
    server
}

/// nginx with `servers` (the `server { … }` blocks), inside `ns` (or the host). Ready once its
/// pid file exists: nginx writes it after binding every listener.
pub fn nginx(ns: Option<&Netns>, dir: &Path, servers: &str) -> Server {
    let d = dir.display();
    let conf = format!(
        "user root root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\nevents {{ worker_connections 1024; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n{servers}}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("write nginx.conf");
    let mut command = match ns {
        Some(ns) => ns.command("nginx"),
        None => Command::new("nginx"),
    };
    command.arg("-c").arg(&path).arg("-g").arg("daemon off;");
    let mut server = Server::spawn("nginx", command, dir);
    let pid = dir.join("nginx.pid");
    server.wait("listening", || std::fs::metadata(&pid).is_ok_and(|m| m.len() > 0));
    server
}

/// A zone file: SOA and NS at the apex, then `records` (relative or absolute owner names).
pub fn zone_file(zone: &str, name_servers: &[&str], records: &[String]) -> String {
    let mut text = format!(
        "$ORIGIN {zone}.\n$TTL 60\n@ IN SOA {} hostmaster 1 3600 600 86400 60\n",
        name_servers[0]
    );
    for ns in name_servers {
        text.push_str(&format!("@ IN NS {ns}\n"));
    }
    for record in records {
        text.push_str(record);
        text.push('\n');
    }
    text
}
