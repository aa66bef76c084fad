//! The status page the department opens: goals and progress, a table of sites that sorts and
//! filters through plain links and a GET form (no JavaScript), and a page per site with every
//! check, its reason and "since", and the observed addresses, certificate and timings.

use std::collections::HashMap;

use crate::checks::CheckId;
use crate::daemon::uptime::{FamilySummary, Summaries, BAR_DAYS};
use crate::daemon::Daemon;
use crate::history::snapshots::TargetSnapshot;
use crate::history::store::FamilyHistory;
use crate::history::uptime;
use crate::model::clock::unix_now;
use crate::probe::addr::IpFamily;
use crate::report::html::{self, escape};
use crate::report::{GroupBy, Lang, Report, SiteInput, SiteRow};

/// Picks the language: `?lang=` first, then Accept-Language, else Vietnamese.
pub fn language(params: &HashMap<String, String>, accept_language: Option<&str>) -> Lang {
    match params.get("lang").map(String::as_str) {
        Some("en") => Lang::En,
        Some("vi") => Lang::Vi,
        _ => accept_language.map(Lang::from_accept_language).unwrap_or_default(),
    }
}

/// The report model over the daemon's latest snapshots (owned targets only): the sites'
/// 30-day availability from `summaries`, and for the site `detail` names, its history (with
/// the outages).
pub fn current_report(
    daemon: &Daemon,
    lang: Lang,
    summaries: &Summaries,
    detail: Option<(&str, &[FamilyHistory])>,
) -> (Report, Vec<Option<std::sync::Arc<TargetSnapshot>>>) {
    let runtime = daemon.active();
    let owned: Vec<&crate::model::target::Target> = runtime
        .config
        .targets
        .iter()
        .filter(|t| daemon.shard.owns(t.shard_key()))
        .collect();
    let snapshots: Vec<Option<std::sync::Arc<TargetSnapshot>>> =
        owned.iter().map(|t| daemon.snapshots.get(&t.id)).collect();
    let inputs: Vec<SiteInput<'_>> = owned
        .iter()
        .zip(&snapshots)
        .map(|(target, snapshot)| SiteInput {
            target,
            checks: snapshot.as_ref().map(|s| s.verdict.checks.clone()).unwrap_or_default(),
            states: snapshot.as_ref().map(|s| s.states.clone()).unwrap_or_default(),
            audited_at: snapshot.as_ref().map(|s| s.audited_at),
            uptime: match detail {
                Some((wanted, history)) if wanted == target.id => history.to_vec(),
                _ => Vec::new(),
            },
        })
        .collect();
    let mut report = Report::build(&runtime.config, &inputs, lang, unix_now());
    for site in &mut report.sites {
        if detail.is_some_and(|(wanted, _)| wanted == site.target) {
            continue;
        }
        for summary in summaries.get(&site.target).into_iter().flatten() {
            if summary.recent.monitored_seconds > 0.0 {
                site.availability.insert(summary.family, summary.recent.clone());
            }
        }
    }
    (report, snapshots)
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn language_switch(lang: Lang, params: &HashMap<String, String>, path: &str) -> String {
    let (code, name) = lang.other_language();
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "lang")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort();
    pairs.push(("lang", code));
    format!(
        "<nav><a href=\"{}\" hreflang=\"{code}\" lang=\"{code}\">{name}</a><a href=\"/metrics\">/metrics</a></nav>",
        escape(&format!("{path}{}", query_string(&pairs)))
    )
}

/// Rows of the sites table per page.
const PAGE_ROWS: usize = 250;

/// The page asked for (1-based, clamped; anything unreadable is the first), the number of
/// pages, and the rows it shows.
fn paginate(total: usize, requested: &str) -> (usize, usize, std::ops::Range<usize>) {
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = requested.trim().parse::<usize>().unwrap_or(1).clamp(1, pages);
    (page, pages, (page - 1) * PAGE_ROWS..(page * PAGE_ROWS).min(total))
}

