#!/usr/bin/env bash
# What a year of availability history costs (issue 22): brings up the shared performance lab (N
# dual-stack HTTPS sites), runs `vnready serve` over it once on an empty store and once on a store
# holding a synthetic year for every site and family (an outage every 3.5 days with its reason, a
# gap every month), and prints side by side: RSS after the first round and after the status page,
# the status page's time, `vnready report` times, and the store's size.
# Usage: scripts/bench-uptime.sh [N] [OUTAGES_PER_YEAR]   (needs root and ../shared/perf)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
OUTAGES=${2:-104}
PERF=${PERF_LAB:-../shared/perf}
[[ -x $PERF/up.sh ]] || { echo "no performance lab at $PERF (set PERF_LAB)" >&2; exit 1; }
export PERF_DIR=${PERF_DIR:-/tmp/vnperf-uptime}
"$PERF/down.sh" "$PERF_DIR" >/dev/null 2>&1 || true
W=$(mktemp -d)
cleanup() {
  [[ -n ${pid:-} ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$PERF/down.sh" "$PERF_DIR" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
"$PERF/up.sh" "$N" "$PERF_DIR" >/dev/null
cargo build --release -q
{
  echo "defaults:"; echo "  interval: 5m"; echo "  timeout: 10s"
  echo "resolver:"; echo "  servers: [\"127.0.0.1:53\"]"
  echo "trust:"; echo "  extra_roots: [\"$PERF_DIR/root.pem\"]"; echo "  accept_ranges: [\"127.0.0.0/8\", \"::1/128\"]"
  echo "slo:"; echo "  state_portal: { availability: 99.5% }"
  echo "targets:"; for ((i=0;i<N;i++)); do echo "  - url: https://t$i.perf.lab.gov.vn/"; echo "    category: state_portal"; done
} > "$W/t.yaml"
PORT=19912
in_lab() { ip netns exec vnperf "$@"; }

# One daemon over the store: RSS after the first round, then the status page (which reads 90
# days of history), then RSS again.
measure() {
  local store=$1 name=$2
  ip netns exec vnperf target/release/vnready serve --config "$W/t.yaml" --web.listen-address 127.0.0.1:$PORT \
    --storage.path "$store" --log.level warn >"$W/$name.log" 2>&1 &
  pid=$!
  SECONDS=0
  until in_lab curl -sf "http://127.0.0.1:$PORT/-/ready" -o /dev/null; do
    sleep 1; ((SECONDS > 900)) && { echo "$name: not ready in 900 s" >&2; exit 1; }
  done
  local ready=$SECONDS
  local rss_round; rss_round=$(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status)
  local page_ms
  page_ms=$(in_lab curl -s -o "$W/$name.html" -w '%{time_total}' "http://127.0.0.1:$PORT/" | awk '{print int($1*1000)}')
  local site_ms
  site_ms=$(in_lab curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/site?target=https://t7.perf.lab.gov.vn/" | awk '{print int($1*1000)}')
  local rss_page; rss_page=$(awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status)
  local hwm; hwm=$(awk '/VmHWM/{print int($2/1024)}' /proc/$pid/status)
  kill -TERM "$pid"; wait "$pid" || true; pid=
  echo "$name ready_s=$ready rss_round_mib=$rss_round rss_page_mib=$rss_page peak_mib=$hwm page_ms=$page_ms site_ms=$site_ms page_bytes=$(stat -c %s "$W/$name.html")"
}

measure "$W/empty.db" empty | tee "$W/results"
# The first run's store holds real coverage rows for every site and family; a year is written
# under them.
cp "$W/empty.db" "$W/year.db"
python3 - "$W/year.db" "$OUTAGES" <<'PY'
import random, sqlite3, sys, time
db, per_year = sys.argv[1], int(sys.argv[2])
random.seed(22)
now = time.time()
year = 365 * 86400.0
con = sqlite3.connect(db)
rows = con.execute("SELECT target, family FROM coverage").fetchall()
reasons = [("[::1]:443 connect: connection refused", "[::1]:443 kết nối: bị từ chối"),
           ("status 503", "mã trạng thái 503"),
           ("TLS handshake: certificate expired", "bắt tay TLS: chứng thư đã hết hạn"),
           ("timed out after 10s", "quá thời gian 10s")]
outages, gaps = [], []
for target, family in rows:
    for _ in range(per_year):
        start = now - year + random.random() * (year - 3600)
        en, vi = random.choice(reasons)
        outages.append((target, family, start, start + random.choice([300, 600, 1800, 7200]), en, vi))
    for month in range(12):
        start = now - year + month * 30 * 86400 + random.random() * 86400
        gaps.append((target, family, start, start + 1200))
con.execute("UPDATE coverage SET first_at = ?", (now - year,))
con.executemany("INSERT INTO outages (target, family, start, end, reason_en, reason_vi) VALUES (?,?,?,?,?,?)", outages)
con.executemany("INSERT INTO gaps (target, family, start, end) VALUES (?,?,?,?)", gaps)
con.commit()
con.execute("VACUUM")
print(f"synthetic year: {len(rows)} families, {len(outages)} outages, {len(gaps)} gaps")
PY
measure "$W/year.db" year | tee -a "$W/results"

report() {
  local store=$1 since=$2 format=$3
  /usr/bin/time -f '%e %M' -o "$W/time" target/release/vnready report --config "$W/t.yaml" \
    --storage.path "$store" --since "$since" --format "$format" -o "$W/report.$format" >/dev/null 2>&1
  read -r secs kib < "$W/time"
  echo "report $since $format: ${secs}s, peak $((kib / 1024)) MiB"
}
{
  echo "store: empty $(( $(stat -c %s "$W/empty.db") / 1048576 )) MiB, year $(( $(stat -c %s "$W/year.db") / 1048576 )) MiB"
  report "$W/empty.db" 30d json
  report "$W/year.db" 30d json
  report "$W/year.db" 365d json
  report "$W/year.db" 365d xlsx
} | tee -a "$W/results"
python3 - "$W/results" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
runs = {m.group(1): dict(kv.split("=") for kv in m.group(2).split()) for m in re.finditer(r"^(empty|year) (.*)$", text, re.M)}
if "empty" in runs and "year" in runs:
    e, y = runs["empty"], runs["year"]
    for key in ["rss_round_mib", "rss_page_mib", "peak_mib", "page_ms", "site_ms"]:
        a, b = float(e[key]), float(y[key])
        print(f"{key}: empty {a:g}, year {b:g} ({b / a:.2f}x)" if a else f"{key}: empty {a:g}, year {b:g}")
PY
