//! Input an operator can trust: raw API lists, inputs without objects, objects that refer to
//! objects the input lacks.

use std::path::PathBuf;

use svccore::{Issue, Loader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn warnings_of(inputs: &[(&str, &str)]) -> Vec<String> {
    let mut l = Loader::new();
    for (f, t) in inputs {
        l.add_str(Some(f), t).unwrap();
    }
    l.finish()
        .unwrap()
        .warnings
        .iter()
        .map(Issue::to_string)
        .collect()
}

#[test]
fn raw_api_lists_give_items_the_lists_kind_and_api_version() {
    let dir = root().join("tests/raw-api");
    let slices = std::fs::read_to_string(dir.join("endpointslices.json")).unwrap();
    let services = std::fs::read_to_string(dir.join("services.json")).unwrap();
    let mut l = Loader::new();
    l.add_str(Some("endpointslices.json"), &slices).unwrap();
    l.add_str(Some("services.json"), &services).unwrap();
    let c = l.finish().unwrap();
    let names: Vec<String> = c.slices.iter().map(|s| s.meta.name.to_string()).collect();
    assert_eq!(names, ["kubernetes", "kube-dns-7cq5x"]);
    assert_eq!(c.slices[1].loc.path, "items[1]");
    assert_eq!(c.slices[1].endpoints.len(), 2);
    let keys: Vec<String> = c.services.iter().map(|s| s.key()).collect();
    assert_eq!(keys, ["default/kubernetes", "kube-system/kube-dns"]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(svccore::validate::validate(&c, &Default::default()).is_empty());
    let snap = svccore::snapshot::ProxySnapshot::build(&c, svccore::model::IpFamily::IPv4).unwrap();
    let dns = snap
        .find("kube-system/kube-dns", Some("dns"))
        .pop()
        .unwrap();
    let eps: Vec<&str> = dns.endpoints.iter().map(|e| e.endpoint.as_str()).collect();
    assert_eq!(eps, ["10.244.0.3:53", "10.244.0.4:53"]);
}

#[test]
fn a_kind_inside_a_typed_list_item_still_wins() {
    // `kubectl get svc -o json` items carry their kind: an item of another kind is not renamed.
    let text = r#"{"kind":"ServiceList","apiVersion":"v1","items":[
      {"kind":"Node","apiVersion":"v1","metadata":{"name":"n1"}}]}"#;
    let mut l = Loader::new();
    l.add_str(Some("l.json"), text).unwrap();
    let c = l.finish().unwrap();
    assert_eq!((c.services.len(), c.nodes.len()), (0, 1));
}

#[test]
fn an_untyped_list_item_without_kind_is_still_an_error_with_its_path() {
    let text = r#"{"kind":"List","apiVersion":"v1","items":[{"metadata":{"name":"x"}}]}"#;
    let mut l = Loader::new();
    l.add_str(Some("l.json"), text).unwrap();
    let e = l.finish().unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid manifest: l.json: items[0]: not a Kubernetes object: kind and apiVersion must be a string"
    );
}

#[test]
fn an_input_without_objects_is_named_in_a_warning() {
    let node = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n";
    let w = warnings_of(&[
        ("empty.yaml", ""),
        ("comments.yaml", "# nothing here\n---\n"),
        (
            "nothing.json",
            r#"{"apiVersion":"v1","kind":"List","items":[]}"#,
        ),
        ("node.yaml", node),
    ]);
    assert_eq!(
        w,
        [
            "empty.yaml: holds no Kubernetes objects",
            "comments.yaml: holds no Kubernetes objects",
            "nothing.json: holds no Kubernetes objects",
        ]
    );
    let mut l = Loader::new();
    l.add_str(None, "").unwrap();
    let c = l.finish().unwrap();
    assert_eq!(
        c.warnings[0].to_string(),
        "the input holds no Kubernetes objects"
    );
}

#[test]
fn a_skipped_kind_is_still_an_object() {
    let w = warnings_of(&[(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )]);
    assert_eq!(
        w,
        ["cm.yaml: skipping ConfigMap (v1): not a kind svccore uses"]
    );
}

#[test]
fn endpoints_without_their_service_are_warned_about() {
    let text = r#"
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.5]}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: shop}
subsets: [{addresses: [{ip: 10.244.1.6}], ports: [{port: 5432}]}]
"#;
    assert_eq!(
        warnings_of(&[("orphans.yaml", text)]),
        [
            "orphans.yaml: [0].metadata.labels.kubernetes.io/service-name: no Service shop/web in the input: kube-proxy uses this EndpointSlice for nothing",
            "orphans.yaml: [1].metadata.name: no Service shop/db in the input: kube-proxy uses these Endpoints for nothing",
        ]
    );
}

// ------------------------------------------------------------------ what rendering tolerates

