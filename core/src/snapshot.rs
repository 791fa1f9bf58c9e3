//! What one kube-proxy (of one IP family) sees: service ports with their endpoint lists.
//!
//! Built from a [`Cluster`] with kube-proxy's tolerances (spec: kube-proxy-iptables.md §3.1,
//! §5.1): IPs parsed sloppily and printed canonically, source ranges trimmed, other-family
//! addresses dropped, headless and ExternalName services skipped. Tolerances are reported as
//! warnings; anything that could corrupt rendered text is refused.

use std::collections::hash_map::Entry;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::fast::FastMap;
use crate::ip::{join_host_port, parse_cidr_sloppy, parse_ip_sloppy};
use crate::model::{
    IntOrString, IpFamily, LabelMap, Placement, Protocol, Service, ServiceType, SharedStr, Str,
};
use crate::text::Word;
use crate::validate::is_dns1123_label;
use crate::{Cluster, Error, Issue, Result};

/// One endpoint of a service port, after kube-proxy's slice processing.
///
/// A snapshot holds one per endpoint of every service port, so its common part is held in
/// place (the `ip:port` text too, up to 24 bytes); topology hints and legacy labels, which
/// most endpoints have none of, sit behind one box ([`EndpointInfo::hints`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint IP (first address of the slice endpoint, canonical).
    pub ip: IpAddr,
    /// The endpoint (target) port from the slice.
    pub port: u16,
    /// `conditions.ready` (nil = true).
    pub ready: bool,
    /// `conditions.serving` (nil = true).
    pub serving: bool,
    /// `conditions.terminating` (nil = false).
    pub terminating: bool,
    /// `ip:port` (`[ip]:port` for IPv6): the key kube-proxy sorts and hashes by.
    pub endpoint: Str,
    /// The node the endpoint runs on and its zone (shared with the loaded endpoint): read
    /// through [`EndpointInfo::node_name`] and [`EndpointInfo::zone`].
    pub place: Placement,
    /// Topology hints and legacy topology labels; `None` when it has neither.
    pub hints: Option<Box<EndpointTopology>>,
}

/// The topology an endpoint's slice gives beyond its node and zone (its hints, and the legacy
/// labels): rarely set, so held apart from [`EndpointInfo`]. (The loaded endpoint's `hints`
/// field is [`crate::model::EndpointHints`].)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointTopology {
    /// Zone hints (`None` = no hints).
    pub zones: Option<Vec<String>>,
    /// Node hints (`None` = no hints).
    pub nodes: Option<Vec<String>>,
    /// Legacy topology labels (for `topologyKeys`).
    pub topology: LabelMap,
}

impl EndpointInfo {
    /// An endpoint at `ip:port`, ready and serving, on no node, without hints.
    pub fn at(ip: IpAddr, port: u16) -> EndpointInfo {
        EndpointInfo {
            ip,
            port,
            ready: true,
            serving: true,
            terminating: false,
            endpoint: Str::from(Word::host_port(&ip, port).as_str()),
            place: Placement::default(),
            hints: None,
        }
    }

    /// The node the endpoint runs on.
    pub fn node_name(&self) -> Option<&str> {
        self.place.node().map(SharedStr::as_str)
    }

    /// The endpoint's zone.
    pub fn zone(&self) -> Option<&str> {
        self.place.zone().map(SharedStr::as_str)
    }

    /// Zone hints (`None` = no hints).
    pub fn zone_hints(&self) -> Option<&[String]> {
        self.hints.as_ref()?.zones.as_deref()
    }

    /// Node hints (`None` = no hints).
    pub fn node_hints(&self) -> Option<&[String]> {
        self.hints.as_ref()?.nodes.as_deref()
    }

    /// The legacy topology label `key`, if the endpoint has it.
    pub fn topology_label(&self, key: &str) -> Option<&str> {
        self.hints.as_ref()?.topology.get(key)
    }

    /// Whether the endpoint has no legacy topology labels.
    pub fn has_no_topology(&self) -> bool {
        self.hints.as_ref().is_none_or(|h| h.topology.is_empty())
    }

    /// The hints, made when the endpoint has none yet.
    pub fn hints_mut(&mut self) -> &mut EndpointTopology {
        self.hints.get_or_insert_default()
    }
}

