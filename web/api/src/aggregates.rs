//! A cache of expensive catalog reads (aggregates over every deployment, rating and report).
//!
//! At Germany's size an aggregate scans millions of index rows, which takes far longer than a
//! page may. The catalog changes far less often than it is read, so each result is kept with
//! the catalog version it was computed at ([`catalog_version`]: the newest stored change, the
//! number of certificates and the schema version). A read at the same version gets the kept
//! result. A read after the catalog changed gets the kept result too, while one refresh is
//! computed in the background (the caller starts it when [`Lookup::Stale`] says so); only a
//! result older than [`MAX_STALE`] is recomputed before answering, and so is one that is cheap
//! to compute ([`RECOMPUTE_BELOW`]). So a page shows what was true at most one computation
//! ago, and no reader waits for a costly aggregate except the very first.
//!
//! The version misses one case: deleting stored changes without adding any (which only a
//! purge does) leaves it unchanged; the next stored change refreshes every result.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use allmende_repo_thread::repo_actor::{RepoGone, RepoHandle};

/// Oldest result served while a refresh runs; older ones are recomputed before answering.
pub const MAX_STALE: Duration = Duration::from_secs(300);

/// Results that took less than this to compute are recomputed before answering after a
/// change, so a small catalog always shows the newest figures; only costlier ones are served
/// stale while they refresh.
pub const RECOMPUTE_BELOW: Duration = Duration::from_millis(50);

/// The catalog's version: changes only when a change or a certificate is stored, or when the
/// schema changes (the end of a large catch-up builds its deferred indexes and recounts the
/// deployments, see `SqliteStore::defer_indexes`).
pub fn catalog_version(conn: &Connection) -> rusqlite::Result<Version> {
    conn.query_row(
        "SELECT (SELECT coalesce(max(seq), 0) FROM changes), (SELECT count(*) FROM certificates),
                (SELECT schema_version FROM pragma_schema_version)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// What [`catalog_version`] returns: the newest change's sequence number, the number of
/// certificates and the schema version.
pub type Version = (i64, i64, i64);

/// What the cache holds for a key.
#[derive(Debug)]
pub enum Lookup<T> {
    /// Computed at the current version.
    Fresh(Arc<T>),
    /// Computed at an older version; the caller should refresh it (`true`) unless another
    /// refresh is running already (`false`).
    Stale(Arc<T>, bool),
    /// Nothing usable: compute it now.
    Missing,
}

struct Entry {
    version: Version,
    at: Instant,
    cost: Duration,
    refreshing: bool,
    value: Arc<dyn Any + Send + Sync>,
}

/// Results by key (the aggregate's name and its parameters).
#[derive(Default)]
pub struct AggregateCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("AggregateCache")
            .field("entries", &n)
            .finish()
    }
}

/// Most results kept; beyond it the oldest go (parameters such as a search scope multiply keys).
const MAX_ENTRIES: usize = 256;

impl AggregateCache {
    /// Looks `key` up for the catalog at `version`.
    pub fn lookup<T: Send + Sync + 'static>(&self, key: &str, version: Version) -> Lookup<T> {
        let Ok(mut entries) = self.entries.lock() else {
            return Lookup::Missing;
        };
        let Some(e) = entries.get_mut(key) else {
            return Lookup::Missing;
        };
        let Ok(value) = e.value.clone().downcast::<T>() else {
            return Lookup::Missing;
        };
        if e.version == version {
            Lookup::Fresh(value)
        } else if e.at.elapsed() < MAX_STALE && e.cost >= RECOMPUTE_BELOW {
            let start = !e.refreshing;
            e.refreshing = true;
            Lookup::Stale(value, start)
        } else {
            Lookup::Missing
        }
    }

    /// Keeps `value`, computed at `version` in `cost`, and returns it.
    pub fn store<T: Send + Sync + 'static>(
        &self,
        key: &str,
        version: Version,
        value: T,
        cost: Duration,
    ) -> Arc<T> {
        let value = Arc::new(value);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.at)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
            entries.insert(
                key.to_owned(),
                Entry {
                    version,
                    at: Instant::now(),
                    cost,
                    refreshing: false,
                    value: value.clone(),
                },
            );
        }
        value
    }

    /// A refresh of `key` failed: the next stale read may start another.
    pub fn refresh_failed(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some(e) = entries.get_mut(key)
        {
            e.refreshing = false;
        }
    }
}

