# Removes what infractl placed on this host and puts back what was there
# before; with the argument `purge`, purges the packages it installed too.
STATE=/var/lib/infractl
# The helper is one of the files placed: keep it for the end.
svc=$STATE/svc.keep
if [ -x /etc/infractl/svc ]; then cp /etc/infractl/svc "$svc"; "$svc" down; fi
[ -f "$STATE/placed" ] && xargs -r rm -f < "$STATE/placed"
# Files that were there before infractl come back as they were.
if [ -d "$STATE/orig" ]; then (cd "$STATE/orig" && find . -type f | while read -r f; do cp -p "$f" "/${f#./}"; done); fi
# The firewall as it was: its rules are back, so is whether it was on.
if [ -f "$STATE/ufw.was" ] && command -v ufw >/dev/null; then
    if [ "$(cat "$STATE/ufw.was")" = yes ]; then
        /lib/ufw/ufw-init force-reload >/dev/null 2>&1
    else
        ufw --force disable >/dev/null 2>&1
        # ufw leaves its empty chains behind until a reboot: remove them.
        for t in iptables ip6tables; do
            "$t-save" -t filter 2>/dev/null | grep -v -e '^:ufw' -e '-j ufw' -e '^-A ufw' | "$t-restore" 2>/dev/null
        done
    fi
fi
if [ "${1-}" = purge ] && [ -s "$STATE/installed" ]; then
    # shellcheck disable=SC2046 # package names, a word each
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $(cat "$STATE/installed") >/dev/null 2>&1 || echo "infractl: purging packages failed" >&2
fi
# The distribution's own units, as they were.
[ -x "$svc" ] && "$svc" restore
rm -rf /etc/infractl /var/log/infractl "$STATE"
true
