//! The API server's validation rules, as `kubectl apply` would enforce them.
//!
//! Every error found is collected with its path. This is stricter than what kube-proxy accepts
//! (see [`crate::snapshot`]): a cluster that fails here may still render, with warnings.

use std::collections::BTreeSet;
use std::fmt;

use crate::ip::{has_leading_zero, parse_cidr_strict, parse_ip_strict};
use crate::model::*;
use crate::{Cluster, Issue};

/// The sets and maps of one validation: ahash instead of SipHash (keys are names, numbers and
/// addresses of the input; no table outlives the call).
use crate::fast::{FastMap as HashMap, FastSet as HashSet, FirstOf};

/// A path `base[i]`, written out only when an error needs it (the loops over ports and
/// endpoints check thousands of fields that are valid).
#[derive(Clone, Copy)]
struct At<'a>(&'a str, usize);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// A Service's cluster IPs with the index of each in `clusterIPs`: `clusterIPs` when given,
/// else `clusterIP` (index `None`).
fn cluster_ips(s: &Service) -> impl ExactSizeIterator<Item = (Option<usize>, &String)> {
    let single = s.cluster_ips().is_empty();
    let list = if single {
        s.cluster_ip.as_slice()
    } else {
        s.cluster_ips()
    };
    list.iter()
        .enumerate()
        .map(move |(i, ip)| ((!single).then_some(i), ip))
}

/// A Service's cluster IP field: `spec.clusterIP` (`None`) or `spec.clusterIPs[i]`.
#[derive(Clone, Copy)]
struct IpAt(Option<usize>);

impl fmt::Display for IpAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("spec.clusterIP"),
            Some(i) => At("spec.clusterIPs", i).fmt(f),
        }
    }
}

/// Options of the API server that change validation.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// `--service-node-port-range` (inclusive).
    pub node_port_range: (i64, i64),
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            node_port_range: (30000, 32767),
        }
    }
}

/// A DNS-1123 label: 1-63 of `[a-z0-9-]`, alphanumeric at both ends.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A DNS-1035 label: a DNS-1123 label that starts with a letter.
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

/// A DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters. (One pass over
/// the bytes: every endpoint's node name and every label key's prefix is one.)
pub fn is_dns1123_subdomain(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 253 {
        return false;
    }
    // The previous byte ('.' before the first) and the current label's length.
    let (mut prev, mut len) = (b'.', 0usize);
    for &c in b {
        match c {
            b'a'..=b'z' | b'0'..=b'9' => len += 1,
            b'-' if prev != b'.' => len += 1,
            b'.' if prev != b'.' && prev != b'-' => len = 0,
            _ => return false,
        }
        if len > 63 {
            return false;
        }
        prev = c;
    }
    prev != b'.' && prev != b'-'
}

/// An IANA service name (a named `targetPort`): 1-15 of `[a-z0-9-]`, at least one letter, no
/// hyphen at either end or doubled.
pub fn is_iana_svc_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 15
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

/// A label key (qualified name): optional DNS subdomain prefix and `/`, then a 1-63 name of
/// alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.bytes().position(|c| c == b'/') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if !is_dns1123_subdomain(p) {
            return false;
        }
    }
    is_label_value(name) && !name.is_empty()
}

/// A label value: empty, or 1-63 of alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

struct V<'a> {
    loc: &'a Loc,
    out: &'a mut Vec<Issue>,
}

