//! Text normalisation for the German full-text search (SQLite FTS5).
//!
//! The node stores, per product, the output of [`normalise`] in an FTS5 column tokenised with
//! `unicode61 remove_diacritics 2`, and turns user queries into a `MATCH` expression with
//! [`fts_query`]. Both run the *same* pipeline, so consistency between index and query matters
//! more than linguistic truth:
//!
//! 1. **Characters.** Lowercase; `ä ö ü` → `a o u`, `ß` → `ss`, `æ œ` → `ae oe`, common
//!    Latin diacritics are removed (`é` → `e`, …); combining marks (U+0300–U+036F), soft
//!    hyphens and zero-width (non-)joiners are dropped without splitting the word; every other
//!    character that is not alphanumeric separates tokens.
//! 2. **Transliterated umlauts.** In each token, `ae oe ue` become `a o u` unless the vowel
//!    follows another vowel or a `q`. So "Mueller" and "Müller" both become `muller` (stem `mull`), while
//!    "Feuer", "neue", "Bauer" (`eue`, `aue`) and "Quelle", "bequem" (`que`) keep their `e`.
//!    Words like "aktuell" become `aktull` — on both sides, so they still match.
//! 3. **Light stemming** (purely alphabetic tokens only; a stem keeps at least three
//!    characters, four when removing a plain `-s`):
//!    * step A removes the longest of `-ern -en -er -es -e`, or `-s` after one of
//!      `b d f g h k l m n r t` ("Antrags"), or the `n` of `-eln` ("Regeln"); when the
//!      longest ending would leave too short a stem, nothing is removed ("Kern" stays);
//!    * step B then removes `-en` / `-er` repeatedly ("Verfahrens" → `verfahren` → `verfahr`,
//!      "Lehrern" → `lehrer` → `lehr`);
//!    * finally `-inn` → `-in` ("Nutzerinnen" → `nutzerin`) and `-niss` → `-nis`
//!      ("Ergebnisse" → `ergebnis`).
//!
//! A stem is always a prefix of its (normalised) word, and [`fts_query`] uses every term as a
//! prefix query, so "Bau" finds "Bauantrag", "Bauantrag" finds "Bauanträge" and
//! "Strasse" finds "Straßenverkehr". Parts inside a compound ("Antrag" in "Bauantrag") are not
//! found: FTS5 only matches token prefixes.

use std::ops::ControlFlow;

/// The shortest stem the suffix rules leave.
const MIN_STEM: usize = 3;
/// The shortest stem left when removing a plain `-s` ("Kurs" stays `kurs`).
const MIN_STEM_S: usize = 4;
/// The most terms [`fts_query`] puts into one expression.
const MAX_QUERY_TOKENS: usize = 16;
/// The most characters of one query term.
const MAX_TOKEN_CHARS: usize = 64;

/// Normalises free text for the search index: lowercases, folds umlauts, `ß` and other
/// diacritics, unifies transliterated umlauts (`ue` → `u` as in "Mueller" = "Müller"), splits
/// on everything that is not alphanumeric and stems every token lightly (see the module
/// documentation). Returns the tokens joined by single spaces (empty for text without
/// tokens).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    scan_tokens(text, |raw| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&stem_folded(&collapse_digraphs(raw)));
        ControlFlow::Continue(())
    });
    out
}

/// One word's stem, after the character normalisation of [`normalise`]. Characters that
/// would separate tokens are dropped, so the input is treated as a single word; for text that
/// consists of one token, `stem(word) == normalise(word)`.
pub fn stem(token: &str) -> String {
    let mut folded = String::with_capacity(token.len());
    scan_tokens(token, |raw| {
        folded.push_str(raw);
        ControlFlow::Continue(())
    });
    stem_folded(&collapse_digraphs(&folded))
}

