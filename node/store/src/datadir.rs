//! The node's data directory: its identity (secret key file) and its store.
//!
//! ```text
//! <data dir>/
//!   identity.key   secret key, mode 0600, written once by `allmende init`
//!   allmende.db    SQLite store (+ -wal, -shm)
//! ```
//!
//! The data dir comes from `--data-dir`, else `ALLMENDE_DATA_DIR`, else
//! `$XDG_DATA_HOME/allmende`, else `~/.local/share/allmende`.

use std::fs::{self, OpenOptions};
use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use allmende_protocol::change::ReplicaId;
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{OrgId, PublicKey};

use crate::repo::{Repo, RepoError};
use crate::store::SqliteStore;

const KEY_FILE: &str = "identity.key";
const DB_FILE: &str = "allmende.db";
const KEY_MAGIC: &str = "allmende-secret-key-v1";
const TOKEN_FILE: &str = "admin.token";
const MEMBERS_DIR: &str = "members";

/// Errors of the data directory.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// `init` found an identity already.
    #[error("{0} already holds an identity; refusing to overwrite it (choose another --data-dir)")]
    AlreadyInitialised(PathBuf),
    /// No identity yet.
    #[error("{0} holds no identity yet: run `allmende init --name NAME --kind KIND` first")]
    NotInitialised(PathBuf),
    /// The key file is unreadable or malformed.
    #[error("key file {path}: {reason}")]
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No usable default location.
    #[error("no data directory: set --data-dir or ALLMENDE_DATA_DIR (HOME is not set)")]
    NoDefault,
    /// The operating system's randomness failed.
    #[error("cannot draw random bytes: {0}")]
    Random(String),
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Store error.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The default data directory for this user.
pub fn default_data_dir() -> Result<PathBuf, DataDirError> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("allmende"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or(DataDirError::NoDefault)?;
    Ok(PathBuf::from(home).join(".local/share/allmende"))
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], DataDirError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| DataDirError::Random(e.to_string()))?;
    Ok(buf)
}

/// Who this node signs as.
#[derive(Debug)]
pub struct Identity {
    /// The signing key.
    pub keypair: Keypair,
    /// The organisation it acts for.
    pub org: OrgId,
}

/// A data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    member: Option<OrgId>,
    key_file: Option<PathBuf>,
}

