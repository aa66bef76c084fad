//! targets.yaml: strict parsing (unknown and duplicate keys are errors) and resolution into
//! [`Config`], with every error naming the file, line and column.

mod error;
mod load;
mod raw;
mod resolve;
mod resolved;
pub mod target_lines;

pub use error::{located, yaml_error, ConfigError, SourceFile};
pub use raw::{parse_cidr, ResolverAddr};
pub use resolve::parse_rtr_address;
pub use resolved::{Config, Overrides, DEFAULT_CONCURRENCY};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::model::catalogue::CheckId;
    use crate::model::target::Category;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/vnready/targets.yaml"))
    }

    const GOOD: &str = "\
defaults:
  timeout: 5s
  interval: 1m
resolver:
  servers: [\"127.0.0.1:5353\", \"::1\"]
trust:
  extra_roots: [vn-root.pem]
  accept_ranges: [\"fd00::/8\"]
targets:
  - url: https://haiduong.gov.vn/
    name: Cổng thông tin
    agency: UBND tỉnh
    category: state_portal
    district: TP Hải Dương
    tags: [portal]
  - url: baohaiduong.vn
    category: e_newspaper
    timeout: 20s
    expect_status: [200, \"300-399\"]
";

    #[test]
    fn good_file_resolves_defaults_and_overrides() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.targets.len(), 2);
        assert_eq!(config.targets[0].settings.timeout.as_secs(), 5);
        assert_eq!(config.targets[1].settings.timeout.as_secs(), 20);
        assert_eq!(config.targets[1].settings.interval.as_secs(), 60);
        assert_eq!(config.targets[0].category, Category::StatePortal);
        assert_eq!(config.probe.resolver.servers[1], "[::1]:53".parse().unwrap());
        assert_eq!(
            config.probe.trust.extra_roots[0],
            PathBuf::from("/etc/vnready/vn-root.pem")
        );
        assert_eq!(config.targets[1].http_url.as_str(), "http://baohaiduong.vn/");
    }

    /// A table of broken files with the exact position and the words the user will see.
    #[test]
    fn invalid_files_name_line_column_and_expectation() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "targets:\n  - url: https://a.vn/\n    policy:\n      exempt: [ipv6.aaaa]\n",
                "targets.yaml:4:",
                "without a reason",
            ),
            (
                "policy:\n  state_portal:\n    require: [ipv6.magic]\n    reason: x\ntargets: []\n",
                "targets.yaml:3:",
                "ipv6.magic",
            ),
            (
                "goals:\n  - id: g\n    title: t\n    checks: [ipv6.aaaa]\n    target: 120%\n    deadline: 2025-12-31\ntargets: []\n",
                "targets.yaml:5:",
                "invalid ratio",
            ),
            (
                "goals:\n  - id: g\n    title: t\n    checks: [ipv6.aaaa]\n    deadline: 2025-02-30\ntargets: []\n",
                "targets.yaml:5:",
                "invalid date",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    nmae: x\n",
                "targets.yaml:3:",
                "nmae",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    url: https://b.vn/\n",
                "targets.yaml:3:",
                "duplicate",
            ),
            (
                "targets:\n  - url: \"ftp://a.vn/\"\n",
                "targets.yaml:2:",
                "not supported",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    timeout: soon\n",
                "targets.yaml:3:",
                "invalid duration",
            ),
            (
                "targets:\n  - url: https://a.vn/\n  - url: a.vn\n",
                "targets.yaml:3:",
                "duplicate target",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    category: bank\n",
                "targets.yaml:3:",
                "bank",
            ),
            (
                "resolver:\n  servers: [nonsense]\ntargets: []\n",
                "targets.yaml:2:",
                "invalid resolver",
            ),
            (
                "trust:\n  accept_ranges: [\"10.0.0.0/33\"]\ntargets: []\n",
                "targets.yaml:2:",
                "invalid range",
            ),
            (
                "targets:\n  - url: https://a.vn/\n    tls_expiry_warn: 1d\n    tls_expiry_fail: 2d\n",
                "targets.yaml:3:",
                "must not exceed",
            ),
            (
                "routing:\n  rpki_rtr: rtr.vnnic.vn\ntargets: []\n",
                "targets.yaml:2:",
                "expected HOST:PORT",
            ),
            (
                "routing:\n  rpki_vrps: vrps.json\n  rpki_rtr: \"127.0.0.1:3323\"\ntargets: []\n",
                "targets.yaml:3:",
                "either `rpki_rtr` or `rpki_vrps`",
            ),
            (
                "routing:\n  rpki: yes\ntargets: []\n",
                "targets.yaml:2:",
                "rpki",
            ),
        ];
        for (text, position, words) in cases {
            let message = parse(text).unwrap_err().to_string();
            assert!(
                message.contains(position),
                "{text:?}: expected {position} in {message:?}"
            );
            assert!(message.contains(words), "{text:?}: expected {words:?} in {message:?}");
        }
    }

    #[test]
    fn policies_apply_category_then_target_overrides_and_goals_resolve() {
        let text = "policy:\n  state_portal:\n    require: [dns.dnssec]\n    reason: Kế hoạch 2026\n\
goals:\n  - id: v6\n    title: IPv6\n    categories: [state_portal]\n    checks: [ipv6.aaaa]\n    target: \"95%\"\n    deadline: 2025-12-31\n\
targets:\n  - url: https://a.gov.vn/\n    category: state_portal\n    policy:\n      exempt: [ipv6.reachable]\n      reason: Công văn 1\n  - url: https://b.vn/\n    category: e_newspaper\n";
        let config = parse(text).expect("valid");
        let portal = &config.targets[0].policy;
        assert_eq!(
            portal.requirement(CheckId::DnsDnssec),
            crate::model::policy::Requirement::Required
        );
        assert_eq!(
            portal.requirement(CheckId::Ipv6Reachable),
            crate::model::policy::Requirement::Exempt
        );
        assert_eq!(
            portal.reasons,
            vec!["Kế hoạch 2026".to_string(), "Công văn 1".to_string()]
        );
        assert_eq!(config.targets[1].policy.required, vec![CheckId::DomainVn]);
        assert_eq!(config.goals[0].target_ratio, 0.95);
        assert_eq!(config.goals[0].title_en, "IPv6");
    }

    #[test]
    fn routing_sources_resolve() {
        let config = parse("routing:\n  route_origins: origins.csv\n  rpki_rtr: \"[2001:db8::1]:3323\"\ntargets: []\n")
            .expect("valid");
        assert_eq!(
            config.probe.routing.validator,
            Some(crate::probe::Validator::Rtr {
                address: "[2001:db8::1]:3323".into()
            })
        );
        assert!(matches!(
            config.probe.routing.origins,
            crate::probe::RouteOrigins::Table { .. }
        ));
        let config = parse("targets: []\n").expect("valid");
        assert_eq!(config.probe.routing.validator, None);
        assert_eq!(config.probe.routing.origins, crate::probe::RouteOrigins::default());
    }

    #[test]
    fn missing_targets_key_is_an_error() {
        let message = parse("defaults:\n  timeout: 5s\n").unwrap_err().to_string();
        assert!(message.contains("targets"), "{message}");
    }
}