use svccore::model::IpFamily;
use svccore::proxier::config::{ProxierSettings, ProxyMode, SettingsFlags};
use svccore::render::iptables;
use svccore::snapshot::ProxySnapshot;
use svccore::Error;

fn cluster(text: &str) -> svccore::Cluster {
    let mut l = Loader::new();
    l.add_str(Some("c.yaml"), text).unwrap();
    l.finish().unwrap()
}

fn snapshot_warnings(text: &str) -> Vec<String> {
    ProxySnapshot::build(&cluster(text), IpFamily::IPv4)
        .unwrap()
        .warnings
        .iter()
        .map(Issue::to_string)
        .collect()
}

const TOLERATED: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: shop}
spec: {clusterIP: 10.96.0.9}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 80}
  - {name: http, port: 81, targetPort: 8081}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8081}]
endpoints: [{addresses: [10.244.1.5]}, {addresses: ["fd00::5"]}]
"#;

#[test]
fn what_rendering_tolerates_is_said_with_its_path_once() {
    assert_eq!(
        snapshot_warnings(TOLERATED),
        [
            "c.yaml: [0].spec.ports: Service shop/empty has no ports: kube-proxy programs nothing for it",
            "c.yaml: [1].spec.ports[0].nodePort: 80 is outside the node port range 30000-32767: kube-proxy programs it as given",
            "c.yaml: [2].endpoints[1].addresses[0]: \"fd00::5\" is not an IPv4 address (addressType IPv4): ignored, as kube-proxy does",
            "c.yaml: [1].spec.ports[0]: port name \"http\" (TCP) is used again by spec.ports[1]: kube-proxy keeps the last port of a name and protocol, so this one is not programmed",
        ]
    );
}

#[test]
fn of_two_ports_with_one_name_kube_proxy_keeps_the_last() {
    let snap = ProxySnapshot::build(&cluster(TOLERATED), IpFamily::IPv4).unwrap();
    let web: Vec<(u16, u16)> = snap
        .find("shop/web", None)
        .iter()
        .map(|p| (p.port, p.node_port))
        .collect();
    assert_eq!(web, [(81, 0)]);
}

#[test]
fn the_node_port_range_the_cluster_was_loaded_with_counts() {
    let mut l = Loader::new();
    l.node_port_range(20, 100);
    l.add_str(Some("c.yaml"), TOLERATED).unwrap();
    let c = l.finish().unwrap();
    let w = ProxySnapshot::build(&c, IpFamily::IPv4).unwrap().warnings;
    assert!(
        !w.iter().any(|w| w.message.contains("node port range")),
        "{w:?}"
    );
}

#[test]
fn every_render_gives_the_warnings_of_the_snapshot_it_rendered_and_the_same_text() {
    use svccore::render::{ipvs, nftables, userspace};
    let c = cluster(TOLERATED);
    for family in [IpFamily::IPv4, IpFamily::IPv6] {
        // Four warnings for IPv4 (see above).
        let expected = ProxySnapshot::build(&c, family).unwrap().warnings;
        let mut s = ProxierSettings::from_cluster(&c, "node-a", family).unwrap();
        s.checks.allow_unknown_node = true;
        // Userspace mode needs the node's IP (no Node object here) and a bind address of the
        // family.
        let (ip, any) = match family {
            IpFamily::IPv4 => ("192.168.0.10", "0.0.0.0"),
            IpFamily::IPv6 => ("fd00::10", "::"),
        };
        s.node.ips = vec![ip.parse().unwrap()];
        s.userspace.bind_address = any.parse().unwrap();
        let form = iptables::Form::Save;
        let rendered = [
            (
                svccore::render::iptables_text(ProxyMode::Iptables, &c, &s, form).unwrap(),
                iptables::render(&c, &s, form).unwrap(),
            ),
            (
                userspace::render_with_warnings(&c, &s, form).unwrap(),
                userspace::render(&c, &s, form).unwrap(),
            ),
            (
                nftables::render_with_warnings(&c, &s, nftables::Form::Dump).unwrap(),
                nftables::render(&c, &s, nftables::Form::Dump).unwrap(),
            ),
            (
                ipvs::render_with_warnings(&c, &s, ipvs::Form::Save).unwrap(),
                ipvs::render(&c, &s, ipvs::Form::Save).unwrap(),
            ),
        ];
        for (r, text) in rendered {
            assert_eq!(r.family, family);
            assert_eq!(r.warnings, expected);
            assert_eq!(r.text, text);
        }
    }
}

