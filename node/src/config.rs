//! The node's configuration: one TOML file, `ALLMENDE_*` environment variables and flags.
//!
//! Precedence, highest first: command-line flag, environment variable, configuration file,
//! built-in default. The file is `--config PATH` (`ALLMENDE_CONFIG`), else
//! `<data dir>/allmende.toml` when it exists. Unknown and mistyped keys are refused with the
//! key and its line, so a typo never silently falls back to a default.
//!
//! [`KEYS`] documents every key; [`example`] renders `docs/config.example.toml` from it and
//! from [`Config::default`], and a test keeps that file current.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use allmende_protocol::ids::OrgId;
use serde::{Deserialize, Serialize};

/// The file looked for in the data directory when no `--config` is given.
pub const CONFIG_FILE: &str = "allmende.toml";

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Data directory (only honoured from a file given with `--config`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Logging.
    pub log: LogConfig,
    /// The HTTP server (web UI, API, metrics, health).
    pub http: HttpConfig,
    /// Peer-to-peer networking.
    pub network: NetworkConfig,
    /// Trust anchors.
    pub trust: TrustConfig,
    /// Key files.
    pub keys: KeysConfig,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Filter, e.g. `info` or `allmende_node=debug`.
    pub filter: String,
    /// Line format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "warn".into(),
            format: LogFormat::Human,
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the web UI, API, `/metrics`, `/healthz` and `/readyz`.
    pub listen: SocketAddr,
    /// Seconds an export over the API waits for its client to take the next chunk before it
    /// stops and frees its slot.
    pub export_stall_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            export_stall_secs: allmende_api::http::EXPORT_STALL.as_secs(),
        }
    }
}

impl HttpConfig {
    /// The HTTP settings a node starts with.
    pub fn options(&self) -> crate::node::HttpOptions {
        crate::node::HttpOptions {
            export_stall: std::time::Duration::from_secs(self.export_stall_secs),
        }
    }
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Peers to dial at start (each with `/p2p/<peer id>`).
    pub bootstrap: Vec<String>,
    /// Relays to listen through behind NAT.
    pub relays: Vec<String>,
    /// Local-network discovery.
    pub mdns: bool,
    /// Seconds between reconciliations with each peer.
    pub reconcile_secs: u64,
    /// The name of the network joined with a manifest (`allmende join`), for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: crate::node::DEFAULT_LISTEN
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            bootstrap: Vec::new(),
            relays: Vec::new(),
            mdns: false,
            reconcile_secs: 30,
            name: None,
        }
    }
}

/// `[trust]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// Organisation ids of the trust anchors followed.
    pub anchors: Vec<OrgId>,
    /// Most documents one key outside the trust scope may have in quarantine.
    pub quarantine_key_documents: usize,
    /// Most bytes of signed changes one key outside the trust scope may have in quarantine.
    pub quarantine_key_bytes: usize,
    /// Most bytes of signed changes in quarantine altogether.
    pub quarantine_total_bytes: usize,
}

impl Default for TrustConfig {
    fn default() -> Self {
        let q = allmende_repo_thread::quarantine::QuarantineLimits::default();
        Self {
            anchors: Vec::new(),
            quarantine_key_documents: q.key_documents,
            quarantine_key_bytes: q.key_bytes,
            quarantine_total_bytes: q.total_bytes,
        }
    }
}

impl TrustConfig {
    /// The quarantine's bounds.
    pub fn quarantine(&self) -> allmende_repo_thread::quarantine::QuarantineLimits {
        allmende_repo_thread::quarantine::QuarantineLimits {
            key_documents: self.quarantine_key_documents,
            key_bytes: self.quarantine_key_bytes,
            total_bytes: self.quarantine_total_bytes,
        }
    }
}

/// `[keys]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// The organisation's secret key file, if not `<data dir>/identity.key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
}

/// A configuration problem, naming the key (and the line, when it comes from a file).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line, column and key).
        message: String,
    },
    /// A value is well-typed but unusable.
    #[error("{origin}key {key}: {message}")]
    Invalid {
        /// `"<file>, line N: "` or empty.
        origin: String,
        /// The dotted key.
        key: String,
        /// Why.
        message: String,
    },
}

