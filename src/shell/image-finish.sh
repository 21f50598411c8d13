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
# gunicorn as it starts: Debian's `gunicorn` command finds its entry point
# through the installed packages' metadata, and gunicorn 20.1 imports
# pkg_resources, only to load worker classes named by package entry point
# ("egg:..."), which no lab uses. Both scan every installed package: more
# than half of an application server's start, and, for its user (not
# root), ≈ 1,000 permission checks through a container's overlay daemon
# under fuse-overlayfs, which is asked for the root directory's ACL at
# each. The command as pip writes it, a direct import; pkg_resources
# imported when used, as gunicorn 21 does.
if [ -f /usr/bin/gunicorn ]; then
    cat > /usr/bin/gunicorn <<'EOF'
#!/usr/bin/python3
import re
import sys
from gunicorn.app.wsgiapp import run
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(run())
EOF
fi
util=/usr/lib/python3/dist-packages/gunicorn/util.py
if [ -f $util ]; then
    python3 - $util <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
if "\nimport pkg_resources\n" in text:
    assert text.count("pkg_resources.load_entry_point(") == 2, "gunicorn's util.py changed"
    text = text.replace("\nimport pkg_resources\n", "\n", 1).replace(
        "pkg_resources.load_entry_point(", '__import__("pkg_resources").load_entry_point(')
    open(path, "w").write(text)
EOF
    python3 -m compileall -q $util
    python3 -c 'import sys, gunicorn.app.wsgiapp, gunicorn.workers.gthread; assert "pkg_resources" not in sys.modules, "gunicorn still imports pkg_resources"'
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
