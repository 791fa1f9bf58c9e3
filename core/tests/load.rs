//! Loading the bundled examples and the conformance inputs, merging inputs, and the tolerances
//! kube-proxy applies.

use std::path::PathBuf;

use svccore::categorize::{categorize, NodeContext};
use svccore::model::IpFamily;
use svccore::snapshot::ProxySnapshot;
use svccore::validate::{validate, ValidateOptions};
use svccore::{Cluster, Error, Loader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_file(rel: &str) -> Cluster {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let mut l = Loader::new();
    l.add_str(Some(rel), &text).unwrap();
    l.finish().unwrap()
}

fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
        .map(|n| format!("examples/{n}"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_is_valid_and_every_proxied_port_has_endpoints() {
    let ex = examples();
    assert!(ex.len() >= 4, "{ex:?}");
    for f in ex {
        let c = load_file(&f);
        let errs = validate(&c, &ValidateOptions::default());
        assert!(errs.is_empty(), "{f}: {errs:#?}");
        let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
        assert!(!snap.ports.is_empty(), "{f}");
        for p in &snap.ports {
            assert!(
                !p.endpoints.is_empty(),
                "{f}: {} has no endpoints",
                p.service_port_name
            );
        }
    }
}

#[test]
fn nginx_example_derives_endpoints_from_pods_and_skips_headless_and_externalname() {
    let c = load_file("examples/nginx-study.yaml");
    let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
    let names: Vec<&str> = snap
        .ports
        .iter()
        .map(|p| p.service_port_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "study/service-clusterip",
            "study/service-loadbalancer",
            "study/service-nodeport"
        ]
    );
    let cip = &snap.ports[0];
    assert_eq!(cip.cluster_ip.to_string(), "10.97.97.97");
    let eps: Vec<&str> = cip.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
    // kube-proxy's byte-wise string order, not numeric order.
    assert_eq!(
        eps,
        ["10.244.104.10:80", "10.244.166.129:80", "10.244.166.191:80"]
    );
    // The LoadBalancer's named targetPort `http` resolves through the pods' containerPorts.
    let lb = &snap.ports[1];
    assert!(lb.endpoints.iter().all(|e| e.port == 80));
    assert_eq!(lb.health_check_node_port, 32100);
    assert_eq!(lb.lb_ips[0].to_string(), "10.101.135.10");
    // ETP Local on node2: only the local pod serves external traffic.
    let cat = categorize(lb, &NodeContext::from_cluster(&c, "node2"));
    assert_eq!(cat.local.len(), 1);
    assert_eq!(lb.endpoints[cat.local[0]].endpoint, "10.244.104.10:80");
    assert_eq!(cat.cluster.len(), 3);
    // master has no pod: no local endpoints, but the port still has endpoints.
    let cat = categorize(lb, &NodeContext::from_cluster(&c, "master"));
    assert!(cat.local.is_empty() && cat.has_endpoints);
}

#[test]
fn redis_example_converts_legacy_endpoints() {
    let c = load_file("examples/redis.yaml");
    let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
    assert_eq!(snap.ports.len(), 1);
    assert_eq!(snap.ports[0].endpoints[0].endpoint, "10.244.1.47:6379");
    assert_eq!(snap.ports[0].endpoints[0].node_name(), Some("k8snode1"));
    // Given Endpoints win over deriving from the Pods: exactly one slice, the mirrored one.
    assert_eq!(c.slices.len(), 1);
}

#[test]
fn every_conformance_input_loads_and_builds_with_tolerance_warnings() {
    let dir = root().join("tests/conformance/iptables");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if !p.join("cluster.json").exists() {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(p.join("cluster.json")).unwrap();
        let proxy: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("proxy.json")).unwrap()).unwrap();
        let fam = if proxy["ipFamily"] == "IPv6" {
            IpFamily::IPv6
        } else {
            IpFamily::IPv4
        };
        let mut l = Loader::new();
        l.add_str(Some("cluster.json"), &text).unwrap();
        let c = l.finish().unwrap();
        let snap = ProxySnapshot::build(&c, fam).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        if p.ends_with("lb-source-ranges") {
            let w: Vec<String> = snap.warnings.iter().map(|w| w.to_string()).collect();
            assert!(
                w.iter()
                    .any(|m| m.contains("\"172.30.0.041\" read as 172.30.0.41")),
                "{w:#?}"
            );
            assert!(
                w.iter().any(|m| m.contains("read as 203.0.113.0/25")),
                "{w:#?}"
            );
            let port = &snap.ports[0];
            assert_eq!(port.source_ranges[0].to_string(), "203.0.113.0/25");
            assert_eq!(port.endpoints[0].endpoint, "10.180.0.1:80");
            // ... while the API server refuses the same text.
            let errs = validate(&c, &ValidateOptions::default());
            assert!(
                errs.iter().any(|e| e.path == "items[0].spec.clusterIPs[0]"),
                "{errs:#?}"
            );
        }
    }
    assert!(n >= 29, "found {n} cases");
}

