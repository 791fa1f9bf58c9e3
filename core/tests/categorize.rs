//! Endpoint categorization, one rule per test (spec: kube-proxy-iptables.md §5.2,
//! selection-and-hashing.md §2.3-2.4).

use svccore::categorize::{categorize, filter_topology_keys, NodeContext, TopologyMode};
use svccore::model::IpFamily;
use svccore::snapshot::{ProxySnapshot, ServicePortView};
use svccore::Loader;

/// One service `ns1/svc1` (unnamed port 80, clusterIP 172.30.1.1) with `spec` fields merged in,
/// and one slice whose endpoints are given as JSON.
fn port(spec: &str, endpoints: &str) -> ServicePortView {
    let text = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[
        {{"apiVersion":"v1","kind":"Service","metadata":{{"name":"svc1","namespace":"ns1"}},
          "spec":{{"clusterIP":"172.30.1.1","ports":[{{"port":80,"protocol":"TCP"}}]{spec}}},
          "status":{{"loadBalancer":{{"ingress":[{{"ip":"1.2.3.4"}}]}}}}}},
        {{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
          "metadata":{{"name":"svc1-1","namespace":"ns1","labels":{{"kubernetes.io/service-name":"svc1"}}}},
          "addressType":"IPv4","ports":[{{"name":"","port":80,"protocol":"TCP"}}],
          "endpoints":{endpoints}}}]}}"#
    );
    let mut l = Loader::new();
    l.add_str(None, &text).unwrap();
    let c = l.finish().unwrap();
    ProxySnapshot::build(&c, IpFamily::IPv4)
        .unwrap()
        .ports
        .remove(0)
}

fn ep(ip: &str, ready: bool, serving: bool, terminating: bool, node: &str) -> String {
    format!(
        r#"{{"addresses":["{ip}"],"conditions":{{"ready":{ready},"serving":{serving},"terminating":{terminating}}},"nodeName":"{node}"}}"#
    )
}

fn ips(p: &ServicePortView, list: &[usize]) -> Vec<String> {
    list.iter()
        .map(|&i| p.endpoints[i].ip.to_string())
        .collect()
}

const LB_LOCAL: &str =
    r#","type":"LoadBalancer","externalTrafficPolicy":"Local","healthCheckNodePort":30000"#;

#[test]
fn case_5a_ready_endpoints_cluster_gets_ready_local_gets_local_ready() {
    let eps = format!(
        "[{},{},{},{},{}]",
        ep("10.0.1.1", true, true, false, "host-1"),
        ep("10.0.1.2", true, true, false, "host-1"),
        ep("10.0.1.3", false, true, true, "host-1"),
        ep("10.0.1.4", false, false, true, "host-1"),
        ep("10.0.1.5", true, true, false, "host-2"),
    );
    let p = port(LB_LOCAL, &eps);
    let c = categorize(&p, &NodeContext::named("host-1"));
    assert_eq!(ips(&p, &c.cluster), ["10.0.1.1", "10.0.1.2", "10.0.1.5"]);
    assert_eq!(ips(&p, &c.local), ["10.0.1.1", "10.0.1.2"]);
    assert!(c.has_endpoints && !c.local_fallback && !c.cluster_fallback);
    assert_eq!(
        ips(&p, &c.all_reachable),
        ["10.0.1.1", "10.0.1.2", "10.0.1.5"]
    );
}

#[test]
fn case_5b_only_terminating_locally_falls_back_to_local_serving_terminating() {
    let eps = format!(
        "[{},{},{},{}]",
        ep("10.0.1.2", false, true, true, "host-1"),
        ep("10.0.1.3", false, true, true, "host-1"),
        ep("10.0.1.4", false, false, true, "host-1"),
        ep("10.0.1.5", true, true, false, "host-2"),
    );
    let p = port(LB_LOCAL, &eps);
    let c = categorize(&p, &NodeContext::named("host-1"));
    assert_eq!(ips(&p, &c.cluster), ["10.0.1.5"]);
    assert_eq!(ips(&p, &c.local), ["10.0.1.2", "10.0.1.3"]);
    assert!(c.local_fallback);
    // SEP chains for the union.
    assert_eq!(
        ips(&p, &c.all_reachable),
        ["10.0.1.2", "10.0.1.3", "10.0.1.5"]
    );
}

#[test]
fn case_5c_remote_serving_terminating_is_the_cluster_fallback_and_local_is_empty() {
    let p = port(
        LB_LOCAL,
        &format!("[{}]", ep("10.0.1.5", false, true, true, "host-2")),
    );
    let c = categorize(&p, &NodeContext::named("host-1"));
    assert_eq!(ips(&p, &c.cluster), ["10.0.1.5"]);
    assert!(c.cluster_fallback);
    assert!(c.local.is_empty());
    assert!(c.has_endpoints);
}