/// Turns a user query into an FTS5 `MATCH` expression for a column filled by [`normalise`].
///
/// Every token is normalised and stemmed like the index and used as a prefix query; the terms
/// are combined with `AND`, e.g. `"bauantrag"* AND "strass"*`. FTS5 syntax typed by the user
/// (quotes, `*`, `:`, `^`, parentheses, `-`, `+`, and the words `AND`, `OR`, `NOT`, `NEAR`)
/// never reaches the expression: punctuation separates tokens and words are only ever used
/// inside quotes. At most 16 distinct terms of at most 64 characters each are used (a
/// truncated term still matches as a prefix). Returns `None` when the query has no token.
pub fn fts_query(query: &str) -> Option<String> {
    let terms: Vec<Vec<String>> = query_terms(query).into_iter().map(|t| vec![t]).collect();
    fts_query_with(&terms)
}

/// The terms of a query as the index holds words: normalised and stemmed like [`normalise`],
/// each at most 64 characters long, without repeats, at most 16.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    scan_tokens(query, |raw| {
        let mut term = stem_folded(&collapse_digraphs(raw));
        if let Some((cut, _)) = term.char_indices().nth(MAX_TOKEN_CHARS) {
            term.truncate(cut);
        }
        // Tokens consist of alphanumeric characters only, so this never triggers; it keeps
        // the "no quote inside a term" guarantee local to this function.
        if !term.is_empty() && !term.contains('"') && !terms.contains(&term) {
            terms.push(term);
        }
        if terms.len() >= MAX_QUERY_TOKENS {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    terms
}

/// The shortest term looked up inside words ([`part_query`]): the trigram index needs three
/// characters, and shorter parts would match almost everything.
pub const MIN_PART_CHARS: usize = 4;

/// The `MATCH` expression for the trigram index (`idx_product_tri`), which finds every term
/// anywhere inside the normalised text: "steuer" in "hundesteuer", "meldewes" in
/// "einwohnermeldewes". `None` when a term is shorter than [`MIN_PART_CHARS`] (the word
/// index answers such queries alone).
pub fn part_query(terms: &[String]) -> Option<String> {
    if terms.is_empty() || terms.iter().any(|t| t.chars().count() < MIN_PART_CHARS) {
        return None;
    }
    let parts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    Some(parts.join(" AND "))
}

/// The `MATCH` expression for the word index where each term may also be any of its
/// `alternatives` (the corrections of a typo): `("a"* OR "b"*) AND "c"*`.
pub fn fts_query_with(terms: &[Vec<String>]) -> Option<String> {
    if terms.is_empty() || terms.iter().any(Vec::is_empty) {
        return None;
    }
    let parts: Vec<String> = terms
        .iter()
        .map(|alts| {
            let or: Vec<String> = alts.iter().map(|t| format!("\"{t}\"*")).collect();
            if or.len() == 1 {
                or[0].clone()
            } else {
                format!("({})", or.join(" OR "))
            }
        })
        .collect();
    Some(parts.join(" AND "))
}

/// The result of folding one (lowercase) character.
enum Folded {
    /// Part of a token.
    One(char),
    /// Part of a token, written as two characters (`ß` → `ss`).
    Two(char, char),
    /// Dropped without ending the token (combining marks, soft hyphens, joiners).
    Ignore,
    /// Ends the current token.
    Separator,
}

/// Folds one lowercase character: umlauts and other Latin diacritics to their base letter.
fn fold(c: char) -> Folded {
    let base = match c {
        'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' | 'ð' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ŧ' | 'ț' => 't',
        'ü' | 'ù' | 'ú' | 'û' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ß' => return Folded::Two('s', 's'),
        'æ' => return Folded::Two('a', 'e'),
        'œ' => return Folded::Two('o', 'e'),
        // Combining diacritical marks (decomposed umlauts), soft hyphen, zero-width
        // non-joiner and joiner, word joiner, byte order mark.
        '\u{0300}'..='\u{036F}'
        | '\u{00AD}'
        | '\u{200C}'
        | '\u{200D}'
        | '\u{2060}'
        | '\u{FEFF}' => return Folded::Ignore,
        c if c.is_alphanumeric() => c,
        _ => return Folded::Separator,
    };
    Folded::One(base)
}

