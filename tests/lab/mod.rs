//! A small province on loopback: an authoritative DNS server, HTTPS and HTTP servers on
//! 127.0.0.1 and ::1 with certificates from a CA made at test time, and one site per failure
//! mode that real government sites show. Nothing here leaves the machine: addresses the lab
//! publishes but does not serve (documentation, IPv4-mapped) are never probed by vnready.

#![allow(dead_code)]

pub mod dns;
pub mod pki;
pub mod web;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use dns::{DnsServer, ZoneData};
use pki::{LabPki, ServedCert, Validity};
use web::{bind_pair, serve, Behaviour, Counters, LegacyTlsServer, Page};

pub const ZONE: &str = "lab.gov.vn";
pub const CDN_ZONE: &str = "cdn-example.com";
pub const NO_AAAA_ZONE: &str = "noaaaa.vn";
/// The per-target timeout the lab runs with: long enough for loopback, short enough that the
/// hanging cases finish quickly.
pub const LAB_TIMEOUT: &str = "3s";

pub fn page(title: &str) -> String {
    let paragraphs: String = (0..40)
        .map(|i| format!("<p>Thông báo số {i}: kế hoạch chuyển đổi IPv6 của tỉnh.</p>\n"))
        .collect();
    format!("<html><head><title>{title}</title></head><body><h1>{title}</h1>{paragraphs}</body></html>")
}

pub const HSTS_YEAR: &str = "max-age=31536000; includeSubDomains";

/// One lab site and its listeners' counters.
pub struct Site {
    pub host: String,
    pub https_port: u16,
    pub http_port: u16,
    pub v4: Arc<Counters>,
    pub v6: Arc<Counters>,
}

impl Site {
    /// The URL as a user writes it: the IDN site with its Vietnamese letters.
    pub fn url(&self) -> String {
        let shown = if self.host == idn_host_ascii() {
            idn_host_unicode()
        } else {
            self.host.clone()
        };
        format!("https://{shown}:{}/", self.https_port)
    }
}

/// What DNS publishes for a site.
pub struct Addresses {
    pub a: Option<&'static str>,
    pub aaaa: Option<&'static str>,
}

