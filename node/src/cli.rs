//! The `allmende` command line.
//!
//! Every command works on a data directory (see [`allmende_store::datadir`]). Bad input is refused by
//! the argument parser or the schema with a message naming the flag and the problem, and exit
//! code 2; other failures exit with 1.

use std::io::Read;
use std::path::PathBuf;

use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::gv100ad::{self, Gemeindeverzeichnis};
use allmende_protocol::ids::{DocId, OrgId, RecordId};
use allmende_protocol::schema::{
    Ags, Date, Deployment, DeploymentStatus, HostingModel, Integration, Licence, Obstacle,
    OperatedBy, OrgKind, OrgProfile, Product, ProductKind, Rating, RatingDimension, ReuseOutcome,
    ReuseReport, Score, Task, TrainingFormat, TrainingOffer, TrainingRating, Validate, WebUrl,
};
use allmende_protocol::stewardship::Decision;
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use allmende_formats::export::{Export, import_export};
use allmende_store::datadir::{DataDir, Identity, default_data_dir, random_bytes};
use allmende_store::now;
use allmende_store::repo::Repo;
use allmende_store::store::{KeyRecord, SqliteStore, Store};

/// Allmende: the federated Referenzkatalog for public-administration software.
#[derive(Debug, Parser)]
#[command(name = "allmende", version, about, long_about = None)]
pub struct Cli {
    /// Data directory (identity and store).
    #[arg(long, global = true, env = "ALLMENDE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Configuration file (TOML); default `<data dir>/allmende.toml` if it exists.
    #[arg(long, global = true, env = "ALLMENDE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log filter (e.g. `info`, `allmende_node=debug`; default `warn`); `RUST_LOG` wins.
    #[arg(long, global = true, env = "ALLMENDE_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Log line format (default `human`).
    #[arg(
        long,
        global = true,
        env = "ALLMENDE_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: Option<crate::config::LogFormat>,

    /// The organisation's secret key file (default `<data dir>/identity.key`).
    #[arg(
        long,
        global = true,
        env = "ALLMENDE_IDENTITY_FILE",
        value_name = "FILE"
    )]
    pub identity_file: Option<PathBuf>,

    /// Act as this member organisation hosted by the node (IT-Dienstleister mode).
    #[arg(long, global = true, env = "ALLMENDE_MEMBER", value_name = "ORG_ID")]
    pub member: Option<OrgId>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create this node's organisation identity and store.
    Init(InitArgs),
    /// Show or edit the local organisation.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Add, edit or show products.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Record where the organisation runs a product.
    #[command(subcommand)]
    Deployment(DeploymentCommand),
    /// Rate a product (one rating per organisation and product; setting it again replaces it).
    #[command(subcommand)]
    Rating(RatingCommand),
    /// Report on a Nachnutzung (reuse of another body's solution).
    #[command(subcommand)]
    Reuse(ReuseCommand),
    /// Training offers for products (Schulungen): publish, rate, list by task.
    #[command(subcommand, alias = "schulung")]
    Training(TrainingCommand),
    /// Write the catalog and its signed changes.
    Export(ExportArgs),
    /// Verify and store the signed changes of an export.
    Import(ImportArgs),
    /// IT-Dienstleister mode: host member organisations, each with its own key and token.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Act as a trust anchor: attest or withdraw which organisation a key belongs to.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Delegate publishing to another key (e.g. your IT-Dienstleister), or revoke a key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Check the store: structure, signatures, snapshots.
    Check,
    /// Copy the store (consistently, also while the node runs) and the key files into a new
    /// directory, with a manifest of SHA-256 sums.
    Backup {
        /// The new backup directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Leave the secret key and token files out (e.g. to hand the data to someone).
        #[arg(long)]
        without_keys: bool,
    },
    /// Check a backup (hashes, signatures, structure) and restore it into the data
    /// directory. Stop the node first; it catches up from its peers when started again.
    Restore {
        /// The backup directory.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// Move an existing store and differing key files aside instead of refusing.
        #[arg(long)]
        force: bool,
        /// Only check the backup; write nothing.
        #[arg(long)]
        check_only: bool,
    },
    /// Exit 0 when the URL answers 200 (for container health checks without curl).
    Health {
        /// The URL, e.g. http://127.0.0.1:8080/readyz.
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// The organisation's watch list (local to this node): products, tasks, organisations,
    /// Kreise and Länder it follows.
    #[command(subcommand)]
    Watch(crate::follow_cli::WatchCommand),
    /// Notices about the products the organisation runs: new ratings and Nachnutzung reports
    /// by others, a new version or end of support.
    Notices {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run one read-only SQL query against the local catalog index (views and tables in
    /// docs/sql.md); writes, ATTACH and PRAGMA are refused.
    Query(QueryArgs),
    /// Check, show or generate the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the node: peer-to-peer sync and the HTTP API, until Ctrl-C or SIGTERM.
    Run(RunArgs),
    /// Join a network: check its manifest (signed by its trust anchors) and write its
    /// bootstrap addresses, anchors and quarantine bounds into the configuration file. A node
    /// that joined before takes only an update signed by a majority of its current anchors.
    Join {
        /// The network's manifest file (JSON).
        file: PathBuf,
    },
    /// Make, sign or show a network manifest (for the anchors that found a network).
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Start a local demo network on 127.0.0.1 (a bootstrap node and nodes of several
    /// organisations, filled with demo data) and serve the web UI of one of them, until
    /// Ctrl-C. Without --data-dir it keeps its data under the system's temp dir.
    Demo(DemoArgs),
    /// Nachbarvergleich: per task, what comparable bodies (same Kreis, Land or size class)
    /// run, with their ratings and costs, next to this organisation's products.
    #[command(alias = "compare")]
    Vergleich(crate::vergleich::VergleichArgs),
}

/// Network flags shared by `allmende run` and `allmende-bootstrap`. Unset flags leave the
/// configuration file's value (or the default) in place.
#[derive(Debug, Args, Clone, Default)]
pub struct NetArgs {
    /// Address to listen on (repeatable). Default: TCP and QUIC on 7420, WebSocket on 7421.
    #[arg(
        long = "listen",
        env = "ALLMENDE_LISTEN",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub listen: Vec<libp2p::Multiaddr>,
    /// Peer to dial at start, with `/p2p/PEER_ID` (repeatable).
    #[arg(
        long = "bootstrap",
        env = "ALLMENDE_BOOTSTRAP",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub bootstrap: Vec<libp2p::Multiaddr>,
    /// Relay to listen through when this node is behind NAT (repeatable).
    #[arg(
        long = "relay",
        env = "ALLMENDE_RELAY",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub relays: Vec<libp2p::Multiaddr>,
    /// Discover peers on the local network (mDNS); default false.
    #[arg(long, env = "ALLMENDE_MDNS", action = clap::ArgAction::Set)]
    pub mdns: Option<bool>,
    /// Seconds between reconciliations with each peer (default 30).
    #[arg(long, env = "ALLMENDE_RECONCILE_SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub reconcile_secs: Option<u64>,
}

impl NetArgs {
    /// Lays the given flags over `cfg`.
    pub fn apply(&self, cfg: &mut crate::config::NetworkConfig) {
        let strings = |v: &[libp2p::Multiaddr]| v.iter().map(ToString::to_string).collect();
        if !self.listen.is_empty() {
            cfg.listen = strings(&self.listen);
        }
        if !self.bootstrap.is_empty() {
            cfg.bootstrap = strings(&self.bootstrap);
        }
        if !self.relays.is_empty() {
            cfg.relays = strings(&self.relays);
        }
        if let Some(m) = self.mdns {
            cfg.mdns = m;
        }
        if let Some(r) = self.reconcile_secs {
            cfg.reconcile_secs = r;
        }
    }

    /// The network configuration of these flags over the defaults.
    pub fn to_config(&self, relay_server: bool) -> allmende_net::net::NetConfig {
        let mut cfg = crate::config::Config::default();
        self.apply(&mut cfg.network);
        cfg.net(relay_server)
    }
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Network flags.
    #[command(flatten)]
    pub net: NetArgs,
    /// Where the web UI and the HTTP API listen (default 127.0.0.1:8080; keep it on loopback
    /// unless behind a reverse proxy).
    #[arg(long, env = "ALLMENDE_HTTP", value_name = "HOST:PORT")]
    pub http: Option<std::net::SocketAddr>,
    /// Seconds an export over the API waits for its client to take the next chunk (default 60).
    #[arg(long, env = "ALLMENDE_EXPORT_STALL_SECS", value_name = "SECS")]
    pub export_stall_secs: Option<u64>,
    /// Trust anchor (organisation id) whose attestations mark organisations as verified
    /// (repeatable).
    #[arg(
        long = "trust-anchor",
        env = "ALLMENDE_TRUST_ANCHORS",
        value_delimiter = ',',
        value_name = "ORG_ID"
    )]
    pub trust_anchors: Vec<OrgId>,
    /// Most documents one key outside the trust scope may have in quarantine (default 4).
    #[arg(long, env = "ALLMENDE_QUARANTINE_KEY_DOCUMENTS", value_name = "N")]
    pub quarantine_key_documents: Option<usize>,
    /// Most bytes one key outside the trust scope may have in quarantine (default 65536).
    #[arg(long, env = "ALLMENDE_QUARANTINE_KEY_BYTES", value_name = "BYTES")]
    pub quarantine_key_bytes: Option<usize>,
    /// Most bytes in quarantine altogether, in memory (default 33554432).
    #[arg(long, env = "ALLMENDE_QUARANTINE_TOTAL_BYTES", value_name = "BYTES")]
    pub quarantine_total_bytes: Option<usize>,
}

/// `query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL statement (one `SELECT` or `WITH … SELECT`).
    pub sql: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: QueryFormat,
    /// Time limit in seconds (1–300).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout_secs: u64,
    /// Rows returned at most (1–1,000,000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_rows: u64,
}

/// Output of `query`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueryFormat {
    /// Aligned columns.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON document with `columns`, `rows`, `truncated`.
    Json,
    /// One JSON object per row.
    Jsonl,
}

/// `config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file; a bad or unknown key is named with its line (exit 2).
    Check {
        /// The file (default: --config).
        file: Option<PathBuf>,
    },
    /// Print the documented example configuration with every default.
    Example,
    /// Print the effective configuration of `allmende run` (file, environment and the run
    /// flags given here, merged).
    Show(RunArgs),
}

/// `member …`.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Create a member organisation hosted on this node; prints its id and token file.
    Add(InitArgs),
    /// List the hosted member organisations.
    List,
    /// Stop hosting a member: its token stops working (a running node notices within
    /// seconds) and its key file moves to `members/removed/`. Its published data stays.
    Remove {
        /// The member's organisation id.
        org: OrgId,
    },
}

/// `trust …`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Attest that an organisation id belongs to a real organisation.
    Attest {
        /// The organisation id.
        #[arg(long)]
        org: OrgId,
        /// Its official name.
        #[arg(long)]
        name: String,
        /// Its kind.
        #[arg(long)]
        kind: OrgKind,
        /// Its AGS.
        #[arg(long)]
        ags: Option<Ags>,
    },
    /// Withdraw an attestation.
    Withdraw {
        /// The organisation id.
        #[arg(long)]
        org: OrgId,
    },
    /// Make an organisation a steward of a product entry (for example its vendor, once it
    /// joined the network), for every node that follows this anchor.
    Steward {
        /// Product id (or a unique prefix).
        #[arg(long)]
        product: String,
        /// The organisation id.
        #[arg(long)]
        org: OrgId,
        /// The entry is orphaned (its creator revoked or gone): the organisation takes the
        /// creator's place, and the creator no longer decides.
        #[arg(long)]
        replaces_creator: bool,
        /// Why, in words (shown with the entry's stewards).
        #[arg(long)]
        reason: Option<String>,
        /// Withdraw this anchor's grant instead.
        #[arg(long)]
        withdraw: bool,
    },
}

