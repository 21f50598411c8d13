# A lab reaches only itself. Run in the engine's host's network namespace
# (a throwaway container with NET_ADMIN, see driver::docker::isolate):
#
#   isolate.sh add LAB BRIDGE...   each of the lab's bridges refused the host
#                                  and every address beyond the bridge
#   isolate.sh remove LAB          every rule of the lab gone, and the
#                                  chains with the last lab's
#
# A connection a lab container opens to the host (any of its addresses,
# any port) arrives on the bridge and goes to INPUT; one to anywhere else
# is routed on, through FORWARD. Both are refused at once, as a firewall
# refuses (admin-prohibited), in chains of infractl's own jumped to first;
# what answers a connection made from outside (the published site) passes.
# Traffic between the bridge's own containers never reaches these chains.
# The rules go to the backend (nft or legacy) the engine's own rules are
# in, for IPv4 and IPv6 alike; each carries the lab's name as a comment,
# which is how `remove` finds them.
set -eu
action=$1
tag="infractl-lab=$2"
shift 2
# Bridge names (br-<id>, or a name the network was given) have no spaces.
bridges=$*

backend=nft
for b in nft legacy; do
    if "iptables-$b" -w -n -L DOCKER >/dev/null 2>&1; then
        backend=$b
        break
    fi
done

for family in iptables ip6tables; do
    ipt="$family-$backend"
    # A host without IPv6 has no IPv6 tables: nothing to refuse there.
    if ! "$ipt" -w -n -L INPUT >/dev/null 2>&1; then
        [ "$family" = ip6tables ] && continue
        echo "cannot read the host's $family rules ($backend)" >&2
        exit 1
    fi
    if [ "$family" = iptables ]; then
        refuse="REJECT --reject-with icmp-admin-prohibited"
    else
        refuse="REJECT --reject-with icmp6-adm-prohibited"
    fi
    # Forwarded traffic: Docker's DOCKER-USER, which it keeps first, when
    # the engine manages this family's rules; FORWARD itself otherwise.
    forward=FORWARD
    "$ipt" -w -n -L DOCKER-USER >/dev/null 2>&1 && forward=DOCKER-USER
    case $action in
    add)
        for chain in INFRACTL-IN INFRACTL-FWD; do
            "$ipt" -w -n -L "$chain" >/dev/null 2>&1 || "$ipt" -w -N "$chain"
        done
        "$ipt" -w -C INPUT -j INFRACTL-IN 2>/dev/null ||
            "$ipt" -w -I INPUT -j INFRACTL-IN
        "$ipt" -w -C "$forward" -j INFRACTL-FWD 2>/dev/null ||
            "$ipt" -w -I "$forward" -j INFRACTL-FWD
        for br in $bridges; do
            # shellcheck disable=SC2086 # $refuse is the target and its option
            set -- -i "$br" -m conntrack ! --ctstate ESTABLISHED,RELATED \
                -m comment --comment "$tag" -j $refuse
            "$ipt" -w -C INFRACTL-IN "$@" 2>/dev/null ||
                "$ipt" -w -A INFRACTL-IN "$@"
            # shellcheck disable=SC2086
            set -- -i "$br" ! -o "$br" -m conntrack ! --ctstate ESTABLISHED,RELATED \
                -m comment --comment "$tag" -j $refuse
            "$ipt" -w -C INFRACTL-FWD "$@" 2>/dev/null ||
                "$ipt" -w -A INFRACTL-FWD "$@"
        done
        ;;
    remove)
        for chain in INFRACTL-IN INFRACTL-FWD; do
            "$ipt" -w -n -L "$chain" >/dev/null 2>&1 || continue
            # The lab's rules, as -S prints them (the comment quoted),
            # deleted by their own text.
            "$ipt" -w -S "$chain" | grep -F -- "--comment \"$tag\" " |
                sed 's/^-A /-D /' | while IFS= read -r rule; do
                    eval "\"\$ipt\" -w $rule"
                done
            # The last lab's gone: the chain and its jump too.
            if [ "$("$ipt" -w -S "$chain" | wc -l)" -le 1 ]; then
                from=INPUT
                [ "$chain" = INFRACTL-FWD ] && from=$forward
                while "$ipt" -w -D "$from" -j "$chain" 2>/dev/null; do :; done
                "$ipt" -w -X "$chain" 2>/dev/null || true
            fi
        done
        ;;
    *)
        echo "isolate.sh: unknown action $action" >&2
        exit 2
        ;;
    esac
done
