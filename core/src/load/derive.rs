//! What the control plane would have added to freshly written manifests: EndpointSlices for
//! legacy Endpoints (the mirroring controller), EndpointSlices for selector Services from their
//! Pods (the EndpointSlice controller), and cluster IPs / node ports (the API server's
//! allocators).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Cluster, DERIVED_BY, DERIVED_BY_LABEL};
use crate::model::endpointslice::SERVICE_NAME_LABEL;
use crate::model::*;

/// Sets of names and addresses: ahash instead of SipHash.
use crate::fast::{FastSet, FirstOf};

pub(super) fn complete(c: &mut Cluster, service_cidr: IpNet, node_ports: (u16, u16)) {
    allocate(c, service_cidr, node_ports);
    add_missing_slices(c);
    warn_orphans(c);
}

/// Slices mirrored from legacy Endpoints, and derived from Pods for a selector's Service, where
/// the input gives none for that Service.
fn add_missing_slices(c: &mut Cluster) {
    if c.endpoints.is_empty() && c.pods.is_empty() {
        // Nothing to mirror or derive from (a `kubectl get` of Services and slices).
        return;
    }
    let mut have: FastSet<(&str, &str)> = c
        .slices
        .iter()
        .filter_map(|s| Some((s.meta.namespace.as_str(), s.service_name()?)))
        .collect();
    let mut mirrored = Vec::new();
    for e in &c.endpoints {
        let key = (e.meta.namespace.as_str(), e.meta.name.as_str());
        if have.contains(&key) {
            continue;
        }
        mirrored.extend(mirror_endpoints(e));
    }
    for s in &mirrored {
        if let Some(n) = s.service_name() {
            have.insert((s.meta.namespace.as_str(), n));
        }
    }
    let mut from_pod_slices = Vec::new();
    for svc in &c.services {
        let key = (svc.meta.namespace.as_str(), svc.meta.name.as_str());
        if have.contains(&key) || svc.type_ == ServiceType::ExternalName {
            continue;
        }
        let Some(sel) = svc.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let slices = from_pods(svc, sel, &c.pods);
        if !slices.is_empty() {
            c.warnings.push(svc.loc.issue(
                "spec.selector",
                format!(
                    "no EndpointSlice or Endpoints given for {}: endpoints derived from {} matching Pod(s)",
                    svc.key(),
                    slices.iter().map(|s| s.endpoints.len()).sum::<usize>()
                ),
            ));
        }
        from_pod_slices.extend(slices);
    }
    c.slices.extend(mirrored);
    c.slices.extend(from_pod_slices);
}

/// An EndpointSlice or Endpoints whose Service is not in the input: kube-proxy keys endpoints by
/// Service, so nothing is programmed for them. Usually a Service left out of the dump.
fn warn_orphans(c: &mut Cluster) {
    let mut services = FirstOf::new(&c.services, |s: &Service| {
        (s.meta.namespace.as_str(), s.meta.name.as_str())
    });
    for i in 0..c.services.len() {
        services.first_or_insert(i);
    }
    let mut warnings = Vec::new();
    for s in &c.slices {
        let Some(name) = s.service_name() else {
            continue;
        };
        let derived = s.meta.labels.get(DERIVED_BY_LABEL) == Some(DERIVED_BY);
        if derived || services.contains(&(s.meta.namespace.as_str(), name)) {
            continue;
        }
        warnings.push(s.loc.issue(
            &format!("metadata.labels.{SERVICE_NAME_LABEL}"),
            format!(
                "no Service {}/{name} in the input: kube-proxy uses this EndpointSlice for nothing",
                s.meta.namespace
            ),
        ));
    }
    for e in &c.endpoints {
        if !services.contains(&(e.meta.namespace.as_str(), e.meta.name.as_str())) {
            warnings.push(e.loc.issue(
                "metadata.name",
                format!(
                    "no Service {}/{} in the input: kube-proxy uses these Endpoints for nothing",
                    e.meta.namespace, e.meta.name
                ),
            ));
        }
    }
    c.warnings.extend(warnings);
}

fn derived_meta(namespace: &str, service: &str, name: String) -> ObjectMeta {
    let labels = [
        (SERVICE_NAME_LABEL, service),
        (DERIVED_BY_LABEL, DERIVED_BY),
    ]
    .into_iter()
    .collect();
    ObjectMeta {
        name: name.into(),
        namespace: namespace.into(),
        labels,
        ..Default::default()
    }
}

