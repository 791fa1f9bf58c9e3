//! kube-proxy's ipvs mode on one node, rendered as the text of the tools an operator runs there.
//! spec: ipvs.md §2–§5, §7, §8.
//!
//! [`IpvsNode::build`] turns a [`ProxySnapshot`] and the proxier configuration
//! ([`ProxierSettings`]) into what the ipvs proxier programs: virtual servers and real servers,
//! ipsets, `kube-ipvs0` addresses and the iptables rules around them. The forms:
//!
//! | form | function | tool |
//! |---|---|---|
//! | list | [`render_list`] | `ipvsadm -Ln` (also `--stats`, `--rate`, `--thresholds`, `--persistent-conn`) |
//! | save | [`render_save`] | `ipvsadm -S -n` |
//! | ipset | [`render_ipset_save`] | `ipset save` |
//! | iptables | [`render_iptables`] | the `iptables-restore --noflush` payload |
//! | addresses | [`render_addresses`] | `ip addr show kube-ipvs0` |
//!
//! Connection counters, stats and rates are optional runtime input ([`IpvsState`]); without it
//! every counter prints 0. [`IpvsNode::lookup_result`] answers "which virtual server takes
//! `proto ip:port` on this node, and where does it send traffic" for `trace --mode ipvs`.
//!
//! Modelling rules (documented choices where kube-proxy or the kernel is not deterministic):
//! - **Creation order** of virtual servers: snapshot order (namespace, name, port index); per port
//!   the cluster IP, external IPs, LB IPs, then one NodePort VS per node IP in
//!   interface order ([`valid_node_addresses`]). ipvsadm sorts this order with glibc's merge sort and
//!   libipvs's wrapping comparator (§5), see [`sort`].
//! - **Real servers**: weight 1, Masq, endpoint IP and target port. Insertion order is
//!   [`InsertionOrder`] (default ascending endpoint string), the kernel list is its reverse.
//! - **Local policy** (ETP Local for external addresses, ITP Local for the cluster IP): the local
//!   list, or, when there is no local endpoint, the cluster list ([`EndpointSource`]; §8.3).
//! - **Weight 0** (§8.4): an endpoint of the port that the virtual server no longer uses (not
//!   ready, terminating, filtered by topology), in the same locality pool, on a **TCP** virtual
//!   server, stays listed with weight 0 when [`IpvsState`] reports connections for it
//!   (ActiveConn + InActConn > 0), or when [`IpvsConfig::assume_draining`] is on and the
//!   endpoint is terminating. UDP and SCTP real servers are deleted at once.

mod addresses;
mod build;
mod ipset;
mod iptables;
mod list;
mod save;
mod settings;
pub mod sort;
mod state;

use std::net::IpAddr;

pub use addresses::render_addresses;
pub use build::{
    EndpointSource, Forward, IpvsNode, RealServer, VirtualServer, VsKind, FLAG_ONEPACKET,
    FLAG_PERSISTENT, FLAG_SCHED1, FLAG_SCHED2, FLAG_SCHED3,
};
pub use ipset::{render_ipset_save, IpSet, KubeSet, SetType};
pub use iptables::{render_iptables, IptablesOptions};
pub use list::{largenum, render_list, service_name, ListFormat, ListOptions};
pub use save::{render_save, save_service_name};
pub use settings::{nodeport_ips, valid_node_addresses};
pub use state::{Counters5, IpvsState, RsState, VsId};

use crate::model::Protocol;
use crate::proxier::config::ProxierSettings;
#[cfg(doc)]
use crate::proxier::config::{InsertionOrder, IpvsConfig};
use crate::render::Rendered;
use crate::snapshot::ProxySnapshot;
use crate::{Cluster, Error, Result};

/// Which text [`render`] produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Form {
    /// `ipvsadm -Ln`.
    #[default]
    List,
    /// `ipvsadm -Ln --stats` (counters are 0 without runtime state).
    Stats,
    /// `ipvsadm -Ln --rate`.
    Rate,
    /// `ipvsadm -S -n`.
    Save,
    /// `ipset save`.
    Ipset,
    /// The ipvs-mode `iptables-restore --noflush` payload.
    Iptables,
    /// `ip addr show kube-ipvs0`.
    Addresses,
}

impl Form {
    /// The form names, as the command line takes them.
    pub const NAMES: &'static [&'static str] = &[
        "list",
        "save",
        "ipset",
        "iptables",
        "addresses",
        "stats",
        "rate",
    ];

    /// Parses `list`, `stats`, `rate`, `save`, `ipset`, `iptables` or `addresses`.
    pub fn parse(s: &str) -> Option<Form> {
        Some(match s {
            "list" => Form::List,
            "stats" => Form::Stats,
            "rate" => Form::Rate,
            "save" => Form::Save,
            "ipset" => Form::Ipset,
            "iptables" => Form::Iptables,
            "addresses" => Form::Addresses,
            _ => return None,
        })
    }
}

