//! The proxier configuration: kube-proxy's flags and `KubeProxyConfiguration` fields plus the
//! facts of its node, for every mode (spec: kube-proxy-iptables.md §0.3, ipvs.md §8).
//!
//! [`ProxierSettings`] holds what every mode shares (the node's facts, the family, the
//! local-traffic detector, masquerading, node-port addresses) and one part per mode
//! ([`IptablesConfig`], [`IpvsConfig`], [`NftablesConfig`], [`UserspaceConfig`]).
//!
//! Layering, lowest first ([`ProxierSettings::layered`]): [`ProxierSettings::default`] (a stock
//! kube-proxy) → a `KubeProxyConfiguration` ([`ProxierSettings::apply_proxy_config`]) → a
//! `proxy.json` settings object ([`ProxierSettings::apply_json`]; only the fields present) →
//! the flags ([`SettingsFlags::apply`]). Then [`ProxierSettings::resolve`] fills what is left
//! open from the cluster's Node object ([`NodeFacts::from_cluster`], the one place a Node object
//! is read) and resolves a `NodeCIDR` detector. Renderers receive resolved settings.
//!
//! Every error is [`Error::Config`] naming the field, except arguments that contradict each
//! other or the mode ([`Error::InvalidArgument`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{json, Map, Value};

use crate::categorize::NodeContext;
use crate::ip::{parse_cidr_sloppy, parse_ip_sloppy};
use crate::model::{DetectLocalMode, IpFamily, ProxyConfig};
use crate::proxier::node::require_known_node;
pub use crate::proxier::node::NodeSource;
pub use crate::proxier::userspace::{PortRange, UserspaceConfig};
use crate::select::ipvs::Scheduler;
use crate::snapshot::ProxySnapshot;
use crate::{Cluster, Error, Issue, Result};

/// What the proxier knows about its node: its name, labels, IPs and interface addresses.
///
/// Built from the cluster's Node object by [`NodeFacts::from_cluster`]; the `proxy.json` form
/// can give the IPs and interface addresses instead (kube-proxy's unit tests do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// `--hostname-override`: endpoints with this `nodeName` are local. Empty matches nothing.
    pub name: String,
    /// The Node's labels (topology hints, `topologyKeys`).
    pub labels: BTreeMap<String, String>,
    /// The node's IPs, the proxier's family first; `ips[0]` is kube-proxy's `nodeIP` (the
    /// load-balancer source-range allowance).
    pub ips: Vec<IpAddr>,
    /// The addresses on the node's interfaces (`ip/prefix`), in interface order: node ports
    /// listen on those inside `--nodeport-addresses`.
    pub interface_addresses: Vec<IpNet>,
    /// The Node's `spec.podCIDRs` (a `NodeCIDR` detector's source).
    pub pod_cidrs: Vec<String>,
}

/// The loopback interface's addresses, first among a node's interface addresses.
fn loopback_addresses() -> [IpNet; 2] {
    [
        "127.0.0.1/8".parse().expect("constant"),
        "::1/128".parse().expect("constant"),
    ]
}

impl NodeFacts {
    /// A node known by name only.
    pub fn named(name: &str) -> Self {
        NodeFacts {
            name: name.to_owned(),
            ..NodeFacts::default()
        }
    }

    /// The facts of the Node object called `name` as a proxier of `family` sees them: labels,
    /// IPs (InternalIP then ExternalIP, `family`'s first, each once), interface addresses
    /// (loopback, then the IPs as host addresses) and pod CIDRs. A node without a Node object
    /// has a name and nothing else.
    pub fn from_cluster(cluster: &Cluster, name: &str, family: IpFamily) -> Self {
        let mut facts = NodeFacts::named(name);
        let Some(node) = cluster.nodes.iter().find(|n| n.meta.name == name) else {
            return facts;
        };
        let mut ips: Vec<IpAddr> = Vec::new();
        for ip in node.ips().filter_map(parse_ip_sloppy) {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        facts.ips = ips
            .iter()
            .copied()
            .filter(|ip| IpFamily::of(ip) == family)
            .collect();
        facts
            .ips
            .extend(ips.iter().copied().filter(|ip| IpFamily::of(ip) != family));
        facts.interface_addresses = host_addresses(&facts.ips);
        facts.labels = node.meta.labels.to_btree();
        facts.pod_cidrs = node.pod_cidrs.clone();
        facts
    }

    /// kube-proxy's `nodeIP`: the first node IP.
    pub fn node_ip(&self) -> Option<IpAddr> {
        self.ips.first().copied()
    }

    /// The node as endpoint categorization sees it (name and labels).
    pub fn context(&self) -> NodeContext {
        NodeContext {
            labels: self.labels.clone(),
            ..NodeContext::named(&self.name)
        }
    }
}

/// Loopback plus `ips` as host addresses: the interface addresses of a node known by its IPs.
fn host_addresses(ips: &[IpAddr]) -> Vec<IpNet> {
    let mut out = loopback_addresses().to_vec();
    out.extend(ips.iter().map(|ip| IpNet::from(*ip)));
    out
}

/// kube-proxy's local-traffic detector (`--detect-local-mode`), spec: kube-proxy-iptables.md
/// §3.3 (6).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "mode", content = "value")]
pub enum LocalDetector {
    /// No detector (no cluster CIDR of the proxier's family): no "not local" masquerade rule.
    #[default]
    None,
    /// ClusterCIDR, or NodeCIDR once resolved: `-s <cidr>` / `! -s <cidr>`, the CIDR text as
    /// configured.
    Cidr(String),
    /// NodeCIDR before [`ProxierSettings::resolve`] has read the Node's `spec.podCIDRs`.
    NodeCidr,
    /// BridgeInterface: `-i <name>` / `! -i <name>`.
    BridgeInterface(String),
    /// InterfaceNamePrefix: `-i <prefix>+` / `! -i <prefix>+` (unverified form, spec §8).
    InterfaceNamePrefix(String),
}

impl LocalDetector {
    /// The `<IfLocal>` tokens, if a detector exists.
    pub fn if_local(&self) -> Option<[String; 2]> {
        match self {
            LocalDetector::Cidr(c) => Some(["-s".into(), c.clone()]),
            LocalDetector::BridgeInterface(i) => Some(["-i".into(), i.clone()]),
            LocalDetector::InterfaceNamePrefix(p) => Some(["-i".into(), format!("{p}+")]),
            LocalDetector::None | LocalDetector::NodeCidr => None,
        }
    }

    /// The "not local" match (`! -s 10.244.0.0/16`), if a detector exists.
    pub fn if_not_local(&self) -> Option<String> {
        self.if_local().map(|[a, b]| format!("! {a} {b}"))
    }
}

/// One `--nodeport-addresses` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodePortAddress {
    /// A CIDR: node ports listen on the node's addresses inside it.
    Cidr(IpNet),
    /// `primary`: the node's IP of the proxier's family.
    Primary,
}

impl NodePortAddress {
    fn parse(file: Option<&str>, path: &str, s: &str) -> Result<Self> {
        if s == "primary" {
            return Ok(NodePortAddress::Primary);
        }
        parse_cidr_sloppy(s)
            .map(NodePortAddress::Cidr)
            .ok_or_else(|| cfg_err(file, path, format!("{s:?} is not a CIDR or \"primary\"")))
    }

    fn to_text(&self) -> String {
        match self {
            NodePortAddress::Cidr(n) => n.to_string(),
            NodePortAddress::Primary => "primary".into(),
        }
    }
}

/// Real-server insertion order: kube-proxy adds real servers in Go-set order (random upstream);
/// the kernel lists them newest first. spec: ipvs.md §8.5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InsertionOrder {
    /// Ascending endpoint string order (`ip:port` bytes); the kernel list is then descending.
    #[default]
    EndpointAscending,
    /// Descending endpoint string order; the kernel list is then ascending.
    EndpointDescending,
}

