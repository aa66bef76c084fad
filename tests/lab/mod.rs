//! A small province on loopback: an authoritative DNS server, HTTPS and HTTP servers on
//! 127.0.0.1 and ::1 with certificates from a CA made at test time, and one site per failure
//! mode that real government sites show. Nothing here leaves the machine: addresses the lab
//! publishes but does not serve (documentation, IPv4-mapped) are never probed by vnready.

#![allow(dead_code)]

pub mod dns;
pub mod nsd;
pub mod pki;
pub mod postfix;
pub mod web;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use dns::{DnsServer, ZoneData};
use pki::{LabPki, OpensslPki, ServedCert, Validity};
use web::{bind_pair, serve, write_served, Behaviour, Counters, LegacyTlsServer, OpensslServer, Page};

pub const ZONE: &str = "lab.gov.vn";
pub const CDN_ZONE: &str = "cdn-example.com";
pub const NO_AAAA_ZONE: &str = "noaaaa.vn";
pub const NS_NOROUTE_ZONE: &str = "nsnoroute.vn";
/// The per-target timeout the lab runs with: long enough for loopback, short enough that the
/// hanging cases finish quickly.
pub const LAB_TIMEOUT: &str = "3s";

/// Sites whose case is not about time but whose work, in a debug build on a busy 2-core
/// machine, can outlast [`LAB_TIMEOUT`]: reading a megabyte twice (page and crawler), and
/// asking twenty resource hosts after the page came back.
const GENEROUS_TIMEOUT: [&str; 2] = ["endless", "v6manyhosts"];
/// A second IPv6 address on the loopback interface, for sites with two AAAA records.
pub const SECOND_V6: &str = "fd00:76e::2";
/// A loopback address outside the lab's accepted ranges: a redirect to it must never connect.
pub const INTERNAL_V4: &str = "127.0.0.2";
/// A documentation prefix the lab accepts but routes nowhere (`unreachable`): what a monitor
/// without IPv6 connectivity sees.
pub const UNROUTED_V6_NET: &str = "2001:db8:76e::/48";
pub const UNROUTED_V6: &str = "2001:db8:76e::1";
/// The ranges the lab accepts as usable.
pub const ACCEPT_RANGES: [&str; 4] = ["127.0.0.1/32", "::1/128", "fd00:76e::/64", UNROUTED_V6_NET];

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

/// What the every-address cases hand back to the lab.
struct EveryAddressCases {
    internal: Arc<Counters>,
    openssl_ca_pem: String,
}

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
    _openssl: Vec<OpensslServer>,
    /// Counts connections to [`INTERNAL_V4`]: redirects there must never reach it.
    pub internal: Arc<Counters>,
    /// Which page `newscript` serves: 0 without, 1 with a new third-party script host.
    pub script_switch: Arc<std::sync::atomic::AtomicUsize>,
    /// A targets file (interval 1s) of [`FLAPPING_SITES`] sites whose status changes on every
    /// audit; they are not in [`Lab::config_path`], so other tests see a steady lab.
    pub flapping_config_path: PathBuf,
    /// A targets file (interval 1s) of the `toggle6` site alone: dual-stack, its IPv6 server
    /// answering 200 or 503 as [`Lab::toggle_v6`] says (0 up, 1 down).
    pub toggle_config_path: PathBuf,
    pub toggle_v6: Arc<std::sync::atomic::AtomicUsize>,
}

/// How many sites the flapping config lists.
pub const FLAPPING_SITES: usize = 8;

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
    openssl: Vec<OpensslServer>,
}