/// Splits `text` into lowercased, folded tokens and hands each to `emit` (which may stop the
/// scan). Transliterated umlauts and stemming are not applied here.
fn scan_tokens(text: &str, mut emit: impl FnMut(&str) -> ControlFlow<()>) {
    let mut token = String::new();
    for c in text.chars() {
        for lower in c.to_lowercase() {
            match fold(lower) {
                Folded::One(a) => token.push(a),
                Folded::Two(a, b) => {
                    token.push(a);
                    token.push(b);
                }
                Folded::Ignore => {}
                Folded::Separator => {
                    if !token.is_empty() {
                        if emit(&token).is_break() {
                            return;
                        }
                        token.clear();
                    }
                }
            }
        }
    }
    if !token.is_empty() {
        let _ = emit(&token);
    }
}

/// Whether `c` is a vowel for the transliteration rule.
fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// Rewrites transliterated umlauts `ae oe ue` to `a o u`, except after a vowel (`eue`, `aue`
/// as in "Feuer", "Bauer") or `q` ("Quelle").
fn collapse_digraphs(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut prev: Option<char> = None;
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if matches!(c, 'a' | 'o' | 'u')
            && chars.peek() == Some(&'e')
            && !prev.is_some_and(|p| is_vowel(p) || p == 'q')
        {
            chars.next();
        }
        prev = Some(c);
    }
    out
}

/// Removes the ASCII `suffix` from `word` if it ends with it and at least `min` characters
/// remain; `len` is the word's length in characters and is kept up to date.
fn strip(word: &mut String, len: &mut usize, suffix: &str, min: usize) -> bool {
    if word.ends_with(suffix) && *len >= min + suffix.len() {
        word.truncate(word.len() - suffix.len());
        *len -= suffix.len();
        true
    } else {
        false
    }
}

