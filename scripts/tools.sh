#!/usr/bin/env bash
# Test tools that do not come from crates.io, pinned and installed once into target/tools:
#   - schemathesis, which fuzzes the merchant API against its own OpenAPI document.
# Idempotent: a second run only checks the installed version.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
VENV=target/tools/venv

installed() { [[ -x "$VENV/bin/st" ]] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$SCHEMATHESIS_VERSION')"; }

if installed; then
    echo "tools: schemathesis $SCHEMATHESIS_VERSION present"
    exit 0
fi
mkdir -p target/tools
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
installed || { echo "tools: ERROR: schemathesis $SCHEMATHESIS_VERSION did not install" >&2; exit 1; }
echo "tools: schemathesis $SCHEMATHESIS_VERSION installed in $VENV"
