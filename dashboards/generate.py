#!/usr/bin/env python3
"""Generates vnready's Grafana dashboards (dashboards/*.json) from plain Python.

Dashboards as code without a library: the JSON model is small, and keeping every query in
one place makes it easy to keep them in step with docs/metrics.md. Run after editing:

    python3 dashboards/generate.py

The end-to-end test (tests/e2e.rs) runs every query below against a real Prometheus.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}

# Every per-target query is joined with target_info so the agency/category/district/target
# variables filter it.
INFO = ('vnready_target_info{agency=~"$agency",category=~"$category",'
        'district=~"$district",target=~"$target"}')


def f(expr):
    """Filters a per-target series by the dashboard variables."""
    return f"({expr}) * on (target) group_left () {INFO}"


def variable(name, label, query, multi=True, include_all=True):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"var-{name}"},
        "definition": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": include_all,
        "allValue": ".*" if include_all else None,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {},
        "sort": 1,
    }


def common_variables(target_multi=True):
    return [
        {
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "refresh": 1,
        },
        variable("agency", "Agency / Cơ quan", "label_values(vnready_target_info, agency)"),
        variable("category", "Category / Lĩnh vực",
                 'label_values(vnready_target_info{agency=~"$agency"}, category)'),
        variable("district", "District / Địa bàn",
                 'label_values(vnready_target_info{agency=~"$agency",category=~"$category"}, district)'),
        variable("target", "Target / Trang",
                 'label_values(vnready_target_info{agency=~"$agency",category=~"$category",district=~"$district"}, target)',
                 multi=target_multi, include_all=target_multi),
    ]


class Layout:
    """Places panels on Grafana's 24-column grid, left to right, top to bottom."""

    def __init__(self):
        self.x = 0
        self.y = 0
        self.row_height = 0
        self.next_id = 1

    def place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_height
            self.row_height = 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_height = max(self.row_height, h)
        pid = self.next_id
        self.next_id += 1
        return pid, pos


def panel(layout, kind, title, targets, w=12, h=8, unit=None, description="", options=None,
          transformations=None, mappings=None, table=False):
    pid, pos = layout.place(w, h)
    defaults = {}
    if unit:
        defaults["unit"] = unit
    if mappings:
        defaults["mappings"] = mappings
    out = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": pos,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DS,
                "expr": expr,
                "legendFormat": legend,
                "instant": table,
                "range": not table,
                "format": "table" if table else "time_series",
            }
            for i, (expr, legend) in enumerate(targets)
        ],
    }
    if transformations:
        out["transformations"] = transformations
    return out


def row(layout, title):
    """A row header across the grid (no query of its own)."""
    layout.x = 24
    pid, pos = layout.place(24, 1)
    return {"id": pid, "type": "row", "title": title, "collapsed": False, "gridPos": pos, "panels": [],
            "targets": []}


# Outages drawn over every time series of a site: where a family's probe failed.
OUTAGE_ANNOTATION = {
    "name": "Outages / Gián đoạn",
    "datasource": DS,
    "enable": True,
    "iconColor": "red",
    "expr": 'vnready_probe_success{target="$target"} == 0',
    "step": "60s",
    "titleFormat": "{{ip_family}} down / gián đoạn",
    "textFormat": "{{target}}",
    "useValueForTime": False,
}


def dashboard(uid, title, panels, variables, description, annotations=None):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["vnready"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-7d", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": annotations or []},
        "links": [{"type": "dashboards", "tags": ["vnready"], "title": "vnready", "asDropdown": True}],
        "panels": panels,
    }


# A site failing on both families (ipv6.reachable = error, 3) is not counted as IPv6-broken.
V6_SUCCESS = ('(vnready_probe_success{ip_family="ipv6"} unless on (target) '
              'vnready_check_status{check="ipv6.reachable"} == 3)')
