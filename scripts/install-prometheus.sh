#!/usr/bin/env bash
# Prometheus and promtool for the monitoring tests (deploy/prometheus, deploy/grafana) and the
# metrics lint: Debian's `prometheus` package gives /usr/bin/prometheus and /usr/bin/promtool.
# Tests start their own Prometheus on a free port, so the package's service must not run: a
# policy-rc.d keeps the package scripts from starting it, and one found running is stopped.
# Idempotent: a second run only checks what is installed.
set -Eeuo pipefail

PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
POLICY=/usr/sbin/policy-rc.d

versions() {
    echo "prometheus: $("$PROMETHEUS" --version 2>&1 | head -n 1)"
    echo "prometheus: $("$PROMTOOL" --version 2>&1 | head -n 1)"
}

# The service started by the package (or by an earlier install) listens on :9090 as the
# `prometheus` user; our own test servers run as the invoking user with a temporary storage path.
stop_packaged_service() {
    if [[ -x /etc/init.d/prometheus ]]; then
        /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    fi
    local pids
    pids=$(pgrep -u prometheus -x prometheus || true)
    if [[ -n "$pids" ]]; then
        echo "prometheus: stopping the packaged service (pid $pids)"
        # shellcheck disable=SC2086 # one pid per word
        kill $pids
    fi
}

if [[ -x "$PROMETHEUS" && -x "$PROMTOOL" ]]; then
    versions
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "prometheus: ERROR: $PROMETHEUS or $PROMTOOL is missing; install Debian's prometheus package as root" >&2
    exit 1
fi

echo "prometheus: installing Debian's prometheus package"
export DEBIAN_FRONTEND=noninteractive
placed_policy=false
if [[ ! -e "$POLICY" ]]; then
    # 101 = "action forbidden": package scripts do not start services while this file exists.
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    placed_policy=true
fi
remove_policy() { if [[ "$placed_policy" == true ]]; then rm -f "$POLICY"; fi; }
trap remove_policy EXIT

apt-get update -qq
# Without recommends: they would bring node-exporter, another service on another port.
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
stop_packaged_service

[[ -x "$PROMETHEUS" && -x "$PROMTOOL" ]] ||
    { echo "prometheus: ERROR: the package did not install $PROMETHEUS and $PROMTOOL" >&2; exit 1; }
versions
