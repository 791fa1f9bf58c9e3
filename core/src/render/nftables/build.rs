//! Builds kube-proxy's table from a per-node plan: the fixed skeleton (`setupNFTables`), then
//! each service port's chains, rules and elements in kube-proxy's write order
//! (`syncProxyRules`), then the stale chains.
//!
//! The text is written in load order, so the ports are walked twice: once to declare their
//! chains and affinity sets (the names, hashed once, live in the text from then on), once to
//! write their rules and elements. Within each chain, rules keep kube-proxy's order.
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
    BaseChain, Builder, ChainId, ChainType, Container, Family, Hook, MapId, SetId, SetName, Sizes,
    Table,
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

/// The fixed objects service ports refer to, and the skeleton's chains its rules go in.
struct Fixed {
    masquerade_all: bool,
    base: Vec<ChainId>,
    nodeport_endpoints_check: ChainId,
    service_endpoints_check: ChainId,
    firewall_check: ChainId,
    services: ChainId,
    masquerading: ChainId,
    cluster_ips_check: ChainId,
    mark_masq: ChainId,
    reject: ChainId,
    cluster_ips: SetId,
    nodeport_ips: Option<SetId>,
    service_ips: MapId,
    service_nodeports: MapId,
    no_endpoint_services: MapId,
    no_endpoint_nodeports: MapId,
    firewall_ips: MapId,
}

/// The chains and sets one service port declared (its endpoints' chains and affinity sets are
/// consecutive, in `all_reachable` order).
#[derive(Clone, Copy, Debug)]
struct PortChains {
    endpoints: u32,
    affinity: Option<u32>,
    cluster: Option<ChainId>,
    local: Option<ChainId>,
    external: Option<ChainId>,
    firewall: Option<ChainId>,
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
    let mut b = Builder::new(fam, estimate(plan, settings));
    let fixed = declare_skeleton(&mut b, settings);
    let mut sc = Scratch::default();
    let declared: Vec<PortChains> = plan
        .in_order()
        .map(|(v, p)| declare_port(&mut b, v, p, &mut sc))
        .collect();
    if !settings.stale_chains.is_empty() {
        let mut known: HashSet<String> = b.chain_names().map(str::to_owned).collect();
        for c in &settings.stale_chains {
            if known.insert(c.clone()) {
                b.add_chain("", c, None, None);
            }
        }
    }
    b.declarations_done();
    skeleton_rules(&mut b, &fixed, settings);
    for ((v, p), pc) in plan.in_order().zip(&declared) {
        write_port(&mut b, &fixed, det.as_ref(), v, p, pc, &mut sc);
    }
    b.finish()
}

/// An upper estimate of the table's objects and text, from the plan's decisions and the name
/// lengths (every line is `add KIND ip6 kube-proxy ` plus names and a few words).
fn estimate(plan: &NodePlan<'_>, s: &ProxierSettings) -> Sizes {
    const HEAD: usize = 32;
    let mut z = Sizes {
        chains: s.stale_chains.len(),
        chain_bytes: s.stale_chains.iter().map(|c| HEAD + c.len()).sum(),
        ..Sizes::default()
    };
    for (v, p) in plan.in_order() {
        // `HASH-ns/name/proto/port` and the endpoint form with `__IP/port` (at most 240).
        let base = 16 + v.namespace.len() + v.name.len() + v.port_name.len();
        let ep = (base + 48).min(240);
        let chain = 10 + base;
        let ep_chain = 10 + ep;
        let reach = p.endpoints.all_reachable.len();
        let aff = usize::from(v.affinity_seconds.is_some());
        let port_chains = 4;
        z.chains += reach + port_chains;
        z.chain_bytes += reach * (HEAD + ep_chain) + port_chains * (HEAD + chain);
        z.sets += reach * aff;
        z.set_bytes += reach * aff * (HEAD + ep_chain + 60);
        // Endpoint chains: hairpin, DNAT, affinity update.
        z.rule_bytes += reach * (HEAD + ep_chain + 60) * (2 + aff);
        // Policy chains: masquerade, affinity matches, the numgen vmap.
        for list in [&p.endpoints.cluster, &p.endpoints.local] {
            z.rule_bytes += (2 + aff * list.len()) * (HEAD + chain + ep_chain + 60)
                + list.len() * (ep_chain + 16);
        }
        // External and firewall chains.
        z.rule_bytes += 5 * (HEAD + 2 * chain + 60) + v.source_ranges.len() * 48;
        let addrs = 1 + v.external_ips.len() + 2 * v.lb_ips.len() + 2;
        z.elem_bytes += (1 + 2 * addrs) * (HEAD + 24 + 64 + chain + v.service_port_name.len());
    }
    z
}