V6_HAS_AAAA = 'clamp_max(vnready_dns_addresses{ip_family="ipv6"}, 1)'
# A check passes when its status is 0 (pass) or 1 (warn); skipped checks have no series.
NS_PASSED = 'vnready_check_status{check="ipv6.ns"} <= bool 1'
IPV6_ONLY_PASSED = 'vnready_check_status{check="ipv6.only"} <= bool 1'
CONTENT_SPAM = 'vnready_check_status{check="content.clean"} == 2'
CONTENT_WARN = 'vnready_check_status{check="content.clean"} == 1'
MAIL_PASSED = 'vnready_check_status{check="mail.ipv6"} <= bool 1'
PMTU_BLACKHOLE = 'vnready_check_status{check="ipv6.pmtu"} == 2'
RPKI_INVALID = 'vnready_check_status{check="routing.rpki"} == 2'
RPKI_NOT_FOUND = 'vnready_check_status{check="routing.rpki"} == 1'
SECURITY_OPTIONS = ("http.security_headers", "http.csp", "http.security_txt")
MAIL_AUTHENTICATION = ("mail.spf", "mail.dmarc", "mail.dkim")
MAIL_TRANSPORT = ("mail.tls", "mail.mta_sts", "mail.dane")
TLS_DEPTH = ("tls.ciphers", "tls.key_exchange", "tls.features", "dns.caa")


def passing(check):
    """1 for each site whose check passed outright (0), 0 while it warns, fails or errs."""
    return 'vnready_check_status{check="' + check + '"} == bool 0'


CHECK_PASSED = 'vnready_check_status <= bool 1'

STATUS_MAPPINGS = [{
    "type": "value",
    "options": {
        "0": {"text": "pass / đạt", "color": "green", "index": 0},
        "1": {"text": "warn / cảnh báo", "color": "yellow", "index": 1},
        "2": {"text": "fail / không đạt", "color": "red", "index": 2},
        "3": {"text": "error / không kiểm tra được", "color": "purple", "index": 3},
        "4": {"text": "skip / không áp dụng", "color": "gray", "index": 4},
    },
}]


# Shown across the top of the overview: IPv6 figures from a monitor without IPv6 mean nothing.
MONITOR_IPV6_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "This monitor has NO IPv6: IPv6 results are not tested / Máy giám sát KHÔNG có IPv6: "
                  "kết quả IPv6 không được kiểm tra", "color": "red", "index": 0},
    "1": {"text": "Monitor has IPv6 / Máy giám sát có IPv6", "color": "green", "index": 1}}}]


