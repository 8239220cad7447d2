#!/usr/bin/env bash
# Upload benchmarks, end to end:
# 1. hits/s against a local server with no rate limit: nginx on loopback answering every count
#    request with 202 (so the server costs next to nothing and goatimport is what is measured),
#    beside the dry run of the same log;
# 2. 20,000 hits (40 batches) under a 5-request / 4-second limit against the test server, in both
#    limiter styles: GoatCounter 2.7's fixed window and 2.4.x's sliding log (one log per address
#    for every API endpoint: the /me check counts too). Printed beside the fastest the limit
#    allows (request k may go at floor(k/5)·4 s), as the share of the allowance used, and the 429s.
# Usage: scripts/bench-upload.sh [--limits | --no-limits] [LINES]
#   (--limits: part 2 only, no nginx needed; --no-limits: part 1 only)
# GOATIMPORT=path uses that binary instead of a release build (the limits part is not CPU-bound).
set -euo pipefail
cd "$(dirname "$0")/.."
limits_only=0
no_limits=0
[ "${1:-}" = "--limits" ] && { limits_only=1; shift; }
[ "${1:-}" = "--no-limits" ] && { no_limits=1; shift; }
lines=${1:-1000000}
data=bench-data
mkdir -p "$data"
small=$data/pageviews-20000.log
[ -f "$small" ] || python3 scripts/generate-log.py 20000 --pageviews-only > "$small"
if [ -n "${GOATIMPORT:-}" ]; then bin=$GOATIMPORT; else swift build -c release --product goatimport >/dev/null; bin=$PWD/.build/release/goatimport; fi
tmp=$(mktemp -d)
srv=
cleanup() { [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
timed() { /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" 2>"$tmp/stderr" >/dev/null || { cat "$tmp/stderr"; exit 1; }; cat "$tmp/time"; }

if [ "$limits_only" = 0 ]; then
log=$data/pageviews-$lines.log
[ -f "$log" ] || python3 scripts/generate-log.py "$lines" --pageviews-only > "$log"
command -v nginx >/dev/null || { echo "bench-upload: needs nginx (apt-get install nginx-light), or --limits"; exit 1; }
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
sent=$(grep -o '[0-9,]* hits\? sent in [0-9,]* requests\?' "$tmp/stderr" || true)
awk -v s="$s" -v n="$lines" -v kb="$kb" -v sent="$sent" 'BEGIN{printf "%-44s %6.2f s %10.0f hits/s %6.1f MB RSS  (%s)\n", "upload to nginx (202, no limit)", s, n/s, kb/1024, sent}'

# --follow catching up on the same log from its first line (a first start on a busy server's
# log, or a backfill through the follower): timed until its checkpoint reaches the log's end.
state=$tmp/follow-state.json
size=$(stat -c %s "$log")
t0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$tmp/follow-time" "$bin" --follow --from beginning --state "$state" --sessions off \
    --site "http://127.0.0.1:$port" "$log" 2>"$tmp/follow.err" >/dev/null &
fpid=$!
until grep -qs "\"offset\":$size[,}]" "$state"; do
    kill -0 "$fpid" 2>/dev/null || { cat "$tmp/follow.err"; exit 1; }
    sleep 0.02
done
t1=$(date +%s.%N)
pkill -TERM -P "$fpid" 2>/dev/null || true
wait "$fpid" 2>/dev/null || true
awk -v a="$t0" -v b="$t1" -v n="$lines" -v kb="$(cat "$tmp/follow-time" | tail -1)" 'BEGIN{s=b-a; printf "%-44s %6.2f s %10.0f hits/s %6.1f MB RSS\n", "--follow catching up (to nginx, checkpointed)", s, n/s, kb/1024}'

fi

[ "$no_limits" = 1 ] && exit 0

# The rate-limited part, once per limiter style.
echo "20,000 hits in 40 batches under 5 requests / 4 s (one address), $(nproc) cores"
for style in v2.7 v2.4.1; do
    python3 Tests/Support/goatcounter_test_server.py --port 0 --style "$style" --ratelimit api-count:5/4 --ratelimit api:4/1 > "$tmp/srv.out" 2>/dev/null &
    srv=$!
    for _ in $(seq 100); do grep -q LISTENING "$tmp/srv.out" && break; sleep 0.05; done
    sport=$(awk '{print $2}' "$tmp/srv.out")
    read -r s kb < <(GOATCOUNTER_API_KEY=test-key timed "$bin" --no-state --site "http://127.0.0.1:$sport" "$small")
    read -r recorded limited requests < <(curl -s "http://127.0.0.1:$sport/_test/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hits"], d["rate_limited"], d["count_requests"])')
    # Requests the limiter counts: the counts that passed, plus on 2.4.x the /me check (same log).
    # (v2.7 keeps /me on its own limiter.)
    [ "$style" = v2.4.1 ] && counted=$(( requests - limited + 1 )) || counted=$(( requests - limited ))
    awk -v st="$style" -v s="$s" -v r="$recorded" -v l="$limited" -v q="$requests" -v c="$counted" 'BEGIN{min=int((c-1)/5)*4; printf "%-8s %6.2f s vs fastest allowed %d s: %.3f of the allowance (%d hits recorded, %d count requests, %d 429s)\n", st, s, min, min/s, r, q, l}'
    kill "$srv"; wait "$srv" 2>/dev/null || true; srv=
done