pub const DUAL: Addresses = Addresses {
    a: Some("127.0.0.1"),
    aaaa: Some("::1"),
};
pub const V4_ONLY: Addresses = Addresses {
    a: Some("127.0.0.1"),
    aaaa: None,
};
pub const V6_ONLY: Addresses = Addresses {
    a: None,
    aaaa: Some("::1"),
};

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub dns: DnsServer,
    pub sites: HashMap<String, Site>,
    pub root_path: PathBuf,
    pub config_path: PathBuf,
    /// URLs in the order they appear in the lab targets file.
    pub urls: Vec<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _legacy: LegacyTlsServer,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Builder {
    pki: LabPki,
    zones: ZoneData,
    sites: HashMap<String, Site>,
    order: Vec<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Builder {
    fn cert(&self, host: &str) -> ServedCert {
        self.pki.leaf(&[host], Validity::Current, true)
    }

    /// Binds a site's HTTPS and HTTP listeners and publishes its addresses.
    async fn site(
        &mut self,
        host: &str,
        addresses: Addresses,
        v4: Option<Behaviour>,
        v6: Option<Behaviour>,
        plain: Option<Page>,
    ) -> (u16, u16) {
        let (https4, https6, https_port) = bind_pair().await;
        let counters4 = Arc::new(Counters::default());
        let counters6 = Arc::new(Counters::default());
        if let Some(behaviour) = v4 {
            self.tasks.push(serve(https4, behaviour, counters4.clone()));
        }
        if let Some(behaviour) = v6 {
            self.tasks.push(serve(https6, behaviour, counters6.clone()));
        }
        let plain = plain.unwrap_or_else(|| Page::redirect(&format!("https://{host}:{https_port}/")));
        let http_port = self.plain_http(plain).await;
        if let Some(a) = addresses.a {
            self.zones.a(host, a);
        }
        if let Some(aaaa) = addresses.aaaa {
            self.zones.a(host, aaaa);
        }
        self.sites.insert(
            host.to_string(),
            Site {
                host: host.to_string(),
                https_port,
                http_port,
                v4: counters4,
                v6: counters6,
            },
        );
        self.order.push(host.to_string());
        (https_port, http_port)
    }

    /// Serves `page` over plain HTTP on 127.0.0.1 and ::1; returns the shared port.
    async fn plain_http(&mut self, page: Page) -> u16 {
        let (http4, http6, http_port) = bind_pair().await;
        self.tasks.push(serve(
            http4,
            Behaviour::Http { page: page.clone() },
            Arc::new(Counters::default()),
        ));
        self.tasks
            .push(serve(http6, Behaviour::Http { page }, Arc::new(Counters::default())));
        http_port
    }

    /// A dual-stack site with a good certificate, HSTS and a redirect: the healthy default.
    async fn healthy(&mut self, host: &str, addresses: Addresses) -> (u16, u16) {
        let behaviour = Behaviour::Https {
            cert: self.cert(host),
            page: Page::ok(&page("Cổng thông tin điện tử"), Some(HSTS_YEAR)),
        };
        self.site(host, addresses, Some(behaviour.clone()), Some(behaviour), None)
            .await
    }

    async fn with_cert(&mut self, host: &str, cert: ServedCert) {
        let behaviour = Behaviour::Https {
            cert,
            page: Page::ok(&page("Cổng thông tin điện tử"), Some(HSTS_YEAR)),
        };
        self.site(host, DUAL, Some(behaviour.clone()), Some(behaviour), None)
            .await;
    }
}

pub fn host(label: &str) -> String {
    format!("{label}.{ZONE}")
}

/// The IDN case: a host with Vietnamese letters, in punycode on the wire.
pub fn idn_host_unicode() -> String {
    format!("cổng.{ZONE}")
}

pub fn idn_host_ascii() -> String {
    idna::domain_to_ascii(&idn_host_unicode()).expect("valid IDN")
}

impl Lab {
    pub async fn start() -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = Builder {
            pki: LabPki::new(),
            zones: ZoneData::default(),
            sites: HashMap::new(),
            order: Vec::new(),
            tasks: Vec::new(),
        };

        b.zones.zone(ZONE, &["ns1.lab.gov.vn", "ns2.lab.gov.vn"]);
        for ns in ["ns1.lab.gov.vn", "ns2.lab.gov.vn"] {
            b.zones.a(ns, "127.0.0.1");
            b.zones.a(ns, "::1");
        }
        b.zones.zone(CDN_ZONE, &["ns1.lab.gov.vn", "ns2.lab.gov.vn"]);
        b.zones.zone(NO_AAAA_ZONE, &["ns1.noaaaa.vn", "ns2.noaaaa.vn"]);
        b.zones.a("ns1.noaaaa.vn", "127.0.0.1");
        b.zones.a("ns2.noaaaa.vn", "127.0.0.1");

        b.healthy(&host("good"), DUAL).await;
        b.healthy(&host("v4only"), V4_ONLY).await;
        b.healthy(&host("v6only"), V6_ONLY).await;
        b.healthy("www.noaaaa.vn", DUAL).await;
        b.healthy(&idn_host_ascii(), DUAL).await;

        let good_page = Behaviour::Https {
            cert: b.cert(&host("v6refused")),
            page: Page::ok(&page("Cổng"), Some(HSTS_YEAR)),
        };
        b.site(&host("v6refused"), DUAL, Some(good_page), None, None).await;
        let good_page = Behaviour::Https {
            cert: b.cert(&host("v6hang")),
            page: Page::ok(&page("Cổng"), Some(HSTS_YEAR)),
        };
        b.site(&host("v6hang"), DUAL, Some(good_page), Some(Behaviour::Hang), None)
            .await;
        b.healthy(
            &host("v6doc"),
            Addresses {
                a: Some("127.0.0.1"),
                aaaa: Some("2001:db8::1"),
            },
        )
        .await;
        b.healthy(
            &host("v6mapped"),
            Addresses {
                a: Some("127.0.0.1"),
                aaaa: Some("::ffff:127.0.0.1"),
            },
        )
        .await;

        let cert = b.cert(&host("v6diff"));
        let v4 = Behaviour::Https {
            cert: cert.clone(),
            page: Page::ok(&page("Cổng thông tin điện tử"), Some(HSTS_YEAR)),
        };
        let v6 = Behaviour::Https {
            cert,
            page: Page::ok(
                "<html><head><title>IIS Windows Server</title></head><body>Welcome</body></html>",
                Some(HSTS_YEAR),
            ),
        };
        b.site(&host("v6diff"), DUAL, Some(v4), Some(v6), None).await;

        let expired = b.pki.leaf(&[&host("expired")], Validity::Expired, true);
        b.with_cert(&host("expired"), expired).await;
        let not_yet = b.pki.leaf(&[&host("notyet")], Validity::NotYetValid, true);
        b.with_cert(&host("notyet"), not_yet).await;
        let wrong = b.pki.leaf(&["other.example.vn"], Validity::Current, true);
        b.with_cert(&host("wronghost"), wrong).await;
        let self_signed = b.pki.self_signed(&[&host("selfsigned")]);
        b.with_cert(&host("selfsigned"), self_signed).await;
        let no_intermediate = b.pki.leaf(&[&host("nointermediate")], Validity::Current, false);
        b.with_cert(&host("nointermediate"), no_intermediate).await;

        let behaviour = Behaviour::Https {
            cert: b.cert(&host("noredirect")),
            page: Page::ok(&page("Cổng"), Some(HSTS_YEAR)),
        };
        b.site(
            &host("noredirect"),
            DUAL,
            Some(behaviour.clone()),
            Some(behaviour),
            Some(Page::ok(&page("Cổng"), None)),
        )
        .await;

        let behaviour = Behaviour::Https {
            cert: b.cert(&host("shorthsts")),
            page: Page::ok(&page("Cổng"), Some("max-age=300")),
        };
        b.site(&host("shorthsts"), DUAL, Some(behaviour.clone()), Some(behaviour), None)
            .await;

        let (portal_port, _) = b.healthy("portal.cdn-example.com", DUAL).await;
        let offvn = Behaviour::Https {
            cert: b.cert(&host("offvn")),
            page: Page::redirect(&format!("https://portal.cdn-example.com:{portal_port}/")),
        };
        b.site(&host("offvn"), DUAL, Some(offvn.clone()), Some(offvn), None)
            .await;

        let cdn = Behaviour::Https {
            cert: b.cert(&host("cdn")),
            page: Page::ok(&page("Cổng"), Some(HSTS_YEAR)),
        };
        b.site(
            &host("cdn"),
            Addresses { a: None, aaaa: None },
            Some(cdn.clone()),
            Some(cdn),
            None,
        )
        .await;
        b.zones.cname(&host("cdn"), "edge.cdn-example.com");
        b.zones.a("edge.cdn-example.com", "127.0.0.1");
        b.zones.a("edge.cdn-example.com", "::1");

        // Hostile servers: an endless body and endless headers must cost bounded memory and time.
        let endless = Behaviour::EndlessBody {
            cert: b.cert(&host("endless")),
        };
        b.site(&host("endless"), V4_ONLY, Some(endless), None, None).await;
        let flood = Behaviour::HeaderFlood {
            cert: b.cert(&host("headerflood")),
        };
        b.site(&host("headerflood"), V4_ONLY, Some(flood), None, None).await;

        // TLS 1.0 still enabled: openssl s_server on 127.0.0.1, published as an IPv4-only site.
        let legacy_cert = b.cert(&host("tls10"));
        let legacy = LegacyTlsServer::start(&legacy_cert, dir.path()).await;
        b.zones.a(&host("tls10"), "127.0.0.1");
        let http_port = b
            .plain_http(Page::redirect(&format!("https://{}:{}/", host("tls10"), legacy.port)))
            .await;
        b.sites.insert(
            host("tls10"),
            Site {
                host: host("tls10"),
                https_port: legacy.port,
                http_port,
                v4: Arc::default(),
                v6: Arc::default(),
            },
        );
        b.order.push(host("tls10"));

        // DNS-only cases: no servers behind them.
        b.zones.servfail(&host("servfail"));
        b.zones.silent(&host("silent"));
        for label in ["nx", "servfail", "silent"] {
            b.sites.insert(
                host(label),
                Site {
                    host: host(label),
                    https_port: 443,
                    http_port: 80,
                    v4: Arc::default(),
                    v6: Arc::default(),
                },
            );
            b.order.push(host(label));
        }

        let dns = DnsServer::start(b.zones).await;
        let root_path = dir.path().join("lab-root.pem");
        std::fs::write(&root_path, &b.pki.root_pem).expect("write root");

        let mut yaml = format!(
            "# Generated by the lab harness.\ndefaults:\n  timeout: {LAB_TIMEOUT}\n  concurrency: 64\nresolver:\n  servers: [\"127.0.0.1:{port}\"]\n  ns_port: {port}\ntrust:\n  extra_roots: [\"{root}\"]\n  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]\ntargets:\n",
            port = dns.port,
            root = root_path.display()
        );
        let mut urls = Vec::new();
        for name in &b.order {
            let site = &b.sites[name];
            let url = site.url();
            yaml.push_str(&format!("  - url: \"{url}\"\n    http_url: \"http://{}:{}/\"\n    name: \"Lab {name}\"\n    agency: \"Sở Khoa học và Công nghệ\"\n    category: state_portal\n", site.host, site.http_port));
            urls.push(url);
        }
        let config_path = dir.path().join("lab-targets.yaml");
        std::fs::write(&config_path, yaml).expect("write lab config");
        Lab {
            dir,
            dns,
            sites: b.sites,
            root_path,
            config_path,
            urls,
            tasks: b.tasks,
            _legacy: legacy,
        }
    }

    pub fn site(&self, host: &str) -> &Site {
        &self.sites[host]
    }

    /// A targets file with just one lab site and the name-server port; resolver, ranges and
    /// roots are left for command-line flags to supply.
    pub fn single_site_config(&self, host: &str) -> PathBuf {
        let site = self.site(host);
        let yaml = format!(
            "resolver:\n  ns_port: {}\ntargets:\n  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n",
            self.dns.port,
            self.url_of(host),
            site.host,
            site.http_port
        );
        let path = self.dir.path().join(format!("{host}.yaml"));
        std::fs::write(&path, yaml).expect("write single-site config");
        path
    }

    /// Command-line flags that point vnready at the lab: resolver, accepted ranges, root, timeout.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--resolver".into(),
            self.dns.addr().to_string(),
            "--accept-range".into(),
            "127.0.0.0/8".into(),
            "--accept-range".into(),
            "::1/128".into(),
            "--extra-root".into(),
            self.root_path.display().to_string(),
            "--timeout".into(),
            LAB_TIMEOUT.into(),
        ]
    }

    /// The lab URL of one site, as a user would write it.
    pub fn url_of(&self, host: &str) -> String {
        self.site(host).url()
    }
}
