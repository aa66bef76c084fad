//! `/badge?target=URL&family=ipv6&window=30d`: a small SVG an agency can embed on its own
//! portal, in the shields.io look: "IPv6 30d | 99.2%". Only listed targets are served, as for
//! `/probe`, so the endpoint tells nothing about sites the province does not audit.

use std::collections::HashMap;

use crate::config::Config;
use crate::daemon::uptime::DAYS_READ;
use crate::history::store::FamilyHistory;
use crate::history::uptime;
use crate::model::target::{Target, TargetUrl};
use crate::probe::addr::IpFamily;
use crate::report::html::escape;

/// Why a badge is not served.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadgeRefusal {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
}

/// What a badge request asks for.
#[derive(Debug, PartialEq)]
pub struct BadgeRequest<'a> {
    pub target: &'a Target,
    pub family: IpFamily,
    /// Seconds back from now.
    pub window: f64,
    /// As the label shows it ("30d").
    pub window_text: String,
}

/// Reads and checks the parameters against the listed targets.
pub fn request<'a>(config: &'a Config, params: &HashMap<String, String>) -> Result<BadgeRequest<'a>, BadgeRefusal> {
    let text = params
        .get("target")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| BadgeRefusal::BadRequest("missing parameter: target".into()))?;
    let listed = config.targets.iter().find(|t| t.id == text).or_else(|| {
        let url = TargetUrl::parse(text).ok()?;
        config.targets.iter().find(|t| t.url == url.url)
    });
    let target =
        listed.ok_or_else(|| BadgeRefusal::Forbidden(format!("target {text:?} is not in the configuration")))?;
    let family = match params.get("family").map(String::as_str).unwrap_or("ipv6") {
        "ipv4" | "4" => IpFamily::Ipv4,
        "ipv6" | "6" => IpFamily::Ipv6,
        other => {
            return Err(BadgeRefusal::BadRequest(format!(
                "family {other:?}: expected ipv4 or ipv6"
            )))
        }
    };
    let window_text = params.get("window").cloned().unwrap_or_else(|| "30d".into());
    let window = window_text
        .parse::<crate::model::duration::HumanDuration>()
        .map_err(|_| {
            BadgeRefusal::BadRequest(format!(
                "window {window_text:?}: expected a duration such as 24h, 7d, 30d"
            ))
        })?
        .0
        .as_secs_f64();
    if window <= 0.0 || window > DAYS_READ * 86_400.0 {
        return Err(BadgeRefusal::BadRequest(format!(
            "window {window_text:?}: at most {DAYS_READ} days"
        )));
    }
    Ok(BadgeRequest {
        target,
        family,
        window,
        window_text,
    })
}

/// The badge's SVG from the target's history (its families).
pub fn render(request: &BadgeRequest<'_>, history: &[FamilyHistory], now: f64) -> String {
    let history = history.iter().find(|h| h.family == request.family);
    let ratio = history.and_then(|h| {
        uptime::availability((now - request.window, now), Some(&h.coverage), &h.gaps, &h.outages, now).ratio
    });
    let value = match ratio {
        Some(ratio) => format!("{:.1}%", (ratio * 1000.0).floor() / 10.0),
        None => "not monitored".to_string(),
    };
    let colour = colour(ratio, request.target.settings.availability_slo);
    let label = format!("{} {}", request.family.label(), request.window_text);
    svg(&label, &value, colour)
}

/// Green when the objective is met, amber while within twice its error budget, red beyond;
/// without an objective, the fixed scale of the status page (99.9 %, 99 %, 95 %).
fn colour(ratio: Option<f64>, objective: Option<f64>) -> &'static str {
    const GREEN: &str = "#4c1";
    const AMBER: &str = "#dfb317";
    const RED: &str = "#e05d44";
    match (ratio, objective) {
        (None, _) => "#9f9f9f",
        (Some(r), Some(objective)) if r >= objective => GREEN,
        (Some(r), Some(objective)) if r >= 1.0 - 2.0 * (1.0 - objective) => AMBER,
        (Some(_), Some(_)) => RED,
        (Some(r), None) if r >= 0.999 => GREEN,
        (Some(r), None) if r >= 0.99 => "#97ca00",
        (Some(r), None) if r >= 0.95 => AMBER,
        (Some(_), None) => RED,
    }
}

