-- The Shopify shop an integration serves: its myshopify.com domain, given when the integration is
-- created or recorded from its first verified delivery (`X-Shopify-Shop-Domain`). One app secret
-- signs the webhooks of every shop that installed the app, so a signed body proves which app sent
-- it, not which shop: privacy webhooks naming any other shop are refused. Once recorded, the shop
-- never changes.

ALTER TABLE integrations
    ADD COLUMN shop_domain text,
    ADD CONSTRAINT integrations_shop_domain_check CHECK (
        shop_domain IS NULL OR (kind = 'shopify' AND shop_domain ~ '^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$')
    );
