//! The national report over sweep outputs: adoption of each check by second-level domain
//! (`gov.vn`, `edu.vn`, `com.vn`, `vn`…), by province, by hosting network (origin AS), and
//! the province views (by category, agency, district), goals and a row per site. Built from
//! counts only: the sites themselves stay in the spool and are streamed when written.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::sweep_input::{Spool, SweepInputError, SweepSite};
use super::{Lang, SiteInput, SiteRow, TextTable};
use crate::checks::{CheckId, Status};
use crate::config::Config;
use crate::model::policy::Requirement;
use crate::model::target::{Target, TargetSettings, TargetUrl};

/// How one check fared in a group of sites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct CheckTally {
    /// Passed (or warned).
    pub met: usize,
    /// Failed or could not be tested.
    pub problem: usize,
    /// Did not apply.
    pub skipped: usize,
}

impl CheckTally {
    /// Met among the sites it applied to.
    pub fn adoption(&self) -> Option<f64> {
        let applicable = self.met + self.problem;
        (applicable > 0).then(|| self.met as f64 / applicable as f64)
    }
}

/// A group of sites: how many, how many comply, and each check's tally.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    pub sites: usize,
    pub compliant: usize,
    pub checks: BTreeMap<String, CheckTally>,
}

impl Tally {
    fn add(&mut self, site: &SweepSite) {
        self.sites += 1;
        self.compliant += usize::from(site.passed);
        for check in &site.checks {
            let tally = self.checks.entry(check.id.as_str().to_string()).or_default();
            match check.status {
                status if status.counts_as_met() => tally.met += 1,
                status if status.is_problem() => tally.problem += 1,
                Status::Skip => tally.skipped += 1,
                _ => {}
            }
        }
    }
}

/// A goal's standing over the swept sites.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoalTally {
    pub id: String,
    pub title: String,
    pub target_ratio: f64,
    pub targets: usize,
    pub met: usize,
    /// The first sites that miss it (the full list is the per-site table).
    pub missing: Vec<String>,
}

/// Sites a goal lists as missing before it says "and N more".
const MISSING_LISTED: usize = 20;

/// The whole national model: counts per view, never the sites.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NationalReport {
    pub generated_at: f64,
    pub lang: Lang,
    /// Every check some site was judged on, in catalogue order.
    pub checks: Vec<CheckId>,
    pub total: Tally,
    pub by_domain_suffix: BTreeMap<String, Tally>,
    pub by_province: BTreeMap<String, Tally>,
    pub by_origin_as: BTreeMap<String, Tally>,
    pub by_category: BTreeMap<String, Tally>,
    pub by_agency: BTreeMap<String, Tally>,
    pub by_district: BTreeMap<String, Tally>,
    pub goals: Vec<GoalTally>,
    /// Sweep lines that were not records (torn, foreign).
    pub unreadable_lines: usize,
}

/// The public suffix a site's name is registered under: `gov.vn`, `edu.vn`, `vn`, `com`.
pub fn domain_suffix(host: &str) -> String {
    let ascii = host.trim_end_matches('.').to_ascii_lowercase();
    psl::suffix_str(&ascii).unwrap_or(ascii.as_str()).to_string()
}

/// How a site's hosting network is named in the views.
pub fn origin_as_label(asn: Option<u32>, lang: Lang) -> String {
    match asn {
        Some(asn) => format!("AS{asn}"),
        None => lang.pick("(không rõ)", "(unknown)").to_string(),
    }
}

impl NationalReport {
    /// Counts every site of the spool once; `config` brings goals (and nothing else).
    pub fn build(spool: &Spool, config: Option<&Config>, lang: Lang) -> Result<NationalReport, SweepInputError> {
        let goals = config.map(|c| c.goals.as_slice()).unwrap_or_default();
        let mut report = NationalReport {
            generated_at: spool.latest_audit()?.unwrap_or_default(),
            lang,
            checks: Vec::new(),
            total: Tally::default(),
            by_domain_suffix: BTreeMap::new(),
            by_province: BTreeMap::new(),
            by_origin_as: BTreeMap::new(),
            by_category: BTreeMap::new(),
            by_agency: BTreeMap::new(),
            by_district: BTreeMap::new(),
            goals: goals
                .iter()
                .map(|goal| GoalTally {
                    id: goal.id.clone(),
                    title: match lang {
                        Lang::Vi => goal.title_vi.clone(),
                        Lang::En => goal.title_en.clone(),
                    },
                    target_ratio: goal.target_ratio,
                    targets: 0,
                    met: 0,
                    missing: Vec::new(),
                })
                .collect(),
            unreadable_lines: spool.unreadable,
        };
        let mut checks = BTreeSet::new();
        spool.each(|site| {
            checks.extend(site.checks.iter().map(|c| c.id));
            report.total.add(&site);
            report
                .by_domain_suffix
                .entry(domain_suffix(&site.host))
                .or_default()
                .add(&site);
            if let Some(province) = &site.province {
                report.by_province.entry(province.clone()).or_default().add(&site);
            }
            if site.origin_asn.is_some() {
                let label = origin_as_label(site.origin_asn, lang);
                report.by_origin_as.entry(label).or_default().add(&site);
            }
            report
                .by_category
                .entry(lang.category_name(site.category).to_string())
                .or_default()
                .add(&site);
            if let Some(agency) = &site.agency {
                report.by_agency.entry(agency.clone()).or_default().add(&site);
            }
            if let Some(district) = &site.district {
                report.by_district.entry(district.clone()).or_default().add(&site);
            }
            if let Some(target) = target_of(&site) {
                for (goal, tally) in goals.iter().zip(report.goals.iter_mut()) {
                    let progress = goal.progress(std::iter::once((&target, site.checks.as_slice())));
                    tally.targets += progress.targets;
                    tally.met += progress.met;
                    for missing in progress.missing {
                        if tally.missing.len() < MISSING_LISTED {
                            tally.missing.push(missing);
                        }
                    }
                }
            }
        })?;
        report.checks = checks.into_iter().collect();
        Ok(report)
    }

