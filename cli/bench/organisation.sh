#!/usr/bin/env bash
# Exports every cluster of every project of an organisation from fake-atlas with
# `atlas-logs export --all-projects --all-clusters`, and prints: wall time beside the floor
# ceil(requests / concurrency) x latency (no client can do better with that many calls at
# once), the requests fake-atlas answered (project listing, cluster listings, access
# history), peak RSS (GNU time), and whether the output equals `fake-atlas dump` of every
# project, line for line.
#
#   bash cli/bench/organisation.sh
#
# Environment:
#   PROJECTS     fake-atlas --projects                      [default: 20]
#   ENTRIES      fake-atlas --entries, per project          [default: 20000]
#   LATENCY_MS   fake-atlas --latency-ms                    [default: 1000]
#   CONCURRENCY  atlas-logs --concurrency values            [default: "3 16"]
#   NO_BUILD=1   use the release binaries as they are
#
# Needs GNU time at /usr/bin/time and curl.
set -euo pipefail
cd "$(dirname "$0")/../.."

projects=${PROJECTS:-20}
entries=${ENTRIES:-20000}
latency=${LATENCY_MS:-1000}
concurrencies=${CONCURRENCY:-"3 16"}
work=target/bench-organisation
fake=target/release/fake-atlas
atlas=target/release/atlas-logs
now_ms=1793534400000
start_ms=$((now_ms - 7 * 86400000))

[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }
if [[ -z ${NO_BUILD:-} ]]; then
  cargo build --quiet --release --locked -p atlas-logs -p fake-atlas
fi
rm -rf "$work" && mkdir -p "$work"

fake_pid=
cleanup() {
  [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$work"/out "$work"/*.sorted
}
trap cleanup EXIT

"$fake" --listen 127.0.0.1:0 --now "$now_ms" --projects "$projects" --entries "$entries" \
  --latency-ms "$latency" >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 1200); do
  grep -q '^listening on ' "$work/fake.out" 2>/dev/null && break
  kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fake.err" >&2; exit 1; }
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/fake.out")
requests() { curl --silent --fail "$base/__fake/stats" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p'; }

"$fake" dump --now "$now_ms" --projects "$projects" --entries "$entries" | LC_ALL=C sort -S 256M -T "$work" >"$work/truth.sorted"
export MONGODB_ATLAS_CLIENT_ID=mdb_sa_id_0123456789abcdef01234567
export MONGODB_ATLAS_CLIENT_SECRET=mdb_sa_sk_demo0000000000000000000000000000
unset MONGODB_ATLAS_PUBLIC_API_KEY MONGODB_ATLAS_PRIVATE_API_KEY MONGODB_ATLAS_ORG_ID MONGODB_ATLAS_OPS_MANAGER_URL

echo "machine: $(nproc) cores; source: $(git rev-parse --short HEAD 2>/dev/null)"
echo "fake-atlas --projects $projects --entries $entries --latency-ms $latency ($(wc -l <"$work/truth.sorted") entries in all)"
echo "atlas-logs export --base-url BASE --all-projects --all-clusters --start $start_ms --end $now_ms --out 'OUT/{target}.ndjson' --concurrency C"
echo
echo "| concurrency | wall time | floor: ceil(requests / concurrency) x ${latency} ms | requests | peak RSS | entries | same as the dump |"
echo "|---|---|---|---|---|---|---|"
status=0
for c in $concurrencies; do
  rm -rf "$work/out" && mkdir -p "$work/out"
  before=$(requests)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$atlas" -q export --base-url "$base" --all-projects --all-clusters \
    --start "$start_ms" --end "$now_ms" --out "$work/out/{target}.ndjson" --concurrency "$c"
  t1=$(date +%s.%N)
  after=$(requests)
  n=$((after - before))
  floor=$(( (n + c - 1) / c * latency ))
  find "$work/out" -name '*.ndjson' -exec cat {} + | LC_ALL=C sort -S 256M -T "$work" >"$work/got.sorted"
  if cmp -s "$work/truth.sorted" "$work/got.sorted"; then same=MATCH; else same=MISMATCH; status=1; fi
  printf '| %s | %.2f s | %.2f s | %s | %.1f MiB | %s | %s |\n' "$c" "$(echo "$t1 - $t0" | bc)" \
    "$(echo "$floor / 1000" | bc -l)" "$n" "$(echo "$(tail -n 1 "$work/rss") / 1024" | bc -l)" \
    "$(wc -l <"$work/got.sorted")" "$same"
done
exit $status
