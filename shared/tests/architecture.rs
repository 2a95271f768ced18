//! The layers of `shared/src`, read from its source (DESIGN.md section 1): a module uses only
//! its own top-level module and those of lower layers; the domain uses nothing outside itself;
//! and the modules inside each top-level module (`domain::order`, `service::placement`, ...)
//! use each other without a cycle. Inline test modules are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Lowest first. A module may use the modules of layers below its own, never its own layer's
/// other modules (siblings such as `adapters` and `service` stay apart) nor a layer above.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    // Below every adapter and use case: the ports and what needs only the domain or nothing.
    &[
        "ports",
        "render",
        "saga",
        "retry",
        "metrics",
        "timing",
        "error_chain",
        "redact",
        "calls",
    ],
    &["breaker", "http", "auth"],
    &["adapters", "service"],
    // Read once at cold start into the settings of the adapters and the use cases.
    &["config"],
    &["handlers"],
    // The composition root: the only place that builds adapters for the use cases.
    &["startup"],
    &["lambda"],
];

/// Crates of the outside world: the domain is pure, so tests cover it without emulators.
const OUTSIDE_THE_DOMAIN: &[&str] = &[
    "aws_sdk",
    "aws_smithy",
    "aws_lambda_events",
    "lambda_http",
    "lambda_runtime",
    "serde_dynamo",
    "http::",
];

/// Stands for the outside world in a use of it by the domain.
const OUTSIDE: &str = "<outside>";

type Module = Vec<String>;

#[test]
fn every_module_uses_only_lower_layers_and_no_modules_form_a_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut uses: Vec<(Module, Module, String)> = Vec::new();
    read_tree(&root, &root, &mut uses);
    let layer = |name: &str| LAYERS.iter().position(|layer| layer.contains(&name));

    let mut wrong = Vec::new();
    let mut inner: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, to, file) in &uses {
        let (Some(from_top), Some(to_top)) = (from.first(), to.first()) else {
            continue;
        };
        if to_top == OUTSIDE {
            wrong.push(format!("{file}: the domain uses `{}`", to[1]));
            continue;
        }
        if from_top == to_top {
            if let (Some(a), Some(b)) = (from.get(1), to.get(1)) {
                if a != b {
                    inner.entry(from_top.clone()).or_default().insert((a.clone(), b.clone()));
                }
            }
            continue;
        }
        match (layer(from_top), layer(to_top)) {
            (Some(own), Some(used)) if used < own => {}
            (None, _) => wrong.push(format!("{file}: module `{from_top}` has no layer in LAYERS")),
            (_, None) => wrong.push(format!("{file}: uses `crate::{}`, which has no layer in LAYERS", shown(to))),
            _ => wrong.push(format!(
                "{file}: `{}` uses `crate::{}`, a layer it must not use",
                from.join("::"),
                to.join("::")
            )),
        }
    }
    for (top, edges) in &inner {
        if let Some(cycle) = find_cycle(edges) {
            wrong.push(format!("modules of `{top}` use each other in a cycle: {}", cycle.join(" -> ")));
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "the layering of shared/src is broken:\n  {}", wrong.join("\n  "));
}

/// A used path up to the first item it names (`ports::StoreError`, not its methods).
fn shown(path: &Module) -> String {
    let end = path
        .iter()
        .position(|segment| segment.starts_with(char::is_uppercase))
        .map_or(path.len(), |at| at + 1);
    path[..end].join("::")
}

/// Every `crate::`, `super::` and `self::` path of the `.rs` files under `dir`, resolved to the
/// module it names (as far as module names go), with the module that uses it.
fn read_tree(root: &Path, dir: &Path, uses: &mut Vec<(Module, Module, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("shared/src is readable").flatten().collect();
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            read_tree(root, &path, uses);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under src").to_string_lossy().replace('\\', "/");
        let mut module: Module = relative.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
        let is_mod_file = matches!(module.last().map(String::as_str), Some("mod" | "lib"));
        if is_mod_file {
            module.pop();
        }
        let source = std::fs::read_to_string(&path).expect("a readable source file");
        let source = without_test_module(&source);
        if module.first().is_some_and(|top| top == "domain") {
            for outside in OUTSIDE_THE_DOMAIN.iter().filter(|name| source.contains(*name)) {
                uses.push((module.clone(), vec![OUTSIDE.to_owned(), (*outside).to_owned()], relative.clone()));
            }
        }
        for used in paths_in(&source) {
            let mut segments = used.split("::");
            let mut target: Module = match segments.next() {
                Some("crate") => Vec::new(),
                Some("self") => module.clone(),
                // `super` in `a/b.rs` and in `a/b/mod.rs` (both module `a::b`) is `a`.
                Some("super") => module[..module.len().saturating_sub(1)].to_vec(),
                _ => continue,
            };
            for segment in segments {
                match segment {
                    "super" => target.pop(),
                    _ => {
                        target.push(segment.to_owned());
                        None
                    }
                };
            }
            uses.push((module.clone(), target, relative.clone()));
        }
    }
}

/// The source up to its inline `#[cfg(test)] mod ...` (tests may use what the code may not).
fn without_test_module(source: &str) -> String {
    let mut kept = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let next = lines.peek().map(|next| next.trim_start()).unwrap_or_default();
        if line.trim() == "#[cfg(test)]" && (next.starts_with("mod ") || next.starts_with("pub(crate) mod ")) {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Paths starting at `crate`, `super` or `self`, with `use` groups (`a::{b, c::d}`) expanded.
fn paths_in(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes: Vec<char> = code.chars().collect();
    let mut at = 0;
    while at < bytes.len() {
        let starts = ["crate::", "super::", "self::"].iter().find(|start| {
            code_at(&bytes, at, start) && (at == 0 || !(bytes[at - 1].is_alphanumeric() || bytes[at - 1] == '_' || bytes[at - 1] == ':'))
        });
        match starts {
            Some(_) => {
                let (text, end) = path_text(&bytes, at);
                expand("", &text, &mut paths);
                at = end;
            }
            None => at += 1,
        }
    }
    paths
}

fn code_at(chars: &[char], at: usize, text: &str) -> bool {
    text.chars().enumerate().all(|(i, c)| chars.get(at + i) == Some(&c))
}

/// The path from `at`, braces included, and where it ends.
fn path_text(chars: &[char], mut at: usize) -> (String, usize) {
    let mut text = String::new();
    let mut depth = 0;
    while let Some(&c) = chars.get(at) {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => break,
            _ => {}
        }
        if !c.is_whitespace() {
            text.push(c);
        }
        at += 1;
    }
    (text, at)
}

fn expand(prefix: &str, text: &str, paths: &mut Vec<String>) {
    let Some(open) = text.find('{') else {
        paths.push(format!("{prefix}{}", text.trim_end_matches("::")));
        return;
    };
    let head = format!("{prefix}{}", &text[..open]);
    let body = &text[open + 1..text.len().saturating_sub(1)];
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&head, &body[start..i], paths);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < body.len() {
        expand(&head, &body[start..], paths);
    }
}

/// A cycle among the edges, as the modules it passes through.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeSet<(String, String)>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on| *on == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(cycle) = visit(to, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges.iter().find_map(|(from, _)| visit(from, edges, &mut Vec::new(), &mut done))
}
