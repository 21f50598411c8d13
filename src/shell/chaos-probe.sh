# From the user's computer: does the site answer, do reading and writing
# notes through the application work? Polls until all three do or SECONDS
# pass; prints `SITE READS WRITES`, each yes or no. Each request may take
# 8 s: with the first DNS server gone, the name resolves through the next
# after the engine's resolver gives up on the first (4 s), as a user's
# would after its own timeout.
# Arguments: SECONDS BASE (the site's URL). Needs poll.sh.
base=$2
site=no; reads=no; writes=no
all_work() {
    [ $site = yes ] || { curl -sf -m 8 -o /dev/null "$base/" && site=yes; }
    [ $reads = yes ] || { curl -sf -m 8 -o /dev/null "$base/api/notes" && reads=yes; }
    [ $writes = yes ] || { curl -sf -m 8 -o /dev/null -H 'Content-Type: application/json' -d '{"text": "chaos"}' "$base/api/notes" && writes=yes; }
    [ $site$reads$writes = yesyesyes ]
}
poll "$1" all_work
echo $site $reads $writes
