# Runs the parts of a batch in turn, each in a subshell, and stops at the
# first that fails, saying which on stderr (`infractl-failed-part:INDEX`,
# from 0). Only a part that reads the archive on stdin gets it: nothing
# else (apt) may eat it.
# Arguments: for each part, `stdin` (it reads the archive) or `-`, then
# its script.
i=0
while [ $# -ge 2 ]; do
    if [ "$1" = stdin ]; then
        (eval "$2")
    else
        (eval "$2") </dev/null
    fi || { echo "infractl-failed-part:$i" >&2; exit 1; }
    i=$((i + 1))
    shift 2
done
