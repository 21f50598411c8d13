# The databases learners wrote on this server (every one but MariaDB's
# own), as SQL on stdout: what a stage that moves the database loads into
# the server it moves to. Waits up to SECONDS for MariaDB to answer (a
# server just started to be dumped). Arguments: SECONDS. Needs poll.sh.
answers() {
    mariadb -e 'SELECT 1' >/dev/null 2>&1
}
poll "$1" answers || { echo "MariaDB does not answer" >&2; exit 1; }
databases=$(mariadb -N -e "SELECT schema_name FROM information_schema.schemata
    WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
[ -n "$databases" ] || exit 0
# One word a database: their names are plain (learners' and the site's).
# shellcheck disable=SC2086
exec mariadb-dump --single-transaction --routines --events --triggers \
    --hex-blob --databases $databases
