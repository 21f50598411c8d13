#!/usr/bin/env bash
# Installs what infractl needs on a fresh Debian machine beside Rust and a
# running Docker engine: debootstrap, which builds the node image from
# Debian's packages, and OpenSSL's headers for the SSH driver. With --dev
# (or in CI: CI set, as CI services do, or run from .ci/run), also what
# only the tests and the lint use: Chromium with the DejaVu fonts, in which
# the tests lay out the diagrams (and scripts/diagram-png.sh renders them),
# open the published site and drive the portal (through chromium-driver);
# the linter of every script that CI runs (shellcheck); and mdBook, which
# builds the book in docs/. Safe to run again.
#
#   scripts/setup.sh          to use infractl
#   scripts/setup.sh --dev    to work on it and run its tests
set -euo pipefail

dev=0
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        -h|--help)
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
            exit 0
            ;;
        *)
            echo "setup: error: unknown argument '$arg' (--dev installs the test tools too)" >&2
            exit 2
            ;;
    esac
done
# CI is set by CI services (GitHub, GitLab, ...) and by .ci/run.
if [ -n "${CI:-}" ] && [ "${CI}" != "0" ] && [ "${CI}" != "false" ]; then
    dev=1
fi

need=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v tar >/dev/null 2>&1 || need+=(tar)
# The SSH driver's libssh2 builds against OpenSSL.
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# A published lab's certificate authority is made with openssl; sites are
# fetched with curl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
# Engines named ssh://user@host are reached through this machine's ssh
# (a forwarded socket), as the docker CLI reaches them.
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
if [ "$dev" = 1 ]; then
    # The diagram test measures the SVGs in headless Chromium, in DejaVu
    # Sans; the published-lab test opens the site in Chromium trusting the
    # lab's site key.
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    # The portal's tests drive that Chromium over WebDriver (tests/browser.rs).
    command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
    dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
    # CI's lint checks the scripts (scripts/, src/shell/, .ci/run).
    command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
    # CI's lint lists the import cycles between files (scripts/cycles.py).
    command -v python3 >/dev/null 2>&1 || need+=(python3)
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The book (docs/) is built with mdBook. Debian has no package of it, and
# its releases are on GitHub: cargo builds it from crates.io (about 3
# minutes of CPU), with only the search of the HTML output.
if [ "$dev" = 1 ] && ! command -v mdbook >/dev/null 2>&1; then
    echo "setup: installing mdbook (cargo install)" >&2
    cargo install mdbook --locked --no-default-features --features search
fi

# The local engine, installed but not running (and no other one named):
# started, as root, the way the machine starts it (its settings in
# /etc/docker/daemon.json), and waited for.
if ! docker info >/dev/null 2>&1 && [ -z "${DOCKER_HOST:-}" ] \
    && [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
    echo "setup: starting the Docker engine (dockerd)" >&2
    setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
if ! docker info >/dev/null 2>&1; then
    echo "setup: error: the Docker engine is not reachable (start it, or set DOCKER_HOST)" >&2
    exit 1
fi
echo "setup: ready (debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo present), Docker engine reachable$([ "$dev" = 1 ] && echo ', test tools and mdbook installed'))" >&2
# What comes next (cargo run, cargo test) builds infractl first.
target="$(dirname "$0")/../target"
if [ ! -x "$target/release/infractl" ] && [ ! -x "$target/debug/infractl" ]; then
    echo "setup: the first build of infractl takes about 15 minutes on two cores (later ones, seconds)" >&2
fi
