//! iptables renderer: full render (restore and save forms), incremental re-render, trace, peak
//! memory.
//!
//! `cargo bench -p svccore-benches --bench render_iptables`
//! Input: 10,000 service ports × 10 endpoints (mixed ClusterIP/NodePort/LoadBalancer, ETP
//! Local on a quarter, ClientIP affinity on a fifth, some UDP), built once outside the timing.

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use svccore::render::iptables::{render_snapshot, Form, IncrementalRenderer};
use svccore::trace::{Origin, Packet, Tracer};
use svccore_benches::{peak_rss_growth, render_input};

fn bench(c: &mut Criterion) {
    let (snap, settings, node) = render_input();
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

/// Peak resident memory of one render.
fn memory_report() {
    let (snap, settings, node) = render_input();
    let (text, growth) =
        peak_rss_growth(|| render_snapshot(&snap, &settings, &node, Form::Restore).unwrap());
    let Some(extra) = growth else {
        eprintln!("peak memory: /proc/self/clear_refs not writable, skipped");
        return;
    };
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
