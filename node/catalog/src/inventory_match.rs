//! Matching the rows of an inventory spreadsheet against catalog entries: by repository
//! (exact, after URL normalisation), else by name and vendor (Jaro–Winkler after German
//! normalisation: case, umlauts, punctuation, and for vendors legal forms such as GmbH, AG,
//! AöR, e. V.).
//!
//! The rule ([`Decision`]): a candidate with score ≥ [`AUTO`] that leads the next different
//! candidate by at least [`MARGIN`], or an exact match (score 1.0) when the next is not
//! exact, is taken; otherwise candidates with score ≥ [`ASK`] are
//! offered for a choice; below that the row becomes a new entry. A repository that equals a
//! candidate's is score 1.0.

use allmende_protocol::ids::DocId;
use rusqlite::Connection;

use crate::query::QueryError;

/// A score from which a single leading candidate is taken without asking.
pub const AUTO: f64 = 0.92;
/// A score from which a candidate is offered.
pub const ASK: f64 = 0.80;
/// How far the best candidate must lead the next different one to be taken automatically.
pub const MARGIN: f64 = 0.03;
/// Most candidates offered per row.
pub const SHOWN: usize = 3;
/// Most catalog entries compared (the catalog of a large network is some thousand).
pub const MAX_ENTRIES: usize = 50_000;

/// Legal-form and filler words left out of vendor names.
const LEGAL_FORMS: &[&str] = &[
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "kgaa",
    "aor",
    "ev",
    "eg",
    "se",
    "ug",
    "co",
    "gbr",
    "ohg",
    "inc",
    "ltd",
    "llc",
    "und",
    "haftungsbeschrankt",
    "gesellschaft",
    "anstalt",
    "offentlichen",
    "recht",
    "des",
    "kommunale",
    "kommunal",
];

/// Normalises a product name for matching.
pub fn name_key(name: &str) -> String {
    allmende_store::search_text::normalise(name)
}

/// Normalises a vendor for matching: like names, without legal forms and lone letters (the
/// "a o r" of "A.ö.R.").
pub fn vendor_key(vendor: &str) -> String {
    let n = allmende_store::search_text::normalise(vendor);
    n.split(' ')
        .filter(|t| t.chars().count() > 1 && !LEGAL_FORMS.contains(t))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Normalises a repository or website URL: no scheme, no `www.`, no trailing `/` or `.git`,
/// lower case.
pub fn url_key(url: &str) -> String {
    let u = url.trim().to_lowercase();
    let u = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
    let u = u.strip_prefix("www.").unwrap_or(u);
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u).to_string()
}

/// An entry that rows can match.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// The product (for new entries: the id it will get).
    pub id: DocId,
    /// Name as shown.
    pub name: String,
    /// Vendor as shown.
    pub vendor: String,
    #[serde(skip)]
    name_key: String,
    #[serde(skip)]
    vendor_key: String,
    #[serde(skip)]
    urls: Vec<String>,
    #[serde(skip)]
    name_bag: Bag,
}

impl Entry {
    /// An entry with its name, vendor and repository/website URLs.
    pub fn new(id: DocId, name: &str, vendor: &str, urls: &[&str]) -> Self {
        let name_key = name_key(name);
        Self {
            id,
            name: name.into(),
            vendor: vendor.into(),
            name_bag: Bag::of(&name_key),
            name_key,
            vendor_key: vendor_key(vendor),
            urls: urls
                .iter()
                .map(|u| url_key(u))
                .filter(|u| !u.is_empty())
                .collect(),
        }
    }
}

/// A candidate with its score.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// 0.0–1.0.
    pub score: f64,
}

/// What to do with a row.
#[derive(Debug, Clone)]
pub enum Decision {
    /// This entry.
    Take(Candidate),
    /// The user must choose among these (or a new entry).
    Choose(Vec<Candidate>),
    /// Nothing matches: a new entry.
    New,
}

/// Entries to match against.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    entries: Vec<Entry>,
    /// Entries by normalised repository or website URL.
    by_url: std::collections::HashMap<String, Vec<usize>>,
}