/// One service port as kube-proxy processes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortView {
    /// Service namespace.
    pub namespace: Str,
    /// Service name.
    pub name: Str,
    /// The port's name (empty when unnamed).
    pub port_name: Str,
    /// kube-proxy's `ServicePortName.String()`: `ns/name` or `ns/name:port`.
    pub service_port_name: Str,
    /// Protocol (never `Other`).
    pub protocol: Protocol,
    /// The service port.
    pub port: u16,
    /// The target port as written (informative; rendering uses the slices' ports).
    pub target_port: Option<IntOrString>,
    /// The cluster IP of this family.
    pub cluster_ip: IpAddr,
    /// The node port, 0 for none.
    pub node_port: u16,
    /// External IPs of this family, canonical, spec order.
    pub external_ips: Vec<IpAddr>,
    /// Load-balancer VIPs of this family (ipMode Proxy and hostnames skipped), status order.
    pub lb_ips: Vec<IpAddr>,
    /// Load-balancer source ranges of this family, canonical (empty = allow all).
    pub source_ranges: Vec<IpNet>,
    /// Health-check node port, 0 unless the service is LoadBalancer with ETP Local.
    pub health_check_node_port: u16,
    /// Service type.
    pub service_type: ServiceType,
    /// kube-proxy's service-level `ExternalPolicyLocal`.
    pub external_policy_local: bool,
    /// kube-proxy's `InternalPolicyLocal`.
    pub internal_policy_local: bool,
    /// ClientIP affinity timeout in seconds, if any.
    pub affinity_seconds: Option<u32>,
    /// Legacy `topologyKeys`.
    pub topology_keys: Vec<String>,
    /// Endpoints, de-duplicated by `ip:port` and sorted by that string (byte order).
    pub endpoints: Vec<EndpointInfo>,
}

impl ServicePortView {
    /// Port-level `ExternallyAccessible`: a node port, LB VIPs or external IPs.
    pub fn externally_accessible(&self) -> bool {
        self.node_port != 0 || !self.lb_ips.is_empty() || !self.external_ips.is_empty()
    }

    /// `UsesClusterEndpoints`: not ITP Local, or externally accessible.
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || self.externally_accessible()
    }

    /// `UsesLocalEndpoints`: ITP Local, or ETP Local on an externally accessible port.
    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || (self.external_policy_local && self.externally_accessible())
    }
}

/// All service ports of one IP family, in a deterministic order (namespace, name, port index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySnapshot {
    /// The family this snapshot is for.
    pub family: IpFamily,
    /// Service ports.
    pub ports: Vec<ServicePortView>,
    /// kube-proxy tolerances applied (non-canonical IPs, trimmed ranges, ...).
    pub warnings: Vec<Issue>,
}

impl ProxySnapshot {
    /// Builds the snapshot a kube-proxy of `family` would work from.
    pub fn build(cluster: &Cluster, family: IpFamily) -> Result<ProxySnapshot> {
        build(cluster, family)
    }

    /// Finds a service port by `ns/name` and optional port name or number.
    pub fn find(&self, service: &str, port: Option<&str>) -> Vec<&ServicePortView> {
        self.ports
            .iter()
            .filter(|p| format!("{}/{}", p.namespace, p.name) == service)
            .filter(|p| match port {
                None => true,
                Some(x) => p.port_name == x || p.port.to_string() == x,
            })
            .collect()
    }
}

/// Why a kube-proxy of one IP family programs nothing for a Service (spec:
/// kube-proxy-iptables.md §3.1): the rule [`ProxySnapshot::build`] applies, named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// `type: ExternalName`: a DNS CNAME, never proxied.
    ExternalName,
    /// `clusterIP: None`: DNS returns the endpoints; no virtual IP to proxy.
    Headless,
    /// No cluster IP of the proxier's family (single-stack of the other family).
    NoClusterIpOfFamily,
    /// No ports: nothing to program.
    NoPorts,
}

