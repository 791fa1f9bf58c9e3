//! One node's rules read once for many traces: [`NodeTracer`], [`trace_many`].

use super::cause::{self, PortIndex};
use super::userspace::UserspaceNode;
use super::{ipvs::trace_ipvs_built, NftTracer, Packet, TraceResult, Tracer};
use crate::categorize::NodeContext;
use crate::proxier::config::{ProxierSettings, ProxyMode};
use crate::render::iptables::restore_dump;
use crate::render::ipvs::IpvsNode;
use crate::snapshot::ProxySnapshot;
use crate::{Error, Result};

/// What a mode's trace walks, built once.
#[derive(Debug)]
enum Walk {
    Iptables(Tracer),
    Nftables(NftTracer),
    Ipvs(IpvsNode),
    Userspace(UserspaceNode),
}

/// The node's rules of one mode, rendered and read once, with the snapshot they came from (the
/// plan behind a drop's cause): [`NodeTracer::trace`] gives what [`trace_mode`](super::trace_mode)
/// gives for the same cluster, settings and packet, without rendering again. The settings fix
/// the node and the family; a packet of the other family is refused as by `trace_mode`.
/// In iptables mode the texts of every rule's steps are made with the tracer, so that a trace
/// through a service costs the same the first time as later.
///
/// A trace's result is ~100 small allocations, made and freed: a program tracing many packets
/// does best with an allocator with per-thread free lists (the Python extension uses mimalloc;
/// with glibc's malloc a trace on a 10,000-service node takes about 1.5× as long: figures in
/// `benches/README.md`).
///
/// # Example
/// ```
/// use svccore::proxier::config::{ProxierSettings, ProxyMode};
/// use svccore::trace::{trace_mode, NodeTracer, Origin, Packet};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
///  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
/// let s = ProxierSettings::default();
/// let tracer = NodeTracer::new(ProxyMode::Nftables, &cluster, &s).unwrap();
/// let p = Packet::new("10.244.1.5".parse().unwrap(), "10.96.0.10".parse().unwrap(), 80, Origin::LocalPod);
/// assert_eq!(tracer.trace(&p).unwrap(), trace_mode(ProxyMode::Nftables, &cluster, &s, &p).unwrap());
/// ```
#[derive(Debug)]
pub struct NodeTracer {
    mode: ProxyMode,
    snap: ProxySnapshot,
    /// `snap`'s ports by address: the port behind a drop's cause in one lookup.
    index: PortIndex,
    settings: ProxierSettings,
    walk: Walk,
}

impl NodeTracer {
    /// Renders `mode`'s rules of `cluster` for the settings' node and reads them for tracing
    /// (the work [`trace_mode`](super::trace_mode) repeats for every packet).
    ///
    /// # Errors
    /// What rendering the node's rules gives (settings that do not resolve, a snapshot of the
    /// wrong family, rules the tracer cannot read).
    pub fn new(
        mode: ProxyMode,
        cluster: &crate::Cluster,
        settings: &ProxierSettings,
    ) -> Result<NodeTracer> {
        // Each arm builds exactly what its single-packet entry point builds
        // (trace_cluster, trace_nftables, trace_ipvs), so the results are the same.
        let (snap, settings, walk) = match mode {
            ProxyMode::Iptables => {
                let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
                let rules = restore_dump(&snap, &resolved, &resolved.node.context())?;
                let tracer = Tracer::from_dump(rules, &resolved)?;
                tracer.prepare();
                (snap, resolved, Walk::Iptables(tracer))
            }
            ProxyMode::Nftables => {
                // One snapshot for the table and the explanations.
                let (resolved, snap) = crate::render::nftables::resolve(cluster, settings)?;
                let table = crate::render::nftables::table_for_snapshot(
                    &snap,
                    &resolved,
                    &resolved.node.context(),
                )?;
                let tracer = NftTracer::new(&table, &resolved)?;
                (snap, resolved, Walk::Nftables(tracer))
            }
            ProxyMode::Ipvs => {
                let snap = ProxySnapshot::build(cluster, settings.ip_family)?;
                let node = IpvsNode::build(&snap, settings, None)?;
                (snap, settings.clone(), Walk::Ipvs(node))
            }
            ProxyMode::Userspace => {
                let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
                let node = UserspaceNode::build(&snap, &resolved)?;
                (snap, resolved, Walk::Userspace(node))
            }
        };
        Ok(NodeTracer {
            mode,
            index: PortIndex::new(&snap),
            snap,
            settings,
            walk,
        })
    }