impl Config {
    /// Parses a file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        cfg.validate().map_err(|e| match e {
            ConfigError::Invalid { key, message, .. } => {
                let line = line_of(text, &key)
                    .map(|n| format!(", line {n}"))
                    .unwrap_or_default();
                ConfigError::Invalid {
                    origin: format!("{}{line}: ", path.display()),
                    key,
                    message,
                }
            }
            other => other,
        })?;
        Ok(cfg)
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                message: format!("larger than {MAX_CONFIG_BYTES} bytes"),
            });
        }
        Self::parse(&std::fs::read_to_string(path).map_err(io)?, path)
    }

    /// Checks what types cannot: addresses, ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            origin: String::new(),
            key,
            message,
        };
        for (name, list) in [
            ("network.listen", &self.network.listen),
            ("network.bootstrap", &self.network.bootstrap),
            ("network.relays", &self.network.relays),
        ] {
            for (i, a) in list.iter().enumerate() {
                a.parse::<libp2p::Multiaddr>().map_err(|e| {
                    invalid(
                        name.into(),
                        format!("entry {}: {a:?} is no multiaddr: {e}", i + 1),
                    )
                })?;
            }
        }
        if !(1..=86_400).contains(&self.network.reconcile_secs) {
            return Err(invalid(
                "network.reconcile_secs".into(),
                format!("{} is outside 1–86400", self.network.reconcile_secs),
            ));
        }
        if !(1..=3600).contains(&self.http.export_stall_secs) {
            return Err(invalid(
                "http.export_stall_secs".into(),
                format!("{} is outside 1–3600", self.http.export_stall_secs),
            ));
        }
        let q = self.trust.quarantine();
        if q.key_bytes > q.total_bytes {
            return Err(invalid(
                "trust.quarantine_key_bytes".into(),
                format!(
                    "{} exceeds trust.quarantine_total_bytes ({})",
                    q.key_bytes, q.total_bytes
                ),
            ));
        }
        if q.total_bytes > 1 << 30 {
            return Err(invalid(
                "trust.quarantine_total_bytes".into(),
                format!(
                    "{} is over 1 GiB; the quarantine is held in memory",
                    q.total_bytes
                ),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            return Err(invalid("log.filter".into(), e.to_string()));
        }
        Ok(())
    }

    /// The network settings.
    pub fn net(&self, relay_server: bool) -> allmende_net::net::NetConfig {
        let addrs = |v: &[String]| v.iter().filter_map(|a| a.parse().ok()).collect();
        allmende_net::net::NetConfig {
            listen: addrs(&self.network.listen),
            bootstrap: addrs(&self.network.bootstrap),
            relays: addrs(&self.network.relays),
            mdns: self.network.mdns,
            relay_server,
            reconcile_interval: std::time::Duration::from_secs(self.network.reconcile_secs),
            ..allmende_net::net::NetConfig::default()
        }
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// The first line (1-based) that sets the last part of `dotted`.
fn line_of(text: &str, dotted: &str) -> Option<usize> {
    let leaf = dotted.rsplit('.').next()?;
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(leaf)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// Where the configuration comes from: `--config` if given, else `<data dir>/allmende.toml`
/// when it exists, else nothing (defaults).
pub fn locate(explicit: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_owned()),
        None => {
            let p = data_dir.join(CONFIG_FILE);
            p.is_file().then_some(p)
        }
    }
}

/// The documentation of one key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    /// Dotted key.
    pub key: &'static str,
    /// Environment variable.
    pub env: &'static str,
    /// Flag.
    pub flag: &'static str,
    /// What it does.
    pub help: &'static str,
    /// Shown commented out when the key has no default value.
    pub unset_example: Option<&'static str>,
}

