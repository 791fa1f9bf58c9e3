//! Prints the SHA-256 of the JSON of many traces on the benchmarks' node
//! ([`svccore_benches::render_input`]), per mode: for every service port a pod to its cluster
//! IP, the node itself to its cluster IP, another node to its node port, an outside client to
//! its load-balancer IP, an endpoint to its own service (hairpin), a packet of the other
//! protocol, and for every seventh port the pod again with a live affinity entry for the
//! endpoint its first trace reached. Run it before and after a change to a tracer and diff the
//! two outputs to check that every result stayed the same:
//!
//! `cargo run --release -p svccore-benches --example trace_digests`
//!
//! It also prints how long the 10,000 pod-to-cluster-IP traces take in each mode, results kept
//! until the end as the `trace` benchmark does: a second pass, and the first (which also makes
//! the texts of the rules on the way); with `--show`, the text of the first of them; with
//! `--time`, five more passes (and the time to drop their results) and no digests.

use std::net::IpAddr;
use std::time::Instant;

use sha2::{Digest, Sha256};
use svccore::model::Protocol;
use svccore::proxier::config::ProxyMode;
use svccore::trace::{NodeTracer, Origin, Packet, Verdict};
use svccore_benches::render_input;

fn packet(src: &str, dst: IpAddr, port: u16, origin: Origin, proto: &Protocol) -> Packet {
    let mut p = Packet::new(src.parse().unwrap(), dst, port, origin);
    p.protocol = proto.clone();
    p
}

fn main() {
    let (snap, settings, node) = render_input();
    let node_ip: IpAddr = "192.168.0.10".parse().unwrap();
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables, ProxyMode::Ipvs] {
        let tracer = NodeTracer::for_snapshot(mode, snap.clone(), &settings, &node).unwrap();
        let pods: Vec<Packet> = snap
            .ports
            .iter()
            .map(|v| {
                packet(
                    "10.1.2.3",
                    v.cluster_ip,
                    v.port,
                    Origin::LocalPod,
                    &v.protocol,
                )
            })
            .collect();
        // The first pass also makes the texts of every rule on the way.
        let t = Instant::now();
        let results: Vec<_> = pods.iter().map(|p| tracer.trace(p).unwrap()).collect();
        let cold = t.elapsed();
        drop(results);
        let t = Instant::now();
        let results: Vec<_> = pods.iter().map(|p| tracer.trace(p).unwrap()).collect();
        let batch = t.elapsed();
        if std::env::args().any(|a| a == "--show") {
            print!("{}", svccore::trace::render_text(&results[0]));
        }
        drop(results);
        if std::env::args().any(|a| a == "--time") {
            // Timings only: five more passes, each dropped before the next.
            let times: Vec<String> = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let r: Vec<_> = pods.iter().map(|p| tracer.trace(p).unwrap()).collect();
                    let e = t.elapsed();
                    drop(r);
                    format!(
                        "{:.3} (+{:.3} drop)",
                        e.as_secs_f64(),
                        (t.elapsed() - e).as_secs_f64()
                    )
                })
                .collect();
            println!(
                "{:<8} first pass {:.3} s, then {:.3} s, {} s",
                mode.as_str(),
                cold.as_secs_f64(),
                batch.as_secs_f64(),
                times.join(" s, ")
            );
            continue;
        }
        let mut hash = Sha256::new();
        let mut n = 0usize;
        let mut add = |p: &Packet| {
            let r = tracer.trace(p);
            let json = match &r {
                Ok(r) => serde_json::to_string(r).unwrap(),
                Err(e) => format!("error: {e}"),
            };
            hash.update(json.as_bytes());
            hash.update(b"\n");
            n += 1;
            r.ok()
        };
        for (i, v) in snap.ports.iter().enumerate() {
            let first = add(&pods[i]);
            add(&packet(
                "192.168.0.10",
                v.cluster_ip,
                v.port,
                Origin::Host,
                &v.protocol,
            ));
            if v.node_port != 0 {
                add(&packet(
                    "192.168.0.20",
                    node_ip,
                    v.node_port,
                    Origin::OtherNode,
                    &v.protocol,
                ));
            }
            for lb in &v.lb_ips {
                add(&packet(
                    "203.0.113.7",
                    *lb,
                    v.port,
                    Origin::External,
                    &v.protocol,
                ));
                add(&packet(
                    "198.51.100.7",
                    *lb,
                    v.port,
                    Origin::External,
                    &v.protocol,
                ));
            }
            let ep = v.endpoints[i % v.endpoints.len()].ip.to_string();
            add(&packet(
                &ep,
                v.cluster_ip,
                v.port,
                Origin::LocalPod,
                &v.protocol,
            ));
            let other = match v.protocol {
                Protocol::Tcp => Protocol::Udp,
                _ => Protocol::Tcp,
            };
            add(&packet(
                "10.1.2.3",
                v.cluster_ip,
                v.port,
                Origin::LocalPod,
                &other,
            ));
            if i % 7 == 0 {
                let chain = first.and_then(|r| {
                    r.outcomes.into_iter().find_map(|o| match o.verdict {
                        Verdict::Dnat { chain, .. } => Some(chain),
                        _ => None,
                    })
                });
                if let Some(chain) = chain {
                    let mut p = pods[i].clone();
                    p.recent = vec![chain];
                    add(&p);
                }
            }
        }
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        println!(
            "{hex}  {n:>6} traces  {:<8}  10,000 pod traces in {:.3} s (first pass {:.3} s)",
            mode.as_str(),
            batch.as_secs_f64(),
            cold.as_secs_f64()
        );
    }
}
