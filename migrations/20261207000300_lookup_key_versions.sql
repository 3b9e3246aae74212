-- Lookup hashes carry the id of the lookup key that made them, so the lookup key can rotate like
-- the sealing keys: lookups try every configured lookup key, and `recete keys rotate` re-hashes
-- each row whose key is not the active one from its sealed plaintext. NULL marks hashes made
-- before lookup keys had ids (with the single `crypto.lookup_key`); rotation re-hashes them too.

ALTER TABLE customers ADD COLUMN lookup_key_id text;
ALTER TABLE import_errors ADD COLUMN lookup_key_id text;

-- Rotation finds the rows still hashed with another key without reading every row.
CREATE INDEX customers_lookup_key_id_idx ON customers (lookup_key_id);
CREATE INDEX import_errors_lookup_key_id_idx ON import_errors (lookup_key_id);
