#!/usr/bin/env bash
# The whole test suite, from a fresh machine of this kind (Debian, root, no internet besides the
# package registries). Installs what the tests need (openssl, iproute2, python3, chromium, ldnsutils
# for signing DNSSEC lab zones, curl for the web-config tests, postfix for the mail tests (private instances; the package
# is preseeded to "No configuration" so no system MTA is set up),
# gnutls-bin (a TLS server without RFC 5746) and testssl.sh (the peer the TLS scan is compared with),
# nftables and procps for the network-namespace tests (a router dropping Packet Too Big, a
# monitor without IPv6), stayrtr (an RPKI-to-Router server for routing.rpki), and the real stack for the end-to-end test: nsd, nginx-light,
# prometheus, prometheus-alertmanager), then
# runs format, lint, the Kubernetes manifests' schema validation (kubernetes-validate from
# PyPI, in a virtualenv under target/), unit, lab, daemon, report, status-page and end-to-end
# tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
command -v ip >/dev/null 2>&1 || need_packages+=(iproute2)
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
command -v python3 >/dev/null 2>&1 || need_packages+=(python3)
python3 -m ensurepip --version >/dev/null 2>&1 || need_packages+=(python3-venv)
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
command -v nsd >/dev/null 2>&1 || need_packages+=(nsd)
command -v nginx >/dev/null 2>&1 || need_packages+=(nginx-light)
command -v amtool >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
command -v ldns-signzone >/dev/null 2>&1 || need_packages+=(ldnsutils)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
command -v postfix >/dev/null 2>&1 || need_packages+=(postfix)
command -v nft >/dev/null 2>&1 || need_packages+=(nftables)
command -v sysctl >/dev/null 2>&1 || need_packages+=(procps)
command -v stayrtr >/dev/null 2>&1 || need_packages+=(stayrtr)
command -v gnutls-serv >/dev/null 2>&1 || need_packages+=(gnutls-bin)
command -v testssl >/dev/null 2>&1 || need_packages+=(testssl.sh)
if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
  else
    echo "tests need: ${need_packages[*]} (run as root to install them)" >&2
    exit 1
  fi
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
python3 dashboards/generate.py --check
scripts/validate-manifests.sh
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --all-targets -- --test-threads=4