/// Every key of the file, in the order of the example.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc {
        key: "data_dir",
        env: "ALLMENDE_DATA_DIR",
        flag: "--data-dir",
        help: "Data directory: store, keys, tokens. Read from this file only when it is given with --config. Default: $XDG_DATA_HOME/allmende, else ~/.local/share/allmende.",
        unset_example: Some("\"/var/lib/allmende\""),
    },
    KeyDoc {
        key: "log.filter",
        env: "ALLMENDE_LOG",
        flag: "--log",
        help: "Log filter: a level (error, warn, info, debug, trace) or per module, e.g. \"info,libp2p=warn\". RUST_LOG, if set, wins.",
        unset_example: None,
    },
    KeyDoc {
        key: "log.format",
        env: "ALLMENDE_LOG_FORMAT",
        flag: "--log-format",
        help: "\"human\" (readable lines) or \"json\" (one JSON object per line, for journald, Loki and similar). Logs go to standard error.",
        unset_example: None,
    },
    KeyDoc {
        key: "http.listen",
        env: "ALLMENDE_HTTP",
        flag: "--http",
        help: "Address of the web UI, the API, /metrics, /healthz and /readyz. Keep it on loopback unless a reverse proxy with TLS is in front (docs/operations.md).",
        unset_example: None,
    },
    KeyDoc {
        key: "http.export_stall_secs",
        env: "ALLMENDE_EXPORT_STALL_SECS",
        flag: "--export-stall-secs",
        help: "Seconds an export over the API (GET /api/v1/export) waits for its client to take the next chunk; then it stops and frees its slot (two exports run at once) and its read transaction (1-3600).",
        unset_example: None,
    },
    KeyDoc {
        key: "network.listen",
        env: "ALLMENDE_LISTEN",
        flag: "--listen",
        help: "Multiaddrs to listen on for peers (TCP, QUIC, WebSocket).",
        unset_example: None,
    },
    KeyDoc {
        key: "network.bootstrap",
        env: "ALLMENDE_BOOTSTRAP",
        flag: "--bootstrap",
        help: "Peers to dial at start, each ending in /p2p/<peer id>.",
        unset_example: None,
    },
    KeyDoc {
        key: "network.relays",
        env: "ALLMENDE_RELAY",
        flag: "--relay",
        help: "Relays to listen through when this node cannot be reached directly (behind NAT).",
        unset_example: None,
    },
    KeyDoc {
        key: "network.mdns",
        env: "ALLMENDE_MDNS",
        flag: "--mdns",
        help: "Discover peers on the local network (mDNS).",
        unset_example: None,
    },
    KeyDoc {
        key: "network.reconcile_secs",
        env: "ALLMENDE_RECONCILE_SECS",
        flag: "--reconcile-secs",
        help: "Seconds between reconciliations with each peer (1-86400).",
        unset_example: None,
    },
    KeyDoc {
        key: "network.name",
        env: "(none)",
        flag: "(none; allmende join sets it)",
        help: "The name of the network this node joined with a manifest (written by allmende join; shown in the status).",
        unset_example: Some("\"Allmende NRW\""),
    },
    KeyDoc {
        key: "trust.anchors",
        env: "ALLMENDE_TRUST_ANCHORS",
        flag: "--trust-anchor",
        help: "Organisation ids of the trust anchors followed. The anchors, the organisations they attest, this node's own and hosted organisations, and the keys and delegates of all these form the trust scope: only what it signed is stored, indexed, forwarded and offered to peers. Everything else waits in a bounded quarantine in memory. Empty is open mode: every key's content is stored and shown, and the node says so on every page. Usually set by allmende join NETWORK_FILE.",
        unset_example: None,
    },
    KeyDoc {
        key: "trust.quarantine_key_documents",
        env: "ALLMENDE_QUARANTINE_KEY_DOCUMENTS",
        flag: "--quarantine-key-documents",
        help: "Most documents one key outside the trust scope may have in the quarantine: its profile and a few more, so an anchor can look at an organisation before attesting it. Keys are free, so this alone bounds nothing; see quarantine_total_bytes.",
        unset_example: None,
    },
    KeyDoc {
        key: "trust.quarantine_key_bytes",
        env: "ALLMENDE_QUARANTINE_KEY_BYTES",
        flag: "--quarantine-key-bytes",
        help: "Most bytes of signed changes one key outside the trust scope may have in the quarantine (a profile is about 1 KiB).",
        unset_example: None,
    },
    KeyDoc {
        key: "trust.quarantine_total_bytes",
        env: "ALLMENDE_QUARANTINE_TOTAL_BYTES",
        flag: "--quarantine-total-bytes",
        help: "Most bytes of signed changes in the quarantine altogether (held in memory, at most 1 GiB). When full, the oldest documents go first and profiles last: a flood from many fresh keys costs this much memory and no disk.",
        unset_example: None,
    },
    KeyDoc {
        key: "keys.identity_file",
        env: "ALLMENDE_IDENTITY_FILE",
        flag: "--identity-file",
        help: "The organisation's secret key file, e.g. from a secret store or a systemd credential (mode 0600). Default: <data dir>/identity.key. A key rotation writes the new key beside it.",
        unset_example: Some("\"/run/credentials/allmende.service/identity.key\""),
    },
];

