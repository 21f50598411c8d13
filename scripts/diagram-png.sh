#!/usr/bin/env bash
# Renders a stack's SVG diagram to PNG in headless Chromium, to look at it.
#
#   scripts/diagram-png.sh STACK [OUT.png]      default OUT: STACK.png
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:?usage: scripts/diagram-png.sh STACK [OUT.png]}
png=${2:-$stack.png}
command -v chromium >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
}
svg=$(mktemp --suffix=.svg)
trap 'rm -f "$svg"' EXIT
cargo run -q --release -- diagram "$stack" -o "$svg" >/dev/null
w=$(grep -o 'width="[0-9]*"' "$svg" | head -1 | tr -dc 0-9)
h=$(grep -o 'height="[0-9]*"' "$svg" | head -1 | tr -dc 0-9)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$w,$h" --screenshot="$(realpath -m "$png")" "file://$svg" 2>/dev/null
echo "$png (${w}x${h})"