/// Builds the node's IPVS programming for `settings` (family, node, flags) from a fresh sync
/// and renders `form`.
///
/// # Example
/// ```
/// use svccore::model::IpFamily;
/// use svccore::proxier::config::ProxierSettings;
/// use svccore::render::ipvs::{render, Form};
/// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"Service",
///   "metadata":{"name":"web","namespace":"default"},
///   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}"#)]).unwrap();
/// let s = ProxierSettings::from_cluster(&cluster, "node-a", IpFamily::IPv4).unwrap();
/// assert!(render(&cluster, &s, Form::List).unwrap().contains("TCP  10.96.0.10:80 rr\n"));
/// assert_eq!(render(&cluster, &s, Form::Save).unwrap(), "-A -t 10.96.0.10:80 -s rr\n");
/// ```
pub fn render(cluster: &Cluster, settings: &ProxierSettings, form: Form) -> Result<String> {
    Ok(render_with_warnings(cluster, settings, form)?.text)
}

/// [`render`], with the warnings of the snapshot the text was rendered from.
pub fn render_with_warnings(
    cluster: &Cluster,
    settings: &ProxierSettings,
    form: Form,
) -> Result<Rendered> {
    let snap = ProxySnapshot::build(cluster, settings.ip_family)?;
    let text = render_snapshot(&snap, settings, form)?;
    Ok(Rendered::new(text, snap))
}

/// Renders `form` of a snapshot with settings used as given.
pub fn render_snapshot(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    form: Form,
) -> Result<String> {
    let node = IpvsNode::build(snap, settings, None)?;
    let list = |format| {
        render_list(
            &node,
            None,
            &ListOptions {
                format,
                ..ListOptions::default()
            },
        )
    };
    match form {
        Form::List => list(ListFormat::Default),
        Form::Stats => list(ListFormat::Stats),
        Form::Rate => list(ListFormat::Rate),
        Form::Save => Ok(render_save(&node, false)),
        Form::Ipset => Ok(render_ipset_save(&node.ipsets)),
        Form::Iptables => Ok(render_iptables(&node, &IptablesOptions::default())),
        Form::Addresses => Ok(render_addresses(&[&node])),
    }
}

/// [`Form::parse`] as a result.
pub fn parse_form(s: &str) -> Result<Form> {
    Form::parse(s).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "unknown ipvs form {s:?}: expected one of {}",
            Form::NAMES.join(", ")
        ))
    })
}

/// One real server in a [`VsLookup`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RsLookup {
    /// `ip:port` (`[ip]:port` for IPv6).
    pub address: String,
    /// Weight (0 = draining, never picked).
    pub weight: i32,
    /// Forwarding method name (`Masq`).
    pub forward: &'static str,
}

/// Which virtual server takes a destination on this node and where it sends traffic: the
/// structured answer for `trace --mode ipvs`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VsLookup {
    /// The virtual server as listed (`TCP  10.96.0.10:53`).
    pub virtual_server: String,
    /// `cluster-ip`, `external-ip`, `load-balancer` or `node-port`.
    pub kind: &'static str,
    /// The service port (`ns/name[:port]`).
    pub service_port_name: String,
    /// Scheduler name.
    pub scheduler: String,
    /// Scheduler flag text (`mh-port`), empty when none.
    pub flags: String,
    /// Persistence timeout in seconds (ClientIP affinity), if any.
    pub persistent_seconds: Option<u32>,
    /// Which endpoint list the real servers come from.
    pub endpoints_from: EndpointSource,
    /// The local-policy fallback happened: policy Local, no local endpoint, so the cluster
    /// endpoints are used. iptables and nftables modes would drop this traffic.
    pub local_fallback: bool,
    /// Whether the address is bound to `kube-ipvs0`.
    pub bound_to_kube_ipvs0: bool,
    /// Real servers in ipvsadm's listing order.
    pub real_servers: Vec<RsLookup>,
}

impl IpvsNode {
    /// [`IpvsNode::lookup`] as a serialisable result. `None`: no virtual server on this node
    /// (the packet is not load-balanced by IPVS).
    pub fn lookup_result(&self, protocol: &Protocol, ip: IpAddr, port: u16) -> Option<VsLookup> {
        let vs = self.lookup(protocol, ip, port)?;
        Some(VsLookup {
            virtual_server: service_name(&vs.id),
            kind: vs.kind.as_str(),
            service_port_name: vs.service_port_name.clone(),
            scheduler: vs.scheduler.clone(),
            flags: vs.sched_flags_text(),
            persistent_seconds: vs.persistence(),
            endpoints_from: vs.endpoints_from,
            local_fallback: vs.local_fallback(),
            bound_to_kube_ipvs0: vs.bound,
            real_servers: list::dest_order(vs, false)
                .into_iter()
                .map(|r| RsLookup {
                    address: crate::ip::join_host_port(&r.addr.ip(), r.addr.port()),
                    weight: r.weight,
                    forward: r.forward.list_name(),
                })
                .collect(),
        })
    }

    /// `ipset save` text of this proxier's sets.
    pub fn ipset_save(&self) -> String {
        render_ipset_save(&self.ipsets)
    }
}