    /// The tracer of a snapshot with settings used as given (not resolved against a cluster's
    /// Node objects); `node` supplies the labels topology hints are matched against. For a
    /// caller that keeps its own snapshot, as the renderers' `*_for_snapshot` functions do.
    ///
    /// # Errors
    /// What rendering the snapshot gives (settings of another family, rules the tracer cannot
    /// read).
    pub fn for_snapshot(
        mode: ProxyMode,
        snap: ProxySnapshot,
        settings: &ProxierSettings,
        node: &NodeContext,
    ) -> Result<NodeTracer> {
        let walk = match mode {
            ProxyMode::Iptables => {
                let tracer = Tracer::from_dump(restore_dump(&snap, settings, node)?, settings)?;
                tracer.prepare();
                Walk::Iptables(tracer)
            }
            ProxyMode::Nftables => {
                let table = crate::render::nftables::table_for_snapshot(&snap, settings, node)?;
                Walk::Nftables(NftTracer::new(&table, settings)?)
            }
            ProxyMode::Ipvs => Walk::Ipvs(IpvsNode::build(&snap, settings, None)?),
            ProxyMode::Userspace => Walk::Userspace(UserspaceNode::build(&snap, settings)?),
        };
        Ok(NodeTracer {
            mode,
            index: PortIndex::new(&snap),
            snap,
            settings: settings.clone(),
            walk,
        })
    }

    /// The mode whose rules this tracer walks.
    pub fn mode(&self) -> ProxyMode {
        self.mode
    }

    /// The settings the rules were rendered with (resolved against the cluster for iptables
    /// and nftables).
    pub fn settings(&self) -> &ProxierSettings {
        &self.settings
    }

    /// Traces one packet through the node's rules, with the cause of every drop and reject.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the packet is not of the settings' family.
    pub fn trace(&self, packet: &Packet) -> Result<TraceResult> {
        match &self.walk {
            Walk::Iptables(t) => Ok(self.explained(t.trace(packet)?)),
            Walk::Nftables(t) => Ok(self.explained(t.trace(packet)?)),
            Walk::Ipvs(node) => {
                trace_ipvs_built(&self.snap, Some(&self.index), node, &self.settings, packet)
            }
            Walk::Userspace(node) => node.trace(&self.snap, &self.settings, packet),
        }
    }

    /// `r` with the causes of its drops and rejects (what the tracers' own `explain` sets; the
    /// tracer was built with this tracer's settings).
    fn explained(&self, mut r: TraceResult) -> TraceResult {
        let index = Some(&self.index);
        cause::explain(
            &self.snap,
            index,
            &self.settings,
            &r.packet,
            &mut r.outcomes,
        );
        r
    }
}

/// Traces every packet of `packets` through `mode`'s rules of `cluster` on the settings' node,
/// rendering and reading the rules once ([`NodeTracer`]). The results are in packet order and
/// equal what [`trace_mode`](super::trace_mode) gives packet by packet.
///
/// # Errors
/// What [`NodeTracer::new`] gives; a packet the trace refuses is named by its index
/// (`packet 3: …`).
pub fn trace_many(
    mode: ProxyMode,
    cluster: &crate::Cluster,
    settings: &ProxierSettings,
    packets: &[Packet],
) -> Result<Vec<TraceResult>> {
    let tracer = NodeTracer::new(mode, cluster, settings)?;
    packets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            tracer.trace(p).map_err(|e| match e {
                Error::InvalidArgument(m) => Error::InvalidArgument(format!("packet {i}: {m}")),
                e => e,
            })
        })
        .collect()
}