/// Stems one token that has already been folded and had its digraphs collapsed.
fn stem_folded(token: &str) -> String {
    let mut word = token.to_owned();
    if !word.chars().all(char::is_alphabetic) {
        // Numbers and identifiers such as "ipv6" or "2024" stay as they are.
        return word;
    }
    let mut len = word.chars().count();

    // Step A: inflection endings; the longest matching one, if the stem stays long enough.
    if word.ends_with("eln") {
        strip(&mut word, &mut len, "n", MIN_STEM);
    } else if let Some(suffix) = ["ern", "en", "er", "es"]
        .into_iter()
        .find(|s| word.ends_with(s))
    {
        strip(&mut word, &mut len, suffix, MIN_STEM);
    } else if word.ends_with('e') {
        strip(&mut word, &mut len, "e", MIN_STEM);
    } else if word.ends_with('s') {
        let before = word[..word.len() - 1].chars().next_back();
        if before.is_some_and(|b| "bdfghklmnrt".contains(b)) {
            strip(&mut word, &mut len, "s", MIN_STEM_S);
        }
    }

    // Step B: what remains of "-ens", "-ers", "-erer", "-enen" and the like.
    while ["en", "er"]
        .into_iter()
        .any(|suffix| strip(&mut word, &mut len, suffix, MIN_STEM))
    {}

    // Doubled consonants of "-innen" and "-nisse".
    if word.ends_with("inn") {
        strip(&mut word, &mut len, "n", MIN_STEM);
    } else if word.ends_with("niss") {
        strip(&mut word, &mut len, "s", MIN_STEM);
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalises two texts and asserts they are equal.
    fn same(a: &str, b: &str) {
        assert_eq!(normalise(a), normalise(b), "{a:?} vs {b:?}");
    }

    /// Whether the query `q` matches the indexed `text`, by FTS5's rules for this module's
    /// expressions: every term must be a prefix of some token of the normalised text.
    fn matches(q: &str, text: &str) -> bool {
        let index = normalise(text);
        let Some(expr) = fts_query(q) else {
            return false;
        };
        let terms = parse_expr(&expr).unwrap();
        terms
            .iter()
            .all(|t| index.split(' ').any(|tok| tok.starts_with(t.as_str())))
    }

    /// Parses an expression of the form `"t1"* AND "t2"* …`; every term must be non-empty and
    /// free of quotes. Returns the terms, or an error describing the first deviation.
    fn parse_expr(expr: &str) -> Result<Vec<String>, String> {
        let mut terms = Vec::new();
        let mut rest = expr;
        loop {
            rest = rest
                .strip_prefix('"')
                .ok_or_else(|| format!("expected '\"' at {rest:?}"))?;
            let end = rest
                .find('"')
                .ok_or_else(|| format!("unbalanced quote in {expr:?}"))?;
            let term = &rest[..end];
            if term.is_empty() {
                return Err(format!("empty term in {expr:?}"));
            }
            if !term.chars().all(char::is_alphanumeric) {
                return Err(format!("term {term:?} has non-alphanumeric characters"));
            }
            if term.chars().count() > MAX_TOKEN_CHARS {
                return Err(format!("term {term:?} too long"));
            }
            terms.push(term.to_owned());
            rest = rest[end + 1..]
                .strip_prefix('*')
                .ok_or_else(|| format!("expected '*' after term in {expr:?}"))?;
            if rest.is_empty() {
                break;
            }
            rest = rest
                .strip_prefix(" AND ")
                .ok_or_else(|| format!("expected ' AND ' at {rest:?}"))?;
        }
        if terms.len() > MAX_QUERY_TOKENS {
            return Err(format!("{} terms", terms.len()));
        }
        Ok(terms)
    }

    /// Asserts that `q` yields `None` or a well-formed expression; returns the terms.
    fn safe(q: &str) -> Vec<String> {
        match fts_query(q) {
            None => Vec::new(),
            Some(expr) => {
                let terms = parse_expr(&expr).unwrap_or_else(|e| panic!("{q:?}: {e}"));
                assert!(!terms.is_empty());
                // Keywords such as `or` or `near` may appear as terms, but only quoted (the
                // parser checks that every term is quoted).
                for t in &terms {
                    assert!(!t.contains(['"', '*', ':', '^', '(', ')', '-', '+', ' ']));
                }
                terms
            }
        }
    }

    #[test]
    fn lowercases_and_splits_on_non_alphanumerics() {
        assert_eq!(
            normalise("Open-Source  Fachverfahren/XÖV, v2.0"),
            "open sourc fachverfahr xov v2 0"
        );
        assert_eq!(normalise(""), "");
        assert_eq!(normalise(" ,;!? "), "");
        assert_eq!(normalise("2024 ipv6"), "2024 ipv6");
    }

    #[test]
    fn umlauts_and_sharp_s() {
        same("Straße", "Strasse");
        same("Straße", "STRASSE");
        same("STRAẞE", "strasse");
        assert_eq!(normalise("Straße"), "strass");
        same("Gebühr", "Gebuhr");
        same("Öffnung", "Offnung");
        same("Ärger", "Arger");
        // Decomposed (NFD) umlauts are the same as composed ones.
        same("Mu\u{0308}ller", "Müller");
        same("Stra\u{00DF}e", "Strasse");
        // Other diacritics.
        same("Café", "Cafe");
        same("Łódź", "Lodz");
        // Soft hyphen and zero-width non-joiner do not split a word.
        same("Bau\u{00AD}antrag", "Bauantrag");
        same("Auf\u{200C}lage", "Auflage");
    }

    #[test]
    fn transliterated_umlauts() {
        same("Müller", "Mueller");
        same("Müller", "MUELLER");
        same("Gebäude", "Gebaeude");
        same("Öl", "Oel");
        same("Übersicht", "Uebersicht");
        same("Köln", "Koeln");
        same("Äußerung", "Aeusserung");
        same("Häuser", "Haeuser");
        same("für", "fuer");
        same("Düsseldorf", "Duesseldorf");
    }

    #[test]
    fn ordinary_words_with_ue_ae_oe_survive() {
        // "eue", "aue" and "que" keep their e.
        assert_eq!(normalise("Feuer"), "feu");
        assert_eq!(normalise("Feuerwehr"), "feuerwehr");
        assert_eq!(normalise("neue neuen neues"), "neu neu neu");
        assert_eq!(normalise("Quelle"), "quell");
        assert_eq!(normalise("Quellen"), "quell");
        assert_eq!(normalise("bequem"), "bequem");
        assert_eq!(normalise("Bauer"), "bau");
        assert_eq!(normalise("Steuer"), "steu");
        assert_eq!(normalise("Treue"), "treu");
        assert_eq!(normalise("Queue"), "queu");
        // And they find each other and their compounds.
        assert!(matches("Feuer", "Feuerwehrverwaltung"));
        assert!(matches("Feuerwehr", "Software für Feuerwehren"));
        assert!(matches("Quelle", "Quellcode und Quellen"));
        assert!(matches("neue", "Ein neues Verfahren"));
        assert!(matches("Steuer", "Steuererklärung"));
        assert!(matches("Steuern", "Steuerverwaltung"));
        // Words whose "ue" is collapsed still match consistently.
        assert!(matches("aktuell", "aktuelle Daten"));
        assert!(matches("aktuelle", "Aktuelles"));
    }

    #[test]
    fn plurals_and_inflections() {
        let pairs = [
            ("Antrag", "Anträge"),
            ("Antrag", "Antrages"),
            ("Antrag", "Antrags"),
            ("Bauantrag", "Bauanträge"),
            ("Verfahren", "Verfahrens"),
            ("Dienst", "Dienste"),
            ("Dienst", "Diensten"),
            ("Dienst", "Dienstes"),
            ("Gebühr", "Gebühren"),
            ("Meldung", "Meldungen"),
            ("Bescheid", "Bescheide"),
            ("Bescheid", "Bescheiden"),
            ("Meldewesen", "Meldewesens"),
            ("Lehrer", "Lehrern"),
            ("Lehrer", "Lehrers"),
            ("Nutzerin", "Nutzerinnen"),
            ("Ergebnis", "Ergebnisse"),
            ("Ergebnis", "Ergebnissen"),
            ("Regel", "Regeln"),
            ("Kurs", "Kurse"),
            ("Haus", "Häuser"),
            ("Amt", "Ämter"),
            ("Amt", "Ämtern"),
            ("Amt", "Amtes"),
            ("Straße", "Straßen"),
            ("Rat", "Räte"),
            ("Rad", "Räder"),
            ("Name", "Namens"),
        ];
        for (a, b) in pairs {
            same(a, b);
            assert!(matches(a, b), "{a} should find {b}");
            assert!(matches(b, a), "{b} should find {a}");
        }
        assert_eq!(normalise("Anträge"), "antrag");
        assert_eq!(normalise("Meldungen"), "meldung");
        assert_eq!(normalise("Verfahrens"), "verfahr");
        assert_eq!(normalise("Gebühren"), "gebuhr");
    }

    #[test]
    fn stems_keep_a_minimum_length() {
        assert_eq!(stem("Bau"), "bau");
        assert_eq!(stem("Bus"), "bus");
        assert_eq!(stem("Rat"), "rat");
        assert_eq!(stem("Rad"), "rad");
        assert_eq!(stem("Tee"), "tee");
        assert_eq!(stem("Kern"), "kern");
        assert_eq!(stem("Amts"), "amts");
        assert_eq!(stem("Ren"), "ren");
        assert_eq!(stem("es"), "es");
        assert_eq!(stem("e"), "e");
        for w in [
            "Anträgen",
            "Meldewesens",
            "Lehrerinnen",
            "Ergebnisse",
            "Bus",
            "Straße",
        ] {
            assert!(stem(w).chars().count() >= MIN_STEM, "{w}");
        }
    }

    #[test]
    fn stem_applies_character_normalisation() {
        assert_eq!(stem("Anträge"), "antrag");
        assert_eq!(stem("ANTRAEGE"), "antrag");
        assert_eq!(stem("Straße"), "strass");
        assert_eq!(stem("Mueller"), stem("Müller"));
        assert_eq!(stem("Bau-Anträge"), "bauantrag");
        for w in [
            "Bauanträge",
            "Meldewesens",
            "Gebühren",
            "Feuer",
            "Quellen",
            "x86",
        ] {
            assert_eq!(stem(w), normalise(w), "{w}");
        }
    }

    #[test]
    fn stem_is_a_prefix_of_the_folded_word() {
        for w in [
            "Bauanträge",
            "Verfahrens",
            "Lehrerinnen",
            "Ergebnissen",
            "Regeln",
            "Wanderern",
            "Meldewesens",
            "Dienste",
        ] {
            let mut folded = String::new();
            scan_tokens(w, |t| {
                folded.push_str(&collapse_digraphs(t));
                ControlFlow::Continue(())
            });
            assert!(folded.starts_with(&stem(w)), "{w}: {folded} / {}", stem(w));
        }
    }

    #[test]
    fn distinct_words_stay_distinct() {
        let pairs = [
            ("Bau", "Bus"),
            ("Rat", "Rad"),
            ("Antrag", "Auftrag"),
            ("Meldung", "Mahnung"),
            ("Kurs", "Kur"),
            ("Haus", "Hase"),
            ("Müller", "Maller"),
            ("Straße", "Strauß"),
            ("Quelle", "Qualle"),
        ];
        for (a, b) in pairs {
            assert_ne!(normalise(a), normalise(b), "{a} vs {b}");
        }
        assert!(!matches("Bau", "Bus"));
        assert!(!matches("Bus", "Bau"));
        assert!(!matches("Rat", "Rad"));
        assert!(!matches("Rad", "Rat"));
        assert!(!matches("Antrag", "Auftrag"));
    }

    #[test]
    fn prefix_and_compound_queries() {
        assert!(matches("Bau", "Bauantrag"));
        assert!(matches("bau", "Baugenehmigung"));
        assert!(matches("Bauantrag", "Bauanträge"));
        assert!(matches("Bauanträge", "Bauantrag"));
        assert!(matches("Bauantrag", "Bauantragsverfahren"));
        assert!(matches("Strasse", "Straßenverkehr"));
        assert!(matches("Straße", "Straßenverkehrsamt"));
        assert!(matches("Meldewesen", "Software für das Meldewesen"));
        assert!(matches("Meldewesen", "des Meldewesens"));
        assert!(matches("Anträge", "Antrag"));
        assert!(matches("Antrag", "Anträge"));
        // Partially typed words.
        assert!(matches("Bauantr", "Bauanträge"));
        assert!(matches("Meldewe", "Meldewesens"));
        assert!(matches("Mue", "Müller"));
        assert!(matches("Müll", "Mueller"));
        // Every term must match.
        assert!(matches("Bau Antrag", "Bau und Antrag"));
        assert!(!matches("Bau Gewerbe", "Bauantrag"));
    }

    #[test]
    fn query_shape() {
        assert_eq!(fts_query("Bauantrag").as_deref(), Some("\"bauantrag\"*"));
        assert_eq!(
            fts_query("Straße Bauanträge").as_deref(),
            Some("\"strass\"* AND \"bauantrag\"*")
        );
        assert_eq!(fts_query("bau BAU Bau").as_deref(), Some("\"bau\"*"));
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query("   "), None);
    }

    #[test]
    fn hostile_queries_are_harmless() {
        assert_eq!(fts_query("\""), None);
        assert_eq!(fts_query("\"\"\""), None);
        assert_eq!(fts_query("*"), None);
        assert_eq!(fts_query("!\"§$%&/()=?*+'#-_.:,;<>|^°{}[]\\"), None);
        assert_eq!(fts_query("😀🎉👍🏽"), None);
        assert_eq!(fts_query("\u{200F}\u{202E}\u{200B}"), None);
        assert_eq!(safe("NEAR("), vec!["near"]);
        assert_eq!(safe("NEAR(a b, 3)"), vec!["near", "a", "b", "3"]);
        assert_eq!(safe("a OR b"), vec!["a", "or", "b"]);
        assert_eq!(safe("a AND NOT b"), vec!["a", "and", "not", "b"]);
        assert_eq!(safe("-x"), vec!["x"]);
        assert_eq!(safe("+x"), vec!["x"]);
        assert_eq!(safe("col:val"), vec!["col", "val"]);
        assert_eq!(safe("text:bau*"), vec!["text", "bau"]);
        assert_eq!(safe("^start"), vec!["start"]);
        assert_eq!(safe("\"bau\"*"), vec!["bau"]);
        assert_eq!(safe("\"unbalanced"), vec!["unbalanced"]);
        assert_eq!(safe("a\"b"), vec!["a", "b"]);
        assert_eq!(safe("{col1 col2}: x"), vec!["col1", "col2", "x"]);
        assert_eq!(safe("x\0y"), vec!["x", "y"]);
        assert_eq!(safe("Bau 😀 antrag"), vec!["bau", "antrag"]);
        // Right-to-left text and mixed scripts stay tokens, quoted.
        assert_eq!(safe("مرحبا بالعالم").len(), 2);
        assert_eq!(safe("\u{202E}שלום\u{202C} world").len(), 2);
        safe("Привет мир");
        safe("漢字かなカナ");
        safe("\u{0301}\u{0308}");
        safe("e\u{0301}");
    }

    #[test]
    fn long_queries_are_limited() {
        let ten_kb = "Bauantrag Straße \"Meldewesen\" OR NEAR(x) -y ".repeat(250);
        assert!(ten_kb.len() >= 10_000);
        let terms = safe(&ten_kb);
        assert!(!terms.is_empty() && terms.len() <= MAX_QUERY_TOKENS);

        let many: String = (0..100).map(|i| format!("wort{i} ")).collect();
        assert_eq!(safe(&many).len(), MAX_QUERY_TOKENS);

        let long_word = "a".repeat(10_000);
        let terms = safe(&long_word);
        assert_eq!(terms, vec!["a".repeat(MAX_TOKEN_CHARS)]);

        let long_umlauts = "ä".repeat(5_000);
        let terms = safe(&long_umlauts);
        assert_eq!(terms[0].chars().count(), MAX_TOKEN_CHARS);

        let long_suffixes = format!("bau{}", "en".repeat(5_000));
        assert_eq!(stem(&long_suffixes), "bau");

        let punctuation = "\"*:^()-+".repeat(1_300);
        assert_eq!(fts_query(&punctuation), None);
    }

    proptest::proptest! {
        #[test]
        fn any_query_is_none_or_well_formed(q in "\\PC{0,300}") {
            if let Some(expr) = fts_query(&q) {
                proptest::prop_assert!(parse_expr(&expr).is_ok(), "{:?} -> {}", q, expr);
            }
        }

        #[test]
        fn any_text_normalises_to_alphanumeric_tokens(text in "\\PC{0,300}") {
            let n = normalise(&text);
            if !n.is_empty() {
                for tok in n.split(' ') {
                    proptest::prop_assert!(!tok.is_empty());
                    proptest::prop_assert!(tok.chars().all(char::is_alphanumeric));
                }
            }
        }

        #[test]
        fn query_terms_find_their_own_text(text in "[a-zA-ZäöüÄÖÜß ]{1,80}") {
            // Searching a text for its own words always finds it.
            if let Some(expr) = fts_query(&text) {
                let index = normalise(&text);
                for term in parse_expr(&expr).unwrap_or_default() {
                    proptest::prop_assert!(
                        index.split(' ').any(|tok| tok.starts_with(term.as_str())),
                        "{:?}: {} not in {}", text, term, index
                    );
                }
            }
        }
    }

    /// The index and the queries in a real FTS5 table.
    #[test]
    fn sqlite_fts5_finds_german_words() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='unicode61 remove_diacritics 2')",
        )
        .unwrap();
        let docs = [
            (
                1,
                "Digitale Bauanträge: Einreichung und Prüfung von Bauanträgen im Bauamt",
            ),
            (2, "Baugenehmigung online beantragen"),
            (3, "Fachverfahren für das Meldewesen der Kommunen"),
            (4, "Straßenverkehrsbehörde: Sondernutzung und Parkausweise"),
            (5, "Gebühren und Bescheide für die Abfallwirtschaft"),
            (6, "Ratsinformationssystem für Sitzungen des Gemeinderates"),
            (
                7,
                "Dienste der Bürgerinnen- und Bürgerbüros, Termine und Anträge",
            ),
            (8, "Feuerwehrverwaltung mit Einsatzberichten"),
            (9, "Kita-Platzvergabe und Elternbeiträge"),
            (10, "Geoinformationssystem für Müller & Söhne"),
        ];
        for (id, text) in docs {
            conn.execute(
                "INSERT INTO t (rowid, text) VALUES (?1, ?2)",
                rusqlite::params![id, normalise(text)],
            )
            .unwrap();
        }
        let search = |q: &str| -> Vec<i64> {
            let expr = fts_query(q).unwrap();
            let mut stmt = conn
                .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
                .unwrap();
            stmt.query_map([expr], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(search("Bauantrag"), vec![1]);
        assert_eq!(search("Bauanträge"), vec![1]);
        assert_eq!(search("Strasse"), vec![4]);
        assert_eq!(search("STRASSE"), vec![4]);
        assert_eq!(search("Straßenverkehr"), vec![4]);
        assert_eq!(search("bau"), vec![1, 2]);
        assert_eq!(search("Meldewesen"), vec![3]);
        assert_eq!(search("Meldewesens"), vec![3]);
        assert_eq!(search("Antrag"), vec![7]);
        assert_eq!(search("Gebühr"), vec![5]);
        assert_eq!(search("Bescheid"), vec![5]);
        assert_eq!(search("Dienst"), vec![7]);
        assert_eq!(search("Bürgerin"), vec![7]);
        assert_eq!(search("Rat"), vec![6]);
        assert_eq!(search("Feuer"), vec![8]);
        assert_eq!(search("Mueller"), vec![10]);
        assert_eq!(search("Sohn"), vec![10]);
        assert_eq!(search("Söhne"), vec![10]);
        assert_eq!(search("bau online"), vec![2]);
        assert_eq!(search("Hundesteuer"), Vec::<i64>::new());
        assert_eq!(search("Bus"), Vec::<i64>::new());

        // Hostile queries run without an FTS5 syntax error.
        let hostile = [
            "\"bau",
            "NEAR(bau antrag)",
            "bau OR rat",
            "bau AND NOT rat",
            "-bau",
            "text:bau",
            "{text}: bau",
            "^bau",
            "bau*",
            "(bau",
            "مرحبا",
            "\u{202E}שלום",
            "e\u{0301}",
            "\u{093F}",
            "a\u{093F}b",
            "Ⅻ ½ ²",
            "ǅ ﬁ",
        ];
        for q in hostile {
            if let Some(expr) = fts_query(q) {
                parse_expr(&expr).unwrap();
                let mut stmt = conn
                    .prepare("SELECT rowid FROM t WHERE t MATCH ?1")
                    .unwrap();
                let rows: Vec<i64> = stmt
                    .query_map([&expr], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{q:?} -> {expr}: {e}"));
                let _ = rows;
            }
        }
        let long = "Bauantrag \"Straße\" NEAR(x) ".repeat(400);
        let expr = fts_query(&long).unwrap();
        let mut stmt = conn
            .prepare("SELECT rowid FROM t WHERE t MATCH ?1")
            .unwrap();
        let n = stmt
            .query_map([&expr], |row| row.get::<_, i64>(0))
            .unwrap()
            .count();
        assert_eq!(n, 0);
    }
}
