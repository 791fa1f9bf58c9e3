//! Builds kube-proxy's table from a per-node plan: the fixed skeleton (`setupNFTables`), then
//! each service port's chains, rules and elements in kube-proxy's write order
//! (`syncProxyRules`), then the stale chains.
//!
//! Every routing decision (which chains exist, where internal and external traffic goes, drop
//! or reject, the firewall, the node-IP allowance) is read from the
//! [`PortPlan`](crate::proxier::plan::PortPlan); this file only spells it in nftables.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::model::IpFamily;
use crate::proxier::config::{LocalDetector, ProxierSettings};
use crate::proxier::plan::{NodePlan, PortPlan, Route};
use crate::snapshot::ServicePortView;
use crate::{Error, Issue, Result};

use super::model::{
    BaseChain, ChainId, ChainType, Container, Family, Hook, MapId, SetId, Sizes, Table,
};
use super::names::*;

/// kube-proxy's base chains, in its creation order (`nftablesBaseChains`).
const BASE_CHAINS: [(&str, ChainType, Hook, i32); 8] = [
    (
        "filter-prerouting-pre-dnat",
        ChainType::Filter,
        Hook::Prerouting,
        -110,
    ),
    (
        "filter-output-pre-dnat",
        ChainType::Filter,
        Hook::Output,
        -110,
    ),
    ("filter-input", ChainType::Filter, Hook::Input, 0),
    ("filter-forward", ChainType::Filter, Hook::Forward, 0),
    ("filter-output", ChainType::Filter, Hook::Output, 0),
    ("nat-prerouting", ChainType::Nat, Hook::Prerouting, -100),
    ("nat-output", ChainType::Nat, Hook::Output, -100),
    ("nat-postrouting", ChainType::Nat, Hook::Postrouting, 100),
];

// Indices into BASE_CHAINS.
const FILTER_PREROUTING_PRE_DNAT: usize = 0;
const FILTER_OUTPUT_PRE_DNAT: usize = 1;
const FILTER_INPUT: usize = 2;
const FILTER_FORWARD: usize = 3;
const FILTER_OUTPUT: usize = 4;
const NAT_PREROUTING: usize = 5;
const NAT_OUTPUT: usize = 6;
const NAT_POSTROUTING: usize = 7;

/// The affinity sets' flags.
const AFFINITY_FLAGS: &[&str] = &["dynamic", "timeout"];

/// The local-traffic detector's two matches in nftables syntax (kube-proxy `IfLocalNFT`,
/// `IfNotLocalNFT`).
struct Detector {
    if_local: String,
    if_not_local: String,
}

fn detector(d: &LocalDetector) -> Result<Option<Detector>> {
    let bad = |path: &str, v: &str, what: &str| {
        Err(Error::Config(Issue::new(
            None,
            path,
            format!("{v:?} is not {what}"),
        )))
    };
    Ok(match d {
        LocalDetector::None | LocalDetector::NodeCidr => None,
        LocalDetector::Cidr(c) => {
            let Some(net) = crate::ip::parse_cidr_sloppy(c) else {
                return bad("clusterCIDR", c, "a CIDR");
            };
            if !c
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b"./:".contains(&b))
            {
                return bad("clusterCIDR", c, "a CIDR");
            }
            // kube-proxy picks the keyword from the CIDR's own family and writes the CIDR as
            // configured.
            let ipx = if net.addr().is_ipv4() { "ip" } else { "ip6" };
            Some(Detector {
                if_local: format!("{ipx} saddr {c}"),
                if_not_local: format!("{ipx} saddr != {c}"),
            })
        }
        LocalDetector::BridgeInterface(i) => {
            if !is_interface_name(i) {
                return bad("detectLocal.bridgeInterface", i, "an interface name");
            }
            Some(Detector {
                if_local: format!("iif {i}"),
                if_not_local: format!("iif != {i}"),
            })
        }
        LocalDetector::InterfaceNamePrefix(p) => {
            if !is_interface_name(p) {
                return bad(
                    "detectLocal.interfaceNamePrefix",
                    p,
                    "an interface name prefix",
                );
            }
            Some(Detector {
                if_local: format!("iif {p}*"),
                if_not_local: format!("iif != {p}*"),
            })
        }
    })
}

