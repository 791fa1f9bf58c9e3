//! Generated clusters as `kubectl get svc,endpointslices,nodes -A -o json` (or `-o yaml`) prints
//! them: a `kind: List` whose items have their keys sorted and the fields the API server adds
//! (uid, resourceVersion, creationTimestamp, conditions, targetRef), indented as kubectl does.
//! The loader benchmarks and `benches/python/bench_load.py` read these texts.

use serde_json::{json, Value};

/// The Nodes of a generated cluster (endpoints are spread over them).
pub const NODES: usize = 4;

fn ip(base: usize, n: usize) -> String {
    format!("10.{}.{}.{}", base + n / 65_536, n / 256 % 256, n % 256)
}

fn uid(kind: u32, n: usize) -> String {
    format!("{kind:08x}-{:04x}-4000-8000-{n:012x}", n % 65_536)
}

/// The items of the cluster: [`NODES`] Nodes, then per Service `i` the Service and its
/// EndpointSlice of `endpoints` endpoints (one slice, as the controller makes for up to 100
/// endpoints; more are still one slice here). Every 50th Service is a NodePort Service (node
/// ports stay unique up to 138,000 Services), every 7th has ClientIP affinity; all have a
/// cluster IP, so the loader allocates nothing.
pub fn items(services: usize, endpoints: usize) -> impl Iterator<Item = Value> {
    let nodes = (0..NODES).map(|k| {
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "creationTimestamp": "2026-01-05T09:00:00Z",
                "labels": {
                    "kubernetes.io/hostname": format!("node-{k}"),
                    "kubernetes.io/os": "linux",
                    "topology.kubernetes.io/zone": format!("zone-{}", k % 2),
                },
                "name": format!("node-{k}"),
                "resourceVersion": format!("{}", 1000 + k),
                "uid": uid(1, k),
            },
            "spec": {"podCIDR": format!("10.244.{k}.0/24"), "podCIDRs": [format!("10.244.{k}.0/24")]},
            "status": {
                "addresses": [
                    {"address": format!("192.168.0.{}", 10 + k), "type": "InternalIP"},
                    {"address": format!("node-{k}"), "type": "Hostname"},
                ],
            },
        })
    });
    let services = (0..services).flat_map(move |i| {
        let name = format!("svc-{i}");
        let ns = format!("ns{}", i % 100);
        let cip = ip(96, i + 10);
        let node_port = i % 50 == 49;
        let mut port = json!({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080});
        if node_port {
            port["nodePort"] = json!(30000 + i / 50);
        }
        let mut spec = json!({
            "clusterIP": cip,
            "clusterIPs": [cip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [port],
            "selector": {"app": name},
            "sessionAffinity": if i % 7 == 3 { "ClientIP" } else { "None" },
            "type": if node_port { "NodePort" } else { "ClusterIP" },
        });
        if node_port {
            spec["externalTrafficPolicy"] = json!("Cluster");
        }
        if i % 7 == 3 {
            spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
        }
        let service = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2026-01-05T09:30:00Z",
                "labels": {"app": name},
                "name": name,
                "namespace": ns,
                "resourceVersion": format!("{}", 20_000 + 2 * i),
                "uid": uid(2, i),
            },
            "spec": spec,
            "status": {"loadBalancer": {}},
        });
        let eps: Vec<Value> = (0..endpoints)
            .map(|k| {
                let n = i * endpoints + k;
                json!({
                    "addresses": [ip(128, n)],
                    "conditions": {"ready": true, "serving": true, "terminating": false},
                    "nodeName": format!("node-{}", k % NODES),
                    "targetRef": {
                        "kind": "Pod",
                        "name": format!("{name}-{k:05x}"),
                        "namespace": ns,
                        "uid": uid(3, n),
                    },
                    "zone": format!("zone-{}", k % NODES % 2),
                })
            })
            .collect();
        let slice = json!({
            "addressType": "IPv4",
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": eps,
            "kind": "EndpointSlice",
            "metadata": {
                "creationTimestamp": "2026-01-05T09:30:01Z",
                "generateName": format!("{name}-"),
                "generation": 1,
                "labels": {
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    "kubernetes.io/service-name": name,
                },
                "name": format!("{name}-{:05x}", i % 0x100000),
                "namespace": ns,
                "resourceVersion": format!("{}", 20_001 + 2 * i),
                "uid": uid(4, i),
            },
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        });
        [service, slice]
    });
    nodes.chain(services)
}

/// `", "` and `": "` between items, as Python's `json.dumps` writes (and kubectl's
/// 4-space indentation squeezed out, which would triple the size with blanks).
struct Spaced;

/// The separator before an array element or an object key: none before the first.
fn comma<W: ?Sized + std::io::Write>(w: &mut W, first: bool) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        w.write_all(b", ")
    }
}

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        comma(w, first)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        comma(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

/// The cluster as `kubectl get -o json` prints it, on one line per item (`json.dumps`
/// spacing, `kind: List` after the items as kubectl sorts the keys).
pub fn list_json(services: usize, endpoints: usize) -> String {
    let mut out = String::from("{\"apiVersion\": \"v1\", \"items\": [\n");
    let mut buf = Vec::new();
    for (n, item) in items(services, endpoints).enumerate() {
        if n > 0 {
            out.push_str(",\n");
        }
        buf.clear();
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, Spaced);
        serde::Serialize::serialize(&item, &mut ser).expect("serializable");
        out.push_str(std::str::from_utf8(&buf).expect("utf-8"));
    }
    out.push_str("\n], \"kind\": \"List\", \"metadata\": {\"resourceVersion\": \"\"}}\n");
    out
}

/// The same cluster as `kubectl get -o yaml` prints it.
pub fn list_yaml(services: usize, endpoints: usize) -> String {
    let mut out = String::from("apiVersion: v1\nitems:\n");
    for item in items(services, endpoints) {
        let text = serde_yaml_ng::to_string(&item).expect("serializable");
        for (n, line) in text.lines().enumerate() {
            out.push_str(if n == 0 { "- " } else { "  " });
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    out
}
