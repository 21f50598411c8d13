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
    poll_end=$(($(date +%s%N) + $1 * 1000000000))
    shift
    until "$@"; do
        [ "$(date +%s%N)" -lt "$poll_end" ] || return 1
        sleep "$poll_every"
    done
}
