# Places the files of the tar archive on stdin. Each lands in a staging
# directory, then is renamed into place: readers see the old file or the
# new one, never half. A file that was there before infractl is kept
# first, for `down` to put back; every path placed is recorded. One `mv`
# per directory, so that placing thirty files costs a handful of processes
# rather than a few per file.
#
# Arguments: `-o OWNER PATH` for each file to be given an owner, then the
# paths of all the files, grouped by directory.
set -e; umask 022
STATE=/var/lib/infractl
st=$(mktemp -d /var/tmp/infractl.XXXXXX)
tar -x -C "$st" -f -
# The staged files get their owners before they are moved into place, so
# that none is ever in place with the wrong one.
while [ "${1-}" = -o ]; do
    chown "$2" "$st$3"
    shift 3
done

# The two functions below go through their arguments, the paths, group by
# group (a directory's paths are together), gathering each group in the
# positional parameters: `for` goes over the list as it was when the loop
# began, so `set --` may remake it meanwhile.

# mkdir_all PATH...: makes infractl's directory and the paths' directories,
# with one mkdir.
mkdir_all() {
    last=
    for p; do
        d=${p%/*}
        d=${d:-/}
        [ "$d" != "$last" ] || continue
        [ -n "$last" ] || set --
        set -- "$@" "$d"
        last=$d
    done
    mkdir -p "$STATE" "$@"
}

# move_all PATH...: moves the staged files into place, one mv per directory.
move_all() {
    last=
    for p; do
        d=${p%/*}
        d=${d:-/}
        if [ "$d" != "$last" ]; then
            [ -z "$last" ] || mv -f -t "$last" "$@"
            set --
            last=$d
        fi
        set -- "$@" "$st$p"
    done
    [ -z "$last" ] || mv -f -t "$last" "$@"
}

mkdir_all "$@"
touch "$STATE/placed"
placed=" $(tr '\n' ' ' < "$STATE/placed") "
for d; do
    case "$placed" in *" $d "*) continue ;; esac
    if [ -e "$d" ] && [ ! -e "$STATE/orig$d" ]; then mkdir -p "$STATE/orig${d%/*}"; cp -p "$d" "$STATE/orig$d"; fi
done
move_all "$@"
printf '%s\n' "$@" >> "$STATE/placed"
sort -u -o "$STATE/placed" "$STATE/placed"
rm -rf "$st"
