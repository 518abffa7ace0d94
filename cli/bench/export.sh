#!/usr/bin/env bash
# Exports Cluster0's access history over the seven-day window from fake-atlas with
# `atlas-logs export` and with a sequential Python script (cli/bench/export_baseline.py),
# for each data set size and answer latency, and prints for each: wall time, access-history
# requests (fake-atlas's `accessCluster` counter), CPU time of the exporting process (user +
# sys, GNU time's %U and %S: the client's own work, apart from fake-atlas's), peak RSS of the
# exporting process (GNU time's "Maximum resident set size"), and whether both produced the
# same entries.
# One configuration's atlas-logs output is also compared byte for byte with `fake-atlas dump`.
#
#   bash cli/bench/export.sh
#
# Environment:
#   ENTRIES      data set sizes (fake-atlas --entries)     [default: "200000 3000000"]
#   LATENCIES    fake-atlas --latency-ms values             [default: "0 1000"]
#   ROUNDS       rounds per configuration (1 to 20)         [default: 1]
#   EXPORT_ARGS  extra `atlas-logs export` flags            [default: none]
#   CREDENTIAL   service-account or api-key (HTTP Digest)   [default: service-account]
#   ROUND_TRIP_MS  fake-atlas --round-trip-ms: the network's share of every answer, and all
#                of a 401 or a token's (latency is Atlas's query time) [default: 0]
#   DUMP_CHECK   ENTRIES:LATENCY compared with the dump, "" for none [default: 200000:0]
#   NO_BUILD=1   use the release binaries as they are
#
# Needs python3 with requests (pip install requests), GNU time at /usr/bin/time (Debian:
# apt-get install time) and curl. Outputs go to target/bench-export/; the exported files
# are deleted once compared, the results stay in target/bench-export/results.tsv.
set -euo pipefail
cd "$(dirname "$0")/../.."

entries_list=${ENTRIES:-"200000 3000000"}
latencies=${LATENCIES:-"0 1000"}
rounds=${ROUNDS:-1}
export_args=${EXPORT_ARGS:-}
dump_check=${DUMP_CHECK-200000:0}
work=target/bench-export
fake=target/release/fake-atlas
atlas=target/release/atlas-logs
baseline=cli/bench/export_baseline.py

# A fixed present (2026-11-01T12:00:00Z), given to fake-atlas as --now, and the seven days
# before it: the same data on every run.
now_ms=1793534400000
start_ms=$((now_ms - 7 * 86400000))
end_ms=$now_ms

if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 20)); then
  echo "ROUNDS must be 1 to 20" >&2
  exit 2
fi
py=$(python3 -c 'import sys; print(sys.executable)')
if ! "$py" -c 'import requests' 2>/dev/null; then
  echo "the Python baseline needs requests: pip install requests" >&2
  exit 1
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "needs GNU time at /usr/bin/time (Debian: apt-get install time)" >&2
  exit 1
fi
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }

if [[ -z ${NO_BUILD:-} ]]; then
  cargo build --quiet --release --locked -p atlas-logs -p fake-atlas
fi
mkdir -p "$work"
rm -f "$work"/*.ndjson "$work"/*.sorted "$work"/.*.tmp

fake_pid=
child=
cleanup() {
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    pkill -TERM -P "$child" 2>/dev/null || true
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ -n $fake_pid ]] && kill -0 "$fake_pid" 2>/dev/null; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
  rm -f "$work"/*.ndjson "$work"/*.sorted "$work"/.*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

unset MONGODB_ATLAS_OPS_MANAGER_URL
case ${CREDENTIAL:-service-account} in
  service-account)
    export MONGODB_ATLAS_CLIENT_ID=mdb_sa_id_0123456789abcdef01234567
    export MONGODB_ATLAS_CLIENT_SECRET=mdb_sa_sk_demo0000000000000000000000000000
    unset MONGODB_ATLAS_PUBLIC_API_KEY MONGODB_ATLAS_PRIVATE_API_KEY ;;
  api-key)
    export MONGODB_ATLAS_PUBLIC_API_KEY=demopubl
    export MONGODB_ATLAS_PRIVATE_API_KEY=00000000-demo-4000-8000-000000000000
    unset MONGODB_ATLAS_CLIENT_ID MONGODB_ATLAS_CLIENT_SECRET ;;
  *) echo "CREDENTIAL is service-account or api-key, not ${CREDENTIAL}" >&2; exit 2 ;;
esac
round_trip_ms=${ROUND_TRIP_MS:-0}
group=$("$fake" dump --entries 1 | sed -n 's/.*"groupId":"\([0-9a-f]*\)".*/\1/p')

