//! Whether this monitor itself can reach an address. A provincial data centre without IPv6
//! must not see every site fail for the monitor's own fault, so an address the monitor has no
//! route to is "not tested from here", never "down". The question is put to the kernel: a UDP
//! socket connected to the address makes the route lookup and sends nothing.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, UdpSocket};

/// A global IPv6 address (a root name server's) used only for the kernel's route lookup: no
/// packet is ever sent to it.
const GLOBAL_V6_PROBE: Ipv6Addr = Ipv6Addr::new(0x2001, 0x500, 0x2f, 0, 0, 0, 0, 0xf);

/// `Err(why)` when this monitor has no route to `ip` (no default route for the family, no
/// source address, the family disabled, an unreachable or blackhole route).
pub fn monitor_route(ip: IpAddr) -> Result<(), String> {
    let bind: SocketAddr = match ip {
        IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let family = if ip.is_ipv6() { "IPv6" } else { "IPv4" };
    let socket = UdpSocket::bind(bind).map_err(|err| format!("this monitor cannot open {family} sockets ({err})"))?;
    socket
        .connect(SocketAddr::new(ip, 443))
        .map_err(|err| format!("this monitor has no {family} route to {ip} ({err})"))
}

/// Whether this monitor has a route to the global IPv6 Internet.
pub fn monitor_has_ipv6() -> bool {
    monitor_route(IpAddr::V6(GLOBAL_V6_PROBE)).is_ok()
}

/// Whether a connect error can mean that the monitor itself has no route (then
/// [`monitor_route`] tells it apart from a network that answered "unreachable").
pub fn may_be_local(err: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        err.kind(),
        ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable
            | ErrorKind::AddrNotAvailable
            | ErrorKind::Unsupported
    ) || matches!(err.raw_os_error(), Some(97 | 22 | 13)) // EAFNOSUPPORT, EINVAL (blackhole), EACCES (prohibit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_routed_and_route_errors_are_told_from_refusals() {
        assert!(monitor_route("127.0.0.1".parse().unwrap()).is_ok());
        assert!(may_be_local(&std::io::Error::from(
            std::io::ErrorKind::NetworkUnreachable
        )));
        assert!(!may_be_local(&std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        )));
    }
}
