#!/usr/bin/env bash
# Pacing against real GoatCounter servers at their default limits (count: 60 requests per 120 s
# per client IP; at 500 hits a request that is 250 hits/s): a backfill runs for a bounded time
# against each generation in ../shared/goatcounter, then stops with SIGINT; prints the hits
# the server accepted per second beside the 250 allowed, and the 429s goatimport met.
# A benchmark, not a test: it takes DURATION seconds per server (default 150: more than one
# window; over a short run the fixed window of 2.7.0 allows two windows' worth, so read the
# figure against requests/window too). Usage: scripts/bench-real-pacing.sh [DURATION]   (debug binary unless BIN=path)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-150}
gcdir=../shared/goatcounter
bin=${BIN:-$(swift build --show-bin-path)/goatimport}
[ -x "$bin" ] || swift build --product goatimport >/dev/null
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# Enough pageviews for the whole run at twice the allowed rate.
lines=$((duration * 500))
python3 scripts/generate-log.py "$lines" --pageviews-only > "$tmp/access.log"

for v in 2.4.1 2.7.0; do
  g=$gcdir/goatcounter-$v
  [ -x "$g" ] || { echo "bench-real-pacing: $g is missing" >&2; exit 1; }
  d=$tmp/$v; mkdir -p "$d"; db=sqlite+$d/gc.sqlite3
  "$g" db create site -createdb -db "$db" -vhost 127.0.0.1 -user.email test@example.com -user.password testtest123 >/dev/null 2>&1
  "$g" db create apitoken -db "$db" -user 1 -name bench -perm count,export,site_read >/dev/null 2>&1
  key=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select token from api_tokens").fetchone()[0])' "$d/gc.sqlite3")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  : >"$d/server.log"
  "$g" serve -listen "127.0.0.1:$port" -tls http -db "$db" >"$d/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -qE 'ready; serving|GoatCounter ready' "$d/server.log" && break; sleep 0.1; done
  start=$(date +%s.%N)
  GOATCOUNTER_API_KEY=$key timeout -s INT "$duration" "$bin" --site "http://127.0.0.1:$port" --no-state \
    --summary-json "$d/summary.json" "$tmp/access.log" 2>"$d/goatimport.err" || true
  end=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  python3 - "$d/summary.json" "$start" "$end" "$v" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
up = s.get("upload", s)
sent, limited, requests = up.get("sent", 0), up.get("rate_limited", up.get("rateLimited", 0)), up.get("requests", 0)
secs = float(sys.argv[3]) - float(sys.argv[2])
print(f"goatcounter {sys.argv[4]}: {sent} hits in {secs:.1f} s = {sent / secs:.1f} hits/s of 250 allowed "
      f"({100 * sent / secs / 250:.0f} %); {requests} requests, {limited} answered 429")
PY
done
