//! `trace` in userspace mode: the portal rule that sends the packet to the proxy (the rules
//! svccore renders, walked from PREROUTING or OUTPUT), then the endpoint the proxy's
//! `LoadBalancerRR` dials.

use svccore::load::load_strs;
use svccore::proxier::config::{ProxierSettings, ProxyMode};
use svccore::trace::{render_text, trace_many, trace_mode, Origin, Packet, Verdict};
use svccore::Cluster;

fn cluster() -> Cluster {
    let text = include_str!("userspace_data/cluster.yaml");
    load_strs([(Some("cluster.yaml"), text)]).unwrap()
}

fn settings() -> ProxierSettings {
    ProxierSettings::from_json_str(
        r#"{"nodeName": "node-a", "userspace": {"portRange": "36000-36009"}}"#,
        None,
    )
    .unwrap()
}

fn packet(dst: &str, port: u16, origin: Origin) -> Packet {
    let src = if origin == Origin::Host {
        "192.168.0.10"
    } else {
        "10.244.1.9"
    };
    Packet::new(src.parse().unwrap(), dst.parse().unwrap(), port, origin)
}

fn trace(p: &Packet) -> svccore::trace::TraceResult {
    trace_mode(ProxyMode::Userspace, &cluster(), &settings(), p).unwrap()
}

#[test]
fn pod_to_cluster_ip_is_redirected_then_balanced_over_ready_endpoints() {
    let t = trace(&packet("10.96.1.1", 80, Origin::LocalPod));
    // Two ready endpoints (the third is not ready): two outcomes of 1/2.
    assert_eq!(t.outcomes.len(), 2);
    let mut eps: Vec<String> = Vec::new();
    for o in &t.outcomes {
        assert_eq!(o.probability.fraction, "1/2");
        assert!(o.masquerade, "the proxy dials from the node");
        let Verdict::Dnat { endpoint, chain } = &o.verdict else {
            panic!("{:?}", o.verdict)
        };
        assert_eq!(chain, "proxy tcp port 36003");
        eps.push(endpoint.clone());
        let s = &o.steps;
        assert_eq!((s[0].chain.as_ref(), s[0].rule), ("PREROUTING", 1));
        assert_eq!(s[0].effect.as_ref(), "jump KUBE-PORTALS-CONTAINER");
        assert_eq!(
            (s[1].chain.as_ref(), s[1].rule),
            ("KUBE-PORTALS-CONTAINER", 5)
        );
        assert_eq!(
            s[1].text.as_ref(),
            "-A KUBE-PORTALS-CONTAINER -d 10.96.1.1/32 -p tcp -m comment --comment \"shop/web:http\" -m tcp --dport 80 -j REDIRECT --to-ports 36003"
        );
        assert_eq!(
            s[1].effect.as_ref(),
            "REDIRECT to the proxy port 36003 of shop/web:http"
        );
        assert_eq!(s[2].table.as_ref(), "proxy");
        assert!(s[2].effect.contains("round robin"), "{}", s[2].effect);
    }
    eps.sort();
    assert_eq!(eps, ["10.244.1.5:8080", "10.244.2.6:8080"]);
    let text = render_text(&t);
    assert!(text.contains("KUBE-PORTALS-CONTAINER"), "{text}");
}

#[test]
fn node_traffic_takes_the_host_chains() {
    let t = trace(&packet("10.96.1.1", 80, Origin::Host));
    let s = &t.outcomes[0].steps;
    assert_eq!(
        (s[0].chain.as_ref(), s[0].effect.as_ref()),
        ("OUTPUT", "jump KUBE-PORTALS-HOST")
    );
    assert_eq!(s[1].chain.as_ref(), "KUBE-PORTALS-HOST");
    assert!(s[1]
        .text
        .ends_with("-j DNAT --to-destination 192.168.0.10:36003"));
    // The node port from the node: through KUBE-PORTALS-HOST without a match, then OUTPUT's
    // second jump (dst-type LOCAL) to KUBE-NODEPORT-HOST.
    let t = trace(&packet("192.168.0.10", 30080, Origin::Host));
    let s: Vec<(&str, usize)> = t.outcomes[0]
        .steps
        .iter()
        .map(|s| (s.chain.as_ref(), s.rule))
        .collect();
    assert_eq!(
        s[..3],
        [("OUTPUT", 1), ("OUTPUT", 2), ("KUBE-NODEPORT-HOST", 2)]
    );
}

#[test]
fn external_ip_and_node_port_from_outside_reach_the_proxy() {
    let mut p = packet("203.0.113.7", 80, Origin::External);
    p.src = "198.18.0.1".parse().unwrap();
    let t = trace(&p);
    let s = &t.outcomes[0].steps;
    assert_eq!(
        (s[1].chain.as_ref(), s[1].rule),
        ("KUBE-PORTALS-CONTAINER", 6)
    );
    assert!(s[1].text.contains("-m physdev ! --physdev-is-in"));
    p.dst = "192.168.0.10".parse().unwrap();
    p.dst_port = 30080;
    let t = trace(&p);
    let s = &t.outcomes[0].steps;
    assert_eq!((s[1].chain.as_ref(), s[1].rule), ("PREROUTING", 2));
    assert_eq!(s[2].chain.as_ref(), "KUBE-NODEPORT-CONTAINER");
    assert_eq!(t.outcomes.len(), 2);
}

#[test]
fn a_service_without_endpoints_is_closed_by_the_proxy_and_others_pass() {
    let t = trace(&packet("10.96.2.2", 443, Origin::LocalPod));
    assert_eq!(t.outcomes.len(), 1);
    assert_eq!(
        t.outcomes[0].verdict,
        Verdict::Reject {
            with: "closed by the proxy".into(),
            reason: "shop/lb has no endpoints".into()
        }
    );
    let t = trace(&packet("10.96.9.9", 80, Origin::LocalPod));
    // Not a portal: through KUBE-PORTALS-CONTAINER without a match, delivered as addressed.
    assert_eq!(t.outcomes[0].verdict, Verdict::Accept);
    assert_eq!(t.outcomes[0].steps.len(), 1);
}

#[test]
fn node_tracer_gives_what_trace_mode_gives() {
    let packets = [
        packet("10.96.1.1", 80, Origin::LocalPod),
        packet("10.96.0.10", 53, Origin::Host),
    ];
    let many = trace_many(ProxyMode::Userspace, &cluster(), &settings(), &packets).unwrap();
    for (p, t) in packets.iter().zip(&many) {
        assert_eq!(&trace(p), t);
    }
}
