//! Conformance: every case in tests/conformance/nftables renders (dump form) to exactly
//! kube-proxy's golden text after kube-proxy's test normalization (`sortNFTablesTransaction`).

use crate::conformance_common;

use std::path::Path;

use svccore::render::iptables::ProxierSettings;
use svccore::render::nftables::{render, sort_nftables_transaction, Form};

fn render_case(dir: &Path, form: Form) -> String {
    let cluster_text = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
    let proxy_text = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&proxy_text, Some("proxy.json")).unwrap();
    render(&cluster, &settings, form).unwrap()
}

fn normalize(text: &str) -> String {
    sort_nftables_transaction(text) + "\n"
}

#[test]
fn every_case_matches_kube_proxy_goldens_byte_for_byte() {
    let cases = conformance_common::cases("nftables");
    assert!(!cases.is_empty(), "no conformance cases found");
    let mut failed = Vec::new();
    for dir in &cases {
        let got = normalize(&render_case(dir, Form::Dump));
        let want = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        if got != want {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
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
fn load_form_holds_the_dump_objects_declared_before_use() {
    for dir in conformance_common::cases("nftables") {
        let dump = render_case(&dir, Form::Dump);
        let load = render_case(&dir, Form::Load);
        assert_eq!(normalize(&dump), normalize(&load), "{}", dir.display());
        // Kinds appear as table, chains, sets, maps, rules, elements.
        let rank = |l: &str| match l.split(' ').nth(1) {
            Some("table") => 0,
            Some("chain") => 1,
            Some("set") => 2,
            Some("map") => 3,
            Some("rule") => 4,
            Some("element") => 5,
            other => panic!("unexpected line kind {other:?}: {l}"),
        };
        let ranks: Vec<i32> = load.lines().map(rank).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{}", dir.display());
    }
}

#[test]
fn dump_form_is_knftables_fake_dump_order() {
    // Fake.Dump(): kinds in load order, chains/sets/maps sorted by name, rules grouped by
    // chain in that order.
    for dir in conformance_common::cases("nftables") {
        let dump = render_case(&dir, Form::Dump);
        let names = |kind: &str| -> Vec<String> {
            dump.lines()
                .filter(|l| l.split(' ').nth(1) == Some(kind))
                .map(|l| l.split(' ').nth(4).unwrap().to_owned())
                .collect()
        };
        for kind in ["chain", "set", "map"] {
            let v = names(kind);
            let mut sorted = v.clone();
            sorted.sort();
            assert_eq!(v, sorted, "{kind} in {}", dir.display());
        }
        let mut rule_chains = names("rule");
        rule_chains.dedup();
        let mut sorted = rule_chains.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(rule_chains, sorted, "{}", dir.display());
    }
}

#[test]
fn goldens_are_already_in_normalized_form() {
    for dir in conformance_common::cases("nftables") {
        let want = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        assert_eq!(normalize(&want), want, "{}", dir.display());
    }
}

#[test]
fn normalization_reproduces_upstream_sort_test() {
    let sel = conformance_common::dir("nftables").join("selftest");
    let input = std::fs::read_to_string(sel.join("sort-input.txt")).unwrap();
    let want = std::fs::read_to_string(sel.join("sort-expected.txt")).unwrap();
    assert_eq!(sort_nftables_transaction(&input), want.trim_end());
}

#[test]
fn the_object_model_spells_out_every_line_of_the_text() {
    use svccore::render::nftables::table;
    for dir in conformance_common::cases("nftables") {
        let cluster_text = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
        let proxy_text = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
        let cluster = svccore::load::load_strs([(None, cluster_text.as_str())]).unwrap();
        let settings = ProxierSettings::from_json_str(&proxy_text, None).unwrap();
        let t = table(&cluster, &settings).unwrap();
        let fam = t.family().as_str();
        let q = |c: Option<&str>, pre: &str| c.map_or(String::new(), |c| format!("{pre}\"{c}\""));
        let mut rebuilt = vec![format!(
            "add table {fam} kube-proxy {{ comment \"{}\" ; }}",
            t.comment()
        )];
        for c in t.chains() {
            let extra = match (c.base, c.comment) {
                (Some(b), _) => format!(
                    " {{ type {} hook {} priority {} ; }}",
                    b.chain_type.as_str(),
                    b.hook.as_str(),
                    b.priority
                ),
                (None, Some(c)) => format!(" {{ comment \"{c}\" ; }}"),
                (None, None) => String::new(),
            };
            rebuilt.push(format!("add chain {fam} kube-proxy {}{extra}", c.name));
        }
        for s in t.sets() {
            let flags = if s.flags.is_empty() {
                String::new()
            } else {
                format!(" flags {} ;", s.flags.join(","))
            };
            let timeout = s
                .timeout_seconds
                .map_or(String::new(), |t| format!(" timeout {t}s ;"));
            let comment = s
                .comment
                .map_or(String::new(), |c| format!(" comment \"{c}\" ;"));
            rebuilt.push(format!(
                "add set {fam} kube-proxy {} {{ type {} ;{flags}{timeout}{comment} }}",
                s.name, s.key_type
            ));
        }
        for m in t.maps() {
            rebuilt.push(format!(
                "add map {fam} kube-proxy {} {{ type {} : {} ;{} }}",
                m.name,
                m.key_type,
                m.value_type,
                m.comment
                    .map_or(String::new(), |c| format!(" comment \"{c}\" ;"))
            ));
        }
        for r in t.rules() {
            rebuilt.push(format!(
                "add rule {fam} kube-proxy {} {}{}",
                r.chain,
                r.rule,
                q(r.comment, " comment ")
            ));
        }
        for e in t.elements() {
            let value = e.value.map_or(String::new(), |v| format!(" : {v}"));
            assert_eq!(e.in_map, e.value.is_some(), "{}", e.key);
            rebuilt.push(format!(
                "add element {fam} kube-proxy {} {{ {}{}{value} }}",
                e.container,
                e.key_parts().collect::<Vec<_>>().join(" . "),
                q(e.comment, " comment ")
            ));
        }
        let text = t.text(Form::Load);
        assert_eq!(rebuilt.join("\n") + "\n", text, "{}", dir.display());
    }
}