/// Sort keys the table offers.
const SORTS: [&str; 5] = ["site", "agency", "category", "compliance", "problems"];

/// The table's cell: per family, the 30-day figure and the 90-day bar.
fn table_availability(site: &SiteRow, summaries: Option<&Vec<FamilySummary>>, lang: Lang, now: f64) -> String {
    let families = [IpFamily::Ipv4, IpFamily::Ipv6].into_iter().filter_map(|family| {
        let summary = summaries?.iter().find(|s| s.family == family)?;
        Some((family, summary.daily()))
    });
    availability_blocks(site, families, lang, now)
}

/// The site page's block: per family, the 30-day figure and a 90-day bar.
fn site_availability(site: &SiteRow, history: &[FamilyHistory], lang: Lang, now: f64) -> String {
    let families = [IpFamily::Ipv4, IpFamily::Ipv6].into_iter().filter_map(|family| {
        let history = history.iter().find(|h| h.family == family)?;
        let cells = uptime::daily(Some(&history.coverage), &history.gaps, &history.outages, BAR_DAYS, now);
        Some((family, cells))
    });
    availability_blocks(site, families, lang, now)
}

fn availability_blocks(
    site: &SiteRow,
    families: impl Iterator<Item = (IpFamily, Vec<Option<f64>>)>,
    lang: Lang,
    now: f64,
) -> String {
    let mut out = String::new();
    for (family, cells) in families {
        let figure = site
            .availability
            .get(&family)
            .map(|a| lang.availability_text(a.ratio, a.monitored_ratio))
            .unwrap_or_else(|| lang.not_monitored().to_string());
        let label = format!("{} {}", family.label(), lang.availability());
        out.push_str(&format!(
            "<div class=\"avail\" data-family=\"{}\"><strong>{}</strong> {} <br>{}</div>",
            family.as_str(),
            family.label(),
            escape(&figure),
            html::history_bar(&label, &cells, now, lang)
        ));
    }
    if out.is_empty() {
        format!("<span class=\"muted\">{}</span>", lang.not_monitored())
    } else {
        out
    }
}