/// `key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Authorise another key to publish this organisation's documents.
    Delegate {
        /// The key (hex) to authorise.
        #[arg(long)]
        to: allmende_protocol::ids::PublicKey,
        /// Days the delegation is valid.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// What the key may publish for the organisation, comma-separated: profile,
        /// deployments, experience (ratings and Nachnutzung reports), product; or all.
        /// Default: everything but the profile.
        #[arg(long, value_delimiter = ',', value_name = "KINDS")]
        scope: Vec<String>,
    },
    /// Revoke a key from now on: a delegate of this organisation, or this node's own key.
    Revoke {
        /// The key (hex) to revoke.
        #[arg(long)]
        key: allmende_protocol::ids::PublicKey,
        /// Why (kept with the revocation).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Print this node's public signing key and organisation id.
    ExportPublic,
    /// Replace the organisation's key: the current key signs a succession naming a new key
    /// (which countersigns), the new key becomes the key file and the old one is kept as
    /// `<key file>.retired-<time>`. Earlier changes stay valid; the old key writes nothing
    /// more. A running node uses the new key within seconds.
    Rotate {
        /// Why (kept with the succession).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List the organisation's keys (with rotations), its delegations and revocations.
    List,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Official name, e.g. "Stadt Köln".
    #[arg(long)]
    pub name: String,
    /// Kind of body: kommune, kreis, land, bund, it-dienstleister, sonstige.
    #[arg(long)]
    pub kind: OrgKind,
    /// Amtlicher Gemeindeschlüssel (8 digits).
    #[arg(long)]
    pub ags: Option<Ags>,
    /// Inhabitants.
    #[arg(long)]
    pub population: Option<u32>,
    /// Website.
    #[arg(long)]
    pub website: Option<WebUrl>,
    /// Join the network of this manifest file as well (see `allmende join`).
    #[arg(long, value_name = "FILE")]
    pub network: Option<PathBuf>,
}

/// `network …`.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Write a new manifest signed by this node's organisation, which is its first anchor.
    Create {
        /// The network's name, e.g. "Allmende NRW".
        #[arg(long)]
        name: String,
        /// Bootstrap address, with /p2p/PEER_ID (repeatable).
        #[arg(long = "bootstrap", value_name = "MULTIADDR")]
        bootstrap: Vec<libp2p::Multiaddr>,
        /// Another founding anchor (organisation id, repeatable); it adds its signature with
        /// `allmende network sign`.
        #[arg(long = "anchor", value_name = "ORG_ID")]
        anchors: Vec<OrgId>,
        /// The manifest's version; an update needs a greater one.
        #[arg(long, default_value_t = 1)]
        version: u64,
        /// Quarantine: most documents per key outside the trust scope.
        #[arg(long)]
        quarantine_key_documents: Option<u32>,
        /// Quarantine: most bytes per key outside the trust scope.
        #[arg(long)]
        quarantine_key_bytes: Option<u64>,
        /// Quarantine: most bytes altogether.
        #[arg(long)]
        quarantine_total_bytes: Option<u64>,
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Add this node's organisation's signature to a manifest that lists it as an anchor.
    Sign {
        /// The manifest file; rewritten in place.
        file: PathBuf,
    },
    /// Show a manifest and whether its signatures make it valid.
    Show {
        /// The manifest file.
        file: PathBuf,
    },
}

/// `org …`.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Show the local organisation.
    Show {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change fields of the profile.
    Edit(OrgEditArgs),
}

/// `org edit`.
#[derive(Debug, Args)]
pub struct OrgEditArgs {
    /// Official name.
    #[arg(long)]
    pub name: Option<String>,
    /// Amtlicher Gemeindeschlüssel.
    #[arg(long)]
    pub ags: Option<Ags>,
    /// Inhabitants.
    #[arg(long)]
    pub population: Option<u32>,
    /// Website.
    #[arg(long)]
    pub website: Option<WebUrl>,
    /// A role to contact (e.g. "IT-Leitung"); never a person's name.
    #[arg(long)]
    pub contact_role: Option<String>,
    /// The IT-Dienstleister (organisation id) the organisation belongs to.
    #[arg(long)]
    pub it_dienstleister: Option<OrgId>,
}

/// Fields of a product, shared by `add` and `edit`.
#[derive(Debug, Args, Default)]
pub struct ProductFields {
    /// Product name.
    #[arg(long)]
    pub name: Option<String>,
    /// Vendor or providing body.
    #[arg(long)]
    pub vendor: Option<String>,
    /// Kind: software, fachverfahren, onlinedienst, basiskomponente.
    #[arg(long)]
    pub kind: Option<ProductKind>,
    /// Description.
    #[arg(long)]
    pub description: Option<String>,
    /// SPDX licence expression (e.g. EUPL-1.2, LicenseRef-proprietary).
    #[arg(long)]
    pub licence: Option<Licence>,
    /// Source repository URL.
    #[arg(long)]
    pub repository: Option<WebUrl>,
    /// Website URL.
    #[arg(long)]
    pub website: Option<WebUrl>,
    /// Category (repeatable; replaces the list).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// Task: 14-digit LeiKa key, ozg:… id or free text (repeatable; replaces the list).
    #[arg(long = "task")]
    pub tasks: Vec<Task>,
    /// Standard or interface, e.g. XMeld, OSCI/XTA, FIT-Connect (repeatable; replaces the list).
    #[arg(long = "standard")]
    pub standards: Vec<String>,
    /// Hosting model: on-premise, it-dienstleister, saas, cloud (repeatable; replaces the list).
    #[arg(long = "hosting")]
    pub hosting: Vec<HostingModel>,
    /// Technical prerequisites.
    #[arg(long)]
    pub prerequisites: Option<String>,
    /// Cost model.
    #[arg(long)]
    pub cost_model: Option<String>,
    /// An organisation (id) that looks after the entry with its creator (repeat for more;
    /// replaces the list). Only the creator, or an organisation a trust anchor made steward,
    /// sets it; from anyone else it is a proposal.
    #[arg(long = "co-steward", value_name = "ORG_ID")]
    pub co_stewards: Vec<OrgId>,
    /// The latest version the vendor released (at most 100 characters).
    #[arg(long)]
    pub current_version: Option<String>,
    /// The day the vendor's support ends (Abkündigung), YYYY-MM-DD.
    #[arg(long)]
    pub support_ends: Option<Date>,
}

/// `product …`.
#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Create a product entry; prints its id. When the product likely exists already, the
    /// existing entries are shown instead (use `--new` to create a separate entry anyway).
    Add {
        /// The product's fields.
        #[command(flatten)]
        fields: ProductFields,
        /// Create the entry even if a similar one exists.
        #[arg(long)]
        new: bool,
    },
    /// Mark an entry as the same product as another ("same as"); every node merges them.
    Merge {
        /// The duplicate entry (id or unique prefix).
        duplicate: String,
        /// The entry it is the same as.
        #[arg(long)]
        into: String,
    },
    /// Change fields of a product entry.
    Edit {
        /// Product id (or a unique prefix of at least 6 hex characters).
        id: String,
        /// The fields to change.
        #[command(flatten)]
        fields: ProductFields,
    },
    /// Show a product.
    Show {
        /// Product id (or a unique prefix).
        id: String,
    },
    /// Write a product as publiccode.yml (standard 0.4), e.g. to move it to Open CoDE.
    Publiccode {
        /// Product id (or a unique prefix).
        id: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List products.
    List,
    /// Show who looks after an entry and the proposals to it, each with the value shown now
    /// beside the proposed one.
    Proposals {
        /// Product id (or a unique prefix).
        id: String,
        /// Also list proposals by organisations no followed anchor attests.
        #[arg(long)]
        unverified: bool,
        /// Also list decided proposals.
        #[arg(long)]
        all: bool,
    },
    /// Accept a proposal to an entry this node's organisation looks after (a steward): its
    /// values become the entry's.
    Accept {
        /// Product id (or a unique prefix).
        id: String,
        /// The proposal's id (64 hex, from `product proposals`).
        proposal: String,
    },
    /// Decline a proposal to an entry this node's organisation looks after.
    Decline {
        /// Product id (or a unique prefix).
        id: String,
        /// The proposal's id (64 hex, from `product proposals`).
        proposal: String,
    },
    /// List every change of an entry, like a wiki's history: when, by whom, which fields, and
    /// whether it counted (steward) or was a proposal.
    History {
        /// Product id (or a unique prefix).
        id: String,
    },
}

/// `deployment …`.
#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Add a deployment; prints its id.
    Add(DeploymentArgs),
    /// End a deployment (status retired), optionally naming the product that replaced it.
    End(DeploymentEndArgs),
}

/// `deployment end`.
#[derive(Debug, Args)]
pub struct DeploymentEndArgs {
    /// The deployment's id (as `deployment add` printed it).
    pub key: String,
    /// The organisation whose deployment it is (under a delegation it gave this node's key).
    /// Default: this node's own organisation.
    #[arg(long, value_name = "ORG_ID")]
    pub on_behalf_of: Option<OrgId>,
    /// Last day in use (YYYY-MM-DD).
    #[arg(long)]
    pub until: Option<Date>,
    /// The product that replaced it (id or a unique prefix).
    #[arg(long, value_name = "PRODUCT")]
    pub replaced_by: Option<String>,
    /// Why it ended or was replaced.
    #[arg(long)]
    pub reason: Option<String>,
}

/// `deployment add`.
#[derive(Debug, Args)]
pub struct DeploymentArgs {
    /// Product id (or a unique prefix).
    #[arg(long)]
    pub product: String,
    /// Publish for this organisation (id) under a delegation it gave this node's key,
    /// e.g. as its IT-Dienstleister. Default: this node's own organisation.
    #[arg(long, value_name = "ORG_ID")]
    pub on_behalf_of: Option<OrgId>,
    /// planned, pilot, production, retired.
    #[arg(long)]
    pub status: DeploymentStatus,
    /// Version in use.
    #[arg(long)]
    pub version: Option<String>,
    /// In use since (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<Date>,
    /// Task it is used for (repeatable).
    #[arg(long = "task")]
    pub tasks: Vec<Task>,
    /// `self`, `saas`, or `it-dienstleister:ORG_ID`.
    #[arg(long, default_value = "self")]
    pub operated_by: OperatedBy,
    /// Integration as PRODUCT:STANDARD:STATUS (status works, partly, fails); repeatable.
    #[arg(long = "integration")]
    pub integrations: Vec<String>,
    /// The online front end is connected end to end to the Fachverfahren.
    #[arg(long)]
    pub end_to_end: Option<YesNo>,
    /// One-off cost in euros.
    #[arg(long)]
    pub cost_once: Option<u64>,
    /// Yearly cost in euros.
    #[arg(long)]
    pub cost_yearly: Option<u64>,
    /// Whom other bodies may ask about it: a role or unit, never a person
    /// ("Fachbereich Bürgerdienste, Produktverantwortliche").
    #[arg(long)]
    pub contact_role: Option<String>,
    /// Open to questions from other bodies about this deployment ("ansprechbar").
    #[arg(long, value_name = "YES_NO")]
    pub exchange: Option<YesNo>,
    /// Last day in use (status retired only).
    #[arg(long)]
    pub until: Option<Date>,
    /// The product that replaced it (status retired only; id or a unique prefix).
    #[arg(long, value_name = "PRODUCT")]
    pub replaced_by: Option<String>,
    /// Why it ended (status retired only).
    #[arg(long)]
    pub end_reason: Option<String>,
}

/// yes / no.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum YesNo {
    /// Yes.
    #[value(alias = "ja", alias = "true")]
    Yes,
    /// No.
    #[value(alias = "nein", alias = "false")]
    No,
}

impl From<YesNo> for bool {
    fn from(v: YesNo) -> bool {
        matches!(v, YesNo::Yes)
    }
}

/// `rating …`.
#[derive(Debug, Subcommand)]
pub enum RatingCommand {
    /// Set (or replace) the organisation's rating of a product.
    Set(RatingArgs),
}