impl V<'_> {
    fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.out.push(self.loc.issue(path, msg));
    }

    /// `path` is written out only for an error (`format_args!` in the loops over endpoints).
    fn ip(&mut self, path: impl fmt::Display, s: &str) -> Option<std::net::IpAddr> {
        match parse_ip_strict(s) {
            Some(ip) => Some(ip),
            None if has_leading_zero(s) => {
                self.err(
                    &path.to_string(),
                    format!(
                        "{} is not a valid IP address: leading zeros are not allowed",
                        q(s)
                    ),
                );
                None
            }
            None => {
                self.err(
                    &path.to_string(),
                    format!("{} is not a valid IP address", q(s)),
                );
                None
            }
        }
    }

    fn port(&mut self, path: impl fmt::Display, v: i64) {
        if !(1..=65535).contains(&v) {
            self.err(
                &path.to_string(),
                format!("must be between 1 and 65535, got {v}"),
            );
        }
    }

    fn meta(&mut self, m: &ObjectMeta, dns1035: bool, namespaced: bool) {
        let ok = if dns1035 {
            is_dns1035_label(&m.name)
        } else {
            is_dns1123_subdomain(&m.name)
        };
        if !ok {
            let what = if dns1035 {
                "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)"
            } else {
                "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)"
            };
            self.err(
                "metadata.name",
                format!("{} is not valid: must be {what}", q(&m.name)),
            );
        }
        if namespaced && !is_dns1123_label(&m.namespace) {
            self.err(
                "metadata.namespace",
                format!("{} is not valid: must be a DNS-1123 label", q(&m.namespace)),
            );
        }
        for (k, v) in &m.labels {
            if !is_qualified_name(k) {
                self.err(
                    &format!("metadata.labels.{k}"),
                    format!("{} is not a valid label key", q(k)),
                );
            }
            if !is_label_value(v) {
                self.err(
                    &format!("metadata.labels.{k}"),
                    format!("{} is not a valid label value", q(v)),
                );
            }
        }
    }

    fn protocol(&mut self, path: impl fmt::Display, p: &Protocol) {
        if let Protocol::Other(s) = p {
            self.err(
                &path.to_string(),
                format!("unsupported value {}: must be TCP, UDP or SCTP", q(s)),
            );
        }
    }
}

/// Validates every object of the cluster; returns every error found (empty = valid).
pub fn validate(cluster: &Cluster, opts: &ValidateOptions) -> Vec<Issue> {
    let mut out = Vec::new();
    for s in &cluster.services {
        service(s, opts, &mut out);
    }
    for s in &cluster.slices {
        if s.meta.labels.get(crate::load::DERIVED_BY_LABEL) != Some(crate::load::DERIVED_BY) {
            endpoint_slice(s, &mut out);
        }
    }
    for e in &cluster.endpoints {
        endpoints(e, &mut out);
    }
    for n in &cluster.nodes {
        let mut v = V {
            loc: &n.loc,
            out: &mut out,
        };
        v.meta(&n.meta, false, false);
        for (i, a) in n.addresses.iter().enumerate() {
            if a.type_ == "InternalIP" || a.type_ == "ExternalIP" {
                v.ip(format_args!("status.addresses[{i}].address"), &a.address);
            }
        }
    }
    for p in &cluster.pods {
        let mut v = V {
            loc: &p.loc,
            out: &mut out,
        };
        v.meta(&p.meta, false, true);
        for (i, ip) in p.pod_ips.iter().enumerate() {
            v.ip(format_args!("status.podIPs[{i}].ip"), ip);
        }
        for (i, cp) in p.container_ports.iter().enumerate() {
            v.port(
                format_args!("spec.containers[*].ports[{i}].containerPort"),
                cp.container_port,
            );
        }
    }
    for c in &cluster.service_cidrs {
        service_cidr(c, &mut out);
    }
    if let Some(c) = &cluster.proxy_config {
        proxy_config(c, &mut out);
    }
    conflicts(cluster, &mut out);
    out
}

