set -e
rm -f /etc/service/* /etc/runit/runsvdir/default/*
rm -f /etc/ssh/ssh_host_*
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/*.log
install -d /etc/sv /etc/infractl
printf 'infractl\n' > /etc/hostname
# Libraries by their /usr path, the dynamic loader by a relative link:
# /lib is a symlink, which a container's overlay filesystem (a FUSE daemon
# under fuse-overlayfs) is asked to read again on every library load.
printf '/usr/local/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' > /etc/ld.so.conf.d/x86_64-linux-gnu.conf
ldconfig
if [ -L /usr/lib64/ld-linux-x86-64.so.2 ]; then
    ln -sfn ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /usr/lib64/ld-linux-x86-64.so.2
fi
# MariaDB's redo log at the lab's size (4 MB, innodb-log-file-size in
# server.cnf) rather than Debian's 96 MB: each database server's first
# start would read the whole log through the overlay to resize it.
if command -v mariadbd >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld
    sock=/run/mysqld/resize.sock
    mariadbd --user=mysql --innodb-log-file-size=4M --skip-networking --socket=$sock --pid-file=/run/mysqld/resize.pid >/dev/null 2>&1 &
    i=0
    until mariadb-admin --socket=$sock ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 300 ] || { echo 'MariaDB did not start to resize its redo log' >&2; exit 1; }
        sleep 0.1
    done
    mariadb-admin --socket=$sock shutdown
    wait
    rm -rf /run/mysqld
    test "$(stat -c %s /var/lib/mysql/ib_logfile0)" -eq 4194304
fi
