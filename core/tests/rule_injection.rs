//! Rule injection: hostile strings (quotes, newlines, `-j ACCEPT`, `;`, `}`, `#`) in every
//! object field that reaches rule text or comments (namespace, Service name, port name,
//! EndpointSlice name) either get the input refused with an error or render exactly the rules
//! the same objects ask for with harmless names. The rendered iptables and nftables text is
//! parsed back and its rules (per chain kind, by target) compared with the harmless render,
//! which is itself checked against the plan's shape (a ClusterIP and a NodePort, two endpoints).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;
use svccore::netfilter::{Dump, Target};
use svccore::proxier::config::ProxierSettings;
use svccore::render::nftables::{parse::parse_listing, Family};
use svccore::render::{iptables, nftables};

/// One Service of type NodePort with two ready endpoints on a node, named by the arguments.
fn cluster_json(ns: &str, name: &str, port: &str, slice: &str) -> String {
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": ns},
         "spec": {"type": "NodePort", "clusterIP": "172.30.0.41", "clusterIPs": ["172.30.0.41"],
                  "ipFamilies": ["IPv4"],
                  "ports": [{"name": port, "protocol": "TCP", "port": 80, "targetPort": 80,
                             "nodePort": 30080}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": slice, "namespace": ns,
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.0.1.1"], "conditions": {"ready": true}},
                       {"addresses": ["10.0.1.2"], "conditions": {"ready": true}}],
         "ports": [{"name": port, "port": 80, "protocol": "TCP"}]},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "test-node"},
         "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.2"}]}}
    ]})
    .to_string()
}

fn settings() -> ProxierSettings {
    ProxierSettings::from_json_str(
        r#"{"nodeName": "test-node", "nodeIPs": ["192.168.0.2"], "clusterCIDR": "10.0.0.0/8"}"#,
        None,
    )
    .unwrap()
}

/// A kube-proxy chain name without its per-service part: `KUBE-SVC-ABC…` → `KUBE-SVC`,
/// `service-ABC-ns/name/tcp/p` → `service`.
fn chain_kind(c: &str) -> String {
    for p in [
        "KUBE-SVC-",
        "KUBE-SEP-",
        "KUBE-EXT-",
        "KUBE-SVL-",
        "KUBE-FW-",
    ] {
        if c.starts_with(p) {
            return p.trim_end_matches('-').to_string();
        }
    }
    for p in ["service-", "endpoint-", "external-", "firewall-"] {
        if c.starts_with(p) {
            return p.trim_end_matches('-').to_string();
        }
    }
    c.to_string()
}