/// `rating set`.
#[derive(Debug, Args)]
pub struct RatingArgs {
    /// Product id (or a unique prefix).
    #[arg(long)]
    pub product: String,
    /// Publish for this organisation (id) under a delegation it gave this node's key,
    /// e.g. as its IT-Dienstleister. Default: this node's own organisation.
    #[arg(long, value_name = "ORG_ID")]
    pub on_behalf_of: Option<OrgId>,
    /// Score 1–5.
    #[arg(long)]
    pub functionality: Option<Score>,
    /// Score 1–5.
    #[arg(long)]
    pub usability: Option<Score>,
    /// Score 1–5.
    #[arg(long)]
    pub interoperability: Option<Score>,
    /// Score 1–5.
    #[arg(long)]
    pub support: Option<Score>,
    /// Score 1–5.
    #[arg(long)]
    pub stability: Option<Score>,
    /// Score 1–5.
    #[arg(long)]
    pub value_for_money: Option<Score>,
    /// Score 1–5.
    #[arg(long)]
    pub accessibility: Option<Score>,
    /// Would you recommend it?
    #[arg(long)]
    pub recommend: Option<YesNo>,
    /// Free text.
    #[arg(long)]
    pub text: Option<String>,
    /// In use since (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<Date>,
}

/// `training …`.
#[derive(Debug, Subcommand)]
pub enum TrainingCommand {
    /// Publish a training offer for a product; prints its id.
    Add(TrainingArgs),
    /// Set (or replace) the organisation's rating of a training offer.
    Rate(TrainingRateArgs),
    /// List training offers by task, best rated first.
    List(TrainingListArgs),
}

/// `training add`.
#[derive(Debug, Args)]
pub struct TrainingArgs {
    /// Product id (or a unique prefix).
    #[arg(long)]
    pub product: String,
    /// Publish for this organisation (id) under a delegation it gave this node's key.
    #[arg(long, value_name = "ORG_ID")]
    pub on_behalf_of: Option<OrgId>,
    /// Title.
    #[arg(long)]
    pub title: String,
    /// Who holds it (vendor, IT-Dienstleister, Studieninstitut, …).
    #[arg(long)]
    pub provider: String,
    /// in-person (präsenz), online (webinar), self-paced (e-learning), hybrid.
    #[arg(long)]
    pub format: TrainingFormat,
    /// Length in minutes.
    #[arg(long)]
    pub minutes: Option<u32>,
    /// Cost per participant in euros (0 when free).
    #[arg(long)]
    pub cost: Option<u64>,
    /// Where to book it or read more.
    #[arg(long)]
    pub link: Option<WebUrl>,
    /// A role it is for, never a person (repeatable).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// What it covers.
    #[arg(long)]
    pub description: Option<String>,
}

/// `training rate`.
#[derive(Debug, Args)]
pub struct TrainingRateArgs {
    /// The organisation that published the offer (id).
    #[arg(long, value_name = "ORG_ID")]
    pub org: OrgId,
    /// The offer's id (as `training add` printed it, or from `training list`).
    #[arg(long)]
    pub offer: String,
    /// Rate for this organisation (id) under a delegation it gave this node's key.
    #[arg(long, value_name = "ORG_ID")]
    pub on_behalf_of: Option<OrgId>,
    /// Overall score 1–5.
    #[arg(long)]
    pub score: Score,
    /// Would you recommend it?
    #[arg(long)]
    pub recommend: Option<YesNo>,
    /// Free text.
    #[arg(long)]
    pub text: Option<String>,
}

/// `training list`.
#[derive(Debug, Args)]
pub struct TrainingListArgs {
    /// Only offers for products of this task (LeiKa key or text).
    #[arg(long)]
    pub task: Option<Task>,
    /// Only offers for this product (id or a unique prefix).
    #[arg(long)]
    pub product: Option<String>,
    /// Only offers in this format.
    #[arg(long)]
    pub format: Option<TrainingFormat>,
    /// List offers of organisations no followed anchor attests too.
    #[arg(long)]
    pub unverified: bool,
    /// Print JSON (as `GET /api/v1/trainings` answers) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `reuse …`.
#[derive(Debug, Subcommand)]
pub enum ReuseCommand {
    /// Add a Nachnutzung report; prints its id.
    Add(ReuseArgs),
}

/// `reuse add`.
#[derive(Debug, Args)]
pub struct ReuseArgs {
    /// Product id (or a unique prefix).
    #[arg(long)]
    pub product: String,
    /// Publish for this organisation (id) under a delegation it gave this node's key,
    /// e.g. as its IT-Dienstleister. Default: this node's own organisation.
    #[arg(long, value_name = "ORG_ID")]
    pub on_behalf_of: Option<OrgId>,
    /// production, in-progress, abandoned.
    #[arg(long)]
    pub outcome: ReuseOutcome,
    /// Providing organisation (id).
    #[arg(long)]
    pub provider: Option<OrgId>,
    /// Reused as an EfA ("Einer für Alle") service.
    #[arg(long)]
    pub efa: bool,
    /// Effort in person-days.
    #[arg(long)]
    pub effort_days: Option<u32>,
    /// One-off cost in euros.
    #[arg(long)]
    pub cost_once: Option<u64>,
    /// Yearly cost in euros.
    #[arg(long)]
    pub cost_yearly: Option<u64>,
    /// Weeks from decision to production.
    #[arg(long)]
    pub weeks: Option<u32>,
    /// Obstacle: legal, technical, organisational, financial (repeatable).
    #[arg(long = "obstacle")]
    pub obstacles: Vec<Obstacle>,
    /// Would you recommend the reuse?
    #[arg(long)]
    pub recommend: Option<YesNo>,
    /// Free text.
    #[arg(long)]
    pub text: Option<String>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON document: the catalog plus every signed change and certificate.
    Json,
    /// JSON Lines: a meta line, the signed material (re-importable), then one readable record
    /// per line (streamed).
    Jsonl,
    /// One CSV file per table plus metadata.json, into the directory given with --out.
    Csv,
    /// JSON-LD (schema.org SoftwareApplication with ADMS-AP terms), streamed.
    Jsonld,
    /// A self-contained SQLite database with the tables of docs/sql.md, at --out.
    Sqlite,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the web UI listens.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub http: std::net::SocketAddr,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Export a filtered view instead of the whole catalog (docs/exports.md).
    #[command(flatten)]
    pub filter: ExportFilterArgs,
}

/// The filters of `export`: the names and values of the API's product search (`q`, facets)
/// and organisation lists (`land`, `kreis`, `org`, `verified`), read by
/// [`allmende_formats::export_stream::Filter::add`] like the API's `GET /api/v1/export`.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Filters (repeat a facet for OR; different filters AND)")]
pub struct ExportFilterArgs {
    /// Products matching this free text (German-aware, as in product search).
    #[arg(long)]
    pub q: Option<String>,
    /// Products of this kind (fachverfahren, onlinedienst, …).
    #[arg(long)]
    pub kind: Vec<String>,
    /// Products for this task (LeiKa key, ozg:… id or text, as stored).
    #[arg(long)]
    pub task: Vec<String>,
    /// Products in this OZG Themenfeld (slug, e.g. bauen-wohnen).
    #[arg(long)]
    pub themenfeld: Vec<String>,
    /// Products with this category (as stored).
    #[arg(long)]
    pub category: Vec<String>,
    /// Products speaking this standard (canonical name, e.g. XBau).
    #[arg(long)]
    pub standard: Vec<String>,
    /// Products under this licence (SPDX expression as stored).
    #[arg(long)]
    pub licence: Vec<String>,
    /// Open-source products (yes) or not (no).
    #[arg(long = "open-source", value_name = "yes|no")]
    pub open_source: Vec<String>,
    /// Products offered with this hosting model.
    #[arg(long)]
    pub hosting: Vec<String>,
    /// Products with EfA data (yes).
    #[arg(long, value_name = "yes|no")]
    pub efa: Vec<String>,
    /// EfA products provided by this Land (two-digit key).
    #[arg(long = "efa-land")]
    pub efa_land: Vec<String>,
    /// Records of organisations in this Land (two-digit key).
    #[arg(long)]
    pub land: Option<String>,
    /// Records of organisations in this Kreis (five digits).
    #[arg(long)]
    pub kreis: Option<String>,
    /// Records of this organisation (repeatable).
    #[arg(long)]
    pub org: Vec<String>,
    /// Records of organisations a followed trust anchor attested (true) or did not (false).
    #[arg(long, value_name = "true|false")]
    pub verified: Option<String>,
}

impl ExportFilterArgs {
    /// The filter, checked as the API checks it.
    pub fn filter(
        &self,
    ) -> Result<allmende_formats::export_stream::Filter, allmende_formats::export_stream::FilterError>
    {
        let mut f = allmende_formats::export_stream::Filter::default();
        let lists: [(&str, &Vec<String>); 11] = [
            ("kind", &self.kind),
            ("task", &self.task),
            ("themenfeld", &self.themenfeld),
            ("category", &self.category),
            ("standard", &self.standard),
            ("licence", &self.licence),
            ("open_source", &self.open_source),
            ("hosting", &self.hosting),
            ("efa", &self.efa),
            ("efa_land", &self.efa_land),
            ("org", &self.org),
        ];
        let single = [
            ("q", &self.q),
            ("land", &self.land),
            ("kreis", &self.kreis),
            ("verified", &self.verified),
        ];
        for (key, value) in single {
            if let Some(v) = value {
                f.add(key, v)?;
            }
        }
        for (key, values) in lists {
            for v in values {
                f.add(key, v)?;
            }
        }
        Ok(f)
    }
}

/// `import`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ImportArgs {
    /// Import something other than an Allmende export.
    #[command(subcommand)]
    pub what: Option<ImportWhat>,
    /// Format of the export: json or jsonl.
    #[arg(long, value_enum, default_value = "json")]
    pub format: ExportFormat,
    /// The export file (`-` for standard input).
    #[arg(required = true)]
    pub file: Option<PathBuf>,
}

