//! The Grafana dashboard and the alert rules as the test reads them: every panel's queries, with
//! Grafana's template variables replaced the way Grafana would, and the metric names they read.

use std::collections::BTreeSet;

use serde_json::Value;

pub const DASHBOARD: &str = "deploy/grafana/recete.json";
pub const ALERTS: &str = "deploy/prometheus/alerts.yml";

/// One query of one panel, ready for Prometheus.
pub struct PanelQuery {
    pub panel: String,
    pub expr: String,
}

pub fn repo_path(relative: &str) -> String {
    format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"))
}

/// Every target of every panel (rows included), in dashboard order.
pub fn panel_queries() -> Vec<PanelQuery> {
    let path = repo_path(DASHBOARD);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
    let mut queries = Vec::new();
    collect(dashboard["panels"].as_array().expect("the dashboard has panels"), &mut queries);
    queries
}

fn collect(panels: &[Value], queries: &mut Vec<PanelQuery>) {
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("untitled").to_owned();
        if let Some(nested) = panel["panels"].as_array() {
            collect(nested, queries);
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or_else(|| panic!("panel {title}: a target without expr"));
            queries.push(PanelQuery { panel: title.clone(), expr: substitute(expr) });
        }
    }
}

/// Grafana's variables as a dashboard viewer with every queue selected would send them.
fn substitute(expr: &str) -> String {
    let expr = expr.replace("$__rate_interval", "1m").replace("$queue", ".*");
    assert!(!expr.contains('$'), "a template variable the test does not know: {expr}");
    expr
}

/// The Recete and HTTP metric names an expression reads, so the test can tell a real series
/// from a fallback `vector(0)`.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("recete_") || word.starts_with("http_server_"))
        .map(str::to_owned)
        .collect()
}

/// How many alerting rules alerts.yml declares (one `- alert:` item each).
pub fn declared_alert_rules() -> usize {
    let path = repo_path(ALERTS);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().filter(|line| line.trim_start().starts_with("- alert:")).count()
}
