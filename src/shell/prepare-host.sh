# Records what the host is set up with, and on which interface keepalived
# puts the virtual IPs when the inventory says.
# Arguments: STRUCTURE (the hash of the server's structure), FILE (where
# the interface is recorded), and the INTERFACE when the inventory names
# one (FILE is removed when it does not).
set -e
STATE=/var/lib/infractl
mkdir -p "$STATE"
echo "$1" > "$STATE/structure"
if [ $# -ge 3 ]; then echo "$3" > "$2"; else rm -f "$2"; fi