# Starts fake-atlas with ENTRIES and LATENCY on loopback; sets fake_pid and base.
start_fake() {
  "$fake" --listen 127.0.0.1:0 --now "$now_ms" --entries "$1" --latency-ms "$2" \
    --round-trip-ms "$round_trip_ms" >"$work/fake.out" 2>"$work/fake.err" &
  fake_pid=$!
  for _ in $(seq 1200); do
    grep -q '^listening on ' "$work/fake.out" 2>/dev/null && break
    kill -0 "$fake_pid" 2>/dev/null || { echo "fake-atlas exited:" >&2; cat "$work/fake.err" >&2; exit 1; }
    sleep 0.1
  done
  base=$(sed -n 's/^listening on //p' "$work/fake.out")
  [[ -n $base ]] || { echo "fake-atlas did not start within 120 s" >&2; exit 1; }
}

stop_fake() {
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
  fake_pid=
}

# "accessCluster tokenRequests rateLimited" from fake-atlas's counters.
counters() {
  curl --silent --show-error --fail "$base/__fake/stats" |
    "$py" -c 'import json, sys; s = json.load(sys.stdin); print(s["accessCluster"], s["tokenRequests"], s["rateLimited"])'
}

# measure NAME CMD...: runs CMD under GNU time; sets wall, cpu (user + sys seconds), rss_kb,
# requests, tokens, limited and rc.
measure() {
  local name=$1 t0 t1 before after
  shift
  before=$(counters)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$work/$name.rss" "$@" >"$work/$name.stdout" 2>"$work/$name.stderr" &
  child=$!
  rc=0
  wait "$child" || rc=$?
  child=
  t1=$(date +%s.%N)
  after=$(counters)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  read -r rss_kb user sys < <(tail -n 1 "$work/$name.rss")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  read -r requests tokens limited < <(awk -v b="$before" -v a="$after" 'BEGIN {
    split(b, x, " "); split(a, y, " "); print y[1] - x[1], y[2] - x[2], y[3] - x[3] }')
}

# Each line as JSON with sorted keys, the lines sorted.
canonical_sorted() {
  "$py" -c '
import json, sys
write = sys.stdout.write
for line in sys.stdin:
    write(json.dumps(json.loads(line), sort_keys=True, separators=(",", ":")) + "\n")
' <"$1" | LC_ALL=C sort -T "$work" -S 512M >"$2"
}

