//! A private Postfix instance (its own config, queue and data directories) whose smtpd
//! listeners each behave as one lab mail exchange: TLS 1.2+ only, TLS 1.0 accepted,
//! anonymous suites accepted (Postfix's opportunistic default), a certificate for another
//! name, or no STARTTLS at all. It accepts no mail for anyone (no local or relay domains), and
//! is stopped with `postfix abort` when dropped.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// How one listener answers STARTTLS.
#[derive(Clone, Copy, Debug)]
pub enum MxTls {
    /// TLS 1.2 and 1.3, ECDHE with AEAD only (no RSA key exchange, CBC or anonymous suites).
    Strict,
    /// Also TLS 1.0 and 1.1 (OpenSSL 3 needs security level 0 for them).
    Tls10,
    /// Postfix's defaults for a receiving MTA: anonymous (aNULL) suites are offered.
    AnonymousSuites,
    /// No STARTTLS in the EHLO reply.
    None,
}

/// One smtpd listener: its address, behaviour and certificate files.
pub struct Listener {
    pub ip: IpAddr,
    pub tls: MxTls,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct Postfix {
    config: PathBuf,
    _child: tokio::process::Child,
}

impl Postfix {
    /// Writes the instance under `dir` (which Postfix's unprivileged processes must be able to
    /// enter) and starts it in the foreground; returns once every listener accepts.
    pub async fn start(dir: &Path, port: u16, listeners: &[Listener]) -> Postfix {
        let root = dir.join("postfix");
        let (config, queue, data) = (root.join("conf"), root.join("queue"), root.join("data"));
        for path in [&config, &queue, &data] {
            std::fs::create_dir_all(path).expect("postfix dirs");
        }
        for path in [dir, root.as_path()] {
            std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        }
        let chown = std::process::Command::new("chown")
            .arg("postfix")
            .arg(&data)
            .status()
            .expect("chown (Postfix's data directory belongs to its user)");
        assert!(chown.success(), "chown postfix {}", data.display());
        std::fs::write(
            config.join("main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {queue}\ndata_directory = {data}\n\
                 mail_owner = postfix\nsetgid_group = postdrop\ninet_interfaces = loopback-only\n\
                 inet_protocols = all\nmyhostname = mx.maillab.vn\nmydestination =\nrelay_domains =\n\
                 local_recipient_maps =\nsmtpd_relay_restrictions = reject_unauth_destination\n\
                 maillog_file = /dev/stdout\nsmtpd_tls_session_cache_database =\n\
                 smtpd_tls_security_level = may\n",
                queue = queue.display(),
                data = data.display(),
            ),
        )
        .expect("main.cf");
        let mut master = String::new();
        for listener in listeners {
            let address = SocketAddr::new(listener.ip, port);
            let options = match listener.tls {
                MxTls::Strict => "-o smtpd_tls_protocols=>=TLSv1.2 -o smtpd_tls_ciphers=high \
                                 -o tls_high_cipherlist=ECDHE+AESGCM:ECDHE+CHACHA20"
                    .to_string(),
                MxTls::Tls10 => "-o smtpd_tls_protocols=>=TLSv1 -o smtpd_tls_exclude_ciphers=aNULL \
                                 -o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0"
                    .to_string(),
                MxTls::AnonymousSuites => "-o smtpd_tls_protocols=>=TLSv1.2".to_string(),
                MxTls::None => "-o smtpd_tls_security_level=none".to_string(),
            };
            master.push_str(&format!(
                "{address} inet n - n - - smtpd {options} -o smtpd_tls_cert_file={} -o smtpd_tls_key_file={}\n",
                listener.cert.display(),
                listener.key.display()
            ));
        }
        // The services smtpd talks to, none chrooted.
        master.push_str(
            "tlsmgr unix - - n 1000? 1 tlsmgr\nanvil unix - - n - 1 anvil\nproxymap unix - - n - - proxymap\n\
             rewrite unix - - n - - trivial-rewrite\ncleanup unix n - n - 0 cleanup\nqmgr unix n - n 300 1 qmgr\n\
             bounce unix - - n - 0 bounce\ndefer unix - - n - 0 bounce\ntrace unix - - n - 0 bounce\n\
             scache unix - - n - 1 scache\npostlog unix-dgram n - n - 1 postlogd\n",
        );
        std::fs::write(config.join("master.cf"), master).expect("master.cf");
        let child = tokio::process::Command::new("postfix")
            .arg("-c")
            .arg(&config)
            .arg("start-fg")
            .stdout(std::fs::File::create(root.join("maillog")).expect("maillog"))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("postfix is required: scripts/test.sh installs it");
        let postfix = Postfix { config, _child: child };
        // Ready when every listener accepts: a fact only the started server can produce.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for listener in listeners {
            let address = SocketAddr::new(listener.ip, port);
            while tokio::net::TcpStream::connect(address).await.is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "postfix did not start listening on {address}: {}",
                    std::fs::read_to_string(root.join("maillog")).unwrap_or_default()
                );
                tokio::task::yield_now().await;
            }
        }
        postfix
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // `abort` stops master and every smtpd it started; killing start-fg alone would leave
        // them behind.
        let _ = std::process::Command::new("postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("abort")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
