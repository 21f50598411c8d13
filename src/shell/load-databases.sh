# Loads the dump FILE (see dump-databases.sh) into this server's MariaDB,
# then removes it. On a primary the rows reach its replicas, on a Galera
# node the cluster, as any write does. Arguments: FILE.
set -e
trap 'rm -f "$1"' EXIT
mariadb < "$1"
