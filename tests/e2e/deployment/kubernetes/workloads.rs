//! The core resources: validated against the Kubernetes schemas, and read for what the code
//! expects of them (every queue served, grace periods, settings, secrets, the migration Job).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use figment::Figment;
use figment::providers::{Format, Toml};
use recete_workers::Pool;
use serde_json::Value;

use super::{DEFAULTS, args, manifest_files, name, of_kind, python, resources, root, setting, worker_deployments};

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

#[test]
fn the_migration_job_connects_as_the_owner_role() {
    let resources = resources();
    let jobs = of_kind(&resources, "Job");
    assert_eq!(jobs.len(), 1, "one migration Job");
    let container = &jobs[0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"], serde_json::json!(["migrate"]));
    let variables: Vec<&str> =
        container["env"].as_array().expect("env").iter().filter_map(|env| env["name"].as_str()).collect();
    for needed in ["DATABASE_URL_FILE", "RECETE__DATABASE__MIGRATION_URL_FILE", "RECETE__CRYPTO__KEYS_FILE"] {
        assert!(variables.contains(&needed), "the migration Job sets no {needed}: {variables:?}");
    }
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
