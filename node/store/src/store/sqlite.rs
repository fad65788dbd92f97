//! The SQLite backend (bundled SQLite, WAL, `synchronous=FULL`).
//!
//! Durability: with WAL and `synchronous=FULL` a transaction is on disk when `COMMIT`
//! returns, so a change acknowledged to the user survives `kill -9` and power loss.
//!
//! Schema versions live in `PRAGMA user_version`; [`MIGRATIONS`] lists the steps from each
//! version to the next. A store newer than this binary is refused, never downgraded.

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::doc::DocHeader;
use allmende_protocol::gv100ad;
use allmende_protocol::ids::{DocId, PublicKey};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{
    Batch, CertKind, Committed, Counts, KeyRecord, Store, StoreError, StoredCert, StoredChange,
    StoredDoc,
};

/// Fills the deployment counts of `idx_usage` and `idx_usage_region` from the index rows
/// (migration 3 -> 4, and [`SqliteStore::restore_indexes`] after a large catch-up).
macro_rules! usage_fill {
    () => {
        "
    INSERT INTO idx_usage (product, deployments, in_use)
        SELECT product, count(*), sum(status IN ('production', 'pilot')) FROM idx_deployment GROUP BY product;
    INSERT INTO idx_usage_region (level, region, product, deployments)
        SELECT 'land', o.land, d.product, count(*) FROM idx_deployment d JOIN idx_org o ON o.org = d.org
        WHERE o.land IS NOT NULL GROUP BY o.land, d.product;
    INSERT INTO idx_usage_region (level, region, product, deployments)
        SELECT 'kreis', o.kreis, d.product, count(*) FROM idx_deployment d JOIN idx_org o ON o.org = d.org
        WHERE o.kreis IS NOT NULL GROUP BY o.kreis, d.product;
    "
    };
}

/// The triggers that keep the deployment counts as index rows come and go (migration 3 -> 4,
/// and [`SqliteStore::restore_indexes`]).
macro_rules! usage_triggers {
    () => {
        "
    CREATE TRIGGER idx_usage_deployment_added AFTER INSERT ON idx_deployment BEGIN
        INSERT INTO idx_usage (product, deployments, in_use)
            VALUES (new.product, 1, new.status IN ('production', 'pilot'))
            ON CONFLICT (product) DO UPDATE
            SET deployments = deployments + 1, in_use = in_use + excluded.in_use;
        INSERT INTO idx_usage_region (level, region, product, deployments)
            SELECT 'land', land, new.product, 1 FROM idx_org WHERE org = new.org AND land IS NOT NULL
            UNION ALL
            SELECT 'kreis', kreis, new.product, 1 FROM idx_org WHERE org = new.org AND kreis IS NOT NULL
            ON CONFLICT (level, region, product) DO UPDATE SET deployments = deployments + 1;
    END;
    CREATE TRIGGER idx_usage_deployment_removed AFTER DELETE ON idx_deployment BEGIN
        UPDATE idx_usage
            SET deployments = deployments - 1, in_use = in_use - (old.status IN ('production', 'pilot'))
            WHERE product = old.product;
        UPDATE idx_usage_region SET deployments = deployments - 1
            WHERE level = 'land' AND region = (SELECT land FROM idx_org WHERE org = old.org)
                AND product = old.product;
        UPDATE idx_usage_region SET deployments = deployments - 1
            WHERE level = 'kreis' AND region = (SELECT kreis FROM idx_org WHERE org = old.org)
                AND product = old.product;
    END;
    CREATE TRIGGER idx_usage_org_added AFTER INSERT ON idx_org BEGIN
        INSERT INTO idx_usage_region (level, region, product, deployments)
            SELECT 'land', new.land, product, count(*) FROM idx_deployment
                WHERE org = new.org AND new.land IS NOT NULL GROUP BY product
            UNION ALL
            SELECT 'kreis', new.kreis, product, count(*) FROM idx_deployment
                WHERE org = new.org AND new.kreis IS NOT NULL GROUP BY product
            ON CONFLICT (level, region, product) DO UPDATE
            SET deployments = deployments + excluded.deployments;
    END;
    CREATE TRIGGER idx_usage_org_removed AFTER DELETE ON idx_org BEGIN
        UPDATE idx_usage_region SET deployments = deployments - (
                SELECT count(*) FROM idx_deployment d
                WHERE d.org = old.org AND d.product = idx_usage_region.product)
            WHERE level = 'land' AND region = old.land
                AND product IN (SELECT product FROM idx_deployment WHERE org = old.org);
        UPDATE idx_usage_region SET deployments = deployments - (
                SELECT count(*) FROM idx_deployment d
                WHERE d.org = old.org AND d.product = idx_usage_region.product)
            WHERE level = 'kreis' AND region = old.kreis
                AND product IN (SELECT product FROM idx_deployment WHERE org = old.org);
    END;
    "
    };
}

