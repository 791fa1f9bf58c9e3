//! The trace of kube-proxy's ipvs mode from a cluster: [`trace_ipvs`].

use std::net::IpAddr;
use std::sync::Arc;

use super::cause::PortIndex;
use super::{
    trace_ipvs_node, Origin, Outcome, Packet, Probability, Step, StepData, TraceResult, Verdict,
};
use crate::model::IpFamily;
use crate::proxier::config::{LocalDetector, ProxierSettings};
use crate::render::ipvs::{self, IpvsNode, VsKind, VsLookup};
use crate::snapshot::ProxySnapshot;
use crate::{Error, Result};

/// Traces the first packet of a connection through kube-proxy's **ipvs** mode on the node of
/// `settings`: which virtual server takes it ([`IpvsNode::lookup_result`]), which real server the
/// scheduler picks on a fresh virtual server (no connections yet;
/// [`Balancer`](crate::select::Balancer) with the virtual server's scheduler, flags, weights and
/// kernel list order, seed 0), and whether the source is masqueraded.
///
/// The result has one outcome (IPVS schedulers are deterministic for a given state): `Dnat` to
/// the picked real server with probability 1, `Reject` ("no destination available": IPVS answers
/// with ICMP port unreachable) when every real server has weight 0 or there is none, or `Accept`
/// when no virtual server matches (not load-balanced). With persistence (ClientIP affinity) later
/// connections of the client go to the same real server for `persistent_seconds`.
///
/// Masquerade follows the ipvs-mode nat rules kube-proxy writes ([`ipvs::render_iptables`]):
/// sources in `127.0.0.0/8` (`::1`) return early; a cluster IP masquerades with
/// `--masquerade-all`, or when the local-traffic detector says the packet is not from a local pod
/// (no detector: never); external IPs, load-balancer IPs and node ports masquerade unless the
/// service's `externalTrafficPolicy` is Local; a pod reaching itself through the service
/// (hairpin) is always masqueraded. The `ipset` matches are evaluated from the virtual server,
/// not from `ipset` text, and the filter table (source ranges, `KUBE-IPVS-FILTER`) is not.
///
/// # Example
/// ```
/// use svccore::model::IpFamily;
/// use svccore::proxier::config::ProxierSettings;
/// use svccore::trace::{trace_ipvs, Origin, Packet, Verdict};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80,"targetPort":8080}]}},
///  {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-1",
///   "namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4",
///   "ports":[{"name":"","port":8080}],
///   "endpoints":[{"addresses":["10.1.0.1"]},{"addresses":["10.1.0.2"]}]}]}"#)]).unwrap();
/// let s = ProxierSettings::from_cluster(&cluster, "node-a", IpFamily::IPv4).unwrap();
/// let p = Packet::new("10.1.0.9".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
/// let t = trace_ipvs(&cluster, &s, &p).unwrap();
/// // rr on a fresh virtual server: the kernel's first real server, the last one added.
/// assert_eq!(t.outcomes[0].verdict, Verdict::Dnat { endpoint: "10.1.0.2:8080".into(), chain: "TCP  10.96.0.10:80".into() });
/// assert_eq!(t.ipvs.unwrap().scheduler, "rr");
/// ```
pub fn trace_ipvs(
    cluster: &crate::Cluster,
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
    let snap = ProxySnapshot::build(cluster, settings.ip_family)?;
    let node = IpvsNode::build(&snap, settings, None)?;
    trace_ipvs_built(&snap, None, &node, settings, packet)
}

