#!/usr/bin/env bash
# One command for the `vnready check` cost figures (issue 12): brings up the shared performance
# lab (N dual-stack HTTPS sites in a network namespace: NSD, nginx, a lab CA), runs the floor,
# blackbox_exporter and vnready side by side in one run, prints the ratios, and takes the lab down.
# Usage: scripts/bench-check.sh [N]   (needs root and ../shared/perf beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
PERF=${PERF_LAB:-../shared/perf}
[[ -x $PERF/up.sh ]] || { echo "no performance lab at $PERF (set PERF_LAB)" >&2; exit 1; }
export PERF_DIR=${PERF_DIR:-/tmp/vnperf-bench}
"$PERF/down.sh" "$PERF_DIR" >/dev/null 2>&1 || true
trap '"$PERF/down.sh" "$PERF_DIR" >/dev/null 2>&1 || true' EXIT
"$PERF/up.sh" "$N" "$PERF_DIR"
out=$(mktemp)
"$PERF/bench-vnready.sh" | tee "$out"
python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def cpu(pattern):
    m = re.search(pattern + r".*?cpu [\d.]+ s(?: total)?,? ?(?:= )?([\d.]+) ms per dual-stack target", text, re.S)
    return float(m.group(1)) if m else None
def wall(pattern):
    m = re.search(pattern + r".*?wall ([\d.]+) s", text, re.S)
    return float(m.group(1)) if m else None
floor = cpu(r"floor \(rustls\+hickory\)")
floor_wall = wall(r"floor \(rustls\+hickory\)")
for name, pattern in [("blackbox_exporter", r"blackbox_exporter:"),
                      ("vnready same work", r"vnready check --only http.up,tls.valid"),
                      ("vnready full audit", r"vnready check :")]:
    c, w = cpu(pattern), wall(pattern)
    if floor and c:
        print(f"{name}: {c / floor:.2f}x the floor's CPU, {w / floor_wall:.2f}x its wall time")
PY
rm -f "$out"
