//! nftables renderer against the iptables renderer on the same input, in the same run.
//!
//! `cargo bench -p svccore-benches --bench render_nftables`
//! Input: the `render_iptables` bench's 10,000 service ports × 10 endpoints (mixed
//! ClusterIP/NodePort/LoadBalancer, ETP Local on a quarter, ClientIP affinity on a fifth, some
//! UDP, source ranges on some LBs), built once outside the timing. The target: the
//! nftables `load` form takes no longer than the iptables restore form.
//! Then one packet traced through each mode's rules (prebuilt tracers), the target being
//! that nftables mode traces as fast as iptables mode.

use std::collections::BTreeMap;
use std::net::IpAddr;

use criterion::{criterion_group, Criterion, Throughput};
use svccore::categorize::NodeContext;
use svccore::model::{IpFamily, Protocol, ServiceType};
use svccore::proxier::config::NodeFacts;
use svccore::render::iptables::{self, LocalDetector, ProxierSettings};
use svccore::render::nftables;
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};
use svccore::trace::{NftTracer, Origin, Packet, Tracer};

const SERVICES: usize = 10_000;
const ENDPOINTS: usize = 10;

fn ip4(a: usize, n: usize) -> IpAddr {
    format!("10.{}.{}.{}", a, n / 250 % 250, n % 250 + 1)
        .parse()
        .unwrap()
}

fn view(i: usize) -> ServicePortView {
    let mut endpoints: Vec<EndpointInfo> = (0..ENDPOINTS)
        .map(|k| {
            let ip = ip4(100 + (i * ENDPOINTS + k) / 62_500, i * ENDPOINTS + k);
            EndpointInfo {
                ip,
                port: 8080,
                endpoint: format!("{ip}:8080"),
                ready: true,
                serving: true,
                terminating: false,
                node_name: Some(format!("node-{}", k % 4)),
                zone: None,
                zone_hints: None,
                node_hints: None,
                topology: BTreeMap::new(),
            }
        })
        .collect();
    endpoints.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    let kind = i % 4;
    ServicePortView {
        namespace: format!("ns{}", i % 100),
        name: format!("service-{i}"),
        port_name: "http".into(),
        service_port_name: format!("ns{}/service-{i}:http", i % 100),
        protocol: if i.is_multiple_of(9) {
            Protocol::Udp
        } else {
            Protocol::Tcp
        },
        port: 80,
        target_port: None,
        cluster_ip: ip4(96 + i / 62_500, i),
        node_port: if kind >= 1 {
            30000 + (i % 2700) as u16
        } else {
            0
        },
        external_ips: vec![],
        lb_ips: if kind == 3 { vec![ip4(200, i)] } else { vec![] },
        source_ranges: if kind == 3 && i % 8 == 3 {
            vec!["203.0.113.0/24".parse().unwrap()]
        } else {
            vec![]
        },
        health_check_node_port: if kind == 3 && i % 2 == 1 { 31000 } else { 0 },
        service_type: [
            ServiceType::ClusterIP,
            ServiceType::NodePort,
            ServiceType::NodePort,
            ServiceType::LoadBalancer,
        ][kind]
            .clone(),
        external_policy_local: kind == 2,
        internal_policy_local: false,
        affinity_seconds: i.is_multiple_of(5).then_some(10800),
        topology_keys: vec![],
        endpoints,
    }
}

fn input() -> (ProxySnapshot, ProxierSettings, NodeContext) {
    let snap = ProxySnapshot {
        family: IpFamily::IPv4,
        ports: (0..SERVICES).map(view).collect(),
        warnings: vec![],
    };
    let settings = ProxierSettings {
        node: NodeFacts {
            ips: vec!["192.168.0.10".parse().unwrap()],
            interface_addresses: vec!["192.168.0.10/24".parse().unwrap()],
            ..NodeFacts::named("node-0")
        },
        local_detector: LocalDetector::Cidr("10.0.0.0/8".into()),
        ..Default::default()
    };
    (snap, settings, NodeContext::named("node-0"))
}

fn bench(c: &mut Criterion) {
    let (snap, settings, node) = input();
    let restore =
        iptables::render_snapshot(&snap, &settings, &node, iptables::Form::Restore).unwrap();
    let load = nftables::table_for_snapshot(&snap, &settings, &node)
        .unwrap()
        .into_text(nftables::Form::Load);
    eprintln!(
        "iptables restore: {} bytes, {} lines; nftables load: {} bytes, {} lines",
        restore.len(),
        restore.lines().count(),
        load.len(),
        load.lines().count()
    );

    let mut g = c.benchmark_group("render_10k_services_x10");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SERVICES as u64));
    g.bench_function("iptables_restore", |b| {
        b.iter(|| {
            iptables::render_snapshot(&snap, &settings, &node, iptables::Form::Restore).unwrap()
        })
    });
    g.bench_function("nftables_load", |b| {
        b.iter(|| {
            nftables::table_for_snapshot(&snap, &settings, &node)
                .unwrap()
                .into_text(nftables::Form::Load)
        })
    });
    g.bench_function("nftables_dump", |b| {
        b.iter(|| {
            nftables::table_for_snapshot(&snap, &settings, &node)
                .unwrap()
                .into_text(nftables::Form::Dump)
        })
    });
    g.bench_function("nftables_table_only", |b| {
        b.iter(|| nftables::table_for_snapshot(&snap, &settings, &node).unwrap())
    });
    g.finish();

    // One packet traced through each mode's rules for the same input, in the same run: the
    // iptables tracer over the restore payload, the nftables tracer over the table.
    let ipt = Tracer::new(&restore, &settings).unwrap();
    let table = nftables::table_for_snapshot(&snap, &settings, &node).unwrap();
    let nft = NftTracer::new(&table, &settings).unwrap();
    let v = &snap.ports[4001]; // NodePort, ETP Cluster, 10 endpoints
    let pod = Packet::new(
        "10.1.2.3".parse().unwrap(),
        v.cluster_ip,
        v.port,
        Origin::LocalPod,
    );
    let ext = Packet::new(
        "198.51.100.7".parse().unwrap(),
        "192.168.0.10".parse().unwrap(),
        v.node_port,
        Origin::External,
    );
    for (name, p) in [
        ("cluster_ip_10_endpoints", &pod),
        ("nodeport_external", &ext),
    ] {
        assert_eq!(ipt.trace(p).unwrap().outcomes.len(), ENDPOINTS, "{name}");
        assert_eq!(nft.trace(p).unwrap().outcomes.len(), ENDPOINTS, "{name}");
    }
    let mut g = c.benchmark_group("trace_10k_services_x10");
    g.throughput(Throughput::Elements(1));
    for (name, p) in [
        ("cluster_ip_10_endpoints", &pod),
        ("nodeport_external", &ext),
    ] {
        g.bench_function(format!("iptables_{name}"), |b| {
            b.iter(|| ipt.trace(p).unwrap())
        });
        g.bench_function(format!("nftables_{name}"), |b| {
            b.iter(|| nft.trace(p).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
