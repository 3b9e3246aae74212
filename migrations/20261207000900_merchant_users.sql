-- The people of a merchant who sign in to the web console (`/console`), their sessions, their
-- one-time sign-in links, and failed sign-in attempts for rate limiting. Only hashes of session
-- ids and link tokens are stored, so a copy of these tables signs nobody in; passwords are kept
-- as argon2id PHC strings.

CREATE TABLE merchant_users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    merchant_id     uuid NOT NULL CONSTRAINT merchant_users_merchant_id_fkey REFERENCES merchants (id),
    -- Stored lowercased and trimmed; unique across all merchants, so signing in needs only the
    -- email and the password, never a merchant's name or id.
    email           text NOT NULL CONSTRAINT merchant_users_email_check
                        CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254 AND position('@' in email) > 1),
    -- argon2id PHC string; NULL until the user sets a password through their sign-in link.
    password_hash   text,
    -- owner does everything; agent answers in the inbox and reads the rest; viewer only reads.
    role            text NOT NULL CONSTRAINT merchant_users_role_check CHECK (role IN ('owner', 'agent', 'viewer')),
    -- A disabled user cannot sign in and loses every session at once.
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX merchant_users_email_key ON merchant_users (email);
CREATE INDEX merchant_users_merchant_id_idx ON merchant_users (merchant_id, email);

CREATE TABLE merchant_user_sessions (
    -- SHA-256 of the session cookie's value.
    id_hash         bytea PRIMARY KEY,
    merchant_id     uuid NOT NULL CONSTRAINT merchant_user_sessions_merchant_id_fkey REFERENCES merchants (id),
    user_id         uuid NOT NULL CONSTRAINT merchant_user_sessions_user_id_fkey
                        REFERENCES merchant_users (id) ON DELETE CASCADE,
    -- Every form POST of this session carries it; compared in constant time.
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    -- Moved forward on use; an idle session passes it and is gone.
    expires_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merchant_user_sessions_user_id_idx ON merchant_user_sessions (user_id);
CREATE INDEX merchant_user_sessions_expires_at_idx ON merchant_user_sessions (expires_at);

-- A link that lets a user set their password and sign in, once, before it expires.
CREATE TABLE merchant_user_sign_in_links (
    -- SHA-256 of the token in the link.
    token_hash      bytea PRIMARY KEY,
    merchant_id     uuid NOT NULL CONSTRAINT merchant_user_sign_in_links_merchant_id_fkey REFERENCES merchants (id),
    user_id         uuid NOT NULL CONSTRAINT merchant_user_sign_in_links_user_id_fkey
                        REFERENCES merchant_users (id) ON DELETE CASCADE,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merchant_user_sign_in_links_user_id_idx ON merchant_user_sign_in_links (user_id);

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['merchant_users', 'merchant_user_sessions', 'merchant_user_sign_in_links'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (recete_row_visible(merchant_id)) WITH CHECK (recete_row_visible(merchant_id))',
            tenant_table || '_tenant_isolation', tenant_table
        );
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at()',
            tenant_table || '_touch_updated_at', tenant_table
        );
    END LOOP;
END
$$;

-- Failed sign-ins, counted per account and per client address before any password is checked.
-- They come before a merchant is known, so they belong to no tenant (no row-level security); the
-- subject is a SHA-256 of `account:<email>` or `address:<ip>`, never the email or address itself.
CREATE TABLE console_sign_in_failures (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_hash    bytea NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_sign_in_failures_subject_hash_failed_at_idx ON console_sign_in_failures (subject_hash, failed_at);
CREATE INDEX console_sign_in_failures_failed_at_idx ON console_sign_in_failures (failed_at);