impl SkipReason {
    /// A short stable name (`external-name`, `headless`, `no-cluster-ip-of-family`, `no-ports`).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ExternalName => "external-name",
            SkipReason::Headless => "headless",
            SkipReason::NoClusterIpOfFamily => "no-cluster-ip-of-family",
            SkipReason::NoPorts => "no-ports",
        }
    }

    /// The reason in words, for people.
    pub fn message(self) -> &'static str {
        match self {
            SkipReason::ExternalName => "ExternalName: resolved by DNS, not proxied",
            SkipReason::Headless => "headless: no cluster IP, DNS returns the endpoints",
            SkipReason::NoClusterIpOfFamily => "no cluster IP of this family",
            SkipReason::NoPorts => "no ports",
        }
    }
}

/// Why kube-proxy of `family` skips `svc`, or `None` when it programs it. Services whose cluster
/// IP is missing or malformed are not skipped: [`ProxySnapshot::build`] refuses them.
pub fn skip_reason(svc: &Service, family: IpFamily) -> Option<SkipReason> {
    if svc.type_ == ServiceType::ExternalName {
        return Some(SkipReason::ExternalName);
    }
    if svc.is_headless() {
        return Some(SkipReason::Headless);
    }
    let ips: Vec<&String> = if svc.cluster_ips().is_empty() {
        svc.cluster_ip.iter().collect()
    } else {
        svc.cluster_ips().iter().collect()
    };
    let parsed: Vec<Option<IpAddr>> = ips.iter().map(|s| parse_ip_sloppy(s)).collect();
    let refused = ips.iter().all(|s| s.is_empty())
        || parsed
            .iter()
            .take_while(|ip| ip.is_none_or(|ip| IpFamily::of(&ip) != family))
            .any(Option::is_none);
    if refused {
        return None;
    }
    if !parsed.iter().flatten().any(|ip| IpFamily::of(ip) == family) {
        return Some(SkipReason::NoClusterIpOfFamily);
    }
    if svc.ports.is_empty() {
        return Some(SkipReason::NoPorts);
    }
    None
}

/// A Service kube-proxy does not program, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkippedService<'a> {
    /// The Service.
    pub service: &'a Service,
    /// Why.
    pub reason: SkipReason,
}

/// The Services a kube-proxy of `family` does not program, in input order, with the reason.
///
/// # Example
/// ```
/// use svccore::{load::Loader, model::IpFamily, snapshot::{skipped_services, SkipReason}};
/// let mut l = Loader::new();
/// l.add_str(None, r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"default"},
///   "spec":{"clusterIP":"None","ports":[{"port":5432}]}}"#).unwrap();
/// let cluster = l.finish().unwrap();
/// let s = skipped_services(&cluster, IpFamily::IPv4);
/// assert_eq!(s[0].reason, SkipReason::Headless);
/// ```
pub fn skipped_services(cluster: &Cluster, family: IpFamily) -> Vec<SkippedService<'_>> {
    cluster
        .services
        .iter()
        .filter_map(|service| {
            skip_reason(service, family).map(|reason| SkippedService { service, reason })
        })
        .collect()
}

