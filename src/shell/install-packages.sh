# Installs the packages named as arguments that are missing; nothing when
# all are present. What the install added (dependencies included) is
# recorded, for `down --purge-packages`.
set -e
STATE=/var/lib/infractl
# One query for all (a `dpkg -s` each costs a process and a read of the database).
have=" $(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' "$@" 2>/dev/null | sed 's/ii /ok:/g') "
missing=""
for p; do case "$have" in *" ok:$p "*) ;; *) missing="$missing $p" ;; esac; done
if [ -n "$missing" ]; then
    mkdir -p "$STATE"
    dpkg-query -W -f='${Package}\n' | sort > "$STATE/packages.before"
    # Packages must not start their services on their own: infractl runs them.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086 # package names, a word each
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    rm -f /usr/sbin/policy-rc.d
    dpkg-query -W -f='${Package}\n' | sort | comm -13 "$STATE/packages.before" - >> "$STATE/installed"
    rm -f "$STATE/packages.before"
    echo "installed:$missing"
fi
