-- What an API key may do, and which key made it.
--
-- scopes: `read` (GET), `write` (everything else on the merchant's data), `admin` (API keys and
-- integration secrets). Keys that exist already could do everything, so they keep every scope;
-- new rows must say theirs.
-- created_by_key_id: the key that created this one through the API (none for keys made by an
-- operator); revoking a key revokes every key it made, and theirs.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT ARRAY['read', 'write', 'admin'],
    ADD COLUMN created_by_key_id uuid
        CONSTRAINT api_keys_created_by_key_id_fkey REFERENCES api_keys (id) ON DELETE SET NULL,
    ADD CONSTRAINT api_keys_scopes_check
        CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']::text[]);
ALTER TABLE api_keys ALTER COLUMN scopes DROP DEFAULT;
CREATE INDEX api_keys_created_by_key_id_idx ON api_keys (created_by_key_id) WHERE created_by_key_id IS NOT NULL;
