//! Human-friendly durations ("10s", "5m", "21d") for the config file and the command line.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way operators write them, so `timeout: 10s` reads naturally in YAML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses "10s", "1m30s", "21d"; zero is rejected because every use is a timeout or period.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed = humantime::parse_duration(text.trim())
            .map_err(|err| format!("invalid duration {text:?}: {err} (expected e.g. \"10s\", \"5m\", \"21d\")"))?;
        if parsed.is_zero() {
            return Err(format!("invalid duration {text:?}: must be greater than zero"));
        }
        Ok(Self(parsed))
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|message| crate::model::invalid::invalid_value(&text, &message))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(HumanDuration::parse("10s").unwrap().0, Duration::from_secs(10));
        assert_eq!(HumanDuration::parse("21d").unwrap().0, Duration::from_secs(21 * 86400));
        assert_eq!(HumanDuration::parse("1m30s").unwrap().0, Duration::from_secs(90));
    }

    #[test]
    fn rejects_garbage_and_zero() {
        assert!(HumanDuration::parse("ten seconds").unwrap_err().contains("expected"));
        assert!(HumanDuration::parse("0s").unwrap_err().contains("greater than zero"));
    }
}
