//! Every user-facing word of reports and the status page, in Vietnamese and English. Plain
//! wording for department staff: "Chưa hỗ trợ IPv6", never a check id on its own.

use serde::{Deserialize, Serialize};

use crate::checks::{CheckId, Status};
use crate::model::policy::Requirement;
use crate::model::target::Category;

/// Report language; Vietnamese unless asked otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// From an Accept-Language header: English only when it is preferred over Vietnamese.
    pub fn from_accept_language(header: &str) -> Lang {
        for part in header.split(',') {
            let tag = part.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            if tag.starts_with("vi") {
                return Lang::Vi;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Vi
    }

    pub fn pick(self, vi: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    pub fn title(self) -> &'static str {
        self.pick(
            "Báo cáo tuân thủ IPv6, tên miền .vn và HTTPS",
            "IPv6, .vn domain and HTTPS compliance report",
        )
    }
    pub fn status_page_title(self) -> &'static str {
        self.pick(
            "Tình trạng tuân thủ các trang thông tin điện tử",
            "Compliance status of government websites",
        )
    }
    pub fn generated(self) -> &'static str {
        self.pick("Thời điểm lập", "Generated")
    }
    pub fn goals(self) -> &'static str {
        self.pick("Mục tiêu kế hoạch", "Plan goals")
    }
    pub fn goal(self) -> &'static str {
        self.pick("Mục tiêu", "Goal")
    }
    pub fn deadline(self) -> &'static str {
        self.pick("Hạn", "Deadline")
    }
    pub fn target_ratio(self) -> &'static str {
        self.pick("Chỉ tiêu", "Target")
    }
    pub fn achieved(self) -> &'static str {
        self.pick("Đạt được", "Achieved")
    }
    pub fn sites_meeting(self) -> &'static str {
        self.pick("Số trang đạt", "Sites meeting it")
    }
    pub fn on_track(self) -> &'static str {
        self.pick("Đã đạt chỉ tiêu", "Target met")
    }
    pub fn behind(self) -> &'static str {
        self.pick("Chưa đạt chỉ tiêu", "Behind target")
    }
    pub fn overdue(self) -> &'static str {
        self.pick("Quá hạn, chưa đạt", "Overdue, not met")
    }
    pub fn sites(self) -> &'static str {
        self.pick("Danh sách trang", "Sites")
    }
    pub fn site_count(self) -> &'static str {
        self.pick("Số trang", "Sites")
    }
    pub fn site(self) -> &'static str {
        self.pick("Trang", "Site")
    }
    pub fn agency(self) -> &'static str {
        self.pick("Cơ quan", "Agency")
    }
    pub fn district(self) -> &'static str {
        self.pick("Địa bàn", "District")
    }
    pub fn category(self) -> &'static str {
        self.pick("Lĩnh vực", "Category")
    }
    pub fn address(self) -> &'static str {
        self.pick("Địa chỉ", "Address")
    }
    pub fn compliance(self) -> &'static str {
        self.pick("Tỷ lệ tuân thủ", "Compliance")
    }
    pub fn compliant(self) -> &'static str {
        self.pick("Đạt yêu cầu", "Compliant")
    }
    pub fn not_compliant(self) -> &'static str {
        self.pick("Chưa đạt", "Not compliant")
    }
    pub fn not_audited(self) -> &'static str {
        self.pick("Chưa kiểm tra", "Not audited yet")
    }
    pub fn problem(self) -> &'static str {
        self.pick("Vấn đề", "Problem")
    }
    pub fn problems(self) -> &'static str {
        self.pick("Các lỗi", "Failures")
    }
    pub fn since(self) -> &'static str {
        self.pick("Từ ngày", "Since")
    }
    pub fn reason(self) -> &'static str {
        self.pick("Chi tiết", "Reason")
    }
    pub fn check(self) -> &'static str {
        self.pick("Tiêu chí", "Check")
    }
    pub fn status(self) -> &'static str {
        self.pick("Kết quả", "Status")
    }
    pub fn requirement(self) -> &'static str {
        self.pick("Mức yêu cầu", "Requirement")
    }
    pub fn last_audit(self) -> &'static str {
        self.pick("Lần kiểm tra gần nhất", "Last audit")
    }
    pub fn none(self) -> &'static str {
        self.pick("Không có", "None")
    }
    pub fn by(self) -> &'static str {
        self.pick("Theo", "By")
    }
    pub fn total(self) -> &'static str {
        self.pick("Toàn tỉnh", "Province total")
    }
    pub fn improved(self) -> &'static str {
        self.pick("Đã khắc phục", "Improved")
    }
    pub fn regressed(self) -> &'static str {
        self.pick("Mới phát sinh lỗi", "Regressed")
    }
    pub fn changes(self) -> &'static str {
        self.pick("Thay đổi so với báo cáo trước", "Changes since the previous report")
    }
    pub fn added_sites(self) -> &'static str {
        self.pick("Trang mới thêm", "Sites added")
    }
    pub fn removed_sites(self) -> &'static str {
        self.pick("Trang đã bỏ", "Sites removed")
    }
    pub fn from_to(self) -> &'static str {
        self.pick("Trước → Nay", "Before → Now")
    }
    pub fn addresses(self) -> &'static str {
        self.pick("Địa chỉ IP", "Addresses")
    }
    pub fn certificate(self) -> &'static str {
        self.pick("Chứng thư số", "Certificate")
    }
    pub fn phases(self) -> &'static str {
        self.pick("Thời gian các bước (giây)", "Phase timings (seconds)")
    }
    pub fn filter(self) -> &'static str {
        self.pick("Lọc", "Filter")
    }
    pub fn all(self) -> &'static str {
        self.pick("Tất cả", "All")
    }
    pub fn failing_check(self) -> &'static str {
        self.pick("Đang lỗi tiêu chí", "Failing check")
    }
    pub fn back(self) -> &'static str {
        self.pick("Quay lại danh sách", "Back to the list")
    }
    pub fn other_language(self) -> (&'static str, &'static str) {
        match self {
            Lang::Vi => ("en", "English"),
            Lang::En => ("vi", "Tiếng Việt"),
        }
    }
    pub fn sheet_sites(self) -> &'static str {
        self.pick("Theo trang", "By site")
    }
    pub fn sheet_agencies(self) -> &'static str {
        self.pick("Theo cơ quan", "By agency")
    }
    pub fn sheet_checks(self) -> &'static str {
        self.pick("Theo tiêu chí", "By check")
    }
    pub fn sheet_goals(self) -> &'static str {
        self.pick("Mục tiêu", "Goals")
    }
    pub fn failing_sites(self) -> &'static str {
        self.pick("Số trang lỗi", "Sites failing")
    }
    pub fn passing_sites(self) -> &'static str {
        self.pick("Số trang đạt", "Sites passing")
    }
    pub fn availability(self) -> &'static str {
        self.pick("Tỷ lệ sẵn sàng", "Availability")
    }
    pub fn outages(self) -> &'static str {
        self.pick("Gián đoạn", "Outages")
    }
    pub fn monitored(self) -> &'static str {
        self.pick("Thời gian giám sát", "Monitored")
    }
    pub fn family(self) -> &'static str {
        self.pick("Họ địa chỉ", "Address family")
    }
    pub fn start(self) -> &'static str {
        self.pick("Bắt đầu", "Start")
    }
    pub fn end(self) -> &'static str {
        self.pick("Kết thúc", "End")
    }
    pub fn duration(self) -> &'static str {
        self.pick("Thời lượng", "Duration")
    }
    pub fn ongoing(self) -> &'static str {
        self.pick("đang diễn ra", "ongoing")
    }
    pub fn period(self) -> &'static str {
        self.pick("Kỳ báo cáo", "Period")
    }
    pub fn not_monitored(self) -> &'static str {
        self.pick("không được giám sát", "not monitored")
    }
    /// The sites table's pager.
    pub fn page_of(self, page: usize, pages: usize) -> String {
        match self {
            Lang::Vi => format!("Trang {page}/{pages}"),
            Lang::En => format!("Page {page} of {pages}"),
        }
    }
    pub fn previous_page(self) -> &'static str {
        self.pick("← Trang trước", "← Previous")
    }
    pub fn next_page(self) -> &'static str {
        self.pick("Trang sau →", "Next →")
    }
    /// The last row of a sheet too short for every outage.
    pub fn more_outages(self, count: usize) -> String {
        match self {
            Lang::Vi => format!("… và {count} gián đoạn khác không vừa trang tính: xuất CSV với --table outages"),
            Lang::En => format!("… and {count} more outages that do not fit a sheet: export CSV with --table outages"),
        }
    }
    pub fn no_outage(self) -> &'static str {
        self.pick("Không có gián đoạn trong kỳ", "No outage in the period")
    }
    pub fn sheet_availability(self) -> &'static str {
        self.pick("Sẵn sàng", "Availability")
    }
    /// The security options group (`http.security_headers`, `http.csp`, `http.security_txt`).
    pub fn security_options(self) -> &'static str {
        self.pick("Tùy chọn bảo mật", "Security options")
    }
    pub fn sheet_security(self) -> &'static str {
        self.pick("Bảo mật", "Security")
    }
    /// The mail group (`mail.*`: IPv6, STARTTLS, SPF, DMARC, DKIM, MTA-STS, TLS, DANE).
    pub fn mail_security(self) -> &'static str {
        self.pick("Thư điện tử: chống giả mạo và mã hoá", "Mail: spoofing and encryption")
    }
    pub fn sheet_mail(self) -> &'static str {
        self.pick("Thư điện tử", "Mail")
    }
    /// A check the site was not audited for.
    pub fn not_run(self) -> &'static str {
        self.pick("Chưa kiểm tra", "Not run")
    }
    pub fn sheet_outages(self) -> &'static str {
        self.pick("Gián đoạn", "Outages")
    }
    /// "99.2% (monitored 97%)" / "99,2% (giám sát 97%)".
    pub fn availability_text(self, ratio: Option<f64>, monitored_ratio: f64) -> String {
        match ratio {
            None => self.not_monitored().to_string(),
            Some(ratio) => format!(
                "{} ({} {})",
                self.percent_precise(ratio),
                self.pick("giám sát", "monitored"),
                self.percent(monitored_ratio)
            ),
        }
    }
    /// A ratio as a percentage with one decimal (availability needs it: 99.9 vs 99.0).
    pub fn percent_precise(self, ratio: f64) -> String {
        let text = format!("{:.1}%", (ratio * 1000.0).floor() / 10.0);
        match self {
            Lang::Vi => text.replace('.', ","),
            Lang::En => text,
        }
    }
    /// "3 h 20 min" / "3 giờ 20 phút".
    pub fn seconds_text(self, seconds: f64) -> String {
        let seconds = seconds.max(0.0).round() as u64;
        let (days, hours, minutes, rest) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
        let (d, h, m, s) = match self {
            Lang::Vi => ("ngày", "giờ", "phút", "giây"),
            Lang::En => ("d", "h", "min", "s"),
        };
        let parts: Vec<String> = [(days, d), (hours, h), (minutes, m), (rest, s)]
            .iter()
            .filter(|(value, _)| *value > 0)
            .take(2)
            .map(|(value, unit)| format!("{value} {unit}"))
            .collect();
        if parts.is_empty() {
            format!("0 {s}")
        } else {
            parts.join(" ")
        }
    }
    pub fn exemption(self) -> &'static str {
        self.pick("Ghi chú chính sách", "Policy notes")
    }

    pub fn status_word(self, status: Status) -> &'static str {
        match status {
            Status::Pass => self.pick("Đạt", "Pass"),
            Status::Warn => self.pick("Cảnh báo", "Warning"),
            Status::Fail => self.pick("Không đạt", "Fail"),
            Status::Skip => self.pick("Không áp dụng", "Not applicable"),
            Status::Error => self.pick("Không kiểm tra được", "Could not be tested"),
        }
    }

    pub fn requirement_word(self, requirement: Requirement) -> &'static str {
        match requirement {
            Requirement::Required => self.pick("Bắt buộc", "Required"),
            Requirement::Recommended => self.pick("Khuyến nghị", "Recommended"),
            Requirement::Exempt => self.pick("Miễn trừ", "Exempt"),
        }
    }

    pub fn category_name(self, category: Category) -> &'static str {
        match category {
            Category::StatePortal => self.pick("Cổng thông tin, dịch vụ công", "State portal / public services"),
            Category::ENewspaper => self.pick("Báo điện tử", "E-newspaper"),
            Category::GeneralInfo => self.pick("Trang thông tin tổng hợp", "General information site"),
            Category::Education => self.pick("Giáo dục", "Education"),
            Category::Health => self.pick("Y tế", "Health"),
            Category::ECommerce => self.pick("Thương mại điện tử", "E-commerce"),
            Category::Other => self.pick("Khác", "Other"),
        }
    }

    pub fn check_title(self, id: CheckId) -> &'static str {
        let info = id.info();
        self.pick(info.title_vi, info.title_en)
    }

    /// What a failing (or untestable) check means for this site, in plain words.
    pub fn problem_word(self, id: CheckId, status: Status) -> String {
        let info = id.info();
        match status {
            Status::Error => format!(
                "{} ({})",
                self.status_word(Status::Error),
                self.pick(info.title_vi, info.title_en)
            ),
            _ => self.pick(info.problem_vi, info.problem_en).to_string(),
        }
    }

    /// A Unix time as people in Vietnam read it (UTC+7).
    pub fn datetime(self, unix: f64) -> String {
        let (y, m, d, hh, mm) = local_parts(unix);
        match self {
            Lang::Vi => format!("{d:02}/{m:02}/{y} {hh:02}:{mm:02}"),
            Lang::En => format!("{y}-{m:02}-{d:02} {hh:02}:{mm:02}"),
        }
    }

    pub fn date(self, unix: f64) -> String {
        let (y, m, d, _, _) = local_parts(unix);
        match self {
            Lang::Vi => format!("{d:02}/{m:02}/{y}"),
            Lang::En => format!("{y}-{m:02}-{d:02}"),
        }
    }

    pub fn percent(self, ratio: f64) -> String {
        let text = format!("{:.1}%", ratio * 100.0);
        match self {
            Lang::Vi => text.replace('.', ","),
            Lang::En => text,
        }
    }
}

