#!/usr/bin/env bash
# Benchmarks infractl: for each stack, the median of N runs of `up`, a
# no-op `up` right after, and `down`, with infractl's own peak memory (max
# RSS over all runs).
#
#   scripts/bench.sh [N] [STACK...]        Docker driver; default: 5 runs of task0 task1
#   scripts/bench.sh --ssh [N] [STACK...]  SSH driver; default: 5 runs of task1 task3
#   scripts/bench.sh --class N [STACK]     a class of N labs (default task1) on the engine
#   scripts/bench.sh --portal [N]          the classroom portal over a class of N task0 labs (default 30)
#
# --portal: `infractl serve` over a class of N labs. A key's echo through a
# portal terminal, p50/p99 over 1,000 keys, beside `docker exec -it` on the
# same server (the floor); every learner's page stream held open at once,
# the portal's memory (goal <= 60 MB) and its CPU at rest (goal <= 2 % of
# a core) over 30 s; the site's page through the portal (over the
# engine's API, nothing published), 100 times, beside `docker exec CLIENT
# curl` of the same page; the time from a server's death (`docker kill`)
# to its page saying so, 5 times.
#
# --class: `infractl class up` of N labs until every lab serves, beside the
# engine's own floor measured in the same run (as many bare containers of
# the node image, started in parallel through the Engine API: on the
# default bridge, and on networks of the labs' shape at the labs'
# addresses, as infractl starts them); the ratios; infractl's peak memory;
# the engine's memory per lab once all are up.
#
# Docker: the node image present, every run creates the containers. When
# task1 is benched and the peers are there (INFRACTL_PEERS, default
# ../shared/peers), the hand-written Compose lab of task1's shape is
# brought up beside it, as many times, on the same engine, and the ratio of
# the medians printed (infractl's goal: <= 1.0; the peer has no DNS, TLS,
# firewall, supervisor or monitoring, so it does less).
# SSH: one "VM" per server (a container of the node image running sshd
# alone, so every package is present, as on hosts already provisioned),
# started once; each run applies the stack to them over SSH and `down`
# removes what it placed. The bar for SSH is Ansible (pipelining on, 10
# forks): about 6.5 s to apply a task1 lab to three hosts, 4.4 s for a
# no-op; infractl aims at 5x faster: task3 up <= 2 s, no-op <= 0.5 s.
#
# Uses a release build and its own state directory; leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

