//! Compliance reports for the provincial IT department: one model built from the latest
//! verdicts, the history ("since") and the current policy and goals, rendered as CSV, XLSX,
//! HTML, Markdown or JSON. The status page renders the same model.

pub mod csv;
pub mod html;
pub mod labels;
pub mod markdown;
pub mod national;
pub mod national_render;
pub mod source;
pub mod sweep_input;
pub mod xlsx;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{CheckId, CheckResult, Status};
use crate::config::Config;
use crate::history::store::FamilyHistory;
use crate::history::uptime::{self, Availability};
use crate::history::CheckStates;
use crate::model::catalogue::Area;
use crate::model::policy::Requirement;
use crate::model::target::{host_for_display, Target};
use crate::probe::addr::IpFamily;
pub use labels::Lang;

/// How rows are grouped in the summary tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    #[default]
    Agency,
    District,
    Category,
}

/// What is known about one target for a report.
#[derive(Clone, Debug)]
pub struct SiteInput<'a> {
    pub target: &'a Target,
    /// Empty when the target has never been audited.
    pub checks: Vec<CheckResult>,
    pub states: CheckStates,
    pub audited_at: Option<f64>,
    /// The store's availability history of each family (empty without a store).
    pub uptime: Vec<FamilyHistory>,
}

/// One check of one site, in the report's language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    pub id: String,
    pub title: String,
    /// Plain words for a failure ("Chưa hỗ trợ IPv6"); empty when it passes.
    pub problem: String,
    pub requirement: Requirement,
    pub status: Status,
    pub reason: String,
    /// When the check took its current status (Unix seconds), if history knows.
    pub since: Option<f64>,
}

impl CheckRow {
    /// Failing or untestable, and not exempt.
    pub fn is_problem(&self) -> bool {
        matches!(self.status, Status::Fail | Status::Error) && self.requirement != Requirement::Exempt
    }
}

/// One site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    pub target: String,
    pub name: String,
    pub agency: String,
    pub district: String,
    pub category: crate::model::target::Category,
    pub category_name: String,
    pub url: String,
    pub host: String,
    pub audited_at: Option<f64>,
    /// Share of applicable required checks passing; `None` when never audited.
    pub compliance_ratio: Option<f64>,
    pub compliant: Option<bool>,
    pub checks: Vec<CheckRow>,
    /// Reasons of policy overrides (approved exemptions and the like).
    pub policy_notes: Vec<String>,
    /// Availability per family over the report's period (families never monitored absent).
    #[serde(default)]
    pub availability: BTreeMap<IpFamily, Availability>,
    /// Outages overlapping the period, oldest first.
    #[serde(default)]
    pub outages: Vec<OutageRow>,
}

/// One outage of one site, in the report's language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutageRow {
    pub family: IpFamily,
    pub start: f64,
    /// `None` while it lasts.
    pub end: Option<f64>,
    pub seconds: f64,
    pub reason: String,
}

/// The stretch of time availability is reported over.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub from: f64,
    pub to: f64,
}

/// Availability of a group of sites over the period, time-weighted: total up time ÷ total
/// monitored time, per family.
#[derive(Clone, Debug, PartialEq)]
pub struct AvailabilityGroup {
    pub name: String,
    pub families: BTreeMap<IpFamily, Availability>,
    pub outages: usize,
}

impl SiteRow {
    /// Failing required checks first, then failing recommended ones.
    pub fn problems(&self) -> Vec<&CheckRow> {
        let mut rows: Vec<&CheckRow> = self.checks.iter().filter(|c| c.is_problem()).collect();
        rows.sort_by_key(|c| c.requirement != Requirement::Required);
        rows
    }

    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.host
        } else {
            &self.name
        }
    }

    pub fn group_key(&self, group_by: GroupBy) -> String {
        match group_by {
            GroupBy::Agency => self.agency.clone(),
            GroupBy::District => self.district.clone(),
            GroupBy::Category => self.category_name.clone(),
        }
    }
}

/// One goal's standing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoalRow {
    pub id: String,
    pub title: String,
    pub checks: Vec<String>,
    pub target_ratio: f64,
    pub achieved_ratio: f64,
    pub targets: usize,
    pub met: usize,
    pub deadline: String,
    pub deadline_unix: i64,
    pub missing: Vec<String>,
}

