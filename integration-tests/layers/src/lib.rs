//! # allmende-layers
//!
//! Checks the workspace's layering (docs/ARCHITECTURE.md) and fails on a violation. `.ci/run`
//! runs it as `cargo run -p allmende-layers`.
//!
//! Two rules:
//! 1. **Crates depend only downwards.** The workspace's `Cargo.toml` lists, under
//!    `[workspace.metadata.layers]`, each crate's allowed workspace dependencies (`may_use`)
//!    and the outside crates it must never reach, directly or through any other crate
//!    (`never`). A normal or build dependency on a workspace crate not in `may_use`, a crate
//!    in `never` anywhere below it, a workspace crate without an entry, or an entry for a crate
//!    that no longer exists is a violation. Dev-dependencies are not checked: a crate's tests
//!    may drive it through the layers above.
//! 2. **No import circle inside a crate.** Within each library crate, the modules (one per
//!    file) that name each other through `crate::`, `super::`, `self::` or a child module's
//!    name form a graph without cycles. Only code counts: comment lines are skipped, and
//!    an inline module (such as `mod tests`) belongs to its file.
//!
//! It reads `cargo metadata` and the crates' sources; it builds nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One crate's entry in `[workspace.metadata.layers]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The workspace crates it may depend on.
    #[serde(default)]
    pub may_use: Vec<String>,
    /// Outside crates it must never reach, directly or through another crate.
    #[serde(default)]
    pub never: Vec<String>,
    /// Why the crate exists, for the report.
    #[serde(default)]
    pub purpose: String,
}

/// One violation, in words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the checker needs of `cargo metadata`.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    resolve: Option<Resolve>,
    /// The workspace's `[workspace.metadata]`.
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Package {
    id: String,
    name: String,
    dependencies: Vec<Dependency>,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    name: String,
    kind: Option<String>,
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Target {
    kind: Vec<String>,
    src_path: PathBuf,
}

#[derive(Debug, Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Debug, Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Debug, Deserialize)]
struct DepKind {
    kind: Option<String>,
}

/// Reads `cargo metadata --format-version 1` output.
pub fn parse_metadata(json: &str) -> Result<Metadata, String> {
    serde_json::from_str(json).map_err(|e| format!("cargo metadata output: {e}"))
}

/// The rules from the workspace metadata.
pub fn rules(meta: &Metadata) -> Result<BTreeMap<String, Rule>, String> {
    let layers = meta
        .metadata
        .as_ref()
        .and_then(|m| m.get("layers"))
        .ok_or("the workspace Cargo.toml has no [workspace.metadata.layers]")?;
    serde_json::from_value(layers.clone()).map_err(|e| format!("[workspace.metadata.layers]: {e}"))
}

/// Rule 1: the crate graph against the rules.
pub fn check_crates(meta: &Metadata, rules: &BTreeMap<String, Rule>) -> Vec<Violation> {
    let mut out = Vec::new();
    let by_id: BTreeMap<&str, &Package> =
        meta.packages.iter().map(|p| (p.id.as_str(), p)).collect();
    let members: Vec<&Package> = meta
        .workspace_members
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).copied())
        .collect();
    let member_names: BTreeSet<&str> = members.iter().map(|p| p.name.as_str()).collect();
    for name in rules.keys() {
        if !member_names.contains(name.as_str()) {
            out.push(Violation(format!(
                "[workspace.metadata.layers] names `{name}`, which is not a workspace crate"
            )));
        }
    }
    let normal = |kind: &Option<String>| kind.as_deref() != Some("dev");
    // Normal and build edges of the whole resolved graph, for `never`.
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    if let Some(resolve) = &meta.resolve {
        for n in &resolve.nodes {
            let deps = n
                .deps
                .iter()
                .filter(|d| d.dep_kinds.iter().any(|k| normal(&k.kind)))
                .map(|d| d.pkg.as_str())
                .collect();
            graph.insert(n.id.as_str(), deps);
        }
    }
    for p in &members {
        let Some(rule) = rules.get(&p.name) else {
            out.push(Violation(format!(
                "`{}` has no entry in [workspace.metadata.layers] (say what it may use)",
                p.name
            )));
            continue;
        };
        for d in &p.dependencies {
            if d.path.is_some()
                && normal(&d.kind)
                && member_names.contains(d.name.as_str())
                && !rule.may_use.contains(&d.name)
            {
                out.push(Violation(format!(
                    "`{}` depends on `{}`, which its layer may not use (may_use: {:?})",
                    p.name, d.name, rule.may_use
                )));
            }
        }
        if rule.never.is_empty() {
            continue;
        }
        // Breadth-first from the crate, remembering how each package was reached.
        let mut via: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = vec![p.id.as_str()];
        while let Some(id) = queue.pop() {
            for &next in graph.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                if next != p.id && !via.contains_key(next) {
                    via.insert(next, id);
                    queue.push(next);
                }
            }
        }
        for (&id, _) in via.iter() {
            let Some(pkg) = by_id.get(id) else { continue };
            if rule.never.contains(&pkg.name) {
                let mut chain = vec![pkg.name.as_str()];
                let mut at = id;
                while let Some(&prev) = via.get(at) {
                    if prev == p.id {
                        break;
                    }
                    chain.push(by_id.get(prev).map_or(prev, |q| q.name.as_str()));
                    at = prev;
                }
                chain.push(&p.name);
                chain.reverse();
                out.push(Violation(format!(
                    "`{}` must never use `{}`, but reaches it: {}",
                    p.name,
                    pkg.name,
                    chain.join(" → ")
                )));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The library source roots of the workspace crates, by crate name.
pub fn library_roots(meta: &Metadata) -> Vec<(String, PathBuf)> {
    let members: BTreeSet<&str> = meta.workspace_members.iter().map(String::as_str).collect();
    meta.packages
        .iter()
        .filter(|p| members.contains(p.id.as_str()))
        .filter_map(|p| {
            p.targets
                .iter()
                .find(|t| t.kind.iter().any(|k| k == "lib"))
                .map(|t| (p.name.clone(), t.src_path.clone()))
        })
        .collect()
}

/// Rule 2 for one crate: its module files, read from `lib_rs`'s folder (binaries excluded).
pub fn check_modules(crate_name: &str, lib_rs: &Path) -> Result<Vec<Violation>, String> {
    let Some(src) = lib_rs.parent() else {
        return Ok(vec![]);
    };
    let mut files = BTreeMap::new();
    collect(src, src, &mut files)?;
    let edges = module_edges(&files);
    Ok(cycles(&edges)
        .into_iter()
        .map(|c| {
            Violation(format!(
                "`{crate_name}`: modules import each other in a circle: {}",
                c.iter()
                    .chain(c.first())
                    .map(|m| display_module(m))
                    .collect::<Vec<_>>()
                    .join(" → ")
            ))
        })
        .collect())
}

fn display_module(m: &str) -> String {
    if m.is_empty() {
        "(crate root)".into()
    } else {
        m.to_string()
    }
}

/// Source files by module path (`""` for the crate root, `a::b` for `a/b.rs` or
/// `a/b/mod.rs`), skipping `main.rs` and `bin/`.
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(&path);
        if path.is_dir() {
            if rel != Path::new("bin") {
                collect(root, &path, out)?;
            }
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") || rel == Path::new("main.rs") {
            continue;
        }
        let mut parts: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
            parts.pop();
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.insert(parts.join("::"), text);
    }
    Ok(())
}

