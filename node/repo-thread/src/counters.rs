//! What the repository thread counts, and the histogram it counts sync lag in. The API's
//! metrics page (`allmende_api::metrics`) renders them; the counters live with the thread
//! that owns the events.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Upper bounds (seconds) of the sync lag buckets.
pub const LAG_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21_600.0, 86_400.0,
];
/// A cumulative histogram with fixed buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending; `+Inf` is implied).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Records one value.
    pub fn observe(&mut self, v: f64) {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Appends the histogram in the Prometheus text format, as `name` with `labels`
    /// (`key="value",…`, may be empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// What the repository thread counts.
#[derive(Debug, Clone)]
pub struct RepoMetrics {
    /// Changes newly stored, from peers, the API, the UI or the CLI.
    pub changes_applied: u64,
    /// Seconds between a change's signed time and its arrival here (changes from peers).
    pub sync_lag: Histogram,
    /// Changes from peers refused by authorisation rules the sender may not have known
    /// (revocations, expired delegations, clock), by reason. The network actor does not
    /// penalise these, so it does not count them either.
    pub refused: BTreeMap<String, u64>,
    /// Large catch-ups that ran with the product indexes deferred.
    pub index_deferrals: u64,
    /// Seconds the last of them took to build the indexes again at its end.
    pub index_rebuild_seconds: f64,
}

impl Default for RepoMetrics {
    fn default() -> Self {
        Self {
            changes_applied: 0,
            sync_lag: Histogram::new(LAG_BUCKETS),
            refused: BTreeMap::new(),
            index_deferrals: 0,
            index_rebuild_seconds: 0.0,
        }
    }
}
