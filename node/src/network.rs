//! Joining a network with its manifest ([`allmende_protocol::manifest`]): `allmende join FILE`
//! and `allmende init --network FILE` check the file and write what it says into the node's
//! configuration file (bootstrap addresses, trust anchors, quarantine bounds, the network's
//! name); `allmende network create | sign | show` make and inspect one.
//!
//! The node keeps the manifest it applied as `<data dir>/network.json`. A later file is taken
//! only as an update of it: same name, greater version, signed by a majority of the anchors
//! the node follows now ([`SignedManifest::verify_update`]), so a stranger's file cannot swap
//! a node's anchors.

use std::path::{Path, PathBuf};

use allmende_protocol::manifest::{ManifestBody, QuarantineDefaults, SignedManifest};
use anyhow::{Context, bail};

use crate::config::Config;
use allmende_repo_thread::quarantine::QuarantineLimits;
use allmende_store::datadir::DataDir;

/// The manifest a node applied, in its data directory.
pub const MANIFEST_FILE: &str = "network.json";

/// Reads a manifest file: bounded, parsed (a misspelt field is named), fields checked and
/// signatures verified.
pub fn read(path: &Path) -> anyhow::Result<SignedManifest> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > allmende_protocol::manifest::MAX_MANIFEST_BYTES as u64 {
        bail!(
            "{}: {} bytes, a manifest has at most {}",
            path.display(),
            meta.len(),
            allmende_protocol::manifest::MAX_MANIFEST_BYTES
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let m = SignedManifest::from_json(&text).with_context(|| path.display().to_string())?;
    Ok(m)
}

/// Like [`read`], and the signatures must make it valid, its bootstrap addresses must be
/// multiaddrs and its quarantine bounds must pass the checks of a configuration file (the
/// bootstrap node uses them without one).
pub fn read_verified(path: &Path) -> anyhow::Result<SignedManifest> {
    let m = read(path)?;
    m.verify().with_context(|| path.display().to_string())?;
    for (i, a) in m.body.bootstrap.iter().enumerate() {
        a.parse::<libp2p::Multiaddr>()
            .with_context(|| format!("{}: bootstrap[{i}] {a:?}", path.display()))?;
    }
    let mut cfg = Config::default();
    configure(&mut cfg, &m.body);
    cfg.validate()
        .with_context(|| format!("{}: quarantine", path.display()))?;
    Ok(m)
}

/// The quarantine bounds a manifest sets.
pub fn quarantine_of(q: &QuarantineDefaults) -> QuarantineLimits {
    QuarantineLimits {
        key_documents: q.key_documents as usize,
        key_bytes: usize::try_from(q.key_bytes).unwrap_or(usize::MAX),
        total_bytes: usize::try_from(q.total_bytes).unwrap_or(usize::MAX),
    }
}

/// The defaults a new manifest carries: this version's quarantine bounds.
pub fn default_quarantine() -> QuarantineDefaults {
    let q = QuarantineLimits::default();
    QuarantineDefaults {
        key_documents: u32::try_from(q.key_documents).unwrap_or(u32::MAX),
        key_bytes: q.key_bytes as u64,
        total_bytes: q.total_bytes as u64,
    }
}

/// Lays the manifest over a configuration: bootstrap addresses, anchors, quarantine bounds
/// and the network's name. Other settings stay as they are.
pub fn configure(cfg: &mut Config, m: &ManifestBody) {
    cfg.network.bootstrap = m.bootstrap.clone();
    cfg.network.name = Some(m.name.clone());
    cfg.trust.anchors = m.anchors.clone();
    let q = quarantine_of(&m.quarantine);
    cfg.trust.quarantine_key_documents = q.key_documents;
    cfg.trust.quarantine_key_bytes = q.key_bytes;
    cfg.trust.quarantine_total_bytes = q.total_bytes;
}

/// What [`join`] did.
#[derive(Debug)]
pub struct Joined {
    /// The configuration file written.
    pub config: PathBuf,
    /// Whether it replaced an earlier manifest (an update).
    pub updated: bool,
}

/// Applies the manifest at `file` to the node in `dd`: checks it (as an update when the node
/// holds one), writes it into the configuration file `config` (created when missing) and
/// keeps it as `<data dir>/network.json`. Nothing is written when a check fails.
pub fn join(dd: &DataDir, file: &Path, config: &Path) -> anyhow::Result<Joined> {
    let new = read_verified(file)?;
    let kept = dd.path().join(MANIFEST_FILE);
    let updated = if kept.exists() {
        let current = read(&kept).context("the manifest this node applied before")?;
        if current == new {
            false
        } else {
            new.verify_update(&current).with_context(|| {
                format!(
                    "{} is no valid update of the network this node joined ({}, version {})",
                    file.display(),
                    current.body.name,
                    current.body.version
                )
            })?;
            true
        }
    } else {
        false
    };
    let mut cfg = if config.exists() {
        Config::read(config)?
    } else {
        Config::default()
    };
    configure(&mut cfg, &new.body);
    cfg.validate()
        .with_context(|| format!("{} as configured by {}", config.display(), file.display()))?;
    std::fs::create_dir_all(dd.path())?;
    write_atomically(config, cfg.to_toml().as_bytes())?;
    write_atomically(&kept, new.to_json_pretty().as_bytes())?;
    Ok(Joined {
        config: config.to_owned(),
        updated,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A short text of a manifest for people: name, version, anchors, who signed, bounds.
pub fn describe(m: &SignedManifest) -> String {
    let b = &m.body;
    let mut s = format!("Network {:?}, version {}\n", b.name, b.version);
    for a in &b.anchors {
        let signed = m.signatures.iter().any(|s| s.anchor == *a);
        s.push_str(&format!(
            "anchor {a:#}{}\n",
            if signed { " (signed)" } else { "" }
        ));
    }
    for a in &b.bootstrap {
        s.push_str(&format!("bootstrap {a}\n"));
    }
    s.push_str(&format!(
        "quarantine: {} documents and {} bytes per key, {} bytes in total\n",
        b.quarantine.key_documents, b.quarantine.key_bytes, b.quarantine.total_bytes
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use allmende_protocol::identity::Keypair;
    use allmende_protocol::ids::OrgId;

    fn kp(n: u8) -> Keypair {
        Keypair::from_secret_bytes(&[n; 32]).unwrap()
    }

    fn manifest(version: u64, anchors: &[u8], signers: &[u8]) -> SignedManifest {
        let body = ManifestBody {
            name: "Allmende Test".into(),
            version,
            bootstrap: vec!["/ip4/127.0.0.1/tcp/7420".into()],
            anchors: anchors
                .iter()
                .map(|n| OrgId::from_root_key(kp(*n).public()))
                .collect(),
            quarantine: QuarantineDefaults {
                key_documents: 3,
                key_bytes: 10_000,
                total_bytes: 1_000_000,
            },
        };
        let mut m = body.sign(&kp(signers[0])).unwrap();
        for s in &signers[1..] {
            m.add_signature(&kp(*s)).unwrap();
        }
        m
    }

    fn write(dir: &Path, name: &str, m: &SignedManifest) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, m.to_json_pretty()).unwrap();
        p
    }

    #[test]
    fn joining_writes_anchors_bootstrap_and_bounds_and_takes_only_updates_of_the_same_anchors() {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::new(tmp.path().join("node"));
        let config = dd.path().join(crate::config::CONFIG_FILE);
        let first = write(tmp.path(), "v1.json", &manifest(1, &[1, 2, 3], &[1, 2]));
        let j = join(&dd, &first, &config).unwrap();
        assert!(!j.updated);
        let cfg = Config::read(&config).unwrap();
        assert_eq!(cfg.trust.anchors.len(), 3);
        assert_eq!(cfg.network.bootstrap, vec!["/ip4/127.0.0.1/tcp/7420"]);
        assert_eq!(cfg.trust.quarantine_key_documents, 3);
        assert_eq!(cfg.trust.quarantine_total_bytes, 1_000_000);
        assert_eq!(cfg.network.name.as_deref(), Some("Allmende Test"));

        // A stranger's manifest of the same name, signed by its own anchors: refused, and the
        // configuration is left alone.
        let stranger = write(tmp.path(), "evil.json", &manifest(9, &[7, 8], &[7, 8]));
        let e = join(&dd, &stranger, &config).unwrap_err();
        assert!(format!("{e:#}").contains("no valid update"), "{e:#}");
        assert_eq!(Config::read(&config).unwrap().trust.anchors.len(), 3);

        // The anchors' majority adds an anchor: taken.
        let next = write(
            tmp.path(),
            "v2.json",
            &manifest(2, &[1, 2, 3, 4], &[1, 3, 4]),
        );
        assert!(join(&dd, &next, &config).unwrap().updated);
        assert_eq!(Config::read(&config).unwrap().trust.anchors.len(), 4);
        // Replaying the old one: refused.
        assert!(join(&dd, &first, &config).is_err());
    }

    #[test]
    fn a_tampered_or_misspelt_manifest_is_refused_naming_why() {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::new(tmp.path().join("node"));
        let config = dd.path().join(crate::config::CONFIG_FILE);
        let good = manifest(1, &[1], &[1]).to_json_pretty();
        let mut bad_address = manifest(1, &[1], &[1]).body;
        bad_address.bootstrap = vec!["/ip4/127.0.0.1/tcp/x".into()];
        let bad_address = bad_address.sign(&kp(1)).unwrap().to_json_pretty();
        let cases = [
            (good.replace("Allmende Test", "Allmende Böse"), "signature"),
            (good.replace("\"bootstrap\"", "\"bootstarp\""), "bootstarp"),
            (bad_address, "bootstrap[0]"),
            ("{".repeat(70_000), "bytes"),
        ];
        let mut too_big = manifest(1, &[1], &[1]).body;
        too_big.quarantine.total_bytes = 4 << 30;
        let too_big = too_big.sign(&kp(1)).unwrap().to_json_pretty();
        let cases = cases
            .into_iter()
            .chain([(too_big, "quarantine_total_bytes")]);
        for (text, needle) in cases {
            let p = tmp.path().join("m.json");
            std::fs::write(&p, &text).unwrap();
            let e = format!("{:#}", join(&dd, &p, &config).unwrap_err());
            assert!(e.contains(needle), "{needle}: {e}");
            assert!(!config.exists(), "nothing written");
        }
    }
}