/// The nfacct counter on the INVALID drop rule.
pub const NFACCT_INVALID: &str = "ct_state_invalid_dropped_pkts";
/// The nfacct counter on the localhost NodePort twin rules.
pub const NFACCT_LOCALHOST_NPS: &str = "localhost_nps_accepted_pkts";

/// What the iptables rules of a node depend on beyond the shared settings (the `iptables`
/// part). `random_fully` is read by every mode that writes iptables rules (ipvs too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IptablesConfig {
    /// `--iptables-localhost-nodeports` (IPv4 only).
    pub localhost_nodeports: bool,
    /// nfacct counters kube-proxy could create ([`NFACCT_INVALID`], [`NFACCT_LOCALHOST_NPS`]).
    pub nfacct_counters: Vec<String>,
    /// Whether iptables supports `--random-fully` (any iptables ≥ 1.6.2).
    pub random_fully: bool,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set: no INVALID drop rule.
    pub conntrack_tcp_liberal: bool,
    /// Above this many endpoints in total, SEP/SVC rules lose their comments (spec §3.5).
    pub large_cluster_endpoints_threshold: usize,
}

impl Default for IptablesConfig {
    fn default() -> Self {
        IptablesConfig {
            localhost_nodeports: true,
            nfacct_counters: Vec::new(),
            random_fully: true,
            conntrack_tcp_liberal: false,
            large_cluster_endpoints_threshold: 1000,
        }
    }
}

/// The ipvs mode's own settings (the `ipvs` part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsConfig {
    /// `--ipvs-scheduler` (`ipvs.scheduler`).
    pub scheduler: Scheduler,
    /// `ipvs.strictARP` (a sysctl kube-proxy sets; it changes no text svccore renders).
    pub strict_arp: bool,
    /// IPVS connection table size printed in the listing header (`1 << conn_tab_bits`).
    pub conn_tab_size: u32,
    /// Real-server insertion order (§8.5).
    pub insertion_order: InsertionOrder,
    /// Treat every terminating endpoint that kube-proxy drops from a TCP virtual server as still
    /// having connections, so it stays listed at weight 0 (§8.4), even without
    /// [`IpvsState`](crate::render::ipvs::IpvsState) counters. Off by default: without
    /// connections kube-proxy deletes the real server at once.
    pub assume_draining: bool,
    /// Interface index of `kube-ipvs0` (for `ip addr show`; not derivable).
    pub dummy_ifindex: u32,
    /// MAC address of `kube-ipvs0` (random on a real node).
    pub dummy_mac: String,
}

impl Default for IpvsConfig {
    fn default() -> Self {
        IpvsConfig {
            scheduler: Scheduler::Rr,
            strict_arp: false,
            conn_tab_size: 4096,
            insertion_order: InsertionOrder::EndpointAscending,
            assume_draining: false,
            dummy_ifindex: 5,
            dummy_mac: "6e:8c:1f:00:00:01".to_owned(),
        }
    }
}

/// The nftables mode's own settings (the `nftables` part).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NftablesConfig {
    /// The ServiceCIDRs the proxier knows (both families; the renderer keeps its own
    /// family's). Traffic to an unallocated cluster IP inside them is dropped.
    pub service_cidrs: Vec<IpNet>,
    /// Chains left from an earlier sync that kube-proxy has flushed but not yet deleted (they
    /// show as empty chains).
    pub stale_chains: Vec<String>,
}

/// One kube-proxy (one family, one node) in any mode: its node's facts, its flags and its
/// configuration.
///
/// The JSON form (`--proxier-settings FILE`, the conformance `proxy.json`) uses the field names
/// `nodeName, nodeIPs, ipFamily, clusterCIDR, masqueradeAll, masqueradeMark, localhostNodePorts,
/// nodePortAddresses, nfacctCounters, randomFully, conntrackTCPLiberal,
/// largeClusterEndpointsThreshold, interfaceAddresses, serviceCIDRs, staleChains, userspace`
/// (`userspace`: an object `{"portRange", "bindAddress", "proxyPorts"}`, [`UserspaceConfig`]).
///
/// # Example
/// ```
/// use svccore::proxier::config::ProxierSettings;
/// let s = ProxierSettings::from_json_str(r#"{"nodeName": "n1", "masqueradeMark": "0x4000"}"#, None).unwrap();
/// assert_eq!(s.node.name, "n1");
/// assert_eq!(s.masquerade_mark, "0x4000");
/// assert!(s.iptables.localhost_nodeports); // default kept
/// let err = ProxierSettings::from_json_str(r#"{"nodeIPs": ["x"]}"#, Some("p.json")).unwrap_err();
/// assert_eq!(err.issues()[0].path, "nodeIPs[0]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxierSettings {
    /// The node this proxier runs on.
    pub node: NodeFacts,
    /// The family of this proxier (`iptables` vs `ip6tables`).
    pub ip_family: IpFamily,
    /// The local traffic detector (`--cluster-cidr` with detect-local-mode ClusterCIDR, ...).
    pub local_detector: LocalDetector,
    /// `--masquerade-all`.
    pub masquerade_all: bool,
    /// The mark text, used literally (`0x00004000` for bit 14, [`mark_for_bit`]; the upstream
    /// tests use `0x4000`).
    pub masquerade_mark: String,
    /// `--nodeport-addresses` (`None` = all local addresses).
    pub node_port_addresses: Option<Vec<NodePortAddress>>,
    /// The iptables part.
    pub iptables: IptablesConfig,
    /// The ipvs part.
    pub ipvs: IpvsConfig,
    /// The nftables part.
    pub nftables: NftablesConfig,
    /// The userspace part.
    pub userspace: UserspaceConfig,
    /// Which layer named the node ([`ProxierSettings::node_notes`] says it).
    pub node_source: NodeSource,
    /// svccore's own checks of the input (not kube-proxy settings).
    pub checks: InputChecks,
}

/// svccore's own checks of the input when a proxier's settings are resolved against a cluster
/// ([`ProxierSettings::resolve`]); kube-proxy has no such switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputChecks {
    /// Refuse what kube-proxy tolerates: every warning of the proxy snapshot (a Service without
    /// ports, duplicate port names, a node port outside the range, an address of the wrong
    /// family, a sloppy IP, ...) becomes an [`Error::Validation`].
    pub strict: bool,
    /// Accept a node name no Node object has although the input has Node objects.
    pub allow_unknown_node: bool,
}

impl Default for ProxierSettings {
    /// A stock kube-proxy on a current node: IPv4, mark bit 14 (`0x00004000`), localhost
    /// NodePorts on, no detector, `--random-fully` supported, no nfacct counters, scheduler
    /// `rr`, no node name.
    fn default() -> Self {
        ProxierSettings {
            node: NodeFacts::default(),
            ip_family: IpFamily::IPv4,
            local_detector: LocalDetector::None,
            masquerade_all: false,
            masquerade_mark: mark_for_bit(14),
            node_port_addresses: None,
            iptables: IptablesConfig::default(),
            ipvs: IpvsConfig::default(),
            nftables: NftablesConfig::default(),
            userspace: UserspaceConfig::default(),
            node_source: NodeSource::Default,
            checks: InputChecks::default(),
        }
    }
}

/// The mark text kube-proxy writes for `--iptables-masquerade-bit` (Go's `%#08x`, spec §2.2,
/// ipvs.md §8.7).
pub fn mark_for_bit(bit: u32) -> String {
    format!("0x{:08x}", 1u64 << bit)
}

fn cfg_err(file: Option<&str>, path: &str, msg: impl Into<String>) -> Error {
    Error::Config(Issue::new(file, path, msg))
}

