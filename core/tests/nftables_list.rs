//! The `list` form against what the kernel printed: every case in tests/conformance/nftables
//! has a `kernel-list.txt`, the `nft list ruleset` output (nftables 1.0.6, Debian 12, Linux
//! 6.18) after loading the case into a fresh network namespace. The namespace held no other
//! table, so `nft list ruleset` printed exactly `nft list table ip kube-proxy`.
//!
//! The cases were loaded from their `expected.txt` reordered as table, chains, sets, maps,
//! rules, elements, so each kind was created in name order; the kernel lists each kind in
//! creation order. The comparison therefore renders the list form with
//! [`ObjectOrder::ByName`] and is exact, byte for byte, element order included. The form's own
//! order (the `load` form's creation order) is compared with the kernel by
//! `tests/kernel/test_nftables.py`.

use crate::conformance_common;

use std::path::Path;

use svccore::render::iptables::ProxierSettings;
use svccore::render::nftables::list::{write_ordered, ObjectOrder};
use svccore::render::nftables::{table, Form};

fn case_table(dir: &Path) -> svccore::render::nftables::Table {
    let cluster_text = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
    let proxy_text = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&proxy_text, Some("proxy.json")).unwrap();
    table(&cluster, &settings).unwrap()
}

#[test]
fn every_case_lists_exactly_as_the_kernel_printed_it() {
    let cases = conformance_common::cases("nftables");
    assert_eq!(cases.len(), 13, "{cases:?}");
    let mut failed = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let want = std::fs::read_to_string(dir.join("kernel-list.txt"))
            .unwrap_or_else(|e| panic!("{name}: kernel-list.txt: {e}"));
        let got = write_ordered(&case_table(dir), ObjectOrder::ByName);
        if got != want {
            eprintln!("=== {name}: got\n{got}=== want\n{want}");
            failed.push(name);
        }
    }
    assert!(
        failed.is_empty(),
        "failed cases: {failed:?} of {}",
        cases.len()
    );
}

#[test]
fn list_form_is_the_load_order_listing() {
    // The form itself lists sets, maps and chains in the order the load form creates them.
    for dir in conformance_common::cases("nftables") {
        let t = case_table(&dir);
        let list = t.text(Form::List);
        assert_eq!(list, write_ordered(&t, ObjectOrder::Load));
        let load = t.text(Form::Load);
        let created: Vec<&str> = load
            .lines()
            .filter(|l| l.starts_with("add chain "))
            .map(|l| l.split(' ').nth(4).unwrap())
            .collect();
        let listed: Vec<&str> = list
            .lines()
            .filter_map(|l| l.strip_prefix("\tchain "))
            .map(|l| l.trim_end_matches(" {"))
            .collect();
        assert_eq!(created, listed, "{}", dir.display());
    }
}