/// `docs/config.example.toml`: every key with its default and its documentation.
pub fn example() -> String {
    let defaults: toml::Table = toml::from_str(&Config::default().to_toml()).unwrap_or_default();
    let mut out = String::from(
        "# Allmende node configuration (allmende.toml).\n\
         # Generated by `allmende config example`; do not edit by hand.\n\
         # Every value shown is the default. Precedence: flag > ALLMENDE_* variable > this file > default.\n\
         # Check a file with `allmende config check FILE`.\n",
    );
    let mut section = "";
    for doc in KEYS {
        let (sec, leaf) = doc.key.rsplit_once('.').unwrap_or(("", doc.key));
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        out.push('\n');
        for line in wrap(doc.help, 92) {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str(&format!(
            "# Environment: {}; flag: {}.\n",
            doc.env, doc.flag
        ));
        let value = if sec.is_empty() {
            defaults.get(leaf)
        } else {
            defaults
                .get(sec)
                .and_then(|t| t.as_table())
                .and_then(|t| t.get(leaf))
        };
        match (value, doc.unset_example) {
            (Some(v), _) => out.push_str(&format!("{leaf} = {v}\n")),
            (None, Some(ex)) => out.push_str(&format!("# {leaf} = {ex}\n")),
            (None, None) => out.push_str(&format!("# {leaf} =\n")),
        }
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut();
        match last {
            Some(l) if l.is_empty() => l.push_str(word),
            Some(l) if l.len() + 1 + word.len() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_to_the_defaults_and_documents_every_key() {
        let ex = example();
        let parsed = Config::parse(&ex, Path::new("example")).unwrap();
        assert_eq!(parsed, Config::default());
        // Every key the struct serialises (with the optional ones set) has documentation.
        let full = Config {
            data_dir: Some("/x".into()),
            network: NetworkConfig {
                name: Some("Allmende Test".into()),
                ..NetworkConfig::default()
            },
            keys: KeysConfig {
                identity_file: Some("/y".into()),
            },
            ..Config::default()
        };
        let table: toml::Table = toml::from_str(&full.to_toml()).unwrap();
        let mut keys = Vec::new();
        for (k, v) in &table {
            match v.as_table() {
                Some(t) => keys.extend(t.keys().map(|leaf| format!("{k}.{leaf}"))),
                None => keys.push(k.clone()),
            }
        }
        keys.sort();
        let mut documented: Vec<String> = KEYS.iter().map(|d| d.key.to_owned()).collect();
        documented.sort();
        assert_eq!(keys, documented);
    }

    #[test]
    fn docs_example_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.example.toml");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == example(),
            "docs/config.example.toml is out of date: run `cargo run -p allmende-node --bin allmende -- config example > docs/config.example.toml`"
        );
    }

    #[test]
    fn unknown_and_mistyped_keys_are_refused_with_key_and_line() {
        let cases = [
            (
                "[network]\nmdns = false\nlissten = []\n",
                &["lissten", "line 3"][..],
            ),
            ("[netwrok]\nmdns = true\n", &["netwrok", "line 1"]),
            ("[network]\nmdns = \"ja\"\n", &["mdns", "line 2"]),
            ("[http]\nlisten = \"localhost\"\n", &["listen", "line 2"]),
            ("[log]\nformat = \"xml\"\n", &["xml", "line 2"]),
            ("[trust]\nanchors = [\"zz\"]\n", &["anchors", "line 2"]),
            (
                "[http]\nexport_stall_secs = 0\n",
                &["http.export_stall_secs", "line 2"],
            ),
            (
                "[network]\n\nreconcile_secs = 0\n",
                &["network.reconcile_secs", "line 3"],
            ),
            (
                "[network]\nlisten = [\"/ip4/1.2.3.4/tcp/x\"]\n",
                &["network.listen", "line 2"],
            ),
            ("data_dir = \n", &["line 1"]),
        ];
        for (text, needles) in cases {
            let e = Config::parse(text, Path::new("allmende.toml"))
                .expect_err(text)
                .to_string();
            for n in needles {
                assert!(e.contains(n), "{text:?}: {e:?} should name {n:?}");
            }
        }
        // Positive control: a valid non-default file parses to what it says.
        let ok = Config::parse(
            "[network]\nmdns = true\nreconcile_secs = 5\n[log]\nformat = \"json\"\n",
            Path::new("x"),
        )
        .unwrap();
        assert!(ok.network.mdns);
        assert_eq!(ok.network.reconcile_secs, 5);
        assert_eq!(ok.log.format, LogFormat::Json);
    }

    #[test]
    fn an_oversized_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("big.toml");
        std::fs::write(&p, "#".repeat(2 * 1024 * 1024)).unwrap();
        let e = Config::read(&p).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
    }
}
