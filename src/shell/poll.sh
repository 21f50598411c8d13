# poll [-e INTERVAL] SECONDS COMMAND [ARG]...: runs COMMAND until it
# succeeds or SECONDS (whole seconds) have passed, every 0.2 s, or every
# INTERVAL seconds for a measurement finer than that; fails when COMMAND
# never succeeded. COMMAND runs in this shell: a function may set variables.
poll() {
    poll_every=0.2
    if [ "$1" = -e ]; then
        poll_every=$2
        shift 2
    fi
    poll_clock
    poll_end=$((poll_now + $1 * 100))
    shift
    until "$@"; do
        poll_clock
        [ "$poll_now" -lt "$poll_end" ] || return 1
        sleep "$poll_every"
    done
}
# poll_clock: sets poll_now to the time since boot in hundredths of a
# second, from /proc/uptime ("12345.67 ..."), without starting a process:
# a readiness wait polls every 0.2 s on every new server.
poll_clock() {
    read -r poll_now _ < /proc/uptime
    poll_now=$((${poll_now%.*} * 100 + 1${poll_now#*.} - 100))
}