/// `(table, chain kind, target kind)` → count, from `iptables-save` text.
fn iptables_shape(text: &str) -> BTreeMap<(String, String, String), usize> {
    let d = Dump::parse(text, Some("render"), false).expect("rendered text parses back");
    let mut m = BTreeMap::new();
    for t in &d.tables {
        for r in &t.rules {
            let target = match &r.target {
                Target::None => "none".to_string(),
                Target::Jump { chain } => chain_kind(chain),
                other => format!("{other:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap()
                    .to_string(),
            };
            *m.entry((t.name.clone(), chain_kind(&r.chain), target))
                .or_insert(0) += 1;
        }
    }
    m
}

/// Verdict words of an nft rule outside its comment.
const VERDICTS: &[&str] = &[
    "accept",
    "drop",
    "reject",
    "return",
    "jump",
    "goto",
    "masquerade",
    "dnat",
    "snat",
    "vmap",
];

/// `(chain kind, verdict words)` → count, from `nft list` text.
fn nft_shape(text: &str) -> BTreeMap<(String, String), usize> {
    let t = parse_listing(text, Some("render"), Family::Ip).expect("rendered listing parses back");
    assert!(t.found, "no kube-proxy table in\n{text}");
    let mut m = BTreeMap::new();
    for c in &t.chains {
        for r in &c.rules {
            let words: Vec<&str> = r
                .text
                .split_whitespace()
                .filter(|w| VERDICTS.contains(w))
                .collect();
            *m.entry((chain_kind(&c.name), words.join(" "))).or_insert(0) += 1;
        }
    }
    m
}

struct Shapes {
    iptables: BTreeMap<(String, String, String), usize>,
    nft: BTreeMap<(String, String), usize>,
}

/// Renders both backends, or `None` when the input is refused (an error, not a panic).
fn render(ns: &str, name: &str, port: &str, slice: &str) -> Option<Shapes> {
    let text = cluster_json(ns, name, port, slice);
    let c = svccore::load::load_strs([(Some("hostile.json"), text.as_str())]).ok()?;
    let s = settings();
    let ipt = iptables::render(&c, &s, iptables::Form::Save).ok()?;
    let nft = nftables::render(&c, &s, nftables::Form::List).ok()?;
    Some(Shapes {
        iptables: iptables_shape(&ipt),
        nft: nft_shape(&nft),
    })
}

fn harmless() -> Shapes {
    render("ns1", "svc1", "p80", "svc1-abc").expect("the harmless cluster renders")
}

#[test]
fn harmless_render_has_the_plans_rules() {
    let h = harmless();
    let n = |t: &str, c: &str, j: &str| {
        h.iptables
            .get(&(t.to_string(), c.to_string(), j.to_string()))
            .copied()
            .unwrap_or(0)
    };
    // Two endpoints: two KUBE-SEP chains with a DNAT each; the service chain jumps to both.
    assert_eq!(n("nat", "KUBE-SEP", "Dnat"), 2, "{:#?}", h.iptables);
    assert_eq!(n("nat", "KUBE-SVC", "KUBE-SEP"), 2, "{:#?}", h.iptables);
    // KUBE-SERVICES jumps to the service chain for the ClusterIP; KUBE-NODEPORTS to KUBE-EXT.
    assert_eq!(
        n("nat", "KUBE-SERVICES", "KUBE-SVC"),
        1,
        "{:#?}",
        h.iptables
    );
    assert_eq!(
        n("nat", "KUBE-NODEPORTS", "KUBE-EXT"),
        1,
        "{:#?}",
        h.iptables
    );
    let e = |c: &str| {
        h.nft
            .iter()
            .filter(|((k, _), _)| k == c)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert!(e("endpoint") >= 2, "{:#?}", h.nft);
    assert!(e("service") >= 1, "{:#?}", h.nft);
}

/// Fragments that break out of a quoted comment, a line, a rule or an nft block.
const HOSTILE: &[&str] = &[
    "\"",
    "'",
    "\n",
    "\r",
    " -j ACCEPT",
    "-A KUBE-SERVICES -j ACCEPT",
    ";",
    "}",
    "{",
    "#",
    " accept",
    "\ncommit\n",
    "COMMIT",
    "\\",
    "*filter",
    " counter accept }",
    "a",
    "ns1",
    "/",
    ":",
    " ",
    "\t",
    "\u{0}",
    "é",
];

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HOSTILE), 0..6).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn hostile_names_render_no_rule_the_objects_did_not_ask_for(
        ns in hostile(), name in hostile(), port in hostile(), slice in hostile(),
        which in 0usize..4,
    ) {
        // One hostile field at a time next to harmless ones, then all four at once.
        let mut f = ["ns1".to_string(), "svc1".into(), "p80".into(), "svc1-abc".into()];
        if which < 4 {
            f[which] = [ns.clone(), name.clone(), port.clone(), slice.clone()][which].clone();
        }
        for (a, b, c, d) in [(&f[0], &f[1], &f[2], &f[3]), (&ns, &name, &port, &slice)] {
            if let Some(s) = render(a, b, c, d) {
                let h = harmless();
                prop_assert_eq!(&s.iptables, &h.iptables, "iptables rules differ for {:?}", (a, b, c, d));
                prop_assert_eq!(&s.nft, &h.nft, "nftables rules differ for {:?}", (a, b, c, d));
            }
        }
    }
}

#[test]
fn names_that_reach_rule_text_are_refused_with_their_path() {
    let fields = [
        "items[0].metadata.namespace: ",
        "items[0].metadata.name: ",
        "items[0].spec.ports[0].name: ",
    ];
    for f in HOSTILE.iter().filter(|f| !["a", "ns1"].contains(f)) {
        for (which, path) in fields.iter().enumerate() {
            let mut v = [
                "ns1".to_string(),
                "svc1".into(),
                "p80".into(),
                "svc1-abc".into(),
            ];
            v[which] = format!("x{f}");
            let text = cluster_json(&v[0], &v[1], &v[2], &v[3]);
            let c = svccore::load::load_strs([(Some("hostile.json"), text.as_str())]).unwrap();
            let e1 = iptables::render(&c, &settings(), iptables::Form::Save).unwrap_err();
            let e2 = nftables::render(&c, &settings(), nftables::Form::List).unwrap_err();
            for e in [e1.to_string(), e2.to_string()] {
                assert!(
                    e.starts_with(&format!("invalid object: hostile.json: {path}")),
                    "{f:?} in field {which}: {e}"
                );
            }
        }
    }
}