impl GoalRow {
    pub fn is_met(&self) -> bool {
        self.achieved_ratio + 1e-9 >= self.target_ratio
    }

    pub fn is_overdue(&self, now: f64) -> bool {
        !self.is_met() && now > self.deadline_unix as f64
    }

    /// Met, behind, or overdue at `now`.
    pub fn standing(&self, now: f64) -> GoalStanding {
        if self.is_met() {
            GoalStanding::Met
        } else if self.is_overdue(now) {
            GoalStanding::Overdue
        } else {
            GoalStanding::Behind
        }
    }
}

/// Where a goal stands: the word every format shows next to its ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalStanding {
    Met,
    Behind,
    Overdue,
}

impl GoalStanding {
    pub fn word(self, lang: Lang) -> &'static str {
        match self {
            GoalStanding::Met => lang.on_track(),
            GoalStanding::Behind => lang.behind(),
            GoalStanding::Overdue => lang.overdue(),
        }
    }

    /// CSS class on the status page and in HTML reports.
    pub fn class(self) -> &'static str {
        match self {
            GoalStanding::Met => "ok",
            GoalStanding::Behind => "warn",
            GoalStanding::Overdue => "bad",
        }
    }
}

/// Column titles of the per-site tables (CSV and the XLSX "by site" sheet).
pub fn site_columns(lang: Lang) -> [&'static str; 11] {
    [
        lang.agency(),
        lang.district(),
        lang.category(),
        lang.site(),
        lang.address(),
        lang.compliance(),
        lang.compliant(),
        lang.problem(),
        lang.requirement(),
        lang.since(),
        lang.reason(),
    ]
}

/// A whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub generated_at: f64,
    pub lang: Lang,
    /// The period availability and outages cover.
    #[serde(default)]
    pub period: Option<Period>,
    pub sites: Vec<SiteRow>,
    pub goals: Vec<GoalRow>,
}

/// A summary row for one group (agency, district or category).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRow {
    pub name: String,
    pub sites: usize,
    pub compliant: usize,
    pub audited: usize,
    pub mean_ratio: f64,
}

