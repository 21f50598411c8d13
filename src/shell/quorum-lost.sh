# On a Galera node: waits until it has seen its peers go and left the
# cluster's primary component (it notices a lost peer after a few
# seconds, and serves reads until then); fails after SECONDS.
# Arguments: SECONDS. Needs poll.sh.
outside() {
    [ "$(mariadb -N -e "SHOW STATUS LIKE 'wsrep_cluster_status'" | cut -f2)" != Primary ]
}
poll "$1" outside
