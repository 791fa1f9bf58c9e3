//! trace: packets walked through the rendered rules of conformance cases.

use std::path::Path;

use svccore::render::iptables::{render, Form, ProxierSettings};
use svccore::trace::{trace, Origin, Packet, TraceResult, Tracer, Verdict};

fn case(name: &str) -> (svccore::Cluster, ProxierSettings) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance/iptables")
        .join(name);
    let c = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
    let p = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
    let cluster = svccore::load::load_strs([(Some("cluster.json"), c.as_str())]).unwrap();
    let s = ProxierSettings::from_json_str(&p, None).unwrap();
    let s = s.resolve(&cluster).unwrap();
    (cluster, s)
}

fn run(name: &str, p: &Packet) -> TraceResult {
    let (cluster, s) = case(name);
    let rules = render(&cluster, &s, Form::Restore).unwrap();
    trace(&rules, &s, p).unwrap()
}

fn pkt(src: &str, dst: &str, port: u16, origin: Origin) -> Packet {
    Packet::new(src.parse().unwrap(), dst.parse().unwrap(), port, origin)
}

fn endpoints(t: &TraceResult) -> Vec<(String, String, bool)> {
    t.outcomes
        .iter()
        .map(|o| match &o.verdict {
            Verdict::Dnat { endpoint, .. } => (
                endpoint.clone(),
                o.probability.fraction.clone(),
                o.masquerade,
            ),
            v => panic!("expected DNAT, got {v:?}"),
        })
        .collect()
}