/// `--iptables-masquerade-bit` checked (0..=31) and turned into the mark text.
fn mark_of_bit(file: Option<&str>, path: &str, bit: i64) -> Result<String> {
    if !(0..=31).contains(&bit) {
        return Err(cfg_err(
            file,
            path,
            format!("must be between 0 and 31, got {bit}"),
        ));
    }
    Ok(mark_for_bit(bit as u32))
}

/// The fields of the JSON form, in its order.
pub const SETTINGS_FIELDS: &[&str] = &[
    "nodeName",
    "nodeIPs",
    "ipFamily",
    "clusterCIDR",
    "masqueradeAll",
    "masqueradeMark",
    "localhostNodePorts",
    "nodePortAddresses",
    "nfacctCounters",
    "randomFully",
    "conntrackTCPLiberal",
    "largeClusterEndpointsThreshold",
    "interfaceAddresses",
    "serviceCIDRs",
    "staleChains",
    "userspace",
];

/// Whether `c` is a CIDR of `family`.
fn of_family(c: &str, family: IpFamily) -> bool {
    parse_cidr_sloppy(c).is_some_and(|n| IpFamily::of(&n.addr()) == family)
}

// The field checks shared by the JSON form and the flags (each names the field in its error).

fn check_mark(file: Option<&str>, path: &str, s: &str) -> Result<String> {
    let hex = s.strip_prefix("0x").unwrap_or("");
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() > 8 {
        return Err(cfg_err(
            file,
            path,
            format!("{s:?} is not a mark (0x followed by up to 8 hex digits)"),
        ));
    }
    Ok(s.to_owned())
}

fn check_cidr(file: Option<&str>, path: &str, s: &str) -> Result<IpNet> {
    parse_cidr_sloppy(s).ok_or_else(|| cfg_err(file, path, format!("{s:?} is not a CIDR")))
}

fn check_counter(file: Option<&str>, path: &str, s: &str) -> Result<String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(cfg_err(file, path, format!("{s:?} is not a counter name")));
    }
    Ok(s.to_owned())
}

fn check_chain(file: Option<&str>, path: &str, s: &str) -> Result<String> {
    // The name ends up in rule text: only the characters kube-proxy's names use.
    let ok = !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b));
    if !ok {
        return Err(cfg_err(file, path, format!("{s:?} is not a chain name")));
    }
    Ok(s.to_owned())
}

/// Checks each entry of a list field (`path[i]` in errors).
fn each<S: AsRef<str>, T>(
    file: Option<&str>,
    path: &str,
    items: &[S],
    f: impl Fn(Option<&str>, &str, &str) -> Result<T>,
) -> Result<Vec<T>> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| f(file, &format!("{path}[{i}]"), s.as_ref()))
        .collect()
}

/// A `--cluster-cidr` value (comma-separated for dual stack): every entry must be a CIDR; the
/// detector uses the one of `family` (none: no detector).
fn cluster_cidr_detector(
    file: Option<&str>,
    path: &str,
    text: &str,
    family: IpFamily,
) -> Result<LocalDetector> {
    let mut pick = None;
    for c in text.split(',').map(str::trim) {
        check_cidr(file, path, c)?;
        if pick.is_none() && of_family(c, family) {
            pick = Some(c.to_owned());
        }
    }
    Ok(pick.map_or(LocalDetector::None, LocalDetector::Cidr))
}

impl ProxierSettings {
    /// The defaults for a proxier of `family` on the node called `node_name`.
    pub fn new(family: IpFamily, node_name: &str) -> Self {
        ProxierSettings {
            ip_family: family,
            node: NodeFacts::named(node_name),
            ..ProxierSettings::default()
        }
    }

    /// Parses the JSON form over the defaults. Errors are [`Error::Config`] with the field path.
    pub fn from_json_str(text: &str, file: Option<&str>) -> Result<Self> {
        let mut s = ProxierSettings::default();
        s.apply_json_str(text, file)?;
        Ok(s)
    }

