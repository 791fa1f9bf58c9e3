//! Shared helpers of the ipvs renderer tests: fixtures, seeds, normalisation, and an independent
//! transcription of ipvsadm's printf formats (spec: ipvs.md §2) to build exact expected text.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use svccore::model::IpFamily;
use svccore::proxier::config::ProxierSettings;
use svccore::render::ipvs::{IpvsNode, IpvsState};
use svccore::snapshot::ProxySnapshot;
use svccore::{Cluster, Loader};

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ipvs_data")
        .join(name)
}

/// Loads fixture files; `patch` replaces text in every file first.
pub fn cluster(files: &[&str], patch: Option<(&str, &str)>) -> Cluster {
    let mut l = Loader::new();
    for f in files {
        let mut text = std::fs::read_to_string(data(f)).unwrap();
        if let Some((a, b)) = patch {
            text = text.replace(a, b);
        }
        l.add_str(Some(f), &text).unwrap();
    }
    l.finish().unwrap()
}

/// Loads inline YAML.
pub fn cluster_str(yaml: &str) -> Cluster {
    let mut l = Loader::new();
    l.add_str(Some("inline.yaml"), yaml).unwrap();
    l.finish().unwrap()
}

pub fn node_with(
    c: &Cluster,
    node: &str,
    family: IpFamily,
    tweak: impl FnOnce(&mut ProxierSettings),
    state: Option<&IpvsState>,
) -> IpvsNode {
    let snap = ProxySnapshot::build(c, family).unwrap();
    let mut s = ProxierSettings::from_cluster(c, node, family).unwrap();
    tweak(&mut s);
    IpvsNode::build(&snap, &s, state).unwrap()
}

pub fn node(c: &Cluster, node: &str) -> IpvsNode {
    node_with(c, node, IpFamily::IPv4, |_| {}, None)
}

/// The seed listings, by section name.
pub fn seeds() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(data("seeds.txt")).unwrap();
    let mut out = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            cur = Some(name.to_owned());
            out.insert(name.to_owned(), String::new());
        } else if let Some(c) = &cur {
            let s = out.get_mut(c).unwrap();
            s.push_str(line);
            s.push('\n');
        }
    }
    out
}

/// Whitespace-normalised lines (runs of blanks collapsed, ends trimmed, empty lines dropped).
pub fn normalize(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// The 3 header lines plus the blocks of the named services (`"TCP 10.97.97.97:80"`, compared
/// whitespace-normalised), in listing order: what a page quoting part of a listing shows.
pub fn excerpt(listing: &str, services: &[&str]) -> String {
    let mut out = String::new();
    let mut keep = false;
    for (i, line) in listing.lines().enumerate() {
        if i < 3 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if !line.starts_with("  ->") {
            let n = line
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            keep = services.contains(&n.as_str());
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

// ---- ipvsadm's printf formats, transcribed from the spec (not from the renderer) ----

pub fn header(size: u32) -> String {
    format!(
        "IP Virtual Server version 1.2.1 (size={size})\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    )
}

/// `"%-4s %s"` + `" " sched` + rest.
pub fn svc(proto: &str, addrport: &str, rest: &str) -> String {
    format!("{proto:<4} {addrport} {rest}\n")
}

/// `"  -> %-28s %-7s %-6d %-10u %-10u\n"`.
pub fn rs(addr: &str, weight: i32, active: u32, inactive: u32) -> String {
    format!(
        "  -> {addr:<28} {:<7} {weight:<6} {active:<10} {inactive:<10}\n",
        "Masq"
    )
}
