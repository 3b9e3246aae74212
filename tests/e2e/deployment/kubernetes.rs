//! `deploy/kubernetes/` as an operator applies it, checked offline and against live processes.
//!
//! The core kinds (Deployments, Services, the Job, PodDisruptionBudgets, the ConfigMap) are
//! validated by kubernetes-validate in strict mode against the Kubernetes API schemas it bundles
//! (`scripts/tools.sh` installs it, pinned, into target/tools/venv). It has no schema for KEDA's
//! ScaledObject, so those are parsed here instead: each must target a worker Deployment of the
//! manifests, scale on Prometheus queries promtool accepts, and read only series that a worker
//! serving that Deployment's queues exports on `/metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use figment::Figment;
use figment::providers::{Format, Toml};
use recete_workers::Pool;
use serde_json::Value;

use crate::helpers::spawn_app;
use crate::metrics::{Exposition, RecordedProcess, promtool};

const DEFAULTS: &str = include_str!("../../../config/default.toml");
const README: &str = include_str!("../../../README.md");

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

/// A series selector in a PromQL query: a metric name and its label matchers, each matcher's
/// accepted values (`=~"a|b"` gives both).
#[derive(Debug)]
struct Selector {
    metric: String,
    labels: Vec<(String, Vec<String>)>,
}

