//! Conformance: every case in tests/conformance/iptables renders (restore form) to exactly
//! kube-proxy's golden text after kube-proxy's test sort.

use crate::conformance_common;

use std::path::Path;

use sha2::{Digest, Sha256};
use svccore::render::iptables::names::{endpoint_chain, service_chain_suffix};
use svccore::render::iptables::{render, sort_like_kube_proxy_tests, Form, ProxierSettings};

fn render_case(dir: &Path, form: Form) -> String {
    let cluster_text = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
    let proxy_text = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&proxy_text, Some("proxy.json")).unwrap();
    render(&cluster, &settings, form).unwrap()
}

#[test]
fn every_case_matches_kube_proxy_goldens_byte_for_byte() {
    let cases = conformance_common::cases("iptables");
    assert!(!cases.is_empty(), "no conformance cases found");
    let mut failed = Vec::new();
    for dir in &cases {
        let got = sort_like_kube_proxy_tests(&render_case(dir, Form::Restore)).unwrap();
        let want = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        if got != want {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            eprintln!("=== {name}: got\n{got}=== want\n{want}");
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "failed cases: {failed:?}");
}

#[test]
fn goldens_are_already_in_sorted_form() {
    for dir in conformance_common::cases("iptables") {
        let want = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        assert_eq!(sort_like_kube_proxy_tests(&want).unwrap(), want);
    }
}

/// An independent RFC 4648 base32 (bit by bit) of sha256, for comparison.
fn reference_hash16(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits: Vec<u8> = digest
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    bits.chunks(5)
        .take(16)
        .map(|c| {
            let v = c.iter().fold(0usize, |a, &b| (a << 1) | b as usize);
            alphabet[v] as char
        })
        .collect()
}

#[test]
fn chain_names_equal_an_independent_sha256_base32() {
    // A small deterministic generator (no rand dependency): xorshift64.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let chars = b"abcdefghijklmnopqrstuvwxyz0123456789-";
    for _ in 0..500 {
        let mut word = |n: usize| -> String {
            (0..n)
                .map(|_| chars[(next() % chars.len() as u64) as usize] as char)
                .collect()
        };
        let spn = format!("{}/{}:{}", word(5), word(9), word(3));
        let proto = ["tcp", "udp", "sctp"][(next() % 3) as usize];
        let ep = format!(
            "10.{}.{}.{}:{}",
            next() % 256,
            next() % 256,
            next() % 256,
            next() % 65535 + 1
        );
        assert_eq!(
            service_chain_suffix(&spn, proto),
            reference_hash16(&format!("{spn}{proto}"))
        );
        assert_eq!(
            endpoint_chain(&spn, proto, &ep),
            format!(
                "KUBE-SEP-{}",
                reference_hash16(&format!("{spn}{proto}{ep}"))
            )
        );
    }
}

#[test]
fn spec_worked_hash_table() {
    let svc = [
        ("ns1/svc1:p80", "tcp", "XPGD46QRK7WJZT7O"),
        ("ns1/svc1", "tcp", "AQI2S6QIMU7PVVRP"),
        ("ns2/svc2:p80", "tcp", "GNZBNJ2PO5MGZ6GT"),
        ("ns3/svc3:p80", "tcp", "X27LE4BHSL4DOUIK"),
        ("ns4/svc4:p80", "tcp", "4SW47YFZTEDKD3PK"),
        ("ns5/svc5:p80", "tcp", "NUKIZ6OKUXPJNT4C"),
        ("ns2/svc2:p8080", "tcp", "2VJB64SDSIJUP5T6"),
        ("default/kubernetes:https", "tcp", "NPX46M4PTMTKRN6Y"),
        ("kube-system/kube-dns:dns", "udp", "TCOU7JCQXEZGVUNU"),
        ("kube-system/kube-dns:dns-tcp", "tcp", "ERIFXISQEP7F7OF4"),
        ("ns1/svc1:p80", "udp", "OJWW7NSBVZTDHXNW"),
        ("ns1/svc1:p80", "sctp", "GFCIFIA5VTFSTMSM"),
    ];
    for (spn, proto, want) in svc {
        assert_eq!(service_chain_suffix(spn, proto), want, "{spn}{proto}");
    }
    let sep = [
        ("ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
        ("ns1/svc1", "10.0.1.1:80", "KUBE-SEP-3JOIVZTXZZRGORX4"),
        (
            "ns1/svc1:p80",
            "[fd00:10:180::1]:80",
            "KUBE-SEP-OGYCNMB4EMRUSJ6N",
        ),
    ];
    for (spn, ep, want) in sep {
        assert_eq!(endpoint_chain(spn, "tcp", ep), want);
    }
}

/// The save form is read from the rules as they are written (no text in between): for every
/// case, that model equals what the independent text parser reads from the restore payload, and
/// the save text equals the one printed from the parsed payload and jump rules.
#[test]
fn save_form_model_equals_the_parsed_restore_payload() {
    use svccore::netfilter::{save_text, Dump, SaveStyle};
    use svccore::render::iptables::{jump_rules, restore_dump};
    use svccore::snapshot::ProxySnapshot;
    for dir in conformance_common::cases("iptables") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let cluster_text = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
        let proxy_text = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
        let cluster =
            svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
        let settings = ProxierSettings::from_json_str(&proxy_text, Some("proxy.json"))
            .unwrap()
            .resolve(&cluster)
            .unwrap();
        let v6 = settings.ip_family == svccore::model::IpFamily::IPv6;
        let snap = ProxySnapshot::build(&cluster, settings.ip_family).unwrap();
        let node = settings.node.context();
        let built = restore_dump(&snap, &settings, &node).unwrap();
        let parsed = Dump::parse(&render_case(&dir, Form::Restore), None, v6).unwrap();
        assert_eq!(
            built, parsed,
            "{name}: model differs from the parsed payload"
        );
        let jumps = Dump::parse(&jump_rules(&settings), None, v6).unwrap();
        let style = SaveStyle {
            ipv6: v6,
            ..SaveStyle::default()
        };
        assert_eq!(
            render_case(&dir, Form::Save),
            save_text(&[&jumps, &parsed], &style),
            "{name}: save text differs from the one printed from the parsed payload"
        );
    }
}
