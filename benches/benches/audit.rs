//! Auditing one node against its `iptables-save` dump, and the iptables renders of the same
//! node in the same run (issue 14, "Many nodes": one node of a 10,000-service × 10-endpoint
//! cluster).
//!
//! `cargo bench -p svccore-benches --bench audit`
//! Input: `render_input()` (10,000 service ports × 10 endpoints); the node's dump is svccore's
//! own `iptables-save` text of it (43.9 MB), unmodified and with drift (`drifted_save`: rules
//! deleted, added, changed and moved). Inputs are built once outside the timings. An audit
//! renders the expected rules, reads the dump and compares them per service port, so it is
//! read against the render of the same rules.

use criterion::{criterion_group, Criterion, Throughput};
use svccore::audit::audit_snapshot;
use svccore::render::iptables::{render_snapshot, Form};
use svccore_benches::{drifted_save, peak_rss_growth, render_input};

fn bench(c: &mut Criterion) {
    let (snap, settings, node) = render_input();
    let save = render_snapshot(&snap, &settings, &node, Form::Save).unwrap();
    let drifted = drifted_save(&save);
    let clean = audit_snapshot(&snap, &settings, &node, &save).unwrap();
    assert!(!clean.has_drift());
    let drift = audit_snapshot(&snap, &settings, &node, &drifted).unwrap();
    assert_eq!(drift.service_ports.len(), 4, "drifted_save's four groups");

    let mut g = c.benchmark_group("audit_10k_services_x10");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(save.len() as u64));
    g.bench_function("iptables_render_restore", |b| {
        b.iter(|| render_snapshot(&snap, &settings, &node, Form::Restore).unwrap())
    });
    g.bench_function("iptables_render_save", |b| {
        b.iter(|| render_snapshot(&snap, &settings, &node, Form::Save).unwrap())
    });
    g.bench_function("iptables_audit_clean", |b| {
        b.iter(|| audit_snapshot(&snap, &settings, &node, &save).unwrap())
    });
    g.throughput(Throughput::Bytes(drifted.len() as u64));
    g.bench_function("iptables_audit_drift", |b| {
        b.iter(|| audit_snapshot(&snap, &settings, &node, &drifted).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);

/// Peak resident memory of one audit.
fn memory_report() {
    let (snap, settings, node) = render_input();
    let save = render_snapshot(&snap, &settings, &node, Form::Save).unwrap();
    let (report, growth) =
        peak_rss_growth(|| audit_snapshot(&snap, &settings, &node, &save).unwrap());
    let Some(extra) = growth else {
        eprintln!("peak memory: /proc/self/clear_refs not writable, skipped");
        return;
    };
    eprintln!(
        "peak memory: dump {:.1} MB ({} kube-proxy rules), peak RSS growth during the audit \
         {:.1} MB = {:.2}x the dump",
        save.len() as f64 / 1e6,
        report.actual_rules,
        extra as f64 / 1e6,
        extra as f64 / save.len() as f64
    );
}

fn main() {
    memory_report();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
