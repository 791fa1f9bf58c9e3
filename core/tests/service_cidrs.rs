//! ServiceCIDR objects: loading, the API server's checks with paths, and the one choice between
//! the objects and the proxier settings' `serviceCIDRs` that the nftables proxier uses.

use svccore::proxier::config::{ProxierSettings, SettingsFlags};
use svccore::proxier::service_cidrs::{choose_service_cidrs, ServiceCidrSource};
use svccore::validate::{validate, ValidateOptions};
use svccore::{Cluster, Error, Loader};

fn load(file: &str, text: &str) -> Cluster {
    let mut l = Loader::new();
    l.add_str(Some(file), text).unwrap();
    l.finish().unwrap()
}

const TWO_OBJECTS: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: demo}
  spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
- apiVersion: networking.k8s.io/v1
  kind: ServiceCIDR
  metadata: {name: kubernetes}
  spec:
    cidrs: [10.96.0.0/12, "fd00:10:96::/112"]
- apiVersion: networking.k8s.io/v1beta1
  kind: ServiceCIDR
  metadata: {name: extra}
  spec:
    cidrs: [172.30.0.0/16]
"#;

fn settings_with(cidrs: &[&str]) -> ProxierSettings {
    let flags = SettingsFlags {
        service_cidrs: Some(cidrs.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    ProxierSettings::layered(None, None, &flags).unwrap()
}

#[test]
fn loads_service_cidr_objects_of_v1_and_v1beta1() {
    let c = load("cidrs.yaml", TWO_OBJECTS);
    assert_eq!(c.service_cidrs.len(), 2);
    let k = &c.service_cidrs[0];
    assert_eq!(k.meta.name, "kubernetes");
    assert_eq!(k.meta.namespace, "", "ServiceCIDR is cluster-scoped");
    assert_eq!(k.cidrs, ["10.96.0.0/12", "fd00:10:96::/112"]);
    assert_eq!(k.loc.path, "items[1]");
    assert_eq!(c.service_cidrs[1].cidrs, ["172.30.0.0/16"]);
    assert!(
        c.warnings.is_empty(),
        "no 'skipping' warning: {:?}",
        c.warnings
    );
    assert!(validate(&c, &ValidateOptions::default()).is_empty());
}

#[test]
fn objects_win_over_settings_and_say_so() {
    let c = load("cidrs.yaml", TWO_OBJECTS);
    let choice = choose_service_cidrs(&c, &settings_with(&["192.168.0.0/16"])).unwrap();
    assert_eq!(
        choice.source,
        ServiceCidrSource::Objects(vec!["kubernetes".into(), "extra".into()])
    );
    let got: Vec<String> = choice.cidrs.iter().map(|n| n.to_string()).collect();
    assert_eq!(got, ["10.96.0.0/12", "fd00:10:96::/112", "172.30.0.0/16"]);
    let line = choice.source.describe(&choice.cidrs);
    assert!(
        line.contains("2 ServiceCIDR objects (kubernetes, extra)"),
        "{line}"
    );
}

#[test]
fn settings_stand_in_when_the_input_has_no_object() {
    let c = load("svc.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
    let choice = choose_service_cidrs(&c, &settings_with(&["172.30.0.0/16"])).unwrap();
    assert_eq!(choice.source, ServiceCidrSource::Settings);
    assert_eq!(choice.cidrs, ["172.30.0.0/16".parse().unwrap()]);
    assert!(choice
        .source
        .describe(&choice.cidrs)
        .contains("from --service-cidrs / the serviceCIDRs setting"));

    let none = choose_service_cidrs(&c, &ProxierSettings::default()).unwrap();
    assert_eq!(none.source, ServiceCidrSource::None);
    assert!(none.cidrs.is_empty());
}

#[test]
fn duplicate_cidrs_across_objects_count_once() {
    let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "a"}, "spec": {"cidrs": ["10.96.0.0/12"]}},
      {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "b"}, "spec": {"cidrs": ["10.96.0.0/12"]}}]}"#;
    let c = load("dup.json", text);
    let choice = choose_service_cidrs(&c, &ProxierSettings::default()).unwrap();
    assert_eq!(choice.cidrs.len(), 1);
}

#[test]
fn rejects_bad_cidr_with_file_and_path() {
    let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "bad"},
       "spec": {"cidrs": ["10.96.0.0/12", "fd00::1/108\"; drop"]}}]}"#;
    let c = load("bad.json", text);
    let err = choose_service_cidrs(&c, &ProxierSettings::default()).unwrap_err();
    assert_eq!(err.kind(), "validation");
    let issues = err.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].file.as_deref(), Some("bad.json"));
    assert_eq!(issues[0].path, "items[0].spec.cidrs[1]");
    assert!(issues[0].message.contains("is not a valid CIDR"), "{err}");

    let v = validate(&c, &ValidateOptions::default());
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "items[0].spec.cidrs[1]");
}

#[test]
fn rejects_host_bits_leading_zeros_and_same_family_pairs() {
    for (cidr, msg) in [
        ("10.96.0.1/12", "must be the network address 10.96.0.0/12"),
        ("10.096.0.0/12", "leading zeros are not allowed"),
        ("10.96.0.0", "is not a valid CIDR"),
    ] {
        let text = format!(
            r#"{{"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {{"name": "x"}}, "spec": {{"cidrs": ["{cidr}"]}}}}"#
        );
        let c = load("one.json", &text);
        let Err(Error::Validation(issues)) = choose_service_cidrs(&c, &ProxierSettings::default())
        else {
            panic!("{cidr} accepted");
        };
        assert_eq!(issues[0].path, "spec.cidrs[0]");
        assert!(issues[0].message.contains(msg), "{cidr}: {issues:?}");
    }
    let same = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "x"}, "spec": {"cidrs": ["10.96.0.0/12", "172.30.0.0/16"]}}"#;
    let v = validate(&load("same.json", same), &ValidateOptions::default());
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "spec.cidrs");
    let empty = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "x"}, "spec": {"cidrs": []}}"#;
    let v = validate(&load("empty.json", empty), &ValidateOptions::default());
    assert_eq!(v[0].path, "spec.cidrs");
}

#[test]
fn a_cidrs_field_of_the_wrong_type_is_a_manifest_error_with_path() {
    let text = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": {"name": "x"}, "spec": {"cidrs": "10.96.0.0/12"}}"#;
    let mut l = Loader::new();
    l.add_str(Some("t.json"), text).unwrap();
    let err = l.finish().unwrap_err();
    assert_eq!(err.kind(), "manifest");
    assert_eq!(err.issues()[0].path, "spec.cidrs");
}

#[test]
fn nftables_drop_rule_uses_the_objects_of_its_family() {
    use svccore::render::nftables::{render, Form};
    let c = load("cidrs.yaml", TWO_OBJECTS);
    let dump = render(&c, &settings_with(&["192.168.0.0/16"]), Form::Dump).unwrap();
    assert!(
        dump.contains(
            "add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12,172.30.0.0/16 } drop comment \"Drop traffic to unallocated ClusterIPs\"\n"
        ),
        "{dump}"
    );
    assert!(!dump.contains("192.168.0.0/16"));
    // Without objects, the settings stand in.
    let none = load("svc.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
    let dump = render(&none, &settings_with(&["192.168.0.0/16"]), Form::Dump).unwrap();
    assert!(dump.contains("ip daddr { 192.168.0.0/16 } drop"), "{dump}");
}
