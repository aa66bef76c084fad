#!/usr/bin/env bash
# The national-sweep figures (issue 26), side by side in one run on the national lab
# (scripts/national-lab-up.sh: N sites over Z zones on 4 shared addresses): the performance
# floor (../shared/perf/floor) and `vnready check --targets-file … --format jsonl` doing the
# same work (http.up, tls.valid) and the full audit, all at concurrency 256 with the polite
# defaults (4 connections per address, 20 queries a second per name server). Prints CPU per
# site and its ratio to the floor, wall time, peak RSS, DNS queries per site (NSD's counter),
# NSD's rate-limit blocks, the most connections nginx had open at once (sampled), and the
# cost of `vnready report --from` over the sweep's file. Usage: scripts/bench-national.sh
# [N] [Z] (needs root; the lab is brought up and taken down; FULL_AUDIT_FLAGS below).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
Z=${2:-$((N / 100))}
CONC=${CONC:-256}
PERF=${PERF_LAB:-../shared/perf}
DIR=${NATIONAL_DIR:-/tmp/vnnational}
NS=vnnational
scripts/national-lab-down.sh "$DIR" >/dev/null 2>&1 || true
trap 'scripts/national-lab-down.sh "$DIR" >/dev/null 2>&1 || true' EXIT
scripts/national-lab-up.sh "$N" "$Z" "$DIR"
cargo build --release -q
FLOOR_TARGET=${FLOOR_TARGET:-/tmp/vnnational-floor-target}   # outside the lab, kept between runs
FLOOR=$FLOOR_TARGET/release/floor
[[ -x $FLOOR ]] || cargo build --release -q --manifest-path "$PERF/floor/Cargo.toml" --target-dir "$FLOOR_TARGET"
in_lab() { ip netns exec $NS "$@"; }
queries() { in_lab nsd-control -c "$DIR/dns/nsd.conf" stats_noreset | sed -n 's/^num.queries=//p'; }
blocks() { grep -c "ratelimit block" "$DIR/logs/nsd.log" || true; }
# The most connections the sweep had established at once to one web address (port 443 or 80),
# sampled every 20 ms while $1 runs (nginx's own count also holds connections it is closing).
sample_connections() {
  local peak=0 now
  while kill -0 "$1" 2>/dev/null; do
    now=$(in_lab ss -Htn state established '( dport = :443 or dport = :80 )' \
      | awk '{print $4}' | sed 's/:[0-9]*$//' | sort | uniq -c | sort -rn | awk 'NR==1{print $1}')
    [[ -n $now && $now -gt $peak ]] && peak=$now
    sleep 0.02
  done
  echo "$peak"
}

floor_out=$(in_lab "$FLOOR" "$DIR" "$CONC")
echo "$floor_out"
floor_ms=$(echo "$floor_out" | sed -n 's/.* \([0-9.]*\) ms per dual-stack target.*/\1/p')
floor_wall=$(echo "$floor_out" | sed -n 's/.*wall \([0-9.]*\) s.*/\1/p')

run_vnready() {
  local label=$1; shift
  local before_q before_b sampler peak
  before_q=$(queries); before_b=$(blocks)
  rm -f "$DIR/out.jsonl"
  in_lab /usr/bin/time -f "%U %S %e %M" -o "$DIR/vn.time" target/release/vnready check \
    --targets-file "$DIR/targets.txt" --format jsonl -o "$DIR/out.jsonl" --no-gate --no-progress \
    --resolver 127.0.0.1:53 --accept-range 10.99.0.0/16 --accept-range fd99::/16 --accept-range fd98::/16 \
    --extra-root "$DIR/root.pem" --concurrency "$CONC" --timeout 15s "$@" 2>"$DIR/vn.err" &
  local pid=$!
  peak=$(sample_connections "$pid")
  wait "$pid" || true
  read -r u s e m < <(tail -n 1 "$DIR/vn.time")
  local after_q after_b lines
  after_q=$(queries); after_b=$(blocks)
  lines=$(wc -l < "$DIR/out.jsonl")
  python3 - "$label" "$u" "$s" "$e" "$m" "$N" "$lines" "$((after_q - before_q))" "$((after_b - before_b))" "$peak" "$floor_ms" "$floor_wall" <<'PY'
import sys
label, u, s, e, m, n, lines, q, b, peak, floor_ms, floor_wall = sys.argv[1:13]
n = int(n); cpu = float(u) + float(s); ms = 1000 * cpu / n
print(f"vnready {label}: {lines} of {n} sites written; cpu {cpu:.1f} s = {ms:.3f} ms per site "
      f"({ms / float(floor_ms):.2f}x the floor); wall {float(e):.1f} s ({float(e) / float(floor_wall):.2f}x); "
      f"peak RSS {int(m) / 1024:.1f} MiB; DNS {int(q) / n:.1f} queries per site; "
      f"NSD rate-limit blocks {b}; at most {peak} connections open at once to one web address (sampled)")
PY
  tail -n 1 "$DIR/vn.err"
}

# ONLY_FULL_AUDIT=1 skips the same-work run.
[[ -n ${ONLY_FULL_AUDIT:-} ]] || run_vnready "same work (--only http.up,tls.valid)" --only http.up,tls.valid
# FULL_AUDIT_FLAGS, e.g. "--per-address-concurrency 16", lifts a default for the full audit
# (on 4 shared addresses the defaults hold a full audit of 100,000 sites to about 20 a second).
# shellcheck disable=SC2086
run_vnready "full audit ${FULL_AUDIT_FLAGS:-(defaults)}" ${FULL_AUDIT_FLAGS:-}
in_lab /usr/bin/time -f "%U %S %e %M" -o "$DIR/report.time" target/release/vnready report --from "$DIR/out.jsonl" \
  --format csv --lang en -o "$DIR/national.csv"
read -r u s e m < <(tail -n 1 "$DIR/report.time")
echo "vnready report --from (full audit's $(du -h "$DIR/out.jsonl" | cut -f1) of JSON lines, CSV): cpu $(python3 -c "print(f'{$u + $s:.1f}')") s, wall ${e} s, peak RSS $((m / 1024)) MiB"