    /// Parses the JSON text of a settings object and checks it as [`Self::apply_json`] does;
    /// returns the object itself (only the fields given, for layering).
    pub fn parse_json_object(text: &str, file: Option<&str>) -> Result<Value> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            cfg_err(
                file,
                &format!("line {} column {}", e.line(), e.column()),
                e.to_string(),
            )
        })?;
        ProxierSettings::default().apply_json(&v, file)?;
        Ok(v)
    }

    /// Applies the fields present in a JSON text (the `--proxier-settings` file) to `self`.
    pub fn apply_json_str(&mut self, text: &str, file: Option<&str>) -> Result<()> {
        let v = ProxierSettings::parse_json_object(text, file)?;
        self.apply_json(&v, file)
    }

    /// Applies the fields present in a parsed JSON object to `self`.
    pub fn apply_json(&mut self, v: &Value, file: Option<&str>) -> Result<()> {
        let Value::Object(map) = v else {
            return Err(cfg_err(file, "", "proxier settings must be a JSON object"));
        };
        for k in map.keys() {
            if !SETTINGS_FIELDS.contains(&k.as_str()) {
                return Err(cfg_err(
                    file,
                    k,
                    format!("unknown field (known: {})", SETTINGS_FIELDS.join(", ")),
                ));
            }
        }
        let get = |k: &str| map.get(k).filter(|v| !v.is_null());
        let strs = |k: &str, v: &Value| strings(file, k, v);
        if let Some(v) = get("nodeName") {
            self.node.name = string(file, "nodeName", v)?;
            self.node_source = NodeSource::SettingsFile;
        }
        if let Some(v) = get("nodeIPs") {
            self.node.ips = each(file, "nodeIPs", &strs("nodeIPs", v)?, |f, p, s| {
                parse_ip_sloppy(s).ok_or_else(|| cfg_err(f, p, format!("{s:?} is not an IP")))
            })?;
        }
        if let Some(v) = get("ipFamily") {
            let s = string(file, "ipFamily", v)?;
            self.ip_family = IpFamily::parse(&s)
                .ok_or_else(|| cfg_err(file, "ipFamily", "must be \"IPv4\" or \"IPv6\""))?;
        }
        if let Some(v) = map.get("clusterCIDR") {
            self.local_detector = match v {
                Value::Null => LocalDetector::None,
                _ => {
                    let s = string(file, "clusterCIDR", v)?;
                    check_cidr(file, "clusterCIDR", &s)?;
                    LocalDetector::Cidr(s)
                }
            };
        }
        if let Some(v) = get("masqueradeAll") {
            self.masquerade_all = boolean(file, "masqueradeAll", v)?;
        }
        if let Some(v) = get("masqueradeMark") {
            self.masquerade_mark =
                check_mark(file, "masqueradeMark", &string(file, "masqueradeMark", v)?)?;
        }
        if let Some(v) = get("localhostNodePorts") {
            self.iptables.localhost_nodeports = boolean(file, "localhostNodePorts", v)?;
        }
        if let Some(v) = map.get("nodePortAddresses") {
            self.node_port_addresses = match v {
                Value::Null => None,
                _ => Some(each(
                    file,
                    "nodePortAddresses",
                    &strs("nodePortAddresses", v)?,
                    NodePortAddress::parse,
                )?),
            };
        }
        if let Some(v) = get("nfacctCounters") {
            self.iptables.nfacct_counters = each(
                file,
                "nfacctCounters",
                &strs("nfacctCounters", v)?,
                check_counter,
            )?;
        }
        if let Some(v) = get("randomFully") {
            self.iptables.random_fully = boolean(file, "randomFully", v)?;
        }
        if let Some(v) = get("conntrackTCPLiberal") {
            self.iptables.conntrack_tcp_liberal = boolean(file, "conntrackTCPLiberal", v)?;
        }
        if let Some(v) = get("largeClusterEndpointsThreshold") {
            self.iptables.large_cluster_endpoints_threshold = v
                .as_u64()
                .ok_or_else(|| {
                    cfg_err(
                        file,
                        "largeClusterEndpointsThreshold",
                        "must be a non-negative integer",
                    )
                })?
                .try_into()
                .unwrap_or(usize::MAX);
        }
        if let Some(v) = get("interfaceAddresses") {
            let items = strs("interfaceAddresses", v)?;
            self.node.interface_addresses = each(file, "interfaceAddresses", &items, |f, p, s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| cfg_err(f, p, format!("{s:?} is not an ip/prefix")))
            })?;
        }
        if let Some(v) = get("serviceCIDRs") {
            self.nftables.service_cidrs =
                each(file, "serviceCIDRs", &strs("serviceCIDRs", v)?, check_cidr)?;
        }
        if let Some(v) = get("staleChains") {
            self.nftables.stale_chains =
                each(file, "staleChains", &strs("staleChains", v)?, check_chain)?;
        }
        if let Some(v) = get("userspace") {
            self.userspace.apply_json(v, file)?;
        }
        Ok(())
    }

    /// Applies a `KubeProxyConfiguration` (clusterCIDR, hostnameOverride, masqueradeAll,
    /// masqueradeBit, localhostNodePorts, nodePortAddresses, detectLocalMode, ipvs.scheduler,
    /// ipvs.strictARP). Paths in errors are the configuration's own field paths.
    pub fn apply_proxy_config(&mut self, cfg: &ProxyConfig) -> Result<()> {
        let file = cfg.loc.file.as_deref();
        let at = |rel: &str| cfg.loc.field(rel);
        if let Some(h) = cfg.hostname_override.as_deref().filter(|h| !h.is_empty()) {
            self.node.name = h.to_owned();
            self.node_source = NodeSource::HostnameOverride;
        }
        if let Some(m) = cfg.masquerade_all {
            self.masquerade_all = m;
        }
        if let Some(bit) = cfg.masquerade_bit {
            self.masquerade_mark = mark_of_bit(file, &at("iptables.masqueradeBit"), bit)?;
        }
        if let Some(l) = cfg.localhost_nodeports {
            self.iptables.localhost_nodeports = l;
        }
        if let Some(s) = cfg.ipvs_scheduler.as_deref().filter(|s| !s.is_empty()) {
            self.ipvs.scheduler = Scheduler::parse(s)
                .map_err(|e| cfg_err(file, &at("ipvs.scheduler"), e.to_string()))?;
        }
        if let Some(a) = cfg.ipvs_strict_arp {
            self.ipvs.strict_arp = a;
        }
        if let Some(r) = cfg.port_range.as_deref() {
            self.userspace.port_range = PortRange::parse(r)
                .map_err(|m| cfg_err(file, &at("portRange"), format!("{r:?}: {m}")))?;
        }
        if let Some(b) = cfg.bind_address.as_deref().filter(|b| !b.is_empty()) {
            self.userspace.bind_address = UserspaceConfig::parse_bind_address(b)
                .map_err(|m| cfg_err(file, &at("bindAddress"), m))?;
        }
        if !cfg.nodeport_addresses.is_empty() {
            self.node_port_addresses = Some(each(
                file,
                &at("nodePortAddresses"),
                &cfg.nodeport_addresses,
                NodePortAddress::parse,
            )?);
        }
        // The cluster CIDR of this family (comma-separated for dual stack).
        let cidr = cfg.cluster_cidr.as_deref().and_then(|c| {
            c.split(',')
                .map(str::trim)
                .find(|s| of_family(s, self.ip_family))
        });
        self.local_detector = match &cfg.detect_local_mode {
            None | Some(DetectLocalMode::ClusterCidr) => match cidr {
                Some(c) => LocalDetector::Cidr(c.to_owned()),
                None => LocalDetector::None,
            },
            Some(DetectLocalMode::NodeCidr) => LocalDetector::NodeCidr,
            Some(DetectLocalMode::BridgeInterface) => match &cfg.bridge_interface {
                Some(b) if !b.is_empty() => LocalDetector::BridgeInterface(b.clone()),
                _ => {
                    return Err(cfg_err(
                        file,
                        &at("detectLocal.bridgeInterface"),
                        "required with detectLocalMode BridgeInterface",
                    ))
                }
            },
            Some(DetectLocalMode::InterfaceNamePrefix) => match &cfg.interface_name_prefix {
                Some(b) if !b.is_empty() => LocalDetector::InterfaceNamePrefix(b.clone()),
                _ => {
                    return Err(cfg_err(
                        file,
                        &at("detectLocal.interfaceNamePrefix"),
                        "required with detectLocalMode InterfaceNamePrefix",
                    ))
                }
            },
            Some(DetectLocalMode::Other(o)) => {
                return Err(cfg_err(
                    file,
                    &at("detectLocalMode"),
                    format!("unknown mode {o:?}"),
                ))
            }
        };
        Ok(())
    }

    /// Settings from a `KubeProxyConfiguration` over the defaults.
    pub fn from_proxy_config(cfg: &ProxyConfig) -> Result<Self> {
        let mut s = ProxierSettings::default();
        s.apply_proxy_config(cfg)?;
        Ok(s)
    }

    /// Fills what the settings leave open from the cluster's Node object named `node.name`
    /// ([`NodeFacts::from_cluster`]): node IPs, interface addresses (loopback plus the node
    /// IPs), labels and pod CIDRs; then resolves a NodeCIDR detector to the Node's pod CIDR of
    /// this family.
    ///
    /// Before that, the node: when no layer named one, the first Node object of the cluster;
    /// a name no Node object has is [`Error::UnknownNode`] when the cluster has Node objects
    /// (unless [`InputChecks::allow_unknown_node`]). With [`InputChecks::strict`], the proxy
    /// snapshot's warnings are an [`Error::Validation`].
    pub fn resolve(&self, cluster: &Cluster) -> Result<ProxierSettings> {
        Ok(self.resolve_with_strict_snapshot(cluster)?.0)
    }

    /// [`resolve`](Self::resolve), and the proxy snapshot of the settings' family, which a
    /// renderer goes on with: built once, for the strict check when there is one, else after
    /// the settings are resolved (errors come in the order of [`resolve`](Self::resolve) then
    /// [`ProxySnapshot::build`]).
    pub fn resolve_and_snapshot(
        &self,
        cluster: &Cluster,
    ) -> Result<(ProxierSettings, ProxySnapshot)> {
        let (s, snap) = self.resolve_with_strict_snapshot(cluster)?;
        let snap = match snap {
            Some(snap) => snap,
            None => ProxySnapshot::build(cluster, s.ip_family)?,
        };
        Ok((s, snap))
    }

    /// The resolved settings and, with [`InputChecks::strict`], the snapshot the check built.
    pub(crate) fn resolve_with_strict_snapshot(
        &self,
        cluster: &Cluster,
    ) -> Result<(ProxierSettings, Option<ProxySnapshot>)> {
        let mut s = self.clone();
        if s.node_source == NodeSource::Default && s.node.name.is_empty() {
            if let Some(first) = cluster.nodes.first() {
                s.node.name = first.meta.name.to_string();
                s.node_source = NodeSource::FirstNode;
            }
        }
        require_known_node(cluster, &s.node.name, s.checks.allow_unknown_node)?;
        let mut strict_snapshot = None;
        if s.checks.strict {
            let snap = ProxySnapshot::build(cluster, s.ip_family)?;
            if !snap.warnings.is_empty() {
                return Err(Error::Validation(snap.warnings));
            }
            strict_snapshot = Some(snap);
        }
        let facts = NodeFacts::from_cluster(cluster, &s.node.name, s.ip_family);
        if s.node.ips.is_empty() {
            s.node.ips = facts.ips;
        }
        if s.node.interface_addresses.is_empty() {
            s.node.interface_addresses = host_addresses(&s.node.ips);
        }
        if s.node.labels.is_empty() {
            s.node.labels = facts.labels;
        }
        if s.node.pod_cidrs.is_empty() {
            s.node.pod_cidrs = facts.pod_cidrs;
        }
        if s.local_detector == LocalDetector::NodeCidr {
            let cidr = s.node.pod_cidrs.iter().find(|c| of_family(c, s.ip_family));
            match cidr {
                Some(c) => s.local_detector = LocalDetector::Cidr(c.clone()),
                None => {
                    return Err(cfg_err(
                        None,
                        "detectLocalMode",
                        format!(
                            "NodeCIDR needs the Node {:?} with a {} spec.podCIDRs entry",
                            s.node.name,
                            s.ip_family.as_str()
                        ),
                    ))
                }
            }
        }
        Ok((s, strict_snapshot))
    }

    /// Refuses a snapshot of the other family ([`Error::InvalidArgument`]).
    pub fn check_snapshot(&self, snap: &ProxySnapshot) -> Result<()> {
        if snap.family != self.ip_family {
            return Err(Error::InvalidArgument(format!(
                "the snapshot is {} but the proxier settings say {}",
                snap.family.as_str(),
                self.ip_family.as_str()
            )));
        }
        Ok(())
    }

    /// Whether an nfacct counter is available.
    pub fn has_nfacct(&self, name: &str) -> bool {
        self.iptables.nfacct_counters.iter().any(|c| c == name)
    }

    /// The CIDRs of this family node ports listen in (`primary`: the node IP of the family as
    /// a host CIDR), or `None` when they listen on every local address (no CIDR of the family,
    /// or a zero-length prefix). spec: kube-proxy-iptables.md §3.3 (8), ipvs.md §8.2.
    pub fn node_port_cidrs(&self) -> Option<Vec<IpNet>> {
        let family = self.ip_family;
        let cidrs: Vec<IpNet> = self
            .node_port_addresses
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|a| match a {
                NodePortAddress::Cidr(n) => Some(*n),
                NodePortAddress::Primary => self
                    .node
                    .ips
                    .iter()
                    .find(|ip| IpFamily::of(ip) == family)
                    .map(|ip| IpNet::from(*ip)),
            })
            .filter(|n| IpFamily::of(&n.addr()) == family)
            .collect();
        if cidrs.is_empty() || cidrs.iter().any(|n| n.prefix_len() == 0) {
            return None;
        }
        Some(cidrs)
    }

    /// The JSON form (the fields of `proxy.json`).
    pub fn to_json(&self) -> Value {
        let cidr = match &self.local_detector {
            LocalDetector::Cidr(c) => Value::String(c.clone()),
            _ => Value::Null,
        };
        let strs = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
        let nets = |v: &[IpNet]| strs(v.iter().map(IpNet::to_string).collect());
        let ipt = &self.iptables;
        json!({
            "nodeName": self.node.name,
            "nodeIPs": strs(self.node.ips.iter().map(IpAddr::to_string).collect()),
            "ipFamily": self.ip_family.as_str(),
            "clusterCIDR": cidr,
            "masqueradeAll": self.masquerade_all,
            "masqueradeMark": self.masquerade_mark,
            "localhostNodePorts": ipt.localhost_nodeports,
            "nodePortAddresses": match &self.node_port_addresses {
                None => Value::Null,
                Some(v) => strs(v.iter().map(NodePortAddress::to_text).collect()),
            },
            "nfacctCounters": ipt.nfacct_counters,
            "randomFully": ipt.random_fully,
            "conntrackTCPLiberal": ipt.conntrack_tcp_liberal,
            "largeClusterEndpointsThreshold": ipt.large_cluster_endpoints_threshold,
            "interfaceAddresses": nets(&self.node.interface_addresses),
            "serviceCIDRs": nets(&self.nftables.service_cidrs),
            "staleChains": self.nftables.stale_chains,
            "userspace": self.userspace.to_json(),
        })
    }
}

