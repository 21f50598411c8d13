#!/bin/sh
# Applies this server's firewall the way ufw does at boot: incoming denied
# by default (/etc/default/ufw), then exactly the flows in
# /etc/ufw/user.rules, derived from the topology (the same rules as `ufw`
# commands: /etc/infractl/ufw/rules). Rendered by infractl; safe to run again.
set -e
# Whether ufw was enabled before infractl, for `down` to put back.
mkdir -p /var/lib/infractl
[ -f /var/lib/infractl/ufw.was ] || sed -n 's/^ENABLED=//p' /etc/ufw/ufw.conf > /var/lib/infractl/ufw.was
sed -i 's/^ENABLED=.*/ENABLED=yes/' /etc/ufw/ufw.conf
# Applied over SSH: the machine applying the stack keeps its SSH access,
# with the rule that `ufw allow from <it> to any port 22 proto tcp` writes.
if [ -s /var/lib/infractl/controller ]; then
    c=$(cat /var/lib/infractl/controller)
    if ! grep -qxF -- "-A ufw-user-input -p tcp --dport 22 -s $c -j ACCEPT" /etc/ufw/user.rules; then
        awk -v c="$c" '/^### END RULES ###/ {
            print "### tuple ### allow tcp 22 0.0.0.0/0 any " c " in comment=696e66726163746c3a2074686520636f6e74726f6c6c6572206170706c79696e67207468697320737461636b"
            print "-A ufw-user-input -p tcp --dport 22 -s " c " -j ACCEPT"
            print ""
        } { print }' /etc/ufw/user.rules > /etc/ufw/user.rules.new
        chmod 640 /etc/ufw/user.rules.new
        mv -f /etc/ufw/user.rules.new /etc/ufw/user.rules
    fi
fi
if iptables -n -L ufw-user-input >/dev/null 2>&1; then
    action=force-reload
else
    action=start
fi
# Containers may not set kernel parameters; ufw's sysctl lines then fail, harmlessly.
if ! out=$(/lib/ufw/ufw-init "$action" 2>&1); then
    echo "$out" | grep -v '^sysctl: permission denied' >&2
    exit 1
fi