/// `import publiccode …`.
#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Import publiccode.yml files (0.2–0.7, with the German extension) as products of this
    /// organisation; importing a file again updates the same product. Each file is imported
    /// or refused on its own; warnings name the key and line.
    Publiccode {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Replace the Gemeindeverzeichnis (municipalities, Kreise, Länder with official names
    /// and population) with a Destatis GV100AD file (`GV100AD_*.ASC`, UTF-8). The file is
    /// read whole first: a wrong line is named with its columns and nothing is replaced.
    Gv100ad {
        /// The `.ASC` file.
        file: PathBuf,
    },
    /// Import the organisation's inventory (Bestandsaufnahme) from a CSV, XLSX or ODS file:
    /// columns mapped by their headers (remembered), products matched against the catalog,
    /// new entries where nothing matches, then one signed batch. Again with the updated file:
    /// deployments are updated, ended and added, not duplicated. See docs/inventory.md.
    Bestand(crate::inventory_cli::BestandArgs),
}

/// Largest import file read, in bytes.
const MAX_IMPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A command failed because the user's input is wrong (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn bad(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}

/// Runs a parsed command line; what it prints goes to `out`.
impl Cli {
    /// The effective configuration: the file (`--config`, else `<data dir>/allmende.toml`
    /// if present) with environment variables and flags laid over it.
    pub fn settings(&self) -> anyhow::Result<crate::config::Config> {
        let given_dir = self.data_dir.clone();
        let hint = match (&given_dir, &self.command) {
            (Some(d), _) => d.clone(),
            // The demo never writes into the user's real data directory by default.
            (None, Command::Demo(_)) => std::env::temp_dir().join("allmende-demo"),
            (None, _) => default_data_dir()?,
        };
        let file = crate::config::locate(self.config.as_deref(), &hint);
        let mut cfg = match &file {
            Some(f) => crate::config::Config::read(f).map_err(|e| bad(e.to_string()))?,
            None => crate::config::Config::default(),
        };
        cfg.data_dir = match (given_dir, self.config.is_some(), cfg.data_dir.take()) {
            (Some(d), _, _) => Some(d),
            (None, true, Some(d)) => Some(d),
            _ => Some(hint),
        };
        if let Some(l) = &self.log {
            cfg.log.filter = l.clone();
        }
        if let Some(f) = self.log_format {
            cfg.log.format = f;
        }
        if let Some(k) = &self.identity_file {
            cfg.keys.identity_file = Some(k.clone());
        }
        if let Command::Run(a) | Command::Config(ConfigCommand::Show(a)) = &self.command {
            a.net.apply(&mut cfg.network);
            if let Some(h) = a.http {
                cfg.http.listen = h;
            }
            if let Some(secs) = a.export_stall_secs {
                cfg.http.export_stall_secs = secs;
            }
            if !a.trust_anchors.is_empty() {
                cfg.trust.anchors = a.trust_anchors.clone();
            }
            if let Some(n) = a.quarantine_key_documents {
                cfg.trust.quarantine_key_documents = n;
            }
            if let Some(n) = a.quarantine_key_bytes {
                cfg.trust.quarantine_key_bytes = n;
            }
            if let Some(n) = a.quarantine_total_bytes {
                cfg.trust.quarantine_total_bytes = n;
            }
        }
        cfg.validate().map_err(|e| bad(e.to_string()))?;
        Ok(cfg)
    }
}

/// Runs the command with the effective configuration ([`Cli::settings`]).
pub fn run(
    cli: Cli,
    cfg: &crate::config::Config,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let dir = cfg.data_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if cli.member.is_some()
        && matches!(
            cli.command,
            Command::Init(_) | Command::Member(_) | Command::Run(_) | Command::Demo(_)
        )
    {
        return Err(bad(
            "--member selects a hosted member for publishing; it does not apply to init, member or run",
        ));
    }
    let dd = DataDir::new(dir)
        .with_key_file(cfg.keys.identity_file.clone())
        .for_member(cli.member);
    match cli.command {
        Command::Config(c) => config_command(&cli.config, cfg, c, out),
        Command::Backup {
            out: to,
            without_keys,
        } => {
            let m = crate::backup::backup(&dd, &to, !without_keys)?;
            writeln!(
                out,
                "Backup in {}: {} documents, {} signed changes, {} certificates, {} files{}.",
                to.display(),
                m.documents,
                m.changes,
                m.certificates,
                m.files.len(),
                if without_keys { ", without keys" } else { "" }
            )?;
            Ok(())
        }
        Command::Restore {
            from,
            force,
            check_only,
        } => {
            let m = if check_only {
                crate::backup::verify(&from)?
            } else {
                crate::backup::restore(&from, &dd, force, now().0)?
            };
            writeln!(
                out,
                "Backup of {} from {} (Allmende {}): {} documents, {} signed changes and {} certificates verified{}.",
                m.organisation
                    .as_deref()
                    .unwrap_or("a node without organisation"),
                m.created_at,
                m.allmende_version,
                m.documents,
                m.changes,
                m.certificates,
                if check_only {
                    String::new()
                } else {
                    format!(
                        "; restored into {}. Start the node: it catches up from its peers",
                        dd.path().display()
                    )
                }
            )?;
            Ok(())
        }
        Command::Health { url } => health(&url, out),
        Command::Query(a) => query_command(&dd, a, out),
        Command::Vergleich(a) => {
            crate::vergleich::run(&dd, a, &cfg.trust.anchors, out).map_err(|e| match e {
                crate::vergleich::VergleichError::Refused(m) => bad(m),
                crate::vergleich::VergleichError::Failed(e) => e,
            })
        }
        Command::Watch(c) => crate::follow_cli::watch_command(&dd, c, &cfg.trust.anchors, out),
        Command::Notices { json } => {
            crate::follow_cli::notices_command(&dd, &cfg.trust.anchors, json, out)
        }
        Command::Init(a) => {
            // The manifest is checked before anything touches the disk.
            if let Some(file) = &a.network {
                crate::network::read_verified(file)?;
            }
            let file = a.network.clone();
            init(&dd, a, out)?;
            match file {
                Some(file) => join_network(&dd, &cli.config, &file, out),
                None => Ok(()),
            }
        }
        Command::Join { file } => join_network(&dd, &cli.config, &file, out),
        Command::Network(c) => network(&dd, c, out),
        Command::Org(c) => org(&dd, c, out),
        Command::Product(c) => product(&dd, c, out),
        Command::Deployment(DeploymentCommand::Add(a)) => deployment_add(&dd, a, out),
        Command::Deployment(DeploymentCommand::End(a)) => deployment_end(&dd, a, out),
        Command::Training(TrainingCommand::Add(a)) => training_add(&dd, a, out),
        Command::Training(TrainingCommand::Rate(a)) => training_rate(&dd, a, out),
        Command::Training(TrainingCommand::List(a)) => {
            training_list(&dd, a, &cfg.trust.anchors, out)
        }
        Command::Rating(RatingCommand::Set(a)) => rating_set(&dd, a, out),
        Command::Reuse(ReuseCommand::Add(a)) => reuse_add(&dd, a, out),
        Command::Export(a) => export(&dd, a, &cfg.trust.anchors, out),
        Command::Import(a) => import(&dd, a, out),
        Command::Check => check(&dd, out),
        Command::Demo(a) => crate::demo::run(
            &crate::demo::DemoOptions {
                dir: dd.path().to_owned(),
                http: a.http,
            },
            out,
        ),
        Command::Run(_) => run_node(&dd, cfg, out),
        Command::Trust(c) => trust(&dd, c, out),
        Command::Member(c) => member(&dd, c, out),
        Command::Key(c) => key(&dd, c, out),
    }
}

/// `join FILE`: applies the manifest to the configuration file in use.
fn join_network(
    dd: &DataDir,
    config: &Option<PathBuf>,
    file: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let path = crate::config::locate(config.as_deref(), dd.path())
        .unwrap_or_else(|| dd.path().join(crate::config::CONFIG_FILE));
    let joined = crate::network::join(dd, file, &path)?;
    let m = crate::network::read(&dd.path().join(crate::network::MANIFEST_FILE))?;
    write!(out, "{}", crate::network::describe(&m))?;
    writeln!(
        out,
        "{} {:?} (version {}): {} written. Restart the node to follow it.",
        if joined.updated {
            "Updated to"
        } else {
            "Joined"
        },
        m.body.name,
        m.body.version,
        joined.config.display()
    )?;
    Ok(())
}

fn network(dd: &DataDir, c: NetworkCommand, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    use allmende_protocol::manifest::{ManifestBody, QuarantineDefaults};
    match c {
        NetworkCommand::Create {
            name,
            bootstrap,
            anchors,
            version,
            quarantine_key_documents,
            quarantine_key_bytes,
            quarantine_total_bytes,
            out: file,
        } => {
            let id = dd.identity()?;
            let mut list = vec![id.org];
            list.extend(anchors.into_iter().filter(|a| *a != id.org));
            let d = crate::network::default_quarantine();
            let body = ManifestBody {
                name,
                version,
                bootstrap: bootstrap.iter().map(ToString::to_string).collect(),
                anchors: list,
                quarantine: QuarantineDefaults {
                    key_documents: quarantine_key_documents.unwrap_or(d.key_documents),
                    key_bytes: quarantine_key_bytes.unwrap_or(d.key_bytes),
                    total_bytes: quarantine_total_bytes.unwrap_or(d.total_bytes),
                },
            };
            let m = body.sign(&id.keypair)?;
            std::fs::write(&file, m.to_json_pretty())
                .with_context(|| format!("writing {}", file.display()))?;
            write!(out, "{}", crate::network::describe(&m))?;
            match m.verify() {
                Ok(()) => writeln!(out, "Valid. Written to {}.", file.display())?,
                Err(e) => writeln!(
                    out,
                    "Written to {}; not valid yet: {e}. The other anchors sign it with `allmende network sign {}`.",
                    file.display(),
                    file.display()
                )?,
            }
        }
        NetworkCommand::Sign { file } => {
            let id = dd.identity()?;
            let mut m = crate::network::read(&file)?;
            m.add_signature(&id.keypair)?;
            std::fs::write(&file, m.to_json_pretty())
                .with_context(|| format!("writing {}", file.display()))?;
            write!(out, "{}", crate::network::describe(&m))?;
            match m.verify() {
                Ok(()) => writeln!(out, "Signed; valid.")?,
                Err(e) => writeln!(out, "Signed; not valid yet: {e}")?,
            }
        }
        NetworkCommand::Show { file } => {
            let m = crate::network::read(&file)?;
            write!(out, "{}", crate::network::describe(&m))?;
            match m.verify() {
                Ok(()) => writeln!(out, "Valid.")?,
                Err(e) => bail!("{}: not valid: {e}", file.display()),
            }
        }
    }
    Ok(())
}

fn open(dd: &DataDir) -> anyhow::Result<(Identity, Repo<SqliteStore>)> {
    let id = dd.identity()?;
    let repo = dd.open_repo()?;
    Ok((id, repo))
}

/// The node's Gemeindeverzeichnis: its store's edition, or the compiled-in one before a
/// store exists.
fn directory(dd: &DataDir) -> anyhow::Result<std::sync::Arc<Gemeindeverzeichnis>> {
    if !dd.db_path().exists() {
        return Ok(gv100ad::shipped().clone());
    }
    let store = SqliteStore::open(&dd.db_path())?;
    Ok(allmende_catalog::refdata::directory(store.connection())?)
}

/// Refuses an AGS that the node's Gemeindeverzeichnis does not know (`--ags` of `init`, `org
/// edit`, `member add` and `trust attest`), with suggestions by `name`.
fn check_ags(directory: &Gemeindeverzeichnis, ags: Option<&Ags>, name: &str) -> anyhow::Result<()> {
    let Some(ags) = ags else { return Ok(()) };
    allmende_catalog::refdata::check_ags(directory, ags.as_str(), name)
        .map_err(|m| bad(format!("--ags: {m}")))
}

/// The directory of an open repository's store.
fn directory_of(repo: &Repo<SqliteStore>) -> anyhow::Result<std::sync::Arc<Gemeindeverzeichnis>> {
    Ok(allmende_catalog::refdata::directory(
        repo.store().connection(),
    )?)
}

fn init(dd: &DataDir, a: InitArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if dd.is_initialised() {
        return Err(bad(format!(
            "{} already holds an identity; refusing to overwrite it (choose another --data-dir)",
            dd.path().display()
        )));
    }
    let profile = OrgProfile {
        name: a.name.trim().to_owned(),
        kind: a.kind,
        land: a.ags.as_ref().map(Ags::land),
        ags: a.ags,
        population: a.population,
        website: a.website,
        contact_role: None,
        it_dienstleister: None,
    };
    // Validate before anything touches the disk: a refused init leaves no files behind.
    allmende_protocol::schema::Validate::validate(&profile)
        .map_err(|e| bad(format!("invalid --{}", e)))?;
    check_ags(&*directory(dd)?, profile.ags.as_ref(), &profile.name)?;
    let identity = dd.create_identity()?;
    let mut repo = dd.open_repo()?;
    repo.put_key(KeyRecord {
        key: identity.keypair.public(),
        role: "local".into(),
        label: profile.name.clone(),
    })?;
    let header = DocHeader::singleton(DocKind::Profile, identity.org);
    repo.edit(&identity.keypair, header, now(), |ed| ed.put_root(&profile))?;
    writeln!(
        out,
        "Initialised {} ({}) in {}",
        profile.name,
        profile.kind,
        dd.path().display()
    )?;
    writeln!(out, "Organisation id: {:#}", identity.org)?;
    Ok(())
}

fn org(dd: &DataDir, c: OrgCommand, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let header = DocHeader::singleton(DocKind::Profile, id.org);
    let current: Option<OrgProfile> = match repo.document(&header.id())? {
        Some(d) => d
            .root::<OrgProfile>()
            .transpose()
            .context("stored profile is invalid")?,
        None => None,
    };
    match c {
        OrgCommand::Show { json } => {
            let profile = current.context("no profile stored for this organisation")?;
            let counts = repo.store().counts()?;
            if json {
                let v = serde_json::json!({ "org": id.org, "key": id.keypair.public(), "profile": profile });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                writeln!(out, "{}", profile.name)?;
                writeln!(out, "  Art:              {}", profile.kind)?;
                let directory = directory_of(&repo)?;
                let area = profile
                    .ags
                    .as_ref()
                    .and_then(|a| directory.area(a.as_str()));
                if let Some(ags) = &profile.ags {
                    writeln!(out, "  AGS:              {ags} ({})", ags.land())?;
                    match area {
                        Some(area) => writeln!(
                            out,
                            "  Amtlich:          {} ({} Einwohner, Gemeindeverzeichnis Stand {})",
                            area.name(),
                            directory.population(area),
                            directory.status_date()
                        )?,
                        None => writeln!(
                            out,
                            "  Amtlich:          AGS nicht im Gemeindeverzeichnis (Stand {})",
                            directory.status_date()
                        )?,
                    }
                }
                if let Some(p) = profile.population {
                    writeln!(out, "  Einwohner:        {p} (Angabe der Organisation)")?;
                }
                if let Some(w) = &profile.website {
                    writeln!(out, "  Website:          {w}")?;
                }
                writeln!(out, "  Organisation id:  {:#}", id.org)?;
                writeln!(out, "  Signing key:      {:#}", id.keypair.public())?;
                writeln!(
                    out,
                    "  Store:            {} documents, {} signed changes",
                    counts.documents, counts.changes
                )?;
            }
            Ok(())
        }
        OrgCommand::Edit(a) => {
            let mut p = current.context("no profile stored for this organisation")?;
            if let Some(v) = a.name {
                p.name = v.trim().to_owned();
            }
            if let Some(v) = a.ags {
                check_ags(&*directory_of(&repo)?, Some(&v), &p.name)?;
                p.land = Some(v.land());
                p.ags = Some(v);
            }
            if a.population.is_some() {
                p.population = a.population;
            }
            if a.website.is_some() {
                p.website = a.website;
            }
            if a.contact_role.is_some() {
                p.contact_role = a.contact_role;
            }
            if a.it_dienstleister.is_some() {
                p.it_dienstleister = a.it_dienstleister;
            }
            write_record(&mut repo, &id, header, |ed| ed.put_root(&p))?;
            writeln!(out, "Profile updated.")?;
            Ok(())
        }
    }
}

/// Runs an edit and turns schema errors into bad-input errors.
fn write_record(
    repo: &mut Repo<SqliteStore>,
    id: &Identity,
    header: DocHeader,
    f: impl FnOnce(
        &mut allmende_protocol::doc::Editor<'_>,
    ) -> Result<(), allmende_protocol::doc::DocError>,
) -> anyhow::Result<bool> {
    match repo.edit(&id.keypair, header, now(), f) {
        Ok(h) => Ok(h.is_some()),
        Err(allmende_store::repo::RepoError::Document(
            allmende_protocol::doc::DocError::Schema(e),
        )) => Err(bad(format!("invalid {e}"))),
        Err(allmende_store::repo::RepoError::Document(
            e @ allmende_protocol::doc::DocError::TooLarge { .. },
        )) => Err(bad(e.to_string())),
        // Publishing for an organisation that gave no (or no longer a) delegation.
        Err(e @ allmende_store::repo::RepoError::Auth { .. }) => Err(bad(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Finds a product by full id or unique hex prefix.
fn resolve_product(repo: &Repo<SqliteStore>, text: &str) -> anyhow::Result<DocId> {
    let t = text.trim().to_lowercase();
    if t.len() < 6 || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "product id {text:?}: give the id or at least its first 6 hex characters"
        )));
    }
    let matches: Vec<DocId> = repo
        .store()
        .headers()?
        .into_iter()
        .filter(|h| h.kind == DocKind::Product)
        .map(|h| h.id())
        .filter(|id| format!("{id:#}").starts_with(&t))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(bad(format!(
            "no product with id {text} in this store (see `allmende product list`)"
        ))),
        many => Err(bad(format!(
            "product id prefix {text} is ambiguous: {} products match",
            many.len()
        ))),
    }
}

