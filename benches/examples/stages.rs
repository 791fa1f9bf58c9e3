//! On-CPU time of each stage from a manifest file to one node's iptables rules: load, the
//! proxier's snapshot, the render of that snapshot (best of N runs for the last two). For the
//! issue's "100,000 Services × 10 endpoints load and render" and for seeing which stage a
//! cluster's size costs most in.
//!
//! ```sh
//! cargo run --release -p svccore-benches --example stages -- FILE NODE [N]
//! ```

use svccore::proxier::config::ProxierSettings;
use svccore::render::iptables::{render_snapshot, Form};
use svccore::snapshot::ProxySnapshot;
use svccore_benches::on_cpu_ns;

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(node)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: stages FILE NODE [N]");
        std::process::exit(2);
    };
    let runs: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(3).max(1);
    let text = std::fs::read_to_string(file).expect("a readable UTF-8 file");
    let t = on_cpu_ns();
    let cluster = svccore::load::load_strs([(Some(file.as_str()), text.as_str())])
        .expect("the manifests load");
    let load = on_cpu_ns() - t;
    let settings = ProxierSettings::new(svccore::model::IpFamily::IPv4, node)
        .resolve(&cluster)
        .expect("the node's settings resolve");
    let (mut snapshot, mut render, mut bytes) = (u64::MAX, u64::MAX, 0);
    for _ in 0..runs {
        let t = on_cpu_ns();
        let snap = ProxySnapshot::build(&cluster, settings.ip_family).expect("a snapshot");
        snapshot = snapshot.min(on_cpu_ns() - t);
        let t = on_cpu_ns();
        let out = render_snapshot(&snap, &settings, &settings.node.context(), Form::Restore)
            .expect("renders");
        render = render.min(on_cpu_ns() - t);
        bytes = out.len();
    }
    println!(
        "{file}: {:.1} MB; load {:.3} s, snapshot {:.3} s, render {:.3} s ({:.1} MB of rules), \
         on-CPU, best of {runs} for the last two",
        text.len() as f64 / 1e6,
        seconds(load),
        seconds(snapshot),
        seconds(render),
        bytes as f64 / 1e6
    );
}
