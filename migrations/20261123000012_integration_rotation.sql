-- Rotating an integration's signing secret without losing deliveries: the previous secret stays
-- (sealed, like the current one) and keeps verifying signatures until its expiry, so a store can
-- switch to the new secret at its own pace. Only one previous secret is kept.

ALTER TABLE integrations
    ADD COLUMN previous_secret_key_id       text,
    ADD COLUMN previous_secret_sealed       bytea,
    ADD COLUMN previous_secret_expires_at   timestamptz,
    ADD COLUMN secret_rotated_at            timestamptz,
    ADD COLUMN disabled_at                  timestamptz,
    ADD CONSTRAINT integrations_previous_secret_check CHECK (
        (previous_secret_key_id IS NULL) = (previous_secret_sealed IS NULL)
        AND (previous_secret_key_id IS NULL) = (previous_secret_expires_at IS NULL)
    );

-- The merchant API lists products newest first, one page at a time.
CREATE INDEX products_merchant_id_created_at_idx ON products (merchant_id, created_at DESC, id DESC);
