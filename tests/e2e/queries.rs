//! The queries checked at compile time (`sqlx::query!` and friends) are built from their
//! descriptions in `.sqlx/`, written by `make sqlx-prepare` against a migrated database. This
//! checks those descriptions against the schema the migrations make now: a renamed or retyped
//! column, or a nullability that changed, fails here (and the next `make sqlx-prepare` fails to
//! build the query), not in a request. A description whose query is no longer in the source is
//! reported too, so `.sqlx/` holds only what the build reads.

use std::path::{Path, PathBuf};

use recete_testkit::TestDatabase;
use serde_json::Value;
use sqlx::{Column, Either, Executor};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn descriptions() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(repository().join(".sqlx")).expect(".sqlx/ is committed") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|extension| extension == "json") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            found.push((name, serde_json::from_str(&text).expect("JSON")));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Every Rust source of the workspace's crates, concatenated.
fn sources() -> String {
    fn walk(dir: &Path, into: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && !matches!(name.to_str(), Some("target" | ".git" | "node_modules" | "fuzz")) {
                walk(&path, into);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                into.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut all = String::new();
    walk(&repository(), &mut all);
    all
}

/// A type as the description writes it: `"Uuid"` for a built-in type (the driver's own name
/// for it), the type's name for anything else.
fn type_name(type_info: &sqlx::postgres::PgTypeInfo) -> String {
    let shown = format!("{type_info:?}");
    shown.strip_prefix("PgTypeInfo(").and_then(|rest| rest.strip_suffix(')')).unwrap_or(&shown).to_owned()
}

fn described_type(value: &Value) -> String {
    match value {
        Value::String(name) => name.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn every_compile_checked_query_matches_the_migrated_schema() {
    let described = descriptions();
    assert!(!described.is_empty(), ".sqlx/ holds no query descriptions");
    let db = TestDatabase::create().await.expect("database");
    let pool = db.app_pool().await.expect("pool");
    let sources = sources();
    let mut problems = Vec::new();
    for (file, description) in &described {
        let query = description["query"].as_str().unwrap_or_default();
        if !sources.contains(query) {
            problems.push(format!("{file}: its query is in no source file any more (run `make sqlx-prepare`)"));
            continue;
        }
        let now = match pool.describe(query).await {
            Ok(now) => now,
            Err(error) => {
                problems.push(format!("{file}: the schema no longer takes this query: {error}\n  {query}"));
                continue;
            }
        };
        let columns: Vec<(String, String)> =
            now.columns().iter().map(|column| (column.name().to_owned(), type_name(column.type_info()))).collect();
        let then_columns: Vec<(String, String)> = description["describe"]["columns"]
            .as_array()
            .map(|columns| {
                columns
                    .iter()
                    .map(|column| {
                        (column["name"].as_str().unwrap_or_default().to_owned(), described_type(&column["type_info"]))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if columns != then_columns {
            problems.push(format!("{file}: columns are now {columns:?}, described as {then_columns:?}"));
        }
        let nullable: Vec<Option<bool>> = (0..columns.len()).map(|index| now.nullable(index)).collect();
        let then_nullable: Vec<Option<bool>> = description["describe"]["nullable"]
            .as_array()
            .map(|flags| flags.iter().map(Value::as_bool).collect())
            .unwrap_or_default();
        if nullable != then_nullable {
            problems.push(format!("{file}: nullability is now {nullable:?}, described as {then_nullable:?}"));
        }
        let parameters: Vec<String> = match now.parameters() {
            Some(Either::Left(types)) => types.iter().map(type_name).collect(),
            Some(Either::Right(count)) => vec![format!("{count} parameters")],
            None => Vec::new(),
        };
        let then_parameters: Vec<String> = description["describe"]["parameters"]["Left"]
            .as_array()
            .map(|types| types.iter().map(described_type).collect())
            .unwrap_or_default();
        if parameters != then_parameters {
            problems.push(format!("{file}: parameters are now {parameters:?}, described as {then_parameters:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} query descriptions are stale:\n{}",
        problems.len(),
        described.len(),
        problems.join("\n")
    );
}