/// The conflicts between objects the API server refuses when the second object is created: a
/// second object of one namespace/name, a cluster IP or a node port already allocated. Each is
/// reported on the later object, naming the earlier one's file and path.
fn conflicts(cluster: &Cluster, out: &mut Vec<Issue>) {
    let services = &cluster.services;
    let mut names = FirstOf::new(services, |s: &Service| {
        (s.meta.namespace.as_str(), s.meta.name.as_str())
    });
    // The allocators are keyed by address and by port number: a node port is one number for
    // every protocol, and health-check node ports come from the same range.
    // (A cluster IP's Service is kept as its index, and its field as its index in `clusterIPs`,
    // `NO_INDEX` for `clusterIP`: written out only for a conflict. Sized once: a table grown by
    // doubling rehashes every key it holds.)
    const NO_INDEX: u32 = u32::MAX;
    let mut ips: HashMap<std::net::IpAddr, (u32, u32)> =
        HashMap::with_capacity_and_hasher(services.len(), Default::default());
    let mut node_ports: HashMap<i64, (&Service, String)> = HashMap::default();
    for (si, s) in services.iter().enumerate() {
        if let Some(first) = names.first_or_insert(si) {
            out.push(s.loc.issue(
                "metadata.name",
                format!(
                    "Service {} already exists: the first is at {}",
                    s.key(),
                    first.loc.describe("metadata.name")
                ),
            ));
            // A second copy conflicts with the first on everything; the name says it once.
            continue;
        }
        if s.type_ != ServiceType::ExternalName {
            for (at, text) in cluster_ips(s) {
                let Some(ip) = parse_ip_strict(text) else {
                    continue;
                };
                match ips.get(&ip) {
                    Some(&(first, first_at)) => {
                        let first = &services[first as usize];
                        let first_at = (first_at != NO_INDEX).then_some(first_at as usize);
                        out.push(s.loc.issue(
                            &IpAt(at).to_string(),
                            format!(
                                "cluster IP {ip} is already allocated to Service {} at {}",
                                first.key(),
                                first.loc.describe(&IpAt(first_at).to_string())
                            ),
                        ))
                    }
                    None => {
                        let at = at.map_or(NO_INDEX, |i| i as u32);
                        ips.insert(ip, (si as u32, at));
                    }
                }
            }
        }
        let mut own = HashSet::default();
        let ports = s.ports.iter().enumerate().filter_map(|(i, p)| {
            let np = p.node_port.filter(|&n| n != 0)?;
            Some((format!("spec.ports[{i}].nodePort"), np, "node port"))
        });
        let hcnp = s.health_check_node_port().filter(|&n| n != 0).map(|n| {
            (
                "spec.healthCheckNodePort".to_owned(),
                n,
                "health check node port",
            )
        });
        for (path, np, what) in ports.chain(hcnp) {
            let node_port = what == "node port";
            if node_port && !own.insert(np) {
                // The same number twice in one Service (TCP and UDP) is one allocation.
                continue;
            }
            match node_ports.get(&np) {
                // The health-check node port comes from the same allocator, after the Service's
                // node ports: it may not reuse one of them either.
                Some((first, fpath)) if !node_port || !std::ptr::eq(*first, s) => {
                    out.push(s.loc.issue(
                        &path,
                        format!(
                            "{what} {np} is already allocated to Service {} at {}",
                            first.key(),
                            first.loc.describe(fpath)
                        ),
                    ))
                }
                Some(_) => {}
                None => {
                    node_ports.insert(np, (s, path));
                }
            }
        }
    }
    let mut slices = FirstOf::new(&cluster.slices, |s: &EndpointSlice| {
        (s.meta.namespace.as_str(), s.meta.name.as_str())
    });
    for (i, s) in cluster.slices.iter().enumerate() {
        if s.meta.labels.get(crate::load::DERIVED_BY_LABEL) == Some(crate::load::DERIVED_BY) {
            continue;
        }
        if let Some(first) = slices.first_or_insert(i) {
            out.push(s.loc.issue(
                "metadata.name",
                format!(
                    "EndpointSlice {}/{} already exists: the first is at {}",
                    s.meta.namespace,
                    s.meta.name,
                    first.loc.describe("metadata.name")
                ),
            ));
        }
    }
}