def overview():
    l = Layout()
    panels = [
        panel(l, "stat", "Monitor IPv6 / IPv6 của máy giám sát",
              [("min(vnready_monitor_ipv6_up)", "monitor IPv6")], w=24, h=3, mappings=MONITOR_IPV6_MAPPINGS,
              description="vnready_monitor_ipv6_up: whether the monitor itself has a route to the IPv6 Internet. "
                          "At 0 every IPv6 check is 'not tested' and the province's IPv6 figures must not be read.",
              options={"colorMode": "background", "graphMode": "none", "textMode": "value"}),
        panel(l, "stat", "Sites / Số trang", [(f"count({INFO})", "sites")], w=4, h=4),
        panel(l, "stat", "Compliant sites / Trang đạt yêu cầu",
              [(f"sum({f('vnready_target_compliant')})", "compliant")], w=4, h=4),
        panel(l, "stat", "Province compliance / Tỷ lệ tuân thủ toàn tỉnh",
              [(f"avg({f('vnready_target_compliance_ratio')})", "ratio")], w=4, h=4, unit="percentunit"),
        panel(l, "stat", "Sites reachable over IPv6 / Trang truy cập được qua IPv6",
              [(f"sum({f(V6_SUCCESS)})", "IPv6")], w=4, h=4),
        panel(l, "stat", "New problems in 24 h / Lỗi mới trong 24 giờ",
              [(f"count(({f('vnready_check_last_change_timestamp_seconds')}) > time() - 86400) or vector(0)",
                "new problems")], w=8, h=4,
              description="Checks that began to warn, fail or err in the last 24 hours and still do."),
        panel(l, "stat", "IPv6-only ready / Sẵn sàng chỉ dùng IPv6",
              [(f"sum({f(IPV6_ONLY_PASSED)})", "ready"), (f"count({f(IPV6_ONLY_PASSED)})", "audited")],
              w=6, h=4,
              description="Sites a user with IPv6 and nothing else can use: page, name servers and every "
                          "resource host over IPv6 (check ipv6.only). The 2030 target is all state systems."),
        panel(l, "stat", "Mail over IPv6 / Thư điện tử qua IPv6",
              [(f"sum({f(MAIL_PASSED)})", "working"), (f"count({f(MAIL_PASSED)})", "with mail")],
              w=6, h=4, description="Sites whose mail domain's MX hosts answer SMTP over IPv6 (mail.ipv6)."),
        panel(l, "stat", "Injected content (SOC) / Trang bị chèn nội dung (SOC)",
              [(f"count({f(CONTENT_SPAM)}) or vector(0)", "spam"),
               (f"count({f(CONTENT_WARN)}) or vector(0)", "to review")],
              w=6, h=4,
              description="content.clean: gambling spam, hidden betting links or cloaking (fail), and pages "
                          "with gambling words in prose only (warn, to review). The site page names the words."),
        panel(l, "stat", "Network under the sites / Hạ tầng mạng",
              [(f"count({f(PMTU_BLACKHOLE)}) or vector(0)", "IPv6 path-MTU blackholes"),
               (f"count({f(RPKI_INVALID)}) or vector(0)", "RPKI-invalid routes"),
               (f"count({f(RPKI_NOT_FOUND)}) or vector(0)", "routes without ROA")],
              w=6, h=4,
              description="ipv6.pmtu fails: the site's IPv6 path drops full-size packets (ICMPv6 Packet Too Big "
                          "filtered). routing.rpki fails: a route of the site, its name servers or mail servers "
                          "is RPKI-invalid; warns: no ROA covers it. The site page names address, prefix and AS."),
        panel(l, "stat", "Security options (SOC) / Tùy chọn bảo mật (SOC)",
              [(f"sum({f(passing(check))})", check) for check in SECURITY_OPTIONS],
              w=6, h=4,
              description="Sites passing each security option on every address: framing, nosniff and referrer "
                          "policy headers (http.security_headers), a strict Content-Security-Policy header "
                          "(http.csp), a valid RFC 9116 security.txt (http.security_txt). The site page names "
                          "each header and the address that lacks it."),
        panel(l, "stat", "Mail that cannot be spoofed / Chống giả mạo thư",
              [(f"sum({f(passing(check))})", check) for check in MAIL_AUTHENTICATION],
              w=6, h=4,
              description="Sites whose mail domain passes SPF (one record ending in -all or ~all within 10 "
                          "lookups), DMARC (p=quarantine or p=reject) and DKIM (keys published and strong). "
                          "A domain that sends no mail passes only with v=spf1 -all and p=reject."),
        panel(l, "stat", "Mail read in transit? / Thư được mã hoá khi truyền",
              [(f"sum({f(passing(check))})", check) for check in MAIL_TRANSPORT],
              w=6, h=4,
              description="Sites whose mail domain's MX hosts speak TLS 1.2+ without weak suites on every "
                          "address of both families (mail.tls), publish an enforced MTA-STS policy covering "
                          "every MX with TLS-RPT (mail.mta_sts), and pin their certificates with DNSSEC-signed "
                          "TLSA records (mail.dane)."),
        panel(l, "table", "Hosts blocking IPv6-only users / Máy chủ tài nguyên chưa hỗ trợ IPv6",
              [(f"{f('vnready_ipv6_only_blocking_hosts')}", "")],
              w=6, h=4, table=True,
              description="Per site, how many hosts its page loads from fail over IPv6 alone; the site page names them.",
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True},
                                                               "renameByName": {"Value": "blocking hosts"}}},
                               {"id": "sortBy", "options": {"sort": [{"field": "Value", "desc": True}]}}]),
        panel(l, "bargauge", "Plan goals: achieved vs target / Mục tiêu: đạt được so với chỉ tiêu",
              [("sum by (goal) (vnready_goal_met_targets) / sum by (goal) (vnready_goal_targets)",
                "{{goal}} achieved"),
               ("max by (goal) (vnready_goal_target_ratio)", "{{goal}} target")],
              w=12, h=8, unit="percentunit",
              description="Province-wide across shards. The deadline and titles are in the Goals table.",
              options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
              table=True),
        panel(l, "table", "Goals and deadlines / Mục tiêu và hạn",
              [("max by (goal, title, title_en, deadline) (vnready_goal_info)", "")],
              w=12, h=8, table=True,
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}]),
        panel(l, "bargauge", "Share of sites passing each check / Tỷ lệ trang đạt từng tiêu chí",
              [(f"avg by (check) ({f(CHECK_PASSED)})", "{{check}}")],
              w=12, h=10, unit="percentunit", table=True,
              options={"orientation": "horizontal", "displayMode": "gradient"}),
        panel(l, "table", "Sites passing / failing each check / Số trang đạt, không đạt từng tiêu chí",
              [(f"sum by (check) ({f(CHECK_PASSED)})", "passing"),
               (f"count by (check) ({f('vnready_check_status > 1')}) or sum by (check) ({f(CHECK_PASSED)}) * 0",
                "failing")],
              w=12, h=10, table=True,
              transformations=[{"id": "merge", "options": {}}]),
        panel(l, "bargauge", "Availability per family, 30 days / Tỷ lệ sẵn sàng theo họ địa chỉ, 30 ngày",
              [(f"avg by (ip_family) ({f('vnready:availability:ratio_30d')})", "{{ip_family}}")],
              w=12, h=6, unit="percentunit", table=True,
              options={"orientation": "horizontal", "displayMode": "gradient"},
              description="Mean over sites with addresses of the family. A portal up 99.9% over IPv4 and 97% "
                          "over IPv6 is not ready for IPv6-only users."),
        panel(l, "table", "Lowest availability, 30 days / Tỷ lệ sẵn sàng thấp nhất, 30 ngày",
              [(f"bottomk(10, {f('vnready:availability:ratio_30d')})", "")],
              w=12, h=6, unit="percentunit", table=True,
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}},
                               {"id": "sortBy", "options": {"sort": [{"field": "Value", "desc": False}]}}]),
        panel(l, "timeseries", "IPv6 adoption over time / Mức độ sử dụng IPv6 theo thời gian",
              [(f"avg({f(V6_HAS_AAAA)})", "has AAAA / có AAAA"),
               (f"avg({f(V6_SUCCESS)})", "reachable / truy cập được"),
               (f"avg({f(NS_PASSED)})", "name servers / máy chủ tên miền")],
              w=24, h=8, unit="percentunit"),
        panel(l, "bargauge", "Compliance by agency / Tỷ lệ tuân thủ theo cơ quan",
              [(f"avg by (agency) (vnready_target_compliance_ratio * on (target) group_left (agency) {INFO})",
                "{{agency}}")],
              w=12, h=10, unit="percentunit", table=True,
              options={"orientation": "horizontal", "displayMode": "gradient"}),
        panel(l, "table", "Sites by agency / Trang theo cơ quan",
              [(f"vnready_target_compliance_ratio * on (target) group_left (name, agency, category, district) {INFO}",
                "")],
              w=12, h=10, unit="percentunit", table=True,
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}},
                               {"id": "sortBy", "options": {"sort": [{"field": "Value", "desc": False}]}}]),
        panel(l, "table", "Problems that began in the last 24 hours / Lỗi phát sinh trong 24 giờ qua",
              [(f"(({f('vnready_check_last_change_timestamp_seconds')}) > time() - 86400) * 1000", ""),
               (f"({f('vnready_check_status')}) and on (target, check) "
                f"(({f('vnready_check_last_change_timestamp_seconds')}) > time() - 86400)", "")],
              w=24, h=10, unit="dateTimeAsIso", table=True,
              mappings=None,
              transformations=[{"id": "merge", "options": {}},
                               {"id": "organize", "options": {
                                   "excludeByName": {"Time": True},
                                   "renameByName": {"Value #A": "since / từ", "Value #B": "status / trạng thái"}}}]),
    ]
    return dashboard("vnready-overview", "vnready — Province overview / Tổng quan tỉnh", panels,
                     common_variables(), "Plan goals, checks, IPv6 adoption, agencies and recent changes.")


