#!/usr/bin/env bash
# capture-upgrade-fixture.sh BINARY — the state file an older release leaves behind, for the
# upgrade test (ExactlyOnceRunTests.upgradeKeepsCheckpoints): BINARY (a goatimport built from
# the release before one reader owned each file, e.g. main at 05aa10c) imports the first 40
# lines of a combined log and the first 30 of an IIS log into the test server; then lines are
# appended that the new release must send, and nothing else.
# Writes Tests/Fixtures/upgrade/{access.log,u_ex261127.log,state.json}. Paths are relative.
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/Tests/Fixtures/upgrade
tmp=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
python3 "$root/Tests/Support/goatcounter_test_server.py" --port 0 --ratelimit api-count:none --ratelimit api:none > "$tmp/srv.out" 2>/dev/null &
srv=$!
for _ in $(seq 100); do grep -q LISTENING "$tmp/srv.out" && break; sleep 0.05; done
port=$(awk '{print $2}' "$tmp/srv.out")
ua="Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
combined() { for n in $(seq "$1" "$2"); do printf '198.51.100.%d - - [01/Nov/2026:10:%02d:%02d +0000] "GET /n%d HTTP/1.1" 200 5 "-" "%s"\n' $((n % 250 + 1)) $((n / 60 % 60)) $((n % 60)) "$n" "$ua"; done; }
iis() { for n in $(seq "$1" "$2"); do printf '2026-11-27 10:%02d:%02d 10.0.0.4 GET /p1-%04d - 443 - 203.0.113.10 Mozilla/5.0+(X11;+Linux+x86_64;+rv:132.0)+Gecko/20100101+Firefox/132.0 - 200 0 0 15\n' $((n / 60 % 60)) $((n % 60)) "$n"; done; }
cd "$tmp"
combined 0 39 > access.log
printf '%s\n' '#Software: Microsoft Internet Information Services 10.0' '#Version: 1.0' '#Date: 2026-11-27 00:00:00' \
  '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken' > u_ex261127.log
iis 0 29 >> u_ex261127.log
export GOATCOUNTER_API_KEY=test-key
"$bin" --site "http://127.0.0.1:$port" --state state.json --format combined access.log
"$bin" --site "http://127.0.0.1:$port" --state state.json --format w3c u_ex261127.log
combined 40 49 >> access.log
iis 30 39 >> u_ex261127.log
mkdir -p "$out"
cp access.log u_ex261127.log state.json "$out/"