/// Width of a text in the badge font, roughly (Verdana 11px: ~7 px a character).
fn text_width(text: &str) -> usize {
    text.chars().count() * 7 + 10
}

fn svg(label: &str, value: &str, colour: &str) -> String {
    let (left, right) = (text_width(label), text_width(value));
    let total = left + right;
    let (label, value) = (escape(label), escape(value));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
<title>{label}: {value}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{left}\" height=\"20\" fill=\"#555\"/><rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/><rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{lx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{label}</text><text x=\"{lx}\" y=\"14\">{label}</text>\
<text x=\"{rx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{value}</text><text x=\"{rx}\" y=\"14\">{value}</text></g></svg>",
        lx = left / 2,
        rx = left + right / 2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::uptime::{Coverage, Outage};

    fn config() -> Config {
        Config::parse("targets:\n  - url: https://a.gov.vn/\n", std::path::Path::new("t.yaml")).expect("config")
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn listed_targets_only_and_parameters_checked() {
        let config = config();
        assert!(matches!(
            request(&config, &params(&[])),
            Err(BadgeRefusal::BadRequest(_))
        ));
        assert!(matches!(
            request(&config, &params(&[("target", "https://evil.example/")])),
            Err(BadgeRefusal::Forbidden(_))
        ));
        assert!(matches!(
            request(&config, &params(&[("target", "https://a.gov.vn/"), ("family", "ipx")])),
            Err(BadgeRefusal::BadRequest(_))
        ));
        assert!(matches!(
            request(&config, &params(&[("target", "https://a.gov.vn/"), ("window", "400d")])),
            Err(BadgeRefusal::BadRequest(_))
        ));
        let ok = request(&config, &params(&[("target", "a.gov.vn"), ("window", "7d")])).expect("listed");
        assert_eq!((ok.family, ok.window), (IpFamily::Ipv6, 7.0 * 86_400.0));
    }

    #[test]
    fn colours_follow_the_objective_when_there_is_one() {
        assert_eq!(colour(Some(0.996), Some(0.995)), "#4c1");
        assert_eq!(colour(Some(0.991), Some(0.995)), "#dfb317");
        assert_eq!(colour(Some(0.989), Some(0.995)), "#e05d44");
        assert_eq!(colour(Some(0.9995), None), "#4c1");
        assert_eq!(colour(None, Some(0.995)), "#9f9f9f");
    }

    #[test]
    fn the_badge_shows_the_window_figure_escaped() {
        let config = config();
        let request = request(&config, &params(&[("target", "https://a.gov.vn/"), ("family", "ipv6")])).expect("ok");
        let history = vec![FamilyHistory {
            target: config.targets[0].id.clone(),
            family: IpFamily::Ipv6,
            coverage: Coverage {
                first_at: 0.0,
                last_at: 1000.0,
                interval: 60.0,
                unknown_since: None,
            },
            gaps: Vec::new(),
            outages: vec![Outage {
                family: IpFamily::Ipv6,
                start: 500.0,
                end: Some(510.0),
                reason: crate::checks::Reason::new("", ""),
            }],
        }];
        let badge = render(&request, &history, 1000.0);
        assert!(
            badge.starts_with("<svg") && badge.contains("IPv6 30d") && badge.contains(">99.0%<"),
            "{badge}"
        );
        assert!(!badge.contains("<script"));
        assert!(
            badge.contains("#97ca00"),
            "99 % is light green on the fixed scale: {badge}"
        );
        let none = render(&request, &[], 1000.0);
        assert!(none.contains("not monitored"));
    }
}