fn build(cluster: &Cluster, family: IpFamily) -> Result<ProxySnapshot> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut order = latest_of_each_name(
        &cluster.services,
        |s| (&s.meta, &s.loc),
        "Service",
        &mut warnings,
    );
    order.sort_by(|a, b| {
        (a.meta.namespace.as_str(), a.meta.name.as_str())
            .cmp(&(b.meta.namespace.as_str(), b.meta.name.as_str()))
    });
    let (np_lo, np_hi) = cluster.node_port_range.unwrap_or((30000, 32767));
    // Slices by (namespace, service name), in input order.
    let mut slices: FastMap<(&str, &str), Vec<&crate::model::EndpointSlice>> = FastMap::default();
    let latest_slices = latest_of_each_name(
        &cluster.slices,
        |s| (&s.meta, &s.loc),
        "EndpointSlice",
        &mut warnings,
    );
    for s in latest_slices {
        if let Some(name) = s.service_name() {
            slices
                .entry((s.meta.namespace.as_str(), name))
                .or_default()
                .push(s);
        }
    }
    let mut ports = Vec::with_capacity(order.iter().map(|s| s.ports.len()).sum());
    // Addresses two Services claim (the API server refuses the second; see `validate`).
    let mut taken: FastMap<Claim, (&Service, usize, bool)> = FastMap::default();
    for svc in order {
        if svc.type_ == ServiceType::ExternalName || svc.is_headless() {
            continue;
        }
        let before = errors.len();
        // Anything that reaches rule text must be safe: names become comments and chain hashes.
        if !is_dns1123_label(&svc.meta.name) {
            errors.push(svc.loc.issue(
                "metadata.name",
                format!("{:?} is not a valid Service name", svc.meta.name),
            ));
        }
        if !is_dns1123_label(&svc.meta.namespace) {
            errors.push(svc.loc.issue(
                "metadata.namespace",
                format!("{:?} is not a valid namespace", svc.meta.namespace),
            ));
        }
        let Some(cluster_ip) = pick_cluster_ip(svc, family, &mut errors, &mut warnings) else {
            continue;
        };
        let external_ips = parse_ips(
            svc,
            "spec.externalIPs",
            svc.external_ips(),
            family,
            &mut warnings,
        );
        let mut lb_ips = Vec::new();
        for (i, ing) in svc.lb_ingress().iter().enumerate() {
            let Some(ip) = ing.ip.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            if ing.ip_mode.as_deref() == Some("Proxy") {
                continue;
            }
            let path = || format!("status.loadBalancer.ingress[{i}].ip");
            if let Some(ip) = parse_one(svc, path, ip, &mut warnings) {
                if IpFamily::of(&ip) == family {
                    lb_ips.push(ip);
                }
            }
        }
        let mut source_ranges = Vec::new();
        let mut zero = false;
        for (i, r) in svc.load_balancer_source_ranges().iter().enumerate() {
            let path = format!("spec.loadBalancerSourceRanges[{i}]");
            match parse_cidr_sloppy(r) {
                Some(net) => {
                    if net.to_string() != *r {
                        warnings.push(
                            svc.loc
                                .issue(&path, format!("{r:?} read as {net}, as kube-proxy does")),
                        );
                    }
                    if net.prefix_len() == 0 {
                        zero = true;
                    }
                    if (net.addr().is_ipv4()) == (family == IpFamily::IPv4) {
                        source_ranges.push(net);
                    }
                }
                None => warnings.push(svc.loc.issue(
                    &path,
                    format!("{r:?} is not a CIDR: ignored, as kube-proxy does"),
                )),
            }
        }
        if zero {
            // spec: kube-proxy-iptables.md §3.1 (>= v1.33): a zero CIDR means allow all.
            source_ranges.clear();
        }
        let hcnp = if svc.type_ == ServiceType::LoadBalancer && svc.external_policy_local() {
            checked_port(
                svc,
                || "spec.healthCheckNodePort".to_owned(),
                svc.health_check_node_port().unwrap_or(0),
                true,
                &mut errors,
            )
        } else {
            0
        };
        let affinity_seconds = match svc.affinity_seconds() {
            Some(t) if (1..=crate::model::service::MAX_AFFINITY_TIMEOUT).contains(&t) => {
                Some(t as u32)
            }
            Some(t) => {
                errors.push(svc.loc.issue(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    format!("must be between 1 and 86400, got {t}"),
                ));
                None
            }
            None => None,
        };
        let key = (svc.meta.namespace.as_str(), svc.meta.name.as_str());
        let svc_slices = slices.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        if svc.ports.is_empty() {
            warnings.push(svc.loc.issue(
                "spec.ports",
                format!(
                    "Service {} has no ports: kube-proxy programs nothing for it",
                    svc.key()
                ),
            ));
        }
        let mut views: Vec<(usize, ServicePortView)> = Vec::new();
        for (pi, sp) in svc.ports.iter().enumerate() {
            // Paths are written only for the issues that need them.
            let base = || format!("spec.ports[{pi}]");
            if matches!(sp.protocol, Protocol::Other(_)) {
                errors.push(svc.loc.issue(
                    &format!("{}.protocol", base()),
                    format!(
                        "unsupported protocol {:?}: must be TCP, UDP or SCTP",
                        sp.protocol.as_api()
                    ),
                ));
                continue;
            }
            if !sp.name.is_empty() && !is_dns1123_label(&sp.name) {
                errors.push(svc.loc.issue(
                    &format!("{}.name", base()),
                    format!("{:?} is not a valid port name", sp.name),
                ));
                continue;
            }
            let port = checked_port(
                svc,
                || format!("{}.port", base()),
                sp.port,
                false,
                &mut errors,
            );
            let node_port = checked_port(
                svc,
                || format!("{}.nodePort", base()),
                sp.node_port.unwrap_or(0),
                true,
                &mut errors,
            );
            if port == 0 {
                continue;
            }
            if node_port != 0 && !(np_lo..=np_hi).contains(&node_port) {
                warnings.push(svc.loc.issue(
                    &format!("{}.nodePort", base()),
                    format!(
                        "{node_port} is outside the node port range {np_lo}-{np_hi}: kube-proxy programs it as given"
                    ),
                ));
            }
            let mut spn = svc.meta.namespace.clone();
            spn.push('/');
            spn.push_str(&svc.meta.name);
            if !sp.name.is_empty() {
                spn.push(':');
                spn.push_str(&sp.name);
            }
            let mut endpoints =
                endpoints_for(svc_slices, &sp.name, &sp.protocol, family, &mut warnings);
            if !svc.topology_keys().is_empty() {
                fill_legacy_topology(&mut endpoints, cluster);
            }
            // kube-proxy keys a Service's ports by (port name, protocol): of two ports with
            // one name, the later replaces the earlier in its map of service ports.
            if let Some(i) = views
                .iter()
                .position(|(_, v)| v.port_name == sp.name && v.protocol == sp.protocol)
            {
                let (earlier, _) = views.remove(i);
                warnings.push(svc.loc.issue(
                    &format!("spec.ports[{earlier}]"),
                    format!(
                        "port name {:?} ({}) is used again by {}: kube-proxy keeps the last port of a name and protocol, so this one is not programmed",
                        sp.name,
                        sp.protocol.as_api(),
                        base()
                    ),
                ));
            }
            views.push((
                pi,
                ServicePortView {
                    namespace: svc.meta.namespace.clone(),
                    name: svc.meta.name.clone(),
                    port_name: Str::from(sp.name.as_str()),
                    service_port_name: spn,
                    protocol: sp.protocol.clone(),
                    port,
                    target_port: sp.target_port.clone(),
                    cluster_ip,
                    node_port,
                    external_ips: external_ips.clone(),
                    lb_ips: lb_ips.clone(),
                    source_ranges: source_ranges.clone(),
                    health_check_node_port: hcnp,
                    service_type: svc.type_.clone(),
                    external_policy_local: svc.external_policy_local(),
                    internal_policy_local: svc.internal_policy_local(),
                    affinity_seconds,
                    topology_keys: svc.topology_keys().to_vec(),
                    endpoints,
                },
            ));
        }
        if errors.len() == before {
            for &(pi, ref v) in &views {
                let claims = [
                    Some((Some(v.cluster_ip), v.port, false)),
                    (v.node_port != 0).then_some((None, v.node_port, true)),
                ];
                for (ip, port, is_node_port) in claims.into_iter().flatten() {
                    match taken.entry((ip, port, v.protocol.clone())) {
                        Entry::Occupied(e) => {
                            let &(other, other_pi, _) = e.get();
                            let what = match ip {
                                Some(ip) => {
                                    format!("{}/{}", join_host_port(&ip, port), v.protocol.as_api())
                                }
                                None => format!("node port {port}/{}", v.protocol.as_api()),
                            };
                            warnings.push(svc.loc.issue(
                                &claim_path(pi, is_node_port),
                                format!(
                                    "{what} is also Service {}'s at {}: kube-proxy programs both in no fixed order, so which one traffic reaches is undefined",
                                    other.key(),
                                    other.loc.describe(&claim_path(other_pi, is_node_port))
                                ),
                            ));
                        }
                        Entry::Vacant(e) => {
                            e.insert((svc, pi, is_node_port));
                        }
                    }
                }
            }
            ports.extend(views.into_iter().map(|(_, v)| v));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    // A slice's problem is met once per service port that reads it: say it once.
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.to_string()));
    Ok(ProxySnapshot {
        family,
        ports,
        warnings,
    })
}