#[test]
fn several_inputs_merge_and_yaml_streams_and_lists_mix() {
    let mut l = Loader::new();
    l.add_str(
        Some("a.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}\n---\n# empty doc below\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    )
    .unwrap();
    l.add_str(
        Some("b.json"),
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"b","namespace":"x"},"spec":{"ports":[{"port":81}]}}]}"#,
    )
    .unwrap();
    let c = l.finish().unwrap();
    assert_eq!(c.services.len(), 2);
    // The Deployment is skipped with a warning naming it.
    assert!(c
        .warnings
        .iter()
        .any(|w| w.file.as_deref() == Some("a.yaml")
            && w.path == "[2]"
            && w.message.contains("Deployment")));
    // b had no clusterIP: it gets one from 10.96.0.0/12, never 10.96.0.2.
    let b = &c.services[1];
    let ip: std::net::Ipv4Addr = b.cluster_ip.as_deref().unwrap().parse().unwrap();
    assert!("10.96.0.0/12"
        .parse::<ipnet::Ipv4Net>()
        .unwrap()
        .contains(&ip));
    assert_ne!(ip.to_string(), "10.96.0.2");
    assert!(c
        .warnings
        .iter()
        .any(|w| w.path == "items[0].spec.clusterIP"));
}

#[test]
fn allocation_is_deterministic_and_collision_free() {
    let mut svcs = String::new();
    for i in 0..300 {
        svcs.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec: {{type: NodePort, ports: [{{port: 80}}]}}\n"
        ));
    }
    let load = || {
        let mut l = Loader::new();
        l.add_str(None, &svcs).unwrap();
        l.finish().unwrap()
    };
    let (a, b) = (load(), load());
    let ips: std::collections::HashSet<_> =
        a.services.iter().map(|s| s.cluster_ip.clone()).collect();
    let ports: std::collections::HashSet<_> =
        a.services.iter().map(|s| s.ports[0].node_port).collect();
    assert_eq!(ips.len(), 300);
    assert_eq!(ports.len(), 300);
    assert!(a
        .services
        .iter()
        .all(|s| (30000..=32767).contains(&s.ports[0].node_port.unwrap())));
    for (x, y) in a.services.iter().zip(&b.services) {
        assert_eq!(x.cluster_ip, y.cluster_ip);
        assert_eq!(x.ports[0].node_port, y.ports[0].node_port);
    }
}

#[test]
fn admitted_services_keep_their_ports_as_given() {
    // A Service with a clusterIP came from an API server: a port without nodePort stays without
    // (kube-proxy then writes no NodePort rule; see svc4 of the conformance case `overall`).
    let mut l = Loader::new();
    l.add_str(None, "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: NodePort, clusterIP: 10.96.0.9, ports: [{port: 80}]}\n").unwrap();
    let c = l.finish().unwrap();
    assert_eq!(c.services[0].ports[0].node_port, None);
}

#[test]
fn structural_errors_are_all_collected() {
    let mut l = Loader::new();
    l.add_str(
        Some("x.json"),
        r#"{"apiVersion":"v1","kind":"List","items":[
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":"80"}]}},
        {"kind":"Service"},
        {"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"status":{"addresses":"10.0.0.1"}}]}"#,
    )
    .unwrap();
    let Err(Error::Manifest(errs)) = l.finish() else {
        panic!("expected manifest errors")
    };
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "items[0].spec.ports[0].port",
            "items[1]",
            "items[2].status.addresses"
        ]
    );
    assert_eq!(
        errs[0].to_string(),
        "x.json: items[0].spec.ports[0].port: must be an integer, got a string"
    );
}

#[test]
fn render_time_refuses_what_could_corrupt_rule_text() {
    // Loading for rendering is tolerant, but a name with a quote never reaches a renderer.
    let mut l = Loader::new();
    l.add_str(None, r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a\" -j ACCEPT #"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}"#).unwrap();
    let c = l.finish().unwrap();
    let Err(Error::Validation(errs)) = ProxySnapshot::build(&c, IpFamily::IPv4) else {
        panic!("expected refusal")
    };
    assert_eq!(errs[0].path, "metadata.name");
}