fn selectors(query: &str) -> Vec<Selector> {
    let selector = regex::Regex::new(r"(recete_[a-z0-9_]+)\s*(?:\{([^}]*)\})?").expect("pattern");
    let matcher = regex::Regex::new(r#"^\s*([a-z_]+)\s*(=~|=)\s*"([^"]*)"\s*$"#).expect("pattern");
    selector
        .captures_iter(query)
        .map(|captures| Selector {
            metric: captures[1].to_owned(),
            labels: captures
                .get(2)
                .map(|labels| labels.as_str())
                .unwrap_or_default()
                .split(',')
                .filter(|part| !part.trim().is_empty())
                .map(|part| {
                    let found = matcher.captures(part).unwrap_or_else(|| panic!("matcher `{part}` in `{query}`"));
                    let values = if &found[2] == "=~" {
                        found[3].split('|').map(str::to_owned).collect()
                    } else {
                        vec![found[3].to_owned()]
                    };
                    (found[1].to_owned(), values)
                })
                .collect(),
        })
        .collect()
}

/// Every label combination a selector asks for.
fn combinations(selector: &Selector) -> Vec<Vec<(&str, &str)>> {
    selector.labels.iter().fold(vec![Vec::new()], |so_far, (label, values)| {
        so_far
            .iter()
            .flat_map(|partial| {
                values.iter().map(move |value| {
                    let mut next = partial.clone();
                    next.push((label.as_str(), value.as_str()));
                    next
                })
            })
            .collect()
    })
}

/// Each worker Deployment's KEDA triggers: (Deployment name, queries).
fn scaler_queries(resources: &[Value]) -> BTreeMap<String, Vec<String>> {
    let workers = worker_deployments(resources);
    let mut queries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for scaled in of_kind(resources, "ScaledObject") {
        let spec = &scaled["spec"];
        let target = spec["scaleTargetRef"]["name"].as_str().expect("scaleTargetRef.name");
        let (_, pools) = workers
            .iter()
            .find(|(deployment, _)| name(deployment) == target)
            .unwrap_or_else(|| panic!("{} scales {target}, which is no worker Deployment", name(scaled)));
        let (min, max) = (spec["minReplicaCount"].as_u64(), spec["maxReplicaCount"].as_u64());
        assert!(
            matches!((min, max), (Some(min), Some(max)) if min >= 1 && max >= min),
            "{}: keep at least one replica (relays and housekeeping run in workers) and max ≥ min",
            name(scaled)
        );
        for trigger in spec["triggers"].as_array().expect("triggers") {
            assert_eq!(trigger["type"], "prometheus", "{}", name(scaled));
            let metadata = &trigger["metadata"];
            let threshold: f64 = metadata["threshold"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0.0);
            assert!(threshold > 0.0, "{}: threshold {}", name(scaled), metadata["threshold"]);
            assert!(metadata["serverAddress"].as_str().is_some_and(|a| a.starts_with("http")), "{}", name(scaled));
            let query = metadata["query"].as_str().expect("query").to_owned();
            let queues: BTreeSet<String> = selectors(&query)
                .iter()
                .flat_map(|selector| selector.labels.iter())
                .filter(|(label, _)| label == "queue")
                .flat_map(|(_, values)| values.clone())
                .collect();
            let served: BTreeSet<String> = pools.iter().map(|pool| pool.name().to_owned()).collect();
            assert_eq!(queues, served, "{}: a query must read the queues {target} serves: {query}", name(scaled));
            queries.entry(target.to_owned()).or_default().push(query);
        }
    }
    for (deployment, _) in workers {
        assert!(queries.contains_key(name(deployment)), "{} has no ScaledObject", name(deployment));
    }
    queries
}

#[test]
fn promtool_accepts_every_scaler_query() {
    let queries: Vec<String> = scaler_queries(&resources()).into_values().flatten().collect();
    let rules = serde_json::json!({ "groups": [{
        "name": "kubernetes-scalers",
        "rules": queries.iter().enumerate()
            .map(|(index, query)| serde_json::json!({ "record": format!("recete:scaler_{index}"), "expr": query }))
            .collect::<Vec<_>>(),
    }]});
    let file = std::env::temp_dir().join(format!("recete-scalers-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&file, rules.to_string()).expect("rules written");
    let output = Command::new(promtool()).args(["check", "rules"]).arg(&file).output().expect("promtool runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "promtool rejects a scaler query:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// GETs the probe's path on the process; it must answer 200.
async fn assert_probe_answers(client: &reqwest::Client, process: &RecordedProcess, deployment: &Value, probe: &str) {
    let path = container(deployment)[probe]["httpGet"]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no {probe} over HTTP", name(deployment)));
    let response = client.get(format!("{}{path}", process.base_url)).send().await.expect("probe sent");
    assert_eq!(response.status(), 200, "{} {probe} {path}", name(deployment));
}

/// The probes' ports are the container ports of the addresses the process listens on.
fn assert_probes_hit_the_listener(deployment: &Value) {
    let port: u64 = flag(deployment, "--listen").rsplit(':').next().and_then(|port| port.parse().ok()).expect("a port");
    let container = container(deployment);
    for probe in ["readinessProbe", "livenessProbe"] {
        let named = &container[probe]["httpGet"]["port"];
        let resolved = match named.as_str() {
            Some(port_name) => container["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|port| port["name"] == port_name)
                .and_then(|port| port["containerPort"].as_u64()),
            None => named.as_u64(),
        };
        assert_eq!(resolved, Some(port), "{} {probe} must reach --listen", name(deployment));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_and_every_series_a_scaler_reads_is_exported() {
    let resources = resources();
    let queries = scaler_queries(&resources);
    let app = spawn_app().await;

    let api = of_kind(&resources, "Deployment")
        .into_iter()
        .find(|deployment| args(deployment).first() == Some(&"api"))
        .expect("an API Deployment");
    assert_probes_hit_the_listener(api);
    let process = RecordedProcess::api(&app).await;
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_probe_answers(&app.client, &process, api, probe).await;
    }
    drop(process);

    for (deployment, _) in worker_deployments(&resources) {
        assert_probes_hit_the_listener(deployment);
        let process = RecordedProcess::worker(&app, flag(deployment, "--queues"), &[]).await;
        for probe in ["readinessProbe", "livenessProbe"] {
            assert_probe_answers(&app.client, &process, deployment, probe).await;
        }
        let wanted: Vec<(String, Vec<(String, String)>)> = queries[name(deployment)]
            .iter()
            .flat_map(|query| selectors(query))
            .flat_map(|selector| {
                combinations(&selector)
                    .into_iter()
                    .map(|labels| {
                        let owned = labels.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                        (selector.metric.clone(), owned)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let exported = |exposition: &Exposition| {
            wanted.iter().all(|(metric, labels)| {
                let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                exposition.value(metric, &labels).is_some()
            })
        };
        // The queue gauges appear once the process has read PostgreSQL (every second here).
        process.metrics_when(&app.client, &format!("every series the scalers read: {wanted:?}"), exported).await;
    }
}

#[test]
fn a_selector_reads_every_queue_a_pattern_names() {
    let found = selectors(r#"max(recete_queue_jobs{queue=~"a|b", state="pending"}) unless recete_queue_paused"#);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].metric, "recete_queue_jobs");
    let combos = combinations(&found[0]);
    assert_eq!(combos, vec![vec![("queue", "a"), ("state", "pending")], vec![("queue", "b"), ("state", "pending")]]);
    assert!(found[1].labels.is_empty());
}