/// Reads `key` through `cache`: `f` runs on the repository thread when nothing usable is
/// kept, and in the background (one refresh at a time) when a kept result is stale.
pub async fn cached<T, E>(
    repo: &RepoHandle,
    cache: &Arc<AggregateCache>,
    key: String,
    f: impl Fn(&Connection) -> Result<T, E> + Send + Sync + 'static,
) -> Result<Result<Arc<T>, E>, RepoGone>
where
    T: Send + Sync + 'static,
    E: From<rusqlite::Error> + std::fmt::Debug + Send + 'static,
{
    let f = Arc::new(f);
    let (c, f2, key2) = (cache.clone(), f.clone(), key.clone());
    let looked = repo
        .call(move |st| -> Result<(Arc<T>, bool), E> {
            let conn = st.repo().store().connection();
            let version = catalog_version(conn)?;
            Ok(match c.lookup::<T>(&key2, version) {
                Lookup::Fresh(v) => (v, false),
                Lookup::Stale(v, refresh) => (v, refresh),
                Lookup::Missing => {
                    let t = Instant::now();
                    let v = f2(conn)?;
                    (c.store(&key2, version, v, t.elapsed()), false)
                }
            })
        })
        .await?;
    let (value, refresh) = match looked {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    if refresh {
        let (repo, cache) = (repo.clone(), cache.clone());
        tokio::spawn(async move {
            let (k, c) = (key.clone(), cache.clone());
            let done = repo
                .call(move |st| -> Result<(), String> {
                    let conn = st.repo().store().connection();
                    let version = catalog_version(conn).map_err(|e| e.to_string())?;
                    let t = Instant::now();
                    let v = f(conn).map_err(|e| format!("{e:?}"))?;
                    cache.store(&key, version, v, t.elapsed());
                    Ok(())
                })
                .await;
            let failed = match done {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = failed {
                tracing::warn!(key = %k, error = %e, "refreshing an aggregate failed");
                c.refresh_failed(&k);
            }
        });
    }
    Ok(Ok(value))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn same_version_is_fresh_a_newer_one_is_stale_with_one_refresh() {
        let c = AggregateCache::default();
        assert!(matches!(c.lookup::<u32>("k", (1, 0, 0)), Lookup::Missing));
        let slow = RECOMPUTE_BELOW * 2;
        c.store("k", (1, 0, 0), 7u32, slow);
        match c.lookup::<u32>("k", (1, 0, 0)) {
            Lookup::Fresh(v) => assert_eq!(*v, 7),
            other => panic!("{other:?}"),
        }
        // The catalog changed: the old value, and exactly one caller is told to refresh.
        match c.lookup::<u32>("k", (2, 0, 0)) {
            Lookup::Stale(v, true) => assert_eq!(*v, 7),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.lookup::<u32>("k", (2, 0, 0)),
            Lookup::Stale(_, false)
        ));
        c.refresh_failed("k");
        assert!(matches!(
            c.lookup::<u32>("k", (2, 0, 0)),
            Lookup::Stale(_, true)
        ));
        c.store("k", (2, 0, 0), 8u32, slow);
        assert!(matches!(c.lookup::<u32>("k", (2, 0, 0)), Lookup::Fresh(v) if *v == 8));
        // A new certificate is a new version too.
        assert!(matches!(c.lookup::<u32>("k", (2, 1, 0)), Lookup::Stale(..)));
        // Another type under the same key is not confused with it.
        assert!(matches!(
            c.lookup::<String>("k", (2, 0, 0)),
            Lookup::Missing
        ));
    }

    #[test]
    fn a_cheap_result_is_recomputed_after_a_change() {
        let c = AggregateCache::default();
        c.store("k", (1, 0, 0), 7u32, Duration::from_millis(1));
        assert!(matches!(c.lookup::<u32>("k", (1, 0, 0)), Lookup::Fresh(_)));
        assert!(matches!(c.lookup::<u32>("k", (2, 0, 0)), Lookup::Missing));
    }

    #[test]
    fn the_number_of_results_is_bounded() {
        let c = AggregateCache::default();
        for i in 0..(MAX_ENTRIES + 10) {
            c.store(&format!("k{i}"), (1, 0, 0), i, Duration::ZERO);
        }
        assert_eq!(c.entries.lock().unwrap().len(), MAX_ENTRIES);
        assert!(matches!(
            c.lookup::<usize>(&format!("k{}", MAX_ENTRIES + 9), (1, 0, 0)),
            Lookup::Fresh(_)
        ));
    }

    #[test]
    fn the_version_moves_when_indexes_are_deferred_and_built_again() {
        let mut store = allmende_store::store::SqliteStore::open_in_memory().unwrap();
        let v0 = catalog_version(store.connection()).unwrap();
        assert!(!store.indexes_deferred().unwrap());
        store.defer_indexes().unwrap();
        assert!(store.indexes_deferred().unwrap());
        let v1 = catalog_version(store.connection()).unwrap();
        assert!(store.restore_indexes().unwrap());
        assert!(!store.indexes_deferred().unwrap());
        assert!(
            !store.restore_indexes().unwrap(),
            "nothing was left to build"
        );
        let v2 = catalog_version(store.connection()).unwrap();
        assert_ne!(v0, v1);
        assert_ne!(v1, v2);
    }
}