impl ProxierSettings {
    /// The settings as plain values: the JSON form ([`Self::to_json`]) plus what it does not
    /// hold: `localDetector` (`{"mode": "Cidr", "value": "10.244.0.0/16"}`), `ipvsScheduler`,
    /// `nodeLabels` and `podCIDRs`. The bindings' `proxier_settings` results.
    pub fn describe(&self) -> Value {
        let mut v = self.to_json();
        if let Value::Object(m) = &mut v {
            m.insert("localDetector".into(), json!(self.local_detector));
            m.insert("ipvsScheduler".into(), json!(self.ipvs.scheduler.name()));
            m.insert("nodeLabels".into(), json!(self.node.labels));
            m.insert("podCIDRs".into(), json!(self.node.pod_cidrs));
        }
        v
    }
}

impl serde::Serialize for ProxierSettings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

fn string(file: Option<&str>, path: &str, v: &Value) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| cfg_err(file, path, "must be a string"))
}

fn boolean(file: Option<&str>, path: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| cfg_err(file, path, "must be true or false"))
}

fn strings(file: Option<&str>, path: &str, v: &Value) -> Result<Vec<String>> {
    let Value::Array(items) = v else {
        return Err(cfg_err(file, path, "must be a list of strings"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| string(file, &format!("{path}[{i}]"), it))
        .collect()
}

/// The proxy modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyMode {
    /// `iptables`.
    Iptables,
    /// `ipvs`.
    Ipvs,
    /// `nftables`.
    Nftables,
    /// `userspace` (removed in Kubernetes 1.26): kube-proxy proxies every connection itself
    /// and its iptables rules only send packets to it (spec: [`crate::render::userspace`]).
    Userspace,
}

impl ProxyMode {
    /// Every mode.
    pub const ALL: [ProxyMode; 4] = [
        ProxyMode::Iptables,
        ProxyMode::Ipvs,
        ProxyMode::Nftables,
        ProxyMode::Userspace,
    ];

    /// `iptables`, `ipvs`, `nftables`, `userspace`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Userspace => "userspace",
        }
    }

    /// Parses a mode among `allowed` (what the caller supports); the error lists them.
    pub fn parse_among(s: &str, allowed: &[ProxyMode]) -> Result<ProxyMode> {
        allowed
            .iter()
            .copied()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
                Error::InvalidArgument(format!("unknown mode {s:?}: expected {}", or_list(&names)))
            })
    }
}

