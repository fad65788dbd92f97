//! `allmende backup` and `allmende restore`.
//!
//! A backup is a directory:
//! ```text
//! <backup>/
//!   allmende.db      consistent copy of the store (SQLite `VACUUM INTO`, one read transaction)
//!   identity.key     the organisation key, node.key, admin.token, members/ (unless without keys)
//!   manifest.json    written last: versions, counts and the SHA-256 of every file
//! ```
//! The copy is taken while the node runs: `VACUUM INTO` reads one snapshot of the database,
//! so writes that commit meanwhile are either wholly in it or wholly missing, never half.
//! [`verify`] checks the hashes and then runs the full store check (signatures included) on
//! a scratch copy, so the backup itself is never modified. [`restore`] verifies before it
//! writes anything. After a restore the node catches up from its peers with what was
//! written after the backup.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use allmende_store::datadir::DataDir;
use allmende_store::store::{SqliteStore, Store};

/// Format name in the manifest.
pub const FORMAT: &str = "allmende-backup";
/// Version of the backup layout.
pub const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DB: &str = "allmende.db";
const KEY: &str = "identity.key";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version ([`VERSION`]).
    pub version: u32,
    /// The Allmende version that wrote it.
    pub allmende_version: String,
    /// The store's schema version.
    pub schema_version: i64,
    /// When (UTC, ISO 8601).
    pub created_at: String,
    /// The organisation of the data directory, if it had one.
    pub organisation: Option<String>,
    /// Documents in the copy.
    pub documents: u64,
    /// Signed changes in the copy.
    pub changes: u64,
    /// Certificates in the copy.
    pub certificates: u64,
    /// Relative path → SHA-256 (hex) of every file besides the manifest.
    pub files: BTreeMap<String, String>,
}

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// SQLite refused the copy.
    #[error("copying the store: {0}")]
    Copy(#[from] rusqlite::Error),
    /// The store (live or copied) is unusable.
    #[error(transparent)]
    Store(#[from] allmende_store::store::StoreError),
    /// The copied store fails the integrity check.
    #[error("the backup's store fails the integrity check: {0}")]
    Integrity(String),
    /// The backup is incomplete, altered or of an unknown format.
    #[error("{0}")]
    Invalid(String),
    /// The target would be overwritten.
    #[error("{0}")]
    Refused(String),
    /// The data directory.
    #[error(transparent)]
    DataDir(#[from] allmende_store::datadir::DataDirError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sha256_file(path: &Path) -> Result<String, BackupError> {
    use std::io::Read;
    let mut f = fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The secret files of a data directory, as (path in the backup, path on disk).
fn key_files(dd: &DataDir) -> Result<Vec<(String, PathBuf)>, BackupError> {
    let root = dd.path();
    let mut out = vec![(KEY.to_owned(), dd.key_path())];
    for name in [crate::node::NODE_KEY_FILE, "admin.token"] {
        out.push((name.to_owned(), root.join(name)));
    }
    let members = root.join("members");
    if members.is_dir() {
        let mut names: Vec<String> = fs::read_dir(&members)
            .map_err(io(&members))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for n in names {
            out.push((format!("members/{n}"), members.join(&n)));
        }
    }
    Ok(out.into_iter().filter(|(_, p)| p.is_file()).collect())
}

fn copy_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let bytes = fs::read(from).map_err(io(from))?;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(to).map_err(io(to))?;
    f.write_all(&bytes).map_err(io(to))?;
    f.sync_all().map_err(io(to))
}

/// Makes a consistent backup of `dd` in `dest` (which must not exist, or be empty) while a
/// node may be running on it. `with_keys` includes the secret key and token files.
pub fn backup(dd: &DataDir, dest: &Path, with_keys: bool) -> Result<Manifest, BackupError> {
    let db = dd.db_path();
    if !db.is_file() {
        return Err(BackupError::Refused(format!(
            "{} holds no store to back up",
            dd.path().display()
        )));
    }
    if dest.exists() && fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
        return Err(BackupError::Refused(format!(
            "{} exists and is not empty; choose a new directory",
            dest.display()
        )));
    }
    fs::create_dir_all(dest).map_err(io(dest))?;
    #[cfg(unix)]
    fs::set_permissions(dest, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io(dest))?;
    let copy = dest.join(DB);
    {
        let conn = rusqlite::Connection::open_with_flags(
            &db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let target = copy.to_str().ok_or_else(|| {
            BackupError::Invalid(format!("{} is not valid UTF-8", copy.display()))
        })?;
        conn.execute("VACUUM INTO ?1", [target])?;
    }
    // The copy is a plain rollback-journal database; open it read-only for the counts.
    let (schema_version, counts) = {
        let conn = rusqlite::Connection::open_with_flags(
            &copy,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let count = |t: &str| -> Result<u64, rusqlite::Error> {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
        };
        (
            v,
            (
                count("documents")?,
                count("changes")?,
                count("certificates")?,
            ),
        )
    };
    let mut files = BTreeMap::new();
    files.insert(DB.to_owned(), sha256_file(&copy)?);
    if with_keys {
        for (rel, path) in key_files(dd)? {
            let to = dest.join(&rel);
            copy_private(&path, &to)?;
            files.insert(rel, sha256_file(&to)?);
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        allmende_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        created_at: allmende_formats::export::iso8601(allmende_store::now()),
        organisation: dd
            .is_initialised()
            .then(|| dd.identity().map(|i| format!("{:#}", i.org)))
            .transpose()?,
        documents: counts.0,
        changes: counts.1,
        certificates: counts.2,
        files,
    };
    let path = dest.join(MANIFEST);
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| BackupError::Invalid(e.to_string()))?;
    let mut f = fs::File::create(&path).map_err(io(&path))?;
    f.write_all(text.as_bytes()).map_err(io(&path))?;
    f.sync_all().map_err(io(&path))?;
    Ok(manifest)
}

/// Checks a backup: manifest format, every file's hash, and the full store check (on a
/// scratch copy). Returns the manifest.
pub fn verify(src: &Path) -> Result<Manifest, BackupError> {
    let path = src.join(MANIFEST);
    if !path.is_file() {
        return Err(BackupError::Invalid(format!(
            "{} has no manifest.json: not a backup, or the backup did not finish",
            src.display()
        )));
    }
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Invalid(format!("manifest.json: {e}")))?;
    if m.format != FORMAT || m.version != VERSION {
        return Err(BackupError::Invalid(format!(
            "manifest.json: format {} version {} is not {FORMAT} version {VERSION}",
            m.format, m.version
        )));
    }
    if !m.files.contains_key(DB) {
        return Err(BackupError::Invalid("the manifest lists no store".into()));
    }
    for (rel, want) in &m.files {
        if rel.split('/').any(|p| p == ".." || p.is_empty()) || rel.starts_with('/') {
            return Err(BackupError::Invalid(format!(
                "manifest.json: unsafe path {rel:?}"
            )));
        }
        let got = sha256_file(&src.join(rel))?;
        if &got != want {
            return Err(BackupError::Invalid(format!(
                "{rel} does not match its SHA-256 in manifest.json (altered or damaged)"
            )));
        }
    }
    let scratch = tempfile::tempdir().map_err(io(src))?;
    let copy = scratch.path().join(DB);
    fs::copy(src.join(DB), &copy).map_err(io(&copy))?;
    let store = SqliteStore::open(&copy)?;
    store
        .integrity_check()
        .map_err(|e| BackupError::Integrity(e.to_string()))?;
    let repo =
        allmende_store::repo::Repo::open(store, allmende_protocol::change::ReplicaId([0; 16]))
            .map_err(|e| BackupError::Integrity(e.to_string()))?;
    let report = repo
        .check_integrity()
        .map_err(|e| BackupError::Integrity(e.to_string()))?;
    if report.changes as u64 != m.changes || report.documents as u64 != m.documents {
        return Err(BackupError::Integrity(format!(
            "the store holds {} documents and {} changes, the manifest says {} and {}",
            report.documents, report.changes, m.documents, m.changes
        )));
    }
    Ok(m)
}

/// Restores a verified backup into `dd`. Refuses a data directory that holds a store, or
/// other key files, unless `force`: then what was there is moved aside with the suffix
/// `.before-restore-<now>`. The node must not run on `dd` meanwhile.
pub fn restore(src: &Path, dd: &DataDir, force: bool, now: i64) -> Result<Manifest, BackupError> {
    let m = verify(src)?;
    let root = dd.path();
    let target = |rel: &str| -> PathBuf {
        match rel {
            KEY => dd.key_path(),
            other => root.join(other),
        }
    };
    let mut in_the_way = Vec::new();
    for rel in m.files.keys() {
        let t = target(rel);
        if t.exists() && (rel == DB || sha256_file(&t)? != m.files[rel]) {
            in_the_way.push(t);
        }
    }
    if !in_the_way.is_empty() && !force {
        let list: Vec<String> = in_the_way.iter().map(|p| p.display().to_string()).collect();
        return Err(BackupError::Refused(format!(
            "the data directory already holds {}; restore into an empty directory, or use --force to move them aside",
            list.join(", ")
        )));
    }
    fs::create_dir_all(root).map_err(io(root))?;
    let aside = |p: &Path| -> Result<(), BackupError> {
        let mut to = p.as_os_str().to_owned();
        to.push(format!(".before-restore-{now}"));
        fs::rename(p, PathBuf::from(to)).map_err(io(p))
    };
    for p in &in_the_way {
        aside(p)?;
        if p.ends_with(DB) {
            for ext in ["-wal", "-shm"] {
                let mut side = p.as_os_str().to_owned();
                side.push(ext);
                let side = PathBuf::from(side);
                if side.exists() {
                    aside(&side)?;
                }
            }
        }
    }
    for rel in m.files.keys() {
        let t = target(rel);
        if t.exists() {
            continue; // identical key file
        }
        if rel == DB {
            let tmp = root.join(format!("{DB}.restoring"));
            let _ = fs::remove_file(&tmp);
            copy_private(&src.join(rel), &tmp)?;
            fs::rename(&tmp, &t).map_err(io(&t))?;
        } else {
            copy_private(&src.join(rel), &t)?;
        }
    }
    // Opening migrates a backup of an older schema version.
    SqliteStore::open(&dd.db_path())?;
    Ok(m)
}
