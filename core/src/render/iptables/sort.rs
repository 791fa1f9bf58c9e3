//! kube-proxy's test sort (`sortIPTablesRules` in `pkg/proxy/iptables/proxier_test.go`): the
//! canonical order the conformance goldens are written in.
//!
//! spec: kube-proxy-iptables.md §4.1 "Sorted (test) order"; conformance README §Ordering.

use crate::{Error, Issue, Result};

struct Chain {
    decl: String,
    name: String,
    rules: Vec<String>,
    deleted: bool,
}

struct Table {
    name: String,
    chains: Vec<Chain>,
    index: std::collections::HashMap<String, usize>,
}

fn comment_of(rule: &str) -> Option<String> {
    // kube-proxy's restore text quotes with plain double quotes and never escapes.
    let words = crate::netfilter::split_words(rule).ok()?;
    let p = words.iter().position(|w| w == "--comment")?;
    words.get(p + 1).cloned()
}

fn service_name(rule: &str) -> String {
    let c = comment_of(rule).unwrap_or_default();
    let cut = c.find([' ', ':']).unwrap_or(c.len());
    c[..cut].to_owned()
}

/// Sorts an `iptables-restore` text the way kube-proxy's unit tests do before comparing.
///
/// # Example
/// ```
/// use svccore::render::iptables::sort_like_kube_proxy_tests;
/// let text = "*nat\n:KUBE-B - [0:0]\n:KUBE-SERVICES - [0:0]\n-A KUBE-B -j KUBE-SERVICES\nCOMMIT\n";
/// assert_eq!(
///     sort_like_kube_proxy_tests(text).unwrap(),
///     "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-B - [0:0]\n-A KUBE-B -j KUBE-SERVICES\nCOMMIT\n"
/// );
/// ```
pub fn sort_like_kube_proxy_tests(text: &str) -> Result<String> {
    let err = |n: usize, m: &str| Error::Dump(Issue::new(None, format!("line {n}"), m));
    let mut tables: Vec<Table> = Vec::new();
    let mut in_table = false;
    let mut in_chains = false;
    for (k, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_table {
            let Some(name) = line.strip_prefix('*') else {
                return Err(err(k + 1, "expected a '*table' line"));
            };
            tables.push(Table {
                name: name.to_owned(),
                chains: Vec::new(),
                index: std::collections::HashMap::new(),
            });
            in_table = true;
            in_chains = true;
            continue;
        }
        let t = tables.last_mut().expect("in a table");
        if in_chains {
            if let Some(d) = line.strip_prefix(':') {
                let name = d.split(' ').next().unwrap_or("").to_owned();
                t.index.insert(name.clone(), t.chains.len());
                t.chains.push(Chain {
                    decl: line.to_owned(),
                    name,
                    rules: Vec::new(),
                    deleted: false,
                });
                continue;
            }
            in_chains = false;
        }
        if let Some(rest) = line.strip_prefix("-A ") {
            let name = rest.split(' ').next().unwrap_or("");
            let Some(&c) = t.index.get(name) else {
                return Err(err(k + 1, "rule for an undeclared chain"));
            };
            t.chains[c].rules.push(line.to_owned());
        } else if let Some(name) = line.strip_prefix("-X ") {
            let Some(&c) = t.index.get(name) else {
                return Err(err(k + 1, "-X of an undeclared chain"));
            };
            t.chains[c].deleted = true;
        } else if line == "COMMIT" {
            in_table = false;
        } else {
            return Err(err(k + 1, "cannot parse line"));
        }
    }
    if in_table {
        return Err(err(text.lines().count(), "missing final COMMIT"));
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::with_capacity(text.len());
    for t in &mut tables {
        t.chains
            .sort_by(|a, b| chain_key(&a.name).cmp(&chain_key(&b.name)));
        if t.name == "filter" || t.name == "nat" {
            for c in &mut t.chains {
                if c.name == "KUBE-NODEPORTS" || (c.name == "KUBE-SERVICES" && t.name == "filter") {
                    c.rules.sort_by_cached_key(|r| service_name(r));
                } else if c.name == "KUBE-SERVICES" {
                    c.rules.sort_by_cached_key(|r| {
                        let last =
                            comment_of(r).is_some_and(|c| c.contains("must be the last rule"));
                        if last {
                            (1, String::new())
                        } else {
                            (0, service_name(r))
                        }
                    });
                }
            }
        }
        out.push('*');
        out.push_str(&t.name);
        out.push('\n');
        for c in &t.chains {
            out.push_str(&c.decl);
            out.push('\n');
        }
        for c in &t.chains {
            for r in &c.rules {
                out.push_str(r);
                out.push('\n');
            }
        }
        for c in t.chains.iter().filter(|c| c.deleted) {
            out.push_str("-X ");
            out.push_str(&c.name);
            out.push('\n');
        }
        out.push_str("COMMIT\n");
    }
    Ok(out)
}

fn chain_key(n: &str) -> (u8, &str) {
    match n {
        "KUBE-NODEPORTS" => (0, n),
        "KUBE-SERVICES" => (1, n),
        _ if n.starts_with("KUBE-") => (2, n),
        _ => (3, n),
    }
}
