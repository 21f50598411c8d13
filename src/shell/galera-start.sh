# A Galera node's start, run by its supervisor as the service: found a new
# cluster or join the one its peers form, then become mariadbd.
# Arguments: FIRST (yes: the node that founds the cluster) PEER... (the
# other nodes' addresses).
first=$1
shift
state=/var/lib/mysql/grastate.dat
install -d -o mysql -g mysql /run/mysqld
# A peer in a working cluster takes SQL connections; one still waiting
# to join does not.
in_cluster() {
    for p in "$@"; do
        python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], 3306), 1)' "$p" 2>/dev/null && return 0
    done
    return 1
}
new=
if [ ! -f "$state" ]; then
    # Never part of a cluster: the first node founds it, unless its peers
    # already form one (then it joins, as the others do).
    if [ "$first" = yes ] && ! in_cluster "$@"; then
        new=--wsrep-new-cluster
    fi
elif grep -q '^safe_to_bootstrap: *1' "$state" && ! in_cluster "$@"; then
    # The last node to leave a cluster stopped cleanly founds it again
    # when nobody else runs it: a lab brought back after a stop. (After
    # a crash of every node they find each other again by themselves.)
    new=--wsrep-new-cluster
fi
exec mariadbd --user=mysql $new
