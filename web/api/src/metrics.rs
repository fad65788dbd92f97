//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4) and the counters behind
//! them that are not part of [`crate::status::Status`].
//!
//! Counters live with whoever owns the event: the network actor counts rejections and sync
//! traffic ([`allmende_net::net::NetStatus`]), the repository thread counts applied changes and sync
//! lag ([`RepoMetrics`]), the HTTP layer counts requests ([`HttpMetrics`]). The page is
//! rendered from one snapshot of each, so the node keeps no second copy of its state.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

pub use allmende_repo_thread::counters::{Histogram, LAG_BUCKETS, RepoMetrics};

/// Upper bounds (seconds) of the HTTP latency buckets.
pub const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// HTTP request latencies by method, route template and status.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    by_route: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl HttpMetrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.by_route.lock() {
            m.entry((method.to_owned(), route.to_owned(), status))
                .or_insert_with(|| Histogram::new(HTTP_BUCKETS))
                .observe(seconds);
        }
    }
}

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Renders the metrics page.
pub fn render(
    status: &crate::status::Status,
    repo: &RepoMetrics,
    http: &HttpMetrics,
    store_bytes: u64,
    volume: &[allmende_catalog::trust::OrgVolume],
) -> String {
    let mut out = String::new();
    let n = &status.network;
    family(
        &mut out,
        "allmende_build_info",
        "gauge",
        "Version of this node.",
    );
    let _ = writeln!(
        out,
        "allmende_build_info{{version=\"{}\"}} 1",
        label(status.version)
    );
    single(
        &mut out,
        "allmende_peers_connected",
        "gauge",
        "Peers connected now.",
        n.peers.len(),
    );
    single(
        &mut out,
        "allmende_peers_blocked",
        "gauge",
        "Peers blocked for misbehaviour since start.",
        n.blocked.len(),
    );
    single(
        &mut out,
        "allmende_documents",
        "gauge",
        "Documents in the store.",
        status.documents,
    );
    single(
        &mut out,
        "allmende_changes",
        "gauge",
        "Signed changes in the store.",
        status.changes,
    );
    single(
        &mut out,
        "allmende_certificates",
        "gauge",
        "Certificates (delegations, revocations) in the store.",
        status.certificates,
    );
    single(
        &mut out,
        "allmende_store_bytes",
        "gauge",
        "Size of the store on disk (database and write-ahead log).",
        store_bytes,
    );
    if let Some(t) = status.last_change_received {
        single(
            &mut out,
            "allmende_last_change_received_timestamp_seconds",
            "gauge",
            "When this node last stored a change (Unix time).",
            t,
        );
    }
    single(
        &mut out,
        "allmende_open_mode",
        "gauge",
        "1 while the node follows no trust anchor (open mode), else 0.",
        u64::from(status.trust.open_mode),
    );
    single(
        &mut out,
        "allmende_trust_scope_organisations",
        "gauge",
        "Organisations in the node's trust scope (anchors, whom they attest, its own and hosted).",
        status.trust.organisations as u64,
    );
    single(
        &mut out,
        "allmende_trust_scope_keys",
        "gauge",
        "Keys in the node's trust scope (its organisations' keys and valid delegates).",
        status.trust.keys as u64,
    );
    let q = &status.quarantine;
    for (name, help, value) in [
        (
            "allmende_quarantine_documents",
            "Documents outside the trust scope held in the quarantine (in memory).",
            q.documents as u64,
        ),
        (
            "allmende_quarantine_bytes",
            "Bytes of signed changes in the quarantine.",
            q.bytes as u64,
        ),
        (
            "allmende_quarantine_keys",
            "Signing keys with something in the quarantine.",
            q.keys as u64,
        ),
        (
            "allmende_quarantine_cap_bytes",
            "The quarantine's cap (trust.quarantine_total_bytes).",
            q.cap_bytes as u64,
        ),
    ] {
        single(&mut out, name, "gauge", help, value);
    }
    single(
        &mut out,
        "allmende_quarantine_evicted_total",
        "counter",
        "Quarantined documents evicted to stay under the cap since start.",
        q.evicted,
    );
    single(
        &mut out,
        "allmende_quarantine_over_quota_total",
        "counter",
        "Changes outside the trust scope not kept because their key's quota was used up.",
        q.over_quota,
    );
    family(
        &mut out,
        "allmende_org_changes_24h",
        "gauge",
        "Changes signed by an organisation's keys and delegates stored in the last 24 hours (the ten busiest).",
    );
    for v in volume.iter().take(10) {
        let _ = writeln!(
            out,
            "allmende_org_changes_24h{{org=\"{:#}\"}} {}",
            v.org, v.changes
        );
    }
    single(
        &mut out,
        "allmende_orgs_unusual_volume",
        "gauge",
        "Organisations with unusually many changes in the last 24 hours (see the trust page).",
        volume.iter().filter(|v| v.unusual).count(),
    );
    single(
        &mut out,
        "allmende_indexes_deferred",
        "gauge",
        "1 while a large catch-up runs with the product indexes dropped, else 0.",
        u64::from(status.indexes_deferred),
    );
    single(
        &mut out,
        "allmende_index_deferrals_total",
        "counter",
        "Large catch-ups run with the product indexes deferred since start.",
        repo.index_deferrals,
    );
    single(
        &mut out,
        "allmende_index_rebuild_seconds",
        "gauge",
        "Seconds the last large catch-up took to build its deferred indexes at its end.",
        repo.index_rebuild_seconds,
    );
    single(
        &mut out,
        "allmende_changes_applied_total",
        "counter",
        "Changes newly stored since start (from peers, API, UI or CLI).",
        repo.changes_applied,
    );
    family(
        &mut out,
        "allmende_rejected_total",
        "counter",
        "Refused messages, changes and penalties by reason since start.",
    );
    for (reason, count) in &n.rejected {
        let _ = writeln!(
            out,
            "allmende_rejected_total{{reason=\"{}\"}} {count}",
            label(reason)
        );
    }
    family(
        &mut out,
        "allmende_refused_changes_total",
        "counter",
        "Changes refused without penalty since start (revocations, delegations, clocks and forks the sender may not know), and forks found, by reason.",
    );
    for (reason, count) in &repo.refused {
        let _ = writeln!(
            out,
            "allmende_refused_changes_total{{reason=\"{}\"}} {count}",
            label(reason)
        );
    }
    single(
        &mut out,
        "allmende_sync_bytes_sent_total",
        "counter",
        "Bytes of sync traffic sent since start.",
        n.bytes_sent,
    );
    single(
        &mut out,
        "allmende_sync_bytes_received_total",
        "counter",
        "Bytes of sync traffic received since start.",
        n.bytes_received,
    );
    single(
        &mut out,
        "allmende_sync_sessions_total",
        "counter",
        "Reconciliation sessions completed since start.",
        n.sessions_completed,
    );
    single(
        &mut out,
        "allmende_sync_pending_fetches",
        "gauge",
        "Objects queued or in flight for fetching (0 when caught up).",
        n.pending_fetches,
    );
    family(
        &mut out,
        "allmende_sync_lag_seconds",
        "histogram",
        "Seconds between a change's signed time and its arrival at this node, for changes from peers.",
    );
    repo.sync_lag
        .render(&mut out, "allmende_sync_lag_seconds", "");
    family(
        &mut out,
        "allmende_http_request_duration_seconds",
        "histogram",
        "HTTP request latency by method, route and status.",
    );
    if let Ok(m) = http.by_route.lock() {
        for ((method, route, status), h) in m.iter() {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                label(method),
                label(route)
            );
            h.render(&mut out, "allmende_http_request_duration_seconds", &labels);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let mut h = Histogram::new(&[1.0, 10.0]);
        for v in [0.5, 3.0, 3.0, 50.0, f64::NAN] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"1\"} 2"), "{out}"); // 0.5 and NaN→0
        assert!(out.contains("x_bucket{a=\"b\",le=\"10\"} 4"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 5"), "{out}");
        assert!(out.contains("x_sum{a=\"b\"} 56.5"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 5"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
