#!/usr/bin/env bash
# Interleaved A/B timing: each round runs every command once, in turn, so that a machine whose
# speed drifts (other tenants, frequency) moves all of them alike. Prints wall and CPU (user +
# system) min and median per command, and the largest peak RSS. bench.sh's best-of-3 rows are
# taken minutes apart; ratios against grep or zcat are only fair from rounds like these.
# Usage: scripts/ab.sh ROUNDS "ARGS" COMMAND... (ARGS follows each command; quote commands with
# their own arguments: scripts/ab.sh 7 "--dry-run log" ./old ./new "./new --threads 1")
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,7p "$0" >&2; exit 2; }
rounds=$1 args=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 0; r < rounds; r++)); do
  for i in $(seq 0 $(($# - 1))); do
    cmd=${*:$((i + 1)):1}
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" bash -c "$cmd $args" >/dev/null 2>&1 || { echo "ab: $cmd $args failed" >&2; exit 1; }
    read -r e u s m < "$tmp/t"
    echo "$e $(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}') $m" >> "$tmp/$i"
  done
done
for i in $(seq 0 $(($# - 1))); do
  cmd=${*:$((i + 1)):1}
  mid=$(( (rounds + 1) / 2 ))
  w=$(cut -d' ' -f1 "$tmp/$i" | sort -n) c=$(cut -d' ' -f2 "$tmp/$i" | sort -n)
  printf "%-40s wall min %s med %s | cpu min %s med %s | peak RSS %.1f MB\n" "$cmd" \
    "$(head -1 <<< "$w")" "$(sed -n "${mid}p" <<< "$w")" "$(head -1 <<< "$c")" "$(sed -n "${mid}p" <<< "$c")" \
    "$(cut -d' ' -f3 "$tmp/$i" | sort -n | tail -1 | awk '{print $1 / 1024}')"
done