/// `setupNFTables`, declarations: the base chains, the jump chains, masquerading, the
/// `cluster-ips` and `nodeport-ips` sets (with the latter's elements) and the verdict maps.
fn declare_skeleton(b: &mut Builder, s: &ProxierSettings) -> Fixed {
    let fam = b.family();
    let base: Vec<ChainId> = BASE_CHAINS
        .iter()
        .map(|&(name, chain_type, hook, priority)| {
            let bc = BaseChain {
                chain_type,
                hook,
                priority,
            };
            b.add_chain("", name, Some(bc), None)
        })
        .collect();
    let nodeport_endpoints_check = b.add_chain("", NODEPORT_ENDPOINTS_CHECK, None, None);
    let service_endpoints_check = b.add_chain("", SERVICE_ENDPOINTS_CHECK, None, None);
    let firewall_check = b.add_chain("", FIREWALL_CHECK, None, None);
    let services = b.add_chain("", SERVICES, None, None);
    let masquerading = b.add_chain("", MASQUERADING, None, None);
    let cluster_ips_check = b.add_chain("", CLUSTER_IPS_CHECK, None, None);
    let mark_masq = b.add_chain("", MARK_FOR_MASQUERADE, None, None);
    let addr = fam.addr_type();
    let cluster_ips = b.add_set(
        "",
        SetName::Text(CLUSTER_IPS),
        addr,
        &[],
        None,
        Some("Active ClusterIPs"),
    );
    let nodeport_ips = nodeport_ips(s).map(|ips| {
        let set = b.add_set(
            "",
            SetName::Text(NODEPORT_IPS),
            addr,
            &[],
            None,
            Some("IPs that accept NodePort traffic"),
        );
        for ip in &ips {
            b.element(Container::Set(set)).ip(ip).end();
        }
        set
    });
    let no_endpoint_services = b.add_map(
        NO_ENDPOINT_SERVICES,
        fam.addr_proto_port_type(),
        Some("vmap to drop or reject packets to services with no endpoints"),
    );
    let no_endpoint_nodeports = b.add_map(
        NO_ENDPOINT_NODEPORTS,
        "inet_proto . inet_service",
        Some("vmap to drop or reject packets to service nodeports with no endpoints"),
    );
    let reject = b.add_chain(
        "",
        REJECT_CHAIN,
        None,
        Some("helper for @no-endpoint-services / @no-endpoint-nodeports"),
    );
    let firewall_ips = b.add_map(
        FIREWALL_IPS,
        fam.addr_proto_port_type(),
        Some("destinations that are subject to LoadBalancerSourceRanges"),
    );
    let service_ips = b.add_map(
        SERVICE_IPS,
        fam.addr_proto_port_type(),
        Some("ClusterIP, ExternalIP and LoadBalancer IP traffic"),
    );
    let service_nodeports = b.add_map(
        SERVICE_NODEPORTS,
        "inet_proto . inet_service",
        Some("NodePort traffic"),
    );
    Fixed {
        masquerade_all: s.masquerade_all,
        base,
        nodeport_endpoints_check,
        service_endpoints_check,
        firewall_check,
        services,
        masquerading,
        cluster_ips_check,
        mark_masq,
        reject,
        cluster_ips,
        nodeport_ips,
        service_ips,
        service_nodeports,
        no_endpoint_services,
        no_endpoint_nodeports,
        firewall_ips,
    }
}

