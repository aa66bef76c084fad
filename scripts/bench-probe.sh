#!/usr/bin/env bash
# CPU of one `/probe` audit against one site in `vnready check` (issue 12: within 1.5x), in one
# run on the shared performance lab (../shared/perf/up.sh N must be up). The same M sites are
# audited both ways at concurrency 32: `check` as one process, `/probe` as M scrapes of a
# daemon that owns no other work (its one listed target is audited once, before measuring).
# Usage: scripts/bench-probe.sh [M]   (needs root; run from the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
M=${1:-500}
DIR=${PERF_DIR:-${TMPDIR:-/tmp}/vnperf}
[[ -f $DIR/up ]] || { echo "perf lab not up (../shared/perf/up.sh N)" >&2; exit 1; }
cargo build --release -q
W=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$W"' EXIT
for ((i = 0; i < M; i++)); do echo "https://t$i.perf.lab.gov.vn/"; done >"$W/urls"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# check: the whole process, start to end.
ip netns exec vnperf /usr/bin/time -f "%U %S" -o "$W/check.time" target/release/vnready check $(cat "$W/urls") \
  --resolver 127.0.0.1:53 --accept-range 127.0.0.0/8 --accept-range ::1/128 --extra-root "$DIR/root.pem" \
  --concurrency 32 --timeout 10s --format json >"$W/check.json" || true   # exit 1: some site fails a required check
check_cpu=$(tail -n 1 "$W/check.time" | awk '{print $1 + $2}')

# /probe: the daemon's CPU across M scrapes, after its one listed target's first audit.
cat >"$W/t.yaml" <<EOF
defaults: { interval: 1h, timeout: 10s, concurrency: 32 }
resolver: { servers: ["127.0.0.1:53"] }
trust: { extra_roots: ["$DIR/root.pem"], accept_ranges: ["127.0.0.0/8", "::1/128"] }
probe_endpoint: { allow_host_suffixes: ["perf.lab.gov.vn"] }
targets:
  - url: https://t0.perf.lab.gov.vn/
EOF
ip netns exec vnperf target/release/vnready serve --config "$W/t.yaml" --web.listen-address 127.0.0.1:19914 \
  --storage.path "" >"$W/log" 2>&1 &
pid=$!
until ip netns exec vnperf curl -sf http://127.0.0.1:19914/-/ready -o /dev/null; do sleep 0.5; done
before=$(ticks $pid)
ip netns exec vnperf xargs -P 32 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
  -H 'X-Prometheus-Scrape-Timeout-Seconds: 10' 'http://127.0.0.1:19914/probe?target={}' <"$W/urls" >"$W/codes"
after=$(ticks $pid)
ok=$(grep -c '^200$' "$W/codes" || true)
python3 - "$check_cpu" "$before" "$after" "$hz" "$M" "$ok" <<'PY'
import sys
check_cpu, before, after, hz, m, ok = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
probe_cpu = (after - before) / hz
print(f"check: {m} sites, {1000 * check_cpu / m:.2f} ms CPU per site")
print(f"/probe: {ok} of {m} answered 200, {1000 * probe_cpu / m:.2f} ms CPU per probe")
print(f"/probe / check: {probe_cpu / check_cpu:.2f}x")
PY
