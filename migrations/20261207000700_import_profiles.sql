-- The origin an import's header was recognised as (Shopify's orders export, ...), and customer files.
ALTER TABLE imports ADD COLUMN profile text
    CONSTRAINT imports_profile_check CHECK (profile IN ('generic', 'shopify_orders', 'shopify_customers',
        'woocommerce_order_export', 'woocommerce_advanced_order_export', 'woocommerce_analytics_orders'));

ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check CHECK (kind IN ('orders', 'products', 'customers'));
