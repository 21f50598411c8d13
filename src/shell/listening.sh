# Waits until something on this host listens on TCP port PORT (any IPv4
# address); fails when nothing does within SECONDS.
# Arguments: SECONDS PORT. Needs poll.sh.
hex=$(printf '%04X' "$2")
listens() {
    grep -q "^ *[0-9]*: 00000000:$hex 00000000:0000 0A " /proc/net/tcp
}
poll "$1" listens
