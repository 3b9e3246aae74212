//! `deploy/kubernetes/` as an operator applies it, checked offline and against live processes.
//!
//! The core kinds (Deployments, Services, the Job, PodDisruptionBudgets, the ConfigMap) are
//! validated by kubernetes-validate in strict mode against the Kubernetes API schemas it bundles
//! (`scripts/tools.sh` installs it, pinned, into target/tools/venv). It has no schema for KEDA's
//! ScaledObject, so those are parsed here instead: each must target a worker Deployment of the
//! manifests, scale on Prometheus queries promtool accepts, and read only series that a worker
//! serving that Deployment's queues exports on `/metrics`.
//!
//! # Layout
//! - [`workloads`]: the schemas, and what the code expects of Deployments, the Job and secrets.
//! - [`scalers`]: the ScaledObjects' targets and queries, and the probes on live processes.

mod scalers;
mod workloads;

use std::path::PathBuf;
use std::process::Command;

use figment::Figment;
use figment::providers::{Format, Toml};
use recete_workers::Pool;
use serde_json::Value;

const DEFAULTS: &str = include_str!("../../../../config/default.toml");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, where kubernetes-validate and its PyYAML live; fails (never skips) without it.
fn python() -> PathBuf {
    let python = root().join("target/tools/venv/bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import kubernetes_validate, yaml"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(installed, "kubernetes-validate is not installed in {}: run `bash scripts/tools.sh`", python.display());
    python
}

fn manifest_files() -> Vec<PathBuf> {
    let directory = root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", directory.display());
    files
}

/// Every resource of every manifest, as JSON (read with PyYAML, as the validator reads them).
fn resources() -> Vec<Value> {
    let output = Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml\n\
             print(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))",
        ])
        .args(manifest_files())
        .output()
        .expect("python runs");
    assert!(output.status.success(), "the manifests are not YAML:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON from python")
}

fn of_kind<'a>(resources: &'a [Value], kind: &str) -> Vec<&'a Value> {
    resources.iter().filter(|resource| resource["kind"] == kind).collect()
}

fn name(resource: &Value) -> &str {
    resource["metadata"]["name"].as_str().unwrap_or_else(|| panic!("a resource without a name: {resource}"))
}

fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{} runs one container", name(deployment));
    &containers[0]
}

fn args(deployment: &Value) -> Vec<&str> {
    container(deployment)["args"].as_array().expect("args").iter().map(|arg| arg.as_str().expect("an arg")).collect()
}

/// The value after `flag` in the container's arguments.
fn flag<'a>(deployment: &'a Value, flag: &str) -> &'a str {
    let args = args(deployment);
    let at = args.iter().position(|arg| *arg == flag).unwrap_or_else(|| panic!("{} has no {flag}", name(deployment)));
    args.get(at + 1).unwrap_or_else(|| panic!("{flag} of {} has no value", name(deployment)))
}

/// Worker Deployments with the queues each serves.
fn worker_deployments(resources: &[Value]) -> Vec<(&Value, Vec<Pool>)> {
    of_kind(resources, "Deployment")
        .into_iter()
        .filter(|deployment| args(deployment).first() == Some(&"worker"))
        .map(|deployment| {
            let names: Vec<String> = flag(deployment, "--queues").split(',').map(str::to_owned).collect();
            let pools = recete_workers::pools::select(&names)
                .unwrap_or_else(|error| panic!("{}: --queues: {error}", name(deployment)));
            (deployment, pools)
        })
        .collect()
}

/// A setting as the container sees it: its own env, then the ConfigMaps it loads, then the
/// default in config/default.toml.
fn setting(resources: &[Value], deployment: &Value, key: &str) -> u64 {
    let variable = format!("RECETE__{}", key.to_uppercase().replace('.', "__"));
    let container = container(deployment);
    let own = container["env"].as_array().into_iter().flatten().find(|env| env["name"] == variable.as_str());
    let from_config_maps = container["envFrom"].as_array().into_iter().flatten().find_map(|source| {
        let map = source["configMapRef"]["name"].as_str()?;
        of_kind(resources, "ConfigMap").into_iter().find(|config| name(config) == map)?["data"].get(&variable).cloned()
    });
    match own.map(|env| env["value"].clone()).or(from_config_maps) {
        Some(value) => value
            .as_str()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("{} sets {variable} to {value}, not a number", name(deployment))),
        None => Figment::from(Toml::string(DEFAULTS))
            .extract_inner(key)
            .unwrap_or_else(|error| panic!("config/default.toml has no {key}: {error}")),
    }
}
