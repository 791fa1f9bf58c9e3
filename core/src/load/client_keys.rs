//! Objects in the official Kubernetes Python client's `to_dict()` form.
//!
//! The client's models name fields in snake_case (`api_version`, `cluster_ip`, `cluster_ips`,
//! `_exec`) and its `to_dict()` keeps those names, with every absent field as `None`. Lists read
//! from the API (`list_service_for_all_namespaces()`) also leave `kind`/`api_version` of their
//! items empty. [`to_api`] turns such a tree back into the API's JSON spelling so the one reader
//! of [`super`] handles it. Map-valued fields that hold user data (labels, annotations,
//! selectors, topology) keep their keys as written.

use serde_json::{Map, Value};

/// Fields whose keys are user data, not field names (API spelling of the parent field).
const USER_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "selector",
    "matchLabels",
    "nodeSelector",
    "deprecatedTopology",
    "topology",
    "data",
    "binaryData",
    "stringData",
    "capacity",
    "allocatable",
];

/// Whether an object looks like a client `to_dict()`: `api_version` and no `apiVersion`.
pub fn is_client_form(map: &Map<String, Value>) -> bool {
    map.contains_key("api_version") && !map.contains_key("apiVersion")
}

/// The API spelling of one client attribute name: `cluster_ips` (or `cluster_i_ps`, as older
/// clients spell it) → `clusterIPs`,
/// `load_balancer_ip` → `loadBalancerIP`, `pod_cidrs` → `podCIDRs`, `_exec` → `exec`.
pub fn api_key(snake: &str) -> String {
    // The client escapes Python keywords and builtins with a leading underscore.
    let s = snake.strip_prefix('_').unwrap_or(snake);
    let parts: Vec<&str> = s.split('_').collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i];
        if i == 0 {
            out.push_str(p);
        } else if p == "i" && parts.get(i + 1) == Some(&"ps") {
            // The generator split `IPs` as `i_ps`.
            out.push_str("IPs");
            i += 1;
        } else {
            // Acronyms the API spells in capitals (all of the client's models checked).
            match p {
                "ip" => out.push_str("IP"),
                "ips" => out.push_str("IPs"),
                "cidr" => out.push_str("CIDR"),
                "cidrs" => out.push_str("CIDRs"),
                "arp" => out.push_str("ARP"),
                "id" => out.push_str("ID"),
                "uid" => out.push_str("UID"),
                "uuid" => out.push_str("UUID"),
                "pid" => out.push_str("PID"),
                "ipc" => out.push_str("IPC"),
                "uri" => out.push_str("URI"),
                "urls" => out.push_str("URLs"),
                "api" => out.push_str("API"),
                "tls" => out.push_str("TLS"),
                "fqdn" => out.push_str("FQDN"),
                "cpu" => out.push_str("CPU"),
                _ => {
                    let mut c = p.chars();
                    if let Some(first) = c.next() {
                        out.push(first.to_ascii_uppercase()); // field names are ASCII
                        out.push_str(c.as_str());
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// Converts a client `to_dict()` object (and everything inside it) to the API spelling; items of
/// a typed list (`ServiceList`, ...) without a kind get the list's item kind and apiVersion.
pub fn to_api(map: &Map<String, Value>) -> Map<String, Value> {
    let mut out = convert_map(map);
    let kind = out.get("kind").and_then(Value::as_str).map(str::to_owned);
    let api = out.get("apiVersion").cloned();
    if let (Some(kind), Some(Value::Array(items))) = (kind, out.get_mut("items")) {
        if let Some(item_kind) = kind.strip_suffix("List").filter(|k| !k.is_empty()) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                if matches!(item.get("kind"), None | Some(Value::Null)) {
                    item.insert("kind".into(), Value::String(item_kind.to_owned()));
                }
                if matches!(item.get("apiVersion"), None | Some(Value::Null)) {
                    if let Some(api) = &api {
                        item.insert("apiVersion".into(), api.clone());
                    }
                }
            }
        }
    }
    out
}

fn convert_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let key = api_key(k);
            let value = if USER_MAPS.contains(&key.as_str()) {
                v.clone()
            } else {
                convert(v)
            };
            (key, value)
        })
        .collect()
}

fn convert(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(convert_map(m)),
        Value::Array(a) => Value::Array(a.iter().map(convert).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_key_restores_the_apis_acronyms() {
        for (snake, api) in [
            ("api_version", "apiVersion"),
            ("cluster_ip", "clusterIP"),
            ("cluster_i_ps", "clusterIPs"),
            ("cluster_ips", "clusterIPs"),
            ("external_ips", "externalIPs"),
            ("pod_ips", "podIPs"),
            ("provider_id", "providerID"),
            ("external_i_ps", "externalIPs"),
            ("load_balancer_ip", "loadBalancerIP"),
            ("load_balancer_source_ranges", "loadBalancerSourceRanges"),
            ("ip_families", "ipFamilies"),
            ("pod_i_ps", "podIPs"),
            ("pod_cidrs", "podCIDRs"),
            ("pod_cidr", "podCIDR"),
            ("client_ip", "clientIP"),
            ("strict_arp", "strictARP"),
            ("_exec", "exec"),
            ("kind", "kind"),
        ] {
            assert_eq!(api_key(snake), api, "{snake}");
        }
    }

    #[test]
    fn to_api_keeps_user_data_keys_and_fills_typed_list_items() {
        let v = json!({
            "api_version": "v1", "kind": "ServiceList",
            "items": [{"api_version": null, "kind": null,
                "metadata": {"name": "web", "labels": {"app_name": "web"}},
                "spec": {"cluster_ip": "10.0.0.1", "selector": {"app_name": "web"},
                         "ports": [{"node_port": null, "port": 80, "target_port": 8080}]}}]
        });
        let out = Value::Object(to_api(v.as_object().unwrap()));
        let item = &out["items"][0];
        assert_eq!(item["kind"], "Service");
        assert_eq!(item["apiVersion"], "v1");
        assert_eq!(item["metadata"]["labels"]["app_name"], "web");
        assert_eq!(item["spec"]["selector"]["app_name"], "web");
        assert_eq!(item["spec"]["clusterIP"], "10.0.0.1");
        assert_eq!(item["spec"]["ports"][0]["targetPort"], 8080);
    }

    #[test]
    fn loader_reads_client_form_only_when_asked() {
        let v = json!({"api_version": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": null},
            "spec": {"cluster_ip": "10.0.0.1", "ports": [{"port": 80, "node_port": null}]}});
        let mut l = crate::Loader::new();
        l.client_keys(true).add_value(Some("py"), &v);
        let c = l.finish().unwrap();
        assert_eq!(c.services[0].cluster_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(c.services[0].meta.namespace, "default");
        let mut l = crate::Loader::new();
        l.add_value(Some("py"), &v);
        let e = l.finish().unwrap_err();
        assert_eq!(e.kind(), "manifest");
    }
}
