//! Short proptest versions of the fuzz targets (`integration_tests::fuzz`, `fuzz/`), so that CI
//! runs the same bodies in a few seconds: arbitrary bytes and structured mutations of valid
//! inputs go into every decoder and parser; hostile input must give an error, never a panic,
//! and the targets' own round-trip assertions (canonical encodings, records that read back
//! equal and that a peer accepts) must hold. The long runs are `scripts/fuzz.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use integration_tests::fuzz;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

const PUBLICCODE: &str = include_str!("../../node/tests/fixtures/publiccode/complete.yml");
const CONFIG: &str = include_str!("../../docs/config.example.toml");
const BODIES: [&[u8]; 4] = [
    include_bytes!("../../fuzz/seeds/api_body/product.json"),
    include_bytes!("../../fuzz/seeds/api_body/deployment.json"),
    include_bytes!("../../fuzz/seeds/api_body/rating.json"),
    include_bytes!("../../fuzz/seeds/api_body/reuse.json"),
];

/// Text edits of a line-based file: (line, operation, text).
fn line_edits() -> impl Strategy<Value = Vec<(Index, u8, String)>> {
    prop::collection::vec((any::<Index>(), 0u8..6, ".{0,12}"), 1..6)
}

fn edit_lines(text: &str, edits: &[(Index, u8, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (at, op, s) in edits {
        if lines.is_empty() {
            lines.push(s.clone());
            continue;
        }
        let i = at.index(lines.len());
        match op {
            0 => {
                lines.remove(i);
            }
            1 => lines.insert(i, lines[i].clone()),
            2 => lines[i] = format!("  {}", lines[i]),
            3 => lines[i] = lines[i].trim_start().to_owned(),
            4 => {
                // Replace the value after the first separator.
                let line = &lines[i];
                let cut = line.find([':', '=']).map(|c| c + 1).unwrap_or(line.len());
                lines[i] = format!("{} {s}", &line[..cut]);
            }
            _ => lines[i].push_str(s),
        }
    }
    lines.join("\n")
}

/// A JSON value that is often of the wrong kind or out of range.
fn hostile_value() -> impl Strategy<Value = Value> {
    let scalars = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(0)),
        Just(Value::from(6)),
    ];
    let others = prop_oneof![
        ".{0,40}".prop_map(Value::from),
        "[0-9a-f]{64}".prop_map(Value::from),
        Just(Value::from("x".repeat(5000))),
        prop::collection::vec(".{0,8}".prop_map(Value::from), 0..4).prop_map(Value::Array),
        Just(serde_json::json!({ "by": "it-dienstleister" })),
        Just(serde_json::json!({ "functionality": 9 })),
    ];
    prop_oneof![scalars, others]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Raw bytes into every wire decoder.
    #[test]
    fn wire_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        fuzz::wire(&[&[0u8][..], &bytes].concat());
    }

    /// Valid wire objects with a few bytes changed and possibly cut: errors or canonical
    /// re-encodings, and decoded documents go through ingest.
    #[test]
    fn wire_mutated_samples(
        which in any::<u8>(),
        cut in any::<u8>(),
        edits in prop::collection::vec((any::<u16>(), any::<u8>()), 0..6),
    ) {
        let mut input = vec![1, which, cut];
        for (at, b) in edits {
            input.extend_from_slice(&at.to_be_bytes());
            input.push(b);
        }
        fuzz::wire(&input);
    }

    /// publiccode.yml: arbitrary bytes, and a complete file with lines removed, doubled,
    /// re-indented or given other values.
    #[test]
    fn publiccode_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        fuzz::publiccode(&bytes);
    }

    #[test]
    fn publiccode_mutated_file(edits in line_edits()) {
        fuzz::publiccode(edit_lines(PUBLICCODE, &edits).as_bytes());
    }

    /// The write bodies: valid examples with a field replaced, removed or added; arbitrary
    /// bytes; and search text.
    #[test]
    fn api_body_mutated(
        which in 0usize..4,
        field in any::<Index>(),
        op in 0u8..3,
        value in hostile_value(),
    ) {
        let seed = BODIES[which];
        let mut body: Value = serde_json::from_slice(&seed[1..]).unwrap();
        let obj = body.as_object_mut().unwrap();
        let keys: Vec<String> = obj.keys().cloned().collect();
        let key = keys[field.index(keys.len())].clone();
        match op {
            0 => { obj.insert(key, value); }
            1 => { obj.remove(&key); }
            _ => { obj.insert("unknown_field".into(), value); }
        }
        let mut input = vec![seed[0]];
        input.extend_from_slice(&serde_json::to_vec(&body).unwrap());
        fuzz::api_body(&input);
    }

    #[test]
    fn api_body_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzz::api_body(&bytes);
    }

    #[test]
    fn search_text_never_fails(text in ".{0,40}", ops in "[ \"*()^:+-]{0,6}") {
        let mut input = vec![4u8];
        input.extend_from_slice(format!("{ops}{text}{ops}").as_bytes());
        fuzz::api_body(&input);
    }

    /// The configuration file: the example with lines changed, and arbitrary text.
    #[test]
    fn config_mutated_file(edits in line_edits()) {
        fuzz::config(edit_lines(CONFIG, &edits).as_bytes());
    }

    #[test]
    fn config_arbitrary_text(text in "[a-z_\\[\\]=\" .0-9\n]{0,200}") {
        fuzz::config(text.as_bytes());
    }
}

proptest! {
    // Each case opens an in-memory SQLite store: fewer cases.
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Programs of Automerge operations by authorised and unauthorised writers, signed and
    /// ingested.
    #[test]
    fn document_programs(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzz::document(&bytes);
    }
}

/// The seeds the mutations start from are valid, so the mutations test near-valid input.
#[test]
fn seeds_are_valid() {
    use allmende_protocol::schema::{Deployment, Product, Rating, ReuseReport, Validate};
    let p: Product = serde_json::from_slice(&BODIES[0][1..]).unwrap();
    p.validate().unwrap();
    let d: Deployment = serde_json::from_slice(&BODIES[1][1..]).unwrap();
    d.validate().unwrap();
    let r: Rating = serde_json::from_slice(&BODIES[2][1..]).unwrap();
    r.validate().unwrap();
    let u: ReuseReport = serde_json::from_slice(&BODIES[3][1..]).unwrap();
    u.validate().unwrap();
    allmende_node::publiccode::parse(PUBLICCODE).unwrap();
    allmende_node::config::Config::parse(CONFIG, std::path::Path::new("example.toml")).unwrap();
    for seed in BODIES {
        fuzz::api_body(seed);
    }
    for s in fuzz::wire_samples() {
        let mut input = vec![0u8];
        input.extend_from_slice(s);
        fuzz::wire(&input);
    }
}
