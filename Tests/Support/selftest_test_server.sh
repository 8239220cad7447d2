#!/usr/bin/env bash
# Self-test for goatcounter_test_server.py: starts it on port 0 and checks its
# replies with curl (status, exact body, headers). Prints "N passed, M failed"
# and exits non-zero when anything failed. Needs python3 and curl.
set -u

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
python3 "$here/goatcounter_test_server.py" --port 0 --ratelimit api-count:5/2 \
    --export-delay 0.2 >"$tmp/out" 2>"$tmp/err" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

for _ in $(seq 100); do grep -q '^LISTENING ' "$tmp/out" && break; sleep 0.05; done
port=$(awk '/^LISTENING /{print $2}' "$tmp/out")
if [ -z "$port" ]; then
    echo "server did not start:"; cat "$tmp/err"; exit 1
fi
base="http://127.0.0.1:$port"

pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# req METHOD PATH [curl args...]: sets $status; body in $tmp/body, headers in $tmp/hdr.
req() {
    local method=$1 path=$2; shift 2
    status=$(curl -s -X "$method" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$@" "$base$path")
}
# count BODY [curl args...]: POST /api/v0/count as JSON with the default token.
count() {
    local data=$1; shift
    req POST /api/v0/count -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key' \
        --data-binary "$data" "$@"
}
header() { grep -i "^$1:" "$tmp/hdr" | head -1 | cut -d: -f2- | sed 's/^ //; s/\r$//'; }

# expect NAME STATUS BODY [Header=value | !Header]...
expect() {
    local name=$1 want_status=$2 want_body=$3; shift 3
    local got_body; got_body=$(cat "$tmp/body"; printf x); got_body=${got_body%x}
    local msg=""
    [ "$status" = "$want_status" ] || msg+=" status=$status (want $want_status)"
    [ "$got_body" = "$want_body" ] || msg+=" body=$(printf %q "$got_body") (want $(printf %q "$want_body"))"
    local h
    for h in "$@"; do
        if [ "${h#!}" != "$h" ]; then
            [ -z "$(header "${h#!}")" ] || msg+=" unexpected header ${h#!}"
        else
            local hv; hv=$(header "${h%%=*}")
            [ "$hv" = "${h#*=}" ] || msg+=" header ${h%%=*}='$hv' (want '${h#*=}')"
        fi
    done
    if [ -z "$msg" ]; then ok; else bad "$name:$msg"; fi
}
reset() { curl -s -X POST "$base/_test/reset" >/dev/null; }
config() { curl -s -X POST "$base/_test/config" --data-binary "$1" >/dev/null; }
stat() { curl -s "$base/_test/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
hits() { python3 -c "import json,sys; print(json.dumps({'hits':[{'path':'/p%d'%i,'session':'s'} for i in range($1)]}))"; }

H='{"path":"/a","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0","ip":"192.0.2.1"}'
E_PATH='path: must be set, must be longer than 1 characters.'
E_FUT='created_at: in the future.'

# --- v2.7 style ---------------------------------------------------------------------------
count "{\"hits\":[$H]}"
expect "valid batch" 202 '{"status":"ok"}' X-Rate-Limit-Limit=5 X-Rate-Limit-Remaining=4 \
    X-Rate-Limit-Reset=2 "Content-Type=text/plain; charset=utf-8" '!Retry-After'
count "$(hits 500)";  expect "500 hits" 202 '{"status":"ok"}'
count "$(hits 501)";  expect "501 hits" 400 '{"error":"maximum amount of pageviews in one batch is 500"}'
count '{"hits":[]}';  expect "no hits" 400 '{"error":"no hits"}'
count '';             expect "empty body" 400 '{"error":"no hits"}'
reset

count '{"hits":[{"session":"s"}]}'
expect "hit without path" 400 "{\"errors\":{\"0\":\"$E_PATH\"}}"
count '{"hits":[{"path":"/ok","session":"s"},{"session":"s"},{"path":"/f","session":"s","created_at":"2099-01-01T00:00:00Z"}]}'
expect "good, no path, future" 400 "{\"errors\":{\"1\":\"$E_PATH\",\"2\":\"$E_FUT\"}}"
[ "$(stat hits)" = 1 ] && ok || bad "good hit of a partly refused batch was not recorded"
count '{"hits":[{"session":"s","created_at":"2099-01-01T00:00:00Z"}]}'
expect "two errors, one hit" 400 "{\"errors\":{\"0\":\"$E_FUT\\n$E_PATH\"}}"
count '{"hits":[{"path":"/a"}]}'
expect "no session" 400 "{\"errors\":{\"0\":\"session or browser/IP not set; use no_sessions if you don't want to track unique visits\"}}"
reset

ua512=$(printf 'a%.0s' $(seq 512)); long2049=$(printf 'b%.0s' $(seq 2049)); t1025=$(printf 'c%.0s' $(seq 1025))
count "{\"hits\":[{\"path\":\"/u\",\"session\":\"s\",\"user_agent\":\"${ua512}x\"},{\"path\":\"/u\",\"session\":\"s\",\"user_agent\":\"$ua512\"},{\"path\":\"/$long2049\",\"session\":\"s\"},{\"path\":\"/t\",\"session\":\"s\",\"title\":\"$t1025\"},{\"path\":\"/r\",\"session\":\"s\",\"ref\":\"$long2049\"}]}"
expect "length limits" 400 '{"errors":{"0":"user_agent_header: must be shorter than 512 characters.","2":"path: must be shorter than 2048 characters.","3":"title: must be shorter than 1024 characters.","4":"ref: must be shorter than 2048 characters."}}'
count '{"hits":[{"path":"/a","session":"s","created_at":"2024-01-01 10:00:00"}]}'
expect "created_at not RFC 3339" 400 '{"error":"invalid JSON: parsing time \"2024-01-01 10:00:00\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \" 10:00:00\" as \"T\""}'
count '{"hits":[{"path":5,"session":"s"}]}'
expect "number for path" 400 '{"error":"invalid JSON: json: cannot unmarshal number into Go struct field APICountRequestHit.hits.path of type string"}'
count '{"hits":[{"path":'
expect "truncated JSON" 400 '{"error":"invalid JSON: unexpected EOF"}'
count '{"hits":[{"path":"/a","session":"s","language":"en"}]}'
expect "unknown key (v2.7)" 400 '{"error":"unknown parameter: \"language\""}'
reset

req POST /api/v0/count -H 'Content-Type: application/json' --data-binary '{}'
expect "no Authorization" 401 '{"error":"no Authorization header"}' "Www-Authenticate=Basic realm=GoatCounter"
req POST /api/v0/count -H 'Content-Type: application/json' -H 'Authorization: bearer test-key' --data-binary '{}'
expect "lower-case bearer" 401 '{"error":"wrong format for Authorization header"}' "Www-Authenticate=Basic realm=GoatCounter"
req POST /api/v0/count -H 'Content-Type: application/json' -H 'Authorization: Bearer nope' --data-binary '{}'
expect "unknown token" 401 '{"error":"unknown token"}' "Www-Authenticate=Basic realm=GoatCounter"
req POST /api/v0/count -H 'Content-Type: application/json' -H 'Authorization: Bearer nocount-key' --data-binary '{}'
expect "no count permission" 403 "{\"error\":\"requires 'count' permissions\"}"
reset
req POST /api/v0/count -H 'Content-Type: text/plain' -H 'Authorization: Bearer test-key' --data-binary "{\"hits\":[$H]}"
expect "415" 415 '' '!X-Rate-Limit-Limit' '!Content-Type'
count "{\"hits\":[$H]}" -H 'Content-Type: application/json; charset=utf-8'
expect "charset param" 202 '{"status":"ok"}'
count "{\"hits\":[$H]}" -u ":test-key"
expect "Basic auth" 202 '{"status":"ok"}'
req GET /api/v0/count -H 'Content-Type: application/json'
expect "GET count (v2.7)" 405 '{"error":"Method Not Allowed"}'
req POST /api/v0/count/ -H 'Content-Type: application/json' --data-binary '{}'
expect "trailing slash" 301 '' "Location=count"
req GET /api/v0/me -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key' -H 'Host: nosuch.example.com'
expect "unknown site" 400 '{"error":"no site at this domain (\"nosuch.example.com\")"}'

# The default keys, and one of site 2 (there is none: it reaches no site).
TOKENS_WITH_OTHER_SITE='{"tokens":["test-key:count,export,site-read,stats","admin-key:count,export,site-read,site-create,site-update,stats","nocount-key:site-read,stats","other-key:count:2"]}'
# A key of another site: 403 on 2.7 (401 unknown token on 2.4.1, below).
config "$TOKENS_WITH_OTHER_SITE"
req POST /api/v0/count -H 'Content-Type: application/json' -H 'Authorization: Bearer other-key' --data-binary "{\"hits\":[$H]}"
expect "key of another site" 403 '{"error":"this token does not have access to this site"}'

# Exports are empty (not even the header) without "Individual pageviews" (collect bit 256).
reset
count "{\"hits\":[$H]}"
req PATCH /api/v0/sites/1 -H 'Content-Type: application/json' -H 'Authorization: Bearer admin-key' --data-binary '{"settings":{"collect":190}}'
[ "$status" = 200 ] && ok || bad "collect 190: $status"
req POST /api/v0/export -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key' --data-binary '{"start_from_hit_id":0}'
sleep 0.3
req GET /api/v0/export/1/download -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key'
[ "$status" = 200 ] && [ -z "$(gunzip -c "$tmp/body")" ] && ok || bad "export without individual pageviews: $status $(gunzip -c "$tmp/body" | head -c 80)"
req PATCH /api/v0/sites/1 -H 'Content-Type: application/json' -H 'Authorization: Bearer admin-key' --data-binary '{"settings":{"collect":446}}'

# Filter: ignored IP of the site.
reset; config '{"ignore_ips":{"stats.example.com":["198.51.100.7"]}}'
count '{"hits":[{"path":"/a","session":"s","ip":"198.51.100.7"},{"path":"/b","session":"s"},{"path":"/c","session":"s","ip":"198.51.100.7"}]}'
expect "filter header" 202 '{"status":"ok"}' "X-Goatcounter-Filter=0, 2"
config '{"ignore_ips":{"stats.example.com":[]}}'

# Rate limit v2.7: 5 per 2 s fixed window; the 6th is refused; tokens back after the window.
reset
for i in 1 2 3 4 5; do count "{\"hits\":[$H]}"; done
expect "5th in window" 202 '{"status":"ok"}' X-Rate-Limit-Remaining=0
count "{\"hits\":[$H]}"
expect "6th is 429" 429 '{"error": "rate limited exceeded; try again in 2s"}' X-Rate-Limit-Limit=5 \
    X-Rate-Limit-Remaining=0 X-Rate-Limit-Reset=2 Retry-After=2
req GET /api/v0/me -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key'
[ "$status" = 200 ] && ok || bad "v2.7 /api/v0/me after a count burst: $status (want 200, separate limiter)"
sleep 2.05
count "{\"hits\":[$H]}"
expect "tokens back after window" 202 '{"status":"ok"}' X-Rate-Limit-Remaining=4

# Faults: 504 after recording; the batch is recorded anyway.
reset
curl -s -X POST "$base/_test/faults" --data-binary '[{"kind":"status","status":504,"after_record":true}]' >/dev/null
count "{\"hits\":[$H]}"
expect "fault 504 after_record" 504 '{"error":"server timed out loading data"}'
[ "$(stat hits)" = 1 ] && ok || bad "504 after_record did not record the batch"

# A proxy's body limit: nginx's 413 page for a long body, nothing recorded; a short one passes.
reset
curl -s -X POST "$base/_test/faults" --data-binary '[{"kind":"body_limit","bytes":60,"times":2}]' >/dev/null
count "{\"hits\":[$H,$H]}"
[ "$status" = 413 ] && grep -q '<title>413 Request Entity Too Large</title>' "$tmp/body" && grep -qi '^content-type: text/html' "$tmp/hdr" && ok || bad "body_limit: got $status $(cat "$tmp/body")"
[ "$(stat hits)" = 0 ] && ok || bad "body_limit recorded a refused batch"
count '{"hits":[{"path":"/a","session":"s"}]}'
[ "$status" = 202 ] && ok || bad "body_limit refused a short body: $status"

# Faults scoped to a site apply only to counts for that site.
reset
curl -s -X POST "$base/_test/faults" --data-binary '[{"kind":"status","status":503,"site":"other.example.com"},{"kind":"status","status":502,"site":"127.0.0.1"}]' >/dev/null
count "{\"hits\":[$H]}"
[ "$status" = 502 ] && ok || bad "site-scoped fault: got $status (want 502: the fault for 127.0.0.1, not the one for another site)"
count "{\"hits\":[$H]}"
[ "$status" = 202 ] && ok || bad "a fault for another site applied: $status"

# Export: 202 while running, then a gzipped CSV with the version-2 header.
reset
count '{"hits":[{"path":"/x","session":"s"},{"path":"/favicon.ico","session":"s"},{"path":"/y","session":"s","user_agent":"curl/7.88.1","ip":"192.0.2.1"}]}'
req POST /api/v0/export -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key' --data-binary '{"start_from_hit_id":0}'
[ "$status" = 202 ] && ok || bad "export create: $status"
req GET /api/v0/export/1/download -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key'
expect "export running" 202 '{"error":"still being generated"}'
# Poll: the export is ready after --export-delay; a loaded machine may take longer.
for _ in $(seq 100); do
    req GET /api/v0/export/1/download -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key'
    [ "$status" = 202 ] || break; sleep 0.1
done
csv=$(gunzip -c "$tmp/body" 2>/dev/null | cut -d, -f1-3)
want=$'2Path,Title,Event\n/x,,0'
[ "$status" = 200 ] && [ "$csv" = "$want" ] && ok || bad "export download: $status $(printf %q "$csv")"

# Keep-alive latency: the second request on one connection must not wait for Nagle.
t2=$(curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key' \
    "$base/api/v0/me" -o /dev/null "$base/api/v0/me" | tail -1)
awk -v t="$t2" 'BEGIN { exit !(t < 0.03) }' && ok || bad "keep-alive request took ${t2}s (Nagle?)"

# --- v2.4.1 style -------------------------------------------------------------------------
reset; config '{"style":"v2.4.1"}'
count '{"hits":[{"path":"/a","session":"s","language":"en"}]}'
expect "unknown key (v2.4.1)" 202 '{"status":"ok"}' "Content-Type=text/plain; charset=utf-8" \
    X-Rate-Limit-Remaining=5 X-Rate-Limit-Reset=2
count '{"hits":[{"session":"s"}]}'
expect "per-hit error (v2.4.1)" 400 $'{\n  "errors": {\n    "0": "path: must be set, must be longer than 1 characters.\\n"\n  }\n}\n'
req POST /api/v0/count/ -H 'Content-Type: application/json' --data-binary '{}'
expect "trailing slash (v2.4.1)" 301 '' "Location=//127.0.0.1:$port/api/v0/count"
config "$TOKENS_WITH_OTHER_SITE"
req POST /api/v0/count -H 'Content-Type: application/json' -H 'Authorization: Bearer other-key' --data-binary "{\"hits\":[$H]}"
expect "key of another site (v2.4.1)" 401 '{"error":"unknown token"}'
req GET /api/v0/count
expect "GET count (v2.4.1)" 404 $'file not found: "/api/v0/count"\n'
for i in 1 2 3; do count "{\"hits\":[$H]}"; done
count "{\"hits\":[$H]}"
expect "6th is 429 (v2.4.1)" 429 'rate limited exceeded' X-Rate-Limit-Limit=5 X-Rate-Limit-Remaining=0 \
    X-Rate-Limit-Reset=2 '!Retry-After'
# One log of whole-second request times per client IP, shared by all endpoints: /api/v0/me
# (4/1) is refused right after 5 counts of the same second. A burst that straddles a
# second boundary is pruned by /me's 1-s period, so try again from a fresh client IP.
me_status=
for try in 1 2 3; do
    for i in 1 2 3 4 5; do count "{\"hits\":[$H]}" -H "X-Real-Ip: 203.0.113.$try"; done
    req GET /api/v0/me -H 'Content-Type: application/json' -H 'Authorization: Bearer test-key' -H "X-Real-Ip: 203.0.113.$try"
    me_status=$status
    [ "$status" = 429 ] && break
done
[ "$me_status" = 429 ] && ok || bad "v2.4.1 /api/v0/me after a count burst: $me_status (want 429, shared log)"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
