-- The application role owns nothing and may only append to audit_log (see shared/src/db/
-- privileges.rs, applied by `recete migrate` after the migrations). Erasing a customer must still
-- strip what the agent's audit rows quote of them: this function, owned by the schema owner and
-- run with its rights, does exactly that redaction and nothing else. Row-level security is forced
-- on audit_log and conversations, so it sees only the calling transaction's merchant.
CREATE FUNCTION recete_strip_agent_audit(erased_customer uuid) RETURNS bigint
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH stripped AS (
        UPDATE audit_log SET after = after - 'arguments' - 'detail'
        WHERE subject_type = 'conversation' AND action IN ('agent.tool_called', 'agent.answer_blocked')
          AND subject_id IN (SELECT id::text FROM conversations WHERE customer_id = erased_customer)
        RETURNING 1
    )
    SELECT count(*) FROM stripped
$$;
-- Only the roles `recete migrate` grants may call it.
REVOKE ALL ON FUNCTION recete_strip_agent_audit(uuid) FROM PUBLIC;
