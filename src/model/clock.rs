//! The process's one clock. Audits read it once when they start and pass that instant down,
//! so checks stay pure (same input, same output) and every sink agrees on "now".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix time now, in seconds with a fraction (0 if the system clock is before 1970).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Unix time now, in whole seconds.
pub fn unix_seconds() -> i64 {
    unix_now() as i64
}

/// A Unix time as RFC 3339 UTC, e.g. for report headers and JSON output.
pub fn rfc3339(unix_seconds: i64) -> String {
    let seconds = u64::try_from(unix_seconds).unwrap_or_default();
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}
