-- Tenant isolation for every tenant table, enforced even for the owning role (FORCE), so the
-- application role never sees another merchant's rows by mistake.

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY[
        'integrations', 'api_keys', 'customers', 'products', 'orders', 'order_items',
        'knowledge_chunks', 'conversations', 'messages', 'external_events', 'scheduled_tasks',
        'audit_log'
    ] LOOP
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

-- A merchant sees only itself.
ALTER TABLE merchants ENABLE ROW LEVEL SECURITY;
ALTER TABLE merchants FORCE ROW LEVEL SECURITY;
CREATE POLICY merchants_tenant_isolation ON merchants
    USING (recete_row_visible(id)) WITH CHECK (recete_row_visible(id));
CREATE TRIGGER merchants_touch_updated_at BEFORE UPDATE ON merchants
    FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at();