/// `setupNFTables`, rules: the jump rules, masquerading, the ClusterIP checks, the reject
/// helper and the dispatch through the verdict maps.
fn skeleton_rules(b: &mut Builder, f: &Fixed, s: &ProxierSettings) {
    let fam = b.family();
    let ipx = fam.as_str();
    // The jump rules (`nftablesJumpChains`), in kube-proxy's order.
    let ct_new = "ct state new jump ";
    let jumps = [
        (f.nodeport_endpoints_check, FILTER_INPUT, ct_new),
        (f.service_endpoints_check, FILTER_INPUT, ct_new),
        (f.service_endpoints_check, FILTER_FORWARD, ct_new),
        (f.service_endpoints_check, FILTER_OUTPUT, ct_new),
        (f.firewall_check, FILTER_PREROUTING_PRE_DNAT, ct_new),
        (f.firewall_check, FILTER_OUTPUT_PRE_DNAT, ct_new),
        (f.services, NAT_OUTPUT, "jump "),
        (f.services, NAT_PREROUTING, "jump "),
        (f.masquerading, NAT_POSTROUTING, "jump "),
        (f.cluster_ips_check, FILTER_FORWARD, ct_new),
        (f.cluster_ips_check, FILTER_OUTPUT, ct_new),
    ];
    for (dst, src, how) in jumps {
        b.rule(f.base[src]).s(how).chain(dst).end(None);
    }
    let m = s.masquerade_mark.as_str();
    b.rule(f.mark_masq).s("mark set mark or ").s(m).end(None);
    b.rule(f.masquerading)
        .s("mark and ")
        .s(m)
        .s(" == 0 return")
        .end(None);
    b.rule(f.masquerading)
        .s("mark set mark xor ")
        .s(m)
        .end(None);
    b.rule(f.masquerading)
        .s("masquerade fully-random")
        .end(None);

    b.rule(f.cluster_ips_check)
        .s(ipx)
        .s(" daddr @")
        .set(f.cluster_ips)
        .s(" reject")
        .end(Some("Reject traffic to invalid ports of ClusterIPs"));
    let v4 = s.ip_family == IpFamily::IPv4;
    let mut cidrs = s
        .service_cidrs
        .iter()
        .filter(|n| n.addr().is_ipv4() == v4)
        .peekable();
    if cidrs.peek().is_some() {
        let mut r = b.rule(f.cluster_ips_check);
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

    let no_localhost = match fam {
        Family::Ip => "ip daddr != 127.0.0.0/8 ",
        Family::Ip6 => "ip6 daddr != ::1 ",
    };
    b.rule(f.reject).s("reject").end(None);
    b.rule(f.service_endpoints_check)
        .s(ipx)
        .s(" daddr . meta l4proto . th dport vmap @")
        .s(NO_ENDPOINT_SERVICES)
        .end(None);
    {
        let mut r = b.rule(f.nodeport_endpoints_check);
        match f.nodeport_ips {
            Some(set) => r.s(ipx).s(" daddr @").set(set).s(" "),
            None => r.s(no_localhost),
        };
        r.s("meta l4proto . th dport vmap @")
            .s(NO_ENDPOINT_NODEPORTS)
            .end(None);
    }
    b.rule(f.firewall_check)
        .s(ipx)
        .s(" daddr . meta l4proto . th dport vmap @")
        .s(FIREWALL_IPS)
        .end(None);
    b.rule(f.services)
        .s(ipx)
        .s(" daddr . meta l4proto . th dport vmap @")
        .s(SERVICE_IPS)
        .end(None);
    {
        let mut r = b.rule(f.services);
        match f.nodeport_ips {
            Some(set) => r.s(ipx).s(" daddr @").set(set).s(" "),
            None => r.s("fib daddr type local ").s(no_localhost),
        };
        r.s("meta l4proto . th dport vmap @")
            .s(SERVICE_NODEPORTS)
            .end(None);
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

/// The policy chains a port's rules and elements use: the plan's chains, plus the chain of a
/// served route or an external chain's short-circuit should the plan not have made it (it
/// always does; this keeps every `goto` pointing at a declared chain).
fn needs_cluster_chain(p: &PortPlan) -> bool {
    p.cluster_chain
        || p.internal == Route::Cluster
        || (p.external_chain
            && matches!(
                p.external,
                Route::Cluster | Route::Local | Route::NoLocalEndpoints
            ))
}

fn needs_local_chain(p: &PortPlan) -> bool {
    p.local_chain || p.internal == Route::Local || (p.external_chain && p.external == Route::Local)
}

/// Declares one service port's chains (endpoints, cluster, local, external, firewall) and
/// affinity sets, hashing its names once.
fn declare_port(
    b: &mut Builder,
    v: &ServicePortView,
    p: &PortPlan,
    sc: &mut Scratch,
) -> PortChains {
    let proto = v.protocol.lower();
    sc.base.clear();
    write_port_base(&mut sc.base, &v.namespace, &v.name, proto, &v.port_name);
    let mut endpoints = None;
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
        let c = b.add_chain(ENDPOINT_PREFIX, &sc.ep_base, None, None);
        endpoints.get_or_insert(c.0);
    }
    let mut affinity = None;
    if let Some(secs) = v.affinity_seconds {
        let addr = b.family().addr_type();
        if let Some(first) = endpoints {
            for k in 0..p.endpoints.all_reachable.len() {
                // The affinity set shares the endpoint chain's base.
                let name = SetName::FromChain(ChainId(first + k as u32), ENDPOINT_PREFIX.len());
                let set = b.add_set(
                    AFFINITY_PREFIX,
                    name,
                    addr,
                    AFFINITY_FLAGS,
                    Some(secs),
                    None,
                );
                affinity.get_or_insert(set.0);
            }
        }
    }
    let cluster = needs_cluster_chain(p).then(|| b.add_chain(SERVICE_PREFIX, &sc.base, None, None));
    let local = needs_local_chain(p).then(|| b.add_chain(LOCAL_PREFIX, &sc.base, None, None));
    let external = p
        .external_chain
        .then(|| b.add_chain(EXTERNAL_PREFIX, &sc.base, None, None));
    let firewall = p
        .lb_source_filter
        .then(|| b.add_chain(FIREWALL_PREFIX, &sc.base, None, None));
    PortChains {
        endpoints: endpoints.unwrap_or(0),
        affinity,
        cluster,
        local,
        external,
        firewall,
    }
}

/// One service port's elements and rules, in `syncProxyRules` order.
fn write_port(
    b: &mut Builder,
    f: &Fixed,
    det: Option<&Detector>,
    v: &ServicePortView,
    p: &PortPlan,
    pc: &PortChains,
    sc: &mut Scratch,
) {
    let ipx = b.family().as_str();
    let proto = v.protocol.lower();
    let spn = v.service_port_name.as_str();
    sc.ep_chain.clear();
    sc.ep_chain.resize(v.endpoints.len(), None);
    sc.ep_set.clear();
    sc.ep_set.resize(v.endpoints.len(), None);
    for (k, &i) in p.endpoints.all_reachable.iter().enumerate() {
        sc.ep_chain[i] = Some(ChainId(pc.endpoints + k as u32));
        sc.ep_set[i] = pc.affinity.map(|a| SetId(a + k as u32));
    }
    let chain_of = |route: Route| match route {
        Route::Cluster => pc.cluster,
        Route::Local => pc.local,
        Route::NoLocalEndpoints | Route::NoEndpoints => None,
    };
    let internal_chain = chain_of(p.internal);
    // Only an external chain sends anywhere by the external route.
    let external_policy_chain = pc.external.and_then(|_| chain_of(p.external));
    // The short-circuit rules of an ETP Local external chain go to the cluster-policy chain.
    let short_circuit = match (pc.external, p.external) {
        (Some(_), Route::Local | Route::NoLocalEndpoints) => pc.cluster,
        _ => None,
    };
    let ext_served = p.external.is_served();
    let has = p.has_endpoints();

    // Elements. spec: README "Per service port".
    if sc.cluster_ips.insert(v.cluster_ip) {
        b.element(Container::Set(f.cluster_ips))
            .ip(&v.cluster_ip)
            .end();
    }
    match internal_chain {
        Some(c) => b
            .element(Container::Map(f.service_ips))
            .ip(&v.cluster_ip)
            .part(proto)
            .port(v.port)
            .goto(c),
        None => b
            .element(Container::Map(f.no_endpoint_services))
            .ip(&v.cluster_ip)
            .part(proto)
            .port(v.port)
            .comment(spn)
            .verdict(refusal(p.internal)),
    }
    for ip in &v.external_ips {
        if let (true, Some(ext)) = (has, pc.external) {
            b.element(Container::Map(f.service_ips))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .goto(ext);
        }
        if !ext_served {
            b.element(Container::Map(f.no_endpoint_services))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .comment(spn)
                .verdict(refusal(p.external));
        }
    }
    for ip in &v.lb_ips {
        if let (true, Some(ext)) = (has, pc.external) {
            b.element(Container::Map(f.service_ips))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .goto(ext);
        }
        if let Some(fw) = pc.firewall {
            b.element(Container::Map(f.firewall_ips))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .goto(fw);
        }
    }
    if !ext_served {
        for ip in &v.lb_ips {
            b.element(Container::Map(f.no_endpoint_services))
                .ip(ip)
                .part(proto)
                .port(v.port)
                .comment(spn)
                .verdict(refusal(p.external));
        }
    }
    if v.node_port != 0 {
        if let (true, Some(ext)) = (has, pc.external) {
            b.element(Container::Map(f.service_nodeports))
                .part(proto)
                .port(v.node_port)
                .goto(ext);
        }
        if !ext_served {
            b.element(Container::Map(f.no_endpoint_nodeports))
                .part(proto)
                .port(v.node_port)
                .comment(spn)
                .verdict(refusal(p.external));
        }
    }

    // Internal traffic: masquerade what the detector says is not from a pod (or everything).
    if let Some(ic) = internal_chain {
        if f.masquerade_all {
            b.rule(ic)
                .s(ipx)
                .s(" daddr ")
                .ip(&v.cluster_ip)
                .s(" jump ")
                .chain(f.mark_masq)
                .end(None);
        } else if let Some(d) = det {
            b.rule(ic)
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
    if let Some(ext) = pc.external {
        match short_circuit {
            None => {
                b.rule(ext).s("jump ").chain(f.mark_masq).end(None);
            }
            Some(svc) => {
                if let Some(d) = det {
                    b.rule(ext)
                        .s(&d.if_local)
                        .s(" goto ")
                        .chain(svc)
                        .end(Some("short-circuit pod traffic"));
                }
                b.rule(ext)
                    .s("fib saddr type local jump ")
                    .chain(f.mark_masq)
                    .end(Some("masquerade local traffic"));
                b.rule(ext)
                    .s("fib saddr type local goto ")
                    .chain(svc)
                    .end(Some("short-circuit local traffic"));
            }
        }
        if let Some(pchain) = external_policy_chain {
            b.rule(ext).s("goto ").chain(pchain).end(None);
        }
    }

    // Load-balancer source ranges.
    if let Some(fw) = pc.firewall {
        let mut r = b.rule(fw);
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
    if let (true, Some(c)) = (p.cluster_chain, pc.cluster) {
        endpoint_choice(b, c, &p.endpoints.cluster, sc);
    }
    if let (true, Some(c)) = (p.local_chain, pc.local) {
        endpoint_choice(b, c, &p.endpoints.local, sc);
    }

    // Endpoint chains: hairpin masquerade, affinity update, DNAT.
    let saddr = match b.family() {
        Family::Ip => "ip saddr ",
        Family::Ip6 => "ip6 saddr ",
    };
    for &i in &p.endpoints.all_reachable {
        let Some(ec) = sc.ep_chain[i] else { continue };
        let e = &v.endpoints[i];
        b.rule(ec)
            .s(saddr)
            .ip(&e.ip)
            .s(" jump ")
            .chain(f.mark_masq)
            .end(None);
        if let Some(set) = sc.ep_set[i] {
            b.rule(ec)
                .s("update @")
                .set(set)
                .s(" { ")
                .s(ipx)
                .s(" saddr }")
                .end(None);
        }
        b.rule(ec)
            .s("meta l4proto ")
            .s(proto)
            .s(" dnat to ")
            .s(&e.endpoint)
            .end(None);
    }
}

/// `writeServiceToEndpointRules`: affinity matches, then `numgen random mod N vmap { … }`.
fn endpoint_choice(b: &mut Builder, chain: ChainId, list: &[usize], sc: &Scratch) {
    let ipx = b.family().as_str();
    for &i in list {
        if let (Some(set), Some(ec)) = (sc.ep_set[i], sc.ep_chain[i]) {
            b.rule(chain)
                .s(ipx)
                .s(" saddr @")
                .set(set)
                .s(" goto ")
                .chain(ec)
                .end(None);
        }
    }
    let mut r = b.rule(chain);
    r.s("numgen random mod ").n(list.len()).s(" vmap { ");
    let mut first = true;
    for (k, &i) in list.iter().enumerate() {
        let Some(ec) = sc.ep_chain[i] else { continue };
        if !first {
            r.s(" , ");
        }
        first = false;
        r.n(k).s(" : goto ").chain(ec);
    }
    r.s(" }").end(None);
}
