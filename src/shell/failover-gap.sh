# How long, in milliseconds, until the site answers again, then the
# X-Load-Balancer header of the answer (who answered); `never` (and a
# failure) when it does not answer within SECONDS.
# Arguments: SECONDS, then curl's arguments that reach the health page.
# Needs poll.sh.
seconds=$1
shift
s=$(date +%s%N)
poll -e 0.02 "$seconds" curl -sf -o /dev/null -m 0.3 "$@" || { echo never; exit 1; }
e=$(date +%s%N)
echo $(((e - s) / 1000000))
curl -s -o /dev/null -D - "$@" | grep -i x-load-balancer
