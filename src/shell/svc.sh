#!/bin/sh
# infractl's services on this host (written by infractl; do not edit).
# Each service is a directory in /etc/infractl/sv with a `run` script that
# keeps it in the foreground. On a host booted with systemd each becomes a
# unit, infractl-<name>.service, and the distribution's own unit for the
# same daemon (listed in the directory's `replaces`) is disabled while
# infractl's runs; elsewhere runit supervises them, as in the containers.
#
#   svc up               run the before-start steps, start every service
#   svc enable NAME      start NAME now and at boot
#   svc disable NAME     stop NAME and forget it
#   svc stop NAME        stop NAME until it is started again (kept)
#   svc start NAME       start NAME stopped by `svc stop`
#   svc restart NAME
#   svc signal NAME SIG  send SIG (HUP USR1 USR2 INT ALRM TERM) to NAME
#   svc status           a line per service: STATE NAME (run, down, fail)
#   svc running          succeeds when any service runs
#   svc kill             kill every service at once, as a crash would
#   svc down             stop every service and forget them all
#   svc restore          start the distribution's units as they were
SV=/etc/infractl/sv
LOG=/var/log/infractl
STATE=/var/lib/infractl
UNITS=/etc/systemd/system
BEFORE=/etc/infractl/before-start.sh
if [ -d /run/systemd/system ]; then INIT=systemd; else INIT=runit; fi

names() { for d in "$SV"/*; do [ -f "$d/run" ] && echo "${d##*/}"; done; }
unit() { echo "infractl-$1.service"; }
units() { for n in $(names); do unit "$n"; done; }

# Writes FILE with CONTENT when it differs; tells whether it did.
put() {
    if printf '%s' "$2" | cmp -s - "$1"; then return 1; fi
    printf '%s' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"
}

# Unit files for the given services (and the before-start steps);
# reloads systemd when one changed.
write_units() {
    changed=0
    put "$UNITS/infractl-before-start.service" "[Unit]
Description=infractl: steps before the services start
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$BEFORE

[Install]
WantedBy=multi-user.target
" && changed=1
    for n in "$@"; do
        mkdir -p "$LOG/$n"
        put "$UNITS/$(unit "$n")" "[Unit]
Description=infractl: $n
Wants=infractl-before-start.service network-online.target
After=infractl-before-start.service network-online.target

[Service]
ExecStart=$SV/$n/run
Restart=always
RestartSec=1
StandardOutput=append:$LOG/$n/current
StandardError=inherit

[Install]
WantedBy=multi-user.target
" && changed=1
    done
    [ $changed = 0 ] || systemctl daemon-reload
}

# The distribution's units that infractl's service NAME stands in for are
# recorded as they are (enabled? running?), then disabled and stopped.
replace() {
    [ -f "$SV/$1/replaces" ] || return 0
    mkdir -p "$STATE"
    # shellcheck disable=SC2013 # unit names, a word each
    for u in $(cat "$SV/$1/replaces"); do
        systemctl cat "$u" >/dev/null 2>&1 || continue
        grep -q "^$u " "$STATE/replaced" 2>/dev/null ||
            echo "$u $(systemctl is-enabled "$u" 2>/dev/null) $(systemctl is-active "$u" 2>/dev/null)" >> "$STATE/replaced"
        systemctl disable --now --quiet "$u" 2>/dev/null
    done
}

# Puts recorded distribution units back as they were (all of them, or the
# given ones).
restore() {
    [ -d /run/systemd/system ] && [ -f "$STATE/replaced" ] || return 0
    # sed -i below writes a new file: the loop goes on reading the old one.
    # shellcheck disable=SC2094
    while read -r u enabled active; do
        [ $# = 0 ] || echo " $* " | grep -q " $u " || continue
        [ "$enabled" = enabled ] && systemctl enable --quiet "$u" 2>/dev/null
        [ "$active" = active ] && systemctl start "$u" 2>/dev/null
        sed -i "\|^$u |d" "$STATE/replaced"
    done < "$STATE/replaced"
    return 0
}

signal_runit() {
    case $2 in
        HUP) c=hup ;; USR1) c=1 ;; USR2) c=2 ;; INT) c=interrupt ;; ALRM) c=alarm ;; *) c=term ;;
    esac
    sv "$c" "/etc/service/$1"
}

case "$INIT $1" in
"systemd up")
    # Here and below, $(names) and $(units) are split on purpose: service
    # names are words.
    # shellcheck disable=SC2046
    write_units $(names)
    for n in $(names); do replace "$n"; done
    # shellcheck disable=SC2046
    systemctl enable --quiet infractl-before-start.service $(units) &&
        systemctl restart infractl-before-start.service || exit 1
    # shellcheck disable=SC2046
    [ -z "$(names)" ] || systemctl start $(units)
    ;;
