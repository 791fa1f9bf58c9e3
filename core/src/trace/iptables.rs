//! The trace of kube-proxy's iptables mode: a packet through rule text ([`Tracer`]).

use super::fraction::{Prob, PublicForms};
use super::{Origin, Outcome, Packet, TraceResult};
use crate::model::IpFamily;
use crate::netfilter::{self, Branch, Dump, RuleSet, SaveStyle};
use crate::render::iptables::{jump_dump, restore_dump, LocalDetector, ProxierSettings};
use crate::snapshot::ProxySnapshot;
use crate::{Error, Result};

/// Parsed rules of one node, ready to trace many packets.
#[derive(Debug)]
pub struct Tracer {
    rules: RuleSet,
    settings: ProxierSettings,
    forms: PublicForms,
}

impl Tracer {
    /// Parses rule text (restore or save form). `settings` supply the node name, the local
    /// addresses (`addrtype LOCAL`: node IPs, interface addresses, loopback) and the family.
    /// When the text has no rules in built-in chains (a restore payload), kube-proxy's jump
    /// rules are added (spec: kube-proxy-iptables.md §2.5).
    pub fn new(rules: &str, settings: &ProxierSettings) -> Result<Tracer> {
        let v6 = settings.ip_family == IpFamily::IPv6;
        Tracer::from_dump(Dump::parse(rules, None, v6)?, settings)
    }

    /// [`Tracer::new`] on rules already read into the model (e.g.
    /// [`restore_dump`](crate::render::iptables::restore_dump)).
    pub fn from_dump(main: Dump, settings: &ProxierSettings) -> Result<Tracer> {
        let v6 = settings.ip_family == IpFamily::IPv6;
        let mut dumps = Vec::with_capacity(2);
        if !RuleSet::has_builtin_rules(&main) {
            dumps.push(jump_dump(settings)?);
        }
        dumps.push(main);
        let local: Vec<ipnet::IpNet> = settings
            .node
            .interface_addresses
            .iter()
            .map(|n| ipnet::IpNet::from(n.addr()))
            .chain(settings.node.ips.iter().map(|ip| ipnet::IpNet::from(*ip)))
            .collect();
        let style = SaveStyle {
            ipv6: v6,
            ..SaveStyle::default()
        };
        Ok(Tracer {
            rules: RuleSet::new(dumps, &local, style),
            settings: settings.clone(),
            forms: PublicForms::default(),
        })
    }

    /// Makes the texts of every step now (see [`RuleSet::prepare_steps`]): for a tracer kept
    /// for many packets, as [`NodeTracer`](super::NodeTracer) is.
    pub fn prepare(&self) {
        self.rules.prepare_steps();
    }

    /// Traces one packet.
    pub fn trace(&self, packet: &Packet) -> Result<TraceResult> {
        if (IpFamily::of(&packet.dst) == IpFamily::IPv6)
            != (self.settings.ip_family == IpFamily::IPv6)
            || IpFamily::of(&packet.src) != IpFamily::of(&packet.dst)
        {
            return Err(Error::InvalidArgument(format!(
                "packet {} -> {} is not {} traffic",
                packet.src,
                packet.dst,
                self.settings.ip_family.as_str()
            )));
        }
        let in_iface = match (&packet.in_interface, packet.origin) {
            (_, Origin::Host) => None,
            (Some(i), _) => Some(i.clone()),
            (None, Origin::LocalPod) => Some(match &self.settings.local_detector {
                LocalDetector::BridgeInterface(b) => b.clone(),
                LocalDetector::InterfaceNamePrefix(p) => format!("{p}0"),
                _ => "cni0".into(),
            }),
            (None, _) => Some("eth0".into()),
        };
        let mut warnings = Vec::new();
        let paths = self.rules.evaluate(
            &netfilter::Packet {
                src: packet.src,
                dst: packet.dst,
                dst_port: packet.dst_port,
                protocol: packet.protocol.lower(),
                in_iface: in_iface.as_deref(),
                local_out: packet.origin == Origin::Host,
                recent: &packet.recent,
            },
            &mut warnings,
        );
        let mut outcomes: Vec<(Outcome, Vec<Branch>)> =
            paths.into_iter().map(|p| outcome(p, &self.forms)).collect();
        // Most likely first; equally likely paths in rule order (taken before not taken).
        outcomes.sort_by(|(a, ka), (b, kb)| {
            b.probability
                .decimal
                .partial_cmp(&a.probability.decimal)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| ka.iter().map(|b| !b.taken).cmp(kb.iter().map(|b| !b.taken)))
        });
        let outcomes = outcomes.into_iter().map(|(o, _)| o).collect();
        warnings.sort();
        warnings.dedup();
        Ok(TraceResult {
            packet: packet.clone(),
            node: self.settings.node.name.clone(),
            outcomes,
            warnings,
            ipvs: None,
        })
    }
}

impl Tracer {
    /// Sets [`Outcome::cause`](super::Outcome::cause) on `result`'s drops and rejects from the
    /// plan of this tracer's node over `snapshot` (the snapshot the rules were rendered from):
    /// for a caller that keeps a tracer of svccore's own rules and traces many packets.
    pub fn explain(&self, snapshot: &ProxySnapshot, result: &mut TraceResult) {
        super::cause::explain(
            snapshot,
            None,
            &self.settings,
            &result.packet,
            &mut result.outcomes,
        );
    }
}

/// A path as an outcome, with its statistic decisions (the sort key: taken before not taken).
fn outcome(path: netfilter::Path, forms: &PublicForms) -> (Outcome, Vec<Branch>) {
    let outcome = Outcome {
        probability: forms.public(&Prob::of(&path.branches)),
        verdict: path.verdict,
        masquerade: path.masquerade,
        steps: path.steps,
        cause: None,
    };
    (outcome, path.branches)
}

/// Parses `rules` and traces one packet (see [`Tracer`] to trace many).
pub fn trace(rules: &str, settings: &ProxierSettings, packet: &Packet) -> Result<TraceResult> {
    Tracer::new(rules, settings)?.trace(packet)
}

/// Renders a cluster for the settings' node (the restore payload, as a rule model) and traces
/// one packet through it.
pub fn trace_cluster(
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    packet: &Packet,
) -> Result<TraceResult> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    let rules = restore_dump(&snap, &resolved, &resolved.node.context())?;
    let tracer = Tracer::from_dump(rules, &resolved)?;
    let mut t = tracer.trace(packet)?;
    tracer.explain(&snap, &mut t);
    Ok(t)
}