/// The overview page.
pub fn overview(daemon: &Daemon, params: &HashMap<String, String>, lang: Lang, summaries: &Summaries) -> String {
    let (report, _) = current_report(daemon, lang, summaries, None);
    let get = |key: &str| params.get(key).map(String::as_str).unwrap_or_default();
    let (agency, category, failing, search) = (get("agency"), get("category"), get("failing"), get("q"));
    let sort = SORTS.iter().find(|s| **s == get("sort")).copied().unwrap_or("problems");
    let descending = match get("dir") {
        "asc" => false,
        "desc" => true,
        _ => sort == "problems",
    };

    let mut sites: Vec<&SiteRow> = report
        .sites
        .iter()
        .filter(|s| agency.is_empty() || s.agency == agency)
        .filter(|s| category.is_empty() || s.category.as_str() == category)
        .filter(|s| failing.is_empty() || s.problems().iter().any(|p| p.id == failing))
        .filter(|s| {
            search.is_empty() || {
                let needle = search.to_lowercase();
                [&s.name, &s.host, &s.url, &s.agency, &s.district]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&needle))
            }
        })
        .collect();
    sites.sort_by(|a, b| {
        let order = match sort {
            "site" => a.display_name().to_lowercase().cmp(&b.display_name().to_lowercase()),
            "agency" => a.agency.cmp(&b.agency),
            "category" => a.category_name.cmp(&b.category_name),
            "compliance" => a
                .compliance_ratio
                .unwrap_or(-1.0)
                .total_cmp(&b.compliance_ratio.unwrap_or(-1.0)),
            _ => a.problems().len().cmp(&b.problems().len()),
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.display_name().cmp(b.display_name()))
    });

    let mut body = language_switch(lang, params, "/");
    body.push_str(&format!(
        "<h1>{}</h1><p class=\"muted\">{}: {}</p>",
        lang.status_page_title(),
        lang.generated(),
        lang.datetime(report.generated_at)
    ));
    body.push_str(&html::goals_section(&report));
    body.push_str(&html::groups_section(&report, GroupBy::Agency));
    body.push_str(&filters_form(
        &report, lang, agency, category, failing, search, sort, descending,
    ));

    let header_link = |key: &str, title: &str| {
        let next_dir = if key == sort && !descending { "desc" } else { "asc" };
        let href = format!(
            "/{}",
            query_string(&[
                ("lang", lang.code()),
                ("agency", agency),
                ("category", category),
                ("failing", failing),
                ("q", search),
                ("sort", key),
                ("dir", next_dir),
            ])
        );
        let mark = if key == sort {
            if descending {
                " ▼"
            } else {
                " ▲"
            }
        } else {
            ""
        };
        format!("<th><a href=\"{}\">{title}</a>{mark}</th>", escape(&href))
    };
    // A page of rows at a time: a province of thousands of sites stays a page a browser opens
    // at once (each row carries two 90-day bars).
    let total = sites.len();
    let (page, pages, rows) = paginate(total, get("page"));
    let sites = &sites[rows];
    let page_link = |to: usize, text: &str| {
        let number = to.to_string();
        let href = format!(
            "/{}",
            query_string(&[
                ("lang", lang.code()),
                ("agency", agency),
                ("category", category),
                ("failing", failing),
                ("q", search),
                ("sort", get("sort")),
                ("dir", get("dir")),
                ("page", &number),
            ])
        );
        format!(
            "<a href=\"{}\" rel=\"{}\">{text}</a>",
            escape(&href),
            if to < page { "prev" } else { "next" }
        )
    };
    let pager = if pages > 1 {
        let mut links = vec![lang.page_of(page, pages)];
        if page > 1 {
            links.push(page_link(page - 1, lang.previous_page()));
        }
        if page < pages {
            links.push(page_link(page + 1, lang.next_page()));
        }
        format!("<p class=\"pager\">{}</p>", links.join(" · "))
    } else {
        String::new()
    };
    body.push_str(&format!(
        "<h2>{} ({})</h2>{pager}<table id=\"sites\"><thead><tr>{}{}{}{}<th>{} (30 {})</th><th>{}</th>{}</tr></thead><tbody>",
        lang.sites(),
        total,
        header_link("site", lang.site()),
        header_link("agency", lang.agency()),
        header_link("category", lang.category()),
        header_link("compliance", lang.compliance()),
        lang.availability(),
        if lang == Lang::Vi { "ngày" } else { "days" },
        lang.security_options(),
        header_link("problems", lang.problems()),
    ));
    for site in sites {
        let href = format!(
            "/site{}",
            query_string(&[("target", &site.target), ("lang", lang.code())])
        );
        let problems: Vec<String> = site
            .problems()
            .iter()
            .map(|p| {
                let since = p
                    .since
                    .map(|t| {
                        format!(
                            " <span class=\"muted\">({} {})</span>",
                            lang.since().to_lowercase(),
                            lang.date(t)
                        )
                    })
                    .unwrap_or_default();
                format!("{}{since}", escape(&p.problem))
            })
            .collect();
        body.push_str(&format!(
            "<tr data-target=\"{}\"><td><a href=\"{}\">{}</a><br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td class=\"num\">{} {}</td><td>{}</td><td class=\"security\">{}</td><td>{}</td></tr>",
            escape(&site.target),
            escape(&href),
            escape(site.display_name()),
            escape(&site.host),
            escape(&site.agency),
            escape(&site.category_name),
            html::verdict_badge(site, lang),
            site.compliance_ratio.map(|r| lang.percent(r)).unwrap_or_default(),
            table_availability(site, summaries.get(&site.target), lang, report.generated_at),
            security_cell(site, lang),
            if problems.is_empty() { lang.none().to_string() } else { problems.join("<br>") }
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(&pager);
    html::document(lang, lang.status_page_title(), &body)
}

/// The three security options of a site as short marks ("headers ✓ · CSP ! · security.txt ✗"),
/// each titled with its status and reason, so the SOC sees them at a glance in the list.
fn security_cell(site: &SiteRow, lang: Lang) -> String {
    let marks: Vec<String> = [
        (CheckId::HttpSecurityHeaders, lang.pick("tiêu đề", "headers")),
        (CheckId::HttpCsp, "CSP"),
        (CheckId::HttpSecurityTxt, "security.txt"),
    ]
    .iter()
    .map(
        |(id, short)| match site.checks.iter().find(|check| check.id == id.as_str()) {
            Some(check) => {
                let mark = match check.status {
                    crate::checks::Status::Pass => "✓",
                    crate::checks::Status::Warn => "!",
                    crate::checks::Status::Fail => "✗",
                    crate::checks::Status::Error => "?",
                    crate::checks::Status::Skip => "–",
                };
                format!(
                    "<span class=\"{}\" data-check=\"{}\" title=\"{}: {}\">{short} {mark}</span>",
                    html::status_class(check.status),
                    id.as_str(),
                    lang.status_word(check.status),
                    escape(&check.reason)
                )
            }
            None => format!("<span class=\"muted\" data-check=\"{}\">{short} –</span>", id.as_str()),
        },
    )
    .collect();
    marks.join(" · ")
}

#[allow(clippy::too_many_arguments)]
fn filters_form(
    report: &Report,
    lang: Lang,
    agency: &str,
    category: &str,
    failing: &str,
    search: &str,
    sort: &str,
    descending: bool,
) -> String {
    let option = |value: &str, label: &str, selected: &str| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(value),
            if value == selected { " selected" } else { "" },
            escape(label)
        )
    };
    let mut agencies: Vec<&str> = report
        .sites
        .iter()
        .map(|s| s.agency.as_str())
        .filter(|a| !a.is_empty())
        .collect();
    agencies.sort();
    agencies.dedup();
    let mut categories: Vec<(String, String)> = report
        .sites
        .iter()
        .map(|s| (s.category.as_str().to_string(), s.category_name.clone()))
        .collect();
    categories.sort();
    categories.dedup();
    let mut out = format!(
        "<form class=\"filters\" method=\"get\" action=\"/\"><input type=\"hidden\" name=\"lang\" value=\"{}\"><input type=\"hidden\" name=\"sort\" value=\"{sort}\"><input type=\"hidden\" name=\"dir\" value=\"{}\">",
        lang.code(),
        if descending { "desc" } else { "asc" }
    );
    out.push_str(&format!(
        "<label>{} <select name=\"agency\">{}",
        lang.agency(),
        option("", lang.all(), agency)
    ));
    for value in agencies {
        out.push_str(&option(value, value, agency));
    }
    out.push_str(&format!(
        "</select></label><label>{} <select name=\"category\">{}",
        lang.category(),
        option("", lang.all(), category)
    ));
    for (value, label) in &categories {
        out.push_str(&option(value, label, category));
    }
    out.push_str(&format!(
        "</select></label><label>{} <select name=\"failing\">{}",
        lang.failing_check(),
        option("", lang.all(), failing)
    ));
    for id in CheckId::all() {
        out.push_str(&option(
            id.as_str(),
            &lang.problem_word(id, crate::checks::Status::Fail),
            failing,
        ));
    }
    out.push_str(&format!(
        "</select></label><label><input type=\"search\" name=\"q\" value=\"{}\"></label><button type=\"submit\">{}</button></form>",
        escape(search),
        lang.filter()
    ));
    out
}

