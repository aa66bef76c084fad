//! The check catalogue: stable ids (used as metric labels, in JSON, reports and `--require`),
//! titles in both languages, and which probes each check needs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::invalid::invalid_value;

/// Every check vnready knows. The string ids are a contract; never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    DnsResolves,
    Ipv6Aaaa,
    Ipv6Reachable,
    Ipv6SameContent,
    Ipv6Ns,
    DomainVn,
    DomainGovVn,
    TlsValid,
    TlsExpiry,
    TlsModern,
    TlsChainComplete,
    HttpsRedirect,
    HttpsHsts,
    DnsDnssec,
    HttpUp,
    MailIpv6,
    MailStarttls,
    Ipv6Only,
    ContentClean,
    Ipv6Pmtu,
    RoutingRpki,
    HttpSecurityHeaders,
    HttpCsp,
    HttpSecurityTxt,
    MailSpf,
    MailDmarc,
    MailDkim,
    MailMtaSts,
    MailTls,
    MailDane,
    TlsCiphers,
    TlsKeyExchange,
    TlsFeatures,
    DnsCaa,
    TlsDane,
    TlsOcspStapling,
}

/// The area a check belongs to: the text table groups its columns by area, and reports can
/// do the same. Read from the id's first word, so a new check needs no extra entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    Dns,
    Ipv6,
    Tls,
    Http,
    /// Security options of the page: headers, CSP, security.txt (a group of their own in
    /// tables and reports, as the SOC reads them together).
    Security,
    Mail,
    Content,
    Routing,
}

impl Area {
    /// Every area, in the order tables show them.
    pub const ALL: [Area; 8] = [
        Area::Dns,
        Area::Ipv6,
        Area::Tls,
        Area::Http,
        Area::Security,
        Area::Mail,
        Area::Content,
        Area::Routing,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Area::Dns => "DNS",
            Area::Ipv6 => "IPv6",
            Area::Tls => "TLS",
            Area::Http => "HTTP",
            Area::Security => "Security",
            Area::Mail => "Mail",
            Area::Content => "Content",
            Area::Routing => "Routing",
        }
    }

    /// The area of a check id by its first word ("tls.valid" → TLS), except the page's
    /// security options (`http.security_*`, `http.csp`); `None` for a word no area claims (a
    /// unit test keeps the catalogue free of those).
    pub fn of_key(key: &str) -> Option<Area> {
        if key.starts_with("http.security_") || key == "http.csp" {
            return Some(Area::Security);
        }
        match key.split('.').next()? {
            "dns" | "domain" => Some(Area::Dns),
            "ipv6" => Some(Area::Ipv6),
            "tls" => Some(Area::Tls),
            "http" | "https" => Some(Area::Http),
            "mail" => Some(Area::Mail),
            "content" => Some(Area::Content),
            "routing" => Some(Area::Routing),
            _ => None,
        }
    }
}

/// Which probes to run. `--only` narrows this so a certificate sweep does no name-server or
/// legacy-TLS work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProbeSet {
    pub fetch: bool,
    /// The mail domain's MX set and its exchanges' addresses.
    pub mail: bool,
    /// An SMTP conversation with every exchange address (needs `mail`).
    pub smtp: bool,
    /// The mail domain's SPF, DMARC and DKIM records (needs `mail`).
    pub mail_auth: bool,
    /// STARTTLS and the TLS behind it on every exchange address of both families (needs
    /// `smtp`).
    pub mail_tls: bool,
    /// The exchanges' `_25._tcp` TLSA records, validated (needs `mail_tls`).
    pub mail_dane: bool,
    /// The MTA-STS record and policy and the TLS-RPT record (needs `mail`).
    pub mta_sts: bool,
    /// The deep TLS scan of every usable address (suites, groups, features), kept for
    /// `deep_interval`.
    pub tls_scan: bool,
    /// The site's `_443._tcp` TLSA records, validated, and the chains they must match.
    pub tls_dane: bool,
    /// The CAA record set found by walking up from the host.
    pub caa: bool,
    /// The page's resource hosts over IPv6 (needs `fetch`).
    pub resources: bool,
    /// The page once more as a search crawler (needs `fetch`).
    pub crawler: bool,
    pub plain_http: bool,
    pub legacy_tls: bool,
    pub zone: bool,
    pub dnssec: bool,
    /// On a fetch that stalls after connecting, the same request again with 1280-byte packets.
    pub pmtu: bool,
    /// The route origin and RPKI validity of every address of the site, its name servers and
    /// its MX hosts.
    pub routing: bool,
    /// `/.well-known/security.txt` on every usable address, on the page's connection (needs
    /// `fetch`).
    pub security_txt: bool,
}