#[test]
fn of_two_objects_with_one_name_the_snapshot_keeps_the_last_and_says_so() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.11, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: "", port: 8080}]
endpoints: [{addresses: [10.244.1.5]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: "", port: 8080}]
endpoints: [{addresses: [10.244.2.7]}]
"#;
    let snap = ProxySnapshot::build(&cluster(text), IpFamily::IPv4).unwrap();
    assert_eq!(snap.ports.len(), 1);
    assert_eq!(snap.ports[0].cluster_ip.to_string(), "10.96.0.11");
    let eps: Vec<&str> = snap.ports[0]
        .endpoints
        .iter()
        .map(|e| e.endpoint.as_str())
        .collect();
    assert_eq!(eps, ["10.244.2.7:8080"]);
    let w: Vec<String> = snap.warnings.iter().map(Issue::to_string).collect();
    assert_eq!(
        w,
        [
            "c.yaml: [0].metadata.name: Service shop/web is given again at c.yaml: [1].metadata.name: kube-proxy's informer keeps the last object of a name, so this one is ignored",
            "c.yaml: [2].metadata.name: EndpointSlice shop/web-1 is given again at c.yaml: [3].metadata.name: kube-proxy's informer keeps the last object of a name, so this one is ignored",
        ]
    );
}

fn settings(c: &svccore::Cluster, flags: SettingsFlags) -> svccore::Result<ProxierSettings> {
    ProxierSettings::layered(c.proxy_config.as_ref(), None, &flags)?.resolve(c)
}

#[test]
fn strict_refuses_what_rendering_tolerates_with_every_path() {
    let c = cluster(TOLERATED);
    let flags = SettingsFlags {
        strict: Some(true),
        ..Default::default()
    };
    let e = settings(&c, flags.clone()).unwrap_err();
    assert!(matches!(e, Error::Validation(_)));
    let paths: Vec<String> = e.issues().iter().map(|i| i.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "[0].spec.ports",
            "[1].spec.ports[0].nodePort",
            "[2].endpoints[1].addresses[0]",
            "[1].spec.ports[0]"
        ]
    );
    for mode in ProxyMode::ALL {
        flags.check_mode(mode, false).unwrap();
    }
    let clean = cluster("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n");
    let s = settings(&clean, flags).unwrap();
    // Rendered from the snapshot the strict check built: the same text as without the check.
    let lenient = settings(&clean, SettingsFlags::default()).unwrap();
    for form in [iptables::Form::Restore, iptables::Form::Save] {
        let strict = iptables::render(&clean, &s, form).unwrap();
        assert_eq!(strict, iptables::render(&clean, &lenient, form).unwrap());
    }
    use svccore::render::nftables;
    let strict = nftables::render(&clean, &s, nftables::Form::Dump).unwrap();
    assert_eq!(
        strict,
        nftables::render(&clean, &lenient, nftables::Form::Dump).unwrap()
    );
}

// ------------------------------------------------------------------------------- node names

const NODES: &str = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Node, metadata: {name: master}, status: {addresses: [{type: InternalIP, address: 192.168.100.10}]}}
- {apiVersion: v1, kind: Node, metadata: {name: node1}, status: {addresses: [{type: InternalIP, address: 192.168.100.11}]}}
- {apiVersion: v1, kind: Node, metadata: {name: node2}, status: {addresses: [{type: InternalIP, address: 192.168.100.12}]}}
"#;

fn node_flags(name: &str) -> SettingsFlags {
    SettingsFlags {
        node_name: Some(name.into()),
        ..Default::default()
    }
}

#[test]
fn a_mistyped_node_name_is_refused_with_the_closest_name() {
    let c = cluster(NODES);
    let e = settings(&c, node_flags("nodee2")).unwrap_err();
    assert_eq!(e.kind(), "unknown-node");
    assert_eq!(e.to_string(), "no Node named nodee2 (did you mean node2?)");
    let e = settings(&c, node_flags("nosuch")).unwrap_err();
    assert_eq!(e.to_string(), "no Node named nosuch");
    let e = svccore::render::iptables::render(
        &c,
        &ProxierSettings::layered(None, None, &node_flags("Node1")).unwrap(),
        Default::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "no Node named Node1 (did you mean node1?)");
}

#[test]
fn an_unknown_node_can_be_allowed_and_is_then_noted() {
    let c = cluster(NODES);
    let flags = SettingsFlags {
        allow_unknown_node: Some(true),
        ..node_flags("nodee2")
    };
    let s = settings(&c, flags).unwrap();
    assert!(s.node.ips.is_empty());
    assert_eq!(
        s.node_notes(&c, ProxyMode::Iptables),
        ["no Node named nodee2 (did you mean node2?): the node has no IPs or labels"]
    );
}

#[test]
fn without_a_node_name_the_first_node_object_is_used_and_said() {
    let c = cluster(NODES);
    let s = settings(&c, SettingsFlags::default()).unwrap();
    assert_eq!(s.node.name, "master");
    assert_eq!(s.node.node_ip().unwrap().to_string(), "192.168.100.10");
    assert_eq!(
        s.node_notes(&c, ProxyMode::Iptables),
        ["node master (the first Node object; --node chooses another)"]
    );
    let s = settings(&c, node_flags("node1")).unwrap();
    assert!(s.node_notes(&c, ProxyMode::Iptables).is_empty());
}