/// Migration `i` takes the store from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "
    CREATE TABLE documents (
        id       BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 32),
        header   BLOB NOT NULL,
        kind     INTEGER NOT NULL,
        owner    BLOB NOT NULL CHECK (length(owner) = 32),
        snapshot BLOB NOT NULL,
        heads    BLOB NOT NULL CHECK (length(heads) % 32 = 0)
    ) WITHOUT ROWID;
    CREATE INDEX documents_owner ON documents (owner, kind);
    CREATE TABLE changes (
        seq     INTEGER PRIMARY KEY,
        doc     BLOB NOT NULL REFERENCES documents (id),
        hash    BLOB NOT NULL CHECK (length(hash) = 32),
        signer  BLOB NOT NULL CHECK (length(signer) = 32),
        encoded BLOB NOT NULL,
        UNIQUE (doc, hash)
    );
    CREATE INDEX changes_signer ON changes (signer);
    CREATE TABLE certificates (
        kind    TEXT NOT NULL CHECK (kind IN ('delegation', 'revocation')),
        encoded BLOB NOT NULL,
        PRIMARY KEY (kind, encoded)
    ) WITHOUT ROWID;
    CREATE TABLE keys (
        key   BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),
        role  TEXT NOT NULL,
        label TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // 1 -> 2: the catalog index (derived from the documents; rebuilt when marked stale).
    "
    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('index_stale', '1');
    CREATE TABLE idx_org (
        doc BLOB PRIMARY KEY NOT NULL, org BLOB NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
        ags TEXT, land TEXT, kreis TEXT, population INTEGER, it_dienstleister BLOB, json TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX idx_org_org ON idx_org (org);
    CREATE TABLE idx_product (
        id INTEGER PRIMARY KEY, doc BLOB UNIQUE NOT NULL, created_by BLOB NOT NULL, name TEXT NOT NULL,
        vendor TEXT NOT NULL, kind TEXT NOT NULL, licence TEXT, open_source INTEGER, json TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE idx_product_fts USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2');
    CREATE TABLE idx_product_facet (
        doc BLOB NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (doc, facet, value)
    ) WITHOUT ROWID;
    CREATE INDEX idx_product_facet_value ON idx_product_facet (facet, value);
    CREATE TABLE idx_product_same (doc BLOB PRIMARY KEY NOT NULL, same BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE idx_deployment (
        doc BLOB NOT NULL, key TEXT NOT NULL, org BLOB NOT NULL, product BLOB NOT NULL, status TEXT NOT NULL,
        operated_by TEXT NOT NULL, end_to_end INTEGER, cost_once INTEGER, cost_yearly INTEGER, json TEXT NOT NULL,
        PRIMARY KEY (doc, key)
    ) WITHOUT ROWID;
    CREATE INDEX idx_deployment_product ON idx_deployment (product);
    CREATE INDEX idx_deployment_org ON idx_deployment (org);
    CREATE TABLE idx_deployment_task (
        doc BLOB NOT NULL, key TEXT NOT NULL, task TEXT NOT NULL, PRIMARY KEY (doc, key, task)
    ) WITHOUT ROWID;
    CREATE TABLE idx_integration (
        doc BLOB NOT NULL, key TEXT NOT NULL, product BLOB NOT NULL, other BLOB NOT NULL,
        standard TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (doc, key, other, standard)
    ) WITHOUT ROWID;
    CREATE TABLE idx_rating (
        doc BLOB NOT NULL, key TEXT NOT NULL, org BLOB NOT NULL, product BLOB NOT NULL, recommend INTEGER,
        json TEXT NOT NULL, PRIMARY KEY (doc, key)
    ) WITHOUT ROWID;
    CREATE INDEX idx_rating_product ON idx_rating (product);
    CREATE TABLE idx_rating_score (
        doc BLOB NOT NULL, key TEXT NOT NULL, org BLOB NOT NULL, product BLOB NOT NULL, dimension TEXT NOT NULL,
        score INTEGER NOT NULL, PRIMARY KEY (doc, key, dimension)
    ) WITHOUT ROWID;
    CREATE INDEX idx_rating_score_product ON idx_rating_score (product, dimension);
    CREATE TABLE idx_reuse (
        doc BLOB NOT NULL, key TEXT NOT NULL, org BLOB NOT NULL, product BLOB NOT NULL, provider BLOB,
        efa INTEGER NOT NULL, effort_person_days INTEGER, cost_once INTEGER, cost_yearly INTEGER, weeks INTEGER,
        outcome TEXT NOT NULL, recommend INTEGER, json TEXT NOT NULL, PRIMARY KEY (doc, key)
    ) WITHOUT ROWID;
    CREATE INDEX idx_reuse_product ON idx_reuse (product);
    CREATE TABLE idx_attestation (
        doc BLOB NOT NULL, anchor BLOB NOT NULL, org BLOB NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
        ags TEXT, json TEXT NOT NULL, PRIMARY KEY (doc, org)
    ) WITHOUT ROWID;
    CREATE INDEX idx_attestation_org ON idx_attestation (org);
    ",
    // 2 -> 3 (Allmende 0.2): when this node stored each change (unknown for older rows), so
    // operators can see when a node last received anything.
    "
    ALTER TABLE changes ADD COLUMN received_at INTEGER;
    CREATE INDEX changes_received ON changes (received_at);
    ",
    // 3 -> 4: deployment counts per product, and per product and Land or Kreis, kept by
    // triggers as index rows come and go, so that search can filter by region and show usage
    // without reading every deployment (2M at full scale). Filled from the rows already there.
    concat!(
        "
    CREATE TABLE idx_usage (
        product BLOB PRIMARY KEY NOT NULL, deployments INTEGER NOT NULL, in_use INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE idx_usage_region (
        level TEXT NOT NULL, region TEXT NOT NULL, product BLOB NOT NULL, deployments INTEGER NOT NULL,
        PRIMARY KEY (level, region, product)
    ) WITHOUT ROWID;
",
        usage_fill!(),
        usage_triggers!()
    ),
    // 4 -> 5: integrations by the product they point at, for a product page's integrations
    // in both directions (the other direction is found through the product's deployments);
    // without it each product page scanned every integration (1.7M at full scale).
    "
    CREATE INDEX idx_integration_other ON idx_integration (other);
    ",
    // 5 -> 6: deployments by product with their status, and by organisation with the
    // product, so that the deployment counts are read from these two indexes alone. The end
    // of a large catch-up counts them so (see `SqliteStore::restore_indexes`); from the table
    // it took 28 s at full scale.
    "
    DROP INDEX IF EXISTS idx_deployment_product;
    CREATE INDEX idx_deployment_product ON idx_deployment (product, status);
    DROP INDEX IF EXISTS idx_deployment_org;
    CREATE INDEX idx_deployment_org ON idx_deployment (org, product);
    ",
    // 6 -> 7: proofs of equivocation are certificates too (a CHECK constraint cannot be
    // altered, so the table is built again).
    "
    CREATE TABLE certificates_7 (
        kind    TEXT NOT NULL CHECK (kind IN ('delegation', 'revocation', 'equivocation')),
        encoded BLOB NOT NULL,
        PRIMARY KEY (kind, encoded)
    ) WITHOUT ROWID;
    INSERT INTO certificates_7 (kind, encoded) SELECT kind, encoded FROM certificates;
    DROP TABLE certificates;
    ALTER TABLE certificates_7 RENAME TO certificates;
    ",
    // 7 -> 8: products are shown as their stewards set them (`stewardship`); the index
    // is rebuilt under that rule.
    "UPDATE meta SET value = '1' WHERE key = 'index_stale';",
    // 8 -> 9: the Gemeindeverzeichnis (reference data, not signed, not synced): filled from
    // the directory compiled in when a store opens without one, replaced by
    // `allmende import gv100ad`. Its territorial status is `meta.gv100ad_status`. Products'
    // search text also goes into a trigram index (parts of compounds, `search_text`) and
    // now holds task names, so the index is built again.
    "
    CREATE TABLE ref_land (key TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE ref_kreis (
        key TEXT PRIMARY KEY, land TEXT NOT NULL, name TEXT NOT NULL,
        textkennzeichen INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE ref_gemeinde (
        ags TEXT PRIMARY KEY, ars TEXT NOT NULL, kreis TEXT NOT NULL, land TEXT NOT NULL,
        name TEXT NOT NULL, textkennzeichen INTEGER NOT NULL, area_ha INTEGER NOT NULL,
        population INTEGER NOT NULL, postcode TEXT
    ) WITHOUT ROWID;
    CREATE INDEX ref_gemeinde_kreis ON ref_gemeinde (kreis);
    CREATE VIRTUAL TABLE idx_product_tri USING fts5 (text, tokenize = 'trigram');
    CREATE VIRTUAL TABLE idx_product_vocab USING fts5vocab (idx_product_fts, row);
    UPDATE meta SET value = '1' WHERE key = 'index_stale';
    ",
    // 9 -> 10: the names of LeiKa Leistungen and OZG-Leistungen (the compiled-in OZG/LeiKa
    // catalogue, `meta.ozg_catalogue` names its edition), for read-only SQL and the exports.
    "
    CREATE TABLE ref_task (
        task TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, ozg INTEGER,
        lebenslage INTEGER, themenfeld TEXT
    ) WITHOUT ROWID;
    ",
    // 10 -> 11: training offers and their ratings (experience documents' `trainings` and
    // `training_ratings`); deployments gained contact, end and replacement fields, read from
    // their JSON. The index is built again so that offers already received appear.
    "
    CREATE TABLE idx_training (
        doc BLOB NOT NULL, key TEXT NOT NULL, org BLOB NOT NULL, product BLOB NOT NULL,
        format TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (doc, key)
    ) WITHOUT ROWID;
    CREATE INDEX idx_training_product ON idx_training (product);
    CREATE TABLE idx_training_rating (
        doc BLOB NOT NULL, key TEXT NOT NULL, org BLOB NOT NULL, offer_org BLOB NOT NULL,
        offer TEXT NOT NULL, score INTEGER NOT NULL, recommend INTEGER, json TEXT NOT NULL,
        PRIMARY KEY (doc, key)
    ) WITHOUT ROWID;
    CREATE INDEX idx_training_rating_offer ON idx_training_rating (offer_org, offer);
    CREATE INDEX idx_deployment_replaced ON idx_deployment (json_extract(json, '$.replaced_by'))
        WHERE status = 'retired';
    UPDATE meta SET value = '1' WHERE key = 'index_stale';
    ",
    // Following changes (`store/follow.rs`, `watch.rs`; docs/feeds.md), local and never
    // sent: when each indexed record last changed as this node saw it (filled by the index
    // rebuild this step asks for), the watch lists of the node's organisations and their
    // last visits of the watch list and the notices.
    "
    CREATE TABLE follow_seen (
        kind TEXT NOT NULL, doc BLOB NOT NULL, key TEXT NOT NULL, digest INTEGER NOT NULL,
        changed_at INTEGER NOT NULL, noticed_at INTEGER NOT NULL,
        PRIMARY KEY (doc, kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX follow_seen_changed ON follow_seen (changed_at);
    CREATE TABLE follow_watch (
        owner BLOB NOT NULL CHECK (length(owner) = 32),
        kind TEXT NOT NULL CHECK (kind IN ('product', 'task', 'org', 'kreis', 'land')),
        target TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 120),
        added_at INTEGER NOT NULL,
        PRIMARY KEY (owner, kind, target)
    ) WITHOUT ROWID;
    CREATE TABLE follow_visit (
        owner BLOB NOT NULL CHECK (length(owner) = 32),
        page TEXT NOT NULL CHECK (page IN ('watch', 'notices')),
        visited_at INTEGER NOT NULL,
        PRIMARY KEY (owner, page)
    ) WITHOUT ROWID;
    UPDATE meta SET value = '1' WHERE key = 'index_stale';
    ",
];

/// The page cache of a store connection, in KiB (a negative `cache_size` counts KiB).
const CACHE_KIB: i64 = 64 * 1024;

/// Indexes that serve only reads by product (a product page, its figures) and that a large
/// catch-up drops and builds again at its end ([`SqliteStore::defer_indexes`]): name and
/// definition, as the migrations above create them. Their keys are product ids in no order,
/// so each stored document inserts rows at some hundred places spread over them, and at full
/// scale these inserts took half the catch-up; building an index once sorts its rows.
const DEFERRABLE_INDEXES: &[(&str, &str)] = &[
    ("idx_deployment_product", "idx_deployment (product, status)"),
    ("idx_integration_other", "idx_integration (other)"),
    ("idx_rating_product", "idx_rating (product)"),
    (
        "idx_rating_score_product",
        "idx_rating_score (product, dimension)",
    ),
    ("idx_reuse_product", "idx_reuse (product)"),
];

/// The triggers of `usage_triggers!`. A large catch-up drops them too and counts the
/// deployments afresh at its end: each stored deployment updated two counts, one of them in a
/// table of 600,000 rows at full scale.
const USAGE_TRIGGERS: &[&str] = &[
    "idx_usage_deployment_added",
    "idx_usage_deployment_removed",
    "idx_usage_org_added",
    "idx_usage_org_removed",
];

/// The edition of the compiled-in OZG/LeiKa catalogue (the first line of its data file).
fn ozg_edition() -> &'static str {
    allmende_protocol::ozg::EDITION
}

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    /// Row counts with the `PRAGMA data_version` they were read at. `count(*)` reads a whole
    /// table (some 20 ms for 2M changes, far more when cold) and status is polled, so this
    /// connection's own commits update the counts, and a full count runs only after another
    /// connection wrote (which moves `data_version`).
    counts: Cell<Option<(i64, Counts)>>,
}

fn map_busy(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Locked
        }
        _ => StoreError::Sqlite(e),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Self::setup(conn)
    }

    /// A private in-memory database with the same schema (for tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // A commit uses some 30 cached statements (a delete and an insert per index table);
        // with rusqlite's default of 16 they were compiled again for every document.
        conn.set_prepared_statement_cache_capacity(128);
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(map_busy)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoint every 4,096 WAL pages (16 MiB) rather than 1,000: index pages that
        // change in many commits in a row (a catch-up) are copied back once, not each time.
        conn.pragma_update(None, "wal_autocheckpoint", 4096)?;
        // SQLite's default page cache is 2 MiB. 64 MiB is what the full-scale catch-up was
        // measured with (runs I and K in docs/benchmarks.md); it also bounds the in-memory
        // sort of the index rebuild at the end of a large catch-up. Not measured on its own.
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        let mut store = Self {
            conn,
            counts: Cell::new(None),
        };
        if store.gemeindeverzeichnis_status()?.is_none() {
            store.replace_gemeindeverzeichnis(gv100ad::shipped())?;
        }
        store.fill_task_names()?;
        Ok(store)
    }

    /// Writes the names of the compiled-in OZG/LeiKa catalogue into `ref_task` when the store
    /// holds another edition or none.
    fn fill_task_names(&mut self) -> Result<(), StoreError> {
        use allmende_protocol::ozg::Catalogue;
        let c = Catalogue::shipped();
        let edition = format!(
            "{} ({} LeiKa, {} OZG)",
            ozg_edition(),
            c.leika.len(),
            c.ozg.len()
        );
        let held: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'ozg_catalogue'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if held.as_deref() == Some(edition.as_str()) {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        tx.execute("DELETE FROM ref_task", [])?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO ref_task (task, name, kind, ozg, lebenslage, themenfeld)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for o in c.ozg.values() {
                insert.execute(params![
                    format!("ozg:{}", o.id),
                    o.name,
                    "ozg",
                    o.id,
                    o.lebenslage,
                    o.themenfeld.trim()
                ])?;
            }
            for l in c.leika.values() {
                let o = l.ozg.and_then(|id| c.ozg.get(&id));
                insert.execute(params![
                    l.key,
                    l.name,
                    "leika",
                    l.ozg,
                    o.and_then(|o| o.lebenslage),
                    o.map(|o| o.themenfeld.trim())
                ])?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('ozg_catalogue', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [&edition],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The territorial status (`YYYYMMDD`) of the Gemeindeverzeichnis in the store.
    pub fn gemeindeverzeichnis_status(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'gv100ad_status'",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Replaces the Gemeindeverzeichnis in one transaction (`allmende import gv100ad`).
    pub fn replace_gemeindeverzeichnis(
        &mut self,
        v: &gv100ad::Gemeindeverzeichnis,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        tx.execute_batch("DELETE FROM ref_gemeinde; DELETE FROM ref_kreis; DELETE FROM ref_land;")?;
        {
            let mut land = tx.prepare("INSERT INTO ref_land (key, name) VALUES (?1, ?2)")?;
            for l in v.laender.values() {
                land.execute(params![l.key, l.name])?;
            }
            let mut kreis = tx.prepare(
                "INSERT INTO ref_kreis (key, land, name, textkennzeichen) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for k in v.kreise.values() {
                kreis.execute(params![k.key, &k.key[..2], k.name, k.textkennzeichen])?;
            }
            let mut gemeinde = tx.prepare(
                "INSERT INTO ref_gemeinde (ags, ars, kreis, land, name, textkennzeichen, area_ha,
                     population, postcode) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for g in v.gemeinden.values() {
                gemeinde.execute(params![
                    g.ags,
                    g.ars,
                    &g.ags[..5],
                    &g.ags[..2],
                    g.name,
                    g.textkennzeichen,
                    i64::try_from(g.area_ha).unwrap_or(i64::MAX),
                    i64::try_from(g.population).unwrap_or(i64::MAX),
                    g.postcode
                ])?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('gv100ad_status', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [&v.status],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A number that changes whenever *another* connection (another process, e.g. the CLI
    /// writing while `allmende run` serves) commits to the database.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Drops the indexes of `DEFERRABLE_INDEXES` and the triggers that keep the deployment
    /// counts, for a large catch-up: its documents are then stored without updating them, and
    /// [`Self::restore_indexes`] builds them again. Meanwhile queries by product read whole
    /// tables, and the deployment counts (search's usage figures and region filter) stand
    /// where they were.
    pub fn defer_indexes(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        for (name, _) in DEFERRABLE_INDEXES {
            tx.execute(&format!("DROP INDEX IF EXISTS {name}"), [])?;
        }
        for name in USAGE_TRIGGERS {
            tx.execute(&format!("DROP TRIGGER IF EXISTS {name}"), [])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Builds what [`Self::defer_indexes`] dropped, if anything is missing (also after a
    /// crash during a catch-up), in one transaction. Returns whether it built anything.
    pub fn restore_indexes(&mut self) -> Result<bool, StoreError> {
        if !self.indexes_deferred()? {
            return Ok(false);
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        for (name, on) in DEFERRABLE_INDEXES {
            if !index_exists(&tx, name)? {
                // The same text as the migration's, so the schema reads the same.
                tx.execute(&format!("CREATE INDEX {name} ON {on}"), [])?;
            }
        }
        for name in USAGE_TRIGGERS {
            tx.execute(&format!("DROP TRIGGER IF EXISTS {name}"), [])?;
        }
        tx.execute_batch(concat!(
            "DELETE FROM idx_usage; DELETE FROM idx_usage_region;",
            usage_fill!(),
            usage_triggers!()
        ))?;
        tx.commit()?;
        Ok(true)
    }

    /// Whether some index or trigger [`Self::defer_indexes`] drops is missing.
    pub fn indexes_deferred(&self) -> Result<bool, StoreError> {
        for name in DEFERRABLE_INDEXES
            .iter()
            .map(|(n, _)| n)
            .chain(USAGE_TRIGGERS)
        {
            if !index_exists(&self.conn, name)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The connection, for the read-side queries of `allmende_catalog::query`.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// When this node last stored a change (Unix seconds), if it stored any since 0.2.
    pub fn last_received_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT max(received_at) FROM changes", [], |r| r.get(0))?)
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(map_busy)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 0 {
        return Err(StoreError::Corrupt(format!(
            "negative schema version {version}"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(step)?;
        tracing::info!(from = i, to = i + 1, "migrated store schema");
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Whether the schema has an index or trigger called `name`.
fn index_exists(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM sqlite_schema WHERE type IN ('index', 'trigger') AND name = ?1",
        )?
        .exists([name])?)
}

fn hash_from(blob: Vec<u8>) -> Result<ChangeHash, StoreError> {
    ChangeHash::try_from(blob.as_slice())
        .map_err(|_| StoreError::Corrupt("change hash is not 32 bytes".into()))
}

fn heads_to_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn heads_from_blob(blob: &[u8]) -> Result<Vec<ChangeHash>, StoreError> {
    blob.chunks(32).map(|c| hash_from(c.to_vec())).collect()
}

fn key_from(blob: Vec<u8>) -> Result<PublicKey, StoreError> {
    let arr: [u8; 32] = blob
        .try_into()
        .map_err(|_| StoreError::Corrupt("key is not 32 bytes".into()))?;
    PublicKey::from_bytes(arr).map_err(|e| StoreError::Corrupt(format!("stored key: {e}")))
}

fn header_from(blob: &[u8]) -> Result<DocHeader, StoreError> {
    DocHeader::decode(blob).map_err(|e| StoreError::Corrupt(format!("document header: {e}")))
}

impl Store for SqliteStore {
    fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let mut out = Committed::default();
        let (mut new_docs, mut removed) = (0u64, 0u64);
        {
            let mut doc_known = tx.prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?;
            let mut put_doc = tx.prepare_cached(
                "INSERT INTO documents (id, header, kind, owner, snapshot, heads) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads",
            )?;
            for d in &batch.docs {
                if !doc_known.exists([d.header.id().as_bytes().as_slice()])? {
                    new_docs += 1;
                }
                put_doc.execute(params![
                    d.header.id().as_bytes().as_slice(),
                    d.header.encode(),
                    d.header.kind.tag(),
                    d.header.owner.as_bytes().as_slice(),
                    d.snapshot,
                    heads_to_blob(&d.heads),
                ])?;
            }
            let mut put_change = tx.prepare_cached(
                "INSERT INTO changes (doc, hash, signer, encoded, received_at) VALUES (?1, ?2, ?3, ?4, unixepoch()) ON CONFLICT DO NOTHING",
            )?;
            let in_batch: std::collections::HashSet<DocId> =
                batch.docs.iter().map(|d| d.header.id()).collect();
            for c in &batch.changes {
                if !in_batch.contains(&c.doc) && !doc_known.exists([c.doc.as_bytes().as_slice()])? {
                    // Dropping the transaction rolls back everything above.
                    return Err(StoreError::UnknownDocument(c.doc));
                }
                out.new_changes += put_change.execute(params![
                    c.doc.as_bytes().as_slice(),
                    c.hash.0.as_slice(),
                    c.signer.as_bytes().as_slice(),
                    c.encoded,
                ])?;
            }
            let mut put_cert = tx.prepare_cached(
                "INSERT INTO certificates (kind, encoded) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for c in &batch.certs {
                out.new_certs += put_cert.execute(params![c.kind.as_str(), c.encoded])?;
            }
            let mut put_key = tx.prepare_cached(
                "INSERT INTO keys (key, role, label) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET role = excluded.role, label = excluded.label",
            )?;
            for k in &batch.keys {
                put_key.execute(params![k.key.as_bytes().as_slice(), k.role, k.label])?;
            }
        }
        if batch.reindex_all {
            super::sqlite_index::clear(&tx)?;
            tx.execute("UPDATE meta SET value = '0' WHERE key = 'index_stale'", [])?;
        }
        for idx in &batch.index {
            super::sqlite_index::replace(&tx, idx)?;
        }
        for (key, value) in &batch.meta {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        {
            let mut remove =
                tx.prepare_cached("DELETE FROM changes WHERE doc = ?1 AND hash = ?2")?;
            for (doc, hash) in &batch.removed {
                removed +=
                    remove.execute(params![doc.as_bytes().as_slice(), hash.0.as_slice()])? as u64;
            }
        }
        tx.commit()?;
        if let Some((version, mut c)) = self.counts.get() {
            c.documents += new_docs;
            c.changes = (c.changes + out.new_changes as u64).saturating_sub(removed);
            c.certificates += out.new_certs as u64;
            self.counts.set(Some((version, c)));
        }
        Ok(out)
    }

    fn heads(&self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let heads: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
            .query_row([id.as_bytes().as_slice()], |r| r.get(0))
            .optional()?;
        heads.map(|h| heads_from_blob(&h)).transpose()
    }

    fn document(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT header, snapshot, heads FROM documents WHERE id = ?1")?
            .query_row([id.as_bytes().as_slice()], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?;
        let Some((header, snapshot, heads)) = row else {
            return Ok(None);
        };
        let header = header_from(&header)?;
        if header.id() != *id {
            return Err(StoreError::Corrupt(format!(
                "document {id} is filed under the wrong id"
            )));
        }
        Ok(Some(StoredDoc {
            header,
            snapshot,
            heads: heads_from_blob(&heads)?,
        }))
    }

    fn headers(&self) -> Result<Vec<DocHeader>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT header FROM documents ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|r| header_from(&r?)).collect()
    }

    fn all_heads(&self) -> Result<Vec<(DocHeader, Vec<ChangeHash>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT header, heads FROM documents ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        rows.map(|r| {
            let (header, heads) = r?;
            Ok((header_from(&header)?, heads_from_blob(&heads)?))
        })
        .collect()
    }

    fn changes(&self, doc: &DocId) -> Result<Vec<StoredChange>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, signer, encoded FROM changes WHERE doc = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([doc.as_bytes().as_slice()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        rows.map(|r| {
            let (hash, signer, encoded) = r?;
            Ok(StoredChange {
                doc: *doc,
                hash: hash_from(hash)?,
                signer: key_from(signer)?,
                encoded,
            })
        })
        .collect()
    }

    fn docs_signed_by(&self, key: &PublicKey) -> Result<Vec<DocId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT doc FROM changes WHERE signer = ?1 ORDER BY doc")?;
        let rows = stmt.query_map([key.as_bytes().as_slice()], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|r| {
            let arr: [u8; 32] = r?
                .try_into()
                .map_err(|_| StoreError::Corrupt("document id is not 32 bytes".into()))?;
            Ok(DocId::from_bytes(arr))
        })
        .collect()
    }

    fn has_change(&self, doc: &DocId, hash: &ChangeHash) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM changes WHERE doc = ?1 AND hash = ?2")?
            .exists(params![doc.as_bytes().as_slice(), hash.0.as_slice()])?)
    }

    fn certs(&self) -> Result<Vec<StoredCert>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, encoded FROM certificates ORDER BY kind, encoded")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out: Vec<StoredCert> = rows
            .map(|r| {
                let (kind, encoded) = r?;
                Ok(StoredCert {
                    kind: CertKind::parse(&kind)?,
                    encoded,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        out.sort();
        Ok(out)
    }

    fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, role, label FROM keys ORDER BY key")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        rows.map(|r| {
            let (key, role, label) = r?;
            Ok(KeyRecord {
                key: key_from(key)?,
                role,
                label,
            })
        })
        .collect()
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let version = self.data_version()?;
        if let Some((v, c)) = self.counts.get()
            && v == version
        {
            return Ok(c);
        }
        let count = |table: &str| -> Result<u64, StoreError> {
            Ok(self
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })? as u64)
        };
        let c = Counts {
            documents: count("documents")?,
            changes: count("changes")?,
            certificates: count("certificates")?,
        };
        self.counts.set(Some((version, c)));
        Ok(c)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn needs_reindex(&self) -> Result<bool, StoreError> {
        let stale: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'index_stale'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(stale.as_deref() != Some("0"))
    }

    fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if result != "ok" {
            return Err(StoreError::Corrupt(format!(
                "SQLite integrity check: {result}"
            )));
        }
        let fk_violations: i64 =
            self.conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
        if fk_violations > 0 {
            return Err(StoreError::Corrupt(format!(
                "{fk_violations} foreign key violations"
            )));
        }
        Ok(())
    }
}
