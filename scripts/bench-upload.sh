#!/usr/bin/env bash
# Upload benchmarks, end to end with the release binary:
# 1. hits/s against a local server with no rate limit: nginx on loopback answering every count
#    request with 202 (so the server costs next to nothing and goatimport is what is measured),
#    beside the dry run of the same log;
# 2. 20,000 hits under a 5-request / 4-second limit against the test server, beside the
#    theoretical minimum (40 requests of 500 = 8 windows: 7 waits of 4 s).
# Usage: scripts/bench-upload.sh [LINES]   (needs nginx: apt-get install nginx-light)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
data=bench-data
mkdir -p "$data"
log=$data/pageviews-$lines.log
[ -f "$log" ] || python3 scripts/generate-log.py "$lines" --pageviews-only > "$log"
small=$data/pageviews-20000.log
[ -f "$small" ] || python3 scripts/generate-log.py 20000 --pageviews-only > "$small"
command -v nginx >/dev/null || { echo "bench-upload: needs nginx (apt-get install nginx-light)"; exit 1; }
swift build -c release --product goatimport >/dev/null
bin=$PWD/.build/release/goatimport
tmp=$(mktemp -d)
cleanup() { [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

port=38190
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_buffer_size 1m;
  client_max_body_size 10m;
  server {
    listen 127.0.0.1:$port;
    location = /api/v0/me { default_type application/json; return 200 '{"user":{"id":1},"token":{"name":"bench","permissions":78}}'; }
    location = /api/v0/count { default_type application/json; return 202 '{"status":"ok"}'; }
  }
}
CONF
nginx -p "$tmp" -c "$tmp/nginx.conf"
export GOATCOUNTER_API_KEY=bench

timed() { /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" 2>"$tmp/stderr" >/dev/null || { cat "$tmp/stderr"; exit 1; }; cat "$tmp/time"; }
echo "$lines pageview lines, $(nproc) cores"
read -r s kb < <(timed "$bin" --dry-run --sessions off "$log")
awk -v s="$s" -v n="$lines" -v kb="$kb" 'BEGIN{printf "%-44s %6.2f s %10.0f hits/s %6.1f MB RSS\n", "dry run to /dev/null", s, n/s, kb/1024}'
read -r s kb < <(timed "$bin" --no-state --sessions off --site "http://127.0.0.1:$port" "$log")
sent=$(grep -o '[0-9]* hits sent in [0-9]* requests' "$tmp/stderr" || true)
awk -v s="$s" -v n="$lines" -v kb="$kb" -v sent="$sent" 'BEGIN{printf "%-44s %6.2f s %10.0f hits/s %6.1f MB RSS  (%s)\n", "upload to nginx (202, no limit)", s, n/s, kb/1024, sent}'

python3 Tests/Support/goatcounter_test_server.py --port 0 --ratelimit api-count:5/4 --ratelimit api:none > "$tmp/srv.out" 2>/dev/null &
srv=$!
for _ in $(seq 100); do grep -q LISTENING "$tmp/srv.out" && break; sleep 0.05; done
sport=$(awk '{print $2}' "$tmp/srv.out")
read -r s kb < <(GOATCOUNTER_API_KEY=test-key timed "$bin" --no-state --site "http://127.0.0.1:$sport" "$small")
hits=$(curl -s "http://127.0.0.1:$sport/_test/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hits"], d["rate_limited"], d["count_requests"])')
read -r recorded limited requests <<<"$hits"
awk -v s="$s" -v r="$recorded" -v l="$limited" -v q="$requests" 'BEGIN{min=28; printf "%-44s %6.2f s  vs theoretical minimum %d s: %.3fx (%d hits recorded, %d requests, %d 429s)\n", "20,000 hits under 5 requests / 4 s", s, min, s/min, r, q, l}'