fn service(s: &Service, opts: &ValidateOptions, out: &mut Vec<Issue>) {
    let mut v = V { loc: &s.loc, out };
    v.meta(&s.meta, true, true);
    if let ServiceType::Other(t) = &s.type_ {
        v.err(
            "spec.type",
            format!(
                "unsupported value {}: must be ClusterIP, NodePort, LoadBalancer or ExternalName",
                q(t)
            ),
        );
    }
    let external_name = s.type_ == ServiceType::ExternalName;
    let headless = s.is_headless();
    // Cluster IPs.
    if external_name {
        if s.cluster_ip.as_deref().is_some_and(|c| !c.is_empty()) {
            v.err("spec.clusterIP", "must be empty for type ExternalName");
        }
        match s.external_name() {
            None | Some("") => v.err("spec.externalName", "is required for type ExternalName"),
            Some(n) if !is_dns1123_subdomain(n.trim_end_matches('.')) => v.err(
                "spec.externalName",
                format!("{} is not a valid DNS name", q(n)),
            ),
            _ => {}
        }
    } else {
        let mut fams = Vec::new();
        if let (Some(ip), Some(first)) = (&s.cluster_ip, s.cluster_ips().first()) {
            if ip != first {
                v.err(
                    "spec.clusterIPs[0]",
                    format!("must equal spec.clusterIP ({}), got {}", q(ip), q(first)),
                );
            }
        }
        // `clusterIPs` when given, else `clusterIP` (paths written out only for an error).
        let count = cluster_ips(s).len();
        for (at, ip) in cluster_ips(s) {
            let path = IpAt(at);
            if ip.is_empty() || *ip == "None" {
                if *ip == "None" && count > 1 {
                    v.err(&path.to_string(), "\"None\" must be the only cluster IP");
                }
                continue;
            }
            if let Some(a) = v.ip(path, ip) {
                fams.push((path, IpFamily::of(&a)));
            }
        }
        if count > 2 {
            v.err(
                "spec.clusterIPs",
                format!("may hold at most 2 addresses (one per family), got {count}"),
            );
        }
        if fams.len() == 2 && fams[0].1 == fams[1].1 {
            v.err(
                "spec.clusterIPs",
                "must hold addresses of two different families",
            );
        }
        for (i, f) in s.ip_families().iter().enumerate() {
            match IpFamily::parse(f) {
                None => v.err(
                    &format!("spec.ipFamilies[{i}]"),
                    format!("unsupported value {}: must be IPv4 or IPv6", q(f)),
                ),
                Some(fam) => {
                    if let Some((path, got)) = fams.get(i) {
                        if *got != fam {
                            v.err(
                                &path.to_string(),
                                format!(
                                    "must be an {} address to match spec.ipFamilies[{i}]",
                                    fam.as_str()
                                ),
                            );
                        }
                    }
                }
            }
        }
        if s.ports.is_empty() && !headless {
            v.err("spec.ports", "at least one port is required");
        }
    }
    // Ports. (One port cannot repeat: the sets are kept only for several.)
    let several = s.ports.len() > 1;
    let mut names = HashSet::default();
    let mut port_protos = HashSet::default();
    let mut node_ports = HashSet::default();
    let node_port_allowed = matches!(s.type_, ServiceType::NodePort | ServiceType::LoadBalancer);
    for (i, p) in s.ports.iter().enumerate() {
        let b = At("spec.ports", i);
        if p.name.is_empty() {
            if s.ports.len() > 1 {
                v.err(
                    &format!("{b}.name"),
                    "is required when the Service has more than one port",
                );
            }
        } else if !is_dns1123_label(&p.name) {
            v.err(
                &format!("{b}.name"),
                format!("{} is not valid: must be a DNS-1123 label", q(&p.name)),
            );
        } else if several && !names.insert(p.name.clone()) {
            v.err(
                &format!("{b}.name"),
                format!("duplicate port name {}", q(&p.name)),
            );
        }
        v.protocol(format_args!("{b}.protocol"), &p.protocol);
        v.port(format_args!("{b}.port"), p.port);
        if several && !port_protos.insert((p.port, p.protocol.clone())) {
            v.err(
                &format!("{b}.port"),
                format!("duplicate port {}/{}", p.port, p.protocol),
            );
        }
        match &p.target_port {
            Some(IntOrString::Int(t)) => v.port(format_args!("{b}.targetPort"), *t),
            Some(IntOrString::Str(t))
                if !is_iana_svc_name(t)
                    && t.parse::<i64>().map_or(true, |n| !(1..=65535).contains(&n)) =>
            {
                v.err(
                    &format!("{b}.targetPort"),
                    format!("{} is not a valid port name or number", q(t)),
                );
            }
            Some(IntOrString::Str(_)) => {}
            None => {}
        }
        if let Some(np) = p.node_port.filter(|&n| n != 0) {
            let path = format!("{b}.nodePort");
            if !node_port_allowed {
                v.err(
                    &path,
                    format!("may not be used when type is {}", s.type_.as_str()),
                );
            } else if !(opts.node_port_range.0..=opts.node_port_range.1).contains(&np) {
                v.err(
                    &path,
                    format!(
                        "{np} is not in the valid node port range {}-{}",
                        opts.node_port_range.0, opts.node_port_range.1
                    ),
                );
            } else if several && !node_ports.insert((np, p.protocol.clone())) {
                v.err(&path, format!("duplicate node port {np}/{}", p.protocol));
            }
        }
    }
    // External IPs and load balancer.
    for (i, ip) in s.external_ips().iter().enumerate() {
        let path = format!("spec.externalIPs[{i}]");
        if let Some(a) = v.ip(&path, ip) {
            if a.is_unspecified() || a.is_loopback() || a.is_multicast() {
                v.err(
                    &path,
                    format!("{} may not be unspecified, loopback or multicast", q(ip)),
                );
            }
        }
    }
    for (i, r) in s.load_balancer_source_ranges().iter().enumerate() {
        let path = format!("spec.loadBalancerSourceRanges[{i}]");
        if s.type_ != ServiceType::LoadBalancer {
            v.err(&path, "may only be used when type is LoadBalancer");
        } else if parse_cidr_strict(r).is_none() {
            v.err(
                &path,
                format!("{} is not a valid CIDR (e.g. 10.0.0.0/8)", q(r)),
            );
        }
    }
    for (i, ing) in s.lb_ingress().iter().enumerate() {
        let b = format!("status.loadBalancer.ingress[{i}]");
        if let Some(ip) = &ing.ip {
            v.ip(format_args!("{b}.ip"), ip);
        }
        if let Some(m) = &ing.ip_mode {
            if m != "VIP" && m != "Proxy" {
                v.err(
                    &format!("{b}.ipMode"),
                    format!("unsupported value {}: must be VIP or Proxy", q(m)),
                );
            } else if ing.ip.is_none() {
                v.err(&format!("{b}.ipMode"), "requires ip to be set");
            }
        }
    }
    // Policies.
    match &s.external_traffic_policy {
        Some(TrafficPolicy::Other(t)) => v.err("spec.externalTrafficPolicy", format!("unsupported value {}: must be Cluster or Local", q(t))),
        Some(_) if !s.externally_accessible() && !external_name && s.external_ips().is_empty() => {
            v.err("spec.externalTrafficPolicy", "may only be set on externally-accessible services (NodePort, LoadBalancer or with externalIPs)")
        }
        _ => {}
    }
    if let Some(TrafficPolicy::Other(t)) = &s.internal_traffic_policy {
        v.err(
            "spec.internalTrafficPolicy",
            format!("unsupported value {}: must be Cluster or Local", q(t)),
        );
    }
    if let Some(h) = s.health_check_node_port().filter(|&h| h != 0) {
        if !(s.type_ == ServiceType::LoadBalancer && s.external_policy_local()) {
            v.err(
                "spec.healthCheckNodePort",
                "may only be set when type is LoadBalancer and externalTrafficPolicy is Local",
            );
        } else {
            v.port("spec.healthCheckNodePort", h);
        }
    }
    match &s.session_affinity {
        SessionAffinity::Other(a) => v.err(
            "spec.sessionAffinity",
            format!("unsupported value {}: must be None or ClientIP", q(a)),
        ),
        SessionAffinity::None if s.affinity_timeout().is_some() => v.err(
            "spec.sessionAffinityConfig",
            "must not be set when sessionAffinity is None",
        ),
        _ => {}
    }
    if let Some(t) = s.affinity_timeout() {
        if !(1..=service::MAX_AFFINITY_TIMEOUT).contains(&t) {
            v.err(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                format!("must be between 1 and 86400, got {t}"),
            );
        }
    }
    // Legacy topologyKeys.
    let keys = &s.topology_keys();
    if keys.len() > 16 {
        v.err(
            "spec.topologyKeys",
            format!("too many keys: at most 16, got {}", keys.len()),
        );
    }
    if !keys.is_empty() && s.external_traffic_policy == Some(TrafficPolicy::Local) {
        v.err(
            "spec.topologyKeys",
            "may not be specified when externalTrafficPolicy=Local",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, k) in keys.iter().enumerate() {
        let path = format!("spec.topologyKeys[{i}]");
        if k == "*" {
            if i != keys.len() - 1 {
                v.err(&path, "\"*\" must be the last key");
            }
        } else if !is_qualified_name(k) {
            v.err(&path, format!("{} is not a valid label key", q(k)));
        }
        if !seen.insert(k) {
            v.err(&path, format!("duplicate key {}", q(k)));
        }
    }
    if let Some(td) = s.traffic_distribution() {
        if !matches!(td, "PreferClose" | "PreferSameZone" | "PreferSameNode") {
            v.err(
                "spec.trafficDistribution",
                format!(
                    "unsupported value {}: must be PreferClose, PreferSameZone or PreferSameNode",
                    q(td)
                ),
            );
        }
    }
    if let Some(sel) = &s.selector {
        for (k, val) in sel {
            if !is_qualified_name(k) || !is_label_value(val) {
                v.err(
                    &format!("spec.selector.{k}"),
                    format!("{}={} is not a valid label selector", q(k), q(val)),
                );
            }
        }
    }
}

fn endpoint_slice(s: &EndpointSlice, out: &mut Vec<Issue>) {
    let mut v = V { loc: &s.loc, out };
    v.meta(&s.meta, false, true);
    let fam = match s.address_type.as_str() {
        "IPv4" => Some(IpFamily::IPv4),
        "IPv6" => Some(IpFamily::IPv6),
        "FQDN" => None,
        other => {
            v.err(
                "addressType",
                format!("unsupported value {}: must be IPv4, IPv6 or FQDN", q(other)),
            );
            None
        }
    };
    if s.service_name().is_none() {
        v.err(
            "metadata.labels",
            "has no kubernetes.io/service-name label: the slice belongs to no Service",
        );
    }
    if s.endpoints.len() > 1000 {
        v.err(
            "endpoints",
            format!(
                "too many endpoints: at most 1000, got {}",
                s.endpoints.len()
            ),
        );
    }
    let several = s.ports.len() > 1;
    let mut names = HashSet::default();
    for (i, p) in s.ports.iter().enumerate() {
        let b = At("ports", i);
        if let Some(n) = &p.name {
            if !n.is_empty() && !is_dns1123_label(n) {
                v.err(
                    &format!("{b}.name"),
                    format!("{} is not valid: must be a DNS-1123 label", q(n)),
                );
            }
            if several && !names.insert(n.clone()) {
                v.err(
                    &format!("{b}.name"),
                    format!("duplicate port name {}", q(n)),
                );
            }
        }
        if let Some(port) = p.port {
            v.port(format_args!("{b}.port"), port);
        }
        v.protocol(format_args!("{b}.protocol"), &p.protocol);
    }
    // Paths are written out only for an error: a slice holds up to 1000 endpoints. Their node
    // names repeat: one found valid is not checked again for the next endpoint.
    let mut valid_node: Option<&str> = None;
    for (i, e) in s.endpoints.iter().enumerate() {
        if e.addresses.is_empty() || e.addresses.len() > 100 {
            v.err(
                &format!("endpoints[{i}].addresses"),
                format!("must hold 1 to 100 addresses, got {}", e.addresses.len()),
            );
        }
        for (j, a) in e.addresses.iter().enumerate() {
            let path = format_args!("endpoints[{i}].addresses[{j}]");
            match fam {
                Some(f) => {
                    if let Some(ip) = v.ip(path, a) {
                        if IpFamily::of(&ip) != f {
                            v.err(
                                &path.to_string(),
                                format!("must be an {} address (addressType)", f.as_str()),
                            );
                        }
                    }
                }
                None if !is_dns1123_subdomain(a) => {
                    v.err(&path.to_string(), format!("{} is not a valid FQDN", q(a)))
                }
                None => {}
            }
        }
        if let Some(n) = e.node_name().filter(|&n| valid_node != Some(n)) {
            if is_dns1123_subdomain(n) {
                valid_node = Some(n);
            } else {
                v.err(
                    &format!("endpoints[{i}].nodeName"),
                    format!("{} is not a valid node name", q(n)),
                );
            }
        }
    }
}

fn endpoints(e: &Endpoints, out: &mut Vec<Issue>) {
    let mut v = V { loc: &e.loc, out };
    v.meta(&e.meta, false, true);
    for (i, sub) in e.subsets.iter().enumerate() {
        for (key, list) in [
            ("addresses", &sub.addresses),
            ("notReadyAddresses", &sub.not_ready_addresses),
        ] {
            for (j, a) in list.iter().enumerate() {
                v.ip(format_args!("subsets[{i}].{key}[{j}].ip"), &a.ip);
            }
        }
        for (j, (name, port, proto)) in sub.ports.iter().enumerate() {
            let b = format!("subsets[{i}].ports[{j}]");
            if !name.is_empty() && !is_dns1123_label(name) {
                v.err(
                    &format!("{b}.name"),
                    format!("{} is not valid: must be a DNS-1123 label", q(name)),
                );
            }
            v.port(format_args!("{b}.port"), *port);
            v.protocol(format_args!("{b}.protocol"), proto);
        }
    }
}

/// One `ServiceCIDR.spec.cidrs` entry as the API server accepts it: strict address syntax and the
/// network address itself (`10.96.0.0/12`, not `10.96.0.1/12`). Returns the parsed network or
/// why the text is refused. kube-proxy writes the text into its drop rule, so the renderers
/// read ServiceCIDRs only through this check.
pub fn parse_service_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    let addr = text.split('/').next().unwrap_or(text);
    // `parse_cidr_strict` (ipnet's parser) reads `10.096.0.0/12`; the API server does not.
    if has_leading_zero(addr) {
        return Err(format!(
            "{} is not a valid CIDR: leading zeros are not allowed",
            q(text)
        ));
    }
    let Some(net) = parse_cidr_strict(text) else {
        return Err(format!(
            "{} is not a valid CIDR (e.g. 10.96.0.0/12 or 2001:db8::/108)",
            q(text)
        ));
    };
    if net.trunc() != net {
        return Err(format!(
            "{} is not a valid CIDR: must be the network address {}",
            q(text),
            net.trunc()
        ));
    }
    Ok(net)
}