fn product_header(repo: &Repo<SqliteStore>, id: &DocId) -> anyhow::Result<DocHeader> {
    Ok(repo
        .store()
        .document(id)?
        .context("product vanished")?
        .header)
}

fn apply_fields(p: &mut Product, f: ProductFields) {
    if let Some(v) = f.name {
        p.name = v.trim().to_owned();
    }
    if let Some(v) = f.vendor {
        p.vendor = v.trim().to_owned();
    }
    if let Some(v) = f.kind {
        p.kind = v;
    }
    if f.description.is_some() {
        p.description = f.description;
    }
    if f.licence.is_some() {
        p.licence = f.licence;
    }
    if f.repository.is_some() {
        p.repository = f.repository;
    }
    if f.website.is_some() {
        p.website = f.website;
    }
    if !f.categories.is_empty() {
        p.categories = f.categories;
    }
    if !f.tasks.is_empty() {
        p.tasks = f.tasks;
    }
    if !f.standards.is_empty() {
        p.standards = f.standards;
    }
    if !f.hosting.is_empty() {
        p.hosting = f.hosting;
    }
    if f.prerequisites.is_some() {
        p.prerequisites = f.prerequisites;
    }
    if f.cost_model.is_some() {
        p.cost_model = f.cost_model;
    }
    if !f.co_stewards.is_empty() {
        p.co_stewards = f.co_stewards;
    }
    if f.current_version.is_some() {
        p.current_version = f.current_version.map(|v| v.trim().to_owned());
    }
    if f.support_ends.is_some() {
        p.support_ends = f.support_ends;
    }
}

fn product(dd: &DataDir, c: ProductCommand, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let accepting = matches!(c, ProductCommand::Accept { .. });
    match c {
        ProductCommand::Add { fields: f, new } => {
            let (Some(name), Some(vendor)) = (f.name.clone(), f.vendor.clone()) else {
                return Err(bad("a new product needs --name and --vendor"));
            };
            if !new {
                let similar =
                    allmende_catalog::query::similar(repo.store().connection(), &name, &vendor)?;
                if !similar.is_empty() {
                    let list: Vec<String> = similar
                        .iter()
                        .map(|h| format!("  {}  {} ({})", h.id, h.name, h.vendor))
                        .collect();
                    return Err(bad(format!(
                        "this product likely exists already:\n{}\nuse the existing entry, or add --new to create a separate one",
                        list.join("\n")
                    )));
                }
            }
            let mut p = Product::new(name, vendor, f.kind.unwrap_or(ProductKind::Software));
            apply_fields(&mut p, f);
            let header = DocHeader::product(id.org, random_bytes::<16>()?);
            write_record(&mut repo, &id, header, |ed| ed.put_root(&p))?;
            writeln!(out, "{:#}", header.id())?;
            Ok(())
        }
        ProductCommand::Edit { id: pid, fields } => {
            let doc_id = resolve_product(&repo, &pid)?;
            let header = product_header(&repo, &doc_id)?;
            let mut p = repo
                .product(&doc_id)?
                .context("product has no fields")?
                .context("stored product is invalid")?;
            apply_fields(&mut p, fields);
            let changed = write_record(&mut repo, &id, header, |ed| ed.put_root(&p))?;
            writeln!(
                out,
                "{}",
                match (changed, repo.is_steward(&doc_id, id.org)?) {
                    (false, _) => "Nothing changed.",
                    (true, true) => "Product updated.",
                    (true, false) => {
                        "Saved as a proposal: this organisation is no steward of the entry, so its stewards decide (see `product proposals`)."
                    }
                }
            )?;
            Ok(())
        }
        ProductCommand::Merge { duplicate, into } => {
            let dup = resolve_product(&repo, &duplicate)?;
            let target = resolve_product(&repo, &into)?;
            if dup == target {
                return Err(bad("an entry cannot be merged into itself"));
            }
            let header = product_header(&repo, &dup)?;
            let mut p = repo
                .product(&dup)?
                .context("product has no fields")?
                .context("stored product is invalid")?;
            p.same_as = Some(target);
            write_record(&mut repo, &id, header, |ed| ed.put_root(&p))?;
            if repo.is_steward(&dup, id.org)? {
                writeln!(out, "{dup:#} is now the same as {target:#}.")?;
            } else {
                writeln!(
                    out,
                    "Proposed that {dup:#} is the same as {target:#}; the entry's stewards decide (see `product proposals`)."
                )?;
            }
            Ok(())
        }
        ProductCommand::Show { id: pid } => {
            let doc_id = resolve_product(&repo, &pid)?;
            let p = repo
                .product(&doc_id)?
                .context("product has no fields")?
                .context("stored product is invalid")?;
            let created_by = product_header(&repo, &doc_id)?.owner;
            let v = serde_json::json!({ "id": doc_id, "created_by": created_by, "product": p });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            Ok(())
        }
        ProductCommand::Publiccode { id: pid, out: file } => {
            let doc_id = resolve_product(&repo, &pid)?;
            let p = repo
                .product(&doc_id)?
                .context("product has no fields")?
                .context("stored product is invalid")?;
            let yaml = allmende_formats::publiccode::export(&p, &doc_id);
            match file {
                Some(path) => {
                    std::fs::write(&path, yaml)
                        .with_context(|| format!("writing {}", path.display()))?;
                    writeln!(out, "Wrote {}", path.display())?;
                }
                None => write!(out, "{yaml}")?,
            }
            Ok(())
        }
        ProductCommand::List => {
            for e in repo.catalog()?.products {
                writeln!(out, "{:#}  {} ({})", e.id, e.product.name, e.product.vendor)?;
            }
            Ok(())
        }
        ProductCommand::Proposals {
            id: pid,
            unverified,
            all,
        } => {
            let doc_id = resolve_product(&repo, &pid)?;
            let v = stewardship_view(&repo, doc_id, unverified)?;
            let who = |a: &allmende_catalog::stewardship::AuthorView| {
                format!(
                    "{} ({})",
                    a.name.as_deref().or(a.org.as_deref()).unwrap_or(&a.signer),
                    if a.verified {
                        "verifiziert"
                    } else {
                        "nicht verifiziert"
                    }
                )
            };
            writeln!(out, "Stewards:")?;
            for st in &v.stewards {
                writeln!(
                    out,
                    "  {} {} ({}, {})",
                    st.org,
                    st.name.as_deref().unwrap_or("–"),
                    st.role,
                    if st.verified {
                        "verifiziert"
                    } else {
                        "nicht verifiziert"
                    }
                )?;
            }
            let shown: Vec<_> = v.proposals.iter().filter(|p| all || p.open).collect();
            if shown.is_empty() {
                writeln!(out, "No open proposals.")?;
            }
            for p in shown {
                let state = match (&p.decision, p.open) {
                    (Some(d), _) => d.as_str(),
                    (None, true) => "open",
                    (None, false) => "nothing left to take over",
                };
                writeln!(
                    out,
                    "\nProposal {} by {} at {} ({state})",
                    p.id,
                    who(&p.author),
                    allmende_formats::export::iso8601(allmende_protocol::schema::UnixTime(
                        p.author.at
                    ))
                )?;
                for c in &p.changes {
                    writeln!(out, "  {}: {} -> {}", c.field, c.shown, c.proposed)?;
                }
            }
            if v.hidden_unverified > 0 {
                writeln!(
                    out,
                    "\n{} more open proposals by unverified authors (--unverified lists them).",
                    v.hidden_unverified
                )?;
            }
            Ok(())
        }
        ProductCommand::Accept { id: pid, proposal }
        | ProductCommand::Decline { id: pid, proposal } => {
            let decision = if accepting {
                Decision::Accepted
            } else {
                Decision::Declined
            };
            let doc_id = resolve_product(&repo, &pid)?;
            match repo.decide(&id.keypair, doc_id, proposal.trim(), decision, now()) {
                Ok(_) => {}
                Err(
                    e @ (allmende_store::repo::RepoError::NotSteward { .. }
                    | allmende_store::repo::RepoError::NoProposal(_)
                    | allmende_store::repo::RepoError::Decided(_)
                    | allmende_store::repo::RepoError::Document(_)),
                ) => return Err(bad(e.to_string())),
                Err(e) => return Err(e.into()),
            }
            writeln!(
                out,
                "{}",
                match decision {
                    Decision::Accepted => "Proposal accepted; its values are the entry's now.",
                    Decision::Declined => "Proposal declined.",
                }
            )?;
            Ok(())
        }
        ProductCommand::History { id: pid } => {
            let doc_id = resolve_product(&repo, &pid)?;
            let v = stewardship_view(&repo, doc_id, true)?;
            for h in &v.history {
                writeln!(
                    out,
                    "{}  {:<10}  {}  {}",
                    allmende_formats::export::iso8601(allmende_protocol::schema::UnixTime(
                        h.author.at
                    )),
                    h.standing,
                    h.author
                        .name
                        .as_deref()
                        .or(h.author.org.as_deref())
                        .unwrap_or(&h.author.signer),
                    h.fields.join(", ")
                )?;
            }
            Ok(())
        }
    }
}

