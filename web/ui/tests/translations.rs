//! Every German text the UI hands to the translation has an English entry. `Lang::tr` falls
//! back to German silently, so a forgotten entry shows up only as a German phrase on an
//! English page; this test reads the sources and names each one.
//!
//! It takes the string literals passed directly to `t(…)` (the pages' `let t = |x|
//! lang.tr(x);`), to `.tr(…)` and, as second argument, to `not_found(lang, …)`. A text chosen
//! in a `match` or taken from a table of labels before it reaches `tr` is not seen here; such
//! tables sit next to the function that translates them and are checked by reading.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use allmende_web_kit::i18n::has_english;

/// The text of the one-line string literal at the start of `s`, with `\"`, `\\`, `\n` and
/// `\t` resolved; `None` when `s` does not start with a literal or it runs past the line.
fn literal(s: &str) -> Option<String> {
    let mut chars = s.strip_prefix('"')?.chars();
    let mut text = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(text),
            '\n' => return None,
            '\\' => match chars.next()? {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                c => text.push(c),
            },
            c => text.push(c),
        }
    }
}

/// The texts `src` translates, with their line numbers: literals right after `t(`, `.tr(`
/// or `not_found(<argument>,`, whitespace and line breaks allowed before them.
fn translated_texts(src: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (open, _) in src.match_indices('(') {
        let before = &src[..open];
        let name_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let after = &src[open + 1..];
        let argument = match &before[name_start..] {
            "t" => after,
            "tr" if before[..name_start].ends_with('.') => after,
            "not_found" => match after.split_once(',') {
                Some((_, rest)) => rest,
                None => continue,
            },
            _ => continue,
        };
        if let Some(text) = literal(argument.trim_start()) {
            found.push((before.matches('\n').count() + 1, text));
        }
    }
    found
}

#[test]
fn the_scanner_finds_each_form_of_call() {
    let src = "let a = t(\"Eins\");\nlang.tr(\n    \"Zwei \\\"zitiert\\\"\",\n);\n\
               not_found(lang, \"Drei\")\nt(x); set(\"nein\"); lang.tr(match k { _ => \"nein\" });\n\
               format!(\"{}\", ctx.lang.tr(\"Vier\"))";
    let texts: Vec<(usize, String)> = translated_texts(src);
    assert_eq!(
        texts,
        vec![
            (1, "Eins".to_owned()),
            (2, "Zwei \"zitiert\"".to_owned()),
            (5, "Drei".to_owned()),
            (7, "Vier".to_owned()),
        ]
    );
}

#[test]
fn every_translated_ui_text_has_english() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut seen = 0;
    let mut missing = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy();
        for (line, text) in translated_texts(&src) {
            seen += 1;
            if !has_english(&text) {
                missing.push(format!("  src/{file}:{line}: {text:?}"));
            }
        }
    }
    // The UI translates several hundred texts; far fewer means the scanner broke.
    assert!(seen > 300, "only {seen} translated texts found in {dir:?}");
    assert!(
        missing.is_empty(),
        "{} German texts have no English entry in web/kit/src/i18n.rs (EN):\n{}",
        missing.len(),
        missing.join("\n")
    );
}
