//! What the application role may do: read and write rows, nothing more.
//!
//! The schema belongs to the owner role that runs `recete migrate`; the role that serves
//! traffic owns nothing, so it cannot turn row-level security off, change the schema or empty a
//! table. `audit_log` is append-only for it: insert and read, never rewrite or delete (the one
//! redaction privacy law requires goes through a function the owner defines, see the migration
//! `least_privilege`). Granted again after every migration, so new tables are covered.

use sqlx::PgConnection;

/// Grants `app_role` exactly what serving traffic needs on every table of the schema. Run by
/// the owner role right after migrating; idempotent.
pub async fn grant_application_role(connection: &mut PgConnection, app_role: &str) -> Result<(), sqlx::Error> {
    let role = quote_identifier(app_role);
    let statements = [
        // Since PostgreSQL 15 only the database owner may create in `public`; older servers let
        // every role do so unless told otherwise.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_owned(),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE, DELETE ON audit_log FROM {role}"),
        format!("REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        format!("GRANT EXECUTE ON FUNCTION recete_strip_agent_audit(uuid) TO {role}"),
    ];
    for statement in statements {
        sqlx::query(&statement).execute(&mut *connection).await?;
    }
    Ok(())
}

/// `name` as a PostgreSQL identifier, quoted so any role name is taken literally.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::quote_identifier;

    #[test]
    fn identifiers_are_quoted_whole() {
        assert_eq!(quote_identifier("recete"), "\"recete\"");
        assert_eq!(quote_identifier("a\"; DROP TABLE x; --"), "\"a\"\"; DROP TABLE x; --\"");
    }
}
