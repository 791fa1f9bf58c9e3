//! Trace in ipvs mode: which virtual server takes a packet on a node, where it may send it, and
//! which real server the scheduler picks for this client.
//!
//! The virtual server and its real servers come from [`IpvsNode::lookup_result`]. The pick is
//! the first connection of this client on a fresh virtual server (no connections yet, no
//! persistence template), made by [`Balancer`] with the virtual server's scheduler and flags and,
//! when the Service has ClientIP affinity, IPVS persistence of its timeout. The real servers are
//! given to the balancer in insertion order, the reverse of the listing (spec: ipvs.md §6.0,
//! §8.5).

use std::net::SocketAddr;

use super::Packet;
use crate::model::IpFamily;
use crate::render::ipvs::{IpvsNode, VsLookup};
use crate::select::{AffinityKind, Algorithm, Backend, Balancer, Connection, Flags, Options};
use crate::{Error, Result};

/// The result of [`trace_ipvs_node`]. Its JSON form (serde) is stable: fields are only added.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct IpvsTrace {
    /// The packet.
    pub packet: Packet,
    /// The client's source port (hashed by `sh-port` / `mh-port`).
    pub src_port: u16,
    /// The node.
    pub node: String,
    /// The virtual server that takes the packet, or `None`: IPVS does not balance it.
    pub lookup: Option<VsLookup>,
    /// Each real server's share of new connections over time (its weight over the total), in
    /// listing order.
    pub shares: Vec<f64>,
    /// The real server (`ip:port`) the scheduler picks for this client's first connection, or
    /// `None` (no virtual server, no real server of non-zero weight, or no hash slot).
    pub pick: Option<String>,
    /// Index of [`IpvsTrace::pick`] in `lookup.real_servers`.
    pub pick_index: Option<usize>,
    /// What happens, in words.
    pub note: String,
}

fn flags_of(lookup: &VsLookup) -> Flags {
    // Only sh and mh flags have names the balancer knows; kube-proxy sets no others.
    if matches!(lookup.scheduler.as_str(), "sh" | "mh") {
        lookup.flags.parse().unwrap_or(Flags::NONE)
    } else {
        Flags::NONE
    }
}

/// Traces `packet` through the ipvs proxier `node`: the virtual server, its real servers with
/// their shares, and the real server the scheduler picks for the packet's client (from
/// `src_port`).
///
/// # Errors
/// [`Error::InvalidArgument`] when the packet's family is not the proxier's, or the virtual
/// server's scheduler is one svccore does not model.
///
/// # Example
/// ```
/// use svccore::{load::Loader, snapshot::ProxySnapshot, model::IpFamily};
/// use svccore::proxier::config::ProxierSettings;
/// use svccore::render::ipvs::IpvsNode;
/// use svccore::trace::{trace_ipvs_node, Origin, Packet};
/// let mut l = Loader::new();
/// l.add_str(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}},
///  {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
///   "metadata":{"name":"web-1","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},
///   "addressType":"IPv4","ports":[{"name":"","port":8080}],
///   "endpoints":[{"addresses":["10.1.0.2"]},{"addresses":["10.1.0.3"]}]}]}"#).unwrap();
/// let snap = ProxySnapshot::build(&l.finish().unwrap(), IpFamily::IPv4).unwrap();
/// let node = IpvsNode::build(&snap, &ProxierSettings::new(IpFamily::IPv4, "n1"), None).unwrap();
/// let p = Packet::new("10.244.1.5".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
/// let t = trace_ipvs_node(&node, &p, 40000).unwrap();
/// // rr starts with the kernel's first real server: the newest, added last.
/// assert_eq!(t.pick.as_deref(), Some("10.1.0.3:8080"));
/// assert_eq!(t.shares, [0.5, 0.5]);
/// ```
pub fn trace_ipvs_node(node: &IpvsNode, packet: &Packet, src_port: u16) -> Result<IpvsTrace> {
    let family = node.settings.ip_family;
    if IpFamily::of(&packet.dst) != family || IpFamily::of(&packet.src) != family {
        return Err(Error::InvalidArgument(format!(
            "the packet {} -> {} is not {} like the ipvs proxier",
            packet.src,
            packet.dst,
            family.as_str()
        )));
    }
    let mut out = IpvsTrace {
        packet: packet.clone(),
        src_port,
        node: node.settings.node.name.clone(),
        lookup: node.lookup_result(&packet.protocol, packet.dst, packet.dst_port),
        shares: Vec::new(),
        pick: None,
        pick_index: None,
        note: String::new(),
    };
    let Some(vs) = &out.lookup else {
        out.note = format!(
            "no virtual server for {} {}:{} on this node: IPVS does not balance it",
            packet.protocol.as_api(),
            packet.dst,
            packet.dst_port
        );
        return Ok(out);
    };
    let total: f64 = vs
        .real_servers
        .iter()
        .map(|r| f64::from(r.weight.max(0)))
        .sum();
    out.shares = vs
        .real_servers
        .iter()
        .map(|r| {
            if total > 0.0 {
                f64::from(r.weight.max(0)) / total
            } else {
                0.0
            }
        })
        .collect();
    let algorithm: Algorithm = vs.scheduler.parse().map_err(|_| {
        Error::InvalidArgument(format!(
            "scheduler {:?} is not modelled (svccore models rr, wrr, lc, wlc, sed, nq, sh, dh, mh)",
            vs.scheduler
        ))
    })?;
    // Insertion order: the kernel list (newest first) reversed. The lookup lists the real
    // servers in ipvsadm's order, which sorts them.
    let kernel = &node
        .lookup(&packet.protocol, packet.dst, packet.dst_port)
        .expect("the lookup found it")
        .real_servers;
    let n = kernel.len();
    let backends: Vec<Backend> = kernel
        .iter()
        .rev()
        .map(|r| Backend::new(r.addr, r.weight.max(0) as u32))
        .collect();
    let options = Options {
        flags: flags_of(vs),
        affinity_timeout: vs.persistent_seconds.filter(|&t| t > 0),
        affinity_kind: Some(AffinityKind::Persistence),
        ..Options::default()
    };
    let mut balancer = Balancer::new(algorithm, &backends, &options)?;
    let conn = Connection {
        client: packet.src,
        client_port: src_port,
        dst: Some(SocketAddr::new(packet.dst, packet.dst_port)),
        now: 0.0,
    };
    out.pick = balancer
        .pick(&conn)
        .map(|i| crate::ip::join_host_port(&backends[i].addr.ip(), backends[i].addr.port()));
    out.pick_index = out
        .pick
        .as_ref()
        .and_then(|p| vs.real_servers.iter().position(|r| &r.address == p));
    let how = match vs.persistent_seconds {
        Some(t) => format!(
            "{} with persistence {t}s: this client's connections stay on it",
            vs.scheduler
        ),
        None => format!(
            "{} picks it for this client's first connection",
            vs.scheduler
        ),
    };
    out.note = match (&out.pick, n) {
        (_, 0) => format!(
            "{} has no real servers: the connection is refused",
            vs.virtual_server
        ),
        (None, _) => format!(
            "{}: no real server can take the connection (all weight 0 or no hash slot): refused",
            vs.virtual_server
        ),
        (Some(p), _) => format!(
            "{} -> {p} ({how}){}",
            vs.virtual_server,
            if vs.local_fallback {
                "; policy Local with no local endpoint: ipvs mode falls back to all endpoints"
            } else {
                ""
            }
        ),
    };
    Ok(out)
}
