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
    let names: Vec<String> = c.slices.iter().map(|s| s.meta.name.clone()).collect();
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
