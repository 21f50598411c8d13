#!/bin/sh
# PID 1 of an infractl node: run the before-start steps, then supervise the
# services in /etc/infractl/sv like systemd would; stop them cleanly on TERM.
mkdir -p /run/runit/supervise /etc/service /var/log/infractl
if [ -x /etc/infractl/before-start.sh ]; then
    /etc/infractl/before-start.sh
fi
for d in /etc/infractl/sv/*; do
    [ -d "$d" ] && ln -sfn "$d" "/etc/service/${d##*/}"
done
# runsvdir waits a second before reading a directory changed this very
# second; an old mtime lets it start the services at once.
touch -d '2000-01-01 00:00:00' /etc/service
runsvdir -P /etc/service 'log: ..........................................................................................' &
pid=$!
stop() {
    sv -w 20 force-stop /etc/service/* >/dev/null 2>&1
    kill -HUP "$pid" 2>/dev/null
    wait "$pid"
    exit 0
}
trap stop TERM INT
wait "$pid"
