#!/usr/bin/env bash
# Runs the units of examples/systemd under a real systemd: a minimal Debian (debootstrap) booted
# with systemd-nspawn, the Python test server on the host's loopback (the container shares the
# host's network). Checks the oneshot, the timer, the follow service through `logrotate -f`
# with `create 0640 www-data adm`, a timer run while the follower runs, and stop: every line
# arrives exactly once and no unit fails. Needs root.
#
#   scripts/test-units.sh PATH-TO-GOATIMPORT
#   GI_UNITS_ROOT=DIR: reuse a container tree built before (CI builds a fresh one).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: test-units.sh PATH-TO-GOATIMPORT}")
pid1=""
# What the units said, for a failure's diagnosis.
journal() { [ -n "$pid1" ] && nsenter -t "$pid1" -a journalctl --no-pager -n 40 -u 'goatimport*' >&2 || true; }
fail() { echo "test-units: FAIL: $*" >&2; journal; exit 1; }
log() { echo "test-units: $*" >&2; }

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

root=${GI_UNITS_ROOT:-}
fresh=no
if [ -z "$root" ]; then
  root=$(mktemp -d /var/tmp/gi-units.XXXXXX); fresh=yes
  # mktemp makes it 0700: as the container's "/" that locks out every unprivileged user, and the
  # units' DynamicUser failed at once (status=200/CHDIR, no journal socket).
  chmod 0755 "$root"
fi
if [ ! -x "$root/usr/bin/systemctl" ]; then
  log "debootstrap into $root"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,logrotate,libisal2 bookworm "$root" \
    http://deb.debian.org/debian >/dev/null
fi

server_pid="" nspawn_pid=""
cleanup() {
  [ -n "$nspawn_pid" ] && kill "$nspawn_pid" 2>/dev/null && wait "$nspawn_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  [ "$fresh" = yes ] && rm -rf "$root"
  true
}
trap 'status=$?; [ "$status" -eq 0 ] || journal; cleanup' EXIT

# The test server on loopback; it prints its port.
fifo=$(mktemp -u /tmp/gi-units-server.XXXXXX)
mkfifo "$fifo"
python3 Tests/Support/goatcounter_test_server.py --port 0 --ratelimit api-count:none --ratelimit api:none >"$fifo" &
server_pid=$!
read -r listening port <"$fifo"
rm -f "$fifo"
[ "$listening" = LISTENING ] || fail "the test server did not start"
url=http://127.0.0.1:$port
paths() { python3 -c 'import json,sys,urllib.request; [print(h["path"]) for h in json.load(urllib.request.urlopen(sys.argv[1] + "/_test/hits"))["hits"]]' "$url"; }

# The binary and the Swift runtime it links (same path inside), the units, the environment.
install -m 0755 "$binary" "$root/usr/local/bin/goatimport"
swiftlib=$(ldd "$binary" | awk '/libswiftCore.so/ { print $3 }' | xargs -r dirname)
install -d "$root/etc/systemd/system" "$root/etc/goatimport" "$root/var/log/nginx"
cp examples/systemd/goatimport.service examples/systemd/goatimport.timer examples/systemd/goatimport-follow.service "$root/etc/systemd/system/"
printf '%s\n' "GOATCOUNTER_SITE=$url" GOATCOUNTER_API_KEY=test-key >"$root/etc/goatimport/env"
chmod 0600 "$root/etc/goatimport/env"
cat >"$root/etc/logrotate.d/nginx-test" <<'CONF'
/var/log/nginx/access.log {
	rotate 5
	create 0640 www-data adm
}
CONF

log "booting systemd"
systemd-nspawn -q -D "$root" --boot --register=no --keep-unit ${swiftlib:+--bind-ro="$swiftlib"} >/dev/null 2>&1 &
nspawn_pid=$!
for _ in $(seq 300); do
  for p in $(pgrep -P "$nspawn_pid" 2>/dev/null); do [ "$(cat /proc/$p/comm 2>/dev/null)" = systemd ] && pid1=$p; done
  [ -n "$pid1" ] && break
  sleep 0.1
done
[ -n "$pid1" ] || fail "the container did not boot"
inside() { nsenter -t "$pid1" -a "$@"; }
for _ in $(seq 300); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case $state in running|degraded) break ;; esac
  sleep 0.2
done
inside chown root:adm /var/log/nginx

n=0
append() {   # append COUNT lines, each with its own path
  local count=$1 lines="" i now
  now=$(date -u +%d/%b/%Y:%H:%M:%S)
  for ((i = 0; i < count; i++)); do
    lines+="192.0.2.$((n % 200 + 1)) - - [$now +0000] \"GET /u$n HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\""$'\n'
    n=$((n + 1))
  done
  inside sh -c "printf '%s' \"\$1\" >>/var/log/nginx/access.log" sh "$lines"
}
expect_all() {   # every line appended so far arrives, each once (waits up to 30 s)
  local want got
  want=$(seq 0 $((n - 1)) | sed 's|^|/u|' | sort)
  for _ in $(seq 150); do
    got=$(paths | sort)
    [ "$got" = "$want" ] && return 0
    sleep 0.2
  done
  fail "$1: want $n distinct hits once each, got $(paths | wc -l) ($(paths | sort | uniq -d | head -3 | tr '\n' ' '))"
}
result() { inside systemctl show -P Result "$1"; }

inside install -m 0640 -o root -g adm /dev/null /var/log/nginx/access.log
inside systemctl daemon-reload

log "oneshot"
append 20
inside systemctl start goatimport.service || fail "the oneshot failed"
expect_all oneshot
[ "$(result goatimport.service)" = success ] || fail "oneshot: $(result goatimport.service)"

log "timer"
inside install -d /etc/systemd/system/goatimport.timer.d
inside sh -c 'printf "[Timer]\nOnCalendar=\nOnCalendar=*:*:0/5\nRandomizedDelaySec=0\nAccuracySec=1s\n" >/etc/systemd/system/goatimport.timer.d/test.conf'
inside systemctl daemon-reload
append 10
inside systemctl start goatimport.timer
expect_all timer
inside systemctl stop goatimport.timer
for _ in $(seq 100); do [ "$(inside systemctl show -P ActiveState goatimport.service)" = inactive ] && break; sleep 0.1; done
[ "$(result goatimport.service)" = success ] || fail "timer run: $(result goatimport.service)"

log "follow"
inside systemctl start goatimport-follow.service   # Type=notify: returns at READY=1
append 10
expect_all follow
status=$(inside systemctl show -P StatusText goatimport-follow.service)
case $status in "following 1 log, "*) ;; *) fail "follow: StatusText is '$status'" ;; esac

log "logrotate -f (create 0640 www-data adm)"
inside logrotate -f /etc/logrotate.d/nginx-test
append 10
expect_all "after rotation"

log "a timer run while following"
inside systemctl start goatimport.service || fail "the oneshot failed"
[ "$(result goatimport.service)" = success ] || fail "overlap: the timer's run is $(result goatimport.service)"
append 10
expect_all overlap
[ "$(inside systemctl show -P NRestarts goatimport-follow.service)" = 0 ] || fail "the follower restarted"
[ "$(inside systemctl show -P ActiveState goatimport-follow.service)" = active ] || fail "the follower is not active"

log "stop"
inside systemctl stop goatimport-follow.service
[ "$(result goatimport-follow.service)" = success ] || fail "stop: $(result goatimport-follow.service)"
expect_all stop
log "ok: $n lines, each sent once"
