#!/usr/bin/env bash
# Test tools that do not come from crates.io, pinned and installed once:
#   - schemathesis (PyPI, into target/tools/venv), which fuzzes the merchant API against its own
#     OpenAPI document;
#   - standardwebhooks (PyPI, the same venv), the official Standard Webhooks library the webhook
#     tests' receiver verifies every delivery with;
#   - kubernetes-validate (PyPI, the same venv), which checks deploy/kubernetes/ offline against
#     the Kubernetes API schemas it bundles (and brings PyYAML, which the test reads them with);
#   - Prometheus and promtool (Debian), which lint /metrics and load the alert rules and dashboard;
#   - Chromium (Debian) and playwright-core (npm, into target/tools/browser) for the browser tests
#     of the queue board and the merchant console.
# Idempotent: a second run only checks what is installed.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
STANDARDWEBHOOKS_VERSION="1.1.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"
VENV=target/tools/venv

installed() { [[ -x "$VENV/bin/st" ]] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$SCHEMATHESIS_VERSION')"; }

if installed; then
    echo "tools: schemathesis $SCHEMATHESIS_VERSION present"
else
    mkdir -p target/tools
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    installed || { echo "tools: ERROR: schemathesis $SCHEMATHESIS_VERSION did not install" >&2; exit 1; }
    echo "tools: schemathesis $SCHEMATHESIS_VERSION installed in $VENV"
fi

# A PyPI package pinned in the venv: installed once, its version checked on every run.
pip_tool() {
    local package=$1 version=$2
    local check="import importlib.metadata as m, sys; sys.exit(m.version('$package') != '$version')"
    if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "$check" 2>/dev/null; then
        echo "tools: $package $version present"
        return
    fi
    mkdir -p target/tools
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$package==$version"
    "$VENV/bin/python" -c "$check" 2>/dev/null || { echo "tools: ERROR: $package $version did not install" >&2; exit 1; }
    echo "tools: $package $version installed in $VENV"
}

pip_tool standardwebhooks "$STANDARDWEBHOOKS_VERSION"
pip_tool kubernetes-validate "$KUBERNETES_VALIDATE_VERSION"

bash scripts/install-prometheus.sh
bash scripts/install-browser.sh
