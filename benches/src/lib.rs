//! Shared inputs for the criterion benchmarks (see `benches/`).

pub mod manifests;

use std::collections::BTreeMap;
use std::net::IpAddr;

use svccore::categorize::NodeContext;
use svccore::model::{IpFamily, Protocol, ServiceType};
use svccore::proxier::config::{LocalDetector, NodeFacts, ProxierSettings};
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};

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
                ip,
                port: 8080,
                endpoint: format!("{ip}:8080"),
                ready: true,
                serving: true,
                terminating: false,
                node_name: Some(format!("node-{}", k % 4)),
                zone: None,
                zone_hints: None,
                node_hints: None,
                topology: BTreeMap::new(),
            }
        })
        .collect();
    endpoints.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    let kind = i % 4;
    ServicePortView {
        namespace: format!("ns{}", i % 100),
        name: format!("service-{i}"),
        port_name: "http".into(),
        service_port_name: format!("ns{}/service-{i}:http", i % 100),
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
