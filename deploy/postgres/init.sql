-- Runs once when the PostgreSQL container initialises its data directory: the application role
-- (no superuser, no BYPASSRLS, so row-level security applies to it), its database and pgvector.
CREATE ROLE recete LOGIN PASSWORD 'recete' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE recete OWNER recete;
\connect recete
CREATE EXTENSION IF NOT EXISTS vector;
