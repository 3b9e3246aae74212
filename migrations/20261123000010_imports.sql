-- CSV imports of a merchant's orders and products: the upload, its progress and the rows that
-- could not be imported.
--
-- The uploaded file lives in `import_chunks` until the import ends, so any worker of the fleet
-- can read it back as a stream. The file holds personal data (phones, emails, names), so every
-- chunk is sealed like any other personal field; chunks are deleted once the import completes or
-- fails for good.

CREATE TABLE imports (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT imports_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    kind                text NOT NULL CONSTRAINT imports_kind_check CHECK (kind IN ('orders', 'products')),
    status              text NOT NULL DEFAULT 'queued' CONSTRAINT imports_status_check
                            CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    -- What the merchant asked for: plan_followups, default_country, date_order.
    options             jsonb NOT NULL DEFAULT '{}'::jsonb CONSTRAINT imports_options_check
                            CHECK (jsonb_typeof(options) = 'object'),
    file_name           text,
    byte_size           bigint NOT NULL CONSTRAINT imports_byte_size_check CHECK (byte_size >= 0),
    sha256              bytea NOT NULL,
    chunk_count         integer NOT NULL CONSTRAINT imports_chunk_count_check CHECK (chunk_count >= 0),
    -- Who uploaded: 'api-key:<id>' or 'cli'.
    created_by          text NOT NULL,
    -- The header line as the file wrote it, and the columns it has that we do not read.
    headers             text[],
    ignored_columns     text[] NOT NULL DEFAULT '{}',
    -- Known once the whole file has been read.
    total_rows          bigint,
    -- The checkpoint: records (good or bad, in file order) whose effect is committed. A resumed
    -- run skips this many records and goes on from there.
    records_done        bigint NOT NULL DEFAULT 0,
    -- Bytes of the file read by the time the checkpoint was taken, for progress.
    bytes_done          bigint NOT NULL DEFAULT 0,
    imported            bigint NOT NULL DEFAULT 0,
    skipped             bigint NOT NULL DEFAULT 0,
    failed              bigint NOT NULL DEFAULT 0,
    failure_reason      text,
    started_at          timestamptz,
    finished_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT imports_counters_check CHECK (
        imported >= 0 AND skipped >= 0 AND failed >= 0 AND imported + skipped + failed = records_done
    )
);
CREATE INDEX imports_merchant_id_created_at_idx ON imports (merchant_id, created_at DESC, id DESC);

CREATE TABLE import_chunks (
    -- Deferrable: an upload writes its pieces first and its import row last, in one transaction.
    import_id           uuid NOT NULL CONSTRAINT import_chunks_import_id_fkey REFERENCES imports (id) ON DELETE CASCADE
                            DEFERRABLE INITIALLY IMMEDIATE,
    merchant_id         uuid NOT NULL CONSTRAINT import_chunks_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    seq                 integer NOT NULL CONSTRAINT import_chunks_seq_check CHECK (seq >= 0),
    key_id              text NOT NULL,
    data_sealed         bytea NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT import_chunks_pkey PRIMARY KEY (import_id, seq)
);
-- Ciphertext does not compress: skip PostgreSQL's attempt.
ALTER TABLE import_chunks ALTER COLUMN data_sealed SET STORAGE EXTERNAL;

CREATE TABLE import_errors (
    import_id           uuid NOT NULL CONSTRAINT import_errors_import_id_fkey REFERENCES imports (id) ON DELETE CASCADE,
    merchant_id         uuid NOT NULL CONSTRAINT import_errors_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    -- The line the record starts on (the header is line 1); one error per record.
    line                bigint NOT NULL,
    column_name         text,
    -- The offending value made safe to show: truncated, control characters escaped, phones and
    -- emails masked.
    value               text,
    message             text NOT NULL,
    -- The record's raw fields (a JSON array of strings), sealed: they hold phones and emails.
    pii_key_id          text,
    row_sealed          bytea,
    -- Keyed lookup hashes (as customers.phone_lookup / email_lookup) of every phone and email in
    -- the record, so a customer's failed rows can be found and erased.
    subject_lookups     bytea[] NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT import_errors_pkey PRIMARY KEY (import_id, line)
);
CREATE INDEX import_errors_subject_lookups_idx ON import_errors USING gin (subject_lookups);
ALTER TABLE import_errors ALTER COLUMN row_sealed SET STORAGE EXTERNAL;

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['imports', 'import_chunks', 'import_errors'] LOOP
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
