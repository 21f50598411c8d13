set -- no 10.104.1.41 10.104.1.42
# A Galera node's start, run by its supervisor as the service: found a new
# cluster or join the one its peers form, then become mariadbd.
# Arguments: FIRST (yes: the node that founds the cluster) PEER... (the
# other nodes' addresses).
first=$1
shift
data=/var/lib/mysql
install -d -o mysql -g mysql /run/mysqld
# A peer in a working cluster takes SQL connections; one still waiting
# to join does not. (Each node's firewall lets its peers ask.) The data
# directory is a volume of the lab, kept when the node is made again: a
# node made again finds its grastate.dat and joins, as one restarted does.
in_cluster() {
    for p in "$@"; do
        python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], 3306), 1)' "$p" 2>/dev/null && return 0
    done
    return 1
}
# Whether the peers form a cluster within SECONDS.
cluster_within() {
    seconds=$1
    shift
    i=0
    until in_cluster "$@"; do
        i=$((i + 1))
        [ "$i" -lt "$seconds" ] || return 1
        sleep 1
    done
}
new=
if [ ! -f "$data/grastate.dat" ]; then
    # Never part of a cluster: the first node founds it, unless its peers
    # already form one (then it joins, as the others do).
    if [ "$first" = yes ] && ! in_cluster "$@"; then
        new=--wsrep-new-cluster
    fi
elif [ ! -f "$data/gvwstate.dat" ] && [ "$first" = yes ] && ! cluster_within 10 "$@"; then
    # The whole cluster was stopped (a crash leaves gvwstate.dat, by which
    # the nodes find each other again by themselves): the first node
    # founds it again, whichever node left last. In a lab they hold the
    # same writes; Galera would otherwise wait for someone to choose.
    sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' "$data/grastate.dat"
    new=--wsrep-new-cluster
fi
# shellcheck disable=SC2086 # $new is one option or none
exec mariadbd --user=mysql $new
