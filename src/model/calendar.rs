//! Proleptic Gregorian dates from day counts and back (Howard Hinnant's algorithms), so
//! reports, goals and tests share one calendar without a date crate.

/// (year, month, day) of the day `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// "YYYY-MM-DD" (UTC) of a Unix time, for reasons that name a date.
pub fn date_of(unix_seconds: i64) -> String {
    let (year, month, day) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Unix seconds of "YYYY-MM-DD" (midnight UTC) or an RFC 3339 time
/// ("2026-11-30T08:00:00Z", "…+07:00", fractions ignored). `None` when it is neither.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    if text.get(4..5)? != "-" || text.get(7..8)? != "-" || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let date = days_from_civil(year, month, day) * 86_400;
    if text.len() == 10 {
        return Some(date);
    }
    if !matches!(text.get(10..11)?, "T" | "t" | " ") || text.get(13..14)? != ":" || text.get(16..17)? != ":" {
        return None;
    }
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let zone: Vec<&str> = rest.get(1..)?.split(':').collect();
            let (h, m) = match zone.as_slice() {
                [h, m] if h.len() == 2 && m.len() == 2 => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
                _ => return None,
            };
            sign * (h * 3600 + m * 60)
        }
    };
    Some(date + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_leap_years_and_eras() {
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_454, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn rfc3339_times_and_dates_parse() {
        assert_eq!(parse_rfc3339("1970-01-02"), Some(86_400));
        assert_eq!(parse_rfc3339("2017-02-02T00:00:00+00:00"), Some(1_485_993_600));
        assert_eq!(parse_rfc3339("2017-02-02T07:00:00+07:00"), Some(1_485_993_600));
        assert_eq!(parse_rfc3339("2017-02-02T00:00:00.123Z"), Some(1_485_993_600));
        for bad in [
            "",
            "2017-13-01",
            "2017-02-02T25:00:00Z",
            "yesterday",
            "2017-02-02T00:00:00",
            "2017/02/02",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
