#!/bin/sh
# PID 1 of an infractl node: run the before-start steps, then supervise the
# services in /etc/infractl/sv like systemd would; stop them cleanly on TERM.
# A new container's files come on this input, as a tar archive, when it
# is created to take them so (INFRACTL_FILES=stdin). They are unpacked
# aside and put in place only whole: an input cut short (infractl stopped
# as it sent them) places nothing, and the node boots bare, running, for
# the next `infractl up` to put them as on any running host; so does one
# that never comes (infractl stopped as the engine started the node: its
# input stays open, unwritten), after 20 seconds. Once a
# server's files are here (its helper, svc, is one), the input is not read
# again: a restart boots from what is in place.
if [ "$INFRACTL_FILES" = stdin ] && [ ! -e /etc/infractl/svc ]; then
    # Unpacked aside in /run, a tmpfs in each container infractl makes:
    # every file written to the container's own layer is a round trip to
    # its overlay daemon (fuse-overlayfs), and this copy is only passing.
    stage=/run/infractl-files
    [ ! -e "$stage" ] || rm -rf "$stage"
    mkdir -p "$stage"
    # Owners come by name (root:bind), given the ids this node's own
    # /etc/passwd and /etc/group have for them.
    if timeout 20 tar -x -C "$stage" && [ -e "$stage/etc/infractl/svc" ]; then
        # Directories already here keep their owners and modes.
        tar -C "$stage" -c . | tar -x --numeric-owner --no-overwrite-dir -C /
    else
        echo 'infractl: not ready: no files (their archive was cut short); the next infractl up puts them'
    fi
    rm -rf "$stage"
fi
# Each service's directory and log directory, in one process each: a
# process costs a new node a millisecond or more, and this runs on every
# server of every lab.
services=
logs=
for d in /etc/infractl/sv/*; do
    [ -d "$d" ] || continue
    services="$services $d"
    logs="$logs /var/log/infractl/${d##*/}"
done
# shellcheck disable=SC2086 # paths without spaces, a word each
mkdir -p /run/runit/supervise /etc/service /var/log/infractl $logs
if [ -x /etc/infractl/before-start.sh ]; then
    /etc/infractl/before-start.sh
fi
# Not `ln -n`: /etc/service is Debian's link to runit's directory, which
# -n would take for a file.
# shellcheck disable=SC2086
[ -z "$services" ] || ln -sf -t /etc/service $services
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