/// Linux interface names: at most 15 bytes, none of them blank, `/`, or quoting.
fn is_interface_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@:".contains(&b))
}

fn check_mark(m: &str) -> Result<()> {
    let hex = m.strip_prefix("0x").unwrap_or("");
    if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Config(Issue::new(
            None,
            "masqueradeMark",
            format!("{m:?} is not a mark (0x followed by up to 8 hex digits)"),
        )));
    }
    Ok(())
}

fn check_chain_name(i: usize, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b));
    if !ok {
        return Err(Error::Config(Issue::new(
            None,
            format!("staleChains[{i}]"),
            format!("{s:?} is not a chain name"),
        )));
    }
    Ok(())
}

/// kube-proxy's `NodePortAddresses` for nftables: `None` when NodePorts match every local
/// address ("match all": no CIDR of this family, or a zero CIDR), else the interface addresses
/// of this family inside one of the CIDRs, loopback left out (nftables never serves NodePorts
/// on loopback), in CIDR then interface order without repeats.
fn nodeport_ips(s: &ProxierSettings) -> Option<Vec<IpAddr>> {
    let v4 = s.ip_family == IpFamily::IPv4;
    let cidrs: Vec<_> = s
        .node_port_addresses
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|n| n.addr().is_ipv4() == v4)
        .collect();
    if cidrs.is_empty() || cidrs.iter().any(|n| n.prefix_len() == 0) {
        return None;
    }
    let mut ips: Vec<IpAddr> = Vec::new();
    for c in cidrs {
        for a in &s.interface_addresses {
            let ip = a.addr();
            if c.contains(&ip) && !ip.is_loopback() && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    Some(ips)
}

/// The fixed objects service ports refer to.
struct Fixed {
    masquerade_all: bool,
    mark_masq: ChainId,
    cluster_ips: SetId,
    service_ips: MapId,
    service_nodeports: MapId,
    no_endpoint_services: MapId,
    no_endpoint_nodeports: MapId,
    firewall_ips: MapId,
}

/// Per-port scratch space, reused so that a port costs no allocation of its own.
#[derive(Default)]
struct Scratch {
    base: String,
    ep_base: String,
    ep_chain: Vec<Option<ChainId>>,
    ep_set: Vec<Option<SetId>>,
    /// Cluster IPs already in `cluster-ips`: kube-proxy adds an element once per key
    /// (`nftElementStorage.ensureElem`), so a multi-port service has one.
    cluster_ips: HashSet<IpAddr>,
}

/// Builds the table kube-proxy's nftables proxier leaves after a full sync for `plan` and
/// `settings`.
///
/// # Errors
/// [`Error::InvalidArgument`] when the plan's family is not the settings' family;
/// [`Error::Config`] for a setting that would write invalid text (mark, detector, stale chain
/// names).
pub fn build(plan: &NodePlan<'_>, settings: &ProxierSettings) -> Result<Table> {
    if plan.snapshot.family != settings.ip_family {
        return Err(Error::InvalidArgument(format!(
            "the snapshot is {} but the proxier settings say {}",
            plan.snapshot.family.as_str(),
            settings.ip_family.as_str()
        )));
    }
    check_mark(&settings.masquerade_mark)?;
    for (i, c) in settings.stale_chains.iter().enumerate() {
        check_chain_name(i, c)?;
    }
    let det = detector(&settings.local_detector)?;
    let fam = Family::of(settings.ip_family);
    let ports = &plan.snapshot.ports;
    let sizes = Sizes {
        chains: 32 + settings.stale_chains.len() + ports.len() * 3 + plan.total_endpoints,
        rules: 48 + ports.len() * 4 + plan.total_endpoints * 2,
        elements: 8 + ports.len() * 4,
        sets: plan
            .ports
            .iter()
            .zip(ports)
            .filter(|(_, v)| v.affinity_seconds.is_some())
            .map(|(p, _)| p.endpoints.all_reachable.len())
            .sum(),
    };
    let mut t = Table::new(fam, sizes);
    let fixed = skeleton(&mut t, settings);
    let mut scratch = Scratch::default();
    for (v, p) in plan.in_order() {
        write_port(&mut t, &fixed, det.as_ref(), v, p, &mut scratch);
    }
    if !settings.stale_chains.is_empty() {
        let mut known: HashSet<String> = t.chains().map(|c| c.name.to_owned()).collect();
        for c in &settings.stale_chains {
            if known.insert(c.clone()) {
                t.add_chain("", c, None, None);
            }
        }
    }
    Ok(t)
}

/// `setupNFTables`: the table, base chains, jump chains, masquerading, the `cluster-ips`,
/// `nodeport-ips` sets and the verdict maps with the rules that use them.
fn skeleton(t: &mut Table, s: &ProxierSettings) -> Fixed {
    let fam = t.family();
    let ipx = fam.as_str();
    let base: Vec<ChainId> = BASE_CHAINS
        .iter()
        .map(|&(name, chain_type, hook, priority)| {
            let b = BaseChain {
                chain_type,
                hook,
                priority,
            };
            t.add_chain("", name, Some(b), None)
        })
        .collect();
    let nodeport_endpoints_check = t.add_chain("", NODEPORT_ENDPOINTS_CHECK, None, None);
    let service_endpoints_check = t.add_chain("", SERVICE_ENDPOINTS_CHECK, None, None);
    let firewall_check = t.add_chain("", FIREWALL_CHECK, None, None);
    let services = t.add_chain("", SERVICES, None, None);
    let masquerading = t.add_chain("", MASQUERADING, None, None);
    let cluster_ips_check = t.add_chain("", CLUSTER_IPS_CHECK, None, None);
    // The jump rules (`nftablesJumpChains`), in kube-proxy's order.
    let ct_new = "ct state new jump ";
    let jumps = [
        (nodeport_endpoints_check, FILTER_INPUT, ct_new),
        (service_endpoints_check, FILTER_INPUT, ct_new),
        (service_endpoints_check, FILTER_FORWARD, ct_new),
        (service_endpoints_check, FILTER_OUTPUT, ct_new),
        (firewall_check, FILTER_PREROUTING_PRE_DNAT, ct_new),
        (firewall_check, FILTER_OUTPUT_PRE_DNAT, ct_new),
        (services, NAT_OUTPUT, "jump "),
        (services, NAT_PREROUTING, "jump "),
        (masquerading, NAT_POSTROUTING, "jump "),
        (cluster_ips_check, FILTER_FORWARD, ct_new),
        (cluster_ips_check, FILTER_OUTPUT, ct_new),
    ];
    for (dst, src, how) in jumps {
        t.rule(base[src]).s(how).chain(dst).end(None);
    }
    let mark_masq = t.add_chain("", MARK_FOR_MASQUERADE, None, None);
    let m = s.masquerade_mark.as_str();
    t.rule(mark_masq).s("mark set mark or ").s(m).end(None);
    t.rule(masquerading)
        .s("mark and ")
        .s(m)
        .s(" == 0 return")
        .end(None);
    t.rule(masquerading).s("mark set mark xor ").s(m).end(None);
    t.rule(masquerading).s("masquerade fully-random").end(None);

    let addr = fam.addr_type();
    let cluster_ips = t.add_set("", CLUSTER_IPS, addr, &[], None, Some("Active ClusterIPs"));
    t.rule(cluster_ips_check)
        .s(ipx)
        .s(" daddr @")
        .set(cluster_ips)
        .s(" reject")
        .end(Some("Reject traffic to invalid ports of ClusterIPs"));
    let v4 = s.ip_family == IpFamily::IPv4;
    let mut cidrs = s
        .service_cidrs
        .iter()
        .filter(|n| n.addr().is_ipv4() == v4)
        .peekable();
    if cidrs.peek().is_some() {
        let mut r = t.rule(cluster_ips_check);
        r.s(ipx).s(" daddr { ");
        for (i, c) in cidrs.enumerate() {
            if i > 0 {
                r.s(",");
            }
            r.d(c);
        }
        r.s(" } drop")
            .end(Some("Drop traffic to unallocated ClusterIPs"));
    }

    let np_ips = nodeport_ips(s);
    let nodeport_set = np_ips.as_ref().map(|ips| {
        let set = t.add_set(
            "",
            NODEPORT_IPS,
            addr,
            &[],
            None,
            Some("IPs that accept NodePort traffic"),
        );
        for ip in ips {
            t.element(Container::Set(set)).ip(ip).end();
        }
        set
    });
    let no_localhost = match fam {
        Family::Ip => "ip daddr != 127.0.0.0/8 ",
        Family::Ip6 => "ip6 daddr != ::1 ",
    };
    let no_endpoint_services = t.add_map(
        NO_ENDPOINT_SERVICES,
        fam.addr_proto_port_type(),
        Some("vmap to drop or reject packets to services with no endpoints"),
    );
    let no_endpoint_nodeports = t.add_map(
        NO_ENDPOINT_NODEPORTS,
        "inet_proto . inet_service",
        Some("vmap to drop or reject packets to service nodeports with no endpoints"),
    );
    let reject = t.add_chain(
        "",
        REJECT_CHAIN,
        None,
        Some("helper for @no-endpoint-services / @no-endpoint-nodeports"),
    );
    t.rule(reject).s("reject").end(None);
    t.rule(service_endpoints_check)
        .s(ipx)
        .s(" daddr . meta l4proto . th dport vmap @")
        .s(NO_ENDPOINT_SERVICES)
        .end(None);
    {
        let mut r = t.rule(nodeport_endpoints_check);
        match nodeport_set {
            Some(set) => r.s(ipx).s(" daddr @").set(set).s(" "),
            None => r.s(no_localhost),
        };
        r.s("meta l4proto . th dport vmap @")
            .s(NO_ENDPOINT_NODEPORTS)
            .end(None);
    }
    let firewall_ips = t.add_map(
        FIREWALL_IPS,
        fam.addr_proto_port_type(),
        Some("destinations that are subject to LoadBalancerSourceRanges"),
    );
    t.rule(firewall_check)
        .s(ipx)
        .s(" daddr . meta l4proto . th dport vmap @")
        .s(FIREWALL_IPS)
        .end(None);
    let service_ips = t.add_map(
        SERVICE_IPS,
        fam.addr_proto_port_type(),
        Some("ClusterIP, ExternalIP and LoadBalancer IP traffic"),
    );
    let service_nodeports = t.add_map(
        SERVICE_NODEPORTS,
        "inet_proto . inet_service",
        Some("NodePort traffic"),
    );
    t.rule(services)
        .s(ipx)
        .s(" daddr . meta l4proto . th dport vmap @")
        .s(SERVICE_IPS)
        .end(None);
    {
        let mut r = t.rule(services);
        match nodeport_set {
            Some(set) => r.s(ipx).s(" daddr @").set(set).s(" "),
            None => r.s("fib daddr type local ").s(no_localhost),
        };
        r.s("meta l4proto . th dport vmap @")
            .s(SERVICE_NODEPORTS)
            .end(None);
    }
    Fixed {
        masquerade_all: s.masquerade_all,
        mark_masq,
        cluster_ips,
        service_ips,
        service_nodeports,
        no_endpoint_services,
        no_endpoint_nodeports,
        firewall_ips,
    }
}

/// The verdict of a refused route in the no-endpoint maps.
fn refusal(route: Route) -> &'static str {
    match route {
        Route::NoLocalEndpoints => "drop",
        // Served routes never reach here (callers check `is_served`).
        Route::NoEndpoints | Route::Cluster | Route::Local => "goto reject-chain",
    }
}

