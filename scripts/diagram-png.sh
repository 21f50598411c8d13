#!/usr/bin/env bash
# Renders stacks' SVG diagrams to PNG in headless Chromium, to look at them
# as a reader would (the drawing has A4's proportions; --scale 2 for a
# sharper picture).
#
#   scripts/diagram-png.sh [--scale N] STACK... [-o DIR]    default DIR: .
#
# INFRACTL=path/to/infractl uses that binary instead of a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=1 out=. stacks=()
while [ $# -gt 0 ]; do
    case $1 in
        --scale) scale=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        *) stacks+=("$1"); shift ;;
    esac
done
[ ${#stacks[@]} -gt 0 ] || { echo "usage: scripts/diagram-png.sh [--scale N] STACK... [-o DIR]" >&2; exit 2; }
command -v chromium >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
}
bin=${INFRACTL:-}
if [ -z "$bin" ]; then
    cargo build -q --release
    bin=./target/release/infractl
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
for stack in "${stacks[@]}"; do
    svg=$tmp/$(basename "$stack" .yaml).svg
    png=$(realpath -m "$out/$(basename "$stack" .yaml).png")
    "$bin" diagram "$stack" -o "$svg" >/dev/null
    w=$(grep -o 'width="[0-9]*"' "$svg" | head -1 | tr -dc 0-9)
    h=$(grep -o 'height="[0-9]*"' "$svg" | head -1 | tr -dc 0-9)
    chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$tmp/profile" --force-device-scale-factor="$scale" \
        --window-size="$w,$h" --screenshot="$png" "file://$svg" >/dev/null 2>&1
    echo "$png (${w}x${h} at scale $scale)"
done