    /// Every view as a table, in the order every format shows them.
    pub fn tables(&self) -> Vec<TextTable> {
        let lang = self.lang;
        let mut tables = vec![self.view(
            lang.pick("Tổng hợp toàn quốc", "National summary"),
            lang.pick("Phạm vi", "Scope"),
            [(lang.pick("Toàn quốc", "National total").to_string(), &self.total)].into_iter(),
        )];
        let views = [
            (
                lang.pick("Mức áp dụng theo tên miền cấp 2", "Adoption by second-level domain"),
                lang.pick("Tên miền", "Domain"),
                &self.by_domain_suffix,
            ),
            (
                lang.pick("Mức áp dụng theo tỉnh, thành phố", "Adoption by province"),
                lang.pick("Tỉnh, thành phố", "Province"),
                &self.by_province,
            ),
            (
                lang.pick(
                    "Mức áp dụng theo mạng lưu trữ (AS gốc)",
                    "Adoption by hosting network (origin AS)",
                ),
                lang.pick("Mạng (AS gốc)", "Network (origin AS)"),
                &self.by_origin_as,
            ),
            (
                lang.pick("Mức áp dụng theo lĩnh vực", "Adoption by category"),
                lang.category(),
                &self.by_category,
            ),
            (
                lang.pick("Mức áp dụng theo cơ quan", "Adoption by agency"),
                lang.agency(),
                &self.by_agency,
            ),
            (
                lang.pick("Mức áp dụng theo địa bàn", "Adoption by district"),
                lang.district(),
                &self.by_district,
            ),
        ];
        for (title, column, groups) in views {
            if !groups.is_empty() {
                tables.push(self.view(title, column, groups.iter().map(|(name, tally)| (name.clone(), tally))));
            }
        }
        tables.push(self.by_check_table());
        if !self.goals.is_empty() {
            tables.push(self.goals_table());
        }
        tables
    }

    /// Rows of groups: sites, compliant share, then each check's adoption.
    fn view<'a>(&self, title: &str, column: &str, groups: impl Iterator<Item = (String, &'a Tally)>) -> TextTable {
        let lang = self.lang;
        let mut header = vec![
            column.to_string(),
            lang.pick("Số trang", "Sites").to_string(),
            lang.compliant().to_string(),
        ];
        header.extend(self.checks.iter().map(|id| id.as_str().to_string()));
        let rows = groups
            .map(|(name, tally)| {
                let mut row = vec![name, tally.sites.to_string(), share(lang, tally.compliant, tally.sites)];
                row.extend(self.checks.iter().map(|id| match tally.checks.get(id.as_str()) {
                    Some(check) => share(lang, check.met, check.met + check.problem),
                    None => String::new(),
                }));
                row
            })
            .collect();
        TextTable {
            title: title.to_string(),
            header,
            rows,
        }
    }

    fn by_check_table(&self) -> TextTable {
        let lang = self.lang;
        let header = [
            lang.pick("Mã", "Id"),
            lang.pick("Tiêu chí", "Check"),
            lang.pick("Đạt", "Met"),
            lang.pick("Chưa đạt", "Not met"),
            lang.pick("Không áp dụng", "Not applicable"),
            lang.pick("Tỷ lệ áp dụng", "Adoption"),
        ];
        let rows = self
            .checks
            .iter()
            .map(|id| {
                let tally = self.total.checks.get(id.as_str()).copied().unwrap_or_default();
                vec![
                    id.as_str().to_string(),
                    lang.check_title(*id).to_string(),
                    tally.met.to_string(),
                    tally.problem.to_string(),
                    tally.skipped.to_string(),
                    share(lang, tally.met, tally.met + tally.problem),
                ]
            })
            .collect();
        TextTable {
            title: lang.pick("Theo tiêu chí", "By check").to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }

    fn goals_table(&self) -> TextTable {
        let lang = self.lang;
        let rows = self
            .goals
            .iter()
            .map(|goal| {
                let more = goal.targets - goal.met - goal.missing.len().min(goal.targets - goal.met);
                let mut missing = goal.missing.join(", ");
                if more > 0 {
                    missing.push_str(&format!(" {} {more}", lang.pick("và", "and")));
                }
                vec![
                    goal.title.clone(),
                    lang.percent(goal.target_ratio),
                    share(lang, goal.met, goal.targets),
                    missing,
                ]
            })
            .collect();
        TextTable {
            title: lang.pick("Mục tiêu kế hoạch", "Plan goals").to_string(),
            header: [
                lang.pick("Mục tiêu", "Goal"),
                lang.pick("Chỉ tiêu", "Target"),
                lang.pick("Đạt được", "Achieved"),
                lang.pick("Chưa đạt", "Missing"),
            ]
            .iter()
            .map(|h| h.to_string())
            .collect(),
            rows,
        }
    }
}

