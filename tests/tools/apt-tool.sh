#!/usr/bin/env bash
# Installs a Debian package the tests drive, when its command is missing:
#   tests/tools/apt-tool.sh chromium chromium    # COMMAND PACKAGE
# Idempotent: does nothing when COMMAND is on PATH. Needs root (or sudo without a
# password) and the Debian archive. Prints the command's path.
set -euo pipefail
command_name="$1" package="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v "$command_name" >/dev/null; then
    lock="${CARGO_TARGET_DIR:-$root/target}/tools/apt-$package.lock"
    mkdir -p "$(dirname "$lock")"
    # Several tests may start at once: one installs, the others wait for it.
    exec 9>"$lock"
    flock 9
    if ! command -v "$command_name" >/dev/null; then
        sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo -n"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >&2 ||
            { $sudo apt-get update >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >&2; }
    fi
fi
command -v "$command_name"
