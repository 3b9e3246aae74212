//! The crate graph: which workspace crate may use which (the README's "Layout" table). A crate
//! that starts to depend on one above it fails here, naming both, before the house gets circles.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each crate and the workspace crates it may depend on (normal and build dependencies;
/// dev-dependencies of tests are free). Lower layers first.
const ALLOWED: &[(&str, &[&str])] = &[
    // Pure code, no I/O: depend on no crate of ours.
    ("recete-events", &[]),
    ("recete-imports", &[]),
    // The platform: configuration, database access, crypto, ids, Redis, quotas, telemetry.
    // Nothing of the domain, so it depends on no crate of ours.
    ("recete-platform", &[]),
    // The domain: the tables merchants own, over the platform and the pure crates.
    ("recete-shared", &["recete-events", "recete-imports", "recete-platform"]),
    // Messages and WhatsApp: the `messages` rows the workers send and the Cloud API client.
    // Above the domain, so shared never depends on it.
    ("recete-messaging", &["recete-platform", "recete-shared"]),
    // The job engine: the job life cycle over the platform layer, below every job's handler.
    ("recete-jobs", &["recete-platform", "recete-shared"]),
    ("recete-knowledge", &["recete-platform", "recete-shared"]),
    // Adapters: each declares its own settings section, and needs nothing of shared directly.
    ("recete-embed", &["recete-knowledge"]),
    ("recete-llm", &["recete-knowledge"]),
    ("recete-scrape", &["recete-knowledge"]),
    // The one configuration file: the platform's sections and the adapters', composed.
    ("recete-config", &["recete-embed", "recete-llm", "recete-platform", "recete-scrape"]),
    ("recete-agent", &["recete-knowledge", "recete-llm", "recete-platform", "recete-shared"]),
    ("recete-ops", &["recete-jobs", "recete-platform", "recete-shared"]),
    // The merchants' web console: pages over the domain layer, mounted by the binary.
    (
        "recete-console",
        &[
            "recete-agent",
            "recete-config",
            "recete-embed",
            "recete-imports",
            "recete-knowledge",
            "recete-platform",
            "recete-scrape",
            "recete-shared",
        ],
    ),
    // HTTP only: never the workers, the agent or the queue board.
    (
        "recete-api",
        &[
            "recete-events",
            "recete-imports",
            "recete-jobs",
            "recete-knowledge",
            "recete-platform",
            "recete-scrape",
            "recete-shared",
        ],
    ),
    // Job handlers: never the API or the queue board.
    (
        "recete-workers",
        &[
            "recete-agent",
            "recete-config",
            "recete-embed",
            "recete-imports",
            "recete-jobs",
            "recete-knowledge",
            "recete-llm",
            "recete-messaging",
            "recete-platform",
            "recete-scrape",
            "recete-shared",
        ],
    ),
    ("recete-testkit", &["recete-platform", "recete-shared"]),
    // The binary and the benchmarks wire everything together; nothing depends on them.
    (
        "recete",
        &[
            "recete-agent",
            "recete-api",
            "recete-config",
            "recete-console",
            "recete-embed",
            "recete-jobs",
            "recete-knowledge",
            "recete-llm",
            "recete-messaging",
            "recete-ops",
            "recete-platform",
            "recete-scrape",
            "recete-shared",
            "recete-workers",
        ],
    ),
    (
        "recete-bench",
        &[
            "recete-agent",
            "recete-api",
            "recete-config",
            "recete-embed",
            "recete-jobs",
            "recete-knowledge",
            "recete-messaging",
            "recete-platform",
            "recete-shared",
            "recete-testkit",
            "recete-workers",
        ],
    ),
];

/// Each workspace crate and the workspace crates it depends on outside tests.
fn workspace_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours: BTreeSet<String> =
        packages.iter().filter_map(|package| package["name"].as_str()).map(str::to_owned).collect();
    packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            let uses = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dependency| dependency["kind"].as_str() != Some("dev"))
                .filter_map(|dependency| dependency["name"].as_str())
                .filter(|dependency| ours.contains(*dependency))
                .map(str::to_owned)
                .collect();
            (name, uses)
        })
        .collect()
}

#[test]
fn no_crate_depends_on_one_it_must_not() {
    let graph = workspace_graph();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, uses) in &graph {
        let Some(permitted) = allowed.get(name.as_str()) else {
            wrong.push(format!("`{name}` is not in the layout: add it to ALLOWED and to the README's Layout"));
            continue;
        };
        for dependency in uses {
            if !permitted.contains(&dependency.as_str()) {
                wrong.push(format!("`{name}` depends on `{dependency}`, which the layout does not allow"));
            }
        }
    }
    for (name, _) in ALLOWED {
        if !graph.contains_key(*name) {
            wrong.push(format!("`{name}` is in the layout but not in the workspace"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
