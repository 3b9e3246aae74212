#!/usr/bin/env bash
# Bring up the local backing services used by the project (called by `make services`):
#   - PostgreSQL (cluster "main", 127.0.0.1:5432) with the pgvector extension
#   - Redis (127.0.0.1:6379)
# and create the application role/database.
#
# Idempotent: a second run only performs checks. Intended for Debian (bookworm)
# machines, running as root. Debian bookworm has no pgvector binary package, so
# pgvector is built from the Debian source package of the next release (deb-src
# only, the mirror is taken from this machine's own apt sources).
#
# Environment overrides:
#   RECETE_DB_ROLE             application role            (default: recete)
#   RECETE_DB_OWNER_ROLE       schema owner, for migrations (default: recete_owner)
#   RECETE_DB_NAME             application database        (default: recete)
#   SERVICES_TIMEOUT           seconds to wait per service (default: 60)
#   RECETE_PGVECTOR_SRC_SUITE  Debian suite to fetch the pgvector source from
#                              (default: release after the running one)
#   RECETE_PGVECTOR_SRC_URI    Debian mirror URI to use for that deb-src entry
#                              (default: read from /etc/apt/sources*)
set -Eeuo pipefail

ROLE="${RECETE_DB_ROLE:-recete}"
OWNER="${RECETE_DB_OWNER_ROLE:-recete_owner}"
DB="${RECETE_DB_NAME:-recete}"
TIMEOUT="${SERVICES_TIMEOUT:-60}"
PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
APT_SRC_FILE=/etc/apt/sources.list.d/recete-pgvector-src.list

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

log() { echo "services: $*"; }
die() { echo "services: ERROR: $*" >&2; exit 1; }
trap 'echo "services: ERROR: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

WORKDIR=""
cleanup() { if [[ -n "$WORKDIR" && -d "$WORKDIR" ]]; then rm -rf -- "$WORKDIR"; fi; }
trap cleanup EXIT
workdir() {
    if [[ -z "$WORKDIR" ]]; then
        WORKDIR="$(mktemp -d /tmp/recete-services.XXXXXX)"
        # world-readable so apt's sandbox user (_apt) can write downloads into it
        chmod 0755 "$WORKDIR"
    fi
}

# run_logged NAME CMD...: run CMD with output captured; show the tail on failure.
run_logged() {
    local name="$1"; shift
    workdir
    local logf="$WORKDIR/$name.log"
    if ! "$@" >"$logf" 2>&1; then
        echo "services: ---- last lines of output of: $* ----" >&2
        tail -n 40 "$logf" >&2 || true
        die "'$name' step failed (command: $*)"
    fi
}

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages and starts services)"

is_installed() { # is_installed PKG: true if the dpkg package is installed
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

APT_UPDATED=0
apt_update() {
    log "apt-get update"
    run_logged apt-update apt-get "${APT_OPTS[@]}" update
    APT_UPDATED=1
}

# apt_install PKG...: install the packages that are not installed yet.
apt_install() {
    local missing=() p
    for p in "$@"; do is_installed "$p" || missing+=("$p"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]} (apt-get)"
    workdir
    if ! apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}" >"$WORKDIR/apt-install.log" 2>&1; then
        # package lists may be missing/stale on a fresh machine: refresh once, retry
        [[ $APT_UPDATED -eq 1 ]] && { tail -n 40 "$WORKDIR/apt-install.log" >&2; die "apt-get install ${missing[*]} failed"; }
        apt_update
        run_logged apt-install apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}"
    fi
}

