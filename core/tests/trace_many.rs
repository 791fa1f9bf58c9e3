//! Tracing many packets with the rules read once ([`NodeTracer`], [`trace_many`]) gives what a
//! fresh single trace ([`trace_mode`]) gives, packet by packet, in every mode, on every
//! conformance case and example.

use crate::conformance_common;

use std::net::IpAddr;
use std::path::Path;

use svccore::model::IpFamily;
use svccore::proxier::config::{ProxierSettings, ProxyMode};
use svccore::snapshot::ProxySnapshot;
use svccore::trace::{trace_many, trace_mode, NodeTracer, Origin, Packet};

const MODES: [ProxyMode; 3] = [ProxyMode::Iptables, ProxyMode::Nftables, ProxyMode::Ipvs];
const ORIGINS: [Origin; 4] = [
    Origin::LocalPod,
    Origin::OtherNode,
    Origin::External,
    Origin::Host,
];

/// Every address a service port is reachable on (cluster IP, node port on the node's IPs,
/// external and load-balancer IPs) from every origin, a hairpin from its first endpoint, and
/// one destination no service has.
fn packets(cluster: &svccore::Cluster, settings: &ProxierSettings) -> Vec<Packet> {
    let family = settings.ip_family;
    let snap = ProxySnapshot::build(cluster, family).unwrap();
    let v6 = family == IpFamily::IPv6;
    let ip = |s4: &str, s6: &str| -> IpAddr { if v6 { s6 } else { s4 }.parse().unwrap() };
    let src = ip("10.244.0.5", "fd00:10:244::5");
    let mut node_ips: Vec<IpAddr> = (settings.node.ips.iter())
        .filter(|ip| IpFamily::of(ip) == family)
        .copied()
        .collect();
    if node_ips.is_empty() {
        node_ips.push(ip("192.168.0.10", "fd00:192:168::10"));
    }
    let mut out = Vec::new();
    let mut add = |src: IpAddr, dst: IpAddr, port: u16, proto, origin| {
        let mut p = Packet::new(src, dst, port, origin);
        p.protocol = proto;
        out.push(p);
    };
    for v in &snap.ports {
        let mut dsts = vec![(v.cluster_ip, v.port)];
        if v.node_port != 0 {
            dsts.extend(node_ips.iter().map(|ip| (*ip, v.node_port)));
        }
        dsts.extend(v.external_ips.iter().map(|ip| (*ip, v.port)));
        dsts.extend(v.lb_ips.iter().map(|ip| (*ip, v.port)));
        for (dst, port) in dsts {
            for origin in ORIGINS {
                add(src, dst, port, v.protocol.clone(), origin);
            }
        }
        if let Some(ep) = v.endpoints.first() {
            add(
                ep.ip,
                v.cluster_ip,
                v.port,
                v.protocol.clone(),
                Origin::LocalPod,
            );
        }
    }
    add(
        src,
        ip("10.99.99.99", "fd00:99::99"),
        9,
        svccore::model::Protocol::Udp,
        Origin::LocalPod,
    );
    out
}

/// Checks every mode on one cluster and its settings; returns how many traces were compared.
fn check(name: &str, cluster: &svccore::Cluster, settings: &ProxierSettings) -> usize {
    let packets = packets(cluster, settings);
    let mut compared = 0;
    for mode in MODES {
        let Ok(tracer) = NodeTracer::new(mode, cluster, settings) else {
            // The mode refuses these settings: a single trace must refuse them too.
            for p in &packets {
                assert!(
                    trace_mode(mode, cluster, settings, p).is_err(),
                    "{name} {mode:?}"
                );
            }
            continue;
        };
        let many = trace_many(mode, cluster, settings, &packets).unwrap();
        assert_eq!(many.len(), packets.len());
        for (i, p) in packets.iter().enumerate() {
            let single = trace_mode(mode, cluster, settings, p).unwrap();
            assert_eq!(many[i], single, "{name} {mode:?} packet {i} {p:?}");
            assert_eq!(tracer.trace(p).unwrap(), single, "{name} {mode:?} {p:?}");
            compared += 1;
        }
        // A packet of the other family is refused the same way.
        let other: IpAddr = if settings.ip_family == IpFamily::IPv6 {
            "10.0.0.1".parse().unwrap()
        } else {
            "fd00::1".parse().unwrap()
        };
        let bad = Packet::new(other, other, 80, Origin::LocalPod);
        assert_eq!(
            tracer.trace(&bad).unwrap_err().to_string(),
            trace_mode(mode, cluster, settings, &bad)
                .unwrap_err()
                .to_string()
        );
    }
    compared
}

#[test]
fn every_conformance_case_traces_the_same_with_the_rules_read_once() {
    let mut compared = 0;
    for mode in ["iptables", "nftables"] {
        for case in conformance_common::cases(mode) {
            let text = std::fs::read_to_string(case.join("cluster.json")).unwrap();
            let cluster =
                svccore::load::load_strs([(Some("cluster.json"), text.as_str())]).unwrap();
            let proxy = std::fs::read_to_string(case.join("proxy.json")).unwrap();
            let settings = ProxierSettings::from_json_str(&proxy, Some("proxy.json")).unwrap();
            compared += check(&case.display().to_string(), &cluster, &settings);
        }
    }
    assert!(compared > 1000, "only {compared} traces compared");
}

#[test]
fn every_example_traces_the_same_with_the_rules_read_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "json")
        ) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let cluster = svccore::load::load_strs([(Some(name.as_str()), text.as_str())]).unwrap();
        for family in [IpFamily::IPv4, IpFamily::IPv6] {
            let settings = ProxierSettings::from_cluster(&cluster, "node-a", family).unwrap();
            assert!(check(&name, &cluster, &settings) > 0, "{name} {family:?}");
        }
        seen += 1;
    }
    assert!(seen >= 3, "only {seen} examples");
}

#[test]
fn a_refused_packet_is_named_by_its_index() {
    let cluster =
        svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[]}"#)])
            .unwrap();
    let ok = Packet::new(
        "10.0.0.1".parse().unwrap(),
        "10.0.0.2".parse().unwrap(),
        80,
        Origin::LocalPod,
    );
    let v6: IpAddr = "fd00::1".parse().unwrap();
    let bad = Packet::new(v6, v6, 80, Origin::LocalPod);
    for mode in MODES {
        let e = trace_many(
            mode,
            &cluster,
            &ProxierSettings::default(),
            &[ok.clone(), bad.clone()],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("packet 1: "), "{mode:?}: {e}");
    }
}