/// A row's keys, normalised once for all entries.
struct RowKeys {
    name: String,
    bag: Bag,
    vendor: Option<String>,
    url: Option<String>,
}

impl RowKeys {
    fn of(name: &str, vendor: Option<&str>, url: Option<&str>) -> Self {
        let name = name_key(name);
        Self {
            bag: Bag::of(&name),
            name,
            vendor: vendor.map(vendor_key).filter(|v| !v.is_empty()),
            url: url.map(url_key).filter(|u| !u.is_empty()),
        }
    }
}

/// The score of a row against an entry from the name's similarity `n` and the vendors'
/// similarity `v` (`None` when either has no vendor).
fn combine(n: f64, v: Option<f64>) -> f64 {
    match v {
        Some(v) => 0.75 * n + 0.25 * v,
        // Without a vendor to confirm it, a name alone never reaches the automatic
        // threshold unless it is the same after normalisation.
        None if n >= 1.0 => 0.95,
        None => 0.9 * n,
    }
}

/// Name similarity: the mean of Jaro–Winkler (forgiving typos, rewarding a common start) and
/// normalised Levenshtein (punishing long differences that Jaro–Winkler overlooks when two
/// names share a word, as "Wahlen Plus" and "Wohngeld Plus"), also with the words sorted; a
/// name whose words start the other's ("ALLRIS" / "ALLRIS net") counts at least 0.9.
fn similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let blend = |x: &str, y: &str| {
        (strsim::jaro_winkler(x, y) + strsim::normalized_levenshtein(x, y)) / 2.0
    };
    let sorted = |s: &str| {
        let mut w: Vec<&str> = s.split(' ').collect();
        w.sort_unstable();
        w.join(" ")
    };
    let mut best = blend(a, b).max(blend(&sorted(a), &sorted(b)));
    if starts_words(a, b) || starts_words(b, a) {
        best = best.max(0.9);
    }
    best
}

/// Whether the words of `x` start `y` ("allris" starts "allris net").
fn starts_words(x: &str, y: &str) -> bool {
    y.len() > x.len() && y.starts_with(x) && y.as_bytes()[x.len()] == b' '
}

/// The characters of a normalised key, counted in 64 buckets (letters and digits each their
/// own), and how many there are: enough to bound [`similarity`] from above without
/// computing it.
#[derive(Debug, Clone, Default)]
struct Bag {
    counts: Vec<u16>,
    len: usize,
}

impl Bag {
    fn of(key: &str) -> Self {
        let mut counts = vec![0u16; 64];
        let mut len = 0;
        for c in key.chars() {
            let slot = match c {
                'a'..='z' => c as usize - 'a' as usize,
                '0'..='9' => 26 + c as usize - '0' as usize,
                ' ' => 36,
                _ => 37 + c as usize % 27,
            };
            counts[slot] = counts[slot].saturating_add(1);
            len += 1;
        }
        Self { counts, len }
    }

    /// An upper bound of [`similarity`] of the two keys these bags are of, for keys that
    /// differ and where neither's words start the other's. Two strings have at most `common`
    /// equal characters (the bags' intersection; a shared bucket only raises it), so Jaro's
    /// matches are at most `common`, Jaro–Winkler at most Jaro plus 0.4 of what Jaro misses,
    /// and Levenshtein at least the longer length minus `common`. Word order does not change
    /// a bag, so the bound holds for the sorted words too.
    fn similarity_bound(&self, other: &Bag) -> f64 {
        if self.len == 0 || other.len == 0 {
            return 0.0;
        }
        let common: usize = self
            .counts
            .iter()
            .zip(&other.counts)
            .map(|(a, b)| usize::from(*a.min(b)))
            .sum();
        let (c, la, lb) = (common as f64, self.len as f64, other.len as f64);
        let jaro = ((c / la + c / lb + 1.0) / 3.0).min(1.0);
        let jaro_winkler = jaro + 0.4 * (1.0 - jaro);
        let levenshtein = c / la.max(lb);
        (jaro_winkler + levenshtein) / 2.0
    }
}

