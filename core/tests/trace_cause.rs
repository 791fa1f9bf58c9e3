//! Drop and reject causes in a trace (`Outcome::cause`): kube-proxy's reason from the node's
//! plan, beside the rule that acted, in every mode that drops.

use svccore::model::IpFamily;
use svccore::proxier::config::{ProxierSettings, ProxyMode};
use svccore::trace::{render_text, trace_mode, Origin, Packet, TraceResult, Verdict};
use svccore::{Cluster, Loader};

fn example(name: &str) -> Cluster {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let mut l = Loader::new();
    l.add_str(Some(name), &std::fs::read_to_string(p).unwrap())
        .unwrap();
    l.finish().unwrap()
}

fn trace(c: &Cluster, mode: ProxyMode, node: &str, src: &str, dst: &str, port: u16) -> TraceResult {
    let s = ProxierSettings::from_cluster(c, node, IpFamily::IPv4).unwrap();
    let p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        port,
        Origin::External,
    );
    trace_mode(mode, c, &s, &p).unwrap()
}

const NO_LOCAL: &str = "study/service-loadbalancer has no local endpoints: externalTrafficPolicy \
                        is Local and node master has no local endpoint";

#[test]
fn etp_local_load_balancer_without_local_endpoint_names_the_policy_and_the_rule() {
    // The issue's case: master has no nginx pod; 192.168.100.9 is inside the source ranges.
    let c = example("nginx-study.yaml");
    let t = trace(
        &c,
        ProxyMode::Iptables,
        "master",
        "192.168.100.9",
        "10.101.135.10",
        80,
    );
    assert_eq!(t.outcomes.len(), 1);
    let o = &t.outcomes[0];
    assert_eq!(o.cause.as_deref(), Some(NO_LOCAL));
    assert_eq!(
        o.verdict,
        Verdict::Drop {
            reason: "study/service-loadbalancer traffic not accepted by KUBE-FW-VCL2J7QMJCOSZ3LO"
                .into()
        }
    );
    let text = render_text(&t);
    assert!(
        text.contains(&format!("[1] DROPPED: {NO_LOCAL} with probability 1 ")),
        "{text}"
    );
    assert!(text.contains(
        "\n    by the rule \"study/service-loadbalancer traffic not accepted by \
         KUBE-FW-VCL2J7QMJCOSZ3LO\"\n"
    ));
    // nftables: the same cause, and the same plan decision behind its own rule.
    let t = trace(
        &c,
        ProxyMode::Nftables,
        "master",
        "192.168.100.9",
        "10.101.135.10",
        80,
    );
    assert_eq!(t.outcomes[0].cause.as_deref(), Some(NO_LOCAL));
    assert!(matches!(t.outcomes[0].verdict, Verdict::Drop { .. }));
    // The node port on master's address: the same refusal.
    let t = trace(
        &c,
        ProxyMode::Iptables,
        "master",
        "203.0.113.7",
        "192.168.100.53",
        31426,
    );
    assert_eq!(t.outcomes[0].cause.as_deref(), Some(NO_LOCAL));
}

#[test]
fn a_source_outside_the_ranges_is_the_cause_before_the_policy() {
    let c = example("nginx-study.yaml");
    let want = "192.168.1.9 is not in the loadBalancerSourceRanges of study/service-loadbalancer \
                (10.101.0.0/16, 192.168.100.0/24)";
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables] {
        let t = trace(&c, mode, "master", "192.168.1.9", "10.101.135.10", 80);
        assert_eq!(t.outcomes[0].cause.as_deref(), Some(want), "{mode:?}");
        // node1 has a local endpoint: the source range alone refuses.
        let t = trace(&c, mode, "node1", "192.168.1.9", "10.101.135.10", 80);
        assert_eq!(t.outcomes[0].cause.as_deref(), Some(want), "{mode:?}");
    }
}

#[test]
fn served_traffic_has_no_cause() {
    let c = example("nginx-study.yaml");
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables, ProxyMode::Ipvs] {
        let t = trace(&c, mode, "node1", "192.168.100.9", "10.101.135.10", 80);
        assert!(!t.outcomes.is_empty());
        for o in &t.outcomes {
            assert!(matches!(o.verdict, Verdict::Dnat { .. }), "{mode:?} {o:?}");
            assert_eq!(o.cause, None);
        }
    }
}

#[test]
fn no_endpoints_rejects_with_kube_proxys_reason() {
    let mut l = Loader::new();
    l.add_str(
        None,
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},
            "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}"#,
    )
    .unwrap();
    let c = l.finish().unwrap();
    let want = "shop/web has no endpoints: no endpoint of it is ready, nor serving while \
                terminating";
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables] {
        let t = trace(&c, mode, "n", "10.1.0.9", "10.96.0.10", 80);
        let o = &t.outcomes[0];
        assert!(
            matches!(&o.verdict, Verdict::Reject { reason, .. } if reason == "shop/web has no endpoints"),
            "{mode:?} {o:?}"
        );
        assert_eq!(o.cause.as_deref(), Some(want), "{mode:?}");
        // The rule's comment is the cause's first half: not repeated.
        assert!(!render_text(&t).contains("by the rule"));
    }
}
