//! Prints the size and SHA-256 of every rendered form of the benchmarks' input
//! ([`svccore_benches::render_input`]): iptables restore, save and jumps, nftables dump, load
//! and list, IPVS list, save and ipset. With `--conformance`, also every form of every case
//! under `tests/conformance/` (iptables, nftables, nftables-flows), each rendered by all three
//! renderers. Run it before and after a change to a renderer and diff the two outputs to check
//! that every text stayed byte-identical:
//!
//! `cargo run --release -p svccore-benches --example output_digests -- --conformance`

use std::path::Path;

use sha2::{Digest, Sha256};
use svccore::categorize::NodeContext;
use svccore::proxier::config::ProxierSettings;
use svccore::render::{iptables, ipvs, nftables};
use svccore::snapshot::ProxySnapshot;
use svccore_benches::render_input;

fn print(what: &str, text: &str) {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    println!("{hex}  {:>10}  {what}", text.len());
}

/// Every form of every renderer for one snapshot (errors are printed in place of a digest).
fn all_forms(label: &str, snap: &ProxySnapshot, settings: &ProxierSettings, node: &NodeContext) {
    for (name, form) in [
        ("iptables restore", iptables::Form::Restore),
        ("iptables save", iptables::Form::Save),
        ("iptables jumps", iptables::Form::Jumps),
    ] {
        match iptables::render_snapshot(snap, settings, node, form) {
            Ok(text) => print(&format!("{label} {name}"), &text),
            Err(e) => println!("error: {label} {name}: {e}"),
        }
    }
    match nftables::table_for_snapshot(snap, settings, node) {
        Ok(table) => {
            for (name, form) in [
                ("nftables dump", nftables::Form::Dump),
                ("nftables load", nftables::Form::Load),
                ("nftables list", nftables::Form::List),
            ] {
                print(&format!("{label} {name}"), &table.text(form));
            }
        }
        Err(e) => println!("error: {label} nftables: {e}"),
    }
    match ipvs::IpvsNode::build(snap, settings, None) {
        Ok(vs) => {
            print(&format!("{label} ipvs list"), &vs.list(None));
            print(&format!("{label} ipvs save"), &vs.save());
            print(&format!("{label} ipvs ipset"), &vs.ipset_save());
        }
        Err(e) => println!("error: {label} ipvs: {e}"),
    }
}

/// A conformance case rendered as the commands render it: settings resolved against the
/// cluster (node facts, ServiceCIDR objects), then every form.
fn case(dir: &Path) {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), read("cluster.json").as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&read("proxy.json"), Some("proxy.json")).unwrap();
    let label = dir
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance"))
        .unwrap_or(dir)
        .display()
        .to_string();
    match nftables::resolve(&cluster, &settings) {
        Ok((resolved, snap)) => all_forms(&label, &snap, &resolved, &resolved.node.context()),
        Err(e) => println!("error: {label}: {e}"),
    }
}

fn main() {
    let (snap, settings, node) = render_input();
    all_forms("bench", &snap, &settings, &node);
    if std::env::args().any(|a| a == "--conformance") {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
        for mode in ["iptables", "nftables", "nftables-flows"] {
            let mut dirs: Vec<_> = std::fs::read_dir(root.join(mode))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.join("cluster.json").is_file())
                .collect();
            dirs.sort();
            for d in dirs {
                case(&d);
            }
        }
    }
}