#[test]
fn pods_become_endpoints_as_the_endpointslice_controller_makes_them() {
    let pod = |name: &str, ip: &str, ready: &str, deleting: bool, phase: &str| {
        let del = if deleting {
            r#","deletionTimestamp":"2024-01-01T00:00:00Z""#
        } else {
            ""
        };
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"d","labels":{{"app":"a"}}{del}}},
            "spec":{{"nodeName":"n1","containers":[{{"name":"c","ports":[{{"name":"web","containerPort":8080}}]}}]}},
            "status":{{"phase":"{phase}","podIP":"{ip}","conditions":[{{"type":"Ready","status":"{ready}"}}]}}}}"#
        )
    };
    let text = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[
        {{"apiVersion":"v1","kind":"Service","metadata":{{"name":"s","namespace":"d"}},
          "spec":{{"clusterIP":"10.0.0.1","selector":{{"app":"a"}},"ports":[{{"port":80,"targetPort":"web"}}]}}}},
        {},{},{},{},
        {{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"other","namespace":"d","labels":{{"app":"b"}}}},
          "status":{{"phase":"Running","podIP":"10.1.0.9"}}}}]}}"#,
        pod("p1", "10.1.0.1", "True", false, "Running"),
        pod("p2", "10.1.0.2", "False", false, "Running"),
        pod("p3", "10.1.0.3", "True", true, "Running"),
        pod("p4", "10.1.0.4", "True", false, "Succeeded"),
    );
    let mut l = Loader::new();
    l.add_str(None, &text).unwrap();
    let c = l.finish().unwrap();
    let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
    let eps = &snap.ports[0].endpoints;
    let got: Vec<(&str, bool, bool, bool)> = eps
        .iter()
        .map(|e| (e.endpoint.as_str(), e.ready, e.serving, e.terminating))
        .collect();
    assert_eq!(
        got,
        [
            ("10.1.0.1:8080", true, true, false),
            ("10.1.0.2:8080", false, false, false),
            ("10.1.0.3:8080", false, true, true),
        ]
    );
    assert!(eps.iter().all(|e| e.node_name() == Some("n1")));
    assert!(c.warnings.iter().any(|w| w
        .message
        .contains("endpoints derived from 3 matching Pod(s)")));
}

/// spec: kube-proxy-iptables.md §5.1, de-duplication: one `ip:port` in several slices of a
/// Service is one endpoint; a later copy replaces an earlier one unless it is terminating, and
/// the list is in byte-wise order of the `ip:port` text.
#[test]
fn an_endpoint_in_several_slices_is_kept_once_and_a_terminating_copy_does_not_replace() {
    let slice = |name: &str, endpoints: &[(&str, &str, bool)]| {
        let eps: Vec<String> = endpoints
            .iter()
            .map(|(ip, node, terminating)| {
                format!(
                    r#"{{"addresses":["{ip}"],"nodeName":"{node}","conditions":{{"ready":{},"serving":true,"terminating":{terminating}}}}}"#,
                    !terminating
                )
            })
            .collect();
        format!(
            r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{{"name":"{name}","namespace":"d","labels":{{"kubernetes.io/service-name":"s"}}}},
            "addressType":"IPv4","ports":[{{"name":"","port":80}}],"endpoints":[{}]}}"#,
            eps.join(",")
        )
    };
    let text = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[
        {{"apiVersion":"v1","kind":"Service","metadata":{{"name":"s","namespace":"d"}},
          "spec":{{"clusterIP":"10.0.0.1","ports":[{{"port":80}}]}}}},{},{},{}]}}"#,
        slice(
            "a",
            &[
                ("10.1.1.1", "n1", false),
                ("10.1.1.2", "n1", false),
                ("10.1.1.11", "n1", true)
            ]
        ),
        // 10.1.1.1 again, terminating: the ready copy from "a" stays; 10.1.1.2 again, ready:
        // this copy replaces the one from "a".
        slice("b", &[("10.1.1.1", "n2", true), ("10.1.1.2", "n2", false)]),
        // 10.1.1.11 again, ready: replaces the terminating copy; 10.1.1.2 a third time,
        // terminating: the copy from "b" stays.
        slice("c", &[("10.1.1.11", "n3", false), ("10.1.1.2", "n3", true)]),
    );
    let mut l = Loader::new();
    l.add_str(None, &text).unwrap();
    let c = l.finish().unwrap();
    let snap = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
    let got: Vec<(&str, Option<&str>, bool)> = snap.ports[0]
        .endpoints
        .iter()
        .map(|e| (e.endpoint.as_str(), e.node_name(), e.terminating))
        .collect();
    assert_eq!(
        got,
        [
            ("10.1.1.11:80", Some("n3"), false),
            ("10.1.1.1:80", Some("n1"), false),
            ("10.1.1.2:80", Some("n2"), false),
        ]
    );
}
