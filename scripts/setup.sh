#!/usr/bin/env bash
# Installs what infractl needs on a fresh Debian machine beside Rust and a
# running Docker engine: debootstrap, which builds the node image from
# Debian's packages, OpenSSL's headers for the SSH driver, Chromium with
# the DejaVu fonts, in which the tests lay out the diagrams (and
# scripts/diagram-png.sh renders them), and shellcheck, which CI's lint
# runs on every script. Safe to run again.
set -euo pipefail

need=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v tar >/dev/null 2>&1 || need+=(tar)
# The SSH driver's libssh2 builds against OpenSSL.
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The diagram test measures the SVGs in headless Chromium, in DejaVu Sans.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
# The published-lab test opens the site in Chromium trusting the lab's
# site key (its SPKI hash, computed with openssl), and fetches it with curl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
# CI's lint checks the scripts (scripts/, src/shell/, .ci/run).
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# Engines named ssh://user@host are reached through this machine's ssh
# (a forwarded socket), as the docker CLI reaches them.
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "setup: error: the Docker engine is not reachable (start it, or set DOCKER_HOST)" >&2
    exit 1
fi
echo "setup: ready (debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo present), Docker engine reachable)" >&2
