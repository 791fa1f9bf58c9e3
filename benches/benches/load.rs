//! The loader, end to end: manifest text → `Loader` → validated `Cluster`, as `svccore validate`
//! and `Cluster.from_json` do it.
//!
//! `cargo bench -p svccore-benches --bench load`
//! Inputs (`svccore_benches::manifests`, generated once outside the timing): a `kind: List` as
//! `kubectl get -o json` / `-o yaml` prints it, of 10,000 Services × 10 endpoints (one
//! EndpointSlice each), of 10,000 Services × 100 endpoints (a million endpoints), and of
//! 100,000 Services × 10 endpoints loaded and rendered for one node (iptables-restore).
//! Throughput is the input's size. With the `mimalloc` feature (the Python extension's
//! allocator) the names end in `_mimalloc`: `make bench` runs both.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use svccore::proxier::config::ProxierSettings;
use svccore::render::iptables::{render, Form};
use svccore::validate::{validate, ValidateOptions};
use svccore::{Cluster, Loader};
use svccore_benches::bench_name;
use svccore_benches::manifests::{list_json, list_yaml};

/// Loads and validates one text; panics on an invalid cluster (the inputs are valid).
fn load(text: &str) -> Cluster {
    let mut l = Loader::new();
    l.add_str(Some("bench"), text).unwrap();
    let c = l.finish().unwrap();
    let errors = validate(&c, &ValidateOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    c
}

fn bench(c: &mut Criterion) {
    let json = list_json(10_000, 10);
    let yaml = list_yaml(10_000, 10);
    let mut g = c.benchmark_group("load_10k_services_x10");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function(bench_name("json"), |b| b.iter(|| load(&json)));
    g.throughput(Throughput::Bytes(yaml.len() as u64));
    g.bench_function(bench_name("yaml"), |b| b.iter(|| load(&yaml)));
    g.finish();
    drop((json, yaml));

    let million = list_json(10_000, 100);
    let mut g = c.benchmark_group("load_10k_services_x100");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(million.len() as u64));
    g.bench_function(bench_name("json"), |b| b.iter(|| load(&million)));
    g.finish();
    drop(million);

    // The "100,000 Services × 10 endpoints load and render in ≤ 2 s": the whole job of
    // `svccore render iptables -f big.json --node node-1`, past reading the file.
    let big = list_json(100_000, 10);
    let settings = ProxierSettings::new(svccore::model::IpFamily::IPv4, "node-1");
    let mut g = c.benchmark_group("load_render_100k_services_x10");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function(bench_name("json_load"), |b| b.iter(|| load(&big)));
    g.bench_function(bench_name("json_load_render_iptables"), |b| {
        b.iter(|| {
            let c = load(&big);
            render(&c, &settings, Form::Restore).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