/// One service port, in `syncProxyRules` order.
fn write_port(
    t: &mut Table,
    f: &Fixed,
    det: Option<&Detector>,
    v: &ServicePortView,
    p: &PortPlan,
    sc: &mut Scratch,
) {
    let ipx = t.family().as_str();
    let proto = v.protocol.lower();
    let spn = v.service_port_name.as_str();
    let affinity = v.affinity_seconds;
    sc.base.clear();
    write_port_base(&mut sc.base, &v.namespace, &v.name, proto, &v.port_name);
    sc.ep_chain.clear();
    sc.ep_chain.resize(v.endpoints.len(), None);
    sc.ep_set.clear();
    sc.ep_set.resize(v.endpoints.len(), None);

    // Endpoint chains and, with ClientIP affinity, their affinity sets.
    for &i in &p.endpoints.all_reachable {
        sc.ep_base.clear();
        write_endpoint_base(
            &mut sc.ep_base,
            &v.namespace,
            &v.name,
            proto,
            &v.port_name,
            &v.endpoints[i].endpoint,
        );
        sc.ep_chain[i] = Some(t.add_chain(ENDPOINT_PREFIX, &sc.ep_base, None, None));
        if let Some(secs) = affinity {
            let addr = t.family().addr_type();
            sc.ep_set[i] = Some(t.add_set(
                AFFINITY_PREFIX,
                &sc.ep_base,
                addr,
                AFFINITY_FLAGS,
                Some(secs),
                None,
            ));
        }
    }
    let mut cluster_chain = p
        .cluster_chain
        .then(|| t.add_chain(SERVICE_PREFIX, &sc.base, None, None));
    let mut local_chain = p
        .local_chain
        .then(|| t.add_chain(LOCAL_PREFIX, &sc.base, None, None));
    let ext_chain = p
        .external_chain
        .then(|| t.add_chain(EXTERNAL_PREFIX, &sc.base, None, None));
    // The chain a served route's traffic goes to. The plan creates it whenever the route is
    // served; it is added here otherwise so that no element points at a missing chain.
    let mut policy_chain = |t: &mut Table, route: Route| -> Option<ChainId> {
        let (slot, prefix) = match route {
            Route::Cluster => (&mut cluster_chain, SERVICE_PREFIX),
            Route::Local => (&mut local_chain, LOCAL_PREFIX),
            Route::NoLocalEndpoints | Route::NoEndpoints => return None,
        };
        Some(*slot.get_or_insert_with(|| t.add_chain(prefix, &sc.base, None, None)))
    };
    let internal_chain = policy_chain(t, p.internal);
    // Only an external chain sends anywhere by the external route.
    let external_policy_chain = if p.external_chain {
        policy_chain(t, p.external)
    } else {
        None
    };
    // The short-circuit rules of an ETP Local external chain go to the cluster-policy chain.
    let short_circuit = if p.external_chain && p.external != Route::Cluster {
        policy_chain(t, Route::Cluster)
    } else {
        None
    };
    let ext_served = p.external.is_served();
    let has = p.has_endpoints();

    // Elements. spec: README "Per service port".
    if sc.cluster_ips.insert(v.cluster_ip) {
        t.element(Container::Set(f.cluster_ips))
            .ip(&v.cluster_ip)
            .end();
    }
    match internal_chain {
        Some(c) => t
            .element(Container::Map(f.service_ips))
            .ip(&v.cluster_ip)
            .part(proto)
            .port(v.port)
            .goto(c),
        None => t
            .element(Container::Map(f.no_endpoint_services))
            .ip(&v.cluster_ip)
            .part(proto)
            .port(v.port)
            .comment(spn)
            .verdict(refusal(p.internal)),
    }
    for ip in &v.external_ips {
        if let (true, Some(ext)) = (has, ext_chain) {
            t.element(Container::Map(f.service_ips))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .goto(ext);
        }
        if !ext_served {
            t.element(Container::Map(f.no_endpoint_services))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .comment(spn)
                .verdict(refusal(p.external));
        }
    }
    let fw_chain = p
        .lb_source_filter
        .then(|| t.add_chain(FIREWALL_PREFIX, &sc.base, None, None));
    for ip in &v.lb_ips {
        if let (true, Some(ext)) = (has, ext_chain) {
            t.element(Container::Map(f.service_ips))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .goto(ext);
        }
        if let Some(fw) = fw_chain {
            t.element(Container::Map(f.firewall_ips))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .goto(fw);
        }
    }
    if !ext_served {
        for ip in &v.lb_ips {
            t.element(Container::Map(f.no_endpoint_services))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .comment(spn)
                .verdict(refusal(p.external));
        }
    }
    if v.node_port != 0 {
        if let (true, Some(ext)) = (has, ext_chain) {
            t.element(Container::Map(f.service_nodeports))
                .part(proto)
                .port(v.node_port)
                .goto(ext);
        }
        if !ext_served {
            t.element(Container::Map(f.no_endpoint_nodeports))
                .part(proto)
                .port(v.node_port)
                .comment(spn)
                .verdict(refusal(p.external));
        }
    }

    // Internal traffic: masquerade what the detector says is not from a pod (or everything).
    if let Some(ic) = internal_chain {
        if f.masquerade_all {
            t.rule(ic)
                .s(ipx)
                .s(" daddr ")
                .ip(&v.cluster_ip)
                .s(" jump ")
                .chain(f.mark_masq)
                .end(None);
        } else if let Some(d) = det {
            t.rule(ic)
                .s(ipx)
                .s(" daddr ")
                .ip(&v.cluster_ip)
                .s(" ")
                .s(&d.if_not_local)
                .s(" jump ")
                .chain(f.mark_masq)
                .end(None);
        }
    }

    // External traffic.
    if let Some(ext) = ext_chain {
        match short_circuit {
            None => {
                t.rule(ext).s("jump ").chain(f.mark_masq).end(None);
            }
            Some(svc) => {
                if let Some(d) = det {
                    t.rule(ext)
                        .s(&d.if_local)
                        .s(" goto ")
                        .chain(svc)
                        .end(Some("short-circuit pod traffic"));
                }
                t.rule(ext)
                    .s("fib saddr type local jump ")
                    .chain(f.mark_masq)
                    .end(Some("masquerade local traffic"));
                t.rule(ext)
                    .s("fib saddr type local goto ")
                    .chain(svc)
                    .end(Some("short-circuit local traffic"));
            }
        }
        if let Some(pc) = external_policy_chain {
            t.rule(ext).s("goto ").chain(pc).end(None);
        }
    }

    // Load-balancer source ranges.
    if let Some(fw) = fw_chain {
        let mut r = t.rule(fw);
        r.s(ipx).s(" saddr != { ");
        for (i, n) in v.source_ranges.iter().enumerate() {
            if i > 0 {
                r.s(" , ");
            }
            r.d(n);
        }
        if p.source_ranges_contain_node_ip {
            // VIP-like load balancers: the node reaching its own LB IP arrives from the VIP.
            for ip in &v.lb_ips {
                r.s(" , ").ip(ip);
            }
        }
        r.s(" } drop").end(None);
    }

    // Policy chains: affinity, then the random choice.
    if p.cluster_chain {
        if let Some(c) = cluster_chain {
            endpoint_choice(t, c, &p.endpoints.cluster, sc);
        }
    }
    if p.local_chain {
        if let Some(c) = local_chain {
            endpoint_choice(t, c, &p.endpoints.local, sc);
        }
    }

    // Endpoint chains: hairpin masquerade, affinity update, DNAT.
    for &i in &p.endpoints.all_reachable {
        let Some(ec) = sc.ep_chain[i] else { continue };
        let e = &v.endpoints[i];
        t.rule(ec)
            .s(ipx)
            .s(" saddr ")
            .ip(&e.ip)
            .s(" jump ")
            .chain(f.mark_masq)
            .end(None);
        if let Some(set) = sc.ep_set[i] {
            t.rule(ec)
                .s("update @")
                .set(set)
                .s(" { ")
                .s(ipx)
                .s(" saddr }")
                .end(None);
        }
        t.rule(ec)
            .s("meta l4proto ")
            .s(proto)
            .s(" dnat to ")
            .s(&e.endpoint)
            .end(None);
    }
}

/// `writeServiceToEndpointRules`: affinity matches, then `numgen random mod N vmap { … }`.
fn endpoint_choice(t: &mut Table, chain: ChainId, list: &[usize], sc: &Scratch) {
    let ipx = t.family().as_str();
    for &i in list {
        if let (Some(set), Some(ec)) = (sc.ep_set[i], sc.ep_chain[i]) {
            t.rule(chain)
                .s(ipx)
                .s(" saddr @")
                .set(set)
                .s(" goto ")
                .chain(ec)
                .end(None);
        }
    }
    let mut r = t.rule(chain);
    r.s("numgen random mod ").d(list.len()).s(" vmap { ");
    let mut first = true;
    for (k, &i) in list.iter().enumerate() {
        let Some(ec) = sc.ep_chain[i] else { continue };
        if !first {
            r.s(" , ");
        }
        first = false;
        r.d(k).s(" : goto ").chain(ec);
    }
    r.s(" }").end(None);
}
