# Waits until every readiness probe passes, each for up to SECONDS; prints
# the service of the first that never passed, and fails.
# Arguments: SECONDS, then SERVICE PROBE for each probe (PROBE is shell).
# Needs poll.sh.
seconds=$1
shift
# shellcheck disable=SC2317 # run by poll
passes() { (eval "$1") >/dev/null 2>&1; }
while [ $# -ge 2 ]; do
    poll "$seconds" passes "$2" || { echo "$1"; exit 1; }
    shift 2
done
exit 0
