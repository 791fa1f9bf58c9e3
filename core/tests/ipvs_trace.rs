//! `trace::trace_ipvs_node`: the virtual server a packet hits on a node, its real servers, and the
//! one the scheduler picks for the client (with persistence under ClientIP affinity).

use std::net::SocketAddr;

use svccore::model::{IpFamily, Protocol};
use svccore::proxier::config::ProxierSettings;
use svccore::render::ipvs::IpvsNode;
use svccore::select::ipvs::Scheduler;
use svccore::select::{AffinityKind, Backend, Balancer, Connection, Options};
use svccore::snapshot::ProxySnapshot;
use svccore::trace::{trace_ipvs_node, Origin, Packet};
use svccore::{Cluster, Error, Loader};

fn example(name: &str) -> Cluster {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    let mut l = Loader::new();
    l.add_str(Some(name), &std::fs::read_to_string(p).unwrap())
        .unwrap();
    l.finish().unwrap()
}

fn node(c: &Cluster, name: &str, scheduler: Option<&str>) -> IpvsNode {
    let mut s = ProxierSettings::from_cluster(c, name, IpFamily::IPv4).unwrap();
    if let Some(sch) = scheduler {
        s.ipvs.scheduler = Scheduler::parse(sch).unwrap();
    }
    let snap = ProxySnapshot::build(c, IpFamily::IPv4).unwrap();
    IpvsNode::build(&snap, &s, None).unwrap()
}

fn insertion_order(n: &IpvsNode, p: &Packet) -> Vec<Backend> {
    n.lookup(&p.protocol, p.dst, p.dst_port)
        .unwrap()
        .real_servers
        .iter()
        .rev()
        .map(|r| Backend::new(r.addr, r.weight as u32))
        .collect()
}

fn packet(src: &str, dst: &str, port: u16) -> Packet {
    Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        port,
        Origin::LocalPod,
    )
}

#[test]
fn rr_picks_the_newest_real_server_and_shares_are_even() {
    let c = example("nginx-study.yaml");
    let n = node(&c, "node2", None);
    let t = trace_ipvs_node(&n, &packet("10.244.2.9", "10.108.12.40", 80), 40000).unwrap();
    let vs = t.lookup.as_ref().expect("a virtual server");
    assert_eq!(vs.kind, "cluster-ip");
    assert_eq!(vs.scheduler, "rr");
    assert_eq!(vs.service_port_name, "study/service-loadbalancer");
    assert_eq!(vs.real_servers.len(), 3);
    // rr starts at the kernel's first real server: the newest, added last (ascending order).
    let newest = vs.real_servers.iter().map(|r| r.address.as_str()).max();
    assert_eq!(t.pick.as_deref(), newest);
    let i = t.pick_index.unwrap();
    assert_eq!(Some(vs.real_servers[i].address.as_str()), newest);
    assert_eq!(t.shares, vec![1.0 / 3.0; 3]);
    assert_eq!(t.node, "node2");
    assert!(t.note.contains("rr picks it"), "{}", t.note);
}

#[test]
fn hash_schedulers_pick_what_the_balancer_picks_for_that_client() {
    let c = example("nginx-study.yaml");
    for sch in ["sh", "mh", "dh"] {
        let n = node(&c, "node1", Some(sch));
        for src in ["10.244.1.7", "192.0.2.44", "198.51.100.3"] {
            let p = packet(src, "10.97.97.97", 80);
            let t = trace_ipvs_node(&n, &p, 51234).unwrap();
            let vs = t.lookup.as_ref().unwrap();
            // The balancer over the insertion order (the kernel list reversed), by hand.
            let backends = insertion_order(&n, &p);
            let opts = Options {
                flags: vs.flags.parse().unwrap(),
                ..Options::default()
            };
            let mut b = Balancer::new(sch.parse().unwrap(), &backends, &opts).unwrap();
            let conn = Connection {
                client: p.src,
                client_port: 51234,
                dst: Some(SocketAddr::new(p.dst, 80)),
                now: 0.0,
            };
            let want = b.pick(&conn).map(|i| backends[i].addr.to_string());
            assert_eq!(t.pick, want, "{sch} from {src}");
            assert!(t.pick.is_some(), "{sch} from {src}");
            // Deterministic: the same client gets the same answer.
            assert_eq!(trace_ipvs_node(&n, &p, 51234).unwrap().pick, t.pick);
        }
    }
}

#[test]
fn client_ip_affinity_is_ipvs_persistence() {
    let c = example("nginx-affinity.yaml");
    let n = node(&c, "node1", None);
    let p = packet("10.244.1.7", "10.97.97.97", 80);
    let t = trace_ipvs_node(&n, &p, 40000).unwrap();
    let vs = t.lookup.as_ref().unwrap();
    assert_eq!(vs.persistent_seconds, Some(10800));
    assert!(t.note.contains("persistence 10800s"), "{}", t.note);
    // What a persistent rr balancer gives the client, first and later.
    let backends = insertion_order(&n, &p);
    let mut b = Balancer::new(
        "rr".parse().unwrap(),
        &backends,
        &Options {
            affinity_timeout: Some(10800),
            affinity_kind: Some(AffinityKind::Persistence),
            ..Options::default()
        },
    )
    .unwrap();
    let first = b.pick(&Connection::new(p.src, 40000, 0.0)).unwrap();
    assert_eq!(t.pick, Some(backends[first].addr.to_string()));
    assert_eq!(b.pick(&Connection::new(p.src, 40001, 60.0)), Some(first));
}

#[test]
fn no_virtual_server_means_ipvs_does_not_balance_it() {
    let c = example("nginx-study.yaml");
    let n = node(&c, "node1", None);
    let t = trace_ipvs_node(&n, &packet("10.244.1.7", "10.97.97.97", 81), 0).unwrap();
    assert!(t.lookup.is_none());
    assert_eq!(t.pick, None);
    assert!(t.note.contains("no virtual server"), "{}", t.note);
    let mut udp = packet("10.244.1.7", "10.97.97.97", 80);
    udp.protocol = Protocol::Udp;
    assert!(trace_ipvs_node(&n, &udp, 0).unwrap().lookup.is_none());
}

#[test]
fn a_packet_of_the_other_family_is_refused() {
    let c = example("nginx-study.yaml");
    let n = node(&c, "node1", None);
    let e = trace_ipvs_node(&n, &packet("fd00::1", "fd00::2", 80), 0).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
}

#[test]
fn the_json_form_has_the_lookup_and_the_pick() {
    let c = example("nginx-study.yaml");
    let n = node(&c, "node2", None);
    let t = trace_ipvs_node(&n, &packet("10.244.2.9", "10.108.12.40", 80), 40000).unwrap();
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["lookup"]["kind"], "cluster-ip");
    assert!(v["pick_index"].is_u64());
    assert_eq!(v["shares"].as_array().unwrap().len(), 3);
    assert_eq!(v["packet"]["dst_port"], 80);
}
