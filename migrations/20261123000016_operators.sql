-- The people who run the fleet and sign in to the queue board. Fleet-wide rows with no merchant:
-- no row-level security. Only hashes of tokens and session ids are stored, so a copy of these
-- tables signs nobody in.

CREATE TABLE operators (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CONSTRAINT operators_name_key UNIQUE
                        CONSTRAINT operators_name_check CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    -- read_only sees everything but unredacted payloads; operator also changes jobs and queues;
    -- admin also reveals payloads and manages operators.
    role            text NOT NULL CONSTRAINT operators_role_check CHECK (role IN ('admin', 'operator', 'read_only')),
    -- SHA-256 of the sign-in token, which is shown once when the operator is added.
    token_hash      bytea NOT NULL CONSTRAINT operators_token_hash_key UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- A disabled operator cannot sign in and loses every session at once.
    disabled_at     timestamptz
);

CREATE TABLE operator_sessions (
    -- SHA-256 of the session cookie's value.
    id_hash         bytea PRIMARY KEY,
    operator_id     uuid NOT NULL CONSTRAINT operator_sessions_operator_id_fkey
                        REFERENCES operators (id) ON DELETE CASCADE,
    -- Every form and script POST of this session carries it; compared in constant time.
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    -- Moved forward on use; an idle session passes it and is gone.
    expires_at      timestamptz NOT NULL
);
CREATE INDEX operator_sessions_operator_id_idx ON operator_sessions (operator_id);
CREATE INDEX operator_sessions_expires_at_idx ON operator_sessions (expires_at);