ssh=0
class=0
portal=0
if [ "${1:-}" = --portal ]; then
    portal=${2:-30}
    shift $(( $# >= 2 ? 2 : 1 ))
fi
if [ "${1:-}" = --class ]; then
    class=${2:?--class needs the number of labs}
    shift 2
fi
if [ "${1:-}" = --ssh ]; then
    ssh=1
    shift
fi
if [ "$class" != 0 ]; then
    runs=1
    stacks=("${1:-task1}")
else
    runs=${1:-5}
    shift || true
    stacks=("$@")
fi
if [ ${#stacks[@]} -eq 0 ]; then
    if [ $ssh = 1 ]; then stacks=(task1 task3); else stacks=(task0 task1); fi
fi

command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release -q
bin=$PWD/target/release/infractl
work=$(mktemp -d)
export INFRACTL_STATE_DIR=$work/state
vms=()
nets=()
serve=
cleanup() {
    [ -z "$serve" ] || kill "$serve" 2>/dev/null || true
    [ ! -f "$work/portal.yaml" ] || "$bin" -q class down "$work/portal.yaml" >/dev/null 2>&1 || true
    [ ${#vms[@]} -eq 0 ] || docker rm -f "${vms[@]}" >/dev/null 2>&1 || true
    [ ${#nets[@]} -eq 0 ] || docker network rm "${nets[@]}" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
$bin -q image build >/dev/null

# start_vms STACK: one sshd container per server at its plan's addresses;
# sets $driver to the flags that reach them.
start_vms() {
    local s=$1 image
    $bin render "$s" -o "$work/render" --json > "$work/plan.json"
    image=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"])' "$work/plan.json")
    [ -f "$work/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$work/id"
    python3 - "$work/plan.json" > "$work/layout" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
for n in plan["networks"]:
    print("net", n["name"], n["subnet"], n["gateway"])
for s in plan["servers"]:
    print("vm", s["name"], " ".join(f'{a["network"]}={a["address"]}' for a in s["networks"]))
EOF
    printf 'defaults: { user: root, key: %s }\nhosts:\n' "$work/id" > "$work/inventory.yaml"
    local kind name a b c first net addr
    while read -r kind name a b c; do
        if [ "$kind" = net ]; then
            docker network create --label io.infractl.test=bench --subnet "$a" --gateway "$b" "bench-$name" >/dev/null
            nets+=("bench-$name")
            continue
        fi
        first=${a%%=*}
        docker create --name "bench-$name" --hostname "$name" --label io.infractl.test=bench \
            --cap-add NET_ADMIN --cap-add NET_RAW --tmpfs /run \
            --network "bench-$first" --ip "${a#*=}" "$image" sh -c \
            'mkdir -p /run/sshd /root/.ssh && cp /key.pub /root/.ssh/authorized_keys && ssh-keygen -A -q && exec /usr/sbin/sshd -D -e' >/dev/null
        vms+=("bench-$name")
        for net in $b $c; do
            docker network connect --ip "${net#*=}" "bench-${net%%=*}" "bench-$name"
        done
        docker cp "$work/id.pub" "bench-$name:/key.pub"
        docker start "bench-$name" >/dev/null
        echo "  $name: { host: ${a#*=} }" >> "$work/inventory.yaml"
    done < "$work/layout"
    while read -r addr; do
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/$addr/22") 2>/dev/null && break
            sleep 0.1
        done
    done < <(awk '$1 == "vm" { sub(/^[^=]*=/, "", $3); print $3 }' "$work/layout")
    driver=(--inventory "$work/inventory.yaml" --known-hosts "$work/known_hosts" --accept-new-host-keys)
}

stop_vms() {
    docker rm -f "${vms[@]}" >/dev/null
    docker network rm "${nets[@]}" >/dev/null
    vms=()
    nets=()
}

# run LABEL CMD...: appends "seconds rss_kb" to $work/LABEL
run() {
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/one" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    cat "$work/one" >> "$work/$label"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# bench_class N STACK: the class figures.
bench_class() {
    local n=$1 stack=$2 image servers up rss mem
    # A class name of its own: nothing of an earlier run is in its way.
    printf 'name: bench%s\nstack: %s\nstudents: %s\n' "$$" "$stack" "$n" > "$work/bench.yaml"
    image=$($bin image show | awk '/^image:/ {print $2}')
    /usr/bin/time -f "%e %M" -o "$work/class-up" "$bin" -q class up "$work/bench.yaml" >/dev/null
    up=$(cut -d' ' -f1 "$work/class-up")
    rss=$(cut -d' ' -f2 "$work/class-up")
    local ids
    mapfile -t ids < <(docker ps --filter label=io.infractl.lab --format '{{.Label "io.infractl.lab"}} {{.ID}}' |
        awk -v class="bench$$-" 'index($1, class) == 1 {print $2}')
    servers=${#ids[@]}
    mem=$(docker stats --no-stream --format '{{.MemUsage}}' "${ids[@]}" |
        python3 -c '
import sys
units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "kB": 1e3, "MB": 1e6, "GB": 1e9}
total = 0
for line in sys.stdin:
    used = line.split("/")[0].strip()
    num = used.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    total += float(num) * units[used[len(num):]]
print(total / 2**20)')
    # The labs' shape (networks, subnets, each container's addresses), for
    # the floor that starts bare containers the way the labs' are started.
    python3 scripts/floor.py --read-shape "bench$$-" > "$work/shape.json"
    local down=0
    "$bin" class down "$work/bench.yaml" > "$work/class-down" 2>&1 || down=1
    # The floor (scripts/floor.py): as many bare containers of the node
    # image, eight at a time through the Engine API, with the image's shared
    # directories bound as infractl binds them; once on the default bridge,
    # once on networks of the labs' shape at the labs' addresses.
    local binds bridge nets
    mapfile -t binds < <($bin image show | awk '/^shared:/ {for (i = 2; i <= NF; i++) print $i}')
    bridge=$(python3 scripts/floor.py "$image" "${binds[@]}" --count "$servers")
    nets=$(python3 scripts/floor.py "$image" "${binds[@]}" --shape "$work/shape.json")
    local networks
    networks=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["networks"]))' "$work/shape.json")
    echo "Class of $n $stack labs ($servers containers, $networks networks) on the Docker engine"
    printf '  every lab serving: %.1f s\n' "$up"
    printf '  engine floor, %s bare containers on the default bridge: %.1f s; ratio %.2f\n' \
        "$servers" "$bridge" "$(echo "$up / $bridge" | bc -l)"
    printf '  engine floor, the same on the labs'"'"' %s networks, at their addresses: %.1f s; ratio %.2f\n' \
        "$networks" "$nets" "$(echo "$up / $nets" | bc -l)"
    printf '  infractl peak RSS: %.1f MB; engine memory per lab: %.0f MB\n' \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$mem / $n" | bc -l)"
    if [ $down = 1 ]; then
        echo "bench: class down failed:" >&2
        cat "$work/class-down" >&2
        return 1
    fi
}
# bench_portal N: the portal's figures over a class of N task0 labs.
bench_portal() {
    local n=$1 class="portal$$" port cookie lab pairs=() py=python3
    printf 'name: %s\nstack: task0\nstudents: %s\n' "$class" "$n" > "$work/portal.yaml"
    "$bin" -q class up "$work/portal.yaml" >/dev/null
    # The WebSocket client of the echo figure, in a venv of the run's own.
    python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q websockets >/dev/null && py=$work/venv/bin/python3
    "$bin" serve --listen 127.0.0.1:0 2> "$work/serve.err" &
    serve=$!
    until port=$(sed -n 's|.* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/serve.err") && [ -n "$port" ]; do sleep 0.2; done
    local url=http://127.0.0.1:$port
    while read -r lab cookie; do
        pairs+=("$lab=$cookie")
    done < <("$bin" class links "$work/portal.yaml" --json | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    if l["role"] == "learner":
        print(l["lab"], l["url"].rsplit("/", 1)[1])')
    lab=${pairs[0]%%=*}
    cookie=${pairs[0]#*=}
    echo "The portal over a class of $n task0 labs ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$py" scripts/portal_bench.py echo "$url" "$cookie" "$lab" server-01 "$lab-server-01" 1000 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("  a key'"'"'s echo, %d keys: portal terminal p50 %.2f ms, p99 %.2f ms; docker exec -it p50 %.2f ms, p99 %.2f ms" % (
    r["keys"], r["portal"]["p50_ms"], r["portal"]["p99_ms"], r["docker_exec"]["p50_ms"], r["docker_exec"]["p99_ms"]))'
    python3 scripts/portal_bench.py pages "$url" "$serve" 30 "${pairs[@]}" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("  %d learner pages open (%d live): portal RSS %.1f MB (goal <= 60), CPU at rest %.2f %% of a core over %d s (goal <= 2)" % (
    r["pages"], r["pages_live"], r["rss_mb"], r["cpu_at_rest_pct"], r["seconds"]))'
    python3 scripts/portal_bench.py site "$url" "$cookie" "$lab" "$lab-client" 100 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("  the site'"'"'s page, %d times: through the portal (engine API, nothing published) p50 %.1f ms, p99 %.1f ms; docker exec client curl p50 %.1f ms, p99 %.1f ms" % (
    r["times"], r["portal"]["p50_ms"], r["portal"]["p99_ms"], r["docker_exec_curl"]["p50_ms"], r["docker_exec_curl"]["p99_ms"]))'
    python3 scripts/portal_bench.py death "$url" "$cookie" "$lab" server-01 "$lab-server-01" 5 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("  a server killed to its page saying so, %d times: p50 %.0f ms, worst %.0f ms (%s) from docker kill'"'"'s start; from the engine'"'"'s time of the death: %s ms" % (
    r["times"], r["p50_ms"], max(r["ms"]), ", ".join(map(str, r["ms"])), ", ".join(map(str, r["after_death_ms"]))))'
    kill "$serve"
    serve=
    "$bin" -q class down "$work/portal.yaml" >/dev/null
    rm "$work/portal.yaml"
}
if [ "$portal" != 0 ]; then
    bench_portal "$portal"
    exit
fi
if [ "$class" != 0 ]; then
    bench_class "$class" "${stacks[0]}"
    exit
fi

[ $ssh = 1 ] && echo "SSH driver, hosts with every package present" || echo "Docker driver"
printf '%-6s %10s %12s %10s %13s\n' STACK "up (s)" "no-op up (s)" "down (s)" "peak RSS (MB)"
for s in "${stacks[@]}"; do
    rm -f "$work"/up "$work"/noop "$work"/down
    driver=()
    if [ $ssh = 1 ]; then
        $bin -q down "$s" >/dev/null # the Docker lab of the same stack holds its addresses
        start_vms "$s"
    fi
    $bin -q down "${driver[@]}" "$s" >/dev/null
    for _ in $(seq "$runs"); do
        run up "$bin" -q up "${driver[@]}" "$s"
        run noop "$bin" -q up "${driver[@]}" "$s"
        run down "$bin" -q down "${driver[@]}" "$s"
    done
    [ $ssh = 0 ] || stop_vms
    up=$(cut -d' ' -f1 "$work/up" | median)
    noop=$(cut -d' ' -f1 "$work/noop" | median)
    down=$(cut -d' ' -f1 "$work/down" | median)
    rss=$(cat "$work/up" "$work/noop" "$work/down" | cut -d' ' -f2 | sort -n | tail -1)
    printf '%-6s %10.2f %12.2f %10.2f %13.1f\n' "$s" "$up" "$noop" "$down" "$(echo "$rss / 1024" | bc -l)"
    [ "$s" = task1 ] && [ $ssh = 0 ] && echo "$up" > "$work/task1-up"
done

# The peer: task1's shape by hand for docker-compose, measured beside.
peers=${INFRACTL_PEERS:-../shared/peers}
if [ -f "$work/task1-up" ] && [ -x "$peers/compose-task1/measure.sh" ]; then
    bash "$peers/build-base.sh"
    rm -f "$work/peer"
    for _ in $(seq "$runs"); do
        bash "$peers/compose-task1/measure.sh" | sed -n 's/^up-to-serving \([0-9.]*\)s.*/\1/p' >> "$work/peer"
    done
    peer=$(median < "$work/peer")
    ours=$(cat "$work/task1-up")
    printf '\nPeer (hand-written Compose lab of task1, %s runs): up to serving %.2f s; infractl task1 %.2f s; ratio %.2f (goal <= 1.0)\n' \
        "$runs" "$peer" "$ours" "$(echo "$ours / $peer" | bc -l)"
elif [ -f "$work/task1-up" ]; then
    echo "(no peer at $peers: set INFRACTL_PEERS to the peers' folder to compare)"
fi
