-- The merchants' web console exports and erases customers too; its requests say so.
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_channel_check;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_channel_check
    CHECK (channel IN ('api', 'shopify', 'console'));
COMMENT ON COLUMN privacy_requests.actor IS '''api-key:<id>'', ''shopify:privacy-webhook'' or ''user:<email>''.';
