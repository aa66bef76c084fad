//! `/probe?target=…`: the multi-target exporter pattern. Prometheus names the target, we audit
//! it now within the scrape's budget and return only its metrics. Only listed targets, or
//! hosts under suffixes the config allows, are probed: this is not an open proxy.

use std::time::Duration;

use crate::config::Config;
use crate::model::target::{host_is_under, Target, TargetSettings, TargetUrl};

/// Why a `/probe` request is not served.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeRefusal {
    /// No `target` parameter, or one that is not a URL or host name.
    #[error("{0}")]
    BadRequest(String),
    /// A valid target that the config neither lists nor allows.
    #[error("{0}")]
    Forbidden(String),
}

/// The target to audit for a `/probe` request: the listed target with its own settings, or an
/// allowed host with default settings.
pub fn resolve_target(config: &Config, requested: Option<&str>) -> Result<Target, ProbeRefusal> {
    let text = requested
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ProbeRefusal::BadRequest("missing parameter: target".into()))?;
    if let Some(listed) = config.targets.iter().find(|t| t.id == text) {
        return Ok(listed.clone());
    }
    let url =
        TargetUrl::parse(text).map_err(|message| ProbeRefusal::BadRequest(format!("target {text:?}: {message}")))?;
    if let Some(listed) = config.targets.iter().find(|t| t.url == url.url) {
        return Ok(listed.clone());
    }
    let host = url.host().to_string();
    if config
        .probe_allow_suffixes
        .iter()
        .any(|suffix| host_is_under(&host, suffix))
    {
        return Ok(Target::from_url(url, TargetSettings::default()));
    }
    Err(ProbeRefusal::Forbidden(format!(
        "target {text:?} is not in the configuration and its host is not under an allowed suffix \
         (probe_endpoint.allow_host_suffixes)"
    )))
}

/// Seconds kept back from Prometheus's scrape timeout for encoding and the network, as
/// blackbox_exporter's default `--timeout-offset` does.
const SCRAPE_TIMEOUT_OFFSET: f64 = 0.5;

/// The audit's time budget: the target's timeout, shortened to fit the scrape's.
pub fn budget(target_timeout: Duration, scrape_timeout_header: Option<&str>) -> Duration {
    let scrape = scrape_timeout_header
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(|seconds| Duration::from_secs_f64((seconds - SCRAPE_TIMEOUT_OFFSET).max(0.1)));
    match scrape {
        Some(scrape) => target_timeout.min(scrape),
        None => target_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::parse(
            "probe_endpoint:\n  allow_host_suffixes: [haiduong.gov.vn]\ntargets:\n  - url: https://baohaiduong.vn/\n    timeout: 7s\n",
            Path::new("t.yaml"),
        )
        .expect("config")
    }

    #[test]
    fn listed_targets_keep_their_settings() {
        let target = resolve_target(&config(), Some("https://baohaiduong.vn/")).expect("listed");
        assert_eq!(target.settings.timeout, Duration::from_secs(7));
        let target = resolve_target(&config(), Some("baohaiduong.vn")).expect("same URL");
        assert_eq!(target.settings.timeout, Duration::from_secs(7));
    }

    #[test]
    fn allowed_suffixes_are_label_wise_and_everything_else_is_forbidden() {
        assert!(resolve_target(&config(), Some("soyte.haiduong.gov.vn")).is_ok());
        for refused in [
            "evilhaiduong.gov.vn",
            "example.com",
            "https://haiduong.gov.vn.evil.com/",
        ] {
            assert!(
                matches!(
                    resolve_target(&config(), Some(refused)),
                    Err(ProbeRefusal::Forbidden(_))
                ),
                "{refused}"
            );
        }
        assert!(matches!(
            resolve_target(&config(), None),
            Err(ProbeRefusal::BadRequest(_))
        ));
        assert!(matches!(
            resolve_target(&config(), Some("http://127.0.0.1/")),
            Err(ProbeRefusal::BadRequest(_))
        ));
    }

    #[test]
    fn budget_fits_the_scrape() {
        let ten = Duration::from_secs(10);
        assert_eq!(budget(ten, None), ten);
        assert_eq!(budget(ten, Some("5")), Duration::from_secs_f64(4.5));
        assert_eq!(budget(ten, Some("30")), ten);
        assert_eq!(budget(ten, Some("garbage")), ten);
        assert_eq!(budget(ten, Some("-1")), ten);
    }
}