/// The page of one site, or `None` when the target is not one this replica shows.
pub fn site_page(
    daemon: &Daemon,
    params: &HashMap<String, String>,
    lang: Lang,
    summaries: &Summaries,
    history: &[FamilyHistory],
) -> Option<String> {
    let wanted = params.get("target")?;
    let (report, snapshots) = current_report(daemon, lang, summaries, Some((wanted, history)));
    let index = report.sites.iter().position(|s| &s.target == wanted)?;
    let site = &report.sites[index];
    let snapshot = snapshots.get(index).cloned().flatten();
    let back = format!("/{}", query_string(&[("lang", lang.code())]));
    let mut body = language_switch(lang, params, "/site");
    body.push_str(&format!(
        "<p><a href=\"{}\">← {}</a></p><h1>{}</h1><p>{} · {} · {} · <a href=\"{}\">{}</a></p><p>{}{}</p>",
        escape(&back),
        lang.back(),
        escape(site.display_name()),
        escape(&site.agency),
        escape(&site.district),
        escape(&site.category_name),
        escape(&site.url),
        escape(&site.url),
        html::verdict_badge(site, lang),
        site.compliance_ratio
            .map(|r| format!(" · {} {}", lang.compliance().to_lowercase(), lang.percent(r)))
            .unwrap_or_default()
    ));
    if let Some(at) = site.audited_at {
        body.push_str(&format!(
            "<p class=\"muted\">{}: {}</p>",
            lang.last_audit(),
            lang.datetime(at)
        ));
    }
    if !site.policy_notes.is_empty() {
        let notes: Vec<String> = site
            .policy_notes
            .iter()
            .map(|n| format!("<li>{}</li>", escape(n)))
            .collect();
        body.push_str(&format!("<h2>{}</h2><ul>{}</ul>", lang.exemption(), notes.join("")));
    }
    body.push_str(&format!(
        "<h2>{}</h2><table id=\"checks\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.check(),
        lang.check(),
        lang.requirement(),
        lang.status(),
        lang.since(),
        lang.reason()
    ));
    for check in &site.checks {
        body.push_str(&format!(
            "<tr class=\"{}\" data-check=\"{}\"><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html::status_class(check.status),
            escape(&check.id),
            escape(&check.title),
            escape(&check.id),
            lang.requirement_word(check.requirement),
            lang.status_word(check.status),
            check.since.map(|t| lang.datetime(t)).unwrap_or_default(),
            escape(&check.reason)
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(&format!(
        "<h2>{} (30 {})</h2><div id=\"availability\">{}</div>",
        lang.availability(),
        if lang == Lang::Vi { "ngày" } else { "days" },
        site_availability(site, history, lang, report.generated_at)
    ));
    if !site.outages.is_empty() {
        body.push_str(&format!(
            "<h3>{}</h3><table id=\"outages\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            lang.outages(),
            lang.family(),
            lang.start(),
            lang.end(),
            lang.duration(),
            lang.reason()
        ));
        for outage in site.outages.iter().rev() {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                outage.family.label(),
                lang.datetime(outage.start),
                outage
                    .end
                    .map(|end| lang.datetime(end))
                    .unwrap_or_else(|| lang.ongoing().to_string()),
                lang.seconds_text(outage.seconds),
                escape(&outage.reason)
            ));
        }
        body.push_str("</tbody></table>");
    }
    if let Some(snapshot) = snapshot {
        body.push_str(&observed_section(&snapshot, lang));
    }
    Some(html::document(lang, site.display_name(), &body))
}

fn seconds(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into())
}