/// An address a service port claims: (its cluster IP, or `None` for its node port; the port;
/// the protocol). The value recorded for the first claimant: the Service, its port index and
/// whether the claim is the node port.
type Claim = (Option<IpAddr>, u16, Protocol);

/// The path of a service port's claim on an address: its `port` or its `nodePort`.
fn claim_path(pi: usize, node_port: bool) -> String {
    let field = if node_port { "nodePort" } else { "port" };
    format!("spec.ports[{pi}].{field}")
}

/// kube-proxy reads Services and EndpointSlices through informers, whose stores hold one
/// object per namespace/name: of two objects with one name, the later replaces the earlier.
/// Returns the objects kept, in input order, and warns about each one replaced.
fn latest_of_each_name<'a, T>(
    objects: &'a [T],
    id: impl Fn(&T) -> (&crate::model::ObjectMeta, &crate::model::Loc),
    kind: &str,
    warnings: &mut Vec<Issue>,
) -> Vec<&'a T> {
    let mut last: FastMap<(&str, &str), usize> = FastMap::default();
    for (i, o) in objects.iter().enumerate() {
        let (meta, _) = id(o);
        last.insert((meta.namespace.as_str(), meta.name.as_str()), i);
    }
    let mut kept = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let (meta, loc) = id(o);
        let later = last[&(meta.namespace.as_str(), meta.name.as_str())];
        if later == i {
            kept.push(o);
            continue;
        }
        let (_, later_loc) = id(&objects[later]);
        warnings.push(loc.issue(
            "metadata.name",
            format!(
                "{kind} {}/{} is given again at {}: kube-proxy's informer keeps the last object of a name, so this one is ignored",
                meta.namespace,
                meta.name,
                later_loc.describe("metadata.name")
            ),
        ));
    }
    kept
}