/// The stewardship of `doc` as this data directory shows it (followed anchors from the store).
fn stewardship_view(
    repo: &Repo<SqliteStore>,
    doc: DocId,
    unverified: bool,
) -> anyhow::Result<allmende_catalog::stewardship::StewardshipView> {
    let resolution = repo.stewardship(&doc)?.context("product vanished")?;
    Ok(allmende_catalog::stewardship::view(
        repo.store().connection(),
        doc,
        &resolution,
        repo.anchors(),
        unverified,
    )?)
}

fn parse_integration(repo: &Repo<SqliteStore>, text: &str) -> anyhow::Result<Integration> {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    let [product, standard, status] = parts.as_slice() else {
        return Err(bad(format!(
            "--integration {text:?}: expected PRODUCT:STANDARD:STATUS, e.g. 3fa2c1:XMeld:works"
        )));
    };
    Ok(Integration {
        product: resolve_product(repo, product)?,
        standard: standard.trim().to_owned(),
        status: status
            .parse()
            .map_err(|e| bad(format!("--integration {text:?}: {e}")))?,
    })
}

fn deployment_add(
    dd: &DataDir,
    a: DeploymentArgs,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let product = resolve_product(&repo, &a.product)?;
    let integrations = a
        .integrations
        .iter()
        .map(|i| parse_integration(&repo, i))
        .collect::<Result<Vec<_>, _>>()?;
    let d = Deployment {
        product,
        version: a.version,
        tasks: a.tasks,
        since: a.since,
        status: a.status,
        operated_by: a.operated_by,
        integrations,
        end_to_end: a.end_to_end.map(bool::from),
        cost_once_eur: a.cost_once,
        cost_yearly_eur: a.cost_yearly,
        contact_role: a.contact_role,
        exchange_ok: a.exchange.map(bool::from),
        until: a.until,
        replaced_by: a
            .replaced_by
            .as_deref()
            .map(|p| resolve_product(&repo, p))
            .transpose()?,
        end_reason: a.end_reason,
    };
    d.validate()
        .map_err(|e| bad(format!("invalid deployment: {e}")))?;
    let key = RecordId::from_bytes(random_bytes::<16>()?);
    let header = DocHeader::singleton(DocKind::Deployments, a.on_behalf_of.unwrap_or(id.org));
    write_record(&mut repo, &id, header, |ed| ed.put(&format!("{key:#}"), &d))?;
    writeln!(out, "{key:#}")?;
    Ok(())
}

fn deployment_end(
    dd: &DataDir,
    a: DeploymentEndArgs,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let org = a.on_behalf_of.unwrap_or(id.org);
    let header = DocHeader::singleton(DocKind::Deployments, org);
    let key = a.key.trim().to_lowercase();
    let current = repo
        .document(&header.id())?
        .and_then(|d| {
            d.records::<Deployment>()
                .into_iter()
                .find(|(k, _)| *k == key)
        })
        .map(|(_, r)| r);
    let mut d = match current {
        Some(Ok(d)) => d,
        Some(Err(e)) => bail!("deployment {key} is stored but not valid: {e}"),
        None => {
            return Err(bad(format!(
                "{org:#} has no deployment {key} in this store (ids as `deployment add` printed them)"
            )));
        }
    };
    d.status = DeploymentStatus::Retired;
    if a.until.is_some() {
        d.until = a.until;
    }
    if let Some(p) = &a.replaced_by {
        d.replaced_by = Some(resolve_product(&repo, p)?);
    }
    if a.reason.is_some() {
        d.end_reason = a.reason;
    }
    d.validate()
        .map_err(|e| bad(format!("invalid deployment: {e}")))?;
    let changed = write_record(&mut repo, &id, header, |ed| ed.put(&key, &d))?;
    writeln!(
        out,
        "{}",
        if changed {
            "Deployment ended."
        } else {
            "Deployment unchanged."
        }
    )?;
    Ok(())
}

fn training_add(dd: &DataDir, a: TrainingArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let product = resolve_product(&repo, &a.product)?;
    let offer = TrainingOffer {
        product,
        title: a.title,
        provider: a.provider,
        format: a.format,
        duration_minutes: a.minutes,
        cost_eur: a.cost,
        link: a.link,
        roles: a.roles,
        description: a.description,
    };
    offer
        .validate()
        .map_err(|e| bad(format!("invalid training offer: {e}")))?;
    let key = RecordId::from_bytes(random_bytes::<16>()?);
    let header = DocHeader::singleton(DocKind::Experience, a.on_behalf_of.unwrap_or(id.org));
    write_record(&mut repo, &id, header, |ed| {
        ed.put(&format!("{key:#}"), &offer)
    })?;
    writeln!(out, "{key:#}")?;
    Ok(())
}

fn training_rate(
    dd: &DataDir,
    a: TrainingRateArgs,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let rating = TrainingRating {
        org: a.org,
        offer: a.offer.trim().to_lowercase(),
        score: a.score,
        recommend: a.recommend.map(bool::from),
        text: a.text,
    };
    rating
        .validate()
        .map_err(|e| bad(format!("invalid training rating: {e}")))?;
    let known = allmende_catalog::exchange::training(
        repo.store().connection(),
        &rating.org,
        &rating.offer,
        &allmende_catalog::exchange::Scope {
            anchors: vec![],
            include_unverified: true,
        },
    )?;
    if known.is_none() {
        return Err(bad(format!(
            "no training offer {} of {:#} in this store (see `allmende training list --unverified`)",
            rating.offer, rating.org
        )));
    }
    let header = DocHeader::singleton(DocKind::Experience, a.on_behalf_of.unwrap_or(id.org));
    let key = rating.key();
    let changed = write_record(&mut repo, &id, header, |ed| ed.put(&key, &rating))?;
    writeln!(
        out,
        "{}",
        if changed {
            "Training rating saved."
        } else {
            "Training rating unchanged."
        }
    )?;
    Ok(())
}

fn training_list(
    dd: &DataDir,
    a: TrainingListArgs,
    anchors: &[OrgId],
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (_, repo) = open(dd)?;
    let filter = allmende_catalog::exchange::TrainingFilter {
        task: a.task.map(|t| t.as_str().to_owned()),
        product: a
            .product
            .as_deref()
            .map(|p| resolve_product(&repo, p))
            .transpose()?,
        format: a.format,
    };
    let groups = allmende_catalog::exchange::trainings_by_task(
        repo.store().connection(),
        &filter,
        &allmende_catalog::exchange::Scope {
            anchors: anchors.to_vec(),
            include_unverified: a.unverified,
        },
    )?;
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "tasks": groups }))?;
        writeln!(out)?;
        return Ok(());
    }
    if groups.is_empty() {
        writeln!(out, "No training offers.")?;
        return Ok(());
    }
    for g in &groups {
        let heading = if g.task.is_empty() {
            "(no task)".to_owned()
        } else if g.name == g.task {
            g.task.clone()
        } else {
            format!("{} ({})", g.name, g.task)
        };
        writeln!(out, "{heading}")?;
        for t in &g.trainings {
            let o = &t.offer;
            let score = match t.mean_score {
                Some(m) => format!("{m:.1}/5 from {}", t.ratings),
                None => "not rated".to_owned(),
            };
            writeln!(
                out,
                "  {}  {} ({}, {}{}{}) [{score}]",
                o.title,
                t.product_name.as_deref().unwrap_or("?"),
                o.provider,
                o.format,
                o.duration_minutes
                    .map(|m| format!(", {m} min"))
                    .unwrap_or_default(),
                o.cost_eur.map(|c| format!(", {c} €")).unwrap_or_default(),
            )?;
            writeln!(out, "    offer {} by {}", t.key, t.org)?;
        }
    }
    Ok(())
}

fn rating_set(dd: &DataDir, a: RatingArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let product = resolve_product(&repo, &a.product)?;
    let scores = [
        (RatingDimension::Functionality, a.functionality),
        (RatingDimension::Usability, a.usability),
        (RatingDimension::Interoperability, a.interoperability),
        (RatingDimension::Support, a.support),
        (RatingDimension::Stability, a.stability),
        (RatingDimension::ValueForMoney, a.value_for_money),
        (RatingDimension::Accessibility, a.accessibility),
    ]
    .into_iter()
    .filter_map(|(d, s)| s.map(|s| (d, s)))
    .collect();
    let r = Rating {
        product,
        scores,
        recommend: a.recommend.map(bool::from),
        text: a.text,
        since: a.since,
    };
    let header = DocHeader::singleton(DocKind::Experience, a.on_behalf_of.unwrap_or(id.org));
    let changed = write_record(&mut repo, &id, header, |ed| {
        ed.put(&format!("{product:#}"), &r)
    })?;
    writeln!(
        out,
        "{}",
        if changed {
            "Rating saved."
        } else {
            "Rating unchanged."
        }
    )?;
    Ok(())
}

fn reuse_add(dd: &DataDir, a: ReuseArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let product = resolve_product(&repo, &a.product)?;
    let r = ReuseReport {
        product,
        provider: a.provider,
        efa: a.efa,
        effort_person_days: a.effort_days,
        cost_once_eur: a.cost_once,
        cost_yearly_eur: a.cost_yearly,
        weeks_to_production: a.weeks,
        obstacles: a.obstacles,
        outcome: a.outcome,
        recommend: a.recommend.map(bool::from),
        text: a.text,
    };
    let key = RecordId::from_bytes(random_bytes::<16>()?);
    let header = DocHeader::singleton(DocKind::Experience, a.on_behalf_of.unwrap_or(id.org));
    write_record(&mut repo, &id, header, |ed| ed.put(&format!("{key:#}"), &r))?;
    writeln!(out, "{key:#}")?;
    Ok(())
}