impl DataDir {
    /// The data directory at `root` (nothing is created yet).
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            member: None,
            key_file: None,
        }
    }

    /// The same data directory with the organisation's key in another file (an operator's
    /// secret store, e.g. a systemd credential); `None` keeps `<data dir>/identity.key`.
    pub fn with_key_file(mut self, path: Option<PathBuf>) -> Self {
        self.key_file = path;
        self
    }

    /// The same data directory acting as one of the member organisations it hosts
    /// (IT-Dienstleister mode): identity and token are the member's, the store is shared.
    pub fn for_member(mut self, member: Option<OrgId>) -> Self {
        self.member = member;
        self
    }

    fn members_dir(&self) -> PathBuf {
        self.root.join(MEMBERS_DIR)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The key file's path (the member's, when acting as a member).
    pub fn key_path(&self) -> PathBuf {
        match (&self.member, &self.key_file) {
            (Some(m), _) => self.members_dir().join(format!("{m:#}.key")),
            (None, Some(f)) => f.clone(),
            (None, None) => self.root.join(KEY_FILE),
        }
    }

    fn staged_key_path(&self) -> PathBuf {
        let mut p = self.key_path().into_os_string();
        p.push(".next");
        PathBuf::from(p)
    }

    /// First step of a key rotation: writes the next key (mode 0600) beside the current one
    /// as `<key file>.next`. Refuses when a staged key exists (an interrupted rotation: the
    /// operator decides which key is current).
    pub fn stage_identity(&self, next: &Keypair, org: OrgId) -> Result<PathBuf, DataDirError> {
        let staged = self.staged_key_path();
        if staged.exists() {
            return Err(DataDirError::BadKeyFile {
                path: staged,
                reason: "a staged key from an interrupted rotation exists; if the rotation was \
                         published (allmende key list shows the new key), rename it to the key \
                         file, otherwise delete it"
                    .into(),
            });
        }
        write_key_file(&staged, next, org, &self.root)?;
        Ok(staged)
    }

    /// Last step of a key rotation, after the succession is stored: the current key file
    /// becomes `<key file>.retired-<unix time>` and the staged key takes its place. Returns
    /// the retired file's path.
    pub fn commit_identity(&self, now: i64) -> Result<PathBuf, DataDirError> {
        let current = self.key_path();
        let retired = (0..)
            .map(|n| {
                let mut p = current.clone().into_os_string();
                p.push(match n {
                    0 => format!(".retired-{now}"),
                    n => format!(".retired-{now}-{n}"),
                });
                PathBuf::from(p)
            })
            .find(|p| !p.exists())
            .unwrap_or_else(|| current.with_extension("retired"));
        fs::rename(&current, &retired).map_err(io(&current))?;
        let staged = self.staged_key_path();
        fs::rename(&staged, &current).map_err(io(&staged))?;
        if let Some(dir) = current.parent()
            && let Ok(d) = fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(retired)
    }

    /// Ends hosting a member: its key and token move to `members/removed/` (its published
    /// data stays, signed). A running node stops accepting the token within a second or two.
    pub fn remove_member(&self, org: OrgId, now: i64) -> Result<PathBuf, DataDirError> {
        let dd = self.clone().for_member(Some(org));
        let key = dd.key_path();
        if !key.exists() {
            return Err(DataDirError::NotInitialised(key));
        }
        let removed = self.members_dir().join("removed");
        create_private_dir(&removed)?;
        let token = self.members_dir().join(format!("{org:#}.token"));
        if token.exists() {
            let to = removed.join(format!("{org:#}.token.{now}"));
            fs::rename(&token, &to).map_err(io(&token))?;
        }
        let to = removed.join(format!("{org:#}.key.{now}"));
        fs::rename(&key, &to).map_err(io(&key))?;
        Ok(to)
    }

    /// Creates a new member organisation hosted in this data directory, with its own key and
    /// its own write token. Returns the identity and the token.
    pub fn add_member(&self) -> Result<(Identity, String), DataDirError> {
        create_private_dir(&self.root)?;
        create_private_dir(&self.members_dir())?;
        let keypair = Keypair::from_secret_bytes(&random_bytes::<32>()?)
            .map_err(|e| DataDirError::Random(format!("drew an unusable key: {e}")))?;
        let org = OrgId::from_root_key(keypair.public());
        let dd = self.clone().for_member(Some(org));
        write_key_file(&dd.key_path(), &keypair, org, &self.root)?;
        let token = dd.admin_token()?;
        Ok((Identity { keypair, org }, token))
    }

    /// The member organisations hosted here, with their tokens.
    pub fn members(&self) -> Result<Vec<(Identity, String)>, DataDirError> {
        self.member_identities()?
            .into_iter()
            .map(|identity| {
                let token = self.clone().for_member(Some(identity.org)).admin_token()?;
                Ok((identity, token))
            })
            .collect()
    }

    /// The member organisations hosted here (their ids; no token is read or made).
    pub fn member_orgs(&self) -> Result<Vec<OrgId>, DataDirError> {
        Ok(self
            .member_identities()?
            .into_iter()
            .map(|i| i.org)
            .collect())
    }

    fn member_identities(&self) -> Result<Vec<Identity>, DataDirError> {
        let dir = self.members_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        entries
            .into_iter()
            .filter(|path| path.extension().and_then(|e| e.to_str()) == Some("key"))
            .map(|path| read_key_file(&path, &self.root))
            .collect()
    }

    /// The store's path.
    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }

    /// Whether an identity exists.
    pub fn is_initialised(&self) -> bool {
        self.key_path().exists()
    }

    /// Creates a new organisation identity. Refuses when one exists; the key file is created
    /// with mode 0600 atomically (no window in which it is readable by others).
    pub fn create_identity(&self) -> Result<Identity, DataDirError> {
        let path = self.key_path();
        if path.exists() {
            return Err(DataDirError::AlreadyInitialised(self.root.clone()));
        }
        create_private_dir(&self.root)?;
        if let Some(parent) = path.parent() {
            create_private_dir(parent)?;
        }
        let keypair = Keypair::from_secret_bytes(&random_bytes::<32>()?)
            .map_err(|e| DataDirError::Random(format!("drew an unusable key: {e}")))?;
        let org = OrgId::from_root_key(keypair.public());
        write_key_file(&path, &keypair, org, &self.root)?;
        Ok(Identity { keypair, org })
    }

    /// Reads the identity.
    pub fn identity(&self) -> Result<Identity, DataDirError> {
        read_key_file(&self.key_path(), &self.root)
    }

    /// The admin token for write requests to the HTTP API, created (mode 0600) on first use.
    /// The CLI and the local UI read it from here; a web page from another site cannot.
    pub fn admin_token(&self) -> Result<String, DataDirError> {
        let path = match &self.member {
            Some(m) => self.members_dir().join(format!("{m:#}.token")),
            None => self.root.join(TOKEN_FILE),
        };
        if path.exists() {
            let t = fs::read_to_string(&path)
                .map_err(io(&path))?
                .trim()
                .to_owned();
            if t.len() < 32 {
                return Err(DataDirError::BadKeyFile {
                    path,
                    reason: "admin token is shorter than 32 characters".into(),
                });
            }
            return Ok(t);
        }
        create_private_dir(&self.root)?;
        let token = hex::encode(random_bytes::<32>()?);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts.open(&path).map_err(io(&path))?;
        f.write_all(format!("{token}\n").as_bytes())
            .map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        Ok(token)
    }

    /// Opens (creating if needed) the store, with a fresh replica id for this process.
    pub fn open_repo(&self) -> Result<Repo<SqliteStore>, DataDirError> {
        create_private_dir(&self.root)?;
        let store = SqliteStore::open(&self.db_path()).map_err(RepoError::from)?;
        Ok(Repo::open(store, ReplicaId(random_bytes::<16>()?))?)
    }
}

