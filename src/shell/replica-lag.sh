# How long, in milliseconds, until the note MARKER is on this replica;
# `never` (and a failure) when it is not there within SECONDS.
# Arguments: SECONDS MARKER. Needs poll.sh.
marker=$2
has_note() {
    [ "$(mariadb -N -e "SELECT COUNT(*) FROM site.notes WHERE text='$marker'")" = 1 ]
}
s=$(date +%s%N)
poll -e 0.01 "$1" has_note || { echo never; exit 1; }
e=$(date +%s%N)
echo $(((e - s) / 1000000))
