//! The trace of kube-proxy's userspace mode: [`trace_userspace`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::{Origin, Outcome, Packet, Probability, Step, StepData, TraceResult, Verdict};
use crate::fast::FastMap;
use crate::model::IpFamily;
use crate::netfilter::{Dump, Match, Merged, Rule, SaveStyle, Target};
use crate::proxier::config::ProxierSettings;
use crate::proxier::userspace::proxy_endpoints;
use crate::render::userspace::{portal_dump, Proxy};
use crate::select::{Algorithm, Backend, Balancer, Options};
use crate::snapshot::ProxySnapshot;
use crate::{Error, Result};

/// Traces the first packet of a connection through kube-proxy's **userspace** mode on the
/// node of `settings` (resolved against the cluster's Node object, as rendering is).
///
/// Two stages, as on the node:
///
/// 1. **The portal rules** ([`crate::render::userspace`]), read back from the rules svccore
///    renders and walked from nat `PREROUTING` (or `OUTPUT` for [`Origin::Host`]): each rule
///    that acts is a step (`-A PREROUTING … -j KUBE-PORTALS-CONTAINER`, then the portal's
///    `REDIRECT --to-ports P` or `DNAT --to-destination HOST:P`). `-m addrtype --dst-type
///    LOCAL` is true for the node's interface addresses (settings `interfaceAddresses`,
///    loopback and the node IPs by default); `-m physdev ! --physdev-is-in` is true, as for
///    every routed packet (svccore's packets do not cross a bridge port). No portal matches:
///    one outcome, accepted, not proxied.
/// 2. **The proxy** on that port (the service port it serves, found by the proxy port):
///    kube-proxy accepts the connection and dials an endpoint its `LoadBalancerRR` names
///    ([`crate::select::userspace`]), from the node's own address (so the endpoint sees the
///    node as the source: `masquerade` is true). The list is every ready endpoint of the port,
///    shuffled when kube-proxy learns it, with a clock-seeded generator; the first connection
///    takes the first endpoint of that order and later ones follow it cyclically, so each
///    endpoint is an outcome with probability `1/n`. Each outcome's proxy step gives its
///    position in the order svccore's balancer draws with seed 0, and the ClientIP affinity
///    that then keeps the client on it. No ready endpoint: the proxy closes the connection it
///    accepted (a `Reject` verdict, `with` = `closed by the proxy`).
///
/// # Example
/// ```
/// use svccore::proxier::config::ProxierSettings;
/// use svccore::trace::{trace_userspace, Origin, Packet, Verdict};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80,"targetPort":8080}]}},
///  {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-1",
///   "namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
///   "ports":[{"name":"","port":8080}],
///   "endpoints":[{"addresses":["10.1.0.1"]},{"addresses":["10.1.0.2"]}]}]}"#)]).unwrap();
/// let s = ProxierSettings::from_json_str(r#"{"nodeIPs": ["192.168.0.10"],
///   "userspace": {"portRange": "36000-36099"}}"#, None).unwrap();
/// let p = Packet::new("10.1.0.9".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
/// let t = trace_userspace(&cluster, &s, &p).unwrap();
/// assert_eq!(t.outcomes.len(), 2);
/// assert_eq!(t.outcomes[0].steps[1].effect.as_ref(), "REDIRECT to the proxy port 36000 of default/web");
/// assert!(matches!(&t.outcomes[0].verdict, Verdict::Dnat { chain, .. } if chain == "proxy tcp port 36000"));
/// ```
pub fn trace_userspace(
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Result<TraceResult> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    UserspaceNode::build(&snap, &resolved)?.trace(&snap, &resolved, packet)
}

/// A node's userspace proxier read once for many packets: its [`Proxy`] and portal rules,
/// indexed so that a trace reads only the rules and the proxied port that concern its packet.
#[derive(Clone, Debug)]
pub(super) struct UserspaceNode {
    proxy: Proxy,
    rules: Dump,
    /// The nat table's chains by name.
    chains: FastMap<String, NatChain>,
    /// `proxy.ports` by proxy port and protocol (the first port of a pair).
    served: FastMap<(u16, String), usize>,
}

/// One nat chain's rules: where they are in the nat table, in chain order, and which can match
/// a destination address.
#[derive(Clone, Debug, Default)]
struct NatChain {
    /// Positions in the nat table's rules.
    rules: Vec<u32>,
    /// Rules whose destination is one address (every portal rule): their indices in `rules`,
    /// by that address.
    by_dst: FastMap<IpAddr, Vec<u32>>,
    /// The other rules' indices in `rules`.
    any: Vec<u32>,
}

impl NatChain {
    /// The indices in `rules` of the rules that can match a packet to `dst`, in chain order.
    fn candidates(&self, dst: IpAddr) -> Merged<'_, 2> {
        let by_dst = self.by_dst.get(&dst).map_or(&[][..], Vec::as_slice);
        Merged([by_dst, &self.any])
    }
}

/// A rule that acted: (table, chain, 1-based position, rule).
type Acted<'a> = (&'static str, &'a str, usize, &'a Rule);