/// `met/of` as a percentage with its counts: "75,0% (3/4)".
fn share(lang: Lang, met: usize, of: usize) -> String {
    if of == 0 {
        return String::new();
    }
    format!("{} ({met}/{of})", lang.percent(met as f64 / of as f64))
}

/// The target a sweep record was made for, as far as reports need it: its URL, category
/// (and so its default policy) and names.
fn target_of(site: &SweepSite) -> Option<Target> {
    let url = TargetUrl::parse(&site.url).ok()?;
    let mut target = Target::from_url(url, TargetSettings::default());
    target.id = site.target.clone();
    target.set_category(site.category);
    target.name = site.name.clone();
    target.agency = site.agency.clone();
    target.district = site.district.clone();
    target.province = site.province.clone();
    Some(target)
}

/// One site in the national report: the province report's row, and where it sits nationally.
#[derive(Clone, Debug, Serialize)]
pub struct NationalSiteRow {
    #[serde(flatten)]
    pub row: SiteRow,
    pub province: Option<String>,
    pub domain_suffix: String,
    pub origin_as: Option<u32>,
}

impl NationalSiteRow {
    /// The site's row, judged as the sweep judged it (its required set and verdict).
    pub fn of(site: SweepSite, lang: Lang) -> Option<NationalSiteRow> {
        let target = target_of(&site)?;
        let input = SiteInput {
            target: &target,
            checks: site.checks.clone(),
            states: Default::default(),
            audited_at: Some(site.audited_at),
            uptime: Vec::new(),
        };
        let mut row = super::site_row(&input, lang);
        row.compliant = Some(site.passed);
        row.compliance_ratio = Some(site.compliance_ratio);
        for check in &mut row.checks {
            let required = CheckId::parse(&check.id).is_some_and(|id| site.required.contains(&id));
            check.requirement = match (required, check.requirement) {
                (true, _) => Requirement::Required,
                (false, Requirement::Required) => Requirement::Recommended,
                (false, other) => other,
            };
        }
        Some(NationalSiteRow {
            row,
            province: site.province,
            domain_suffix: domain_suffix(&site.host),
            origin_as: site.origin_asn,
        })
    }

    /// The per-site table's columns.
    pub fn header(lang: Lang) -> Vec<String> {
        [
            lang.site(),
            lang.address(),
            lang.pick("Tỉnh, thành phố", "Province"),
            lang.pick("Tên miền", "Domain"),
            lang.pick("Mạng (AS gốc)", "Network (origin AS)"),
            lang.category(),
            lang.agency(),
            lang.compliance(),
            lang.compliant(),
            lang.problem(),
        ]
        .iter()
        .map(|h| h.to_string())
        .collect()
    }

    /// The row's cells, problems (required first) joined.
    pub fn cells(&self, lang: Lang) -> Vec<String> {
        let row = &self.row;
        let problems: Vec<String> = row
            .problems()
            .iter()
            .map(|check| format!("{} ({})", check.problem, lang.requirement_word(check.requirement)))
            .collect();
        vec![
            row.display_name().to_string(),
            row.url.clone(),
            self.province.clone().unwrap_or_default(),
            self.domain_suffix.clone(),
            self.origin_as.map(|asn| format!("AS{asn}")).unwrap_or_default(),
            row.category_name.clone(),
            row.agency.clone(),
            row.compliance_ratio.map(|r| lang.percent(r)).unwrap_or_default(),
            match row.compliant {
                Some(true) => lang.compliant().to_string(),
                Some(false) => lang.not_compliant().to_string(),
                None => lang.not_audited().to_string(),
            },
            problems.join("; "),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_suffixes_are_the_registries() {
        assert_eq!(domain_suffix("soyte.haiduong.gov.vn"), "gov.vn");
        assert_eq!(domain_suffix("baohaiduong.vn"), "vn");
        assert_eq!(domain_suffix("thpt.edu.vn."), "edu.vn");
        assert_eq!(domain_suffix("shop.com.vn"), "com.vn");
        assert_eq!(domain_suffix("example.com"), "com");
    }

    #[test]
    fn shares_show_counts_and_nothing_for_an_empty_group() {
        assert_eq!(share(Lang::Vi, 3, 4), "75,0% (3/4)");
        assert_eq!(share(Lang::En, 0, 0), "");
        let tally = CheckTally {
            met: 1,
            problem: 3,
            skipped: 5,
        };
        assert_eq!(tally.adoption(), Some(0.25));
    }
}