#[test]
fn a_hostname_override_names_the_node_and_is_said() {
    let text = format!(
        "{NODES}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nhostnameOverride: node2\n"
    );
    let c = cluster(&text);
    let s = settings(&c, SettingsFlags::default()).unwrap();
    assert_eq!(
        s.node_notes(&c, ProxyMode::Ipvs),
        ["node node2 (the KubeProxyConfiguration's hostnameOverride)"]
    );
}

#[test]
fn without_node_objects_each_mode_says_what_it_lacks() {
    let c = cluster("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n");
    let s = settings(&c, node_flags("node2")).unwrap();
    assert_eq!(
        s.node_notes(&c, ProxyMode::Iptables),
        ["no Node objects: the IPs and labels of node node2 are unknown, so no node IP for load-balancer source ranges, no zone for topology hints"]
    );
    assert_eq!(
        s.node_notes(&c, ProxyMode::Ipvs),
        ["no Node objects: the IPs and labels of node node2 are unknown, so no NodePort addresses, no node IP for load-balancer source ranges, no zone for topology hints"]
    );
    let flags = SettingsFlags {
        nodeport_addresses: Some(vec!["192.168.0.0/16".into()]),
        ..node_flags("node2")
    };
    let s = settings(&c, flags).unwrap();
    assert_eq!(
        s.node_notes(&c, ProxyMode::Nftables),
        ["no Node objects: the IPs and labels of node node2 are unknown, so no NodePort addresses, no node IP for load-balancer source ranges, no zone for topology hints"]
    );
    let s = settings(&c, SettingsFlags::default()).unwrap();
    assert_eq!(
        s.node_notes(&c, ProxyMode::Iptables),
        ["no node given and no Node objects: no endpoint is local and the node has no IPs"]
    );
    // Settings that give the node's IPs (kube-proxy's unit tests do) leave only the labels.
    let json = serde_json::json!({"nodeName": "node2", "nodeIPs": ["192.168.0.2"]});
    let s = ProxierSettings::layered(None, Some((&json, None)), &SettingsFlags::default())
        .unwrap()
        .resolve(&c)
        .unwrap();
    assert_eq!(
        s.node_notes(&c, ProxyMode::Iptables),
        [
            "node node2 (nodeName of the proxier settings)",
            "no Node objects: the labels of node node2 are unknown, so no zone for topology hints"
        ]
    );
}

#[test]
fn a_health_check_node_port_may_not_reuse_the_services_own_node_port() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  externalTrafficPolicy: Local
  healthCheckNodePort: 30080
  ports: [{name: tcp, port: 80, protocol: TCP, nodePort: 30080}, {name: udp, port: 80, protocol: UDP, nodePort: 30080}]
"#;
    let errors: Vec<String> = svccore::validate::validate(&cluster(text), &Default::default())
        .iter()
        .map(Issue::to_string)
        .collect();
    assert_eq!(
        errors,
        ["c.yaml: spec.healthCheckNodePort: health check node port 30080 is already allocated to Service shop/web at c.yaml: spec.ports[0].nodePort"]
    );
}

#[test]
fn two_services_on_one_address_render_with_a_warning_naming_both() {
    let dir = root().join("tests/bad-manifests");
    let warnings = |file: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let mut l = Loader::new();
        l.add_str(Some(file), &text).unwrap();
        let c = l.finish().unwrap();
        ProxySnapshot::build(&c, IpFamily::IPv4)
            .unwrap()
            .warnings
            .iter()
            .map(Issue::to_string)
            .collect()
    };
    // Services are visited in namespace/name order: ops/admin before shop/web.
    assert_eq!(
        warnings("conflict-node-port.yaml"),
        ["conflict-node-port.yaml: items[0].spec.ports[0].nodePort: node port 30080/TCP is also Service ops/admin's at conflict-node-port.yaml: items[1].spec.ports[0].nodePort: kube-proxy programs both in no fixed order, so which one traffic reaches is undefined"]
    );
}

#[test]
fn two_services_on_one_cluster_ip_and_port_render_with_a_warning() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: "fd00::a", ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {clusterIP: "fd00::a", ports: [{port: 80}, {name: x, port: 81}]}
"#;
    let w: Vec<String> = ProxySnapshot::build(&cluster(text), IpFamily::IPv6)
        .unwrap()
        .warnings
        .iter()
        .map(Issue::to_string)
        .collect();
    assert_eq!(
        w,
        ["c.yaml: [0].spec.ports[0].port: [fd00::a]:80/TCP is also Service shop/api's at c.yaml: [1].spec.ports[0].port: kube-proxy programs both in no fixed order, so which one traffic reaches is undefined"]
    );
}
