//! What a trace reports: the packet, every outcome with its probability and the rules that
//! acted on it.

use std::net::IpAddr;

use crate::model::Protocol;
use crate::netfilter::{Step, Verdict};
use crate::render::ipvs::VsLookup;

/// Where a packet comes from, as seen by the node it arrives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Origin {
    /// A pod on this node (enters from the pod network: `PREROUTING`, nftables `prerouting`).
    LocalPod,
    /// Another node or a pod on another node (enters from the node's network: `PREROUTING`).
    OtherNode,
    /// A client outside the cluster (enters from the node's network: `PREROUTING`).
    External,
    /// A process on the node itself, host network (`OUTPUT`).
    Host,
}

impl Origin {
    /// The names every binding takes, in [`Origin::parse`]'s order: `pod` (a pod on the node),
    /// `node` (the node itself, host network: the OUTPUT path, as kube-proxy's "traffic from
    /// the node"), `other-node` (another node or its pods), `external`.
    pub const NAMES: [&'static str; 4] = ["pod", "node", "other-node", "external"];

    /// Parses a name of [`Origin::NAMES`], or an alias: `local-pod`, `host`, `outside` and the
    /// variant names (`LocalPod`, `Host`, `OtherNode`, `External`, as results print them).
    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "pod" | "local-pod" | "LocalPod" => Some(Origin::LocalPod),
            "node" | "host" | "Host" => Some(Origin::Host),
            "other-node" | "OtherNode" => Some(Origin::OtherNode),
            "external" | "outside" | "External" => Some(Origin::External),
            _ => None,
        }
    }
}

fn ser_proto<S: serde::Serializer>(p: &Protocol, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(p.as_api())
}

/// The first packet of a connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// Protocol.
    #[serde(serialize_with = "ser_proto")]
    pub protocol: Protocol,
    /// Where it comes from.
    pub origin: Origin,
    /// Input interface; `None` = the local detector's interface for pod traffic (or `cni0`),
    /// `eth0` otherwise, none for [`Origin::Host`].
    pub in_interface: Option<String>,
    /// Affinity state: the `recent` lists (iptables: `KUBE-SEP-…` names) or affinity sets
    /// (nftables: `affinity-…` names) in which the client has a live entry.
    pub recent: Vec<String>,
}

impl Packet {
    /// A TCP packet with no affinity state.
    pub fn new(src: IpAddr, dst: IpAddr, dst_port: u16, origin: Origin) -> Packet {
        Packet {
            src,
            dst,
            dst_port,
            protocol: Protocol::Tcp,
            origin,
            in_interface: None,
            recent: Vec::new(),
        }
    }
}

/// A probability: exact under the kernel's quantisation, and as kube-proxy meant it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Probability {
    /// Exact kernel probability, reduced, e.g. `1/2` or `715827883/2147483648`.
    pub fraction: String,
    /// The same as a decimal.
    pub decimal: f64,
    /// What the printed probabilities mean (`1/3`): kube-proxy's intent.
    pub nominal: String,
}

/// One possible path of the packet, with its probability.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// How likely this path is.
    pub probability: Probability,
    /// What happens.
    pub verdict: Verdict,
    /// The source address is masqueraded (SNAT to the node) on the way out.
    pub masquerade: bool,
    /// The rules that acted, in order.
    pub steps: Vec<Step>,
}

/// The result of a trace.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TraceResult {
    /// The packet.
    pub packet: Packet,
    /// The node (from the settings).
    pub node: String,
    /// Every path, most likely first (ties in rule order).
    pub outcomes: Vec<Outcome>,
    /// Rules the tracer could not evaluate (unknown matches: treated as not matching).
    pub warnings: Vec<String>,
    /// ipvs mode ([`trace_ipvs`](super::trace_ipvs)): the virtual server that takes the packet, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<VsLookup>,
}

impl TraceResult {
    /// The probability of reaching each endpoint (summed over paths), in first-seen order.
    pub fn endpoint_shares(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::new();
        for o in &self.outcomes {
            if let Verdict::Dnat { endpoint, .. } = &o.verdict {
                match out.iter_mut().find(|(e, _)| e == endpoint) {
                    Some((_, p)) => *p += o.probability.decimal,
                    None => out.push((endpoint.clone(), o.probability.decimal)),
                }
            }
        }
        out
    }
}
