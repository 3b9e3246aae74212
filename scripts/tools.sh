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

webhooks_installed() { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('standardwebhooks') != '$STANDARDWEBHOOKS_VERSION')" 2>/dev/null; }

if webhooks_installed; then
    echo "tools: standardwebhooks $STANDARDWEBHOOKS_VERSION present"
else
    mkdir -p target/tools
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
    webhooks_installed || { echo "tools: ERROR: standardwebhooks $STANDARDWEBHOOKS_VERSION did not install" >&2; exit 1; }
    echo "tools: standardwebhooks $STANDARDWEBHOOKS_VERSION installed in $VENV"
fi

validator_installed() { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; }

if validator_installed; then
    echo "tools: kubernetes-validate $KUBERNETES_VALIDATE_VERSION present"
else
    mkdir -p target/tools
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    validator_installed || { echo "tools: ERROR: kubernetes-validate $KUBERNETES_VALIDATE_VERSION did not install" >&2; exit 1; }
    echo "tools: kubernetes-validate $KUBERNETES_VALIDATE_VERSION installed in $VENV"
fi

bash scripts/install-prometheus.sh
bash scripts/install-browser.sh
