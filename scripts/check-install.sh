#!/usr/bin/env bash
# Installs into a staging directory (make install DESTDIR=…) and checks what a user gets: every
# file in its place, the staged binary runs and agrees with its man page, the page renders, the
# completions parse, the units point at the installed binary, and make uninstall removes it all.
#
#   scripts/check-install.sh                          release build, as `make install` does
#   scripts/check-install.sh --binary PATH            stage a binary built already (CI: debug)
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
if [ "${1:-}" = "--binary" ]; then binary=${2:?--binary needs a path}; fi
prefix=${PREFIX_UNDER_TEST:-/usr/local}
stage=$(mktemp -d /tmp/gi-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

make -s install DESTDIR="$stage" PREFIX="$prefix" ${binary:+BINARY="$binary"} >/dev/null
root=$stage$prefix

expected=(
  bin/goatimport
  share/man/man1/goatimport.1
  share/bash-completion/completions/goatimport
  share/zsh/site-functions/_goatimport
  share/fish/vendor_completions.d/goatimport.fish
  lib/systemd/system/goatimport.service
  lib/systemd/system/goatimport.timer
  lib/systemd/system/goatimport-follow.service
  share/doc/goatimport/examples/logrotate-nginx
)
for f in "${expected[@]}"; do [ -s "$root/$f" ] || fail "missing or empty: $prefix/$f"; done
extra=$(cd "$root" && find . -type f | sed 's|^\./||' | sort | comm -23 - <(printf '%s\n' "${expected[@]}" | sort))
[ -z "$extra" ] || fail "installed but not expected: $extra"

version=$("$root/bin/goatimport" --version)
grep -qx ".Os goatimport $version" "$root/share/man/man1/goatimport.1" \
  || fail "the installed man page does not say version $version"
# FILES names where this install put things, not the page's PREFIX placeholder.
page="$root/share/man/man1/goatimport.1"
! grep -q "PREFIX/" "$page" || fail "the installed man page still says PREFIX/: $(grep -m1 'PREFIX/' "$page")"
for f in lib/systemd/system/goatimport-follow.service share/doc/goatimport/examples/logrotate-nginx \
         share/bash-completion/completions/goatimport share/fish/vendor_completions.d/goatimport.fish; do
  grep -q "^\.It Pa $prefix/$f" "$page" || fail "the installed man page's FILES does not name $prefix/$f"
done
# Rendering warnings (a bad macro, an unknown escape) go to stderr.
if command -v man >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings=w -l "$root/share/man/man1/goatimport.1" 2>&1 >/dev/null)
else
  warnings=$(groff -mandoc -Tutf8 -ww -z "$root/share/man/man1/goatimport.1" 2>&1)
fi
[ -z "$warnings" ] || fail "man page warnings: $warnings"

bash -n "$root/share/bash-completion/completions/goatimport" || fail "bash completion does not parse"
skipped=()
if command -v zsh >/dev/null; then zsh -n "$root/share/zsh/site-functions/_goatimport" || fail "zsh completion does not parse"
else skipped+=(zsh); fi
if command -v fish >/dev/null; then fish -n "$root/share/fish/vendor_completions.d/goatimport.fish" || fail "fish completion does not parse"
else skipped+=(fish); fi

for unit in goatimport.service goatimport-follow.service; do
  grep -q "$prefix/bin/goatimport" "$root/lib/systemd/system/$unit" || fail "$unit does not run $prefix/bin/goatimport"
  ! grep -q "$stage" "$root/lib/systemd/system/$unit" || fail "$unit names the staging directory"
done

make -s uninstall DESTDIR="$stage" PREFIX="$prefix"
left=$(find "$stage" -type f)
[ -z "$left" ] || fail "left after make uninstall: $left"

echo "check-install: goatimport $version: ${#expected[@]} files installed under DESTDIR, man page, completions and units checked${skipped:+ (no ${skipped[*]} here to parse its completion)}, uninstall clean"
