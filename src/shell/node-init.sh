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
# Says on this output, the host's log, when every service is ready:
# whoever follows the log knows without asking the host.
if [ -x /etc/infractl/ready ]; then
    (if out=$(/etc/infractl/ready); then echo 'infractl: ready'; else echo "infractl: not ready: $out"; fi) &
fi
stop() {
    sv -w 20 force-stop /etc/service/* >/dev/null 2>&1
    kill -HUP "$pid" 2>/dev/null
    wait "$pid"
    exit 0
}
trap stop TERM INT
wait "$pid"
