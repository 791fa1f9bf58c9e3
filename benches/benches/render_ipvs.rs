//! ipvs renderer throughput: 10,000 ClusterIP services × 10 endpoints each, rendered as
//! `ipvsadm -Ln` and `ipvsadm -S -n` (targets: ≤ 100 ms each). Inputs are built once, outside
//! the timed closures; throughput is the output size in bytes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use svccore::model::IpFamily;
use svccore::proxier::config::ProxierSettings;
use svccore::render::ipvs::{render_save, IpvsNode};
use svccore::snapshot::ProxySnapshot;
use svccore::Loader;

const SERVICES: usize = 10_000;
const ENDPOINTS: usize = 10;

fn cluster() -> svccore::Cluster {
    let mut items = Vec::with_capacity(SERVICES * 2);
    for i in 0..SERVICES {
        let name = format!("svc-{i}");
        let cip = format!("10.96.{}.{}", i / 250, i % 250 + 1);
        items.push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {"clusterIP": cip, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}));
        let eps: Vec<_> = (0..ENDPOINTS)
            .map(|e| {
                let n = i * ENDPOINTS + e;
                json!({"addresses": [format!("10.{}.{}.{}", 128 + n / 65536, (n / 256) % 256, n % 256)],
                       "nodeName": format!("node-{}", e % 3)})
            })
            .collect();
        items.push(
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{name}-1"), "namespace": "bench",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": eps}),
        );
    }
    let mut l = Loader::new();
    l.add_value(
        None,
        &json!({"apiVersion": "v1", "kind": "List", "items": items}),
    );
    l.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    let cl = cluster();
    let snap = ProxySnapshot::build(&cl, IpFamily::IPv4).unwrap();
    let settings = ProxierSettings::new(IpFamily::IPv4, "node-0");
    let node = IpvsNode::build(&snap, &settings, None).unwrap();
    assert_eq!(node.virtual_servers.len(), SERVICES);

    let mut g = c.benchmark_group("render_ipvs_10k_x10");
    g.sample_size(20);
    let list_len = node.list(None).len() as u64;
    g.throughput(Throughput::Bytes(list_len));
    g.bench_function("list", |b| b.iter(|| node.list(None)));
    let save_len = render_save(&node, false).len() as u64;
    g.throughput(Throughput::Bytes(save_len));
    g.bench_function("save", |b| b.iter(|| render_save(&node, false)));
    g.throughput(Throughput::Elements(SERVICES as u64));
    g.bench_function("build", |b| {
        b.iter(|| IpvsNode::build(&snap, &settings, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
