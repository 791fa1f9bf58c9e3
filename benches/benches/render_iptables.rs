//! iptables renderer: full render (restore and save forms), incremental re-render, trace, peak
//! memory.
//!
//! `cargo bench -p svccore-benches --bench render_iptables`
//! Input: 10,000 service ports × 10 endpoints (mixed ClusterIP/NodePort/LoadBalancer, ETP
//! Local on a quarter, ClientIP affinity on a fifth, some UDP), built once outside the timing.

use std::collections::BTreeMap;
use std::net::IpAddr;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use svccore::categorize::NodeContext;
use svccore::model::{IpFamily, Protocol, ServiceType};
use svccore::proxier::config::NodeFacts;
use svccore::render::iptables::{
    render_snapshot, Form, IncrementalRenderer, LocalDetector, ProxierSettings,
};
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};
use svccore::trace::{Origin, Packet, Tracer};

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
    let text = render_snapshot(&snap, &settings, &node, Form::Restore).unwrap();

    let mut g = c.benchmark_group("iptables");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("render_restore_10k_services_x10", |b| {
        b.iter(|| render_snapshot(&snap, &settings, &node, Form::Restore).unwrap())
    });
    // The iptables-save text of the same node: the rules read into the netfilter model as they
    // are written, then printed as iptables-save does.
    let save = render_snapshot(&snap, &settings, &node, Form::Save).unwrap();
    g.throughput(Throughput::Bytes(save.len() as u64));
    g.bench_function("render_save_10k_services_x10", |b| {
        b.iter(|| render_snapshot(&snap, &settings, &node, Form::Save).unwrap())
    });
    g.throughput(Throughput::Bytes(text.len() as u64));

    let mut inc = IncrementalRenderer::new(settings.clone(), node.clone());
    inc.sync(&snap).unwrap();
    g.bench_function("incremental_full_text", |b| b.iter(|| inc.restore_text()));
    g.throughput(Throughput::Elements(1));
    g.sample_size(100);
    let a = snap.ports[4321].clone();
    let mut changed = a.clone();
    changed.endpoints.pop();
    let mut flip = false;
    g.bench_function("incremental_one_service_changed", |b| {
        b.iter(|| {
            flip = !flip;
            inc.upsert(if flip { changed.clone() } else { a.clone() })
        })
    });
    // The same with the clone of the view outside the timing.
    g.bench_function("incremental_one_service_changed_prebuilt", |b| {
        b.iter_batched(
            || {
                flip = !flip;
                if flip {
                    changed.clone()
                } else {
                    a.clone()
                }
            },
            |v| inc.upsert(v),
            BatchSize::SmallInput,
        )
    });

    let tracer = Tracer::new(&text, &settings).unwrap();
    let v = &snap.ports[4001]; // NodePort, ETP Cluster
    let p = Packet::new(
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
    g.bench_function("trace_cluster_ip_10_endpoints", |b| {
        b.iter(|| tracer.trace(&p).unwrap())
    });
    g.bench_function("trace_nodeport_external", |b| {
        b.iter(|| tracer.trace(&ext).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);

/// Peak resident memory of one render, from /proc (no allocator hooks: the workspace forbids
/// unsafe code). `clear_refs` 5 resets the high-water mark.
fn memory_report() {
    let read = |key: &str| -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = s.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
            .map(|kb| kb * 1024)
    };
    let (snap, settings, node) = input();
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("peak memory: /proc/self/clear_refs not writable, skipped");
        return;
    }
    let Some(base) = read("VmRSS:") else {
        return;
    };
    let text = render_snapshot(&snap, &settings, &node, Form::Restore).unwrap();
    let peak = read("VmHWM:").unwrap_or(0);
    let extra = peak.saturating_sub(base);
    eprintln!(
        "peak memory: output {:.1} MB, peak RSS growth during render {:.1} MB = {:.2}x output",
        text.len() as f64 / 1e6,
        extra as f64 / 1e6,
        extra as f64 / text.len() as f64
    );
    let lines = text.lines().count();
    eprintln!("output: {lines} lines, {} bytes", text.len());
}

fn main() {
    memory_report();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