// spec: the API server's ServiceCIDR validation (networking validateServiceCIDRSpec): 1 or 2
// CIDRs, two only when one of each family.
fn service_cidr(c: &ServiceCidr, out: &mut Vec<Issue>) {
    let mut v = V { loc: &c.loc, out };
    v.meta(&c.meta, false, false);
    match c.cidrs.len() {
        0 => v.err("spec.cidrs", "at least one CIDR is required"),
        1 | 2 => {}
        n => v.err("spec.cidrs", format!("may hold at most 2 CIDRs, got {n}")),
    }
    let mut families = Vec::new();
    for (i, text) in c.cidrs.iter().enumerate() {
        match parse_service_cidr(text) {
            Ok(net) => families.push(net.addr().is_ipv4()),
            Err(msg) => v.err(&format!("spec.cidrs[{i}]"), msg),
        }
    }
    if c.cidrs.len() == 2 && families.len() == 2 && families[0] == families[1] {
        v.err(
            "spec.cidrs",
            "may hold one CIDR of each IP family only (e.g. 10.96.0.0/12 and 2001:db8::/108)",
        );
    }
}

fn proxy_config(c: &ProxyConfig, out: &mut Vec<Issue>) {
    let mut v = V { loc: &c.loc, out };
    if let Some(m) = &c.mode {
        if !matches!(
            m.as_str(),
            "" | "iptables" | "ipvs" | "nftables" | "userspace"
        ) {
            v.err(
                "mode",
                format!(
                    "unsupported value {}: must be iptables, ipvs, nftables or userspace",
                    q(m)
                ),
            );
        }
    }
    if let Some(r) = &c.port_range {
        if let Err(m) = crate::proxier::config::PortRange::parse(r) {
            v.err("portRange", format!("{}: {m}", q(r)));
        }
    }
    if let Some(b) = c.bind_address.as_deref().filter(|b| !b.is_empty()) {
        match crate::proxier::config::UserspaceConfig::parse_bind_address(b) {
            Err(m) => v.err("bindAddress", m),
            // spec: render/userspace.rs (NewProxier refuses a loopback listen address).
            Ok(ip) if ip.is_loopback() && c.mode.as_deref() == Some("userspace") => v.err(
                "bindAddress",
                format!("{}: userspace mode cannot proxy on localhost", q(b)),
            ),
            Ok(_) => {}
        }
    }
    if let Some(b) = c.masquerade_bit {
        if !(0..=31).contains(&b) {
            v.err(
                "iptables.masqueradeBit",
                format!("must be between 0 and 31, got {b}"),
            );
        }
    }
    if let Some(cidrs) = &c.cluster_cidr {
        for (i, cidr) in cidrs.split(',').filter(|x| !x.is_empty()).enumerate() {
            if parse_cidr_strict(cidr.trim()).is_none() {
                v.err(
                    "clusterCIDR",
                    format!("entry {i} {} is not a valid CIDR", q(cidr)),
                );
            }
        }
    }
    for (i, a) in c.nodeport_addresses.iter().enumerate() {
        if a != "primary" && parse_cidr_strict(a).is_none() {
            v.err(
                &format!("nodePortAddresses[{i}]"),
                format!("{} is not a valid CIDR or \"primary\"", q(a)),
            );
        }
    }
    if let Some(DetectLocalMode::Other(m)) = &c.detect_local_mode {
        v.err("detectLocalMode", format!("unsupported value {}: must be ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix", q(m)));
    }
    if let Some(s) = &c.ipvs_scheduler {
        if !s.is_empty() && !s.bytes().all(|b| b.is_ascii_lowercase()) {
            v.err(
                "ipvs.scheduler",
                format!("{} is not a scheduler name", q(s)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass subdomain check is the rule as written: dot-separated DNS-1123 labels.
        #[test]
        fn subdomain_check_is_the_rule(s in "[a-z0-9.A_-]{0,70}", long in 60usize..70) {
            let rule = |s: &str| !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label);
            proptest::prop_assert_eq!(is_dns1123_subdomain(&s), rule(&s));
            let l = format!("{}.{s}", "a".repeat(long));
            proptest::prop_assert_eq!(is_dns1123_subdomain(&l), rule(&l));
            let m = format!("{s}.{}", "b".repeat(250));
            proptest::prop_assert_eq!(is_dns1123_subdomain(&m), rule(&m));
        }
    }

    #[test]
    fn name_rules() {
        assert!(is_dns1035_label("web-1"));
        assert!(!is_dns1035_label("1web"));
        assert!(!is_dns1123_label("a b"));
        assert!(!is_dns1123_label("a\"b"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("a.b-c.d"));
        assert!(is_iana_svc_name("http"));
        assert!(!is_iana_svc_name("8080"));
        assert!(!is_iana_svc_name("a--b"));
        assert!(is_qualified_name("topology.kubernetes.io/zone"));
        assert!(!is_qualified_name("bad key"));
    }
}
