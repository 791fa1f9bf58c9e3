//! Shared inputs for the criterion benchmarks (see `benches/`).

pub mod manifests;

use std::net::IpAddr;

use svccore::categorize::NodeContext;
use svccore::model::{IpFamily, Placement, Protocol, ServiceType};
use svccore::proxier::config::{LocalDetector, NodeFacts, ProxierSettings};
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};

/// The allocator of the programs built with this crate: mimalloc with the `mimalloc` feature
/// (the Python extension's allocator: `make bench` runs the trace and load benchmarks both
/// ways), else the system's malloc.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A benchmark's name in this build: `name` under the system's allocator, `name_mimalloc` with
/// the `mimalloc` feature (so that the two runs of `make bench` keep apart).
pub fn bench_name(name: &str) -> String {
    if cfg!(feature = "mimalloc") {
        format!("{name}_mimalloc")
    } else {
        name.to_owned()
    }
}

/// Service ports in [`render_input`].
pub const SERVICES: usize = 10_000;
/// Endpoints per service port in [`render_input`].
pub const ENDPOINTS: usize = 10;

fn ip4(a: usize, n: usize) -> IpAddr {
    format!("10.{}.{}.{}", a, n / 250 % 250, n % 250 + 1)
        .parse()
        .unwrap()
}

/// Service port `i` of the input: ClusterIP, NodePort, ETP Local NodePort and LoadBalancer in
/// turn, ClientIP affinity on every fifth, every ninth UDP, source ranges and health-check node
/// ports on some load balancers; its endpoints sorted as kube-proxy sorts them.
pub fn view(i: usize) -> ServicePortView {
    let mut endpoints: Vec<EndpointInfo> = (0..ENDPOINTS)
        .map(|k| {
            let ip = ip4(100 + (i * ENDPOINTS + k) / 62_500, i * ENDPOINTS + k);
            EndpointInfo {
                place: Placement::new(Some(format!("node-{}", k % 4).into()), None),
                ..EndpointInfo::at(ip, 8080)
            }
        })
        .collect();
    endpoints.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    let kind = i % 4;
    ServicePortView {
        namespace: format!("ns{}", i % 100).into(),
        name: format!("service-{i}").into(),
        port_name: "http".into(),
        service_port_name: format!("ns{}/service-{i}:http", i % 100).into(),
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

/// The rendering benchmarks' node: [`SERVICES`] ports of [`ENDPOINTS`] endpoints each, seen by
/// `node-0` (192.168.0.10) with a ClusterCIDR detector of 10.0.0.0/8.
pub fn render_input() -> (ProxySnapshot, ProxierSettings, NodeContext) {
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

/// The chain a service port's cluster IP rule in `save` jumps to (its `KUBE-SVC-` chain).
fn svc_chain<'a>(save: &'a str, service_port: &str) -> &'a str {
    let comment = format!("--comment \"{service_port} cluster IP\"");
    save.lines()
        .find(|l| l.starts_with("-A KUBE-SERVICES ") && l.contains(&comment))
        .and_then(|l| l.rsplit(' ').next())
        .expect("a cluster IP rule")
}

/// `save` (the `iptables-save` text of [`render_input`]'s node) with drift an audit must find:
/// the first endpoint chain of service port 17 loses its DNAT rule, the first probability of
/// service port 250 changes, the SVC chain of service port 4321 gets a rule kube-proxy would not
/// write, a stale `KUBE-SEP-` chain with a rule appears, and the nodeports rule that must stay
/// last in nat `KUBE-SERVICES` comes first; the first two rules of `KUBE-NODEPORTS` also swap
/// places (an order the audit ignores).
pub fn drifted_save(save: &str) -> String {
    const STALE: &str = "KUBE-SEP-STALE0000000000";
    let svc17 = format!("-A {} ", svc_chain(save, "ns17/service-17:http"));
    let sep17 = save
        .lines()
        .find(|l| l.starts_with(&svc17) && l.contains(" -j KUBE-SEP-"))
        .and_then(|l| l.rsplit(' ').next())
        .expect("an endpoint chain");
    let dnat17 = format!("-A {sep17} ");
    let svc250 = format!("-A {} ", svc_chain(save, "ns50/service-250:http"));
    let svc4321 = format!("-A {} ", svc_chain(save, "ns21/service-4321:http"));
    let last_rule = save
        .lines()
        .find(|l| l.starts_with("-A KUBE-SERVICES ") && l.contains("must be the last rule"))
        .expect("a nodeports rule");
    let mut out = String::with_capacity(save.len() + 1024);
    let (mut prob_changed, mut extra_added, mut moved) = (false, false, false);
    let (mut held, mut swapped): (Option<&str>, bool) = (None, false);
    for line in save.lines() {
        if line == last_rule || line.starts_with(&dnat17) && line.contains(" -j DNAT ") {
            continue;
        }
        if line.starts_with(":KUBE-SERVICES ") {
            out.push(':');
            out.push_str(STALE);
            out.push_str(" - [0:0]\n");
        }
        if line.starts_with("-A KUBE-NODEPORTS ") && held.is_none() && !swapped {
            held = Some(line);
            continue;
        }
        if line.starts_with("-A KUBE-SERVICES ") && !moved {
            moved = true;
            out.push_str(last_rule);
            out.push_str("\n-A ");
            out.push_str(STALE);
            out.push_str(" -p tcp -m tcp -j DNAT --to-destination 10.250.0.1:8080\n");
        }
        if !prob_changed && line.starts_with(&svc250) && line.contains("--probability ") {
            prob_changed = true;
            let i = line.find("--probability ").expect("found") + "--probability ".len();
            let j = line[i..].find(' ').map_or(line.len(), |j| i + j);
            out.push_str(&line[..i]);
            out.push_str("0.50000000000");
            out.push_str(&line[j..]);
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.starts_with("-A KUBE-NODEPORTS ") {
            if let Some(h) = held.take() {
                out.push_str(h);
                out.push('\n');
                swapped = true;
            }
        }
        if !extra_added && line.starts_with(&svc4321) {
            extra_added = true;
            out.push_str(&svc4321);
            out.push_str("-s 198.51.100.0/24 -j DROP\n");
        }
    }
    out
}

/// Nanoseconds this thread has run on a CPU (Linux's `/proc/thread-self/schedstat`; 0
/// elsewhere). Unlike wall-clock time, it leaves out the time spent waiting for a core that
/// other jobs hold.
pub fn on_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A size field of `/proc/self/status` (`VmRSS:`, `VmHWM:`) in bytes; `None` off Linux.
pub fn status_bytes(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `f` and measures how far the resident memory's high-water mark (`VmHWM`) rose above
/// the resident memory before it: `clear_refs` 5 resets the mark first (no allocator hooks: the
/// workspace forbids unsafe code). `None` for the growth where `/proc` does not allow it.
pub fn peak_rss_growth<T>(f: impl FnOnce() -> T) -> (T, Option<u64>) {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let base = status_bytes("VmRSS:");
    let out = f();
    let growth = match (reset, base, status_bytes("VmHWM:")) {
        (true, Some(base), Some(peak)) => Some(peak.saturating_sub(base)),
        _ => None,
    };
    (out, growth)
}

/// The minimum and the median of some timings.
pub fn min_median(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}
