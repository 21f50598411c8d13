set -e
rm -f /etc/service/* /etc/runit/runsvdir/default/*
rm -f /etc/ssh/ssh_host_*
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/*.log
install -d /etc/sv /etc/infractl
printf 'infractl\n' > /etc/hostname