impl ProbeSet {
    pub const ALL: ProbeSet = ProbeSet {
        fetch: true,
        mail: true,
        smtp: true,
        mail_auth: true,
        mail_tls: true,
        mail_dane: true,
        mta_sts: true,
        tls_scan: true,
        tls_dane: true,
        caa: true,
        resources: true,
        crawler: true,
        plain_http: true,
        legacy_tls: true,
        zone: true,
        dnssec: true,
        pmtu: true,
        routing: true,
        security_txt: true,
    };

    pub fn union(self, other: ProbeSet) -> ProbeSet {
        ProbeSet {
            fetch: self.fetch || other.fetch,
            mail: self.mail || other.mail,
            smtp: self.smtp || other.smtp,
            mail_auth: self.mail_auth || other.mail_auth,
            mail_tls: self.mail_tls || other.mail_tls,
            mail_dane: self.mail_dane || other.mail_dane,
            mta_sts: self.mta_sts || other.mta_sts,
            tls_scan: self.tls_scan || other.tls_scan,
            tls_dane: self.tls_dane || other.tls_dane,
            caa: self.caa || other.caa,
            resources: self.resources || other.resources,
            crawler: self.crawler || other.crawler,
            plain_http: self.plain_http || other.plain_http,
            legacy_tls: self.legacy_tls || other.legacy_tls,
            zone: self.zone || other.zone,
            dnssec: self.dnssec || other.dnssec,
            pmtu: self.pmtu || other.pmtu,
            routing: self.routing || other.routing,
            security_txt: self.security_txt || other.security_txt,
        }
    }
}

/// Catalogue entry: id, titles and the probes it reads.
pub struct CheckInfo {
    pub id: CheckId,
    pub key: &'static str,
    pub title_en: &'static str,
    pub title_vi: &'static str,
    /// What a failure means, in plain words for a report ("Chưa hỗ trợ IPv6"), not a check id.
    pub problem_en: &'static str,
    pub problem_vi: &'static str,
    pub needs: ProbeSet,
}

const NONE: ProbeSet = ProbeSet {
    fetch: false,
    mail: false,
    smtp: false,
    mail_auth: false,
    mail_tls: false,
    mail_dane: false,
    mta_sts: false,
    tls_scan: false,
    tls_dane: false,
    caa: false,
    resources: false,
    crawler: false,
    plain_http: false,
    legacy_tls: false,
    zone: false,
    dnssec: false,
    pmtu: false,
    routing: false,
    security_txt: false,
};
const FETCH: ProbeSet = ProbeSet { fetch: true, ..NONE };
const SMTP: ProbeSet = ProbeSet {
    mail: true,
    smtp: true,
    ..NONE
};
const MAIL_AUTH: ProbeSet = ProbeSet {
    mail: true,
    mail_auth: true,
    ..NONE
};
const TLS_SCAN: ProbeSet = ProbeSet { tls_scan: true, ..NONE };
const MAIL_TLS: ProbeSet = ProbeSet {
    mail: true,
    smtp: true,
    mail_tls: true,
    ..NONE
};