/// Writes a new key file with mode 0600, refusing to overwrite one.
fn write_key_file(
    path: &Path,
    keypair: &Keypair,
    org: OrgId,
    root: &Path,
) -> Result<(), DataDirError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            DataDirError::AlreadyInitialised(root.to_owned())
        } else {
            DataDirError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })?;
    let text = format!(
        "# Allmende organisation key. Secret: never share, print or commit this file.\n\
         {KEY_MAGIC}\nsecret {}\norg {:#}\n",
        hex::encode(keypair.secret_bytes()),
        org
    );
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

/// Reads a key file.
fn read_key_file(path: &Path, root: &Path) -> Result<Identity, DataDirError> {
    if !path.exists() {
        return Err(DataDirError::NotInitialised(root.to_owned()));
    }
    let bad = |reason: &str| DataDirError::BadKeyFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    #[cfg(unix)]
    {
        let mode = fs::metadata(path).map_err(io(path))?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "key file is readable by others; run chmod 600 on it");
        }
    }
    let text = fs::read_to_string(path).map_err(io(path))?;
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    if lines.next() != Some(KEY_MAGIC) {
        return Err(bad(
            "not an Allmende key file (first line must be allmende-secret-key-v1)",
        ));
    }
    let (mut secret, mut org) = (None, None);
    for line in lines {
        match line.split_once(' ') {
            Some(("secret", v)) => {
                let mut s = [0u8; 32];
                hex::decode_to_slice(v.trim(), &mut s)
                    .map_err(|_| bad("secret is not 64 hex characters"))?;
                secret = Some(s);
            }
            Some(("org", v)) => {
                org = Some(
                    v.trim()
                        .parse::<OrgId>()
                        .map_err(|e| bad(&format!("org: {e}")))?,
                )
            }
            _ => return Err(bad("unexpected line")),
        }
    }
    let keypair = Keypair::from_secret_bytes(&secret.ok_or_else(|| bad("no secret line"))?)
        .map_err(|e| bad(&e.to_string()))?;
    let org = org.unwrap_or_else(|| OrgId::from_root_key(keypair.public()));
    Ok(Identity { keypair, org })
}

fn create_private_dir(dir: &Path) -> Result<(), DataDirError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    Ok(())
}

/// Whether `key` is the local identity's public key (for display).
pub fn is_local(identity: &Identity, key: &PublicKey) -> bool {
    identity.keypair.public() == *key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_created_once_with_private_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::new(tmp.path().join("d"));
        let id = dd.create_identity().unwrap();
        assert!(matches!(
            dd.create_identity(),
            Err(DataDirError::AlreadyInitialised(_))
        ));
        let again = dd.identity().unwrap();
        assert_eq!(again.org, id.org);
        assert_eq!(again.keypair.public(), id.keypair.public());
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(dd.key_path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn malformed_key_files_are_refused_with_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::new(tmp.path().to_owned());
        assert!(matches!(
            dd.identity(),
            Err(DataDirError::NotInitialised(_))
        ));
        for (content, needle) in [
            ("hello\n", "not an Allmende key file"),
            ("allmende-secret-key-v1\nsecret zz\n", "64 hex"),
            ("allmende-secret-key-v1\n", "no secret"),
            ("allmende-secret-key-v1\nsecret 00\nfoo bar\n", "64 hex"),
        ] {
            fs::write(dd.key_path(), content).unwrap();
            let e = dd.identity().unwrap_err().to_string();
            assert!(e.contains(needle), "{content:?}: {e}");
        }
    }
}
