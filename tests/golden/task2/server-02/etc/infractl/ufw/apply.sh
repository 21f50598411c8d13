#!/bin/sh
# Applies this server's firewall: deny incoming by default, then allow
# exactly the flows listed in /etc/infractl/ufw/rules (derived from the topology).
# Rendered by infractl; safe to run again (it starts from a clean slate).
set -e
ufw --force reset >/dev/null
ufw default deny incoming >/dev/null
ufw default allow outgoing >/dev/null
grep -v '^#' /etc/infractl/ufw/rules | while IFS= read -r rule; do
    [ -n "$rule" ] || continue
    eval "ufw $rule" >/dev/null
done
ufw --force enable >/dev/null