#[test]
fn case_5d_not_serving_anywhere_means_no_endpoints() {
    let eps = format!(
        "[{},{}]",
        ep("10.0.1.5", false, false, true, "host-1"),
        ep("10.0.1.5", false, false, true, "host-2")
    );
    let p = port(LB_LOCAL, &eps);
    let c = categorize(&p, &NodeContext::named("host-1"));
    assert!(c.cluster.is_empty() && c.local.is_empty() && !c.has_endpoints);
}

#[test]
fn missing_conditions_mean_ready_serving_not_terminating() {
    let p = port("", r#"[{"addresses":["10.0.0.9"],"conditions":{}}]"#);
    let e = &p.endpoints[0];
    assert!(e.ready && e.serving && !e.terminating);
    assert_eq!(categorize(&p, &NodeContext::named("x")).cluster, [0]);
}

#[test]
fn only_the_first_address_is_used_and_duplicates_prefer_the_non_terminating_copy() {
    let eps = format!(
        r#"[{{"addresses":["10.0.0.1","10.0.0.2"],"conditions":{{}}}},{},{}]"#,
        ep("10.0.0.3", true, true, false, "a"),
        ep("10.0.0.3", false, true, true, "b"),
    );
    let p = port("", &eps);
    let got: Vec<&str> = p.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
    assert_eq!(got, ["10.0.0.1:80", "10.0.0.3:80"]);
    assert!(p.endpoints[1].ready);
    assert_eq!(p.endpoints[1].node_name(), Some("a"));
}

#[test]
fn endpoint_order_is_bytewise_string_order() {
    let eps = format!(
        "[{},{},{}]",
        ep("10.1.1.1", true, true, false, "a"),
        ep("10.1.1.11", true, true, false, "a"),
        ep("10.1.1.2", true, true, false, "a"),
    );
    let p = port("", &eps);
    let got: Vec<&str> = p.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
    assert_eq!(got, ["10.1.1.11:80", "10.1.1.1:80", "10.1.1.2:80"]);
}

#[test]
fn itp_local_uses_only_local_endpoints_for_cluster_ip() {
    let eps = format!(
        "[{},{}]",
        ep("10.0.0.1", true, true, false, "a"),
        ep("10.0.0.2", true, true, false, "b")
    );
    let p = port(r#","internalTrafficPolicy":"Local""#, &eps);
    assert!(p.uses_local_endpoints());
    let c = categorize(&p, &NodeContext::named("b"));
    assert_eq!(ips(&p, &c.local), ["10.0.0.2"]);
    let c = categorize(&p, &NodeContext::named("nowhere"));
    assert!(c.local.is_empty());
    // ITP Local with an LB VIP still uses the cluster list for external traffic.
    assert_eq!(c.cluster.len(), 2);
}

#[test]
fn etp_never_changes_cluster_ip_traffic() {
    let eps = format!("[{}]", ep("10.0.0.1", true, true, false, "a"));
    let p = port(LB_LOCAL, &eps);
    let c = categorize(&p, &NodeContext::named("b"));
    assert_eq!(c.cluster, [0]);
    assert!(c.local.is_empty());
}

#[test]
fn empty_node_name_matches_no_endpoint() {
    let p = port(
        LB_LOCAL,
        &format!("[{}]", ep("10.0.0.1", true, true, false, "")),
    );
    let c = categorize(&p, &NodeContext::named(""));
    assert!(c.local.is_empty());
}

fn hinted(ip: &str, zone: &str, node: &str) -> String {
    format!(
        r#"{{"addresses":["{ip}"],"conditions":{{"ready":true}},"nodeName":"{node}","zone":"{zone}","hints":{{"forZones":[{{"name":"{zone}"}}],"forNodes":[{{"name":"{node}"}}]}}}}"#
    )
}

#[test]
fn zone_hints_filter_when_every_ready_endpoint_is_hinted() {
    let eps = format!(
        "[{},{},{}]",
        hinted("10.0.0.1", "z1", "a"),
        hinted("10.0.0.2", "z2", "b"),
        hinted("10.0.0.3", "z1", "c")
    );
    let p = port("", &eps);
    let mut node = NodeContext::named("x");
    node.labels
        .insert("topology.kubernetes.io/zone".into(), "z1".into());
    let c = categorize(&p, &node);
    assert_eq!(c.topology_mode, TopologyMode::PreferSameZone);
    assert_eq!(ips(&p, &c.cluster), ["10.0.0.1", "10.0.0.3"]);
    // No endpoint hinted for the node's zone: nothing is filtered.
    node.labels
        .insert("topology.kubernetes.io/zone".into(), "z9".into());
    let c = categorize(&p, &node);
    assert_eq!(c.topology_mode, TopologyMode::None);
    assert_eq!(c.cluster.len(), 3);
}

#[test]
fn node_hints_win_over_zone_hints_when_gated_on() {
    let eps = format!(
        "[{},{}]",
        hinted("10.0.0.1", "z1", "a"),
        hinted("10.0.0.2", "z1", "b")
    );
    let p = port("", &eps);
    let mut node = NodeContext::named("b");
    node.labels
        .insert("topology.kubernetes.io/zone".into(), "z1".into());
    let c = categorize(&p, &node);
    assert_eq!(c.topology_mode, TopologyMode::PreferSameNode);
    assert_eq!(ips(&p, &c.cluster), ["10.0.0.2"]);
    node.prefer_same_node_gate = false;
    let c = categorize(&p, &node);
    assert_eq!(c.topology_mode, TopologyMode::PreferSameZone);
    assert_eq!(c.cluster.len(), 2);
}

#[test]
fn one_unhinted_ready_endpoint_disables_hints() {
    let eps = format!(
        "[{},{}]",
        hinted("10.0.0.1", "z1", "a"),
        ep("10.0.0.2", true, true, false, "b")
    );
    let p = port("", &eps);
    let mut node = NodeContext::named("a");
    node.labels
        .insert("topology.kubernetes.io/zone".into(), "z1".into());
    assert_eq!(categorize(&p, &node).cluster.len(), 2);
}

/// selection-and-hashing.md §2.4 worked example.
#[test]
fn legacy_topology_keys_worked_example() {
    let topo = |ip: &str, host: &str, zone: &str, region: &str| {
        format!(
            r#"{{"addresses":["{ip}"],"conditions":{{"ready":true}},"nodeName":"{host}","deprecatedTopology":{{"kubernetes.io/hostname":"{host}","topology.kubernetes.io/zone":"{zone}","topology.kubernetes.io/region":"{region}"}}}}"#
        )
    };
    let eps = format!(
        "[{},{},{}]",
        topo("10.0.0.1", "node-b", "z1", "r1"),
        topo("10.0.0.2", "node-c", "z2", "r1"),
        topo("10.0.0.3", "node-d", "z3", "r2")
    );
    let p = port("", &eps);
    let mut node = NodeContext::named("node-a");
    for (k, v) in [
        ("kubernetes.io/hostname", "node-a"),
        ("topology.kubernetes.io/zone", "z1"),
        ("topology.kubernetes.io/region", "r1"),
    ] {
        node.labels.insert(k.into(), v.into());
    }
    let all = [0, 1, 2];
    let run = |keys: &[&str], labels: &std::collections::BTreeMap<String, String>| {
        let keys: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        ips(&p, &filter_topology_keys(&keys, labels, &p.endpoints, &all))
    };
    let (h, z, r) = (
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
    );
    assert_eq!(run(&[h, z, "*"], &node.labels), ["10.0.0.1"]);
    assert_eq!(run(&[h, r], &node.labels), ["10.0.0.1", "10.0.0.2"]);
    assert!(run(&[h], &node.labels).is_empty());
    assert_eq!(run(&["*"], &node.labels).len(), 3);
    assert!(run(&[z], &Default::default()).is_empty());
    // Through categorize: no match means no endpoints for this node (REJECT), not a panic.
    let p2 = port(&format!(r#","topologyKeys":["{h}"]"#), &eps);
    let c = categorize(&p2, &node);
    assert!(c.cluster.is_empty() && !c.has_endpoints && c.topology_keys_unmatched);
}

#[test]
fn legacy_topology_is_derived_from_node_labels_when_the_slice_has_none() {
    let text = r#"{"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"topology.kubernetes.io/zone":"z1"}}},
      {"apiVersion":"v1","kind":"Node","metadata":{"name":"n2","labels":{"topology.kubernetes.io/zone":"z2"}}},
      {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"d"},
       "spec":{"clusterIP":"10.0.0.1","topologyKeys":["topology.kubernetes.io/zone"],"ports":[{"port":80}]}},
      {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"s1","namespace":"d","labels":{"kubernetes.io/service-name":"s"}},
       "addressType":"IPv4","ports":[{"name":"","port":80}],
       "endpoints":[{"addresses":["10.1.0.1"],"nodeName":"n1"},{"addresses":["10.1.0.2"],"nodeName":"n2"}]}]}"#;
    let mut l = Loader::new();
    l.add_str(None, text).unwrap();
    let c = l.finish().unwrap();
    let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
    let cat = categorize(&snap.ports[0], &NodeContext::from_cluster(&c, "n2"));
    assert_eq!(ips(&snap.ports[0], &cat.cluster), ["10.1.0.2"]);
}