/// `a, b or c`.
pub(crate) fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// kube-proxy's flags (`svccore render`, `trace`, `audit` and the bindings' keyword
/// arguments): each `Some` overrides whatever the defaults, the configuration and the settings
/// file said. The bindings build one from their arguments and let the core check and apply it.
///
/// The serde form is the bindings' keyword names (`node`, `family`, `cluster_cidr`, ...,
/// `conntrack_tcp_be_liberal`, `ipvs_scheduler`): [`SettingsFlags::from_json`] reads it and
/// [`SettingsFlags::NAMES`] lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFlags {
    /// `--hostname-override` / `--node`.
    #[serde(rename = "node")]
    pub node_name: Option<String>,
    /// The proxier's family (`IPv4` / `IPv6`).
    #[serde(rename = "family", default, deserialize_with = "de_family")]
    pub ip_family: Option<IpFamily>,
    /// `--cluster-cidr` (a ClusterCIDR detector; comma-separated for dual stack: the CIDR of
    /// the proxier's family is used).
    pub cluster_cidr: Option<String>,
    /// `--masquerade-all`.
    pub masquerade_all: Option<bool>,
    /// `--iptables-masquerade-bit` (0..=31): the mark becomes `%#08x` of `1 << bit`.
    pub masquerade_bit: Option<i64>,
    /// The mark text itself (`0x4000`, as kube-proxy's unit tests write it).
    pub masquerade_mark: Option<String>,
    /// `--iptables-localhost-nodeports`.
    pub localhost_nodeports: Option<bool>,
    /// `--nodeport-addresses` (CIDRs or `primary`).
    pub nodeport_addresses: Option<Vec<String>>,
    /// nfacct counters available on the node.
    pub nfacct_counters: Option<Vec<String>>,
    /// iptables supports `--random-fully`.
    pub random_fully: Option<bool>,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set.
    #[serde(rename = "conntrack_tcp_be_liberal")]
    pub conntrack_tcp_liberal: Option<bool>,
    /// `--service-cidrs` (nftables: the ServiceCIDRs, when the input has no ServiceCIDR objects).
    pub service_cidrs: Option<Vec<String>>,
    /// `--ipvs-scheduler`.
    pub ipvs_scheduler: Option<String>,
    /// `--proxy-port-range` (userspace: `min-max`, `min+offset` or one port).
    pub proxy_port_range: Option<String>,
    /// `--bind-address` (userspace: the address the proxy listens on; `0.0.0.0` for all).
    pub bind_address: Option<String>,
    /// svccore's `--strict`: refuse what kube-proxy tolerates ([`InputChecks::strict`]).
    pub strict: Option<bool>,
    /// svccore's `--allow-unknown-node` ([`InputChecks::allow_unknown_node`]).
    pub allow_unknown_node: Option<bool>,
}

fn de_family<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<IpFamily>, D::Error> {
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    s.map(|f| parse_family(&f).map_err(serde::de::Error::custom))
        .transpose()
}

/// Parses `IPv4` / `IPv6` ([`Error::InvalidArgument`] otherwise).
pub fn parse_family(s: &str) -> Result<IpFamily> {
    IpFamily::parse(s).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "unknown IP family {s:?}: expected \"IPv4\" or \"IPv6\""
        ))
    })
}

/// The flags in [`SettingsFlags`] field order, each with the modes it applies to: the one
/// table of which option belongs to which mode ([`SettingsFlags::MODES`]).
const FLAGS: [(&str, &[ProxyMode]); 17] = {
    use ProxyMode::{Iptables as I, Ipvs as V, Nftables as N, Userspace as U};
    [
        ("node", &[I, V, N, U]),
        ("family", &[I, V, N, U]),
        ("cluster_cidr", &[I, V, N]),
        ("masquerade_all", &[I, V, N]),
        ("masquerade_bit", &[I, V, N]),
        ("masquerade_mark", &[I, N]),
        ("localhost_nodeports", &[I]),
        ("nodeport_addresses", &[I, V, N]),
        ("nfacct_counters", &[I]),
        ("random_fully", &[I]),
        ("conntrack_tcp_be_liberal", &[I]),
        ("service_cidrs", &[N]),
        ("ipvs_scheduler", &[V]),
        ("proxy_port_range", &[U]),
        ("bind_address", &[U]),
        ("strict", &[I, V, N, U]),
        ("allow_unknown_node", &[I, V, N, U]),
    ]
};

/// The modes a `proxy.json` settings object (`proxier_settings`) applies to.
pub const SETTINGS_FILE_MODES: &[ProxyMode] = &[
    ProxyMode::Iptables,
    ProxyMode::Nftables,
    ProxyMode::Userspace,
];

impl SettingsFlags {
    /// The flags' names (the bindings' keyword arguments), in field order.
    pub const NAMES: [&'static str; 17] = {
        let mut names = [""; 17];
        let mut i = 0;
        while i < names.len() {
            names[i] = FLAGS[i].0;
            i += 1;
        }
        names
    };

    /// Each flag's name with the modes it applies to, in field order.
    pub const MODES: [(&'static str, &'static [ProxyMode]); 17] = FLAGS;

    /// Reads the flags from an object of their names ([`Error::InvalidArgument`] for an unknown
    /// name or a value of the wrong type; `null` is "not given").
    pub fn from_json(v: &Value) -> Result<SettingsFlags> {
        serde_json::from_value(v.clone()).map_err(|e| Error::InvalidArgument(e.to_string()))
    }

    /// Whether each flag was given, in field order.
    fn given(&self) -> [bool; 17] {
        [
            self.node_name.is_some(),
            self.ip_family.is_some(),
            self.cluster_cidr.is_some(),
            self.masquerade_all.is_some(),
            self.masquerade_bit.is_some(),
            self.masquerade_mark.is_some(),
            self.localhost_nodeports.is_some(),
            self.nodeport_addresses.is_some(),
            self.nfacct_counters.is_some(),
            self.random_fully.is_some(),
            self.conntrack_tcp_liberal.is_some(),
            self.service_cidrs.is_some(),
            self.ipvs_scheduler.is_some(),
            self.proxy_port_range.is_some(),
            self.bind_address.is_some(),
            self.strict.is_some(),
            self.allow_unknown_node.is_some(),
        ]
    }

    /// Refuses a flag (or a settings file, `settings_file`) that `mode` does not have:
    /// [`Error::InvalidArgument`] `"<name> applies to mode \"iptables\" only"`.
    pub fn check_mode(&self, mode: ProxyMode, settings_file: bool) -> Result<()> {
        let flags = FLAGS.iter().zip(self.given());
        let file = std::iter::once((&("proxier_settings", SETTINGS_FILE_MODES), settings_file));
        for (&(name, modes), given) in flags.chain(file) {
            if given && !modes.contains(&mode) {
                let quoted: Vec<String> =
                    modes.iter().map(|m| format!("{:?}", m.as_str())).collect();
                let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
                return Err(Error::InvalidArgument(format!(
                    "{name} applies to mode {} only",
                    or_list(&quoted)
                )));
            }
        }
        Ok(())
    }

    /// Applies the flags given to `s`, checked as the JSON form is (errors are
    /// [`Error::Config`] naming the field, or [`Error::InvalidArgument`] for the bit and the
    /// mark given together).
    pub fn apply(&self, s: &mut ProxierSettings) -> Result<()> {
        if self.masquerade_bit.is_some() && self.masquerade_mark.is_some() {
            return Err(Error::InvalidArgument(
                "give the masquerade bit or the masquerade mark, not both".into(),
            ));
        }
        if let Some(n) = &self.node_name {
            s.node.name = n.clone();
            s.node_source = NodeSource::Flag;
        }
        if let Some(v) = self.strict {
            s.checks.strict = v;
        }
        if let Some(v) = self.allow_unknown_node {
            s.checks.allow_unknown_node = v;
        }
        if let Some(f) = self.ip_family {
            s.ip_family = f;
        }
        if let Some(c) = &self.cluster_cidr {
            s.local_detector = cluster_cidr_detector(None, "clusterCIDR", c, s.ip_family)?;
        }
        if let Some(v) = self.masquerade_all {
            s.masquerade_all = v;
        }
        if let Some(bit) = self.masquerade_bit {
            s.masquerade_mark = mark_of_bit(None, "masqueradeBit", bit)?;
        }
        if let Some(m) = &self.masquerade_mark {
            s.masquerade_mark = check_mark(None, "masqueradeMark", m)?;
        }
        if let Some(v) = self.localhost_nodeports {
            s.iptables.localhost_nodeports = v;
        }
        if let Some(v) = &self.nodeport_addresses {
            s.node_port_addresses =
                Some(each(None, "nodePortAddresses", v, NodePortAddress::parse)?);
        }
        if let Some(v) = &self.nfacct_counters {
            s.iptables.nfacct_counters = each(None, "nfacctCounters", v, check_counter)?;
        }
        if let Some(v) = self.random_fully {
            s.iptables.random_fully = v;
        }
        if let Some(v) = self.conntrack_tcp_liberal {
            s.iptables.conntrack_tcp_liberal = v;
        }
        if let Some(v) = &self.service_cidrs {
            s.nftables.service_cidrs = each(None, "serviceCIDRs", v, check_cidr)?;
        }
        if let Some(v) = &self.ipvs_scheduler {
            s.ipvs.scheduler = Scheduler::parse(v)?;
        }
        if let Some(v) = &self.proxy_port_range {
            s.userspace.port_range = PortRange::parse(v)
                .map_err(|m| cfg_err(None, "proxyPortRange", format!("{v:?}: {m}")))?;
        }
        if let Some(v) = &self.bind_address {
            s.userspace.bind_address = UserspaceConfig::parse_bind_address(v)
                .map_err(|m| cfg_err(None, "bindAddress", m))?;
        }
        Ok(())
    }
}

