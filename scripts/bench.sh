#!/usr/bin/env bash
# Benchmarks infractl against the local Docker engine: for each stack, the
# median of N runs of `up` (node image present), a no-op `up` right after,
# and `down`, with infractl's own peak memory (max RSS over all runs).
#
#   scripts/bench.sh [N] [STACK...]      default: 5 runs of task0 task1
#
# Uses a release build and its own state directory; takes each lab down.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
shift || true
stacks=("$@")
[ ${#stacks[@]} -gt 0 ] || stacks=(task0 task1)

command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release -q
bin=target/release/infractl
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
export INFRACTL_STATE_DIR=$state
$bin -q image build >/dev/null

# run LABEL CMD...: appends "seconds rss_kb" to $tmp/LABEL
tmp=$(mktemp -d)
run() {
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$tmp/one" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    cat "$tmp/one" >> "$tmp/$label"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-6s %10s %12s %10s %13s\n' STACK "up (s)" "no-op up (s)" "down (s)" "peak RSS (MB)"
for s in "${stacks[@]}"; do
    rm -f "$tmp"/up "$tmp"/noop "$tmp"/down
    $bin -q down "$s" >/dev/null
    for _ in $(seq "$runs"); do
        run up $bin -q up "$s"
        run noop $bin -q up "$s"
        run down $bin -q down "$s"
    done
    up=$(cut -d' ' -f1 "$tmp/up" | median)
    noop=$(cut -d' ' -f1 "$tmp/noop" | median)
    down=$(cut -d' ' -f1 "$tmp/down" | median)
    rss=$(cat "$tmp/up" "$tmp/noop" "$tmp/down" | cut -d' ' -f2 | sort -n | tail -1)
    printf '%-6s %10.2f %12.2f %10.2f %13.1f\n' "$s" "$up" "$noop" "$down" "$(echo "$rss / 1024" | bc -l)"
done
rm -rf "$tmp"
