# Starts the services (and the supervisor, if it does not run); records the
# address infractl connects from, for the firewall's SSH rule.
set -e
STATE=/var/lib/infractl
mkdir -p "$STATE"
if [ -n "$INFRACTL_CONTROLLER" ]; then echo "$INFRACTL_CONTROLLER" > "$STATE/controller"; fi
/etc/infractl/svc up