fn export(
    dd: &DataDir,
    a: ExportArgs,
    anchors: &[OrgId],
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    if !dd.db_path().exists() {
        bail!(
            "{} holds no store yet: run `allmende init` first",
            dd.path().display()
        );
    }
    let filter = a.filter.filter().map_err(|e| bad(format!("filter: {e}")))?;
    if !matches!(a.format, ExportFormat::Json) {
        return export_stream(dd, a, filter, anchors, out);
    }
    if !filter.is_empty() {
        return Err(bad(
            "--format json exports the whole catalog; filter with jsonl, csv, jsonld or sqlite",
        ));
    }
    let repo = dd.open_repo()?;
    let exporter = dd.identity().ok().map(|i| i.org);
    let export = Export::build(&repo, exporter, now())?;
    match a.out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let f = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer_pretty(&mut w, &export)?;
            std::io::Write::flush(&mut w)?;
            // On disk before it replaces an older export under the same name.
            w.get_ref().sync_all()?;
            std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
            writeln!(
                out,
                "Exported {} documents to {}",
                export.documents.len(),
                path.display()
            )?;
        }
        None => {
            serde_json::to_writer_pretty(&mut *out, &export)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Streamed exports ([`allmende_formats::export_stream`]), with progress on standard error.
fn export_stream(
    dd: &DataDir,
    a: ExportArgs,
    filter: allmende_formats::export_stream::Filter,
    anchors: &[OrgId],
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use allmende_formats::export_stream as xs;
    // Migrates and brings the index up to date; the export then reads the store file.
    drop(dd.open_repo()?);
    let db = dd.db_path();
    let meta =
        xs::Meta::new(&db, dd.identity().ok().map(|i| i.org), anchors, now())?.with_filter(filter);
    let started = std::time::Instant::now();
    let mut progress = |n: u64| {
        eprintln!("… {n} records ({:.1} s)", started.elapsed().as_secs_f64());
    };
    let needs_out = |what: &str| bad(format!("--format {what} needs --out PATH"));
    let (n, what, to) = match a.format {
        ExportFormat::Json => unreachable_json()?,
        ExportFormat::Csv => {
            let dir = a.out.ok_or_else(|| needs_out("csv"))?;
            (
                xs::csv(&db, &meta, &dir, &mut progress).map_err(|e| bad(e.to_string()))?,
                "rows",
                dir,
            )
        }
        ExportFormat::Sqlite => {
            let file = a.out.ok_or_else(|| needs_out("sqlite"))?;
            (
                xs::sqlite(&db, &meta, &file).map_err(|e| bad(e.to_string()))?,
                "rows",
                file,
            )
        }
        ExportFormat::Jsonl | ExportFormat::Jsonld => {
            let write = |w: &mut dyn std::io::Write, progress: &mut dyn FnMut(u64)| match a.format {
                ExportFormat::Jsonl => xs::jsonl(&db, &meta, w, progress),
                _ => xs::jsonld(&db, &meta, w, progress),
            };
            match &a.out {
                None => {
                    write(&mut *out, &mut progress)?;
                    return Ok(());
                }
                Some(path) => {
                    let tmp = PathBuf::from(format!("{}.partial", path.display()));
                    let f = std::fs::File::create(&tmp)
                        .with_context(|| format!("creating {}", tmp.display()))?;
                    let mut w = std::io::BufWriter::new(f);
                    let n = write(&mut w, &mut progress)?;
                    std::io::Write::flush(&mut w)?;
                    w.get_ref().sync_all()?;
                    std::fs::rename(&tmp, path)
                        .with_context(|| format!("writing {}", path.display()))?;
                    (n, "records", path.clone())
                }
            }
        }
    };
    writeln!(
        out,
        "Exported {n} {what} to {} in {:.1} s ({} verified organisations; licence dl-de/zero-2-0)",
        to.display(),
        started.elapsed().as_secs_f64(),
        meta.verified_organisations.len()
    )?;
    Ok(())
}

fn unreachable_json() -> anyhow::Result<(u64, &'static str, PathBuf)> {
    bail!("the JSON export is not streamed")
}

fn import(dd: &DataDir, a: ImportArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    match &a.what {
        Some(ImportWhat::Publiccode { files }) => return import_publiccode(dd, files, out),
        Some(ImportWhat::Gv100ad { file }) => return import_gv100ad(dd, file, out),
        Some(ImportWhat::Bestand(b)) => {
            return crate::inventory_cli::run(dd, b, out).map_err(|e| match e {
                crate::inventory_cli::BestandError::Input(m) => bad(m),
                crate::inventory_cli::BestandError::Other(e) => e,
            });
        }
        None => {}
    }
    let file = a
        .file
        .clone()
        .ok_or_else(|| bad("name the file to import"))?;
    let a = ImportFile {
        format: a.format,
        file,
    };
    match a.format {
        ExportFormat::Json => {}
        ExportFormat::Jsonl => return import_jsonl(dd, &a, out),
        other => {
            return Err(bad(format!(
                "--format {other:?} cannot be imported; import the json or jsonl export"
            )));
        }
    }
    let mut bytes = Vec::new();
    if a.file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_IMPORT_BYTES + 1)
            .read_to_end(&mut bytes)?;
    } else {
        let f = std::fs::File::open(&a.file)
            .with_context(|| format!("opening {}", a.file.display()))?;
        f.take(MAX_IMPORT_BYTES + 1).read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(bad(format!(
            "{}: larger than {MAX_IMPORT_BYTES} bytes",
            a.file.display()
        )));
    }
    let export: Export = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "{}: not an Allmende JSON export: {e}",
            a.file.display()
        ))
    })?;
    let mut repo = dd.open_repo()?;
    let report = import_export(&mut repo, &export, now())
        .map_err(|e| bad(format!("{}: {e}", a.file.display())))?;
    writeln!(
        out,
        "Imported {} documents: {} new signed changes, {} already present, {} new certificates",
        report.documents, report.new_changes, report.duplicates, report.new_certs
    )?;
    Ok(())
}

/// An export file to import.
struct ImportFile {
    format: ExportFormat,
    file: PathBuf,
}

fn import_gv100ad(
    dd: &DataDir,
    file: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut bytes = Vec::new();
    f.take(gv100ad::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "{}: not UTF-8 (byte {}); Destatis publishes GV100AD in UTF-8",
            file.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    let v = gv100ad::parse(&text).map_err(|e| bad(format!("{}: {e}", file.display())))?;
    let mut store = SqliteStore::open(&dd.db_path())?;
    let before = store.gemeindeverzeichnis_status()?;
    store.replace_gemeindeverzeichnis(&v)?;
    let people: u64 = v.gemeinden.values().map(|g| g.population).sum();
    writeln!(
        out,
        "Gemeindeverzeichnis Stand {}: {} Länder, {} Kreise, {} Gemeinden, {} Einwohner{}",
        v.status_date(),
        v.laender.len(),
        v.kreise.len(),
        v.gemeinden.len(),
        people,
        match before {
            Some(b) if b != v.status => format!(" (ersetzt Stand {b})"),
            _ => String::new(),
        }
    )?;
    Ok(())
}

fn import_publiccode(
    dd: &DataDir,
    files: &[PathBuf],
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let mut refused = 0;
    for f in files {
        let bytes = std::fs::File::open(f).and_then(|file| {
            let mut v = Vec::new();
            file.take(allmende_formats::publiccode::MAX_BYTES as u64 + 1)
                .read_to_end(&mut v)
                .map(|_| v)
        });
        let result = bytes.map_err(|e| e.to_string()).and_then(|b| {
            let text = String::from_utf8(b).map_err(|e| {
                allmende_formats::publiccode::parse_bytes(e.as_bytes())
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "not UTF-8".into())
            })?;
            allmende_formats::publiccode::import(&mut repo, &id.keypair, id.org, &text, now())
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(o) => {
                let what = match (o.created, o.changed) {
                    (true, _) => "created",
                    (false, true) => "updated",
                    (false, false) => "unchanged",
                };
                writeln!(
                    out,
                    "{}: {what} {:#}  {}",
                    f.display(),
                    o.id,
                    o.product.name
                )?;
                for w in &o.warnings {
                    writeln!(out, "  warning: line {}: {}: {}", w.line, w.key, w.message)?;
                }
                if !o.used_by.is_empty() {
                    writeln!(
                        out,
                        "  usedBy (hints, not deployments): {}",
                        o.used_by.join("; ")
                    )?;
                }
            }
            Err(e) => {
                refused += 1;
                eprintln!("{}: refused: {e}", f.display());
            }
        }
    }
    if refused > 0 {
        return Err(bad(format!("{refused} of {} files refused", files.len())));
    }
    Ok(())
}

fn import_jsonl(dd: &DataDir, a: &ImportFile, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut reader: Box<dyn std::io::BufRead> = if a.file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(&a.file)
                .with_context(|| format!("opening {}", a.file.display()))?,
        ))
    };
    let mut repo = dd.open_repo()?;
    let started = std::time::Instant::now();
    let mut progress = |n: u64| {
        eprintln!("… {n} documents ({:.1} s)", started.elapsed().as_secs_f64());
    };
    let report =
        allmende_formats::export_stream::import_jsonl(&mut repo, &mut reader, now(), &mut progress)
            .map_err(|e| bad(format!("{}: {e}", a.file.display())))?;
    writeln!(
        out,
        "Imported {} documents: {} new signed changes, {} already present, {} new certificates",
        report.documents, report.new_changes, report.duplicates, report.new_certs
    )?;
    Ok(())
}

fn member(dd: &DataDir, c: MemberCommand, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let host = dd.clone().for_member(None);
    if !host.is_initialised() {
        return Err(
            allmende_store::datadir::DataDirError::NotInitialised(host.path().to_owned()).into(),
        );
    }
    match c {
        MemberCommand::Add(a) => {
            let profile = OrgProfile {
                name: a.name.trim().to_owned(),
                kind: a.kind,
                land: a.ags.as_ref().map(Ags::land),
                ags: a.ags,
                population: a.population,
                website: a.website,
                contact_role: None,
                it_dienstleister: Some(host.identity()?.org),
            };
            check_ags(&*directory(&host)?, profile.ags.as_ref(), &profile.name)?;
            allmende_protocol::schema::Validate::validate(&profile)
                .map_err(|e| bad(format!("invalid --{e}")))?;
            let (identity, _token) = host.add_member()?;
            let mut repo = host.open_repo()?;
            let header = DocHeader::singleton(DocKind::Profile, identity.org);
            repo.edit(&identity.keypair, header, now(), |ed| ed.put_root(&profile))?;
            writeln!(out, "Member {} added.", profile.name)?;
            writeln!(out, "Organisation id: {:#}", identity.org)?;
            writeln!(
                out,
                "Write token: {} (give it to the member's staff; it publishes for this member only)",
                host.path()
                    .join("members")
                    .join(format!("{:#}.token", identity.org))
                    .display()
            )?;
        }
        MemberCommand::List => {
            let repo = host.open_repo()?;
            for (identity, _) in host.members()? {
                let header = DocHeader::singleton(DocKind::Profile, identity.org);
                let name = repo
                    .document(&header.id())?
                    .and_then(|d| d.root::<OrgProfile>())
                    .and_then(Result::ok)
                    .map(|p| p.name)
                    .unwrap_or_else(|| "(no profile)".into());
                writeln!(out, "{:#}  {name}", identity.org)?;
            }
        }
        MemberCommand::Remove { org } => {
            if !host.members()?.iter().any(|(i, _)| i.org == org) {
                return Err(bad(format!("{org:#} is not a member hosted here")));
            }
            let moved = host.remove_member(org, now().0)?;
            writeln!(out, "Member {org:#} removed; its token no longer works.")?;
            writeln!(
                out,
                "Its key was moved to {} (keep it offline or destroy it).",
                moved.display()
            )?;
        }
    }
    Ok(())
}

fn trust(dd: &DataDir, c: TrustCommand, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    let header = DocHeader::singleton(DocKind::Trust, id.org);
    match c {
        TrustCommand::Attest {
            org,
            name,
            kind,
            ags,
        } => {
            check_ags(&*directory_of(&repo)?, ags.as_ref(), &name)?;
            let a = allmende_protocol::schema::Attestation {
                org,
                name,
                kind,
                ags,
                attested_at: now(),
            };
            write_record(&mut repo, &id, header, |ed| ed.put(&format!("{org:#}"), &a))?;
            writeln!(out, "Attested {org:#}.")?;
        }
        TrustCommand::Steward {
            product,
            org,
            replaces_creator,
            reason,
            withdraw,
        } => {
            let product = resolve_product(&repo, &product)?;
            let grant = allmende_protocol::schema::StewardGrant {
                product,
                org,
                replaces_creator,
                since: now(),
                reason,
            };
            let key = grant.key();
            if withdraw {
                let changed = write_record(&mut repo, &id, header, |ed| {
                    ed.delete::<allmende_protocol::schema::StewardGrant>(&key)
                })?;
                writeln!(
                    out,
                    "{}",
                    if changed {
                        "Stewardship grant withdrawn."
                    } else {
                        "No stewardship grant for that organisation and product."
                    }
                )?;
            } else {
                write_record(&mut repo, &id, header, |ed| ed.put(&key, &grant))?;
                writeln!(
                    out,
                    "{org:#} looks after {product:#} for every node that follows this anchor{}.",
                    if replaces_creator {
                        ", in its creator's place"
                    } else {
                        ""
                    }
                )?;
            }
        }
        TrustCommand::Withdraw { org } => {
            let changed = write_record(&mut repo, &id, header, |ed| {
                ed.delete::<allmende_protocol::schema::Attestation>(&format!("{org:#}"))
            })?;
            writeln!(
                out,
                "{}",
                if changed {
                    "Attestation withdrawn."
                } else {
                    "No attestation for that organisation."
                }
            )?;
        }
    }
    Ok(())
}

