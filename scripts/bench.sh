#!/usr/bin/env bash
# Parsing benchmark, every row side by side in one run: goatimport --dry-run with its defaults
# (format detected, visits on, one lane per core) on a generated 2-million-line combined log,
# plain and gzipped, beside grep -cP (PCRE2 in C, same pattern) and zcat | wc -l; then one lane,
# visits off, and the memory of a million open visits. Prints seconds, lines/s, MB/s and peak RSS.
# Usage: scripts/bench.sh [LINES]   GOATIMPORT=path uses that binary instead of a release build;
# BASELINE=path adds the defaults rows for a second binary (before/after in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-2000000}
data=bench-data
mkdir -p "$data"
log=$data/bench-$lines.log
[ -f "$log" ] || python3 scripts/generate-log.py "$lines" > "$log"
[ -f "$log.gz" ] || gzip -k -6 "$log"
# A million visitors, each with one pageview, all within one visit gap: a million open visits.
visits=$data/bench-visitors-1000000.log
[ -f "$visits" ] || python3 scripts/generate-log.py 1000000 --distinct-visitors --pageviews-only > "$visits"
# The binary `make` builds and installs: release, the Swift runtime linked in (--static-swift-stdlib).
if [ -n "${GOATIMPORT:-}" ]; then bin=$GOATIMPORT; else swift build -c release --static-swift-stdlib --product goatimport >/dev/null; bin=.build/release/goatimport; fi
size=$(stat -c %s "$log")
# The combined format's pattern as one line (the format file is PCRE2 extended syntax).
pattern=$(sed -n '/^---$/,$p' formats/combined.format | tail -n +2 | tr -d '\n' | sed 's/\[ \]/ /g')

measure() { # name, lines, bytes, command...
  local name=$1 lines=$2 bytes=$3; shift 3
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$data/time" bash -c "$*" >/dev/null 2>"$data/stderr" || { cat "$data/stderr"; exit 1; }
    read -r secs kb < "$data/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; rss=$kb; fi
  done
  awk -v n="$name" -v s="$best" -v l="$lines" -v b="$bytes" -v r="$rss" \
    'BEGIN{printf "%-40s %7.2f s %12.0f lines/s %8.1f MB/s %8.1f MB peak RSS\n", n, s, l/s, b/s/1e6, r/1024}'
}

echo "$lines lines, $(awk -v b="$size" 'BEGIN{printf "%.1f MB", b/1e6}') plain, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); best of 3"
# The defaults: format detected, visits on, one lane per core. (This generator gives every line a
# new random IP: ~330,000 visits open at once.)
measure "goatimport --dry-run (plain)"       "$lines" "$size" "$bin --dry-run $log"
[ -z "${BASELINE:-}" ] || measure "  baseline binary, same"   "$lines" "$size" "$BASELINE --dry-run $log"
measure "  same, --threads 1"                "$lines" "$size" "$bin --dry-run --threads 1 $log"
measure "  same, --sessions off"             "$lines" "$size" "$bin --dry-run --sessions off $log"
measure "  same, --sessions off --threads 1" "$lines" "$size" "$bin --dry-run --sessions off --threads 1 $log"
# (grep's stdout must not be /dev/null: GNU grep then stops at the first match.)
measure "grep -cP combined (plain)"          "$lines" "$size" "grep -cP '$pattern' $log | cat"
measure "goatimport --dry-run (gzip)"        "$lines" "$size" "$bin --dry-run $log.gz"
[ -z "${BASELINE:-}" ] || measure "  baseline binary, same"   "$lines" "$size" "$BASELINE --dry-run $log.gz"
measure "  same, --threads 1"                "$lines" "$size" "$bin --dry-run --threads 1 $log.gz"
measure "zcat | wc -l (gzip)"                "$lines" "$size" "zcat $log.gz | wc -l"
measure "1,000,000 open visits (memory)"     1000000 "$(stat -c %s "$visits")" "$bin --dry-run $visits"
[ -z "${BASELINE:-}" ] || measure "  baseline binary, same"   1000000 "$(stat -c %s "$visits")" "$BASELINE --dry-run $visits"
measure "goatimport 5x via stdin (flat RSS)" "$((lines * 5))" "$((size * 5))" "cat $log $log $log $log $log | $bin --dry-run -"