"runit up")
    mkdir -p /var/lib/infractl
    [ -x "$BEFORE" ] && "$BEFORE"
    mkdir -p /etc/service "$LOG" /run/runit/supervise
    for n in $(names); do ln -sfn "$SV/$n" "/etc/service/$n"; done
    # runsvdir waits a second before reading a directory changed within the
    # same second: date it in the past so it is read at once.
    touch -d '2000-01-01 00:00:00' /etc/service
    if ! pgrep -x runsvdir >/dev/null; then
        setsid runsvdir -P /etc/service 'log: ..........................................................................................' </dev/null >/dev/null 2>&1 &
        echo $! > "$STATE/runsvdir.pid"
    fi
    ;;
"systemd enable")
    write_units "$2" && replace "$2" && systemctl enable --now --quiet "$(unit "$2")" ;;
"runit enable")
    # runsvdir reads its directory again when the directory's time
    # changes, and only a second later when that time is now: a second
    # past whatever it was keeps it in the past (read at once) and always
    # new to runsvdir, even if the node booted with that time (the init
    # sets the year 2000) and no service.
    ln -sfn "$SV/$2" "/etc/service/$2" &&
        touch -d "@$(($(stat -c %Y /etc/service/) + 1))" /etc/service/ ;;
"systemd disable")
    systemctl disable --now --quiet "$(unit "$2")" 2>/dev/null
    rm -f "$UNITS/$(unit "$2")"
    systemctl daemon-reload
    # shellcheck disable=SC2046
    restore $(cat "$SV/$2/replaces" 2>/dev/null)
    rm -rf "${SV:?}/$2" ;;
"runit disable")
    sv force-stop "/etc/service/$2" >/dev/null 2>&1
    rm -f "/etc/service/$2"
    rm -rf "${SV:?}/$2" ;;
"systemd stop") systemctl stop "$(unit "$2")" ;;
"runit stop") sv -w 10 down "/etc/service/$2" ;;
"systemd start") systemctl start "$(unit "$2")" ;;
"runit start") sv -w 10 up "/etc/service/$2" ;;
"systemd restart") systemctl restart "$(unit "$2")" ;;
"runit restart") sv restart "/etc/service/$2" ;;
"systemd signal") systemctl kill --kill-who=main --signal="$3" "$(unit "$2")" ;;
"runit signal") signal_runit "$2" "$3" ;;
"systemd status")
    # shellcheck disable=SC2046
    set -- $(names)
    [ $# = 0 ] && exit 0
    # shellcheck disable=SC2046
    systemctl is-active $(units) | while read -r s; do
        case $s in active | reloading) s=run ;; failed) s=fail ;; *) s=down ;; esac
        echo "$s $1"
        shift
    done ;;
"runit status")
    sv status /etc/service/* 2>/dev/null | sed -n 's|^\([a-z]*\): /etc/service/\([^:]*\):.*|\1 \2|p' ;;
"systemd running")
    # shellcheck disable=SC2046
    systemctl is-active --quiet infractl-before-start.service $(units) ;;
"runit running") pgrep -x runsvdir >/dev/null ;;
"systemd kill")
    # shellcheck disable=SC2046
    systemctl kill --signal=KILL $(units) 2>/dev/null
    # shellcheck disable=SC2046
    systemctl stop infractl-before-start.service $(units) 2>/dev/null
    true ;;
"runit kill")
    pids=$(cat /etc/service/*/supervise/pid 2>/dev/null)
    pkill -9 -x runsvdir
    pkill -9 -x runsv
    # shellcheck disable=SC2086 # process ids, a word each
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null
    true ;;
"systemd down")
    u=$(units)
    # shellcheck disable=SC2086 # unit names, a word each
    systemctl disable --now --quiet infractl-before-start.service $u 2>/dev/null
    for f in infractl-before-start.service $u; do rm -f "$UNITS/$f"; done
    systemctl daemon-reload
    true ;;
"runit down")
    ns=$(names)
    # All at once: sv waits for them together.
    # shellcheck disable=SC2046
    [ -z "$ns" ] || sv -w 10 force-stop $(for n in $ns; do echo "/etc/service/$n"; done) >/dev/null 2>&1
    for n in $ns; do rm -f "/etc/service/$n"; done
    # The supervisors must be gone before the service directories are, or
    # a new `up` within the second would find them, stale.
    if [ -f "$STATE/runsvdir.pid" ] && kill -HUP "$(cat "$STATE/runsvdir.pid")" 2>/dev/null; then
        rm -f "$STATE/runsvdir.pid" # ours: on HUP it stops every runsv and exits
    fi
    i=0
    while [ $i -lt 50 ]; do
        busy=0
        for n in $ns; do pgrep -xf "runsv $n" >/dev/null && busy=1; done
        [ $busy = 0 ] && break
        sleep 0.1
        i=$((i + 1))
    done
    true ;;
"systemd restore" | "runit restore") shift; restore "$@" ;;
*)
    echo "usage: svc up|enable|disable|stop|start|restart|signal|status|running|kill|down|restore" >&2
    exit 2 ;;
esac
