-- A person replying from the console writes as `user:<merchant_users id>`, beside the API's
-- `merchant:<api key id>`.
ALTER TABLE messages DROP CONSTRAINT messages_author_check;
ALTER TABLE messages ADD CONSTRAINT messages_author_check
    CHECK (author IN ('customer', 'agent', 'system') OR author LIKE 'merchant:_%' OR author LIKE 'user:_%');