impl UserspaceNode {
    pub(super) fn build(snap: &ProxySnapshot, settings: &ProxierSettings) -> Result<Self> {
        let proxy = Proxy::build(snap, settings)?;
        let rules = portal_dump(&proxy)?;
        let mut chains: FastMap<String, NatChain> = FastMap::default();
        if let Some(nat) = rules.tables.iter().find(|t| t.name == "nat") {
            for (i, r) in nat.rules.iter().enumerate() {
                let c = chains.entry(r.chain.clone()).or_default();
                let k = c.rules.len() as u32;
                c.rules.push(i as u32);
                match r
                    .dst
                    .as_ref()
                    .filter(|a| !a.negated && a.net.prefix_len() == a.net.max_prefix_len())
                {
                    Some(a) => c.by_dst.entry(a.net.addr()).or_default().push(k),
                    None => c.any.push(k),
                }
            }
        }
        let mut served = FastMap::default();
        for (i, p) in proxy.ports.iter().enumerate() {
            served
                .entry((p.proxy_port, p.protocol.clone()))
                .or_insert(i);
        }
        Ok(UserspaceNode {
            proxy,
            rules,
            chains,
            served,
        })
    }

    pub(super) fn trace(
        &self,
        snap: &ProxySnapshot,
        settings: &ProxierSettings,
        packet: &Packet,
    ) -> Result<TraceResult> {
        if IpFamily::of(&packet.dst) != settings.ip_family
            || IpFamily::of(&packet.src) != IpFamily::of(&packet.dst)
        {
            return Err(Error::InvalidArgument(format!(
                "packet {} -> {} is not {} traffic",
                packet.src,
                packet.dst,
                settings.ip_family.as_str()
            )));
        }
        let style = SaveStyle {
            ipv6: settings.ip_family == IpFamily::IPv6,
            ..SaveStyle::default()
        };
        let mut warnings = Vec::new();
        let hook = if packet.origin == Origin::Host {
            "OUTPUT"
        } else {
            "PREROUTING"
        };
        let mut acted: Vec<Acted<'_>> = Vec::new();
        let local = |ip: IpAddr| {
            ip.is_loopback()
                || settings
                    .node
                    .interface_addresses
                    .iter()
                    .any(|n| n.contains(&ip))
        };
        let target = self.walk(hook, packet, &local, &mut acted, &mut warnings, 0);
        // Plain loops in this module: the WebAssembly module's size counts.
        let mut steps: Vec<Step> = Vec::with_capacity(acted.len() + 1);
        for (table, chain, pos, rule) in &acted {
            steps.push(Step::from(StepData {
                table: Arc::from(*table),
                chain: Arc::from(*chain),
                rule: *pos,
                text: rule.to_save(&style).into(),
                effect: match &rule.target {
                    Target::Jump { chain } => format!("jump {chain}").into(),
                    _ => Arc::from(""),
                },
            }));
        }
        let certain = Probability {
            fraction: "1".into(),
            decimal: 1.0,
            nominal: "1".into(),
        };
        let result = |outcomes| TraceResult {
            packet: packet.clone(),
            node: settings.node.name.clone(),
            outcomes,
            warnings: warnings.clone(),
            ipvs: None,
        };
        let Some((proxy_port, via)) = target else {
            return Ok(result(vec![Outcome {
                probability: certain,
                verdict: Verdict::Accept,
                masquerade: false,
                steps,
                cause: None,
            }]));
        };
        let proto = packet.protocol.lower();
        let Some(served) = self
            .served
            .get(&(proxy_port, proto.to_owned()))
            .map(|&i| &self.proxy.ports[i])
        else {
            return Err(Error::InvalidArgument(format!(
                "no service port listens on proxy port {proxy_port}/{proto}"
            )));
        };
        if let Some(last) = steps.last_mut() {
            *last = last.with_effect(format!(
                "{via} {proxy_port} of {}",
                served.service_port_name
            ));
        }
        let port = &snap.ports[served.index];
        let list = proxy_endpoints(port);
        let chain = format!("proxy {proto} port {proxy_port}");
        if list.is_empty() {
            steps.push(proxy_step(
                &served.service_port_name,
                0,
                &chain,
                "no ready endpoint: the proxy accepts the connection and closes it".into(),
            ));
            return Ok(result(vec![Outcome {
                probability: certain,
                verdict: Verdict::Reject {
                    with: "closed by the proxy".into(),
                    reason: format!("{} has no endpoints", served.service_port_name),
                },
                masquerade: false,
                steps,
                cause: None,
            }]));
        }
        let mut backends: Vec<Backend> = Vec::with_capacity(list.len());
        for &i in &list {
            let e = &port.endpoints[i];
            backends.push(Backend::new(SocketAddr::new(e.ip, e.port), 1));
        }
        let opts = Options {
            seed: 0,
            affinity_timeout: port.affinity_seconds,
            ..Options::default()
        };
        let balancer = Balancer::new(Algorithm::Userspace, &backends, &opts)?;
        let rr = balancer
            .userspace()
            .ok_or_else(|| Error::InvalidArgument("not a userspace balancer".into()))?;
        let n = list.len();
        let mut order: Vec<&str> = Vec::with_capacity(n);
        for &b in rr.order() {
            order.push(port.endpoints[list[b as usize]].endpoint.as_str());
        }
        let affinity = if rr.client_ip_affinity() {
            format!(
                "; ClientIP affinity: the proxy then keeps {} on it for {} s",
                packet.src,
                rr.ttl_seconds()
            )
        } else {
            String::new()
        };
        let share = Probability {
            fraction: format!("1/{n}"),
            decimal: 1.0 / n as f64,
            nominal: format!("1/{n}"),
        };
        let text = format!("LoadBalancerRR [{}]", order.join(" "));
        let mut outcomes = Vec::with_capacity(n);
        for (k, ep) in order.iter().enumerate() {
            let mut steps = steps.clone();
            steps.push(proxy_step(
                &served.service_port_name,
                k + 1,
                &text,
                format!(
                    "round robin: the list is shuffled when the proxy learns it, so {ep} \
                     comes first with probability 1/{n} (position {} in seed 0's order); \
                     the proxy dials it from the node's address{affinity}",
                    k + 1
                ),
            ));
            outcomes.push(Outcome {
                probability: share.clone(),
                verdict: Verdict::Dnat {
                    endpoint: (*ep).to_owned(),
                    chain: chain.clone(),
                },
                masquerade: true,
                steps,
                cause: None,
            });
        }
        Ok(result(outcomes))
    }