# Cluster0's entries of the window in `fake-atlas dump`, each line as dumped.
dump_cluster0() {
  "$fake" dump --now "$now_ms" --entries "$1" | "$py" -c '
import json, sys
from datetime import datetime, timedelta, timezone
epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
start, end = int(sys.argv[1]), int(sys.argv[2])
for line in sys.stdin:
    e = json.loads(line)
    if not e["hostname"].startswith("cluster0-shard-"):
        continue
    ms = (datetime.fromisoformat(json.loads(e["logLine"])["t"]["$date"]) - epoch) // timedelta(milliseconds=1)
    if start <= ms <= end:
        sys.stdout.write(line)
' "$start_ms" "$end_ms"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
dirty=$(git status --porcelain --untracked-files=no -- cli runtime generated fake-atlas 2>/dev/null | awk '{ print $2 }' | paste -sd' ' -)
echo "source: $(git rev-parse --short HEAD 2>/dev/null)${dirty:+ with uncommitted changes to $dirty}"
echo "python: $("$py" --version 2>&1), requests $("$py" -c 'import requests; print(requests.__version__)')"
echo "window: Cluster0, start $start_ms, end $end_ms (the seven days before fake-atlas's --now)"
echo "commands, for each --entries N and --latency-ms L:"
echo "  $fake --listen 127.0.0.1:0 --now $now_ms --entries N --latency-ms L --round-trip-ms $round_trip_ms"
echo "  $atlas export --base-url BASE --group-id $group --cluster Cluster0 --start $start_ms --end $end_ms --out FILE${export_args:+ $export_args}"
echo "  $py $baseline --base-url BASE --group-id $group --cluster Cluster0 --start $start_ms --end $end_ms --out FILE"
echo "  (credentials: fake-atlas's demo ${CREDENTIAL:-service-account})"
echo

results=$work/results.tsv
printf 'entries\tlatency_ms\tround\ttool\twall_s\tcpu_s\taccess_requests\ttoken_requests\trate_limited\tpeak_rss_kib\tlines\texit\tsame_entries\n' >"$results"
dump_result=

for n in $entries_list; do
  for lat in $latencies; do
    echo "fake-atlas --entries $n --latency-ms $lat: starting" >&2
    start_fake "$n" "$lat"
    for round in $(seq "$rounds"); do
      if ((round % 2)); then order="atlas-logs python"; else order="python atlas-logs"; fi
      declare -A row=()
      for tool in $order; do
        out=$work/$tool.ndjson
        rm -f "$out"
        if [[ $tool == atlas-logs ]]; then
          # shellcheck disable=SC2086 # EXPORT_ARGS is a list of flags
          measure "$tool" "$atlas" export --base-url "$base" --group-id "$group" --cluster Cluster0 \
            --start "$start_ms" --end "$end_ms" --out "$out" $export_args
        else
          measure "$tool" "$py" "$baseline" --base-url "$base" --group-id "$group" --cluster Cluster0 \
            --start "$start_ms" --end "$end_ms" --out "$out"
        fi
        lines=$( [[ -f $out ]] && wc -l <"$out" || echo 0)
        if ((rc != 0)); then
          echo "  $tool exited with $rc:" >&2
          tail -n 5 "$work/$tool.stderr" >&2
        fi
        row[$tool]="$wall	$cpu	$requests	$tokens	$limited	$rss_kb	$lines	$rc"
        echo "  round $round, $tool: ${wall} s, CPU ${cpu} s, $requests requests, $lines entries, peak RSS $((rss_kb / 1024)) MiB, exit $rc" >&2
      done
      canonical_sorted "$work/atlas-logs.ndjson" "$work/atlas-logs.sorted"
      canonical_sorted "$work/python.ndjson" "$work/python.sorted"
      if cmp -s "$work/atlas-logs.sorted" "$work/python.sorted"; then same=MATCH; else same=MISMATCH; fi
      echo "  round $round: atlas-logs and python outputs: $same" >&2
      rm -f "$work/atlas-logs.sorted" "$work/python.sorted"
      if [[ $round == 1 && "$n:$lat" == "$dump_check" ]]; then
        dump_cluster0 "$n" | LC_ALL=C sort -T "$work" >"$work/truth.sorted"
        LC_ALL=C sort -T "$work" "$work/atlas-logs.ndjson" >"$work/atlas-logs.sorted"
        truth_lines=$(wc -l <"$work/truth.sorted")
        if cmp -s "$work/truth.sorted" "$work/atlas-logs.sorted"; then verdict=MATCH; else verdict=MISMATCH; fi
        dump_result="atlas-logs vs fake-atlas dump (--entries $n, Cluster0's hosts, window $start_ms..$end_ms): $truth_lines entries in the dump, $(wc -l <"$work/atlas-logs.ndjson") exported, sorted lines byte for byte: $verdict"
        echo "  $dump_result" >&2
        rm -f "$work/truth.sorted" "$work/atlas-logs.sorted"
      fi
      for tool in atlas-logs python; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$lat" "$round" "$tool" "${row[$tool]}" "$same" >>"$results"
      done
      rm -f "$work/atlas-logs.ndjson" "$work/python.ndjson"
      unset row
    done
    stop_fake
  done
done

# The concurrency the export ran with: --concurrency in EXPORT_ARGS, else atlas-logs's 3.
concurrency=3
if [[ $export_args =~ --concurrency[=\ ]+([0-9]+) ]]; then
  concurrency=${BASH_REMATCH[1]}
fi

echo
"$py" - "$results" "$concurrency" <<'EOF'
import csv, math, statistics, sys
concurrency = int(sys.argv[2])

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def num(r, k): return float(r[k])

print("| data set (--entries) | Cluster0 entries | latency | tool | wall time | CPU (user + sys) | access requests | peak RSS | same entries |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    lines = int(r["lines"])
    wall = f'{num(r, "wall_s"):.2f} s' + ("" if r["exit"] == "0" else f' (exit {r["exit"]})')
    limited = int(r["rate_limited"])
    requests = r["access_requests"] + (f" ({limited} answered 429)" if limited else "")
    print(f'| {int(r["entries"]):,} | {lines:,} | {r["latency_ms"]} ms | {r["tool"]} | {wall} | '
          f'{num(r, "cpu_s"):.2f} s | {requests} | {num(r, "peak_rss_kib") / 1024:.1f} MiB | {r["same_entries"]} |')

print()
print("Targets (atlas-logs; median wall time over rounds, worst request count and RSS):")
groups = {}
for r in rows:
    groups.setdefault((int(r["entries"]), int(r["latency_ms"]), r["tool"]), []).append(r)
for (n, lat, tool), rs in sorted(groups.items()):
    if tool != "atlas-logs":
        continue
    lines = max(int(r["lines"]) for r in rs)
    wall = statistics.median(num(r, "wall_s") for r in rs)
    reqs = max(int(r["access_requests"]) for r in rs)
    rss = max(num(r, "peak_rss_kib") for r in rs) / 1024
    py = groups.get((n, lat, "python"), [])
    py_wall = statistics.median(num(r, "wall_s") for r in py) if py else float("nan")
    bound = 1.5 * math.ceil(lines / 20000) + 3
    verdict = "met" if reqs <= bound else f"MISSED by {reqs - bound:g} ({reqs / bound:.2f}x)"
    cpu = statistics.median(num(r, "cpu_s") for r in rs)
    py_cpu = statistics.median(num(r, "cpu_s") for r in py) if py else float("nan")
    print(f"- --entries {n:,}, latency {lat} ms, {lines:,} entries: {wall:.2f} s (python {py_wall:.2f} s,"
          f" {py_wall / wall:.2f}x); CPU {cpu:.2f} s (python {py_cpu:.2f} s, {py_cpu / cpu if cpu else float('inf'):.1f}x); requests {reqs} <= 1.5 x ceil({lines:,} / 20,000) + 3 = {bound:g}: {verdict}")
    if n == 200_000 and lat == 1000:
        verdict = "met" if wall <= 2.5 else f"MISSED by {wall - 2.5:.2f} s ({wall / 2.5:.2f}x)"
        print(f"  wall time <= 2.5 s at latency 1000 ms: {wall:.2f} s: {verdict}")
    if lines >= 900_000 and lat == 1000:
        # Each round against its own requests: 1.15 x ceil(requests / concurrency) x 1 s.
        worst = max(rs, key=lambda r: num(r, "wall_s") / math.ceil(int(r["access_requests"]) / concurrency))
        w, q = num(worst, "wall_s"), int(worst["access_requests"])
        bound = 1.15 * math.ceil(q / concurrency)
        verdict = "met" if all(num(r, "wall_s") <= 1.15 * math.ceil(int(r["access_requests"]) / concurrency) for r in rs) else "MISSED"
        print(f"  wall time <= 1.15 x ceil(requests / {concurrency}) s at 1000 ms, every round (worst: {w:.2f} s for {q} requests, bound {bound:.2f} s): {verdict}")
    if py:
        verdict = "met" if cpu <= py_cpu / 8 else f"MISSED ({py_cpu / cpu:.1f}x)"
        print(f"  CPU <= 1/8 of the Python script's ({py_cpu / 8:.3f} s): {cpu:.2f} s: {verdict}")
    if lines >= 900_000:
        verdict = "met" if rss <= 64 else f"MISSED by {rss - 64:.1f} MiB ({rss / 64:.2f}x)"
        print(f"  peak RSS <= 64 MiB exporting {lines:,} entries: {rss:.1f} MiB: {verdict}")
EOF
if [[ -n $dump_result ]]; then
  echo
  echo "$dump_result"
fi
if grep -q MISMATCH "$results" || [[ $dump_result == *MISMATCH* ]]; then
  exit 1
fi
