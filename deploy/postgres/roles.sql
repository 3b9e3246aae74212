-- The two roles and the database of a deployment, run once by an administrator (a superuser, or
-- the managed service's admin user) with psql:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 \
--        -v owner=recete_owner -v owner_password="$OWNER_PASSWORD" \
--        -v app=recete -v app_password="$APP_PASSWORD" -v db=recete \
--        -f deploy/postgres/roles.sql
--
-- owner: owns the database and every table; `recete migrate` connects as it
--        (database.migration_url / DATABASE_MIGRATION_URL).
-- app:   serves traffic (database.url / DATABASE_URL); owns nothing, no BYPASSRLS, so row-level
--        security holds for it; `recete migrate` grants it row access after each migration.
-- Safe to run again: existing roles get their attributes and passwords set again.

SELECT format('CREATE ROLE %I', :'owner') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'app') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD %L', :'owner', :'owner_password') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD %L', :'app', :'app_password') \gexec
-- Server-side limits for the serving role, whatever pooler sits in between: no statement runs
-- for ever and no transaction idles while holding locks and a connection.
SELECT format('ALTER ROLE %I SET statement_timeout = %L', :'app', '5s') \gexec
SELECT format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', :'app', '120s') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'app') \gexec

\connect :db
-- pgvector needs an administrator to create it; the migrations only use it.
CREATE EXTENSION IF NOT EXISTS vector;
-- Only the owner creates objects in the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
