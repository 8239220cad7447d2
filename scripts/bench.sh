#!/usr/bin/env bash
# Parsing benchmark: goatimport --dry-run on a generated 2-million-line combined log, plain and
# gzipped, side by side in one run with grep -cP (PCRE2 in C, same pattern) and zcat | wc -l.
# Prints lines/s, MB/s and peak RSS. Usage: scripts/bench.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-2000000}
data=bench-data
mkdir -p "$data"
log=$data/bench-$lines.log
[ -f "$log" ] || python3 scripts/generate-log.py "$lines" > "$log"
[ -f "$log.gz" ] || gzip -k -6 "$log"
swift build -c release --product goatimport >/dev/null
bin=.build/release/goatimport
size=$(stat -c %s "$log")
# The combined format's pattern as one line (the format file is PCRE2 extended syntax).
pattern=$(sed -n '/^---$/,$p' formats/combined.format | tail -n +2 | tr -d '\n' | sed 's/\[ \]/ /g')

measure() { # name, lines, command...
  local name=$1 lines=$2; shift 2
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$data/time" bash -c "$*" >/dev/null 2>"$data/stderr" || { cat "$data/stderr"; exit 1; }
    read -r secs kb < "$data/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; rss=$kb; fi
  done
  awk -v n="$name" -v s="$best" -v l="$lines" -v b="$size" -v r="$rss" \
    'BEGIN{printf "%-34s %7.2f s %12.0f lines/s %8.1f MB/s %8.1f MB peak RSS\n", n, s, l/s, b/s/1e6, r/1024}'
}

echo "$lines lines, $(awk -v b="$size" 'BEGIN{printf "%.1f MB", b/1e6}') plain, $(nproc) cores; best of 3"
# Parsing alone (--sessions off); the row after adds visits, whose cost and memory follow the
# number of visitors open at once (this generator gives every line a new random IP: ~330,000).
# The format is given: auto-detection reads 50 lines, which is nothing, but keeps the rows comparable.
measure "goatimport --dry-run (plain)"   "$lines" "$bin --dry-run --format combined --sessions off $log"
measure "  same, --threads 1"            "$lines" "$bin --dry-run --format combined --sessions off --threads 1 $log"
measure "  same, with --sessions on"     "$lines" "$bin --dry-run --format combined --sessions on $log"
# (grep's stdout must not be /dev/null: GNU grep then stops at the first match.)
measure "grep -cP combined (plain)"      "$lines" "grep -cP '$pattern' $log | cat"
measure "goatimport --dry-run (gzip)"    "$lines" "$bin --dry-run --format combined --sessions off $log.gz"
measure "  same, --threads 1"            "$lines" "$bin --dry-run --format combined --sessions off --threads 1 $log.gz"
measure "zcat | wc -l (gzip)"            "$lines" "zcat $log.gz | wc -l"
measure "goatimport 5x via stdin (flat RSS)" "$((lines * 5))" "cat $log $log $log $log $log | $bin --dry-run --format combined --sessions off -"