#[test]
fn cluster_ip_with_two_endpoints_splits_one_half_each() {
    let t = run(
        "overall",
        &pkt("10.0.3.3", "172.30.0.44", 80, Origin::LocalPod),
    );
    assert_eq!(
        endpoints(&t),
        vec![
            ("10.180.0.4:80".into(), "1/2".into(), false),
            ("10.180.0.5:80".into(), "1/2".into(), false),
        ]
    );
    assert_eq!(t.outcomes[0].probability.nominal, "1/2");
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

#[test]
fn host_traffic_to_cluster_ip_is_masqueraded() {
    let t = run(
        "overall",
        &pkt("192.168.0.2", "172.30.0.44", 80, Origin::Host),
    );
    assert!(t.outcomes.iter().all(|o| o.masquerade));
    assert_eq!(t.outcomes.len(), 2);
}

#[test]
fn three_endpoints_carry_the_kernel_quantisation() {
    let t = run(
        "affinity-3-endpoints-ready",
        &pkt("10.0.9.9", "172.30.1.1", 80, Origin::LocalPod),
    );
    let shares = t.endpoint_shares();
    assert_eq!(shares.len(), 3);
    // t = lround(0.3333333333 * 2^31) = 715827883; the first endpoint gets t / 2^31.
    assert_eq!(t.outcomes[0].probability.fraction, "715827883/2147483648");
    assert!(t.outcomes.iter().all(|o| o.probability.nominal == "1/3"));
    let sum: f64 = shares.iter().map(|(_, p)| p).sum();
    assert!((sum - 1.0).abs() < 1e-12);
    assert!((shares[0].1 - 0.333333333489).abs() < 1e-11);
}

#[test]
fn client_ip_affinity_follows_the_recent_list() {
    let (cluster, s) = case("affinity-3-endpoints-ready");
    let rules = render(&cluster, &s, Form::Restore).unwrap();
    let tracer = Tracer::new(&rules, &s).unwrap();
    let mut p = pkt("10.0.9.9", "172.30.1.1", 80, Origin::LocalPod);
    p.recent = vec!["KUBE-SEP-IO5XOSKPAXIFQXAJ".into()]; // 10.0.1.2:80
    let t = tracer.trace(&p).unwrap();
    assert_eq!(
        endpoints(&t),
        vec![("10.0.1.2:80".into(), "1".into(), false)]
    );
    assert!(t.outcomes[0]
        .steps
        .iter()
        .any(|s| s.text.contains("--rcheck")));
}

#[test]
fn etp_local_without_local_endpoints_drops_external_traffic() {
    // ns2/svc2: ETP Local, only a remote endpoint. LB IP and NodePort from outside: DROP.
    for (dst, port) in [
        ("1.2.3.4", 80),
        ("192.168.99.22", 80),
        ("192.168.0.2", 3001),
    ] {
        let t = run("overall", &pkt("203.0.113.50", dst, port, Origin::External));
        assert_eq!(t.outcomes.len(), 1, "{dst}");
        match &t.outcomes[0].verdict {
            Verdict::Drop { reason } => assert_eq!(reason, "ns2/svc2:p80 has no local endpoints"),
            v => panic!("{dst}:{port}: expected DROP, got {v:?}"),
        }
    }
    // ...while pod traffic to the same LB IP is short-circuited to the cluster chain.
    let t = run("overall", &pkt("10.0.3.3", "1.2.3.4", 80, Origin::LocalPod));
    assert_eq!(
        endpoints(&t),
        vec![("10.180.0.2:80".into(), "1".into(), false)]
    );
}

#[test]
fn service_without_endpoints_is_rejected() {
    let t = run(
        "overall",
        &pkt("10.0.3.3", "172.30.0.46", 80, Origin::LocalPod),
    );
    match &t.outcomes[0].verdict {
        Verdict::Reject { with, reason } => {
            assert_eq!(with, "icmp-port-unreachable");
            assert_eq!(reason, "ns6/svc6:p80 has no endpoints");
        }
        v => panic!("expected REJECT, got {v:?}"),
    }
}

#[test]
fn lb_source_ranges_allow_inside_and_drop_outside() {
    let t = run(
        "overall",
        &pkt("203.0.113.5", "5.6.7.8", 80, Origin::External),
    );
    assert_eq!(
        endpoints(&t),
        vec![("10.180.0.3:80".into(), "1".into(), true)]
    );
    let t = run(
        "overall",
        &pkt("198.51.100.1", "5.6.7.8", 80, Origin::External),
    );
    match &t.outcomes[0].verdict {
        Verdict::Drop { reason } => {
            assert_eq!(
                reason,
                "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C"
            )
        }
        v => panic!("expected DROP, got {v:?}"),
    }
}

#[test]
fn external_nodeport_traffic_is_masqueraded_under_etp_cluster() {
    let t = run(
        "overall",
        &pkt("203.0.113.50", "192.168.0.2", 3003, Origin::External),
    );
    assert_eq!(
        endpoints(&t),
        vec![("10.180.0.3:80".into(), "1".into(), true)]
    );
}

#[test]
fn itp_local_without_local_endpoints_drops_cluster_ip_traffic() {
    let (cluster, s) = case("itp-local-no-local-endpoints");
    let snap = svccore::snapshot::ProxySnapshot::build(&cluster, s.ip_family).unwrap();
    let cip = snap.ports[0].cluster_ip.to_string();
    let port = snap.ports[0].port;
    let t = run(
        "itp-local-no-local-endpoints",
        &pkt("10.0.3.3", &cip, port, Origin::LocalPod),
    );
    assert!(matches!(t.outcomes[0].verdict, Verdict::Drop { .. }));
}

#[test]
fn traces_the_save_form_like_the_restore_form() {
    let (cluster, s) = case("overall");
    let p = pkt("10.0.3.3", "172.30.0.44", 80, Origin::LocalPod);
    let a = trace(&render(&cluster, &s, Form::Restore).unwrap(), &s, &p).unwrap();
    let b = trace(&render(&cluster, &s, Form::Save).unwrap(), &s, &p).unwrap();
    assert_eq!(a.endpoint_shares(), b.endpoint_shares());
    assert_eq!(a.outcomes.len(), b.outcomes.len());
}

#[test]
fn ipv6_cluster_ip() {
    let (cluster, s) = case("ipv6-localhost-nodeports-enabled");
    let rules = render(&cluster, &s, Form::Restore).unwrap();
    let t = trace(
        &rules,
        &s,
        &pkt("fd00:10::5", "fd00:ab34::20", 80, Origin::LocalPod),
    )
    .unwrap();
    assert_eq!(
        endpoints(&t)
            .into_iter()
            .map(|(e, f, _)| (e, f))
            .collect::<Vec<_>>(),
        vec![
            ("[ff06::c1]:80".to_owned(), "1/2".to_owned()),
            ("[ff06::c2]:80".to_owned(), "1/2".to_owned())
        ]
    );
    let text = svccore::trace::render_text(&t);
    assert!(text.contains("DNAT to [ff06::c1]:80"));
    // serde: the result serialises.
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains("\"fraction\":\"1/2\""));
}
