//! `snapshot::skipped_services`: which Services a kube-proxy of one family does not program, and
//! why; the complement of what `ProxySnapshot::build` programs.

use std::collections::BTreeSet;

use svccore::model::IpFamily;
use svccore::snapshot::{skip_reason, skipped_services, ProxySnapshot, SkipReason};
use svccore::{Cluster, Loader};

fn load(name: Option<&str>, text: &str) -> Cluster {
    let mut l = Loader::new();
    l.add_str(name, text).unwrap();
    l.finish().unwrap()
}

fn example(name: &str) -> Cluster {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    load(Some(name), &std::fs::read_to_string(p).unwrap())
}

const MIXED: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: v4, namespace: ns}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: v6, namespace: ns}
spec: {clusterIP: "fd00::10", ipFamilies: [IPv6], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: dual, namespace: ns}
spec: {clusterIPs: [10.96.0.11, "fd00::11"], ipFamilies: [IPv4, IPv6], ipFamilyPolicy: RequireDualStack, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: ns}
spec: {clusterIP: None, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: ns}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: portless, namespace: ns}
spec: {clusterIP: 10.96.0.12}
"#;

fn reasons(c: &Cluster, family: IpFamily) -> Vec<(String, SkipReason)> {
    skipped_services(c, family)
        .into_iter()
        .map(|s| (s.service.meta.name.to_string(), s.reason))
        .collect()
}

#[test]
fn each_rule_is_named_per_family() {
    let c = load(Some("mixed.yaml"), MIXED);
    let own = |v: &[(&str, SkipReason)]| -> Vec<(String, SkipReason)> {
        v.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect()
    };
    assert_eq!(
        reasons(&c, IpFamily::IPv4),
        own(&[
            ("v6", SkipReason::NoClusterIpOfFamily),
            ("headless", SkipReason::Headless),
            ("alias", SkipReason::ExternalName),
            ("portless", SkipReason::NoPorts),
        ])
    );
    assert_eq!(
        reasons(&c, IpFamily::IPv6),
        own(&[
            ("v4", SkipReason::NoClusterIpOfFamily),
            ("headless", SkipReason::Headless),
            ("alias", SkipReason::ExternalName),
            ("portless", SkipReason::NoClusterIpOfFamily),
        ])
    );
    assert_eq!(SkipReason::Headless.as_str(), "headless");
    assert!(SkipReason::ExternalName
        .message()
        .starts_with("ExternalName"));
}

#[test]
fn skipped_and_programmed_partition_the_services() {
    for (name, c) in [
        ("mixed.yaml", load(Some("mixed.yaml"), MIXED)),
        ("nginx-study.yaml", example("nginx-study.yaml")),
        ("kube-system.json", example("kube-system.json")),
        ("redis.yaml", example("redis.yaml")),
    ] {
        for family in [IpFamily::IPv4, IpFamily::IPv6] {
            let snap = ProxySnapshot::build(&c, family).unwrap();
            let programmed: BTreeSet<(&str, &str)> = snap
                .ports
                .iter()
                .map(|p| (p.namespace.as_str(), p.name.as_str()))
                .collect();
            for svc in &c.services {
                let key = (svc.meta.namespace.as_str(), svc.meta.name.as_str());
                let skipped = skip_reason(svc, family);
                assert_eq!(
                    skipped.is_none(),
                    programmed.contains(&key),
                    "{name} {family:?} {key:?}: skip reason {skipped:?}"
                );
            }
        }
    }
}

#[test]
fn the_nginx_study_skips_its_headless_and_externalname_services() {
    let c = example("nginx-study.yaml");
    let r = reasons(&c, IpFamily::IPv4);
    assert!(r.contains(&("service-headliness".into(), SkipReason::Headless)));
    assert!(r.contains(&("service-externalname".into(), SkipReason::ExternalName)));
    assert_eq!(r.len(), 2);
}