# wait_for DESCRIPTION CMD...: poll CMD once a second until it succeeds or TIMEOUT expires.
wait_for() {
    local what="$1"; shift
    local i
    for ((i = 0; i < TIMEOUT; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "$what did not become ready within ${TIMEOUT}s (check: $*)"
}

# ---------------------------------------------------------------- PostgreSQL
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }

pg_cluster_version() { # first cluster version under /etc/postgresql (empty if none)
    { ls /etc/postgresql 2>/dev/null || true; } | head -1
}

start_postgres() {
    local installed_now=0 ver
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(pg_cluster_version)" ]]; then
        apt_install postgresql postgresql-contrib
        installed_now=1
    fi
    ver="$(pg_cluster_version)"
    if [[ -z "$ver" ]]; then
        # server installed but no cluster at all: create the default one
        ver="$({ ls /usr/lib/postgresql 2>/dev/null || true; } | sort -V | tail -1)"
        [[ -n "$ver" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
        log "creating PostgreSQL cluster $ver/main"
        run_logged pg-createcluster pg_createcluster "$ver" main --port "$PG_PORT"
        installed_now=1
    fi
    [[ -d "/etc/postgresql/$ver/main" ]] || die "PostgreSQL cluster $ver/main not found (/etc/postgresql/$ver/main)"
    if [[ $installed_now -eq 1 ]]; then
        # Match the machines this is designed for: trust auth on loopback/socket.
        local hba="/etc/postgresql/$ver/main/pg_hba.conf"
        if ! grep -qE '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
            log "configuring trust auth for local connections in $hba"
            cp -a "$hba" "$hba.recete-orig"
            {
                echo "local all all trust"
                echo "host all all 127.0.0.1/32 trust"
                echo "host all all ::1/128 trust"
            } >"$hba"
            pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >/dev/null 2>&1 || true
        fi
    fi
    if pg_ready; then return 0; fi
    log "starting PostgreSQL $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start \
        || pg_ready || die "could not start PostgreSQL cluster $ver/main (see /var/log/postgresql/postgresql-$ver-main.log)"
}

if ! command -v pg_isready >/dev/null 2>&1 || ! pg_ready; then
    start_postgres
    wait_for "PostgreSQL on $PG_HOST:$PG_PORT" pg_ready
fi

# Superuser access: TCP as postgres (trust), else peer auth over the local socket.
if psql -X -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    su_psql() { psql -X -w -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres "$@"; }
elif (cd / && runuser -u postgres -- psql -X -w -p "$PG_PORT" -d postgres -Atqc 'select 1') >/dev/null 2>&1; then
    su_psql() { (cd / && runuser -u postgres -- psql -X -w -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"); }
else
    die "cannot connect to PostgreSQL as superuser 'postgres' (neither via $PG_HOST:$PG_PORT nor via the local socket)"
fi

PG_NUM="$(su_psql -d postgres -Atc 'show server_version_num')"
PG_MAJOR=$((PG_NUM / 10000))
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
[[ -x "$PG_CONFIG" ]] || die "pg_config for the running PostgreSQL $PG_MAJOR not found at $PG_CONFIG"
log "postgres ready (PostgreSQL $PG_MAJOR on $PG_HOST:$PG_PORT)"

# --------------------------------------------------------------------- Redis
redis_ready() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]; }

if ! command -v redis-cli >/dev/null 2>&1 || ! redis_ready; then
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        apt_install redis-server redis-tools
    fi
    if ! redis_ready; then
        log "starting Redis"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null \
            || die "redis-server failed to start (see /var/log/redis/ci.log)"
    fi
    wait_for "Redis on $REDIS_HOST:$REDIS_PORT" redis_ready
fi
log "redis ready ($REDIS_HOST:$REDIS_PORT)"

# ------------------------------------------------------------------ pgvector
PG_SHAREDIR="$("$PG_CONFIG" --sharedir)"
VECTOR_CONTROL="$PG_SHAREDIR/extension/vector.control"

control_version() { sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$VECTOR_CONTROL"; }

# find_mirror CODENAME: print "URI<TAB>SIGNED-BY" of the first enabled binary
# ("deb") source whose suite is exactly CODENAME, from this machine's apt sources.
find_mirror() {
    local cn="$1" f
    local files=()
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" && "$f" != "$APT_SRC_FILE" ]] && files+=("$f")
    done
    for f in "${files[@]}"; do
        case "$f" in
        *.sources)
            awk -v cn="$cn" '
                function flush() {
                    if (!found && uris != "" && enabled != "no" &&
                        index(" " types " ", " deb ") && index(" " suites " ", " " cn " ")) {
                        split(uris, u, /[ \t]+/)
                        print u[1] "\t" signed
                        found = 1
                    }
                    types = uris = suites = signed = enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/   { next }   # continuation line (e.g. inline key block)
                {
                    p = index($0, ":"); if (!p) next
                    k = tolower(substr($0, 1, p - 1)); v = substr($0, p + 1)
                    gsub(/^[ \t]+|[ \t]+$/, "", v); gsub(/[ \t]+/, " ", v)
                    if (k == "types") types = v
                    else if (k == "uris") uris = v
                    else if (k == "suites") suites = v
                    else if (k == "enabled") enabled = tolower(v)
                    else if (k == "signed-by" && substr(v, 1, 1) == "/") signed = v
                }
                END { flush() }
            ' "$f"
            ;;
        *)
            awk -v cn="$cn" '
                /^[ \t]*#/ { next }
                {
                    line = $0; sb = ""
                    if (match(line, /\[[^]]*\]/)) {
                        opts = substr(line, RSTART + 1, RLENGTH - 2)
                        line = substr(line, 1, RSTART - 1) " " substr(line, RSTART + RLENGTH)
                        n = split(opts, o, /[ \t]+/)
                        for (i = 1; i <= n; i++)
                            if (tolower(substr(o[i], 1, 10)) == "signed-by=") sb = substr(o[i], 11)
                    }
                    n = split(line, fld, /[ \t]+/); j = 0
                    for (i = 1; i <= n; i++) if (fld[i] != "") w[++j] = fld[i]
                    if (j >= 3 && w[1] == "deb" && w[3] == cn) { print w[2] "\t" sb; exit }
                }
            ' "$f"
            ;;
        esac
    done | head -1
}

install_pgvector() {
    local codename suite uri signed mirror entry
    # shellcheck disable=SC1091
    codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
    suite="${RECETE_PGVECTOR_SRC_SUITE:-}"
    if [[ -z "$suite" ]]; then
        case "$codename" in
        bullseye) suite=bookworm ;;
        bookworm) suite=trixie ;;
        trixie) suite=forky ;;
        *) die "don't know the Debian release after '${codename:-unknown}'; set RECETE_PGVECTOR_SRC_SUITE" ;;
        esac
    fi

    uri="${RECETE_PGVECTOR_SRC_URI:-}"
    signed=""
    if [[ -z "$uri" ]]; then
        mirror="$(find_mirror "$codename")"
        [[ -n "$mirror" ]] || die "no enabled 'deb ... $codename' entry found in /etc/apt/sources.list{,.d/*.list,.d/*.sources}; set RECETE_PGVECTOR_SRC_URI"
        uri="${mirror%%$'\t'*}"
        signed="${mirror#*$'\t'}"
    fi
    uri="${uri%/}"
    if [[ -z "$signed" && -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
        signed=/usr/share/keyrings/debian-archive-keyring.gpg
    fi
    if [[ -n "$signed" ]]; then
        entry="deb-src [signed-by=$signed] $uri $suite main"
    else
        entry="deb-src $uri $suite main"
    fi

    log "building pgvector for PostgreSQL $PG_MAJOR from Debian $suite source ($uri)"
    apt_install "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev

    # Source-only entry for the next release (no binary "deb" line: nothing gets
    # installed from it). Kept in its own file so re-runs don't duplicate it.
    workdir
    local changed=0
    if [[ ! -f "$APT_SRC_FILE" ]] || [[ "$(cat "$APT_SRC_FILE")" != "$entry" ]]; then
        printf '%s\n' "$entry" >"$APT_SRC_FILE"
        changed=1
    fi
    if [[ $changed -eq 1 ]] || [[ -z "$(apt-cache showsrc pgvector 2>/dev/null)" ]]; then
        log "apt-get update ($APT_SRC_FILE only)"
        if ! apt-get "${APT_OPTS[@]}" update -o Dir::Etc::sourcelist="$APT_SRC_FILE" \
            -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >"$WORKDIR/apt-update-src.log" 2>&1; then
            # don't leave a broken entry behind: it would make every later `apt-get update` fail
            rm -f "$APT_SRC_FILE"
            tail -n 20 "$WORKDIR/apt-update-src.log" >&2
            die "apt-get update for '$entry' failed (entry removed again)"
        fi
    fi

    workdir
    mkdir -p "$WORKDIR/src"
    # let apt's download sandbox user write there (avoids the "unsandboxed" warning)
    if id _apt >/dev/null 2>&1; then chown _apt "$WORKDIR/src"; fi
    (cd "$WORKDIR/src" && run_logged apt-source apt-get -q source --download-only "pgvector/$suite")
    local dsc
    dsc="$(find "$WORKDIR/src" -maxdepth 1 -name 'pgvector_*.dsc' | head -1)"
    [[ -n "$dsc" ]] || die "apt-get source did not download a pgvector .dsc"
    run_logged dpkg-source dpkg-source -x "$dsc" "$WORKDIR/src/pgvector"

    # with_llvm=no: skip JIT bitcode (needs a matching clang); OPTFLAGS="": no
    # -march=native, so the build is portable (same as the Debian package).
    local mk=(PG_CONFIG="$PG_CONFIG" with_llvm=no OPTFLAGS=)
    run_logged make make -C "$WORKDIR/src/pgvector" -j"$(nproc)" "${mk[@]}"
    run_logged make-install make -C "$WORKDIR/src/pgvector" "${mk[@]}" install

    [[ -f "$VECTOR_CONTROL" ]] || die "pgvector build finished but $VECTOR_CONTROL is missing"
    log "pgvector $(control_version) installed"
}

if [[ -f "$VECTOR_CONTROL" ]]; then
    log "pgvector $(control_version) already installed"
else
    install_pgvector
fi

# ------------------------------------------------------ roles / db
# Two roles, as in production: OWNER owns the database and its schema and runs `recete migrate`;
# ROLE serves traffic, owns nothing and gets only the grants `recete migrate` gives it.
ensure_role() { # ensure_role NAME
    local name="$1" state
    state="$(su_psql -d postgres -At -v role="$name" <<'SQL'
SELECT CASE WHEN rolcanlogin AND NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole AND NOT rolbypassrls
            THEN 'ok' ELSE 'alter' END
  FROM pg_roles WHERE rolname = :'role';
SQL
)"
    case "$state" in
    ok) log "role $name exists" ;;
    alter)
        su_psql -d postgres -v role="$name" <<'SQL'
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', :'role') \gexec
SQL
        log "role $name attributes fixed (LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS)"
        ;;
    *)
        su_psql -d postgres -v role="$name" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SQL
        log "role $name created"
        ;;
    esac
}
ensure_role "$OWNER"
ensure_role "$ROLE"
db_owner="$(su_psql -d postgres -At -v db="$DB" <<'SQL'
SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db';
SQL
)"
if [[ -z "$db_owner" ]]; then
    su_psql -d postgres -v db="$DB" -v role="$OWNER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    log "database $DB created (owner $OWNER)"