fn vendor_similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    // "Dataport" and "Dataport Hamburg" are one vendor.
    let contains = |x: &str, y: &str| format!(" {x} ").contains(&format!(" {y} "));
    if contains(a, b) || contains(b, a) {
        return 1.0;
    }
    similarity(a, b)
}

impl Matcher {
    /// Matches against `entries`.
    pub fn new(entries: Vec<Entry>) -> Self {
        let mut m = Self::default();
        for e in entries {
            m.push(e);
        }
        m
    }

    /// Adds an entry (a new product planned by this import, so that later rows find it).
    pub fn push(&mut self, entry: Entry) {
        for u in &entry.urls {
            self.by_url
                .entry(u.clone())
                .or_default()
                .push(self.entries.len());
        }
        self.entries.push(entry);
    }

    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The score of `entry` for a row.
    pub fn score(entry: &Entry, name: &str, vendor: Option<&str>, url: Option<&str>) -> f64 {
        let row = RowKeys::of(name, vendor, url);
        if row.url.as_ref().is_some_and(|u| entry.urls.contains(u)) {
            return 1.0;
        }
        let v = row
            .vendor
            .as_deref()
            .filter(|_| !entry.vendor_key.is_empty())
            .map(|v| vendor_similarity(v, &entry.vendor_key));
        combine(similarity(&row.name, &entry.name_key), v)
    }

    /// The best candidates for a row, best first (at most [`SHOWN`], each ≥ [`ASK`]).
    ///
    /// The same scores as [`Matcher::score`] for every entry, computed only where they can
    /// reach [`ASK`]: each vendor is compared once per row, and an entry whose name cannot
    /// be similar enough by the characters the two names share (an upper bound, so nothing
    /// that would reach [`ASK`] is skipped) is not compared by name at all. A catalog of some
    /// thousand entries and an inventory of 2,000 rows would otherwise take minutes.
    pub fn rank(&self, name: &str, vendor: Option<&str>, url: Option<&str>) -> Vec<Candidate> {
        let row = RowKeys::of(name, vendor, url);
        let by_url: &[usize] = row
            .url
            .as_ref()
            .and_then(|u| self.by_url.get(u))
            .map_or(&[], Vec::as_slice);
        let mut vendors: std::collections::HashMap<&str, f64> = Default::default();
        let mut all: Vec<(f64, usize)> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if by_url.contains(&i) {
                all.push((1.0, i));
                continue;
            }
            let v = match row.vendor.as_deref() {
                Some(v) if !e.vendor_key.is_empty() => Some(
                    *vendors
                        .entry(e.vendor_key.as_str())
                        .or_insert_with(|| vendor_similarity(v, &e.vendor_key)),
                ),
                _ => None,
            };
            let n = if row.name.is_empty() || e.name_key.is_empty() {
                0.0
            } else if row.name == e.name_key {
                1.0
            } else if starts_words(&row.name, &e.name_key)
                || starts_words(&e.name_key, &row.name)
                || combine(row.bag.similarity_bound(&e.name_bag), v) >= ASK
            {
                similarity(&row.name, &e.name_key)
            } else {
                continue;
            };
            let score = combine(n, v);
            if score >= ASK {
                all.push((score, i));
            }
        }
        let mut all: Vec<Candidate> = all
            .into_iter()
            .map(|(score, i)| Candidate {
                score,
                entry: self.entries[i].clone(),
            })
            .collect();
        all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.entry.id.cmp(&b.entry.id))
        });
        // One candidate per product: several names of merged entries count once, best first.
        let mut seen = std::collections::HashSet::new();
        all.retain(|c| seen.insert(c.entry.id));
        all.truncate(SHOWN);
        all
    }

    /// The decision for a row ([`AUTO`], [`ASK`], [`MARGIN`]).
    pub fn decide(&self, name: &str, vendor: Option<&str>, url: Option<&str>) -> Decision {
        let ranked = self.rank(name, vendor, url);
        match ranked.as_slice() {
            [] => Decision::New,
            [best, rest @ ..] => {
                // An exact match (the same repository, or the same name and vendor after
                // normalisation) is certain unless another is exact too.
                let clear = rest.first().is_none_or(|next| {
                    best.score - next.score >= MARGIN || (best.score >= 1.0 && next.score < 1.0)
                });
                if best.score >= AUTO && clear {
                    Decision::Take(best.clone())
                } else {
                    Decision::Choose(ranked)
                }
            }
        }
    }
}