fn key(dd: &DataDir, c: KeyCommand, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (id, mut repo) = open(dd)?;
    match c {
        KeyCommand::Delegate { to, days, scope } => {
            let scope = if scope.is_empty() {
                default_delegation_scope()
            } else {
                parse_scope(&scope).map_err(bad)?
            };
            if id.keypair.public() != id.org.root_key() {
                return Err(bad(
                    "only the organisation's root key can delegate (delegation format 1); this \
                     node holds a delegated key or a key that replaced the root key by rotation",
                ));
            }
            let start = now();
            let d = allmende_protocol::identity::Delegation {
                issuer: id.org,
                delegate: to,
                scope,
                not_before: start,
                not_after: allmende_protocol::schema::UnixTime(start.0 + i64::from(days) * 86_400),
            }
            .sign(&id.keypair)
            .map_err(|e| bad(e.to_string()))?;
            repo.add_delegation(d)?;
            writeln!(
                out,
                "Delegated to {to:#} for {days} days ({}).",
                scope_names(scope)
            )?;
        }
        KeyCommand::Revoke { key, reason } => {
            let r = allmende_protocol::identity::Revocation {
                issuer: id.keypair.public(),
                subject: key,
                effective: now(),
                reason,
            }
            .sign(&id.keypair)
            .map_err(|e| bad(e.to_string()))?;
            repo.add_revocation(r)?;
            writeln!(out, "Revoked {key:#}.")?;
        }
        KeyCommand::ExportPublic => {
            writeln!(out, "key {:#}", id.keypair.public())?;
            writeln!(out, "org {:#}", id.org)?;
        }
        KeyCommand::Rotate { note } => {
            let current = repo.certificates().current_org_key(id.org);
            if current != id.keypair.public() {
                return Err(bad(format!(
                    "this key is not the organisation's current key (that is {current:#}); \
                     only the current key can hand over"
                )));
            }
            let next = allmende_protocol::identity::Keypair::from_secret_bytes(
                &allmende_store::datadir::random_bytes::<32>()?,
            )
            .map_err(|e| anyhow::anyhow!("drew an unusable key: {e}"))?;
            // The handover must come after everything the old key signed, or those changes
            // would count as written after the rotation (times have one-second resolution).
            let last = last_signed_by(&repo, &id.keypair.public())?;
            let at = allmende_protocol::schema::UnixTime(now().0.max(last.map_or(0, |t| t.0 + 1)));
            let succession = allmende_protocol::identity::Succession {
                org: id.org,
                previous: id.keypair.public(),
                next: next.public(),
                effective: at,
            }
            .sign(&id.keypair, &next, &note)
            .map_err(|e| bad(e.to_string()))?;
            // Order matters for crash safety: the new key is on disk before the succession is
            // published, and the old key file is replaced only after.
            dd.stage_identity(&next, id.org)?;
            repo.add_revocation(succession)?;
            let retired = dd.commit_identity(at.0)?;
            // The new key speaks for the organisation from `at` on: do not return before.
            while now() < at {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            writeln!(out, "New organisation key {:#}.", next.public())?;
            writeln!(
                out,
                "The old key {:#} writes nothing from now on; it is kept as {} (move it offline).",
                id.keypair.public(),
                retired.display()
            )?;
        }
        KeyCommand::List => key_list(&id, &repo, out)?,
    }
    Ok(())
}

pub use allmende_protocol::identity::{DELEGABLE, default_delegation_scope, parse_scope};

/// The kinds of a scope by their slugs, comma-separated.
pub fn scope_names(scope: allmende_protocol::identity::Scope) -> String {
    scope
        .kinds()
        .iter()
        .map(|k| k.slug())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The latest time of a change in the store signed by `key`.
fn last_signed_by(
    repo: &Repo<SqliteStore>,
    key: &allmende_protocol::ids::PublicKey,
) -> anyhow::Result<Option<allmende_protocol::schema::UnixTime>> {
    let store = repo.store();
    let mut last = None;
    for doc in store.docs_signed_by(key)? {
        for c in store.changes(&doc)? {
            if c.signer == *key {
                let t = allmende_protocol::change::SignedChange::decode_stored(&c.encoded)?.time();
                last = last.max(Some(t));
            }
        }
    }
    Ok(last)
}

fn key_list(
    id: &Identity,
    repo: &Repo<SqliteStore>,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let certs = repo.certificates();
    let time = allmende_formats::export::iso8601;
    writeln!(out, "Organisation {:#}", id.org)?;
    writeln!(out, "Keys:")?;
    let chain = certs.org_keys(id.org);
    for (i, (key, from)) in chain.iter().enumerate() {
        let role = if i + 1 == chain.len() {
            "current"
        } else {
            "retired"
        };
        let since = from.map(time).unwrap_or_else(|| "root key".into());
        let here = if *key == id.keypair.public() {
            ", this node"
        } else {
            ""
        };
        writeln!(out, "  {key:#}  {role} (since {since}{here})")?;
    }
    let keys: Vec<_> = chain.iter().map(|(k, _)| *k).collect();
    writeln!(out, "Delegations:")?;
    for d in certs.delegations().filter(|d| d.body.issuer == id.org) {
        let b = &d.body;
        writeln!(
            out,
            "  to {:#}  {} – {}  ({})",
            b.delegate,
            time(b.not_before),
            time(b.not_after),
            scope_names(b.scope)
        )?;
    }
    writeln!(out, "Revocations:")?;
    for r in certs
        .revocations()
        .filter(|r| keys.contains(&r.body.issuer))
    {
        let what = match r.succession() {
            Some(s) => format!("handed over to {:#}", s.next),
            None => "revoked".into(),
        };
        writeln!(
            out,
            "  {:#}  {what} from {}  {}",
            r.body.subject,
            time(r.body.effective),
            r.note()
        )?;
    }
    let forks = certs.equivocations_of(id.org);
    if !forks.is_empty() {
        writeln!(
            out,
            "Equivocations (proofs that a key signed two changes for one place):"
        )?;
        for p in forks {
            writeln!(
                out,
                "  {:#}  EQUIVOCATING: two changes numbered {} for document {:#}; every node drops that session's changes to it from there on",
                p.signer(),
                p.seq(),
                p.doc()
            )?;
        }
    }
    Ok(())
}

fn run_node(
    dd: &DataDir,
    settings: &crate::config::Config,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    if !dd.is_initialised() {
        return Err(
            allmende_store::datadir::DataDirError::NotInitialised(dd.path().to_owned()).into(),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cfg = crate::node::NodeConfig {
            data_dir: dd.path().to_owned(),
            identity_file: settings.keys.identity_file.clone(),
            net: settings.net(false),
            http: Some(settings.http.listen),
            trust_anchors: settings.trust.anchors.clone(),
            quarantine: settings.trust.quarantine(),
            demo: false,
        };
        let node = crate::node::Node::spawn_with(cfg, settings.http.options()).await?;
        writeln!(
            out,
            "Allmende node {} for organisation {}",
            node.net.peer_id(),
            node.organisation()
                .map(|o| format!("{o:#}"))
                .unwrap_or_default()
        )?;
        for addr in crate::node::dial_addresses(&node).await {
            writeln!(out, "{addr}")?;
        }
        if node.open_mode() {
            writeln!(out, "{}", allmende_catalog::trust::OPEN_MODE_WARNING)?;
        }
        if let Some(http) = node.http_addr {
            writeln!(out, "Web UI: http://{http}/")?;
            writeln!(out, "HTTP API: http://{http}/api/v1/status")?;
            // Publishing in the UI needs a session; this link opens one, once.
            if let Some(url) = node.ui_login_url() {
                writeln!(out, "UI login: {url}")?;
            }
        }
        out.flush()?;
        crate::node::shutdown_signal().await;
        writeln!(out, "Shutting down…")?;
        node.shutdown().await;
        Ok(())
    })
}

fn query_command(dd: &DataDir, a: QueryArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if !dd.db_path().exists() {
        bail!("{} holds no store", dd.path().display());
    }
    // Bring an old store up to date (and its index) before opening it read-only.
    drop(dd.open_repo()?);
    let mut conn =
        allmende_catalog::sql::open(&dd.db_path()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let limits = allmende_catalog::sql::Limits {
        timeout: std::time::Duration::from_secs(a.timeout_secs),
        rows: usize::try_from(a.max_rows).unwrap_or(allmende_catalog::sql::MAX_ROWS),
    };
    let r =
        allmende_catalog::sql::run(&mut conn, &a.sql, limits).map_err(|e| bad(e.to_string()))?;
    match a.format {
        QueryFormat::Table => write!(out, "{}", allmende_catalog::sql::table(&r))?,
        QueryFormat::Csv => write!(out, "{}", allmende_catalog::sql::csv(&r))?,
        QueryFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?,
        QueryFormat::Jsonl => {
            for row in &r.rows {
                let obj: serde_json::Map<String, serde_json::Value> =
                    r.columns.iter().cloned().zip(row.iter().cloned()).collect();
                writeln!(out, "{}", serde_json::Value::Object(obj))?;
            }
        }
    }
    if r.truncated {
        eprintln!("note: cut at {} rows (--max-rows)", r.rows.len());
    }
    Ok(())
}

/// A minimal HTTP/1.1 GET against `http://host:port/path` (no TLS: meant for loopback).
fn health(url: &str, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    use std::io::{Read as _, Write as _};
    let parsed = url::Url::parse(url).map_err(|e| bad(format!("--url: {e}")))?;
    if parsed.scheme() != "http" {
        return Err(bad(
            "--url: only http:// (the node's own port, not behind TLS)",
        ));
    }
    let host = parsed.host_str().ok_or_else(|| bad("--url: no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} does not resolve"))?;
    let timeout = std::time::Duration::from_secs(5);
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n",
        parsed.path()
    )?;
    let mut head = Vec::new();
    s.take(64 * 1024).read_to_end(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or("");
    if status.split(' ').nth(1) == Some("200") {
        writeln!(out, "{url}: {status}")?;
        Ok(())
    } else {
        bail!("{url}: {status}")
    }
}

fn config_command(
    explicit: &Option<PathBuf>,
    cfg: &crate::config::Config,
    c: ConfigCommand,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    match c {
        ConfigCommand::Check { file } => {
            let file = file.or_else(|| explicit.clone()).ok_or_else(|| {
                bad("name the file to check: allmende config check FILE (or --config FILE)")
            })?;
            crate::config::Config::read(&file).map_err(|e| bad(e.to_string()))?;
            writeln!(out, "{}: OK", file.display())?;
        }
        ConfigCommand::Example => write!(out, "{}", crate::config::example())?,
        ConfigCommand::Show(_) => write!(out, "{}", cfg.to_toml())?,
    }
    Ok(())
}

fn check(dd: &DataDir, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if !dd.db_path().exists() {
        bail!("{} holds no store", dd.path().display());
    }
    let repo = dd.open_repo()?;
    let r = repo.check_integrity()?;
    writeln!(
        out,
        "Store OK: {} documents, {} signed changes and {} certificates verified",
        r.documents, r.changes, r.certificates
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
