#!/usr/bin/env bash
# Soak: a lab through many rounds of chaos (every server killed and
# started again, in turn), then `down`; the engine must let every network
# of the lab go. It catches the engine's endpoint-count fault
# (moby/moby#42119: two changes to one network's endpoints at once can be
# miscounted, and such a network is freed only by an engine restart),
# which a start, kill or removal sent beside another on the same network
# can set off.
#
#   scripts/soak.sh [--rounds N] [--stack STACK] [--lab NAME]
#
# Defaults: 20 rounds of task3 without its monitoring server (chaos then
# waits for no alert: a round takes ~40 s, not ~4 min; every server but
# admin is killed and started as in task3), lab `soak`. Exit 0 when every
# round kept the lab whole and `down` left nothing; 1 otherwise. Uses
# ./target/debug/infractl (INFRACTL=path to use another); prints a line a
# round with its time.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=20 stack='' lab=soak
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --stack) stack=$2; shift 2 ;;
        --lab) lab=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
bin=${INFRACTL:-./target/debug/infractl}
[ -x "$bin" ] || cargo build -q
work=$(mktemp -d)
shown=$stack
if [ -z "$stack" ]; then
    shown="task3 without admin"
    stack=$work/soak.yaml
    printf 'extends: task3\nname: soak\nservers:\n  admin: ~\nfirewall:\n  ssh-from: []\n' >"$stack"
fi

left() {
    docker network ls -q --filter "label=io.infractl.lab=$lab"
    docker ps -aq --filter "label=io.infractl.lab=$lab"
}

# The lab is taken down whatever happens; what it leaves is the verdict.
finish() {
    status=$?
    "$bin" -q down "$lab" >/dev/null 2>&1 || "$bin" -q down "$lab" || true
    rm -rf "$work"
    if [ -n "$(left)" ]; then
        echo "soak: FAIL: down left these of lab $lab on the engine:" >&2
        docker network ls --filter "label=io.infractl.lab=$lab" >&2
        docker ps -a --filter "label=io.infractl.lab=$lab" >&2
        exit 1
    fi
    [ "$status" -eq 0 ] && echo "soak: ok: $rounds rounds of chaos on $shown, down left nothing"
    exit "$status"
}
trap finish EXIT

start=$(date +%s)
"$bin" -q up "$stack" --lab "$lab" >/dev/null
for i in $(seq "$rounds"); do
    t=$(date +%s)
    if ! "$bin" -q chaos "$lab" >"$work/chaos" 2>&1; then
        echo "soak: round $i: chaos failed:" >&2
        cat "$work/chaos" >&2
        exit 1
    fi
    echo "soak: round $i of $rounds: $(($(date +%s) - t)) s"
done
echo "soak: $rounds rounds in $(($(date +%s) - start)) s"
