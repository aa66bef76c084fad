//! routing.rpki: every address of the site, its name servers and its MX hosts sits in a route
//! whose RPKI origin validation (RFC 6811) is `valid`.

use serde_json::json;

use super::input::CheckFn;
use super::result::{error, fail, pass, reason, skip, warn, CheckResult, Findings};
use crate::model::catalogue::CheckId;
use crate::probe::prefix::{OriginOutcome, ValidatorState};
use crate::probe::routing::{InvalidReason, Validity, Vrp};
use crate::probe::Observations;

/// The checks this file implements, found by [`super::evaluate`] through the catalogue id.
pub(super) const CHECKS: &[(CheckId, CheckFn)] = &[(CheckId::RoutingRpki, |input| rpki(input.observations))];

fn describe_vrps(vrps: &[Vrp]) -> String {
    let listed: Vec<String> = vrps
        .iter()
        .take(3)
        .map(|vrp| format!("AS{} {} max /{}", vrp.asn, vrp.prefix, vrp.max_length))
        .collect();
    listed.join(", ")
}

/// Every route is RPKI-valid.
pub fn rpki(obs: &Observations) -> CheckResult {
    let id = CheckId::RoutingRpki;
    let Some(routing) = &obs.routing else {
        return error(
            id,
            reason!("routing was not probed", "chưa kiểm tra định tuyến"),
            json!({}),
        );
    };
    let observed = json!(routing);
    let source = match &routing.validator {
        ValidatorState::NotConfigured => {
            return skip(
                id,
                reason!(
                    "no RPKI validator configured (routing.rpki_rtr or routing.rpki_vrps)",
                    "chưa cấu hình bộ kiểm tra RPKI (routing.rpki_rtr hoặc routing.rpki_vrps)"
                ),
                observed,
            )
        }
        ValidatorState::Failed { source, message } => {
            return error(
                id,
                reason!(
                    "could not be tested: the RPKI validator ({source}) could not be asked: {message}",
                    "không kiểm tra được: không hỏi được bộ kiểm tra RPKI ({source}): {message}"
                ),
                observed,
            )
        }
        ValidatorState::Loaded { source, .. } => source,
    };
    let mut invalid = Findings::default();
    let mut not_found = Findings::default();
    let mut untested = Findings::default();
    let mut valid = 0;
    for address in &routing.addresses {
        let (ip, roles) = (address.ip, address.roles.join(", "));
        match &address.origin {
            OriginOutcome::Routes { routes } => {
                for route in routes {
                    let (prefix, origin) = (route.prefix, route.origin);
                    match &route.validity {
                        Some(Validity::Valid { .. }) => valid += 1,
                        Some(Validity::Invalid { reason, covering }) => {
                            let (why_en, why_vi) = match reason {
                                InvalidReason::WrongOrigin => {
                                    ("origin AS not authorised", "AS gốc không được ủy quyền")
                                }
                                InvalidReason::TooSpecific => {
                                    ("more specific than the ROA allows", "cụ thể hơn mức ROA cho phép")
                                }
                            };
                            let roas = describe_vrps(covering);
                            invalid.push(
                                format!("[{ip}] ({roles}) route {prefix} from AS{origin} is RPKI-invalid: {why_en} (ROA: {roas})"),
                                format!("[{ip}] ({roles}) tuyến {prefix} từ AS{origin} không hợp lệ RPKI: {why_vi} (ROA: {roas})"),
                            );
                        }
                        Some(Validity::NotFound) => not_found.push(
                            format!("[{ip}] ({roles}) route {prefix} from AS{origin}: no ROA covers it"),
                            format!("[{ip}] ({roles}) tuyến {prefix} từ AS{origin}: chưa có ROA"),
                        ),
                        None => untested.push(
                            format!("[{ip}] ({roles}) {prefix}: not validated"),
                            format!("[{ip}] ({roles}) {prefix}: chưa được kiểm tra"),
                        ),
                    }
                }
            }
            // An address of a lab or internal range has no public route to validate.
            OriginOutcome::NoRoute { .. } if address.accepted_range => {}
            OriginOutcome::NoRoute { source } => untested.push(
                format!("[{ip}] ({roles}) no route origin found in {source}"),
                format!("[{ip}] ({roles}) không tìm thấy AS gốc của tuyến trong {source}"),
            ),
            OriginOutcome::Failed { message } => untested.push(
                format!("[{ip}] ({roles}) route origin lookup failed: {message}"),
                format!("[{ip}] ({roles}) không tra được AS gốc: {message}"),
            ),
        }
    }
    if !invalid.is_empty() {
        return fail(id, invalid.reason("", ""), observed);
    }
    if !untested.is_empty() {
        return error(
            id,
            untested.reason("could not be tested: ", "không kiểm tra được: "),
            observed,
        );
    }
    if !not_found.is_empty() {
        return warn(
            id,
            not_found.reason(
                "not covered by any ROA (RPKI not-found): ",
                "chưa được ROA nào bao phủ (RPKI not-found): ",
            ),
            observed,
        );
    }
    if valid == 0 {
        return skip(
            id,
            reason!(
                "no address with a public route to validate (accepted ranges only)",
                "không có địa chỉ nào có tuyến công khai để kiểm tra (chỉ các dải được chấp nhận)"
            ),
            observed,
        );
    }
    pass(
        id,
        reason!(
            "all {valid} route(s) of the site, its name servers and mail servers are RPKI-valid ({source})",
            "cả {valid} tuyến của trang, máy chủ tên miền và máy chủ thư đều hợp lệ RPKI ({source})"
        ),
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;
    use crate::probe::prefix::{AddressRouting, RouteValidity, RoutingLevel};
    use crate::probe::routing::{validate, VrpSet};

    fn with_routes(obs: &mut Observations, routes: &[(&str, &str, u32)], vrps: &[(&str, u8, u32)]) {
        let set = VrpSet::new(vrps.iter().map(|(prefix, max_length, asn)| Vrp {
            prefix: prefix.parse().unwrap(),
            max_length: *max_length,
            asn: *asn,
        }));
        obs.routing = Some(RoutingLevel {
            addresses: routes
                .iter()
                .map(|(ip, prefix, origin)| AddressRouting {
                    ip: ip.parse().unwrap(),
                    roles: vec!["site".into()],
                    accepted_range: false,
                    origin: OriginOutcome::Routes {
                        routes: vec![RouteValidity {
                            prefix: prefix.parse().unwrap(),
                            origin: *origin,
                            validity: Some(validate(&set, prefix.parse().unwrap(), *origin)),
                        }],
                    },
                })
                .collect(),
            validator: ValidatorState::Loaded {
                source: "RTR 127.0.0.1:3323".into(),
                vrps: set.len(),
            },
        });
    }

    #[test]
    fn each_rpki_state_gives_its_status() {
        let mut obs = observations();
        let roas = [("203.162.0.0/16", 24, 45899), ("2402:800::/32", 48, 7552)];
        with_routes(
            &mut obs,
            &[
                ("203.162.4.190", "203.162.4.0/24", 45899),
                ("2402:800::1", "2402:800::/32", 7552),
            ],
            &roas,
        );
        assert_eq!(rpki(&obs).status, Status::Pass);
        with_routes(&mut obs, &[("203.162.4.190", "203.162.4.0/24", 64500)], &roas);
        assert_verdict(
            &rpki(&obs),
            Status::Fail,
            "[203.162.4.190] (site) route 203.162.4.0/24 from AS64500 is RPKI-invalid: origin AS not authorised",
        );
        with_routes(&mut obs, &[("203.162.4.190", "203.162.4.128/25", 45899)], &roas);
        assert_verdict(
            &rpki(&obs),
            Status::Fail,
            "more specific than the ROA allows (ROA: AS45899 203.162.0.0/16 max /24)",
        );
        with_routes(&mut obs, &[("192.0.2.1", "192.0.2.0/24", 64500)], &roas);
        assert_verdict(&rpki(&obs), Status::Warn, "no ROA covers it");
        if let Some(routing) = &mut obs.routing {
            routing.validator = ValidatorState::Failed {
                source: "RTR 127.0.0.1:1".into(),
                message: "connection refused".into(),
            };
        }
        assert_verdict(&rpki(&obs), Status::Error, "could not be asked");
        if let Some(routing) = &mut obs.routing {
            routing.validator = ValidatorState::NotConfigured;
        }
        assert_verdict(&rpki(&obs), Status::Skip, "no RPKI validator configured");
    }

    #[test]
    fn a_failed_lookup_is_never_a_pass_and_accepted_ranges_without_routes_are_skipped() {
        let mut obs = observations();
        with_routes(
            &mut obs,
            &[("203.162.4.190", "203.162.4.0/24", 45899)],
            &[("203.162.0.0/16", 24, 45899)],
        );
        let routing = obs.routing.as_mut().unwrap();
        routing.addresses.push(AddressRouting {
            ip: "2402:800::1".parse().unwrap(),
            roles: vec!["name server ns1.example.vn".into()],
            accepted_range: false,
            origin: OriginOutcome::Failed {
                message: "timeout".into(),
            },
        });
        assert_verdict(
            &rpki(&obs),
            Status::Error,
            "[2402:800::1] (name server ns1.example.vn) route origin lookup failed",
        );
        let routing = obs.routing.as_mut().unwrap();
        routing.addresses.truncate(0);
        routing.addresses.push(AddressRouting {
            ip: "fd00::1".parse().unwrap(),
            roles: vec!["site".into()],
            accepted_range: true,
            origin: OriginOutcome::NoRoute { source: "DNS".into() },
        });
        assert_eq!(rpki(&obs).status, Status::Skip);
    }
}
