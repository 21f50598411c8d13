# Whether this host finds each address given ($@: its networks' gateways,
# the engine's host) refusing it as isolate.sh's rules do, "No route to
# host" (admin-prohibited), not as a closed port does. Port 9 (discard):
# any port would do, the rules refuse them all.
for a in "$@"; do
    nc -zv -w1 "$a" 9 2>&1 | grep -q 'No route to host' || exit 1
done
