//! Path-MTU blackholes: a path whose narrow link (a tunnel, PPPoE) cannot carry full-size
//! packets and whose firewall drops the ICMPv6 "Packet Too Big" that would tell the server to
//! send smaller ones. The TCP handshake works (small packets), then the server's certificate
//! flight never arrives. While a fetch runs, its progress is watched: when it has connected and
//! then received nothing for a while, the same URL is asked again on a fresh connection that
//! announces an MSS of 1220 bytes, so every segment fits a 1280-byte IPv6 path. Stalls at full
//! size and works at 1280 is a blackhole; both stalling is a server that does not answer.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::context::Context;
use super::http::FetchError;
use super::progress::Progress;

/// 1280 (the IPv6 minimum MTU) − 40 (IPv6 header) − 20 (TCP header).
pub const SMALL_MSS: u32 = 1220;
/// The retry needs the handshake and the response head, not the whole page.
const RETRY_BODY: usize = 64 * 1024;

/// What the small-packet retry showed on one address whose fetch stalled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AddressPmtu {
    pub ip: IpAddr,
    /// How long the fetch had received nothing after connecting when the retry began.
    pub quiet_seconds: f64,
    /// Bytes the stalled fetch had received by then.
    pub bytes_before_stall: u64,
    #[serde(flatten)]
    pub small_packets: SmallPackets,
}

/// The retry at MSS 1220.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "small_packets", rename_all = "snake_case")]
pub enum SmallPackets {
    /// The page (or a redirect) came back: the path carries 1280-byte packets.
    Answered { status: u16 },
    /// The retry failed too.
    Failed { error: FetchError },
}

/// How long a connected fetch may receive nothing before the retry starts: a third of what is
/// left of the audit, between half a second and five.
fn quiet_allowed(deadline: Instant) -> Duration {
    (deadline.saturating_duration_since(Instant::now()) / 3).clamp(Duration::from_millis(500), Duration::from_secs(5))
}

/// Runs `fetch` (watched by `progress`) to its end; if it connects and then stalls, asks
/// `cx.target.url` over `ip` again with small packets beside it.
pub async fn watch<F: Future>(
    cx: &Context<'_>,
    ip: IpAddr,
    progress: &Arc<Progress>,
    fetch: F,
) -> (F::Output, Option<AddressPmtu>) {
    let quiet = quiet_allowed(cx.deadline);
    let mut fetch = std::pin::pin!(fetch);
    loop {
        // Until it connects, look again after `quiet`: a slow connect is not a stalled path.
        let wake = progress.stalled_at(quiet).unwrap_or_else(|| Instant::now() + quiet);
        tokio::select! {
            output = &mut fetch => return (output, None),
            _ = tokio::time::sleep_until(wake) => {
                if progress.stalled_at(quiet).is_some_and(|at| at <= Instant::now()) {
                    break;
                }
            }
        }
    }
    let bytes_before_stall = progress.bytes();
    let small = cx.http().first_hop_address_only().with_mss(SMALL_MSS);
    let (output, retry) = tokio::join!(fetch, small.fetch(&cx.target.url, ip, cx.deadline, RETRY_BODY, 0.0));
    let small_packets = match (retry.responses.first(), retry.error) {
        (Some(response), _) => SmallPackets::Answered {
            status: response.status,
        },
        (None, Some(error)) => SmallPackets::Failed { error },
        (None, None) => SmallPackets::Failed {
            error: FetchError {
                phase: super::http::Phase::Processing,
                kind: "other".into(),
                message: "no response".into(),
            },
        },
    };
    let pmtu = AddressPmtu {
        ip,
        quiet_seconds: quiet.as_secs_f64(),
        bytes_before_stall,
        small_packets,
    };
    (output, Some(pmtu))
}
