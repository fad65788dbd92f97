//! # allmende-store
//!
//! The storage layer of a node: the local store ([`store`]: SQLite with its migrations, and an
//! in-memory twin for tests), the repository that admits only verified and authorised changes
//! into it ([`repo`]), the catalog index rows a document yields ([`index`]) with their
//! normalised search text ([`search_text`]), and the data directory that holds store, keys
//! and tokens ([`datadir`]).
//!
//! Rule for every write path: bytes from outside become a
//! [`allmende_protocol::auth::AuthorisedChange`] before they touch storage, and a change and
//! the document snapshot containing it are committed in one transaction.
//!
//! May use: `allmende-protocol`, SQLite, Automerge. Never: the network, HTTP, async runtimes.

pub mod datadir;
pub mod index;
pub mod repo;
pub mod search_text;
pub mod store;
pub mod watch;

use allmende_protocol::schema::UnixTime;

/// The current time, as the protocol counts it (seconds since the Unix epoch, UTC).
pub fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}
