//! The core resources: validated against the Kubernetes schemas, and read for what the code
//! expects of them (every queue served, grace periods, settings, secrets), and the migration Job
//! run as it is written.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use figment::Figment;
use figment::providers::{Format, Toml};
use recete_testkit::{TestDatabase, TestRedis};
use recete_workers::Pool;
use serde_json::Value;

use super::{DEFAULTS, args, manifest_files, name, of_kind, python, resources, root, setting, worker_deployments};
use crate::helpers::{json_output, run_recete};

const README: &str = include_str!("../../../../README.md");

#[test]
fn every_manifest_passes_the_kubernetes_schemas() {
    let output = Command::new(python())
        .args(["-m", "kubernetes_validate", "--strict"])
        .args(manifest_files())
        .output()
        .expect("kubernetes-validate runs");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "kubernetes-validate ({}):\n{report}", output.status);
    // The validator only warns about a kind it has no schema for: every other resource must
    // have been checked, and only the KEDA kinds may be left to the tests below.
    for resource in resources() {
        let kind = resource["kind"].as_str().expect("a kind");
        let line = format!("passed for resource {}/{} ", kind.to_lowercase(), name(&resource));
        if kind == "ScaledObject" {
            assert_eq!(resource["apiVersion"], "keda.sh/v1alpha1", "{line}");
            continue;
        }
        assert!(report.contains(&line), "{kind} {} was not validated:\n{report}", name(&resource));
    }
    let unknown: Vec<&str> =
        report.lines().filter(|line| line.contains("Couldn't find schema") && !line.contains("ScaledObject")).collect();
    assert!(unknown.is_empty(), "kinds without a schema: {unknown:#?}");
}

#[test]
fn every_queue_is_served_by_exactly_one_worker_deployment() {
    let resources = resources();
    let workers = worker_deployments(&resources);
    for pool in Pool::ALL {
        let serving: Vec<&str> =
            workers.iter().filter(|(_, pools)| pools.contains(pool)).map(|(deployment, _)| name(deployment)).collect();
        assert_eq!(serving.len(), 1, "queue {pool} is served by {serving:?}; it needs exactly one worker Deployment");
    }
}

#[test]
fn every_pod_outlives_its_shutdown_grace() {
    let resources = resources();
    let deployments = of_kind(&resources, "Deployment");
    assert!(deployments.len() >= 2, "an API and worker Deployments");
    for deployment in deployments {
        let grace_key = match args(deployment).first() {
            Some(&"api") => "api.shutdown_grace_secs",
            Some(&"worker") => "worker.shutdown_grace_secs",
            other => panic!("{} runs {other:?}, neither the API nor workers", name(deployment)),
        };
        let grace = setting(&resources, deployment, grace_key);
        let termination = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{} sets no terminationGracePeriodSeconds", name(deployment)));
        assert!(
            termination > grace,
            "{}: terminationGracePeriodSeconds {termination} must exceed {grace_key} = {grace} (a margin to exit in)",
            name(deployment)
        );
    }
}

#[test]
fn every_setting_the_manifests_set_is_a_documented_key() {
    let resources = resources();
    let defaults = Figment::from(Toml::string(DEFAULTS));
    let from_config_maps =
        of_kind(&resources, "ConfigMap").into_iter().flat_map(|map| map["data"].as_object().expect("data").keys());
    let from_containers = of_kind(&resources, "Deployment")
        .into_iter()
        .chain(of_kind(&resources, "Job"))
        .flat_map(|workload| workload["spec"]["template"]["spec"]["containers"].as_array().expect("containers"))
        .flat_map(|container| container["env"].as_array().into_iter().flatten())
        .filter_map(|env| env["name"].as_str());
    let variables: BTreeSet<&str> = from_config_maps.map(String::as_str).chain(from_containers).collect();
    for variable in variables.iter().filter_map(|variable| variable.strip_prefix("RECETE__")) {
        let key = variable.to_lowercase().replace("__", ".");
        // A setting whose own name ends in _file holds a path; any other _FILE names the value's file.
        let key = match key.as_str() {
            "crypto.keys_file" | "redis.ca_file" => key.clone(),
            _ => key.strip_suffix("_file").unwrap_or(&key).to_owned(),
        };
        // crypto.keys_file has no default; config/default.toml documents it in a comment.
        let documented =
            defaults.find_value(&key).is_ok() || (key == "crypto.keys_file" && DEFAULTS.contains("keys_file = "));
        assert!(documented, "the manifests set RECETE__{variable}, but config/default.toml has no `{key}`");
    }
    assert!(variables.contains("RECETE__APP__ENVIRONMENT"), "the manifests run in production");
}

