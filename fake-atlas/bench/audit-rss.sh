#!/usr/bin/env bash
# Serves an audit log of SIZE bytes (default 1 GiB, gzip level 0) from a release build of
# fake-atlas, downloads it with curl, and prints throughput and the server's peak RSS.
#   bash fake-atlas/bench/audit-rss.sh [SIZE_BYTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-1073741824}
cargo build --quiet --release --locked -p fake-atlas
bin=target/release/fake-atlas
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$bin" --entries 100 --audit-log-bytes "$size" --audit-log-compression 0 >"$out/stdout" 2>/dev/null &
pid=$!
for _ in $(seq 50); do grep -q listening "$out/stdout" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$out/stdout")
group=$("$bin" dump --entries 1 | sed -n 's/.*"groupId":"\([0-9a-f]*\)".*/\1/p')
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

start=$(date +%s.%N)
stats=$(curl --silent --show-error --digest --user "demopubl:00000000-demo-4000-8000-000000000000" \
  --header "Accept: application/vnd.atlas.2023-02-01+gzip" --output /dev/null \
  --write-out "%{http_code} %{size_download}" \
  "$base/api/atlas/v2/groups/$group/streams/workspace0/auditLogs")
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")

read -r code bytes <<<"$stats"
awk -v c="$code" -v b="$bytes" -v s="$start" -v e="$end" -v idle="$rss_idle" -v peak="$peak" 'BEGIN {
  t = e - s
  printf "status %s, served %.1f MiB in %.2f s (%.0f MiB/s)\n", c, b / 1048576, t, b / 1048576 / t
  printf "server RSS idle %.1f MiB, peak %.1f MiB\n", idle / 1024, peak / 1024
}'