fn checked_port(
    svc: &Service,
    path: impl FnOnce() -> String,
    v: i64,
    zero_ok: bool,
    errors: &mut Vec<Issue>,
) -> u16 {
    if (v == 0 && zero_ok) || (1..=65535).contains(&v) {
        v as u16
    } else {
        errors.push(
            svc.loc
                .issue(&path(), format!("must be between 1 and 65535, got {v}")),
        );
        0
    }
}

fn parse_one(
    svc: &Service,
    path: impl FnOnce() -> String,
    s: &str,
    warnings: &mut Vec<Issue>,
) -> Option<IpAddr> {
    match parse_ip_sloppy(s) {
        Some(ip) => {
            if Word::ip(&ip).as_str() != s {
                warnings.push(
                    svc.loc
                        .issue(&path(), format!("{s:?} read as {ip}, as kube-proxy does")),
                );
            }
            Some(ip)
        }
        None => {
            warnings.push(svc.loc.issue(
                &path(),
                format!("{s:?} is not an IP address: ignored, as kube-proxy does"),
            ));
            None
        }
    }
}

fn parse_ips(
    svc: &Service,
    field: &str,
    list: &[String],
    family: IpFamily,
    warnings: &mut Vec<Issue>,
) -> Vec<IpAddr> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| parse_one(svc, || format!("{field}[{i}]"), s, warnings))
        .filter(|ip| IpFamily::of(ip) == family)
        .collect()
}

fn pick_cluster_ip(
    svc: &Service,
    family: IpFamily,
    errors: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) -> Option<IpAddr> {
    let (field, list): (&str, Vec<&String>) = if svc.cluster_ips().is_empty() {
        ("spec.clusterIP", svc.cluster_ip.iter().collect())
    } else {
        ("spec.clusterIPs", svc.cluster_ips().iter().collect())
    };
    if list.iter().all(|s| s.is_empty()) {
        errors.push(svc.loc.issue(
            "spec.clusterIP",
            "has no cluster IP (not headless, not ExternalName)",
        ));
        return None;
    }
    for (i, s) in list.iter().enumerate() {
        let path = if svc.cluster_ips().is_empty() {
            field.to_owned()
        } else {
            format!("{field}[{i}]")
        };
        match parse_ip_sloppy(s) {
            Some(ip) if IpFamily::of(&ip) == family => {
                if Word::ip(&ip).as_str() != s.as_str() {
                    warnings.push(
                        svc.loc
                            .issue(&path, format!("{s:?} read as {ip}, as kube-proxy does")),
                    );
                }
                return Some(ip);
            }
            Some(_) => {}
            None => {
                errors.push(svc.loc.issue(&path, format!("{s:?} is not an IP address")));
                return None;
            }
        }
    }
    None
}