/// The catalog's products as entries. An entry merged by "same as" into another keeps its
/// name and vendor for matching but stands for the entry it resolves to, as everywhere in
/// the catalog.
pub fn catalog_entries(conn: &Connection) -> Result<Vec<Entry>, QueryError> {
    let mut stmt = conn.prepare(
        "SELECT coalesce((SELECT same FROM idx_product_same s WHERE s.doc = p.doc), p.doc),
                name, vendor, json_extract(json, '$.repository'), json_extract(json, '$.website')
         FROM idx_product p ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([MAX_ENTRIES as i64], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (doc, name, vendor, repo, web) = row?;
        let Ok(bytes) = <[u8; 32]>::try_from(doc.as_slice()) else {
            continue;
        };
        let urls: Vec<&str> = [repo.as_deref(), web.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        out.push(Entry::new(DocId::from_bytes(bytes), &name, &vendor, &urls));
    }
    Ok(out)
}

/// The IT-Dienstleister the node knows, as (org id bytes, name).
pub fn dienstleister(conn: &Connection) -> Result<Vec<(Vec<u8>, String)>, QueryError> {
    let mut stmt = conn.prepare(
        "SELECT org, name FROM idx_org WHERE kind = 'it-dienstleister' ORDER BY name LIMIT 5000",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The IT-Dienstleister whose name matches `written` best (score ≥ [`AUTO`]).
pub fn find_dienstleister<'a>(known: &'a [(Vec<u8>, String)], written: &str) -> Option<&'a [u8]> {
    let want = vendor_key(written);
    known
        .iter()
        .map(|(id, name)| (vendor_similarity(&want, &vendor_key(name)), id))
        .filter(|(s, _)| *s >= AUTO)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocId {
        DocId::from_bytes([n; 32])
    }

    fn matcher() -> Matcher {
        Matcher::new(vec![
            Entry::new(id(1), "OK.EWO", "AKDB Anstalt des öffentlichen Rechts", &[]),
            Entry::new(
                id(2),
                "VOIS|MESO",
                "HSH Soft- und Hardware Vertriebs GmbH",
                &[],
            ),
            Entry::new(
                id(3),
                "Ratsinfo",
                "Somacos GmbH & Co. KG",
                &["https://gitlab.opencode.de/x/ratsinfo"],
            ),
            Entry::new(id(4), "Ratsinformationssystem", "Anderer Anbieter", &[]),
        ])
    }

    #[test]
    fn vendor_spellings_normalise_alike() {
        assert_eq!(vendor_key("Dataport AöR"), vendor_key("DATAPORT A.ö.R."));
        assert_eq!(vendor_key("Somacos GmbH & Co. KG"), vendor_key("somacos"));
        assert_eq!(
            url_key("https://www.Example.org/repo.git/"),
            url_key("example.org/repo")
        );
    }

    #[test]
    fn typo_with_vendor_is_taken_unrelated_is_new() {
        let m = matcher();
        match m.decide("OK.EWO ", Some("AKDB"), None) {
            Decision::Take(c) => assert_eq!(c.entry.id, id(1)),
            other => panic!("{other:?}"),
        }
        match m.decide("OK-EWO", Some("akdb"), None) {
            Decision::Take(c) => assert_eq!(c.entry.id, id(1)),
            other => panic!("{other:?}"),
        }
        match m.decide("VOIS MESSO", Some("HSH GmbH"), None) {
            Decision::Take(c) => assert_eq!(c.entry.id, id(2)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            m.decide("Friedhofsverwaltung", Some("Xyz"), None),
            Decision::New
        ));
    }

    /// Names for the bound's test: products, versions and near spellings that share words.
    fn names() -> Vec<String> {
        let words = [
            "Ratsinfo",
            "OK.EWO",
            "VOIS",
            "MESO",
            "Wahlen",
            "Wohngeld",
            "Plus",
            "Meldewesen",
            "Friedhof",
            "Verwaltung",
            "ALLRIS",
            "net",
            "Session",
            "Kita",
            "Portal",
            "3",
        ];
        let mut out = Vec::new();
        for (i, a) in words.iter().enumerate() {
            out.push((*a).to_string());
            for b in words.iter().skip(i + 1).step_by(3) {
                out.push(format!("{a} {b}"));
                out.push(format!("{a}{b}"));
                out.push(format!("{b} {a}"));
            }
        }
        out.push("Ratsinfo-System".into());
        out.push("Ratzinfo".into());
        out.push("Wahlen Pluss".into());
        out
    }

    #[test]
    fn ranking_skips_only_what_cannot_reach_the_threshold() {
        let vendors = ["AKDB", "Somacos GmbH", "HSH", "", "Dataport AöR", "Somacos"];
        let names = names();
        let entries: Vec<Entry> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let url = format!("https://example.org/{}", i % 7);
                let urls: &[&str] = if i % 5 == 0 { &[url.as_str()] } else { &[] };
                Entry::new(id(i as u8), n, vendors[i % vendors.len()], urls)
            })
            .collect();
        let m = Matcher::new(entries.clone());
        let mut compared = 0;
        for (j, row) in names.iter().enumerate().step_by(2) {
            for vendor in [None, Some("AKDB"), Some("Somacos"), Some("Unbekannt")] {
                let url = format!("example.org/{}", j % 9);
                let url = (j % 3 == 0).then_some(url.as_str());
                let mut brute: Vec<(DocId, f64)> = entries
                    .iter()
                    .map(|e| (e.id, Matcher::score(e, row, vendor, url)))
                    .filter(|(_, s)| *s >= ASK)
                    .collect();
                brute.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                let mut seen = std::collections::HashSet::new();
                brute.retain(|(id, _)| seen.insert(*id));
                brute.truncate(SHOWN);
                let ranked: Vec<(DocId, f64)> = m
                    .rank(row, vendor, url)
                    .into_iter()
                    .map(|c| (c.entry.id, c.score))
                    .collect();
                assert_eq!(ranked, brute, "{row:?} {vendor:?} {url:?}");
                compared += usize::from(!brute.is_empty());
            }
        }
        assert!(compared > 50, "{compared}");
    }

    #[test]
    fn an_exact_match_is_taken_beside_a_near_one() {
        let m = Matcher::new(vec![
            Entry::new(id(1), "VOIS|MESO 3", "HSH", &[]),
            Entry::new(id(2), "VOIS|MESO 4", "HSH", &[]),
        ]);
        match m.decide("VOIS MESO 4", Some("HSH GmbH"), None) {
            Decision::Take(c) => assert_eq!(c.entry.id, id(2)),
            other => panic!("{other:?}"),
        }
        // Neither exact: the user chooses.
        assert!(matches!(
            m.decide("VOIS MESO", Some("HSH"), None),
            Decision::Choose(_)
        ));
    }

    #[test]
    fn repository_decides_and_unclear_names_ask() {
        let m = matcher();
        match m.decide(
            "Sitzungsdienst",
            None,
            Some("gitlab.opencode.de/x/ratsinfo/"),
        ) {
            Decision::Take(c) => assert_eq!((c.entry.id, c.score), (id(3), 1.0)),
            other => panic!("{other:?}"),
        }
        // A name alone, similar but not equal, is offered, not taken.
        match m.decide("Ratsinfo-System", None, None) {
            Decision::Choose(c) => assert!(c.iter().any(|c| c.entry.id == id(3))),
            other => panic!("{other:?}"),
        }
    }
}
