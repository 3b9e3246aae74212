#!/usr/bin/env bash
# PgBouncer for the tests that run the fleet behind a transaction pooler (called by `make tools`).
#
# Transaction pooling hands one server connection to many clients, so the protocol-level prepared
# statements the PostgreSQL driver uses only work with PgBouncer 1.21 or newer
# (`max_prepared_statements`). Debian 12 ships 1.18, so, like pgvector in services.sh, PgBouncer
# is built from the source package of the next Debian release (the deb-src entry services.sh
# keeps) into PREFIX. A PgBouncer 1.21+ already on PATH is used as it is.
#
#   RECETE_PGBOUNCER_PREFIX  install prefix (default /usr/local/lib/recete-pgbouncer)
set -Eeuo pipefail

PREFIX="${RECETE_PGBOUNCER_PREFIX:-/usr/local/lib/recete-pgbouncer}"
SRC_SUITE="${RECETE_PGBOUNCER_SRC_SUITE:-trixie}"
APT_SRC_FILE=/etc/apt/sources.list.d/recete-pgvector-src.list
export DEBIAN_FRONTEND=noninteractive

log() { echo "pgbouncer: $*"; }
die() { echo "pgbouncer: ERROR: $*" >&2; exit 1; }

# new_enough BINARY: true when BINARY is PgBouncer 1.21 or newer.
new_enough() {
    local version
    version="$("$1" --version 2>/dev/null | awk '/PgBouncer/ { print $2; exit }')" || return 1
    [[ -n "$version" ]] || return 1
    local major minor
    IFS=. read -r major minor _ <<<"$version"
    (( major > 1 || (major == 1 && minor >= 21) ))
}

if command -v pgbouncer >/dev/null 2>&1 && new_enough "$(command -v pgbouncer)"; then
    log "$(pgbouncer --version | head -1) on PATH"
    exit 0
fi
if [[ -x "$PREFIX/bin/pgbouncer" ]] && new_enough "$PREFIX/bin/pgbouncer"; then
    log "$("$PREFIX/bin/pgbouncer" --version | head -1) in $PREFIX"
    exit 0
fi

[[ "$(id -u)" -eq 0 ]] || die "must run as root to install build dependencies"
[[ -f "$APT_SRC_FILE" ]] || die "no deb-src entry in $APT_SRC_FILE; run 'make services' first"

WORKDIR="$(mktemp -d /tmp/recete-pgbouncer.XXXXXX)"
trap 'rm -rf -- "$WORKDIR"' EXIT
chmod 0755 "$WORKDIR"
if id _apt >/dev/null 2>&1; then chown _apt "$WORKDIR"; fi

run_logged() { # run_logged NAME CMD...: output captured, its tail shown on failure
    local name="$1"; shift
    if ! "$@" >"$WORKDIR/$name.log" 2>&1; then
        tail -n 40 "$WORKDIR/$name.log" >&2
        die "'$name' failed (command: $*)"
    fi
}

log "installing build dependencies (libevent-dev, libssl-dev, pkg-config, build-essential)"
BUILD_DEPS=(libevent-dev libssl-dev pkg-config build-essential)
if ! apt-get install -y -q -o DPkg::Lock::Timeout=300 "${BUILD_DEPS[@]}" >"$WORKDIR/apt-install.log" 2>&1; then
    log "package lists are stale; apt-get update"
    run_logged apt-update-all apt-get -q update
    run_logged apt-install apt-get install -y -q -o DPkg::Lock::Timeout=300 "${BUILD_DEPS[@]}"
fi
if [[ -z "$(apt-cache showsrc "pgbouncer" 2>/dev/null | grep '^Version: 1\.\(2[1-9]\|[3-9][0-9]\)')" ]]; then
    run_logged apt-update apt-get -q update -o Dir::Etc::sourcelist="$APT_SRC_FILE" \
        -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
fi
log "building PgBouncer from Debian $SRC_SUITE source"
(cd "$WORKDIR" && run_logged apt-source apt-get -q source --download-only "pgbouncer/$SRC_SUITE")
orig="$(find "$WORKDIR" -maxdepth 1 -name 'pgbouncer_*.orig.tar.gz' | head -1)"
[[ -n "$orig" ]] || die "apt-get source did not download a pgbouncer .orig.tar.gz"
mkdir -p "$WORKDIR/src"
tar -xzf "$orig" -C "$WORKDIR/src" --strip-components=1
(
    cd "$WORKDIR/src"
    run_logged configure ./configure --prefix="$PREFIX" --without-cares --without-pam --without-systemd --without-ldap
    run_logged make make -j"$(nproc)"
    run_logged make-install make install
)
new_enough "$PREFIX/bin/pgbouncer" || die "the build did not produce PgBouncer 1.21 or newer in $PREFIX"
log "$("$PREFIX/bin/pgbouncer" --version | head -1) installed in $PREFIX"