/// Runs `ip` with `args`; "File exists" counts as done, so labs can start in parallel.
pub fn ip_command(args: &[&str]) {
    let output = std::process::Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2 is installed by the test command");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || stderr.contains("File exists") || stderr.contains("already assigned"),
        "ip {args:?} failed (the lab needs root for a second loopback address and an unreachable route): {stderr}"
    );
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
        self.site_on(host, addresses, (https4, https6, https_port), v4, v6, plain)
            .await
    }

    /// [`Builder::site`] on listeners already bound.
    async fn site_on(
        &mut self,
        host: &str,
        addresses: Addresses,
        listeners: (tokio::net::TcpListener, tokio::net::TcpListener, u16),
        v4: Option<Behaviour>,
        v6: Option<Behaviour>,
        plain: Option<Page>,
    ) -> (u16, u16) {
        let (https4, https6, https_port) = listeners;
        let counters4 = Arc::new(Counters::default());
        let counters6 = Arc::new(Counters::default());
        if let Some(behaviour) = v4 {
            self.tasks.push(serve(https4, behaviour, counters4.clone()));
        }
        if let Some(behaviour) = v6 {
            self.tasks.push(serve(https6, behaviour, counters6.clone()));
        }
        let plain = plain.unwrap_or_else(|| Page::redirect(&format!("https://{host}:{https_port}/")));
        let http_port = self.plain_http(plain.clone(), plain).await;
        self.publish(host, addresses, (https_port, http_port), (counters4, counters6));
        (https_port, http_port)
    }

    /// Serves plain HTTP on 127.0.0.1 and ::1 (one page per family); returns the shared port.
    async fn plain_http(&mut self, page4: Page, page6: Page) -> u16 {
        let (http4, http6, http_port) = bind_pair().await;
        self.tasks.push(serve(
            http4,
            Behaviour::Http { page: page4 },
            Arc::new(Counters::default()),
        ));
        self.tasks.push(serve(
            http6,
            Behaviour::Http { page: page6 },
            Arc::new(Counters::default()),
        ));
        http_port
    }

    /// Publishes a site's addresses in DNS and records it with its (https, http) ports and its
    /// listeners' (IPv4, IPv6) counters.
    fn publish(
        &mut self,
        host: &str,
        addresses: Addresses,
        ports: (u16, u16),
        counters: (Arc<Counters>, Arc<Counters>),
    ) {
        for ip in [addresses.a, addresses.aaaa].into_iter().flatten() {
            self.zones.a(host, ip);
        }
        let (https_port, http_port) = ports;
        let (v4, v6) = counters;
        self.sites.insert(
            host.to_string(),
            Site {
                host: host.to_string(),
                https_port,
                http_port,
                v4,
                v6,
            },
        );
        self.order.push(host.to_string());
    }

    /// A v4-only site whose one HTTPS address answers 200 and 503 in turn. Its plain-HTTP page
    /// answers itself rather than redirecting, so each audit makes exactly one HTTPS request and
    /// the status flips on every audit. Not added to the main lab config.
    async fn flapping(&mut self, host: &str) {
        let behaviour = Behaviour::Alternating {
            cert: self.cert(host),
            pages: Arc::new([
                Page::ok(&page("Cổng"), Some(HSTS_YEAR)),
                Page::status(503, "<html><title>503</title>Service Unavailable</html>"),
            ]),
            served: Arc::default(),
        };
        let plain = Page::ok(&page("Cổng"), None);
        self.site(host, V4_ONLY, Some(behaviour), None, Some(plain)).await;
        self.order.retain(|listed| listed != host);
    }

    /// `toggle6` (not in the lab's targets file): IPv4 always serves the page, IPv6 serves it
    /// or answers 503 as the returned switch says.
    async fn toggle_site(&mut self) -> Arc<std::sync::atomic::AtomicUsize> {
        let site = host("toggle6");
        let current = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let v6 = Behaviour::Switchable {
            cert: self.cert(&site),
            pages: Arc::new([
                Page::ok(&page("Cổng dịch vụ công"), Some(HSTS_YEAR)),
                Page::status(503, "<html><title>503</title>Service Unavailable</html>"),
            ]),
            current: current.clone(),
        };
        let v4 = self.good_page(&site);
        self.site(&site, DUAL, Some(v4), Some(v6), None).await;
        self.unlist(&site);
        current
    }

    /// Takes a host out of the lab's targets file: it only serves other sites' resources.
    fn unlist(&mut self, host: &str) {
        self.order.retain(|listed| listed != host);
    }

    /// A dual-stack site whose page is `html`.
    async fn site_with_html(&mut self, host: &str, html: &str) {
        let behaviour = Behaviour::Https {
            cert: self.cert(host),
            page: Page::ok(html, Some(HSTS_YEAR)),
        };
        self.site(host, DUAL, Some(behaviour.clone()), Some(behaviour), None)
            .await;
    }

    /// `ipv6.only`: pages whose resources come from a host with IPv6, a host without AAAA, a
    /// host whose IPv6 hangs, and more hosts than the cap (21 plain-HTTP hosts on one listener).
    async fn ipv6_only_cases(&mut self) {
        let cdn = host("res-cdn6");
        let (cdn_port, _) = self.healthy(&cdn, DUAL).await;
        self.unlist(&cdn);
        let v4 = host("res-v4");
        let (v4_port, _) = self.healthy(&v4, V4_ONLY).await;
        self.unlist(&v4);
        let hang = host("res-hang6");
        let good = self.good_page(&hang);
        let (hang_port, _) = self.site(&hang, DUAL, Some(good), Some(Behaviour::Hang), None).await;
        self.unlist(&hang);
        let cap_port = self.plain_http(Page::ok("ok", None), Page::ok("ok", None)).await;
        for i in 1..=21 {
            self.zones.a(&host(&format!("res-cap{i}")), "::1");
        }
        let with_head = |head: String| {
            format!(
                "<html><head><title>Cổng</title>{head}</head><body><h1>Cổng</h1>{}</body></html>",
                page("Cổng")
            )
        };
        let ready = with_head(format!(
            "<link rel=\"stylesheet\" href=\"https://{cdn}:{cdn_port}/site.css\"><script src=\"https://{cdn}:{cdn_port}/app.js\"></script>"
        ));
        self.site_with_html(&host("v6ready"), &ready).await;
        let script4 = with_head(format!("<script src=\"https://{v4}:{v4_port}/app.js\"></script>"));
        self.site_with_html(&host("v6script4"), &script4).await;
        let css_hang = with_head(format!(
            "<link rel=\"stylesheet\" href=\"https://{hang}:{hang_port}/site.css\">"
        ));
        self.site_with_html(&host("v6csshang"), &css_hang).await;
        let many: String = (1..=21)
            .map(|i| format!("<img src=\"http://{}:{cap_port}/i.png\">", host(&format!("res-cap{i}"))))
            .collect();
        self.site_with_html(&host("v6manyhosts"), &with_head(many)).await;
    }

    /// `content.clean`: clean Vietnamese pages with look-alike words, prose about gambling,
    /// injected spam (accented and not), a hidden block of betting links, and cloaking.
    async fn content_cases(&mut self) {
        let html = |title: &str, body: &str| {
            format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>")
        };
        let news = "<p>Tin tức sự kiện của tỉnh.</p><p>Thông báo lịch tiếp công dân tháng 12.</p>";
        let pages = [
            ("cleanfish", html("Chi cục Thủy sản", "<h1>Hội nghề cá tỉnh</h1><p>Người nuôi cá lồng trên sông được tập huấn; sản lượng đánh bắt cá tăng. Cá tra, cá rô phi được giá.</p>")),
            ("cleanschool", html("Trường THPT", "<p>Thầy cô dành cả cuộc đời cho học trò.</p><p>Nhà trường nhắc học sinh tuyệt đối không để lộ đề thi; mọi phát ngôn đều tránh xa cờ bạc.</p>")),
            ("policereport", html("Công an tỉnh", "<p>Công an tỉnh triệt phá đường dây cá độ bóng đá qua mạng, bắt giữ 12 đối tượng tổ chức cá cược với số tiền hơn 50 tỷ đồng.</p>")),
            ("injected", html("Sở Tư pháp", &format!("{news}<p>Nhà cái uy tín hàng đầu, nạp tiền nhận thưởng 100%, link vào mới nhất.</p>"))),
            ("unaccented", html("UBND xã", &format!("{news}<p>NHA CAI UY TIN - CA CUOC BONG DA - LINK VAO</p>"))),
            ("hiddenbets", html("Sở Nội vụ", &format!("{news}<div style=\"position:absolute;left:-9999px\"><a href=\"https://bet-spam.example/\">casino trực tuyến</a> <a href=\"https://bet-spam.example/x\">game bài đổi thưởng</a></div>"))),
        ];
        for (label, body) in pages {
            self.site_with_html(&host(label), &body).await;
        }
        let cloaked = host("cloaked");
        // It also closes every connection after one answer, so the crawler cannot ask on the
        // page's connection and must open its own.
        let mut normal = Page::ok(&html("Sở Công Thương", news), Some(HSTS_YEAR));
        normal.headers.push(("connection".into(), "close".into()));
        let spam = Page::ok(
            &html(
                "Sở Công Thương",
                &format!("{news}<p>soi cầu lô đề miễn phí, tài xỉu online</p>"),
            ),
            Some(HSTS_YEAR),
        );
        let behaviour = Behaviour::Cloaking {
            cert: self.cert(&cloaked),
            page: normal,
            crawler_page: spam,
        };
        self.site(&cloaked, DUAL, Some(behaviour.clone()), Some(behaviour), None)
            .await;
    }

    /// `newscript` (not in the lab's targets file): a portal page that gains a third-party
    /// script when the test flips the returned switch.
    async fn switchable_script_site(&mut self) -> Arc<std::sync::atomic::AtomicUsize> {
        let site = host("newscript");
        let html = |extra: &str| {
            Page::ok(
                &format!("<html><head><title>Cổng</title>{extra}</head><body><p>Tin tức</p></body></html>"),
                Some(HSTS_YEAR),
            )
        };
        let current = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let behaviour = Behaviour::Switchable {
            cert: self.cert(&site),
            pages: Arc::new([
                html("<script src=\"/js/app.js\"></script>"),
                html("<script src=\"/js/app.js\"></script><script src=\"https://cdn.bet-tracker.example/t.js\"></script>"),
            ]),
            current: current.clone(),
        };
        self.site(&site, DUAL, Some(behaviour.clone()), Some(behaviour), None)
            .await;
        self.unlist(&site);
        current
    }

    /// A good page over https on `host`, for redirect cases.
    fn good_page(&self, host: &str) -> Behaviour {
        Behaviour::Https {
            cert: self.cert(host),
            page: Page::ok(&page("Cổng thông tin điện tử"), Some(HSTS_YEAR)),
        }
    }

    /// A site whose every address redirects (https) to `location`.
    async fn redirecting(&mut self, host: &str, addresses: Addresses, location: &str) {
        let behaviour = Behaviour::Https {
            cert: self.cert(host),
            page: Page::redirect(location),
        };
        self.site(host, addresses, Some(behaviour.clone()), Some(behaviour), None)
            .await;
    }

    /// An openssl-served site on both families (same port), with the default plain redirect.
    async fn openssl_site(&mut self, host: &str, files: &web::ServedFiles, args: &[&str], addresses: Addresses) {
        let mut port = 0;
        for _ in 0..20 {
            let v4 = OpensslServer::start("127.0.0.1", 0, files, args).await;
            if addresses.aaaa.is_none() {
                port = v4.port;
                self.openssl.push(v4);
                break;
            }
            // The same port on ::1 may have been taken meanwhile: try another pair.
            if let Some(v6) = OpensslServer::try_start("::1", v4.port, files, args).await {
                port = v4.port;
                self.openssl.push(v4);
                self.openssl.push(v6);
                break;
            }
        }
        assert_ne!(port, 0, "no port free on both 127.0.0.1 and ::1 for openssl s_server");
        let redirect = Page::redirect(&format!("https://{host}:{port}/"));
        let http_port = self.plain_http(redirect.clone(), redirect).await;
        self.publish(host, addresses, (port, http_port), Default::default());
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

    /// A dual-stack site that serves the healthy page over IPv4 and `v6_page` over IPv6.
    async fn split_site(&mut self, host: &str, v6_page: Page) {
        let cert = self.cert(host);
        let v4 = Behaviour::Https {
            cert: cert.clone(),
            page: Page::ok(&page("Cổng thông tin điện tử"), Some(HSTS_YEAR)),
        };
        let v6 = Behaviour::Https { cert, page: v6_page };
        self.site(host, DUAL, Some(v4), Some(v6), None).await;
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
            openssl: Vec::new(),
        };

        b.zones.zone(ZONE, &["ns1.lab.gov.vn", "ns2.lab.gov.vn"]);
        for ns in ["ns1.lab.gov.vn", "ns2.lab.gov.vn"] {
            b.zones.a(ns, "127.0.0.1");
            b.zones.a(ns, "::1");
        }
        // The lab zone sends no mail (no MX) and says so, as a state body's zone must
        // (mail.spf and mail.dmarc are required for state portals).
        b.zones.txt(ZONE, &["v=spf1 -all"]);
        b.zones.txt(&format!("_dmarc.{ZONE}"), &["v=DMARC1; p=reject"]);
        // The CAs that may issue for the province's sites, as a compliant zone names them.
        b.zones.add(
            ZONE,
            hickory_proto::rr::RData::CAA(hickory_proto::rr::rdata::CAA::new_issue(
                false,
                Some(hickory_proto::rr::Name::from_ascii("ca.lab.gov.vn").expect("name")),
                Vec::new(),
            )),
        );
        b.zones.zone(CDN_ZONE, &["ns1.lab.gov.vn", "ns2.lab.gov.vn"]);
        b.zones.zone(NO_AAAA_ZONE, &["ns1.noaaaa.vn", "ns2.noaaaa.vn"]);
        b.zones.a("ns1.noaaaa.vn", "127.0.0.1");
        b.zones.a("ns2.noaaaa.vn", "127.0.0.1");
        // Name servers whose AAAA this monitor has no route to (a monitor without IPv6).
        b.zones.zone(NS_NOROUTE_ZONE, &["ns1.nsnoroute.vn", "ns2.nsnoroute.vn"]);
        for (ns, v6) in [
            ("ns1.nsnoroute.vn", "2001:db8:76e::53"),
            ("ns2.nsnoroute.vn", "2001:db8:76e::54"),
        ] {
            b.zones.a(ns, "127.0.0.1");
            b.zones.a(ns, v6);
        }

        b.healthy(&host("good"), DUAL).await;
        b.healthy(&host("v4only"), V4_ONLY).await;
        b.healthy(&host("v6only"), V6_ONLY).await;
        b.healthy("www.noaaaa.vn", DUAL).await;
        b.healthy("www.nsnoroute.vn", DUAL).await;
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

        b.split_site(
            &host("v6diff"),
            Page::ok(
                "<html><head><title>IIS Windows Server</title></head><body>Welcome</body></html>",
                Some(HSTS_YEAR),
            ),
        )
        .await;

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
        let cross_signed = b.pki.leaf_with_expired_cross_sign(&host("crosssigned"));
        b.with_cert(&host("crosssigned"), cross_signed).await;

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
        // A year of HSTS over IPv4, max-age=0 (HSTS switched off) over IPv6.
        b.split_site(
            &host("hstsv6zero"),
            Page::ok(&page("Cổng thông tin điện tử"), Some("max-age=0")),
        )
        .await;

        let (portal_port, _) = b.healthy("portal.cdn-example.com", DUAL).await;
        let offvn = Behaviour::Https {
            cert: b.cert(&host("offvn")),
            page: Page::redirect(&format!("https://portal.cdn-example.com:{portal_port}/")),
        };
        b.site(&host("offvn"), DUAL, Some(offvn.clone()), Some(offvn), None)
            .await;

        // A 200 page whose meta refresh sends browsers off .vn at once.
        let meta = Behaviour::Https {
            cert: b.cert(&host("metarefresh")),
            page: Page::ok(
                &format!(
                    "<html><head><meta http-equiv=\"refresh\" content=\"0; url=https://portal.cdn-example.com:{portal_port}/\"></head><body>Đang chuyển trang…</body></html>"
                ),
                Some(HSTS_YEAR),
            ),
        };
        b.site(&host("metarefresh"), DUAL, Some(meta.clone()), Some(meta), None)
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
        let legacy_redirect = Page::redirect(&format!("https://{}:{}/", host("tls10"), legacy.port));
        let http_port = b.plain_http(legacy_redirect.clone(), legacy_redirect).await;
        b.publish(&host("tls10"), V4_ONLY, (legacy.port, http_port), Default::default());

        // Every address, every hop, every family (issue 9).
        let every = Self::every_address_cases(&mut b, dir.path()).await;
        b.ipv6_only_cases().await;
        b.content_cases().await;
        let script_switch = b.switchable_script_site().await;
        let toggle_v6 = b.toggle_site().await;

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

        let flapping: Vec<String> = (1..=FLAPPING_SITES).map(|i| host(&format!("flap{i}"))).collect();
        for name in &flapping {
            b.flapping(name).await;
        }

        let dns = DnsServer::start(b.zones).await;
        let root_path = dir.path().join("lab-root.pem");
        std::fs::write(&root_path, format!("{}{}", b.pki.root_pem, every.openssl_ca_pem)).expect("write root");

        let mut yaml = format!(
            "# Generated by the lab harness.\ndefaults:\n  timeout: {LAB_TIMEOUT}\n  concurrency: 64\nresolver:\n  servers: [\"127.0.0.1:{port}\"]\n  ns_port: {port}\ntrust:\n  extra_roots: [\"{root}\"]\n  accept_ranges: [{ranges}]\ntargets:\n",
            port = dns.port,
            root = root_path.display(),
            ranges = ACCEPT_RANGES.map(|r| format!("\"{r}\"")).join(", ")
        );
        let mut urls = Vec::new();
        for name in &b.order {
            let site = &b.sites[name];
            let url = site.url();
            yaml.push_str(&format!("  - url: \"{url}\"\n    http_url: \"http://{}:{}/\"\n    name: \"Lab {name}\"\n    agency: \"Sở Khoa học và Công nghệ\"\n    category: state_portal\n", site.host, site.http_port));
            if GENEROUS_TIMEOUT.iter().any(|label| *name == host(label)) {
                yaml.push_str("    timeout: 15s\n");
            }
            urls.push(url);
        }
        let config_path = dir.path().join("lab-targets.yaml");
        std::fs::write(&config_path, &yaml).expect("write lab config");
        let header = &yaml[..yaml.find("targets:\n").expect("targets key")];
        let mut flapping_yaml = header.replacen("defaults:\n", "defaults:\n  interval: 1s\n", 1);
        flapping_yaml.push_str("targets:\n");
        for name in &flapping {
            let site = &b.sites[name];
            flapping_yaml.push_str(&format!(
                "  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n",
                site.url(),
                site.host,
                site.http_port
            ));
        }
        let flapping_config_path = dir.path().join("lab-flapping.yaml");
        std::fs::write(&flapping_config_path, flapping_yaml).expect("write flapping config");
        let toggle = &b.sites[&host("toggle6")];
        let toggle_yaml = format!(
            "{}targets:\n  - url: \"{}\"\n    http_url: \"http://{}:{}/\"\n    category: state_portal\n",
            header.replacen("defaults:\n", "defaults:\n  interval: 1s\n", 1),
            toggle.url(),
            toggle.host,
            toggle.http_port
        );
        let toggle_config_path = dir.path().join("lab-toggle.yaml");
        std::fs::write(&toggle_config_path, toggle_yaml).expect("write toggle config");
        Lab {
            dir,
            dns,
            sites: b.sites,
            root_path,
            config_path,
            urls,
            tasks: b.tasks,
            _legacy: legacy,
            _openssl: b.openssl,
            internal: every.internal,
            flapping_config_path,
            script_switch,
            toggle_config_path,
            toggle_v6,
        }
    }

    /// The sites behind the rule "a pass holds on every address, every hop, every family":
    /// each breaks on one address, one family or one redirect hop only.
    async fn every_address_cases(b: &mut Builder, dir: &std::path::Path) -> EveryAddressCases {
        ip_command(&["-6", "addr", "add", &format!("{SECOND_V6}/128"), "dev", "lo", "nodad"]);
        ip_command(&["-6", "route", "add", "unreachable", UNROUTED_V6_NET]);

        // 200 over IPv4, 503 over IPv6; and 503 on both families.
        let unavailable = Page::status(503, "<html><title>503</title>Service Unavailable</html>");
        b.split_site(&host("v6status"), unavailable).await;
        let both = Behaviour::Https {
            cert: b.cert(&host("bothdown")),
            page: Page::status(503, "<html><title>503</title>Service Unavailable</html>"),
        };
        b.site(&host("bothdown"), DUAL, Some(both.clone()), Some(both), None)
            .await;

        // https://hopexpired redirects to another host whose certificate has expired.
        let expired_port = b.sites[&host("expired")].https_port;
        b.redirecting(
            &host("hopexpired"),
            DUAL,
            &format!("https://{}:{expired_port}/", host("expired")),
        )
        .await;

        // https:// answers 301 to http:// (a downgrade) that then serves the page.
        let (https4, https6, https_port) = bind_pair().await;
        let (http4, http6, http_port) = bind_pair().await;
        let downgrade = Behaviour::Https {
            cert: b.cert(&host("downgrade")),
            page: Page::redirect(&format!("http://{}:{http_port}/home", host("downgrade"))),
        };
        for (listener, behaviour) in [
            (https4, downgrade.clone()),
            (https6, downgrade),
            (
                http4,
                Behaviour::Http {
                    page: Page::ok(&page("Cổng"), None),
                },
            ),
            (
                http6,
                Behaviour::Http {
                    page: Page::ok(&page("Cổng"), None),
                },
            ),
        ] {
            b.tasks.push(serve(listener, behaviour, Arc::new(Counters::default())));
        }
        b.publish(&host("downgrade"), DUAL, (https_port, http_port), Default::default());

        // Redirects into internal addresses: an IP literal, and a name that resolves to one.
        // A listener on 127.0.0.2 counts connections: there must be none.
        let internal = Arc::new(Counters::default());
        let internal_listener = tokio::net::TcpListener::bind((INTERNAL_V4, 0))
            .await
            .expect("bind 127.0.0.2");
        let internal_port = internal_listener.local_addr().expect("bound").port();
        b.tasks.push(serve(
            internal_listener,
            Behaviour::Http {
                page: Page::ok("<html>internal</html>", None),
            },
            internal.clone(),
        ));
        b.redirecting(
            &host("internal"),
            DUAL,
            &format!("http://{INTERNAL_V4}:{internal_port}/latest/meta-data/"),
        )
        .await;
        b.zones.a(&host("intranet"), INTERNAL_V4);
        b.zones.a(&host("intranet"), &format!("::ffff:{INTERNAL_V4}"));
        b.redirecting(
            &host("internalname"),
            DUAL,
            &format!("http://{}:{internal_port}/", host("intranet")),
        )
        .await;

        // A portal sending users to a login host with two AAAA, the second one dead.
        let (sso_port, _) = b.healthy(&host("ssomulti"), DUAL).await;
        b.unlist(&host("ssomulti"));
        b.zones.a(&host("ssomulti"), SECOND_V6);
        b.redirecting(
            &host("hopmulti"),
            DUAL,
            &format!("https://{}:{sso_port}/login", host("ssomulti")),
        )
        .await;

        // Redirect to a host off .vn that does not exist.
        b.redirecting(&host("offvndown"), DUAL, "https://gone.cdn-example.com/")
            .await;

        // Port 80 redirects over IPv4 but serves the page in plain HTTP over IPv6.
        let (https4, https6, https_port) = bind_pair().await;
        let redirect = Page::redirect(&format!("https://{}:{https_port}/", host("plainv6")));
        let http_port = b.plain_http(redirect, Page::ok(&page("Cổng"), None)).await;
        let good = b.good_page(&host("plainv6"));
        b.tasks.push(serve(https4, good.clone(), Arc::new(Counters::default())));
        b.tasks.push(serve(https6, good, Arc::new(Counters::default())));
        b.publish(&host("plainv6"), DUAL, (https_port, http_port), Default::default());

        // Two AAAA records; the second serves another page.
        let (https4, https6, https_port) = bind_pair().await;
        let second = tokio::net::TcpListener::bind((SECOND_V6, https_port))
            .await
            .expect("bind the second loopback IPv6 address");
        let good = b.good_page(&host("twov6"));
        let other = Behaviour::Https {
            cert: b.cert(&host("twov6")),
            page: Page::ok(
                "<html><head><title>Default Web Site Page</title></head><body>It works</body></html>",
                Some(HSTS_YEAR),
            ),
        };
        b.tasks.push(serve(second, other, Arc::new(Counters::default())));
        b.site_on(
            &host("twov6"),
            DUAL,
            (https4, https6, https_port),
            Some(good.clone()),
            Some(good),
            None,
        )
        .await;
        b.zones.a(&host("twov6"), SECOND_V6);

        // TLS 1.0 accepted on the IPv6 address only.
        let cert = b.cert(&host("tls10v6"));
        let files = write_served(&cert, dir, "tls10v6");
        let mut pair = None;
        for _ in 0..20 {
            let (https4, https6, https_port) = bind_pair().await;
            drop(https6);
            let legacy = ["-cipher", "DEFAULT:@SECLEVEL=0"];
            if let Some(server) = OpensslServer::try_start("::1", https_port, &files, &legacy).await {
                pair = Some((https4, https_port, server));
                break;
            }
        }
        let (https4, https_port, server) = pair.expect("a port free on both 127.0.0.1 and ::1");
        b.openssl.push(server);
        b.tasks.push(serve(
            https4,
            Behaviour::Https {
                cert: cert.clone(),
                page: Page::ok(&page("Cổng"), Some(HSTS_YEAR)),
            },
            Arc::new(Counters::default()),
        ));
        let redirect = Page::redirect(&format!("https://{}:{https_port}/", host("tls10v6")));
        let http_port = b.plain_http(redirect.clone(), redirect).await;
        b.publish(&host("tls10v6"), DUAL, (https_port, http_port), Default::default());

        // badssl-style servers rustls cannot talk to, or certificates it must refuse.
        let cert = b.cert(&host("cbconly"));
        let files = write_served(&cert, dir, "cbconly");
        b.openssl_site(
            &host("cbconly"),
            &files,
            &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
            DUAL,
        )
        .await;
        let legacy_pki = OpensslPki::new(dir);
        let openssl_pki_sites: [(&str, u32, &str, &[&str]); 3] = [
            (
                "nullonly",
                2048,
                "sha256",
                &["-tls1_2", "-cipher", "NULL-SHA256:@SECLEVEL=0"],
            ),
            ("rsa1024", 1024, "sha256", &["-cipher", "DEFAULT:@SECLEVEL=0"]),
            ("sha1", 2048, "sha1", &["-cipher", "DEFAULT:@SECLEVEL=0"]),
        ];
        for (label, bits, digest, args) in openssl_pki_sites {
            let (cert, key) = legacy_pki.leaf(&host(label), bits, digest);
            let files = web::ServedFiles { cert, chain: None, key };
            b.openssl_site(&host(label), &files, args, V4_ONLY).await;
        }
        // 10,000 names: a ~200 KB certificate message (rustls' server refuses to load it).
        let huge = b.pki.huge_leaf(&host("hugecert"), 10_000);
        let files = write_served(&huge, dir, "hugecert");
        b.openssl_site(&host("hugecert"), &files, &[], V4_ONLY).await;

        // Revocation through the issuing CA's CRL (served at crl.lab.gov.vn): one leaf listed as
        // revoked, one not, one whose CRL server is down.
        const REVOKED_SERIAL: u64 = 0x7e57_0001;
        let crl_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind crl");
        let crl_port = crl_listener.local_addr().expect("bound").port();
        b.tasks.push(serve(
            crl_listener,
            Behaviour::Http {
                page: Page::bytes(b.pki.crl(&[REVOKED_SERIAL]), "application/pkix-crl"),
            },
            Arc::new(Counters::default()),
        ));
        b.zones.a(&host("crl"), "127.0.0.1");
        let crl_url = format!("http://{}:{crl_port}/issuing.crl", host("crl"));
        let revoked = b.pki.leaf_with_crl(&host("revoked"), &crl_url, REVOKED_SERIAL);
        b.with_cert(&host("revoked"), revoked).await;
        let not_revoked = b.pki.leaf_with_crl(&host("crlgood"), &crl_url, 0x7e57_0002);
        b.with_cert(&host("crlgood"), not_revoked).await;
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("bound")
            .port();
        let down_url = format!("http://{}:{closed_port}/issuing.crl", host("crl"));
        let unreachable = b.pki.leaf_with_crl(&host("crldown"), &down_url, 0x7e57_0003);
        b.with_cert(&host("crldown"), unreachable).await;

        // Round-robin members that are not public (never connected to: not usable).
        b.healthy(&host("mixedrr"), DUAL).await;
        b.zones.a(&host("mixedrr"), "10.11.12.13");
        b.zones.a(&host("mixedrr"), "fd00:dead::1");

        // A monitor with no route to the site's IPv6 address.
        b.healthy(
            &host("noroute"),
            Addresses {
                a: Some("127.0.0.1"),
                aaaa: Some(UNROUTED_V6),
            },
        )
        .await;

        EveryAddressCases {
            internal,
            openssl_ca_pem: legacy_pki.ca_pem,
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
        let mut flags = vec!["--resolver".into(), self.dns.addr().to_string()];
        for range in ACCEPT_RANGES {
            flags.push("--accept-range".into());
            flags.push(range.into());
        }
        flags.extend([
            "--extra-root".into(),
            self.root_path.display().to_string(),
            "--timeout".into(),
            LAB_TIMEOUT.into(),
        ]);
        flags
    }

    /// The lab URL of one site, as a user would write it.
    pub fn url_of(&self, host: &str) -> String {
        self.site(host).url()
    }
}
