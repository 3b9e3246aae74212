-- Foundations every later migration relies on: extensions, the tenant visibility rule and the
-- updated_at trigger.
--
-- Naming: constraints are <table>_<columns>_<kind> (pkey, key, fkey, check), indexes
-- <table>_<columns>_idx, policies <table>_tenant_isolation, so errors can be mapped to client
-- messages by name.

-- pgvector is created by the superuser in `make services`; this is a no-op there and makes a
-- fresh superuser-owned database work too.
CREATE EXTENSION IF NOT EXISTS vector;

-- Row-level security: every tenant table is visible only to the merchant named by the
-- transaction-local setting `recete.merchant_id`, or to code that explicitly opened a system-scope
-- transaction (`recete.scope = 'system'`: workers and webhook routing, which act across
-- merchants). A transaction that sets neither sees nothing.
CREATE FUNCTION recete_row_visible(row_merchant_id uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('recete.scope', true), '') = 'system'
        OR row_merchant_id = nullif(current_setting('recete.merchant_id', true), '')::uuid
$$;

CREATE FUNCTION recete_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
