#!/usr/bin/env bash
# Installs npm packages for the playwrightEngine trigger's tests:
#   tests/tools/npm-tool.sh playwright-1.65.1 playwright-core@1.65.1 @playwright/test@1.65.1
# into target/tools/NAME with npm (NAME/node_modules/...). Idempotent: does nothing when
# NAME is already installed. Install scripts are not run and no browser is downloaded:
# the trigger drives the system Chromium. Prints the directory (the value for
# TRACECHECK_PLAYWRIGHT_DIR).
set -euo pipefail
name="$1"
shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${CARGO_TARGET_DIR:-$root/target}/tools/$name"
if [ ! -f "$dir/.installed" ]; then
    mkdir -p "$(dirname "$dir")"
    # Several tests may start at once: one installs, the others wait for it.
    exec 9>"$dir.lock"
    flock 9
    if [ ! -f "$dir/.installed" ]; then
        rm -rf "$dir.partial"
        mkdir -p "$dir.partial"
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir.partial" --no-save --no-audit \
            --no-fund --ignore-scripts --loglevel=error "$@" >&2
        touch "$dir.partial/.installed"
        rm -rf "$dir"
        mv "$dir.partial" "$dir"
    fi
fi
echo "$dir"