/// In the order reports list them.
pub const CATALOGUE: [CheckInfo; 36] = [
    CheckInfo {
        id: CheckId::DnsResolves,
        key: "dns.resolves",
        title_en: "Host resolves",
        title_vi: "Tên miền phân giải được",
        problem_en: "Host does not resolve",
        problem_vi: "Tên miền không phân giải được",
        needs: NONE,
    },
    CheckInfo {
        id: CheckId::Ipv6Aaaa,
        key: "ipv6.aaaa",
        title_en: "Has a global IPv6 address (AAAA)",
        title_vi: "Có địa chỉ IPv6 toàn cầu (AAAA)",
        problem_en: "No IPv6 support",
        problem_vi: "Chưa hỗ trợ IPv6",
        needs: NONE,
    },
    CheckInfo {
        id: CheckId::Ipv6Reachable,
        key: "ipv6.reachable",
        title_en: "Reachable over IPv6",
        title_vi: "Truy cập được qua IPv6",
        problem_en: "Not reachable over IPv6",
        problem_vi: "Không truy cập được qua IPv6",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::Ipv6SameContent,
        key: "ipv6.same_content",
        title_en: "Same content over IPv6 and IPv4",
        title_vi: "Nội dung IPv6 giống IPv4",
        problem_en: "Different content over IPv6",
        problem_vi: "Nội dung qua IPv6 khác IPv4",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::Ipv6Ns,
        key: "ipv6.ns",
        title_en: "Name servers answer over IPv6",
        title_vi: "Máy chủ tên miền hỗ trợ IPv6",
        problem_en: "Name servers lack IPv6",
        problem_vi: "Máy chủ tên miền chưa hỗ trợ IPv6",
        needs: ProbeSet { zone: true, ..NONE },
    },
    CheckInfo {
        id: CheckId::DomainVn,
        key: "domain.vn",
        title_en: "Uses the national .vn domain",
        title_vi: "Sử dụng tên miền quốc gia .vn",
        problem_en: "Not on a .vn domain",
        problem_vi: "Chưa dùng tên miền .vn",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::DomainGovVn,
        key: "domain.gov_vn",
        title_en: "Uses .gov.vn",
        title_vi: "Sử dụng tên miền .gov.vn",
        problem_en: "Not on .gov.vn",
        problem_vi: "Chưa dùng tên miền .gov.vn",
        needs: NONE,
    },
    CheckInfo {
        id: CheckId::TlsValid,
        key: "tls.valid",
        title_en: "Valid TLS certificate",
        title_vi: "Chứng thư số TLS hợp lệ",
        problem_en: "Invalid TLS certificate",
        problem_vi: "Chứng thư số không hợp lệ",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::TlsExpiry,
        key: "tls.expiry",
        title_en: "Certificate not about to expire",
        title_vi: "Chứng thư số chưa sắp hết hạn",
        problem_en: "Certificate expiring soon",
        problem_vi: "Chứng thư số sắp hết hạn",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::TlsModern,
        key: "tls.modern",
        title_en: "Modern TLS only (1.2+)",
        title_vi: "Chỉ dùng TLS hiện đại (1.2 trở lên)",
        problem_en: "Old TLS 1.0/1.1 still accepted",
        problem_vi: "Vẫn chấp nhận TLS cũ 1.0/1.1",
        needs: ProbeSet {
            fetch: true,
            legacy_tls: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::TlsChainComplete,
        key: "tls.chain_complete",
        title_en: "Certificate chain complete",
        title_vi: "Chuỗi chứng thư đầy đủ",
        problem_en: "Missing intermediate certificate",
        problem_vi: "Thiếu chứng thư trung gian",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::HttpsRedirect,
        key: "https.redirect",
        title_en: "http:// redirects to https://",
        title_vi: "Tự chuyển http:// sang https://",
        problem_en: "No redirect to HTTPS",
        problem_vi: "Chưa tự chuyển sang HTTPS",
        needs: ProbeSet {
            plain_http: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::HttpsHsts,
        key: "https.hsts",
        title_en: "HSTS for at least a year",
        title_vi: "Bật HSTS tối thiểu một năm",
        problem_en: "HSTS not enabled",
        problem_vi: "Chưa bật HSTS",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::DnsDnssec,
        key: "dns.dnssec",
        title_en: "DNSSEC signed and valid",
        title_vi: "Tên miền ký DNSSEC hợp lệ",
        problem_en: "DNSSEC not enabled",
        problem_vi: "Chưa ký DNSSEC",
        needs: ProbeSet { dnssec: true, ..NONE },
    },
    CheckInfo {
        id: CheckId::HttpUp,
        key: "http.up",
        title_en: "Site up on every address family",
        title_vi: "Trang hoạt động trên mọi họ địa chỉ",
        problem_en: "Site down",
        problem_vi: "Trang không hoạt động",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::MailIpv6,
        key: "mail.ipv6",
        title_en: "Mail servers reachable over IPv6",
        title_vi: "Máy chủ thư điện tử hỗ trợ IPv6",
        problem_en: "Mail not reachable over IPv6",
        problem_vi: "Thư điện tử chưa hỗ trợ IPv6",
        needs: SMTP,
    },
    CheckInfo {
        id: CheckId::MailStarttls,
        key: "mail.starttls",
        title_en: "Mail servers offer STARTTLS",
        title_vi: "Máy chủ thư điện tử hỗ trợ STARTTLS",
        problem_en: "Mail sent unencrypted (no STARTTLS)",
        problem_vi: "Thư điện tử không mã hoá (thiếu STARTTLS)",
        needs: SMTP,
    },
    CheckInfo {
        id: CheckId::Ipv6Only,
        key: "ipv6.only",
        title_en: "Works for IPv6-only users",
        title_vi: "Dùng được khi chỉ có IPv6",
        problem_en: "Not usable over IPv6 alone",
        problem_vi: "Chưa dùng được khi chỉ có IPv6",
        needs: ProbeSet {
            fetch: true,
            zone: true,
            resources: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::ContentClean,
        key: "content.clean",
        title_en: "No injected gambling content, hidden links or cloaking",
        title_vi: "Không bị chèn nội dung cờ bạc, liên kết ẩn",
        problem_en: "Injected gambling content",
        problem_vi: "Bị chèn nội dung cờ bạc",
        needs: ProbeSet {
            fetch: true,
            crawler: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::Ipv6Pmtu,
        key: "ipv6.pmtu",
        title_en: "Full-size packets get through over IPv6 (no path-MTU blackhole)",
        title_vi: "Gói tin kích thước đầy đủ đi qua được IPv6 (không nghẽn MTU)",
        problem_en: "IPv6 path-MTU blackhole",
        problem_vi: "Đường truyền IPv6 chặn gói tin lớn (nghẽn MTU)",
        needs: ProbeSet {
            fetch: true,
            pmtu: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::RoutingRpki,
        key: "routing.rpki",
        title_en: "Routes of the site, name servers and mail servers are RPKI-valid",
        title_vi: "Tuyến định tuyến của trang, máy chủ tên miền và thư hợp lệ RPKI",
        problem_en: "Route not RPKI-valid",
        problem_vi: "Tuyến định tuyến chưa hợp lệ RPKI",
        needs: ProbeSet {
            routing: true,
            zone: true,
            mail: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::HttpSecurityHeaders,
        key: "http.security_headers",
        title_en: "Security headers (framing, nosniff, referrer policy) on every address",
        title_vi: "Tiêu đề bảo mật (chống nhúng khung, nosniff, chính sách referrer) trên mọi địa chỉ",
        problem_en: "Security headers missing",
        problem_vi: "Thiếu tiêu đề bảo mật",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::HttpCsp,
        key: "http.csp",
        title_en: "Strict Content-Security-Policy",
        title_vi: "Chính sách bảo mật nội dung (CSP) chặt chẽ",
        problem_en: "No strict Content-Security-Policy",
        problem_vi: "Chưa có chính sách CSP chặt chẽ",
        needs: FETCH,
    },
    CheckInfo {
        id: CheckId::HttpSecurityTxt,
        key: "http.security_txt",
        title_en: "security.txt tells whom to report to (RFC 9116)",
        title_vi: "Có security.txt chỉ nơi báo cáo lỗ hổng (RFC 9116)",
        problem_en: "No valid security.txt",
        problem_vi: "Chưa có security.txt hợp lệ",
        needs: ProbeSet {
            fetch: true,
            security_txt: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::MailSpf,
        key: "mail.spf",
        title_en: "SPF names the domain's mail servers (-all or ~all)",
        title_vi: "Có bản ghi SPF khai báo máy chủ gửi thư (-all hoặc ~all)",
        problem_en: "Mail from the domain can be forged (SPF)",
        problem_vi: "Thư mạo danh tên miền chưa bị chặn (SPF)",
        needs: MAIL_AUTH,
    },
    CheckInfo {
        id: CheckId::MailDmarc,
        key: "mail.dmarc",
        title_en: "DMARC quarantines or rejects forged mail",
        title_vi: "DMARC cách ly hoặc từ chối thư mạo danh",
        problem_en: "Forged mail is still delivered (DMARC)",
        problem_vi: "Thư mạo danh vẫn được chuyển (DMARC)",
        needs: MAIL_AUTH,
    },
    CheckInfo {
        id: CheckId::MailDkim,
        key: "mail.dkim",
        title_en: "DKIM keys published, and strong",
        title_vi: "Có khoá DKIM, đủ mạnh",
        problem_en: "No DKIM signing keys",
        problem_vi: "Chưa có khoá ký DKIM",
        needs: MAIL_AUTH,
    },
    CheckInfo {
        id: CheckId::MailMtaSts,
        key: "mail.mta_sts",
        title_en: "MTA-STS enforces TLS to every MX, and TLS-RPT reports failures",
        title_vi: "MTA-STS bắt buộc TLS tới mọi MX, có TLS-RPT báo lỗi",
        problem_en: "Mail to the domain can be downgraded to plain text (MTA-STS)",
        problem_vi: "Thư gửi tới tên miền có thể bị hạ xuống không mã hoá (MTA-STS)",
        needs: ProbeSet {
            mail: true,
            mta_sts: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::MailTls,
        key: "mail.tls",
        title_en: "Every mail server address speaks TLS 1.2+ with sound suites",
        title_vi: "Mọi địa chỉ máy chủ thư dùng TLS 1.2+ với bộ mã an toàn",
        problem_en: "Mail servers accept weak TLS",
        problem_vi: "Máy chủ thư chấp nhận TLS yếu",
        needs: MAIL_TLS,
    },
    CheckInfo {
        id: CheckId::MailDane,
        key: "mail.dane",
        title_en: "DANE (TLSA in a signed zone) pins every mail server's certificate",
        title_vi: "DANE (TLSA trong vùng ký DNSSEC) gắn chứng thư mọi máy chủ thư",
        problem_en: "Mail servers' certificates do not match DANE",
        problem_vi: "Chứng thư máy chủ thư không khớp DANE",
        needs: ProbeSet {
            mail_dane: true,
            ..MAIL_TLS
        },
    },
    CheckInfo {
        id: CheckId::TlsCiphers,
        key: "tls.ciphers",
        title_en: "Only good cipher suites on every address",
        title_vi: "Chỉ dùng bộ mã an toàn trên mọi địa chỉ",
        problem_en: "Weak cipher suites accepted",
        problem_vi: "Chấp nhận bộ mã yếu",
        needs: TLS_SCAN,
    },
    CheckInfo {
        id: CheckId::TlsKeyExchange,
        key: "tls.key_exchange",
        title_en: "Key exchange on strong groups, no SHA-1 signatures",
        title_vi: "Trao đổi khoá trên nhóm mạnh, không ký SHA-1",
        problem_en: "Weak key exchange (DH size, groups or SHA-1)",
        problem_vi: "Trao đổi khoá yếu (kích thước DH, nhóm hoặc SHA-1)",
        needs: TLS_SCAN,
    },
    CheckInfo {
        id: CheckId::TlsFeatures,
        key: "tls.features",
        title_en: "Secure renegotiation, extended master secret, no compression",
        title_vi: "Thương lượng lại an toàn, extended master secret, không nén",
        problem_en: "Unsafe TLS options (renegotiation, EMS, compression)",
        problem_vi: "Tuỳ chọn TLS không an toàn (thương lượng lại, EMS, nén)",
        needs: TLS_SCAN,
    },
    CheckInfo {
        id: CheckId::DnsCaa,
        key: "dns.caa",
        title_en: "CAA names the CAs that may issue for the site",
        title_vi: "CAA chỉ định CA được cấp chứng thư cho trang",
        problem_en: "Any CA may issue certificates for the site (CAA)",
        problem_vi: "CA nào cũng cấp được chứng thư cho trang (CAA)",
        needs: ProbeSet { caa: true, ..NONE },
    },
    CheckInfo {
        id: CheckId::TlsDane,
        key: "tls.dane",
        title_en: "DANE (TLSA in a signed zone) pins the site's certificate",
        title_vi: "DANE (TLSA trong vùng ký DNSSEC) gắn chứng thư của trang",
        problem_en: "The site's certificate does not match DANE",
        problem_vi: "Chứng thư của trang không khớp DANE",
        needs: ProbeSet {
            fetch: true,
            tls_dane: true,
            ..NONE
        },
    },
    CheckInfo {
        id: CheckId::TlsOcspStapling,
        key: "tls.ocsp_stapling",
        title_en: "A valid OCSP staple on every address",
        title_vi: "Có phản hồi OCSP đính kèm hợp lệ trên mọi địa chỉ",
        problem_en: "No valid OCSP staple",
        problem_vi: "Chưa đính kèm phản hồi OCSP hợp lệ",
        needs: FETCH,
    },
];

impl CheckId {
    /// Every check, in catalogue order.
    pub fn all() -> Vec<CheckId> {
        CATALOGUE.iter().map(|info| info.id).collect()
    }

    pub fn info(self) -> &'static CheckInfo {
        // The catalogue lists the checks in declaration order, so the index is a direct hit;
        // the scan only guards a reordering (`/metrics` asks this for every line).
        match CATALOGUE.get(self as usize) {
            Some(info) if info.id == self => info,
            _ => CATALOGUE.iter().find(|info| info.id == self).unwrap_or(&CATALOGUE[0]),
        }
    }

    /// The area the check belongs to, for grouping.
    pub fn area(self) -> Area {
        Area::of_key(self.as_str()).unwrap_or(Area::Content)
    }

    /// The stable string id, e.g. "ipv6.aaaa".
    pub fn as_str(self) -> &'static str {
        self.info().key
    }

    pub fn parse(text: &str) -> Option<CheckId> {
        CATALOGUE
            .iter()
            .find(|info| info.key == text.trim())
            .map(|info| info.id)
    }

    /// Parses "a,b,c" and names the first unknown id along with the valid ones.
    pub fn parse_list(text: &str) -> Result<Vec<CheckId>, String> {
        let mut ids = Vec::new();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let id = CheckId::parse(part).ok_or_else(|| {
                let known: Vec<&str> = CATALOGUE.iter().map(|info| info.key).collect();
                format!("unknown check {part:?}; known checks: {}", known.join(", "))
            })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The probes needed to run these checks.
    pub fn probes_for(ids: &[CheckId]) -> ProbeSet {
        ids.iter().fold(NONE, |set, id| set.union(id.info().needs))
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CheckId::parse(&text).ok_or_else(|| {
            invalid_value(
                &text,
                &format!("unknown check {text:?}: expected an id from docs/checks.md, e.g. ipv6.aaaa"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut keys: Vec<&str> = CATALOGUE.iter().map(|i| i.key).collect();
        for info in &CATALOGUE {
            assert_eq!(CheckId::parse(info.key), Some(info.id));
        }
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), CATALOGUE.len());
    }

    #[test]
    fn certificate_sweep_needs_no_ns_or_legacy_work() {
        let probes = CheckId::probes_for(&[CheckId::TlsValid, CheckId::TlsExpiry]);
        assert!(probes.fetch);
        assert!(!probes.zone && !probes.legacy_tls && !probes.dnssec && !probes.plain_http);
    }

    #[test]
    fn every_check_belongs_to_an_area() {
        for info in &CATALOGUE {
            assert!(Area::of_key(info.key).is_some(), "{} has no area", info.key);
        }
        assert_eq!(CheckId::TlsValid.area(), Area::Tls);
        assert_eq!(CheckId::HttpsHsts.area(), Area::Http);
        assert_eq!(CheckId::DomainVn.area(), Area::Dns);
        assert_eq!(CheckId::HttpUp.area(), Area::Http);
        assert_eq!(CheckId::HttpCsp.area(), Area::Security);
        assert_eq!(CheckId::HttpSecurityTxt.area(), Area::Security);
    }

    #[test]
    fn unknown_ids_are_named() {
        let err = CheckId::parse_list("tls.valid,ipv6.magic").unwrap_err();
        assert!(err.contains("ipv6.magic") && err.contains("ipv6.aaaa"));
    }
}
