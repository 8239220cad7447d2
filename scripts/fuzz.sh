#!/usr/bin/env bash
# libFuzzer targets for the parser families (Fuzz/Targets: regex formats and the nginx/Apache
# translators, JSON lines, W3C/CloudFront, gzip), built with swiftc -sanitize=fuzzer,address
# straight from the library's sources (no async-http-client: Fuzz/Library stands in for its
# transport), seeded from Tests/Fixtures. Runs each target for --seconds (default 30); a crash
# leaves its input in .build-fuzz/crashes/<target>/ and makes the script fail: turn it into a
# regression test.
#   scripts/fuzz.sh [--seconds N] [--build-only] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
build_only=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(regex json w3c gzip)
out=.build-fuzz
mkdir -p "$out/lib"
flags=(-sanitize=fuzzer,address -O -g -I Sources/CPCRE2 -I Sources/CISAL -I Sources/CSystemd -I Sources/CIntrinsics -swift-version 5)

# The library once, as a static archive and a module; each target links it.
start=$(date +%s)
sources=$(find Sources/GoatImportCore -name '*.swift' | sort)
if [ ! -f "$out/lib/libGoatImportCore.a" ] || [ -n "$(find $sources Fuzz/Library -newer "$out/lib/libGoatImportCore.a" | head -1)" ]; then
  swiftc "${flags[@]}" -parse-as-library -module-name GoatImportCore -emit-module -emit-module-path "$out/lib/GoatImportCore.swiftmodule" \
    -emit-library -static -o "$out/lib/libGoatImportCore.a" $sources Fuzz/Library/*.swift 2>&1 | { grep -v "Cannot export local symbol" >&2 || true; }
fi
for t in "${targets[@]}"; do
  swiftc "${flags[@]}" -parse-as-library -I "$out/lib" -module-name "Fuzz_$t" -o "$out/fuzz-$t" \
    "Fuzz/Targets/$t.swift" Fuzz/Support/*.swift "$out/lib/libGoatImportCore.a" -lpcre2-8 -lisal -lsystemd 2>&1 | { grep -v "Cannot export local symbol" >&2 || true; }
done
echo "fuzz: built ${targets[*]} in $(( $(date +%s) - start )) s" >&2
[ "$build_only" -eq 0 ] || exit 0

# Seeds: each fixture log, prefixed by every choice byte its target reads first.
seed() {  # seed TARGET FILE...
  local dir="$out/corpus/$1"; shift
  mkdir -p "$dir"
  local i=0
  for f in "$@"; do
    for b in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
      { printf "\\$(printf %03o $b)"; head -c 4096 "$f"; } > "$dir/seed-$i-$b"
    done
    i=$((i + 1))
  done
}
fixtures() { find Tests/Fixtures -type f \( "$@" \) | sort; }
# Leak checks off: the built-in formats are parsed once into a global on first use, and
# LeakSanitizer takes those allocations (reachable only through Swift's packed enum payloads)
# for a leak of whichever input came first.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
status=0
for t in "${targets[@]}"; do
  case "$t" in
    regex) seed regex $(fixtures -name '*.log' ! -name '*json*') ;
           printf '\000$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"\n' > "$out/corpus/regex/nginx-spec"
           head -c 2000 Tests/Fixtures/nginx/combined.log >> "$out/corpus/regex/nginx-spec"
           printf '\001%%h %%l %%u %%t \\"%%r\\" %%>s %%b \\"%%{Referer}i\\" \\"%%{User-Agent}i\\"\n' > "$out/corpus/regex/apache-spec"
           head -c 2000 Tests/Fixtures/apache/combined.log >> "$out/corpus/regex/apache-spec" ;;
    json)  seed json $(fixtures -name '*json*') ;;
    w3c)   seed w3c $(fixtures -path '*w3c*' -o -path '*cloudfront*') ;;
    gzip)  mkdir -p "$out/corpus/gzip"
           # With -N too: a header with the file name, which ISA-L once mis-read when it came in pieces.
           for f in $(fixtures -name '*.log' | head -8); do gzip -c -n "$f" | tail -c +3 > "$out/corpus/gzip/$(basename "$(dirname "$f")")-$(basename "$f")"; gzip -c -N "$f" | tail -c +3 > "$out/corpus/gzip/named-$(basename "$(dirname "$f")")-$(basename "$f")"; done ;;
  esac
  mkdir -p "$out/crashes/$t"
  echo "fuzz: $t for $seconds s" >&2
  if ! "$out/fuzz-$t" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
       -artifact_prefix="$out/crashes/$t/" -print_final_stats=1 "$out/corpus/$t" 2> "$out/$t.log"; then
    echo "fuzz: $t FAILED; last lines of $out/$t.log:" >&2
    tail -40 "$out/$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$out/$t.log" | tail -2 >&2 || true
  fi
done
# Each fuzzing process wrote its inputs to one file (Fuzz/Support/FuzzImport.swift).
rm -f "${TMPDIR:-/tmp}"/goatimport-fuzz-*.log
exit $status