/// kube-proxy's EndpointSliceCache for one service port (spec: kube-proxy-iptables.md §5.1).
fn endpoints_for(
    slices: &[&crate::model::EndpointSlice],
    port_name: &str,
    protocol: &Protocol,
    family: IpFamily,
    warnings: &mut Vec<Issue>,
) -> Vec<EndpointInfo> {
    let mut all: Vec<EndpointInfo> =
        Vec::with_capacity(slices.iter().map(|s| s.endpoints.len()).sum());
    for s in slices {
        if s.address_type != family.as_str() {
            continue;
        }
        for (pi, p) in s.ports.iter().enumerate() {
            let (Some(name), Some(port)) = (p.name.as_deref(), p.port) else {
                continue;
            };
            if name != port_name || &p.protocol != protocol || port == 0 {
                continue;
            }
            if !(1..=65535).contains(&port) {
                warnings.push(s.loc.issue(
                    &format!("ports[{pi}].port"),
                    format!("{port} is not a port: ignored"),
                ));
                continue;
            }
            for (ei, e) in s.endpoints.iter().enumerate() {
                let Some(addr) = e.addresses.first() else {
                    continue;
                };
                let Some(ip) = parse_ip_sloppy(addr) else {
                    warnings.push(s.loc.issue(
                        &format!("endpoints[{ei}].addresses[0]"),
                        format!("{addr:?} is not an IP address: ignored"),
                    ));
                    continue;
                };
                if IpFamily::of(&ip) != family {
                    warnings.push(s.loc.issue(
                        &format!("endpoints[{ei}].addresses[0]"),
                        format!(
                            "{addr:?} is not an {} address (addressType {}): ignored, as kube-proxy does",
                            family.as_str(),
                            s.address_type
                        ),
                    ));
                    continue;
                }
                let zones = e.hints_zones().map(owned);
                let nodes = e.hints_nodes().map(owned);
                let topology = e.topology();
                let hints = (zones.is_some() || nodes.is_some() || topology.is_some()).then(|| {
                    Box::new(EndpointTopology {
                        zones,
                        nodes,
                        topology: topology.cloned().unwrap_or_default(),
                    })
                });
                all.push(EndpointInfo {
                    ready: e.ready.unwrap_or(true),
                    serving: e.serving.unwrap_or(true),
                    terminating: e.terminating.unwrap_or(false),
                    place: e.place.clone(),
                    hints,
                    ..EndpointInfo::at(ip, port as u16)
                });
            }
        }
    }
    // kube-proxy's order is the byte-wise order of the `ip:port` texts. The sort is stable, so
    // the copies of one endpoint stay in input order, and a later copy replaces an earlier one
    // unless it is terminating.
    all.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    all.dedup_by(|later, kept| {
        let same = later.endpoint == kept.endpoint;
        if same && !later.terminating {
            std::mem::swap(later, kept);
        }
        same
    });
    all
}

/// A list of boxed strings as `String`s.
fn owned(v: &[Box<str>]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The EndpointSlice controller filled the legacy `topology` map from the endpoint's Node labels
/// (hostname, zone, region); do the same where the input has no map.
fn fill_legacy_topology(endpoints: &mut [EndpointInfo], cluster: &Cluster) {
    use crate::model::node::{HOSTNAME_LABEL, REGION_LABEL, ZONE_LABEL};
    for e in endpoints.iter_mut().filter(|e| e.has_no_topology()) {
        let Some(node) = e
            .node_name()
            .and_then(|n| cluster.nodes.iter().find(|x| x.meta.name == n))
        else {
            continue;
        };
        for key in [HOSTNAME_LABEL, ZONE_LABEL, REGION_LABEL] {
            if let Some(v) = node.meta.labels.get(key) {
                e.hints_mut().topology.insert(key, v);
            }
        }
    }
}