/// Which module names which, from the files' code. A module's `pub use` of its own
/// descendants re-exports them and is no edge; naming a descendant's items in code is.
pub fn module_edges(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in files {
        let mut targets = BTreeSet::new();
        for path in paths(text) {
            let target = absolute(module, &path.segments, path.inline_depth, &modules)
                .and_then(|abs| longest_module(&abs, &modules));
            let Some(target) = target else { continue };
            let descendant = module.is_empty() || target.starts_with(&format!("{module}::"));
            if target == *module || (path.reexport && descendant && !target.is_empty()) {
                continue;
            }
            targets.insert(target);
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// Turns a path as written into module segments from the crate root; `None` for a path that
/// does not start in this crate.
fn absolute(
    module: &str,
    segs: &[String],
    inline_depth: usize,
    modules: &BTreeSet<&str>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = if module.is_empty() {
        vec![]
    } else {
        module.split("::").map(str::to_string).collect()
    };
    let first = segs.first()?;
    let rest = match first.as_str() {
        "crate" => {
            base.clear();
            &segs[1..]
        }
        "self" => &segs[1..],
        "super" => {
            let supers = segs.iter().take_while(|s| *s == "super").count();
            let up = supers.saturating_sub(inline_depth);
            for _ in 0..up {
                base.pop()?;
            }
            &segs[supers..]
        }
        name => {
            // A path relative to the current module: only a child module counts.
            let mut child = base.clone();
            child.push(name.to_string());
            if !modules.contains(child.join("::").as_str()) {
                return None;
            }
            segs
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

fn longest_module(abs: &[String], modules: &BTreeSet<&str>) -> Option<String> {
    (0..=abs.len())
        .rev()
        .map(|n| abs[..n].join("::"))
        .find(|m| modules.contains(m.as_str()))
}

/// A path written in code, with how many inline modules deep it stands.
#[derive(Debug, PartialEq)]
struct WrittenPath {
    segments: Vec<String>,
    inline_depth: usize,
    /// Written in a `pub use`.
    reexport: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Colons,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

/// Tokens of Rust code, without comments, string and character literals.
fn tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Other);
            }
            'r' | 'b'
                if {
                    let mut j = i + 1;
                    if c == 'b' && chars.get(j) == Some(&'r') {
                        j += 1;
                    }
                    while chars.get(j) == Some(&'#') {
                        j += 1;
                    }
                    chars.get(j) == Some(&'"') && (j > i + 1 || c == 'b')
                        || (c == 'r' && chars.get(i + 1) == Some(&'#'))
                } =>
            {
                // Raw (and byte) strings: r"…", r#"…"#, br"…", b"…".
                let mut j = i + 1;
                if chars.get(j) == Some(&'r') {
                    j += 1;
                }
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                let raw = c == 'r' || chars.get(i + 1) == Some(&'r');
                j += 1; // the opening quote
                while j < chars.len() {
                    if !raw && chars[j] == '\\' {
                        j += 2;
                        continue;
                    }
                    if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                i = j;
                out.push(Tok::Other);
            }
            '\'' => {
                if chars.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1; // a lifetime
                }
                out.push(Tok::Other);
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push(Tok::Colons);
                i += 2;
            }
            '{' => {
                out.push(Tok::Open);
                i += 1;
            }
            '}' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ';' => {
                out.push(Tok::Semi);
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    out
}

/// The paths a file's code writes, `use` groups expanded. A `#[cfg(test)]` inline module is
/// skipped: a module's tests may build their fixtures with any module of the crate.
fn paths(text: &str) -> Vec<WrittenPath> {
    let toks = tokens(text);
    let mut out = Vec::new();
    // Brace depth, the depths at which inline modules opened, and where a test module ends.
    let mut depth = 0usize;
    let mut inline: Vec<usize> = Vec::new();
    let mut cfg_test = false;
    let mut skip_until: Option<usize> = None;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => {
                depth += 1;
                i += 1;
            }
            Tok::Close => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                if skip_until == Some(depth) {
                    skip_until = None;
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Semi => {
                cfg_test = false;
                i += 1;
            }
            Tok::Ident(kw) if kw == "cfg" => {
                if let (Some(Tok::Other), Some(Tok::Ident(t)), Some(Tok::Other)) =
                    (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3))
                    && t == "test"
                {
                    cfg_test = true;
                }
                i += 1;
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(_)), Some(Tok::Open)) = (toks.get(i + 1), toks.get(i + 2)) {
                    inline.push(depth + 1);
                    if cfg_test && skip_until.is_none() {
                        skip_until = Some(depth + 1);
                    }
                }
                cfg_test = false;
                i += 1;
            }
            _ if skip_until.is_some() => i += 1,
            Tok::Ident(kw) if kw == "use" => {
                let mut j = i + 1;
                let mut found = Vec::new();
                use_tree(&toks, &mut j, &[], &mut found);
                let reexport = i > 0
                    && (toks[i - 1] == Tok::Ident("pub".into())
                        || (toks[i - 1] == Tok::Other
                            && toks[..i].iter().rev().nth(3) == Some(&Tok::Ident("pub".into()))));
                out.extend(found.into_iter().map(|segments| WrittenPath {
                    segments,
                    inline_depth: inline.len(),
                    reexport,
                }));
                i = j;
            }
            Tok::Ident(first) if i == 0 || toks[i - 1] != Tok::Colons => {
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while toks.get(j) == Some(&Tok::Colons) {
                    match toks.get(j + 1) {
                        Some(Tok::Ident(s)) => {
                            segments.push(s.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                if segments.len() > 1 {
                    out.push(WrittenPath {
                        segments,
                        inline_depth: inline.len(),
                        reexport: false,
                    });
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads one use tree at `toks[*j]` under `prefix`, pushing every full path.
fn use_tree(toks: &[Tok], j: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*j) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *j += 1;
                if toks.get(*j) == Some(&Tok::Colons) {
                    *j += 1;
                    continue;
                }
                // `as name`
                if let Some(Tok::Ident(kw)) = toks.get(*j)
                    && kw == "as"
                {
                    *j += 2;
                }
                out.push(path);
                return;
            }
            Some(Tok::Open) => {
                *j += 1;
                loop {
                    match toks.get(*j) {
                        Some(Tok::Close) => {
                            *j += 1;
                            break;
                        }
                        Some(Tok::Comma) => *j += 1,
                        None => return,
                        _ => {
                            let before = *j;
                            use_tree(toks, j, &path, out);
                            if *j == before {
                                *j += 1;
                            }
                        }
                    }
                }
                return;
            }
            Some(Tok::Other) => {
                // `*`
                *j += 1;
                out.push(path);
                return;
            }
            _ => {
                if !path.is_empty() {
                    out.push(path);
                }
                return;
            }
        }
    }
}

/// The cycles of a graph (its strongly connected components with more than one node), each
/// as one circle through it.
pub fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm, iteratively.
    let nodes: Vec<&String> = edges.keys().collect();
    let index_of: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges[*n]
                .iter()
                .filter_map(|t| index_of.get(t.as_str()).copied())
                .collect()
        })
        .collect();
    let n = nodes.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    out.push(
                        circle(&succ, &component)
                            .iter()
                            .map(|&i| nodes[i].clone())
                            .collect(),
                    );
                }
            }
        }
    }
    out
}

/// One circle through a strongly connected component, from its smallest node.
fn circle(succ: &[Vec<usize>], component: &[usize]) -> Vec<usize> {
    let inside: BTreeSet<usize> = component.iter().copied().collect();
    let start = component.iter().copied().min().unwrap_or_default();
    // Breadth-first from start back to start, within the component.
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &succ[v] {
            if !inside.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut at = v;
                while at != start {
                    at = prev[&at];
                    path.push(at);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                e.insert(v);
                queue.push_back(w);
            }
        }
    }
    component.to_vec()
}
