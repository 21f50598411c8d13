# Runs the parts of a batch in turn, each in a subshell, and stops at the
# first that fails, saying which on stderr (`infractl-failed-part:INDEX`,
# from 0). Only a part that reads the archive on stdin gets it: nothing
# else (apt) may eat it. A part's status is taken after it ran, not
# tested in place (`( part ) || ...`): the shell ignores `set -e` in a
# command whose status is tested, so a part that fails halfway would go on.
# Arguments: for each part, `stdin` (it reads the archive) or `-`, then
# its script.
i=0
while [ $# -ge 2 ]; do
    if [ "$1" = stdin ]; then
        (eval "$2")
        rc=$?
    else
        (eval "$2") </dev/null
        rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        echo "infractl-failed-part:$i" >&2
        exit 1
    fi
    i=$((i + 1))
    shift 2
done
