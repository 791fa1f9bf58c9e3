//! `trace_ipvs`: the virtual server lookup, the scheduler's pick and the masquerade decision of
//! kube-proxy's ipvs mode.

use svccore::model::{IpFamily, ProxyConfig};
use svccore::proxier::config::{ProxierSettings, SettingsFlags};
use svccore::select::ipvs::Scheduler;
use svccore::trace::{render_text, trace_ipvs, Origin, Packet, Verdict};
use svccore::Cluster;

const CLUSTER: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: "", port: 8080}]
endpoints:
- {addresses: [10.244.1.5], nodeName: node-a}
- {addresses: [10.244.2.7], nodeName: node-b}
---
apiVersion: v1
kind: Service
metadata: {name: local, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.11
  externalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 8080, nodePort: 30081}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: local-1, namespace: shop, labels: {kubernetes.io/service-name: local}}
addressType: IPv4
ports: [{name: "", port: 8080}]
endpoints:
- {addresses: [10.244.1.6], nodeName: node-a}
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: shop}
spec: {clusterIP: 10.96.0.12, ports: [{port: 80}]}
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clusterCIDR: 10.244.0.0/16
"#;

fn cluster() -> Cluster {
    svccore::load::load_strs([(Some("c.yaml"), CLUSTER)]).unwrap()
}

fn settings(c: &Cluster) -> ProxierSettings {
    ProxierSettings::from_cluster(c, "node-a", IpFamily::IPv4).unwrap()
}

fn packet(src: &str, dst: &str, port: u16, origin: Origin) -> Packet {
    Packet::new(src.parse().unwrap(), dst.parse().unwrap(), port, origin)
}

fn endpoint(v: &Verdict) -> &str {
    match v {
        Verdict::Dnat { endpoint, .. } => endpoint,
        other => panic!("not a DNAT: {other:?}"),
    }
}

#[test]
fn cluster_ip_from_a_pod_is_not_masqueraded_from_the_node_it_is() {
    let c = cluster();
    let s = settings(&c);
    let t = trace_ipvs(
        &c,
        &s,
        &packet("10.244.1.9", "10.96.0.10", 80, Origin::LocalPod),
    )
    .unwrap();
    assert_eq!(t.outcomes.len(), 1);
    let o = &t.outcomes[0];
    // rr on a fresh VS: the kernel's first dest is the last added (ascending insertion).
    assert_eq!(endpoint(&o.verdict), "10.244.2.7:8080");
    assert!(!o.masquerade);
    assert_eq!(o.probability.fraction, "1");
    let vs = t.ipvs.as_ref().unwrap();
    assert_eq!((vs.kind, vs.persistent_seconds), ("cluster-ip", Some(600)));
    let t = trace_ipvs(
        &c,
        &s,
        &packet("192.168.0.10", "10.96.0.10", 80, Origin::Host),
    )
    .unwrap();
    assert!(t.outcomes[0].masquerade);
    let text = render_text(&t);
    assert!(text.contains("ipvs virtual server TCP  10.96.0.10:80 (cluster-ip) of shop/web: scheduler rr, persistent 600s"), "{text}");
    assert!(
        text.contains("masquerade: cluster IP from outside the pod network"),
        "{text}"
    );
}

#[test]
fn node_ports_masquerade_unless_external_policy_is_local() {
    let c = cluster();
    let s = settings(&c);
    let t = trace_ipvs(
        &c,
        &s,
        &packet("203.0.113.9", "192.168.0.10", 30080, Origin::External),
    )
    .unwrap();
    assert_eq!(t.ipvs.as_ref().unwrap().kind, "node-port");
    assert!(t.outcomes[0].masquerade);
    let t = trace_ipvs(
        &c,
        &s,
        &packet("203.0.113.9", "192.168.0.10", 30081, Origin::External),
    )
    .unwrap();
    assert_eq!(endpoint(&t.outcomes[0].verdict), "10.244.1.6:8080");
    assert!(!t.outcomes[0].masquerade);
}

#[test]
fn hairpin_is_masqueraded() {
    let c = cluster();
    let s = settings(&c);
    let t = trace_ipvs(
        &c,
        &s,
        &packet("10.244.1.6", "10.96.0.11", 80, Origin::LocalPod),
    )
    .unwrap();
    assert_eq!(endpoint(&t.outcomes[0].verdict), "10.244.1.6:8080");
    assert!(t.outcomes[0].masquerade);
}

#[test]
fn no_endpoints_rejects_and_no_service_accepts() {
    let c = cluster();
    let s = settings(&c);
    let t = trace_ipvs(
        &c,
        &s,
        &packet("10.244.1.9", "10.96.0.12", 80, Origin::LocalPod),
    )
    .unwrap();
    assert!(
        matches!(&t.outcomes[0].verdict, Verdict::Reject { reason, .. } if reason == "shop/empty: no destination available")
    );
    let t = trace_ipvs(
        &c,
        &s,
        &packet("10.244.1.9", "10.96.9.9", 80, Origin::LocalPod),
    )
    .unwrap();
    assert_eq!(t.outcomes[0].verdict, Verdict::Accept);
    assert!(t.ipvs.is_none());
}

#[test]
fn scheduler_and_masquerade_all_flags_apply() {
    let c = cluster();
    let mut s = settings(&c);
    SettingsFlags {
        ipvs_scheduler: Some("sh".into()),
        masquerade_all: Some(true),
        ..Default::default()
    }
    .apply(&mut s)
    .unwrap();
    let p = packet("10.244.1.9", "10.96.0.10", 80, Origin::LocalPod);
    let a = trace_ipvs(&c, &s, &p).unwrap();
    assert_eq!(a.ipvs.as_ref().unwrap().scheduler, "sh");
    assert!(a.outcomes[0].masquerade);
    // Source hashing: the same client always lands on the same endpoint.
    assert_eq!(a, trace_ipvs(&c, &s, &p).unwrap());
}

#[test]
fn a_separate_configuration_replaces_the_clusters() {
    let c = cluster();
    let cfg = ProxyConfig {
        ipvs_scheduler: Some("lc".into()),
        ..Default::default()
    };
    let s = ProxierSettings::from_config(&c, Some(&cfg), "node-a", IpFamily::IPv4).unwrap();
    assert_eq!(s.ipvs.scheduler, Scheduler::Lc);
    // No clusterCIDR in that configuration: no detector, a node's cluster IP traffic is not
    // masqueraded.
    let t = trace_ipvs(
        &c,
        &s,
        &packet("192.168.0.10", "10.96.0.10", 80, Origin::Host),
    )
    .unwrap();
    assert!(!t.outcomes[0].masquerade);
}

#[test]
fn wrong_family_is_an_invalid_argument() {
    let c = cluster();
    let e = trace_ipvs(
        &c,
        &settings(&c),
        &packet("fd00::1", "fd00::2", 80, Origin::LocalPod),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "packet fd00::1 -> fd00::2 is not IPv4 traffic"
    );
}
