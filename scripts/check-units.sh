#!/usr/bin/env bash
# Static checks of the systemd units in examples/systemd: `systemd-analyze verify` is clean and
# `systemd-analyze security --offline=yes` rates each service at most 3.5 (the units run for
# real under systemd in scripts/test-units.sh).
#
#   scripts/check-units.sh PATH-TO-GOATIMPORT    (verify wants ExecStart= to be executable)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: check-units.sh PATH-TO-GOATIMPORT}")
command -v systemd-analyze >/dev/null || { echo "check-units: systemd-analyze missing (scripts/setup installs it)" >&2; exit 1; }
dir=$(mktemp -d /tmp/gi-units.XXXXXX)
trap 'rm -rf "$dir"' EXIT
for unit in goatimport.service goatimport.timer goatimport-follow.service; do
  sed "s|/usr/local/bin/goatimport|$binary|g" "examples/systemd/$unit" >"$dir/$unit"
done
cd "$dir"
# --man=no: the man page is checked by check-install.sh, not installed here.
out=$(systemd-analyze verify --man=no ./goatimport.service ./goatimport.timer ./goatimport-follow.service 2>&1) \
  || { echo "check-units: systemd-analyze verify failed: $out" >&2; exit 1; }
[ -z "$out" ] || { echo "check-units: systemd-analyze verify: $out" >&2; exit 1; }
for unit in goatimport.service goatimport-follow.service; do
  # The threshold is in tenths: 35 is an exposure of 3.5.
  systemd-analyze security --offline=yes --threshold=35 "./$unit" >"$dir/security.txt" 2>&1 \
    || { cat "$dir/security.txt" >&2; echo "check-units: $unit is above 3.5" >&2; exit 1; }
  echo "check-units: $(tail -1 "$dir/security.txt" | sed 's/^→ //')"
done