/// [`trace_ipvs`] on a node already built from `snap` with `settings` (the trace of
/// [`NodeTracer`](super::NodeTracer), which builds them once for many packets, with `snap`'s
/// port index).
pub(super) fn trace_ipvs_built(
    snap: &ProxySnapshot,
    index: Option<&PortIndex>,
    node: &IpvsNode,
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
    let lookup = node.lookup_result(&packet.protocol, packet.dst, packet.dst_port);
    let vs = node.lookup(&packet.protocol, packet.dst, packet.dst_port);
    let step = |chain: &str, rule: usize, text: String, effect: String| {
        Step::from(StepData {
            table: Arc::from("ipvs"),
            chain: Arc::from(chain),
            rule,
            text: text.into(),
            effect: effect.into(),
        })
    };
    let certain = Probability {
        fraction: "1".into(),
        decimal: 1.0,
        nominal: "1".into(),
    };
    let warnings = Vec::new();
    let (Some(_), Some(look)) = (vs, lookup) else {
        return Ok(TraceResult {
            packet: packet.clone(),
            node: settings.node.name.clone(),
            outcomes: vec![Outcome {
                probability: certain,
                verdict: Verdict::Accept,
                masquerade: false,
                steps: Vec::new(),
                cause: None,
            }],
            warnings,
            ipvs: None,
        });
    };
    let vs_name = look.virtual_server.clone();
    let mut steps = vec![step(
        &vs_name,
        0,
        format!(
            "{} {}{}",
            vs_name.trim_end(),
            look.scheduler,
            look.persistent_seconds
                .map(|t| format!(" persistent {t}"))
                .unwrap_or_default()
        ),
        format!(
            "virtual server ({}) of {}, {} real server(s), endpoints from {:?}{}",
            look.kind,
            look.service_port_name,
            look.real_servers.len(),
            look.endpoints_from,
            if look.local_fallback {
                " (policy Local without a local endpoint: falls back to the cluster endpoints)"
            } else {
                ""
            }
        ),
    )];
    // The scheduler's pick on the kernel's list, with persistence (one implementation for
    // both entry points: trace_ipvs_node).
    let picked: Option<std::net::SocketAddr> = trace_ipvs_node(node, packet, 0)?
        .pick
        .and_then(|p| p.parse().ok());
    let verdict = match picked {
        Some(addr) => {
            let ep = crate::ip::join_host_port(&addr.ip(), addr.port());
            let pos = look
                .real_servers
                .iter()
                .position(|r| r.address == ep)
                .unwrap_or(0);
            let rs = &look.real_servers[pos];
            steps.push(step(
                &vs_name,
                pos + 1,
                format!("-> {} {} {}", rs.address, rs.forward, rs.weight),
                format!(
                    "{} picks {ep} (first connection on a fresh virtual server){}",
                    look.scheduler,
                    look.persistent_seconds
                        .map(|t| format!("; the client stays on it for {t}s (persistence)"))
                        .unwrap_or_default()
                ),
            ));
            Verdict::Dnat {
                endpoint: ep,
                chain: vs_name.clone(),
            }
        }
        None => {
            steps.push(step(
                &vs_name,
                0,
                String::new(),
                "no destination available".into(),
            ));
            Verdict::Reject {
                with: "icmp-port-unreachable".into(),
                reason: format!("{}: no destination available", look.service_port_name),
            }
        }
    };
    let masq = ipvs_masquerade(settings, &look, packet, picked.map(|a| a.ip()));
    if let Some(why) = &masq {
        steps.push(Step::from(StepData {
            table: Arc::from("nat"),
            chain: Arc::from("KUBE-POSTROUTING"),
            rule: 0,
            text: "-j MASQUERADE".into(),
            effect: format!("masquerade: {why}").into(),
        }));
    }
    let mut outcomes = vec![Outcome {
        probability: certain,
        verdict,
        masquerade: masq.is_some(),
        steps,
        cause: None,
    }];
    super::cause::explain(snap, index, settings, packet, &mut outcomes);
    Ok(TraceResult {
        packet: packet.clone(),
        node: settings.node.name.clone(),
        outcomes,
        warnings,
        ipvs: Some(look),
    })
}

/// Why the ipvs-mode nat rules masquerade this packet, if they do (see [`trace_ipvs`]).
fn ipvs_masquerade(
    s: &ProxierSettings,
    look: &VsLookup,
    p: &Packet,
    picked: Option<IpAddr>,
) -> Option<String> {
    if picked == Some(p.src) {
        return Some("hairpin: the endpoint reaches itself (KUBE-LOOP-BACK)".into());
    }
    if p.src.is_loopback() {
        return None;
    }
    let policy_local = look.endpoints_from != ipvs::EndpointSource::Cluster;
    match look.kind {
        k if k == VsKind::ClusterIp.as_str() => {
            if s.masquerade_all {
                return Some("cluster IP with --masquerade-all (KUBE-CLUSTER-IP)".into());
            }
            let local = match &s.local_detector {
                LocalDetector::None | LocalDetector::NodeCidr => return None,
                LocalDetector::Cidr(c) => {
                    crate::ip::parse_cidr_sloppy(c).is_some_and(|n| n.contains(&p.src))
                }
                LocalDetector::BridgeInterface(_) | LocalDetector::InterfaceNamePrefix(_) => {
                    p.origin == Origin::LocalPod
                }
            };
            (!local).then(|| "cluster IP from outside the pod network (KUBE-CLUSTER-IP)".into())
        }
        _ if policy_local => None,
        k if k == VsKind::NodePort.as_str() => Some("node port (KUBE-NODE-PORT)".into()),
        k if k == VsKind::ExternalIp.as_str() => Some("external IP (KUBE-EXTERNAL-IP)".into()),
        _ => Some("load-balancer IP (KUBE-LOAD-BALANCER)".into()),
    }
}
