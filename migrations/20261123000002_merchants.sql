-- Merchants and how they reach us: store integrations and API keys.

CREATE TABLE merchants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CONSTRAINT merchants_name_check CHECK (length(name) BETWEEN 1 AND 200),
    timezone    text NOT NULL DEFAULT 'UTC',
    -- Follow-up plan, quiet hours, frequency cap and similar knobs; validated by the application.
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE integrations (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT integrations_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    kind                text NOT NULL CONSTRAINT integrations_kind_check
                            CHECK (kind IN ('shopify', 'woocommerce', 'generic', 'whatsapp')),
    status              text NOT NULL DEFAULT 'active' CONSTRAINT integrations_status_check
                            CHECK (status IN ('active', 'disabled')),
    -- The signing secret (store secret or Meta app secret) must be recoverable to verify HMACs,
    -- so it is sealed with AES-256-GCM rather than hashed.
    secret_key_id       text NOT NULL,
    secret_sealed       bytea NOT NULL,
    -- WhatsApp only: Meta routes by phone number id and verifies the endpoint with a token.
    phone_number_id     text,
    verify_token_hash   bytea,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT integrations_whatsapp_fields_check CHECK (
        kind <> 'whatsapp' OR (phone_number_id IS NOT NULL AND verify_token_hash IS NOT NULL)
    )
);
CREATE UNIQUE INDEX integrations_phone_number_id_key ON integrations (phone_number_id)
    WHERE phone_number_id IS NOT NULL;
CREATE UNIQUE INDEX integrations_verify_token_hash_key ON integrations (verify_token_hash)
    WHERE verify_token_hash IS NOT NULL;
CREATE INDEX integrations_merchant_id_idx ON integrations (merchant_id);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    merchant_id   uuid NOT NULL CONSTRAINT api_keys_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    name          text NOT NULL DEFAULT 'default',
    -- The first characters of the key, so a merchant can tell keys apart without the secret.
    display_prefix text NOT NULL,
    key_hash      bytea NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_merchant_id_idx ON api_keys (merchant_id);
