//! nftables renderer against the iptables renderer on the same input, in the same run.
//!
//! `cargo bench -p svccore-benches --bench render_nftables`
//! Input: the `render_iptables` bench's 10,000 service ports × 10 endpoints (mixed
//! ClusterIP/NodePort/LoadBalancer, ETP Local on a quarter, ClientIP affinity on a fifth, some
//! UDP, source ranges on some LBs), built once outside the timing. The target: the
//! nftables `load` form takes no longer than the iptables restore form.
//! Then one packet traced through each mode's rules (prebuilt tracers), the target being
//! that nftables mode traces as fast as iptables mode.

use criterion::{criterion_group, Criterion, Throughput};
use svccore::render::iptables;
use svccore::render::nftables;
use svccore::trace::{NftTracer, Origin, Packet, Tracer};
use svccore_benches::{render_input, ENDPOINTS, SERVICES};

fn bench(c: &mut Criterion) {
    let (snap, settings, node) = render_input();
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