fn family_of(ip: &str) -> &'static str {
    if ip.contains(':') {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// One slice per (subset, address family), as the mirroring controller does; notReadyAddresses
/// become endpoints with `ready: false`.
fn mirror_endpoints(e: &Endpoints) -> Vec<EndpointSlice> {
    let mut out = Vec::new();
    for (si, sub) in e.subsets.iter().enumerate() {
        for fam in ["IPv4", "IPv6"] {
            let mut eps = Vec::new();
            for (ready, list) in [(true, &sub.addresses), (false, &sub.not_ready_addresses)] {
                for a in list.iter().filter(|a| family_of(&a.ip) == fam) {
                    let mut ep = Endpoint::at(a.ip.as_str());
                    ep.ready = Some(ready);
                    ep.place = Placement::new(a.node_name.as_deref().map(SharedStr::from), None);
                    ep.target_pod = a.target_pod.as_deref().map(Box::from);
                    ep.set_hostname(a.hostname.as_deref().map(Box::from));
                    eps.push(ep);
                }
            }
            if eps.is_empty() {
                continue;
            }
            let ports = sub
                .ports
                .iter()
                .map(|(name, port, proto)| EndpointPort {
                    name: Some(name.clone()),
                    port: Some(*port),
                    protocol: proto.clone(),
                    app_protocol: None,
                })
                .collect();
            out.push(EndpointSlice {
                loc: Loc {
                    file: e.loc.file.clone(),
                    path: e.loc.field(&format!("subsets[{si}]")).into(),
                },
                meta: derived_meta(
                    &e.meta.namespace,
                    &e.meta.name,
                    format!("{}-{}-{si}", e.meta.name, fam.to_ascii_lowercase()),
                ),
                address_type: fam.into(),
                ports,
                endpoints: eps,
            });
        }
    }
    out
}

/// Resolved (name, port, protocol) of each service port, as a grouping key.
type PortList = Vec<(String, i64, String)>;

/// The EndpointSlice controller's view of a selector Service: matching Pods with an IP, not
/// finished, grouped by their resolved port list.
fn from_pods(svc: &Service, sel: &LabelMap, pods: &[Pod]) -> Vec<EndpointSlice> {
    // (family, ports) -> endpoints
    let mut groups: BTreeMap<(String, PortList), Vec<Endpoint>> = BTreeMap::new();
    let mut pods: Vec<&Pod> = pods
        .iter()
        .filter(|p| p.meta.namespace == svc.meta.namespace)
        .filter(|p| sel.iter().all(|(k, v)| p.meta.labels.get(k) == Some(v)))
        .filter(|p| !matches!(p.phase.as_deref(), Some("Succeeded") | Some("Failed")))
        .collect();
    pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    for pod in pods {
        let mut ports = Vec::new();
        for sp in &svc.ports {
            let target = match &sp.target_port {
                None => Some(sp.port),
                Some(IntOrString::Int(n)) => Some(*n),
                Some(IntOrString::Str(name)) => pod
                    .container_ports
                    .iter()
                    .find(|cp| cp.name.as_deref() == Some(name) && cp.protocol == sp.protocol)
                    .map(|cp| cp.container_port)
                    .or_else(|| name.parse::<i64>().ok()),
            };
            // The controller leaves a pod out of a port it cannot resolve.
            if let Some(t) = target {
                ports.push((sp.name.clone(), t, sp.protocol.as_api().to_owned()));
            }
        }
        let pod_ready = pod.ready.unwrap_or(pod.phase.as_deref() == Some("Running"));
        let terminating = pod.meta.deleting;
        let ready = svc.publish_not_ready_addresses || (pod_ready && !terminating);
        let serving = svc.publish_not_ready_addresses || pod_ready;
        let mut seen_fam = BTreeSet::new();
        for ip in &pod.pod_ips {
            let fam = family_of(ip);
            if !seen_fam.insert(fam) {
                continue;
            }
            let mut ep = Endpoint::at(ip.as_str());
            ep.ready = Some(ready);
            ep.serving = Some(serving);
            ep.terminating = Some(terminating);
            ep.place = Placement::new(pod.node_name.as_deref().map(SharedStr::from), None);
            ep.target_pod = Some(pod.meta.name.as_str().into());
            ep.set_hostname(pod.hostname.as_deref().map(Box::from));
            groups
                .entry((fam.to_owned(), ports.clone()))
                .or_default()
                .push(ep);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(i, ((fam, ports), endpoints))| EndpointSlice {
            loc: svc.loc.clone(),
            meta: derived_meta(
                &svc.meta.namespace,
                &svc.meta.name,
                format!("{}-pods-{i}", svc.meta.name),
            ),
            address_type: fam.into(),
            ports: ports
                .into_iter()
                .map(|(name, port, proto)| EndpointPort {
                    name: Some(name),
                    port: Some(port),
                    protocol: Protocol::parse(&proto),
                    app_protocol: None,
                })
                .collect(),
            endpoints,
        })
        .collect()
}

/// FNV-1a: a stable hash (the allocation must not change between versions or platforms).
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A Service that carries a cluster IP was admitted by an API server, which allocated whatever it
/// needed; one without is a manifest not yet applied, and gets what the API server would give it
/// on create: a cluster IP from the service CIDR and, for NodePort/LoadBalancer, node ports.
/// Both are chosen deterministically (hash of the name, then the next free value), never
/// colliding with values given elsewhere in the input.
fn allocate(c: &mut Cluster, cidr: IpNet, (lo, hi): (u16, u16)) {
    let mut order: Vec<usize> = (0..c.services.len())
        .filter(|&i| {
            let s = &c.services[i];
            s.type_ != ServiceType::ExternalName
                && s.cluster_ip.as_deref().unwrap_or("").is_empty()
                && s.cluster_ips().is_empty()
        })
        .collect();
    if order.is_empty() {
        // Every Service has its cluster IP (and node ports): nothing to allocate.
        return;
    }
    let mut used_ips: FastSet<IpAddr> = c
        .services
        .iter()
        .flat_map(|s| s.cluster_ip.iter().chain(s.cluster_ips()))
        .filter_map(|ip| crate::ip::parse_ip_sloppy(ip))
        .collect();
    let mut used_ports: FastSet<i64> = c
        .services
        .iter()
        .flat_map(|s| s.ports.iter().filter_map(|p| p.node_port))
        .chain(c.services.iter().filter_map(|s| s.health_check_node_port()))
        .collect();
    order.sort_by_key(|&i| c.services[i].key());
    let IpNet::V4(v4) = cidr else { return };
    let base = u32::from(v4.network());
    // Skip the network address and the first address (the `kubernetes` Service's by convention).
    let size = (1u64 << (32 - u32::from(v4.prefix_len())))
        .saturating_sub(2)
        .max(1);
    let port_span = u64::from(hi.saturating_sub(lo)) + 1;
    for i in order {
        let s = &mut c.services[i];
        let key = s.key();
        let families_v6 = s.ip_families().first().map(String::as_str) == Some("IPv6");
        if !families_v6 {
            let start = stable_hash(&key) % size;
            for k in 0..size {
                let ip = IpAddr::from(std::net::Ipv4Addr::from(
                    base + 2 + ((start + k) % size) as u32,
                ));
                if used_ips.insert(ip) {
                    s.cluster_ip = Some(ip.to_string());
                    s.more_mut().cluster_ips = vec![ip.to_string()];
                    c.warnings.push(s.loc.issue(
                        "spec.clusterIP",
                        format!("not set: allocated {ip} from {cidr}"),
                    ));
                    break;
                }
            }
        }
        if matches!(s.type_, ServiceType::NodePort | ServiceType::LoadBalancer) {
            for (pi, p) in s.ports.iter_mut().enumerate() {
                if p.node_port.unwrap_or(0) != 0 {
                    continue;
                }
                let start = stable_hash(&format!("{key}:{pi}")) % port_span;
                for k in 0..port_span {
                    let np = i64::from(lo) + ((start + k) % port_span) as i64;
                    if used_ports.insert(np) {
                        p.node_port = Some(np);
                        c.warnings.push(s.loc.issue(
                            &format!("spec.ports[{pi}].nodePort"),
                            format!("not set: allocated {np} from {lo}-{hi}"),
                        ));
                        break;
                    }
                }
            }
        }
    }
}