def site():
    l = Layout()
    t = 'target="$target"'
    panels = [
        panel(l, "stat", "Compliance / Tỷ lệ tuân thủ",
              [(f"vnready_target_compliance_ratio{{{t}}}", "ratio")], w=6, h=5, unit="percentunit"),
        panel(l, "stat", "Success per address family / Truy cập theo họ địa chỉ",
              [(f"vnready_probe_success{{{t}}}", "{{ip_family}}")], w=6, h=5,
              mappings=[{"type": "value", "options": {
                  "0": {"text": "down / lỗi", "color": "red"}, "1": {"text": "up / tốt", "color": "green"}}}]),
        panel(l, "stat", "Addresses / Địa chỉ", [(f"vnready_dns_addresses{{{t}}}", "{{ip_family}}")], w=6, h=5),
        panel(l, "stat", "Name servers with address / Máy chủ tên miền có địa chỉ",
              [(f"vnready_dns_name_servers{{{t}}}", "{{ip_family}}")], w=6, h=5),
        panel(l, "timeseries", "HTTP phases per family / Thời gian các bước theo họ địa chỉ",
              [(f"vnready_http_duration_seconds{{{t}}}", "{{ip_family}} {{phase}}")], w=12, h=8, unit="s"),
        panel(l, "timeseries", "Status codes / Mã trạng thái HTTP",
              [(f"vnready_http_status_code{{{t}}}", "{{ip_family}}")], w=12, h=8),
        panel(l, "state-timeline", "Checks over time / Trạng thái các tiêu chí",
              [(f"vnready_check_status{{{t}}}", "{{check}}")], w=24, h=12, mappings=STATUS_MAPPINGS,
              options={"showValue": "never", "mergeValues": True}),
        panel(l, "stat", "Certificate expires in / Chứng thư hết hạn sau",
              [(f"vnready_tls_cert_not_after_timestamp_seconds{{{t}}} - time()", "expires in")], w=6, h=5, unit="s"),
        panel(l, "stat", "Certificate valid / Chứng thư hợp lệ",
              [(f"vnready_tls_cert_valid{{{t}}}", "valid")], w=6, h=5,
              mappings=[{"type": "value", "options": {
                  "0": {"text": "invalid / không hợp lệ", "color": "red"},
                  "1": {"text": "valid / hợp lệ", "color": "green"}}}]),
        panel(l, "table", "Certificate and issuer / Chứng thư và tổ chức cấp",
              [(f"vnready_tls_cert_info{{{t}}}", "")],
              w=12, h=5, table=True,
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}]),
        panel(l, "stat", "Security options / Tùy chọn bảo mật",
              [(f'vnready_check_status{{{t},check="{check}"}}', check) for check in SECURITY_OPTIONS],
              w=24, h=4, mappings=STATUS_MAPPINGS,
              description="Headers, CSP and security.txt judged on every address of both families; the reason "
                          "(status page, report) names the address that differs.",
              options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"}),
        panel(l, "stat", "TLS depth / Chiều sâu TLS",
              [(f'vnready_check_status{{{t},check="{check}"}}', check) for check in TLS_DEPTH],
              w=18, h=4, mappings=STATUS_MAPPINGS,
              description="The deep TLS scan of every address of both families, as internet.nl and testssl.sh "
                          "judge a server: accepted suites and their order, key-exchange groups and DH size, "
                          "SHA-1 signing, secure renegotiation, extended master secret, compression, 0-RTT; and "
                          "the CAA set. The reason names the address; the scan is kept for deep_interval.",
              options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"}),
        panel(l, "stat", "Last TLS scan / Lần quét TLS gần nhất",
              [(f"vnready_tls_scan_timestamp_seconds{{{t}}} * 1000", "post-quantum: {{post_quantum}}")],
              w=6, h=4, unit="dateTimeFromNow",
              description="When the site's stalest address was last deep-scanned, and whether every address "
                          "selects the hybrid post-quantum group X25519MLKEM768."),
        panel(l, "stat", "Mail security / Bảo mật thư điện tử",
              [(f'vnready_check_status{{{t},check="{check}"}}', check)
               for check in MAIL_AUTHENTICATION + MAIL_TRANSPORT],
              w=24, h=4, mappings=STATUS_MAPPINGS,
              description="SPF, DMARC and DKIM of the site's mail domain, and the TLS, MTA-STS and DANE of its "
                          "MX hosts; the reason names the record, the host and the address that is wrong.",
              options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"}),
        panel(l, "table", "Failing since / Không đạt từ lúc",
              [(f"vnready_check_last_change_timestamp_seconds{{{t}}} * 1000", "")],
              w=24, h=10, unit="dateTimeAsIso", table=True),
        row(l, "Availability / Tỷ lệ sẵn sàng"),
        panel(l, "stat", "Availability, 30 days / Tỷ lệ sẵn sàng 30 ngày",
              [(f"vnready:availability:ratio_30d{{{t}}}", "{{ip_family}}")], w=8, h=5, unit="percentunit",
              description="Share of audits in which every address of the family served the site (recording "
                          "rule over vnready_probe_success). The monthly report gives the same from the store, "
                          "with the monitored share beside it."),
        panel(l, "stat", "Error budget left, 30 days / Ngân sách lỗi còn lại 30 ngày",
              [(f"vnready:slo_error_budget_remaining:ratio_30d{{{t}}}", "{{ip_family}}")], w=8, h=5,
              unit="percentunit",
              description="1 − (1 − availability) ÷ (1 − objective) for the category's slo: in targets.yaml; "
                          "below 0 the objective is missed. Empty when the category has no objective."),
        panel(l, "timeseries", "Availability, 1 and 7 days / Tỷ lệ sẵn sàng 1 và 7 ngày",
              [(f"vnready:availability:ratio_1d{{{t}}}", "{{ip_family}} 1d"),
               (f"vnready:availability:ratio_7d{{{t}}}", "{{ip_family}} 7d")],
              w=8, h=5, unit="percentunit",
              description="Outages are drawn over the time series as red annotations."),
    ]
    return dashboard("vnready-site", "vnready — Site drill-down / Chi tiết một trang", panels,
                     common_variables(target_multi=False),
                     "One site: per-family success and phases, status codes, every check over time, "
                     "certificate, addresses, name servers, availability and outages.",
                     annotations=[OUTAGE_ANNOTATION])


def certificates():
    l = Layout()
    panels = [
        panel(l, "table", "Invalid certificates / Chứng thư không hợp lệ",
              [(f"({f('vnready_tls_cert_valid')}) == 0", "")], w=24, h=8, table=True,
              description="Listed first: these sites already fail tls.valid.",
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}]),
        panel(l, "table", "Every certificate by expiry / Mọi chứng thư theo hạn",
              [(f"sort(({f('vnready_tls_cert_not_after_timestamp_seconds')}) - time())", ""),
               (f"{f('vnready_tls_cert_info')}", ""),
               (f"{f('vnready_tls_cert_valid')}", "")],
              w=24, h=14, unit="s", table=True,
              transformations=[{"id": "merge", "options": {}},
                               {"id": "organize", "options": {
                                   "excludeByName": {"Time": True},
                                   "renameByName": {"Value #A": "expires in / còn", "Value #C": "valid / hợp lệ"}}},
                               {"id": "sortBy", "options": {"sort": [{"field": "valid / hợp lệ", "desc": False}]}}]),
        panel(l, "stat", "Expiring within 21 days / Hết hạn trong 21 ngày",
              [(f"count((({f('vnready_tls_cert_not_after_timestamp_seconds')}) - time()) < 21 * 86400) or vector(0)",
                "21d")], w=8, h=4),
        panel(l, "stat", "Expiring within 7 days / Hết hạn trong 7 ngày",
              [(f"count((({f('vnready_tls_cert_not_after_timestamp_seconds')}) - time()) < 7 * 86400) or vector(0)",
                "7d")], w=8, h=4),
        panel(l, "stat", "Invalid / Không hợp lệ",
              [(f"count(({f('vnready_tls_cert_valid')}) == 0) or vector(0)", "invalid")], w=8, h=4),
    ]
    return dashboard("vnready-certificates", "vnready — Certificates / Chứng thư số", panels,
                     common_variables(), "Every certificate sorted by expiry, the invalid ones first.")


def main():
    """Writes the dashboards; with --check, fails if the committed JSON differs."""
    import sys
    check = "--check" in sys.argv[1:]
    stale = []
    for name, board in [("vnready-overview", overview()), ("vnready-site", site()),
                        ("vnready-certificates", certificates())]:
        text = json.dumps(board, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        path = os.path.join(HERE, f"{name}.json")
        if check:
            with open(path, encoding="utf-8") as existing:
                if existing.read() != text:
                    stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as out:
                out.write(text)
    if stale:
        sys.exit("dashboards out of date, run python3 dashboards/generate.py: " + ", ".join(stale))


if __name__ == "__main__":
    main()