impl ProxierSettings {
    /// The settings of one proxier, layered as kube-proxy reads them: the defaults, then the
    /// `KubeProxyConfiguration` (`config`: a `--config` file, else the cluster's), then the
    /// fields present in a `--proxier-settings` object (`file` names it in errors), then the
    /// flags. The family (from the flags, else the settings object) is fixed first, so the
    /// configuration's dual-stack `clusterCIDR` contributes the CIDR of that family.
    ///
    /// # Example
    /// ```
    /// use serde_json::json;
    /// use svccore::model::ProxyConfig;
    /// use svccore::proxier::config::{ProxierSettings, SettingsFlags};
    /// let cfg = ProxyConfig { masquerade_all: Some(true), hostname_override: Some("a".into()), ..Default::default() };
    /// let file = json!({"nodeName": "b", "randomFully": false});
    /// let flags = SettingsFlags { node_name: Some("c".into()), ..Default::default() };
    /// let s = ProxierSettings::layered(Some(&cfg), Some((&file, Some("p.json"))), &flags).unwrap();
    /// assert_eq!((s.node.name.as_str(), s.masquerade_all, s.iptables.random_fully), ("c", true, false));
    /// ```
    pub fn layered(
        config: Option<&ProxyConfig>,
        settings_json: Option<(&Value, Option<&str>)>,
        flags: &SettingsFlags,
    ) -> Result<ProxierSettings> {
        let mut s = ProxierSettings::default();
        let json_family = settings_json
            .and_then(|(v, _)| v.get("ipFamily"))
            .and_then(Value::as_str)
            .and_then(IpFamily::parse);
        if let Some(f) = flags.ip_family.or(json_family) {
            s.ip_family = f;
        }
        if let Some(cfg) = config {
            s.apply_proxy_config(cfg)?;
        }
        if let Some((v, file)) = settings_json {
            s.apply_json(v, file)?;
        }
        flags.apply(&mut s)?;
        Ok(s)
    }

    /// The resolved settings of the proxier of `family` on `node` (empty: the configuration's
    /// `hostnameOverride`): the cluster's `KubeProxyConfiguration` (or `config`, a separate
    /// one) layered with the flags, then [`ProxierSettings::resolve`]d against the Node.
    ///
    /// # Example
    /// ```
    /// use svccore::model::IpFamily;
    /// use svccore::proxier::config::ProxierSettings;
    /// let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"Node",
    ///   "metadata":{"name":"node-a","labels":{"zone":"a"}},
    ///   "status":{"addresses":[{"type":"InternalIP","address":"192.168.0.10"}]}}"#)]).unwrap();
    /// let s = ProxierSettings::from_cluster(&cluster, "node-a", IpFamily::IPv4).unwrap();
    /// assert_eq!(s.node.node_ip(), Some("192.168.0.10".parse().unwrap()));
    /// assert_eq!(s.node.labels["zone"], "a");
    /// ```
    pub fn from_cluster(cluster: &Cluster, node: &str, family: IpFamily) -> Result<Self> {
        Self::from_config(cluster, cluster.proxy_config.as_ref(), node, family)
    }

    /// [`ProxierSettings::from_cluster`] with the `KubeProxyConfiguration` given separately
    /// (`None`: none at all).
    pub fn from_config(
        cluster: &Cluster,
        config: Option<&ProxyConfig>,
        node: &str,
        family: IpFamily,
    ) -> Result<Self> {
        // The caller has chosen the node (simulate: the first Node when none is given); a name
        // without a Node object is a node known by name only here.
        let flags = SettingsFlags {
            node_name: (!node.is_empty()).then(|| node.to_owned()),
            ip_family: Some(family),
            allow_unknown_node: Some(true),
            ..SettingsFlags::default()
        };
        ProxierSettings::layered(config, None, &flags)?.resolve(cluster)
    }
}

