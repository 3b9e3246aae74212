//! The KEDA ScaledObjects, which the schema validator cannot know: each targets a worker
//! Deployment, and its Prometheus queries pass promtool, read exactly that group's queues, and
//! read only series a live worker of the group exports. The probes are tried on live processes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use super::{args, container, flag, name, of_kind, resources, worker_deployments};
use crate::helpers::spawn_app;
use crate::metrics::{Exposition, RecordedProcess, promtool};

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