    /// Walks a chain of the nat table; returns the proxy port and how the packet is sent there
    /// when a REDIRECT or DNAT rule applies.
    fn walk<'a>(
        &'a self,
        chain: &'a str,
        packet: &Packet,
        local: &dyn Fn(IpAddr) -> bool,
        acted: &mut Vec<Acted<'a>>,
        warnings: &mut Vec<String>,
        depth: usize,
    ) -> Option<(u16, &'static str)> {
        let table = self.rules.tables.iter().find(|t| t.name == "nat")?;
        let c = self.chains.get(chain)?;
        for k in c.candidates(packet.dst) {
            let rule = &table.rules[c.rules[k] as usize];
            if !matches(rule, packet, local, warnings) {
                continue;
            }
            acted.push(("nat", chain, k + 1, rule));
            match &rule.target {
                Target::Jump { chain: to } if depth < 4 => {
                    if let Some(hit) = self.walk(to, packet, local, acted, warnings, depth + 1) {
                        return Some(hit);
                    }
                }
                Target::Other { name, args } if name == "REDIRECT" => {
                    return to_ports(args).map(|p| (p, "REDIRECT to the proxy port"));
                }
                Target::Dnat { to } => {
                    return to
                        .rsplit_once(':')
                        .and_then(|(_, p)| p.parse().ok())
                        .map(|p| (p, "DNAT to the proxy on the host address, port"));
                }
                _ => {
                    warnings.push(format!("target of {} is not a portal's", rule.chain));
                    acted.pop();
                }
            }
        }
        None
    }
}

fn to_ports(args: &[String]) -> Option<u16> {
    let i = args.iter().position(|a| a == "--to-ports")?;
    args.get(i + 1)?.parse().ok()
}

fn proxy_step(name: &str, rule: usize, text: &str, effect: String) -> Step {
    Step::from(StepData {
        table: Arc::from("proxy"),
        chain: Arc::from(name),
        rule,
        text: text.into(),
        effect: effect.into(),
    })
}

/// Whether a portal rule matches the first packet (the matches userspace mode writes).
fn matches(
    r: &Rule,
    p: &Packet,
    local: &dyn Fn(IpAddr) -> bool,
    warnings: &mut Vec<String>,
) -> bool {
    let addr_ok = |a: &Option<crate::netfilter::AddrMatch>, ip: IpAddr| {
        a.as_ref().is_none_or(|a| a.net.contains(&ip) != a.negated)
    };
    if !addr_ok(&r.src, p.src) || !addr_ok(&r.dst, p.dst) {
        return false;
    }
    if let Some(proto) = &r.proto {
        if (proto.value == p.protocol.lower()) == proto.negated {
            return false;
        }
    }
    r.matches.iter().all(|m| match m {
        Match::Comment { .. } => true,
        Match::Port { dport, sport, .. } => {
            sport.is_none()
                && dport
                    .as_ref()
                    .is_none_or(|d| (d.value.parse() == Ok(p.dst_port)) != d.negated)
        }
        Match::Addrtype { src_type, dst_type } => {
            let t = |o: &Option<crate::netfilter::Opt>, ip: IpAddr| match o {
                None => true,
                Some(o) if o.value == "LOCAL" => local(ip) != o.negated,
                Some(_) => false,
            };
            t(src_type, p.src) && t(dst_type, p.dst)
        }
        // Routed packets never come in through a bridge port.
        Match::Other { name, args } if name == "physdev" => {
            args.iter().map(String::as_str).eq(["!", "--physdev-is-in"])
        }
        _ => {
            warnings.push(format!("a match in {} is not modelled", r.chain));
            false
        }
    })
}