/// A helper for bindings: the JSON object of the defaults.
pub fn default_settings_json() -> Map<String, Value> {
    match ProxierSettings::default().to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_is_zero_padded_like_go() {
        assert_eq!(mark_for_bit(14), "0x00004000");
        assert_eq!(mark_for_bit(0), "0x00000001");
        assert_eq!(mark_for_bit(31), "0x80000000");
    }

    #[test]
    fn rejects_bad_fields_with_path() {
        let e =
            ProxierSettings::from_json_str(r#"{"masqueradeAll": "yes"}"#, Some("f")).unwrap_err();
        assert_eq!(e.kind(), "config");
        assert_eq!(e.issues()[0].path, "masqueradeAll");
        let e =
            ProxierSettings::from_json_str(r#"{"nodePortAddresses": ["1.2.3.0/24", "zz"]}"#, None)
                .unwrap_err();
        assert_eq!(e.issues()[0].path, "nodePortAddresses[1]");
        let e = ProxierSettings::from_json_str(r#"{"bogus": 1}"#, None).unwrap_err();
        assert_eq!(e.issues()[0].path, "bogus");
        let e = ProxierSettings::from_json_str(r#"{"masqueradeMark": 7}"#, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration: masqueradeMark: must be a string"
        );
    }

    #[test]
    fn json_round_trips() {
        let s = ProxierSettings {
            node: NodeFacts::named("n"),
            local_detector: LocalDetector::Cidr("10.0.0.0/8".into()),
            node_port_addresses: Some(vec![
                NodePortAddress::Cidr("192.168.0.0/24".parse().unwrap()),
                NodePortAddress::Primary,
            ]),
            ..Default::default()
        };
        let back = ProxierSettings::from_json_str(&s.to_json().to_string(), None).unwrap();
        let s = ProxierSettings {
            node_source: NodeSource::SettingsFile,
            ..s
        };
        assert_eq!(back, s);
    }

    #[test]
    fn proxy_config_masquerade_bit_and_cidr() {
        let cfg = ProxyConfig {
            cluster_cidr: Some("fd00::/48,10.244.0.0/16".into()),
            masquerade_bit: Some(15),
            hostname_override: Some("node-a".into()),
            ipvs_scheduler: Some("wrr".into()),
            ..Default::default()
        };
        let s = ProxierSettings::from_proxy_config(&cfg).unwrap();
        assert_eq!(s.masquerade_mark, "0x00008000");
        assert_eq!(
            s.local_detector,
            LocalDetector::Cidr("10.244.0.0/16".into())
        );
        assert_eq!(s.node.name, "node-a");
        assert_eq!(s.ipvs.scheduler, Scheduler::Wrr);
        let bad = ProxyConfig {
            masquerade_bit: Some(40),
            ..Default::default()
        };
        let e = ProxierSettings::from_proxy_config(&bad).unwrap_err();
        assert_eq!(e.issues()[0].path, "iptables.masqueradeBit");
        let bad = ProxyConfig {
            ipvs_scheduler: Some("fifo".into()),
            ..Default::default()
        };
        let e = ProxierSettings::from_proxy_config(&bad).unwrap_err();
        assert_eq!(
            (e.kind(), e.issues()[0].path.as_str()),
            ("config", "ipvs.scheduler")
        );
    }

    #[test]
    fn layered_precedence_defaults_config_json_flags() {
        let cfg = ProxyConfig {
            cluster_cidr: Some("10.244.0.0/16,fd00::/48".into()),
            masquerade_bit: Some(15),
            ..Default::default()
        };
        // The configuration alone.
        let s = ProxierSettings::layered(Some(&cfg), None, &SettingsFlags::default()).unwrap();
        assert_eq!(s.masquerade_mark, "0x00008000");
        assert_eq!(
            s.local_detector,
            LocalDetector::Cidr("10.244.0.0/16".into())
        );
        // The family of the settings file picks the configuration's IPv6 CIDR.
        let v6 = json!({"ipFamily": "IPv6"});
        let s = ProxierSettings::layered(Some(&cfg), Some((&v6, None)), &SettingsFlags::default())
            .unwrap();
        assert_eq!(s.local_detector, LocalDetector::Cidr("fd00::/48".into()));
        // The file overrides the configuration, the flags override the file.
        let file = json!({"masqueradeMark": "0x4000", "localhostNodePorts": false});
        let flags = SettingsFlags {
            masquerade_bit: Some(13),
            cluster_cidr: Some("fd01::/48,10.1.0.0/16".into()),
            ..Default::default()
        };
        let s =
            ProxierSettings::layered(Some(&cfg), Some((&file, Some("p.json"))), &flags).unwrap();
        assert_eq!(s.masquerade_mark, "0x00002000");
        assert!(!s.iptables.localhost_nodeports);
        assert_eq!(s.local_detector, LocalDetector::Cidr("10.1.0.0/16".into()));
        // A cluster CIDR of the other family only: no detector.
        let flags = SettingsFlags {
            cluster_cidr: Some("fd01::/48".into()),
            ..Default::default()
        };
        let s = ProxierSettings::layered(None, None, &flags).unwrap();
        assert_eq!(s.local_detector, LocalDetector::None);
    }

    #[test]
    fn flags_are_checked_with_the_field_name() {
        let bad = |f: SettingsFlags| {
            let e = ProxierSettings::layered(None, None, &f).unwrap_err();
            (e.kind(), e.to_string())
        };
        let (kind, msg) = bad(SettingsFlags {
            masquerade_bit: Some(32),
            ..Default::default()
        });
        assert_eq!(kind, "config");
        assert!(
            msg.contains("masqueradeBit: must be between 0 and 31, got 32"),
            "{msg}"
        );
        let (kind, msg) = bad(SettingsFlags {
            cluster_cidr: Some("nope".into()),
            ..Default::default()
        });
        assert_eq!(kind, "config");
        assert!(msg.contains("clusterCIDR: \"nope\" is not a CIDR"), "{msg}");
        let (kind, msg) = bad(SettingsFlags {
            nodeport_addresses: Some(vec!["x".into()]),
            ..Default::default()
        });
        assert_eq!(kind, "config");
        assert_eq!(
            msg,
            "invalid configuration: nodePortAddresses[0]: \"x\" is not a CIDR or \"primary\""
        );
        let (kind, _) = bad(SettingsFlags {
            masquerade_bit: Some(14),
            masquerade_mark: Some("0x4000".into()),
            ..Default::default()
        });
        assert_eq!(kind, "invalid-argument");
        let (kind, msg) = bad(SettingsFlags {
            ipvs_scheduler: Some("fifo".into()),
            ..Default::default()
        });
        assert_eq!(kind, "invalid-argument");
        assert!(msg.contains("unknown IPVS scheduler \"fifo\""), "{msg}");
    }

    #[test]
    fn flags_read_from_keyword_names_and_checked_per_mode() {
        let f = SettingsFlags::from_json(&json!({
            "node": "a", "family": "IPv6", "random_fully": null, "conntrack_tcp_be_liberal": true
        }))
        .unwrap();
        assert_eq!(f.node_name.as_deref(), Some("a"));
        assert_eq!(f.ip_family, Some(IpFamily::IPv6));
        assert_eq!(f.conntrack_tcp_liberal, Some(true));
        assert!(f.check_mode(ProxyMode::Iptables, true).is_ok());
        let e = f.check_mode(ProxyMode::Ipvs, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "conntrack_tcp_be_liberal applies to mode \"iptables\" only"
        );
        let e = SettingsFlags::default()
            .check_mode(ProxyMode::Ipvs, true)
            .unwrap_err();
        assert!(e.to_string().contains(
            "proxier_settings applies to mode \"iptables\", \"nftables\" or \"userspace\" only"
        ));
        let e = SettingsFlags {
            proxy_port_range: Some("36000-36099".into()),
            ..Default::default()
        }
        .check_mode(ProxyMode::Iptables, false)
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "proxy_port_range applies to mode \"userspace\" only"
        );
        let e = SettingsFlags::from_json(&json!({"bogus": 1})).unwrap_err();
        assert_eq!(e.kind(), "invalid-argument");
        assert!(e.to_string().contains("unknown field `bogus`"), "{e}");
        let e = SettingsFlags::from_json(&json!({"family": "v4"})).unwrap_err();
        assert!(e.to_string().contains("unknown IP family \"v4\""), "{e}");
        // The name list and the struct agree.
        let all: Map<String, Value> = SettingsFlags::NAMES
            .iter()
            .map(|n| ((*n).to_owned(), Value::Null))
            .collect();
        assert!(SettingsFlags::from_json(&Value::Object(all)).is_ok());
    }

    #[test]
    fn node_facts_come_from_the_node_object() {
        let c = crate::load::load_strs([(
            None,
            r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n","labels":{"z":"a"}},
            "spec":{"podCIDRs":["10.244.1.0/24","fd00:244::/64"]},
            "status":{"addresses":[{"type":"ExternalIP","address":"fd00::9"},
              {"type":"InternalIP","address":"192.168.0.9"},{"type":"ExternalIP","address":"192.168.0.9"}]}}"#,
        )])
        .unwrap();
        let f = NodeFacts::from_cluster(&c, "n", IpFamily::IPv6);
        let ips: Vec<String> = f.ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["fd00::9", "192.168.0.9"]);
        assert_eq!(f.interface_addresses.len(), 4);
        let s = ProxierSettings {
            node: NodeFacts::named("n"),
            ip_family: IpFamily::IPv6,
            local_detector: LocalDetector::NodeCidr,
            ..Default::default()
        };
        let r = s.resolve(&c).unwrap();
        assert_eq!(
            r.local_detector,
            LocalDetector::Cidr("fd00:244::/64".into())
        );
        assert_eq!(r.node.labels["z"], "a");
        let s = ProxierSettings {
            node: NodeFacts::named("other"),
            checks: InputChecks {
                allow_unknown_node: true,
                ..InputChecks::default()
            },
            ..s
        };
        let e = s.resolve(&c).unwrap_err();
        assert_eq!(e.issues()[0].path, "detectLocalMode");
    }

    #[test]
    fn node_port_cidrs_of_the_family_or_all() {
        let mut s = ProxierSettings::default();
        assert_eq!(s.node_port_cidrs(), None);
        s.node.ips = vec!["fd00::1".parse().unwrap(), "192.168.0.5".parse().unwrap()];
        s.node_port_addresses = Some(vec![NodePortAddress::Primary]);
        assert_eq!(
            s.node_port_cidrs(),
            Some(vec!["192.168.0.5/32".parse().unwrap()])
        );
        s.node_port_addresses = Some(vec![NodePortAddress::Cidr("fd00::/8".parse().unwrap())]);
        assert_eq!(s.node_port_cidrs(), None);
        s.node_port_addresses = Some(vec![NodePortAddress::Cidr("0.0.0.0/0".parse().unwrap())]);
        assert_eq!(s.node_port_cidrs(), None);
    }
}