elif [[ "$db_owner" != "$OWNER" ]]; then
    su_psql -d postgres -v db="$DB" -v role="$OWNER" <<'SQL'
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
SQL
    log "database $DB owner changed from $db_owner to $OWNER"
else
    log "database $DB exists (owner $OWNER)"
fi
# A database migrated before the roles were split: its tables move to the owner, and the next
# `recete migrate` grants the application role again.
app_owned="$(su_psql -d "$DB" -At -v role="$ROLE" <<'SQL'
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :'role';
SQL
)"
if [[ "$app_owned" != "0" ]]; then
    su_psql -d "$DB" -v role="$ROLE" -v owner="$OWNER" <<'SQL'
SELECT format('REASSIGN OWNED BY %I TO %I', :'role', :'owner') \gexec
SQL
    log "objects of $ROLE in $DB now belong to $OWNER"
fi

ext_state="$(su_psql -d "$DB" -At <<'SQL'
SELECT CASE WHEN e.extversion = a.default_version THEN 'ok' ELSE 'update' END
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
 WHERE e.extname = 'vector';
SQL
)"
case "$ext_state" in
ok) ;;
update)
    su_psql -d "$DB" -c 'ALTER EXTENSION vector UPDATE'
    ;;
*)
    su_psql -d "$DB" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS vector'
    ;;
esac
ext_version="$(su_psql -d "$DB" -At -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
[[ -n "$ext_version" ]] || die "extension vector is not present in database $DB"
case "$ext_state" in
ok) log "extension vector $ext_version present in database $DB" ;;
update) log "extension vector updated to $ext_version in database $DB" ;;
*) log "extension vector $ext_version created in database $DB" ;;
esac

log "all services ready (postgres://$ROLE@$PG_HOST:$PG_PORT/$DB, redis://$REDIS_HOST:$REDIS_PORT)"