impl Report {
    /// Builds the model from the current config and what is known of each target, with
    /// availability over the last 30 days.
    pub fn build(config: &Config, inputs: &[SiteInput<'_>], lang: Lang, now: f64) -> Report {
        let period = Period {
            from: now - DEFAULT_PERIOD_SECONDS,
            to: now,
        };
        Report::build_for(config, inputs, lang, now, period)
    }

    /// [`Report::build`] with availability over `period`.
    pub fn build_for(config: &Config, inputs: &[SiteInput<'_>], lang: Lang, now: f64, period: Period) -> Report {
        let sites: Vec<SiteRow> = inputs
            .iter()
            .map(|input| {
                let mut row = site_row(input, lang);
                availability_of(&mut row, &input.uptime, period, lang, now);
                row
            })
            .collect();
        let goals = config
            .goals
            .iter()
            .map(|goal| {
                let audited = inputs.iter().filter(|i| i.audited_at.is_some());
                let progress = goal.progress(audited.map(|i| (i.target, i.checks.as_slice())));
                GoalRow {
                    id: goal.id.clone(),
                    title: match lang {
                        Lang::Vi => goal.title_vi.clone(),
                        Lang::En => goal.title_en.clone(),
                    },
                    checks: goal.checks.iter().map(|c| c.as_str().to_string()).collect(),
                    target_ratio: goal.target_ratio,
                    achieved_ratio: progress.achieved_ratio,
                    targets: progress.targets,
                    met: progress.met,
                    deadline: goal.deadline.clone(),
                    deadline_unix: goal.deadline_unix,
                    missing: progress.missing,
                }
            })
            .collect();
        Report {
            generated_at: now,
            lang,
            period: Some(period),
            sites,
            goals,
        }
    }

    /// Availability per group (agency, district or category), groups in name order.
    pub fn availability_groups(&self, group_by: GroupBy) -> Vec<AvailabilityGroup> {
        let mut groups: BTreeMap<(bool, String), Vec<&SiteRow>> = BTreeMap::new();
        for site in &self.sites {
            let key = site.group_key(group_by);
            groups.entry((key.is_empty(), key)).or_default().push(site);
        }
        groups
            .into_iter()
            .map(|((_, name), sites)| availability_group(name, &sites, self.period))
            .collect()
    }

    /// The province's availability per family.
    pub fn availability_total(&self, lang: Lang) -> AvailabilityGroup {
        let sites: Vec<&SiteRow> = self.sites.iter().collect();
        availability_group(lang.total().to_string(), &sites, self.period)
    }

    /// Every outage of the period with its site, newest first.
    pub fn outages(&self) -> Vec<(&SiteRow, &OutageRow)> {
        let mut all: Vec<(&SiteRow, &OutageRow)> = self
            .sites
            .iter()
            .flat_map(|site| site.outages.iter().map(move |outage| (site, outage)))
            .collect();
        all.sort_by(|a, b| b.1.start.total_cmp(&a.1.start));
        all
    }

    /// Sites grouped, groups in name order; the empty name sorts last.
    pub fn groups(&self, group_by: GroupBy) -> Vec<GroupRow> {
        let mut groups: BTreeMap<(bool, String), Vec<&SiteRow>> = BTreeMap::new();
        for site in &self.sites {
            let key = site.group_key(group_by);
            groups.entry((key.is_empty(), key)).or_default().push(site);
        }
        groups
            .into_iter()
            .map(|((_, name), sites)| group_row(name, &sites))
            .collect()
    }

    /// The province-wide summary row.
    pub fn total(&self, lang: Lang) -> GroupRow {
        let sites: Vec<&SiteRow> = self.sites.iter().collect();
        group_row(lang.total().to_string(), &sites)
    }

    /// Per check: how many audited sites pass and fail it.
    pub fn by_check(&self) -> Vec<(CheckId, usize, usize)> {
        CheckId::all()
            .into_iter()
            .map(|id| {
                let rows = self
                    .sites
                    .iter()
                    .filter_map(|s| s.checks.iter().find(|c| c.id == id.as_str()));
                let (mut pass, mut fail) = (0, 0);
                for row in rows {
                    if row.status.counts_as_met() {
                        pass += 1;
                    } else if row.status.is_problem() {
                        fail += 1;
                    }
                }
                (id, pass, fail)
            })
            .collect()
    }
}

/// A table of words, rendered alike by every format.
#[derive(Clone, Debug, PartialEq)]
pub struct TextTable {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Report {
    /// The availability section every format shows: by site, by group and for the province,
    /// then the outage list. Families that were never monitored read "not monitored".
    pub fn availability_tables(&self, group_by: GroupBy) -> Vec<TextTable> {
        let lang = self.lang;
        let period = self
            .period
            .map(|p| format!(" ({} – {})", lang.datetime(p.from), lang.datetime(p.to)))
            .unwrap_or_default();
        let family_text = |families: &BTreeMap<IpFamily, Availability>, family: IpFamily| match families.get(&family) {
            Some(a) => lang.availability_text(a.ratio, a.monitored_ratio),
            None => lang.not_monitored().to_string(),
        };
        let by_site = TextTable {
            title: format!("{}{period}", lang.availability()),
            header: vec![
                lang.agency().to_string(),
                lang.site().to_string(),
                lang.address().to_string(),
                format!("{} IPv4", lang.availability()),
                format!("{} IPv6", lang.availability()),
                lang.outages().to_string(),
            ],
            rows: self
                .sites
                .iter()
                .map(|site| {
                    vec![
                        site.agency.clone(),
                        site.display_name().to_string(),
                        site.url.clone(),
                        family_text(&site.availability, IpFamily::Ipv4),
                        family_text(&site.availability, IpFamily::Ipv6),
                        site.outages.len().to_string(),
                    ]
                })
                .collect(),
        };
        let heading = match group_by {
            GroupBy::Agency => lang.agency(),
            GroupBy::District => lang.district(),
            GroupBy::Category => lang.category(),
        };
        let mut groups = self.availability_groups(group_by);
        groups.push(self.availability_total(lang));
        let by_group = TextTable {
            title: format!("{} — {} {}", lang.availability(), lang.by(), heading.to_lowercase()),
            header: vec![
                heading.to_string(),
                format!("{} IPv4", lang.availability()),
                format!("{} IPv6", lang.availability()),
                lang.outages().to_string(),
            ],
            rows: groups
                .iter()
                .map(|group| {
                    vec![
                        group.name.clone(),
                        family_text(&group.families, IpFamily::Ipv4),
                        family_text(&group.families, IpFamily::Ipv6),
                        group.outages.to_string(),
                    ]
                })
                .collect(),
        };
        let outages = TextTable {
            title: format!("{}{period}", lang.outages()),
            header: outage_header(lang),
            rows: self
                .outages()
                .into_iter()
                .map(|(site, outage)| {
                    vec![
                        site.display_name().to_string(),
                        site.agency.clone(),
                        outage.family.label().to_string(),
                        lang.datetime(outage.start),
                        outage
                            .end
                            .map(|end| lang.datetime(end))
                            .unwrap_or_else(|| lang.ongoing().to_string()),
                        lang.seconds_text(outage.seconds),
                        outage.reason.clone(),
                    ]
                })
                .collect(),
        };
        vec![by_site, by_group, outages]
    }
}

impl Report {
    /// The security options of every site (the checks of [`Area::Security`]: headers, CSP,
    /// security.txt), one column each with its status, then the reasons of those not passing.
    /// Every format shows it as its own table, grouped as the SOC reads them.
    pub fn security_table(&self) -> TextTable {
        self.area_table(Area::Security, self.lang.security_options())
    }

    /// The mail of every site's mail domain (the checks of [`Area::Mail`]: IPv6, STARTTLS,
    /// SPF, DMARC, DKIM, MTA-STS, TLS, DANE), shaped as [`Report::security_table`]: the SOC's
    /// phishing and interception questions in one table.
    pub fn mail_table(&self) -> TextTable {
        self.area_table(Area::Mail, self.lang.mail_security())
    }

    /// One column per check of `area` with its status, then the reasons of those not passing.
    fn area_table(&self, area: Area, title: &str) -> TextTable {
        let lang = self.lang;
        let checks: Vec<CheckId> = CheckId::all().into_iter().filter(|id| id.area() == area).collect();
        let mut header = vec![
            lang.agency().to_string(),
            lang.site().to_string(),
            lang.address().to_string(),
        ];
        header.extend(checks.iter().map(|id| lang.check_title(*id).to_string()));
        header.push(lang.reason().to_string());
        let rows = self
            .sites
            .iter()
            .map(|site| {
                let mut row = vec![site.agency.clone(), site.display_name().to_string(), site.url.clone()];
                let mut reasons = Vec::new();
                for id in &checks {
                    match site.checks.iter().find(|check| check.id == id.as_str()) {
                        Some(check) => {
                            row.push(lang.status_word(check.status).to_string());
                            if check.status != Status::Pass {
                                reasons.push(check.reason.clone());
                            }
                        }
                        None => row.push(lang.not_run().to_string()),
                    }
                }
                row.push(reasons.join("; "));
                row
            })
            .collect();
        TextTable {
            title: title.to_string(),
            header,
            rows,
        }
    }
}

/// The columns of an outage list, in every format.
pub fn outage_header(lang: Lang) -> Vec<String> {
    vec![
        lang.site().to_string(),
        lang.agency().to_string(),
        lang.family().to_string(),
        lang.start().to_string(),
        lang.end().to_string(),
        lang.duration().to_string(),
        lang.reason().to_string(),
    ]
}

/// The default report period: the last 30 days.
pub const DEFAULT_PERIOD_SECONDS: f64 = 30.0 * 86_400.0;

/// Fills a site's availability and outages for `period` from its store history.
fn availability_of(row: &mut SiteRow, uptime: &[FamilyHistory], period: Period, lang: Lang, now: f64) {
    for history in uptime {
        let availability = uptime::availability(
            (period.from, period.to),
            Some(&history.coverage),
            &history.gaps,
            &history.outages,
            now,
        );
        if availability.monitored_seconds > 0.0 {
            row.availability.insert(history.family, availability);
        }
        for outage in &history.outages {
            if outage.start > period.to || outage.end.is_some_and(|end| end < period.from) {
                continue;
            }
            row.outages.push(OutageRow {
                family: outage.family,
                start: outage.start,
                end: outage.end,
                seconds: outage.seconds(now),
                reason: match lang {
                    Lang::Vi => outage.reason.vi.to_string(),
                    Lang::En => outage.reason.en.to_string(),
                },
            });
        }
    }
    row.outages.sort_by(|a, b| a.start.total_cmp(&b.start));
}

fn availability_group(name: String, sites: &[&SiteRow], period: Option<Period>) -> AvailabilityGroup {
    let length = period.map(|p| (p.to - p.from).max(0.0)).unwrap_or(0.0);
    let mut families = BTreeMap::new();
    for family in [IpFamily::Ipv4, IpFamily::Ipv6] {
        let with: Vec<&Availability> = sites.iter().filter_map(|s| s.availability.get(&family)).collect();
        if with.is_empty() {
            continue;
        }
        let up: f64 = with.iter().map(|a| a.up_seconds).sum();
        let monitored: f64 = with.iter().map(|a| a.monitored_seconds).sum();
        let possible = length * with.len() as f64;
        families.insert(
            family,
            Availability {
                ratio: (monitored > 0.0).then(|| up / monitored),
                monitored_ratio: if possible > 0.0 { monitored / possible } else { 0.0 },
                up_seconds: up,
                monitored_seconds: monitored,
            },
        );
    }
    AvailabilityGroup {
        name,
        families,
        outages: sites.iter().map(|s| s.outages.len()).sum(),
    }
}

fn group_row(name: String, sites: &[&SiteRow]) -> GroupRow {
    let ratios: Vec<f64> = sites.iter().filter_map(|s| s.compliance_ratio).collect();
    GroupRow {
        name,
        sites: sites.len(),
        compliant: sites.iter().filter(|s| s.compliant == Some(true)).count(),
        audited: ratios.len(),
        mean_ratio: if ratios.is_empty() {
            0.0
        } else {
            ratios.iter().sum::<f64>() / ratios.len() as f64
        },
    }
}

pub(super) fn site_row(input: &SiteInput<'_>, lang: Lang) -> SiteRow {
    let target = input.target;
    let ran: Vec<CheckId> = input.checks.iter().map(|c| c.id).collect();
    let audited = input.audited_at.is_some() && !input.checks.is_empty();
    let (compliant, ratio) = crate::audit::verdict::judge(&input.checks, &target.policy.required_among(&ran));
    let checks = input
        .checks
        .iter()
        .map(|result| {
            let failing = matches!(result.status, Status::Fail | Status::Error);
            CheckRow {
                id: result.id.as_str().to_string(),
                title: lang.check_title(result.id).to_string(),
                problem: if failing {
                    lang.problem_word(result.id, result.status)
                } else {
                    String::new()
                },
                requirement: target.policy.requirement(result.id),
                status: result.status,
                reason: match lang {
                    Lang::Vi => result.reason.vi.to_string(),
                    Lang::En => result.reason.en.to_string(),
                },
                since: input.states.get(&result.id).map(|s| s.since),
            }
        })
        .collect();
    SiteRow {
        target: target.id.clone(),
        name: target.name.clone().unwrap_or_default(),
        agency: target.agency.clone().unwrap_or_default(),
        district: target.district.clone().unwrap_or_default(),
        category: target.category,
        category_name: lang.category_name(target.category).to_string(),
        url: target.url.to_string(),
        host: host_for_display(target.host()),
        audited_at: input.audited_at,
        compliance_ratio: audited.then_some(ratio),
        compliant: audited.then_some(compliant),
        checks,
        policy_notes: target.policy.reasons.clone(),
        availability: BTreeMap::new(),
        outages: Vec::new(),
    }
}

/// One check of one site that changed between two reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub target: String,
    pub site: String,
    pub check: String,
    pub title: String,
    pub from: Status,
    pub to: Status,
}

impl Change {
    /// "Site: check — before → now", with `escape` applied to the text from the config.
    pub fn describe(&self, lang: Lang, escape: fn(&str) -> String) -> String {
        format!(
            "{}: {} — {} → {}",
            escape(&self.site),
            escape(&self.title),
            lang.status_word(self.from),
            lang.status_word(self.to)
        )
    }
}

/// What improved and what regressed since an earlier report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Comparison {
    pub improved: Vec<Change>,
    pub regressed: Vec<Change>,
    pub added_sites: Vec<String>,
    pub removed_sites: Vec<String>,
}

/// Compares with an earlier report (its JSON form).
pub fn compare(old: &Report, new: &Report) -> Comparison {
    let mut comparison = Comparison::default();
    for site in &new.sites {
        let Some(before) = old.sites.iter().find(|s| s.target == site.target) else {
            comparison.added_sites.push(site.target.clone());
            continue;
        };
        for check in &site.checks {
            let Some(previous) = before.checks.iter().find(|c| c.id == check.id) else {
                continue;
            };
            let change = Change {
                target: site.target.clone(),
                site: site.display_name().to_string(),
                check: check.id.clone(),
                title: check.title.clone(),
                from: previous.status,
                to: check.status,
            };
            if previous.status.is_problem() && check.status.counts_as_met() {
                comparison.improved.push(change);
            } else if previous.status.counts_as_met() && check.status.is_problem() {
                comparison.regressed.push(change);
            }
        }
    }
    for site in &old.sites {
        if !new.sites.iter().any(|s| s.target == site.target) {
            comparison.removed_sites.push(site.target.clone());
        }
    }
    comparison
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checks::Reason;
    use crate::history::CheckState;
    use std::path::Path;

    pub fn sample_config() -> Config {
        Config::parse(
            concat!(
                "goals:\n  - id: v6\n    title: 100% cổng hỗ trợ IPv6\n    title_en: IPv6 portals\n",
                "    categories: [state_portal]\n    checks: [ipv6.aaaa]\n    deadline: 2025-12-31\n",
                "targets:\n  - url: https://a.gov.vn/\n    name: \"=Cổng <b>A</b>\"\n    agency: Sở Y tế\n",
                "    category: state_portal\n  - url: https://b.gov.vn/\n    name: Cổng B\n",
                "    agency: UBND huyện\n    district: Kinh Môn\n    category: state_portal\n",
            ),
            Path::new("t.yaml"),
        )
        .expect("config")
    }

    fn result(id: CheckId, status: Status) -> CheckResult {
        CheckResult::new(
            id,
            status,
            Reason::new("no AAAA record", "không có bản ghi AAAA"),
            serde_json::Value::Null,
        )
    }

    /// Site B: monitored from 1,799,000,000 on both families, one IPv6 outage of an hour.
    fn sample_uptime(target: &str) -> Vec<FamilyHistory> {
        use crate::history::uptime::{Coverage, Outage};
        let coverage = Coverage {
            first_at: 1_799_000_000.0,
            last_at: 1_800_000_000.0,
            interval: 300.0,
            unknown_since: None,
        };
        [IpFamily::Ipv4, IpFamily::Ipv6]
            .into_iter()
            .map(|family| FamilyHistory {
                target: target.to_string(),
                family,
                coverage: coverage.clone(),
                gaps: Vec::new(),
                outages: if family == IpFamily::Ipv6 {
                    vec![Outage {
                        family,
                        start: 1_799_500_000.0,
                        end: Some(1_799_503_600.0),
                        reason: Reason::new("[::1] status 503", "[::1] mã trạng thái 503"),
                    }]
                } else {
                    Vec::new()
                },
            })
            .collect()
    }

    pub fn sample_report(lang: Lang) -> Report {
        let config = sample_config();
        let mut states = CheckStates::new();
        states.insert(
            CheckId::Ipv6Aaaa,
            CheckState {
                status: Status::Fail,
                since: 1_767_200_399.0,
            },
        );
        let inputs = vec![
            SiteInput {
                target: &config.targets[0],
                checks: vec![
                    result(CheckId::Ipv6Aaaa, Status::Fail),
                    result(CheckId::TlsValid, Status::Pass),
                ],
                states,
                audited_at: Some(1_800_000_000.0),
                uptime: Vec::new(),
            },
            SiteInput {
                target: &config.targets[1],
                checks: vec![
                    result(CheckId::Ipv6Aaaa, Status::Pass),
                    result(CheckId::TlsValid, Status::Pass),
                    result(CheckId::HttpSecurityHeaders, Status::Pass),
                    result(CheckId::HttpCsp, Status::Warn),
                    result(CheckId::MailTls, Status::Fail),
                ],
                states: CheckStates::new(),
                audited_at: Some(1_800_000_000.0),
                uptime: sample_uptime(&config.targets[1].id),
            },
        ];
        Report::build(&config, &inputs, lang, 1_800_000_100.0)
    }

    #[test]
    fn the_security_options_table_has_a_column_per_check_in_both_languages() {
        let table = sample_report(Lang::Vi).security_table();
        assert_eq!(table.title, "Tùy chọn bảo mật");
        assert_eq!(table.header.len(), 7, "{:?}", table.header);
        assert!(table.header[4].contains("CSP"), "{:?}", table.header);
        let b = &table.rows[1];
        assert_eq!(&b[3..6], ["Đạt", "Cảnh báo", "Chưa kiểm tra"]);
        assert_eq!(table.rows[0][3], "Chưa kiểm tra");
        let english = sample_report(Lang::En).security_table();
        assert_eq!(english.title, "Security options");
        assert_eq!(&english.rows[1][3..6], ["Pass", "Warning", "Not run"]);
    }

    #[test]
    fn the_mail_table_has_a_column_per_mail_check_and_the_reasons() {
        let table = sample_report(Lang::Vi).mail_table();
        assert_eq!(table.title, "Thư điện tử: chống giả mạo và mã hoá");
        let mail_checks = CheckId::all().into_iter().filter(|id| id.area() == Area::Mail).count();
        assert_eq!(mail_checks, 8);
        assert_eq!(table.header.len(), 3 + mail_checks + 1, "{:?}", table.header);
        let tls_column = 3 + CheckId::all()
            .into_iter()
            .filter(|id| id.area() == Area::Mail)
            .position(|id| id == CheckId::MailTls)
            .expect("mail.tls is a mail check");
        assert_eq!(table.rows[1][tls_column], "Không đạt");
        assert!(
            !table.rows[1][3 + mail_checks].is_empty(),
            "the failing reason is listed"
        );
        assert_eq!(sample_report(Lang::En).mail_table().rows[1][tls_column], "Fail");
    }

    #[test]
    fn model_carries_plain_words_since_and_goal_progress() {
        let report = sample_report(Lang::Vi);
        let a = &report.sites[0];
        assert_eq!(a.compliant, Some(false));
        assert_eq!(a.compliance_ratio, Some(0.5));
        let problem = a.problems()[0];
        assert_eq!(problem.problem, "Chưa hỗ trợ IPv6");
        assert_eq!(problem.since, Some(1_767_200_399.0));
        assert_eq!(problem.requirement, Requirement::Required);
        assert_eq!(report.goals[0].achieved_ratio, 0.5);
        assert!(!report.goals[0].is_met());
        let b = &report.sites[1];
        assert_eq!(b.availability[&IpFamily::Ipv4].ratio, Some(1.0));
        let v6 = &b.availability[&IpFamily::Ipv6];
        assert_eq!(v6.monitored_seconds, 1_000_100.0);
        assert!((v6.ratio.unwrap() - (1.0 - 3600.0 / 1_000_100.0)).abs() < 1e-12);
        assert_eq!(b.outages.len(), 1);
        assert_eq!(b.outages[0].seconds, 3600.0);
        assert_eq!(b.outages[0].reason, "[::1] mã trạng thái 503");
        assert!(report.sites[0].availability.is_empty(), "never monitored");
        let total = report.availability_total(Lang::Vi);
        assert_eq!(total.outages, 1);
        assert_eq!(total.families[&IpFamily::Ipv6].monitored_seconds, 1_000_100.0);
        let groups = report.groups(GroupBy::Agency);
        assert_eq!(
            groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["Sở Y tế", "UBND huyện"]
        );
    }

    #[test]
    fn comparison_lists_improvements_and_regressions() {
        let old = sample_report(Lang::Vi);
        let mut new = old.clone();
        new.sites[0].checks[0].status = Status::Pass;
        new.sites[1].checks[1].status = Status::Fail;
        let comparison = compare(&old, &new);
        assert_eq!(comparison.improved.len(), 1);
        assert_eq!(comparison.improved[0].check, "ipv6.aaaa");
        assert_eq!(comparison.regressed.len(), 1);
        assert_eq!(comparison.regressed[0].check, "tls.valid");
    }
}