/// (year, month, day, hour, minute) in UTC+7.
fn local_parts(unix: f64) -> (i64, i64, i64, i64, i64) {
    let seconds = unix.floor() as i64 + 7 * 3600;
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = crate::model::calendar::civil_from_days(days);
    (year, month, day, of_day / 3600, (of_day % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_in_vietnam_time_and_vietnamese_form() {
        // 2025-12-31T16:59:59Z is 23:59 on the 31st in Hà Nội.
        assert_eq!(Lang::Vi.datetime(1_767_200_399.0), "31/12/2025 23:59");
        assert_eq!(Lang::En.date(1_767_200_399.0), "2025-12-31");
        assert_eq!(Lang::Vi.percent(0.875), "87,5%");
    }

    #[test]
    fn plain_words_not_ids() {
        assert_eq!(
            Lang::Vi.problem_word(CheckId::Ipv6Aaaa, Status::Fail),
            "Chưa hỗ trợ IPv6"
        );
        assert_eq!(
            Lang::En.problem_word(CheckId::Ipv6Aaaa, Status::Fail),
            "No IPv6 support"
        );
        assert!(Lang::Vi
            .problem_word(CheckId::TlsValid, Status::Error)
            .starts_with("Không kiểm tra được"));
    }

    #[test]
    fn accept_language_prefers_vietnamese_unless_english_comes_first() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,vi;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("vi-VN,vi;q=0.9,en;q=0.8"), Lang::Vi);
        assert_eq!(Lang::from_accept_language("fr"), Lang::Vi);
    }
}
