#!/usr/bin/env bash
# Runs once when the PostgreSQL container initialises its data directory: the owner and
# application roles and their database, exactly as deploy/postgres/roles.sql makes them anywhere.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner=recete_owner -v owner_password="${RECETE_OWNER_PASSWORD:?}" \
    -v app=recete -v app_password="${RECETE_APP_PASSWORD:?}" -v db=recete \
    -f /recete/roles.sql
