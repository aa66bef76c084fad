#!/usr/bin/env bash
# Before/after CPU of `vnready check` in one run: builds REV (default: the previous commit) in a
# scratch worktree, brings up the shared performance lab (N dual-stack sites in a namespace),
# and runs the old and the new binary in turns, ROUNDS times each (same lab, same machine load),
# for the full audit and for --only http.up,tls.valid. Prints the median CPU per site of each
# and the new/old ratio. The machine is noisy: the ratio is the figure, not the milliseconds.
# Usage: scripts/bench-compare.sh [REV] [N] [ROUNDS]   (root; ../shared/perf beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-HEAD~1}
N=${2:-1000}
ROUNDS=${3:-3}
PERF=${PERF_LAB:-../shared/perf}
[[ -x $PERF/up.sh ]] || { echo "no performance lab at $PERF (set PERF_LAB)" >&2; exit 1; }
export PERF_DIR=${PERF_DIR:-/tmp/vnperf-compare}
OLD=/tmp/vnready-compare-old
cargo build --release -q
rm -rf "$OLD" && git worktree prune
git worktree add -q --detach "$OLD" "$REV"
trap 'git worktree remove --force "$OLD" >/dev/null 2>&1 || true; "$PERF/down.sh" "$PERF_DIR" >/dev/null 2>&1 || true' EXIT
CARGO_TARGET_DIR=${OLD_TARGET_DIR:-/tmp/vnready-compare-target} cargo build --release -q --manifest-path "$OLD/Cargo.toml"
old_bin=${OLD_TARGET_DIR:-/tmp/vnready-compare-target}/release/vnready
new_bin=target/release/vnready
"$PERF/down.sh" "$PERF_DIR" >/dev/null 2>&1 || true
"$PERF/up.sh" "$N" "$PERF_DIR" >/dev/null
urls=$(mktemp)
for ((i = 0; i < N; i++)); do echo "https://t$i.perf.lab.gov.vn/"; done >"$urls"
results=$(mktemp)
run() { # label binary [extra flags…]: appends "label cpu_ms_per_site" to the results
  local label=$1 bin=$2
  shift 2
  ip netns exec vnperf /usr/bin/time -f "%U %S" -o "$PERF_DIR/cmp.time" "$bin" check $(cat "$urls") \
    --resolver 127.0.0.1:53 --accept-range 127.0.0.0/8 --accept-range ::1/128 --extra-root "$PERF_DIR/root.pem" \
    --concurrency 32 --timeout 10s --format json "$@" >/dev/null 2>&1 || true
  read -r user sys < <(tail -n 1 "$PERF_DIR/cmp.time")
  echo "$label $(python3 -c "print(1000*($user+$sys)/$N)")" >>"$results"
}
for ((round = 1; round <= ROUNDS; round++)); do
  run old-full "$old_bin"
  run new-full "$new_bin"
  run old-same "$old_bin" --only http.up,tls.valid
  run new-same "$new_bin" --only http.up,tls.valid
done
python3 - "$results" "$REV" "$N" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {}
for label, ms in rows:
    by.setdefault(label, []).append(float(ms))
med = {label: statistics.median(values) for label, values in by.items()}
print(f"{sys.argv[3]} sites, old = {sys.argv[2]}, median of {len(by['old-full'])} runs each, CPU ms per dual-stack site:")
for work in ("full", "same"):
    old, new = med[f"old-{work}"], med[f"new-{work}"]
    name = "full audit" if work == "full" else "same work (--only http.up,tls.valid)"
    print(f"  {name}: old {old:.3f}  new {new:.3f}  new/old {new / old:.3f}")
PY
rm -f "$urls" "$results"
