//! Many packets traced on one node with the rules read once (`NodeTracer`): issue 14's trace
//! target at 10,000 services × 10 endpoints (`render_input`): 10,000 traces ≤ 0.5 s, every
//! trace after the first ≤ 20 µs.
//!
//! The batch is one packet per service port, a pod to its cluster IP, so every trace takes the
//! service's chains (10 `statistic`/`numgen` paths for ports with endpoints on this node's
//! view). The tracer is built once, outside the timings, and that build is timed on its own
//! (the "first trace may cost a render" part).
//!
//! With the `mimalloc` feature (the Python extension's allocator) the names end in
//! `_mimalloc`: `make bench` runs both.

use criterion::{criterion_group, Criterion, Throughput};
use svccore::proxier::config::ProxyMode;
use svccore::trace::{NodeTracer, Origin, Packet};
use svccore_benches::{bench_name, render_input, SERVICES};

fn bench(c: &mut Criterion) {
    let (snap, settings, node) = render_input();
    let packets: Vec<Packet> = snap
        .ports
        .iter()
        .map(|v| {
            let mut p = Packet::new(
                "10.1.2.3".parse().unwrap(),
                v.cluster_ip,
                v.port,
                Origin::LocalPod,
            );
            p.protocol = v.protocol.clone();
            p
        })
        .collect();
    assert_eq!(packets.len(), SERVICES);

    let mut g = c.benchmark_group("trace_many_10k_services_x10");
    g.sample_size(10);
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables, ProxyMode::Ipvs] {
        let tracer = NodeTracer::for_snapshot(mode, snap.clone(), &settings, &node).unwrap();
        let name = mode.as_str();
        // Every packet reaches a service (a DNAT outcome), so the batch measures real walks.
        for p in packets.iter().step_by(997) {
            let t = tracer.trace(p).unwrap();
            assert!(
                t.outcomes
                    .iter()
                    .any(|o| matches!(o.verdict, svccore::trace::Verdict::Dnat { .. })),
                "{name}: {p:?} {t:?}"
            );
        }
        g.throughput(Throughput::Elements(SERVICES as u64));
        g.bench_function(bench_name(&format!("{name}_10000_packets")), |b| {
            b.iter(|| {
                packets
                    .iter()
                    .map(|p| tracer.trace(p).unwrap())
                    .collect::<Vec<_>>()
            })
        });
        g.throughput(Throughput::Elements(1));
        g.bench_function(bench_name(&format!("{name}_build_tracer")), |b| {
            b.iter(|| NodeTracer::for_snapshot(mode, snap.clone(), &settings, &node).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion::criterion_main!(benches);