/// Addresses with their per-phase timings, the certificate and the name servers.
fn observed_section(snapshot: &TargetSnapshot, lang: Lang) -> String {
    let verdict = &snapshot.verdict;
    let mut out = format!(
        "<h2>{}</h2><table id=\"addresses\"><thead><tr><th>IP</th><th>{}</th><th>HTTP</th><th>TLS</th><th>resolve</th><th>connect</th><th>tls</th><th>processing</th><th>transfer</th></tr></thead><tbody>",
        lang.addresses(),
        lang.status()
    );
    for address in &verdict.addresses {
        let timings = address.timings.clone().unwrap_or_default();
        let class = serde_json::to_value(&address.class)
            .ok()
            .and_then(|v| {
                v.get("kind")
                    .and_then(|k| k.as_str())
                    .map(str::to_string)
                    .or_else(|| v.as_str().map(str::to_string))
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "<tr><td>{}<br><span class=\"muted\">{} {}</span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&address.ip.to_string()),
            address.family.as_str(),
            escape(&class),
            escape(address.error.as_deref().unwrap_or(if address.probed { "" } else { "—" })),
            address.status.map(|s| s.to_string()).unwrap_or_default(),
            escape(address.tls_version.as_deref().unwrap_or_default()),
            seconds(timings.resolve),
            seconds(timings.connect),
            seconds(timings.tls),
            seconds(timings.processing),
            seconds(timings.transfer),
        ));
    }
    out.push_str("</tbody></table>");
    if let Some(hosts) = &verdict.observations.page.script_hosts {
        let title = match lang {
            Lang::Vi => "Máy chủ bên ngoài cung cấp script và iframe",
            Lang::En => "Third-party script and frame hosts",
        };
        let items: Vec<String> = hosts
            .iter()
            .map(|h| format!("<li><code>{}</code></li>", escape(h)))
            .collect();
        let list = if items.is_empty() {
            "<li>—</li>".to_string()
        } else {
            items.join("")
        };
        out.push_str(&format!("<h2>{title}</h2><ul id=\"script-hosts\">{list}</ul>"));
    }
    let tls = verdict.observations.address.fetches.iter().find_map(|f| f.tls.as_ref());
    if let Some(leaf) = tls.and_then(|t| t.chain.first()) {
        let valid = tls.is_some_and(|t| t.verify_failure.is_none());
        out.push_str(&format!(
            "<h2>{}</h2><table id=\"certificate\"><tbody><tr><th>Subject</th><td>{}</td></tr><tr><th>Issuer</th><td>{}</td></tr><tr><th>Not after</th><td>{}</td></tr><tr><th>SHA-256</th><td><code>{}</code></td></tr><tr><th>DNS</th><td>{}</td></tr><tr><th>✓</th><td>{}</td></tr></tbody></table>",
            lang.certificate(),
            escape(&leaf.subject),
            escape(&leaf.issuer),
            lang.datetime(leaf.not_after as f64),
            escape(&leaf.sha256),
            escape(&leaf.dns_names.join(", ")),
            escape(&tls.and_then(|t| t.verify_failure.as_ref()).map(|f| f.message.clone()).unwrap_or_else(|| {
                if valid { lang.status_word(crate::checks::Status::Pass).to_string() } else { String::new() }
            }))
        ));
    }
    if let Some(zone) = &verdict.observations.zone.facts {
        let servers: Vec<String> = zone
            .name_servers
            .iter()
            .map(|ns| {
                let addresses: Vec<String> = crate::probe::dns::addresses_of(&ns.a)
                    .into_iter()
                    .chain(crate::probe::dns::addresses_of(&ns.aaaa))
                    .map(|ip| ip.to_string())
                    .collect();
                format!(
                    "<li>{} <span class=\"muted\">{}</span></li>",
                    escape(&ns.name),
                    escape(&addresses.join(" "))
                )
            })
            .collect();
        out.push_str(&format!(
            "<h2>DNS: {}</h2><ul id=\"name-servers\">{}</ul>",
            escape(&zone.apex),
            servers.join("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_row_once_and_odd_requests_land_on_a_real_page() {
        assert_eq!(paginate(0, ""), (1, 1, 0..0));
        assert_eq!(paginate(PAGE_ROWS, "2"), (1, 1, 0..PAGE_ROWS));
        let total = 2 * PAGE_ROWS + 7;
        assert_eq!(paginate(total, "3"), (3, 3, 2 * PAGE_ROWS..total));
        assert_eq!(paginate(total, "99").0, 3);
        assert_eq!(paginate(total, "0").0, 1);
        assert_eq!(paginate(total, "-1").0, 1);
        assert_eq!(paginate(total, "x").0, 1);
        let shown: usize = (1..=3).map(|p| paginate(total, &p.to_string()).2.len()).sum();
        assert_eq!(shown, total);
    }
}
