# What this host was set up with, whether its services run, and each
# one's state: a line `structure HASH` (no hash when infractl did not set
# it up), `running` when they run, and `service STATE NAME` for each.
echo "structure $(cat /var/lib/infractl/structure 2>/dev/null)"
if [ -x /etc/infractl/svc ]; then
    /etc/infractl/svc running && echo running
    /etc/infractl/svc status | sed 's/^/service /'
fi
true
