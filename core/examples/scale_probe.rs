//! One run of each stage from manifest text to rules, on a generated cluster of N Services, for
//! counting each stage's instructions under callgrind: `tests/scaling/run.py` (`make
//! test-scaling`) runs it at 1×, 4× and 16× a size and fails when a stage's count grows more
//! than 24× (linear is 16×, n·log n about 18×, quadratic 256×). Instruction counts measure what
//! the code does, not how the machine's caches and other work treat it.
//!
//! Usage: `scale_probe N` (prints the text's size and the rule counts, as a check that every
//! stage ran on the whole cluster).

use std::fmt::Write;
use std::hint::black_box;

use svccore::render::iptables::ProxierSettings;
use svccore::render::{iptables, ipvs, nftables};
use svccore::validate::{validate, ValidateOptions};
use svccore::Cluster;

const ENDPOINTS: usize = 10;

/// `n` Services with ten endpoints each spread over three nodes, as `kubectl get -o json`
/// prints them: ClusterIP, NodePort (every 4th, half of them with externalTrafficPolicy
/// Local) and ClientIP affinity (every 5th).
fn cluster_json(n: usize) -> String {
    let mut items = Vec::new();
    for node in 0..3 {
        items.push(format!(
            r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"node-{node}","labels":{{"topology.kubernetes.io/zone":"z{node}"}}}},"status":{{"addresses":[{{"type":"InternalIP","address":"192.168.0.{}"}}]}}}}"#,
            10 + node
        ));
    }
    for i in 0..n {
        let (hi, lo) = (i / 250, i % 250);
        let mut spec = format!(
            r#""clusterIP":"10.96.{hi}.{}","ports":[{{"name":"http","port":80,"targetPort":8080,"protocol":"TCP""#,
            lo + 1
        );
        if i % 4 == 0 {
            write!(
                spec,
                r#","nodePort":{}}}],"type":"NodePort""#,
                30000 + (i / 4) % 2700
            )
            .unwrap();
            if i % 8 == 0 {
                spec += r#","externalTrafficPolicy":"Local""#;
            }
        } else {
            spec += "}]";
        }
        if i % 5 == 0 {
            spec += r#","sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":10800}}"#;
        }
        items.push(format!(
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc-{i}","namespace":"ns-{}"}},"spec":{{{spec}}}}}"#,
            i % 7
        ));
        let endpoints: Vec<String> = (0..ENDPOINTS)
            .map(|e| {
                let ip = i * ENDPOINTS + e;
                format!(
                    r#"{{"addresses":["10.{}.{}.{}"],"conditions":{{"ready":true}},"nodeName":"node-{}"}}"#,
                    1 + ip / 65536,
                    (ip / 256) % 256,
                    ip % 256,
                    e % 3
                )
            })
            .collect();
        items.push(format!(
            r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{{"name":"svc-{i}-x","namespace":"ns-{}","labels":{{"kubernetes.io/service-name":"svc-{i}"}}}},"addressType":"IPv4","ports":[{{"name":"http","port":8080,"protocol":"TCP"}}],"endpoints":[{}]}}"#,
            i % 7,
            endpoints.join(",")
        ));
    }
    format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    )
}

// Each stage is one function that callgrind's `--toggle-collect=scale_probe::stage_*` counts.

#[inline(never)]
fn stage_load(text: &str) -> Cluster {
    black_box(
        svccore::load::load_strs([(Some("scale.json"), text)])
            .expect("the generated cluster loads"),
    )
}

#[inline(never)]
fn stage_validate(c: &Cluster) -> usize {
    black_box(validate(c, &ValidateOptions::default())).len()
}

#[inline(never)]
fn stage_render_iptables_restore(c: &Cluster, s: &ProxierSettings) -> String {
    black_box(iptables::render(c, s, iptables::Form::Restore).expect("renders"))
}

#[inline(never)]
fn stage_render_iptables_save(c: &Cluster, s: &ProxierSettings) -> String {
    black_box(iptables::render(c, s, iptables::Form::Save).expect("renders"))
}

#[inline(never)]
fn stage_render_nftables_load(c: &Cluster, s: &ProxierSettings) -> String {
    black_box(nftables::render(c, s, nftables::Form::Load).expect("renders"))
}

#[inline(never)]
fn stage_render_nftables_dump(c: &Cluster, s: &ProxierSettings) -> String {
    black_box(nftables::render(c, s, nftables::Form::Dump).expect("renders"))
}

#[inline(never)]
fn stage_render_ipvs_save(c: &Cluster, s: &ProxierSettings) -> String {
    black_box(ipvs::render(c, s, ipvs::Form::Save).expect("renders"))
}

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("usage: scale_probe SERVICES");
            std::process::exit(2);
        }
    };
    let text = cluster_json(n);
    let cluster = stage_load(&text);
    assert_eq!(cluster.services.len(), n);
    let issues = stage_validate(&cluster);
    let mut settings = ProxierSettings::default();
    settings.node.name = "node-0".into();
    let restore = stage_render_iptables_restore(&cluster, &settings);
    let save = stage_render_iptables_save(&cluster, &settings);
    let nft_load = stage_render_nftables_load(&cluster, &settings);
    let nft_dump = stage_render_nftables_dump(&cluster, &settings);
    let ipvs_save = stage_render_ipvs_save(&cluster, &settings);
    // Every endpoint of every service is in each form.
    assert!(restore.matches("-j KUBE-SEP-").count() >= n * ENDPOINTS);
    assert!(save.matches("-j KUBE-SEP-").count() >= n * ENDPOINTS);
    assert!(
        nft_dump
            .matches("add chain ip kube-proxy endpoint-")
            .count()
            >= n * ENDPOINTS
    );
    assert!(ipvs_save.matches("-a -t ").count() >= n * ENDPOINTS);
    println!(
        "{n} services: {} bytes of JSON, {issues} validation issues; iptables {} + {} bytes, nftables {} + {} bytes, ipvs {} bytes",
        text.len(),
        restore.len(),
        save.len(),
        nft_load.len(),
        nft_dump.len(),
        ipvs_save.len()
    );
}