/// README, "Kubernetes", step 3: the migration Job's own command, environment (its env and the
/// ConfigMap it loads) and secret files, the mount moved to a temporary folder, migrate a fresh
/// database as the owner role and grant the application role, in production.
#[tokio::test]
async fn the_migration_job_migrates_with_its_own_environment_and_secret_files() {
    let resources = resources();
    let jobs = of_kind(&resources, "Job");
    assert_eq!(jobs.len(), 1, "one migration Job");
    let pod = &jobs[0]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];

    let db = TestDatabase::create_unmigrated().await.expect("an empty database");
    let keys = run_recete(&[], &["keys", "generate"]);
    assert!(keys.status.success(), "keys generate: {}", String::from_utf8_lossy(&keys.stderr));
    let values: BTreeMap<&str, String> = BTreeMap::from([
        ("database-url", format!("{}\n", db.app_url())),
        ("database-migration-url", format!("{}\n", db.owner_url())),
        ("redis-url", format!("{}\n", TestRedis::new().url)),
        ("keys.toml", String::from_utf8_lossy(&keys.stdout).into_owned()),
    ]);
    let secrets = std::env::temp_dir().join(format!("recete-kubernetes-secrets-{}", uuid::Uuid::now_v7()));
    let mut moved_mounts = Vec::new();
    for volume in pod["volumes"].as_array().expect("volumes").iter().filter(|volume| volume["secret"].is_object()) {
        let directory = secrets.join(volume["name"].as_str().expect("volume name"));
        std::fs::create_dir_all(&directory).expect("secret directory");
        for item in volume["secret"]["items"].as_array().expect("items") {
            let key = item["key"].as_str().expect("key");
            let value = values.get(key).unwrap_or_else(|| panic!("the migration Job mounts {key}, which it needs not"));
            std::fs::write(directory.join(item["path"].as_str().expect("path")), value).expect("secret file");
        }
        let mount = container["volumeMounts"].as_array().expect("mounts").iter().find(|m| m["name"] == volume["name"]);
        let path = mount.and_then(|mount| mount["mountPath"].as_str()).expect("the secret volume is mounted");
        moved_mounts.push((path.to_owned(), directory.display().to_string()));
    }
    let moved = |value: &str| {
        moved_mounts.iter().fold(value.to_owned(), |value, (from, to)| value.replacen(from.as_str(), to, 1))
    };
    let config_maps = container["envFrom"].as_array().into_iter().flatten().flat_map(|source| {
        let map = source["configMapRef"]["name"].as_str().expect("a ConfigMap");
        let found = of_kind(&resources, "ConfigMap").into_iter().find(|config| name(config) == map);
        found.unwrap_or_else(|| panic!("the Job loads ConfigMap {map}, which no manifest makes"))["data"]
            .as_object()
            .expect("data")
            .iter()
            .map(|(variable, value)| (variable.clone(), value.as_str().expect("a string").to_owned()))
            .collect::<Vec<_>>()
    });
    let own =
        container["env"].as_array().expect("env").iter().map(|env| {
            (env["name"].as_str().expect("name").to_owned(), moved(env["value"].as_str().expect("a value")))
        });
    let env: Vec<(String, String)> = config_maps.chain(own).collect();
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();

    let output = Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(&args)
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_MIGRATION_URL")
        .env_remove("REDIS_URL")
        .env_remove("RECETE_CONFIG")
        .envs(env.iter().map(|(name, value)| (name.as_str(), value.as_str())))
        .env("RECETE__LOG__FORMAT", "pretty")
        .output()
        .expect("recete runs");
    let _ = std::fs::remove_dir_all(&secrets);
    let migrated = json_output(&output);
    assert!(env.iter().any(|(name, value)| name == "RECETE__APP__ENVIRONMENT" && value == "production"), "{env:?}");
    assert_eq!(migrated["granted"], true, "{migrated}");
    assert_ne!(migrated["owner"], migrated["application_role"], "the Job migrates as the owner role: {migrated}");
    assert!(migrated["migrations_applied"].as_u64().is_some_and(|applied| applied > 0), "{migrated}");
}

/// Secret keys the pods mount, with the paths they are mounted at.
fn mounted_secret_files(resources: &[Value]) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for workload in of_kind(resources, "Deployment").into_iter().chain(of_kind(resources, "Job")) {
        let pod = &workload["spec"]["template"]["spec"];
        for volume in pod["volumes"].as_array().into_iter().flatten().filter(|volume| volume["secret"].is_object()) {
            let mount = pod["containers"][0]["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|mount| mount["name"] == volume["name"])
                .unwrap_or_else(|| panic!("{}: secret volume {} is not mounted", name(workload), volume["name"]));
            let directory = mount["mountPath"].as_str().expect("mountPath");
            for item in volume["secret"]["items"].as_array().expect("secret items").iter() {
                let key = item["key"].as_str().expect("key").to_owned();
                files.insert(key, format!("{directory}/{}", item["path"].as_str().expect("path")));
            }
        }
    }
    files
}

#[test]
fn every_secret_file_named_is_mounted_and_the_readme_creates_every_key() {
    let resources = resources();
    let files = mounted_secret_files(&resources);
    let mounted: BTreeSet<&str> = files.values().map(String::as_str).collect();
    for workload in of_kind(&resources, "Deployment").into_iter().chain(of_kind(&resources, "Job")) {
        let env = workload["spec"]["template"]["spec"]["containers"][0]["env"].as_array().expect("env");
        for variable in env.iter().filter(|env| env["name"].as_str().is_some_and(|name| name.ends_with("_FILE"))) {
            let path = variable["value"].as_str().expect("a path");
            assert!(
                mounted.contains(path),
                "{}: {} names {path}, which no secret mounts",
                name(workload),
                variable["name"]
            );
        }
    }
    // README, "Deploying", "Kubernetes": the Secret is made with one --from-file per key.
    let created: BTreeSet<String> = regex::Regex::new(r"--from-file=([a-z.-]+)=")
        .expect("pattern")
        .captures_iter(README)
        .map(|captures| captures[1].to_owned())
        .collect();
    let needed: BTreeSet<String> = files.keys().cloned().collect();
    assert_eq!(created, needed, "the README's `kubectl create secret` must make exactly the keys the manifests mount");
    for file in manifest_files() {
        let relative = file.strip_prefix(root()).expect("in the repository").display().to_string();
        assert!(README.contains(&relative), "the README's Kubernetes steps never apply {relative}");
    }
}
