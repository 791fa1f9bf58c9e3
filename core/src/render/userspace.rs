//! kube-proxy userspace mode: the "portal" rules that send service traffic to the proxy.
//!
//! # Specification
//!
//! Followed: kubernetes/kubernetes `pkg/proxy/userspace/proxier.go` as stored at commit
//! `0096f4a4d137aa03ee1f5d168dadb325833b3a57` (the copy [`crate::select::userspace`]'s
//! `roundrobin.go` comes from), and `port_allocator.go` at commit
//! `04791b4906602ffda5ccf9bc4c84d3329f1d7080`. The mode was removed in Kubernetes 1.26 (1.25
//! was the last release with it).
//!
//! In userspace mode kube-proxy itself is the load balancer: for every TCP or UDP service port
//! it opens a socket on a *proxy port* and forwards each connection it accepts to an endpoint
//! ([`crate::select::userspace`]). Its iptables rules only redirect packets to those sockets.
//!
//! ## Chains and jumps (`iptablesInit`)
//!
//! Five chains: in `nat`, `KUBE-PORTALS-CONTAINER`, `KUBE-PORTALS-HOST`,
//! `KUBE-NODEPORT-CONTAINER`, `KUBE-NODEPORT-HOST`; in `filter`, `KUBE-NODEPORT-NON-LOCAL`.
//! Their jumps, with `iptables -I` (prepend) or `-A` (append), each only if missing:
//!
//! 1. nat `PREROUTING`, prepended: `-m comment --comment "handle ClusterIPs; NOTE: this must be
//!    before the NodePort rules" -j KUBE-PORTALS-CONTAINER`;
//! 2. nat `OUTPUT`, prepended: the same comment, `-j KUBE-PORTALS-HOST`;
//! 3. nat `PREROUTING`, appended: `-m addrtype --dst-type LOCAL -m comment --comment "handle
//!    service NodePorts; NOTE: this must be the last rule in the chain" -j
//!    KUBE-NODEPORT-CONTAINER`;
//! 4. nat `OUTPUT`, appended: the same, `-j KUBE-NODEPORT-HOST`;
//! 5. filter `INPUT`, prepended: `-m comment --comment "Ensure that non-local NodePort traffic
//!    can flow" -j KUBE-NODEPORT-NON-LOCAL`.
//!
//! PREROUTING is where packets from containers (and from other hosts) arrive, OUTPUT where the
//! node's own packets leave: hence the `CONTAINER` and `HOST` pairs.
//!
//! ## Rules per service port (`openPortal`, `openOnePortal`, `openNodePort`)
//!
//! Every rule starts with the same arguments, in this order (`iptablesCommonPortalArgs`):
//! `-m comment --comment NAME -p PROTO -m PROTO --dport PORT`, then `-d IP/32` (`/128` for
//! IPv6) when the portal has an address, then `-m physdev ! --physdev-is-in` or
//! `-m addrtype --dst-type LOCAL` where said below. NAME is kube-proxy's service port name,
//! `ns/name` or `ns/name:portname`; PROTO is `tcp` or `udp`. The target:
//!
//! - *container* rules: `-j REDIRECT --to-ports PROXYPORT` when the proxy listens on every
//!   address (`bindAddress` `0.0.0.0` or `::`, the default), else
//!   `-j DNAT --to-destination BIND:PROXYPORT`;
//! - *host* rules: always `-j DNAT --to-destination HOST:PROXYPORT`, HOST being the bind
//!   address, or when that is `0.0.0.0`/`::` the host IP kube-proxy chose at start-up (the
//!   address of the interface of the default route); svccore uses the node IP of the family.
//!
//! For one service port, in this order (each rule only if the identical rule is not already
//! in its chain, `EnsureRule`):
//!
//! 1. the cluster IP: a container rule `-d CLUSTERIP/32 --dport PORT` in
//!    `KUBE-PORTALS-CONTAINER` and a host rule with the same match in `KUBE-PORTALS-HOST`;
//! 2. each external IP, in `spec.externalIPs` order: two container rules, the first with
//!    `-m physdev ! --physdev-is-in` (packets that did not come in through a bridge port,
//!    i.e. from off the node), the second with `-m addrtype --dst-type LOCAL`, and one host
//!    rule with `-m addrtype --dst-type LOCAL` (no plain host rule);
//! 3. each load-balancer ingress IP (`status.loadBalancer.ingress[].ip`, hostnames skipped):
//!    as the cluster IP (a container and a host rule, no extra match);
//! 4. the node port, when non-zero: a container rule without `-d` (`--dport NODEPORT`) in
//!    `KUBE-NODEPORT-CONTAINER`, a host rule without `-d` in `KUBE-NODEPORT-HOST`, and in
//!    filter `KUBE-NODEPORT-NON-LOCAL`: `-m comment --comment NAME -p PROTO -m PROTO --dport
//!    PROXYPORT -m state --state NEW -j ACCEPT` (the *proxy* port: what the redirected packet
//!    arrives on). The node-port chains are reached only for local destinations (jumps 3, 4).
//!
//! kube-proxy opens a service port's portals whatever its endpoints: the rules do not depend
//! on endpoints, on traffic policies or on topology (none of those existed for this mode; a
//! service without endpoints still has its portals, and the proxy closes each connection it
//! cannot forward). Skipped services (`ShouldSkipService`): no cluster IP (`None` or empty)
//! and type ExternalName. `nodePortAddresses` is ignored by this mode.
//!
//! Where svccore and kube-proxy part: kube-proxy's service order is a Go map's, so the order of
//! service ports inside a chain differs from node to node; svccore writes them sorted by
//! service port name, then protocol (the order of the iptables renderer). A port of another
//! protocol (SCTP) gets no proxy socket, hence no rules (kube-proxy also leaks the range port it
//! took for it; svccore does not take one). External IPs of the other family, which kube-proxy
//! would try and fail to install (stopping that port's remaining portals), are left out. When a
//! portal address is one of the node's own, kube-proxy also holds the port open with a socket
//! and skips the portal if another service holds it; svccore does not model that conflict.
//!
//! ## Proxy ports (`port_allocator.go`, and svccore's rule)
//!
//! With `--proxy-port-range`/`portRange` (`P`, `min-max` or `min+offset`; a base of 0 is no
//! range) kube-proxy takes for each new service port a random free port of the range (then the
//! next free one upwards, wrapping), one bitmap for every protocol. Without a range it binds to
//! port 0 and the kernel picks an ephemeral port. Neither can be replayed, so svccore
//! ([`crate::proxier::userspace::allocate`]): ports given in the settings' `userspace.proxyPorts`
//! (`{"ns/name:port": P}`, a real node's ports, for an audit) are used as given; every other
//! service port, in write order, takes the lowest port of the range no other service port
//! holds; without a range the range is the kernel's default ephemeral range 32768–60999
//! (svccore's choice).
//!
//! ## Forms
//!
//! kube-proxy wrote these rules one `iptables` command at a time (`EnsureChain`, `EnsureRule`
//! with `-C` then `-A`/`-I`); it never used `iptables-restore` in this mode. svccore gives the
//! same state as three texts ([`Form`]), like the iptables renderer:
//!
//! - [`Form::Restore`]: an `iptables-restore --noflush` payload declaring the five chains
//!   (which flushes them) and appending each chain's rules, filter then nat, every rule with its
//!   arguments in kube-proxy's order (`-m comment --comment "ns/web:http" -p tcp -m tcp --dport
//!   80 -d 10.96.0.10/32 -j REDIRECT --to-ports 32768`);
//! - [`Form::Jumps`]: the five jump rules as an `iptables-restore --noflush` payload, `-I` for
//!   kube-proxy's prepends and `-A` for its appends, loaded after the restore payload (the
//!   chains must exist); on a node without them it leaves kube-proxy's order;
//! - [`Form::Save`]: what `iptables-save` prints once both are loaded: chains sorted, each
//!   rule's `-d` and `-p` first and its matches in the order given
//!   (`-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp -m comment --comment "ns/web:http"
//!   -m tcp --dport 80 -j REDIRECT --to-ports 32768`).
//!
//! # Example
//! ```
//! use svccore::render::userspace::{render, Form};
//! use svccore::proxier::config::ProxierSettings;
//! let cluster = svccore::load::load_strs([(None, r#"{"apiVersion":"v1","kind":"List","items":[
//!  {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
//!   "spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}]}"#)]).unwrap();
//! let s = ProxierSettings::from_json_str(r#"{"nodeIPs": ["192.168.0.10"],
//!   "userspace": {"portRange": "36000-36099"}}"#, None).unwrap();
//! let text = render(&cluster, &s, Form::Save).unwrap();
//! assert!(text.contains("-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp -m comment \
//!   --comment \"default/web\" -m tcp --dport 80 -j REDIRECT --to-ports 36000\n"));
//! assert!(text.contains("-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -p tcp -m comment \
//!   --comment \"default/web\" -m tcp --dport 80 -j DNAT --to-destination 192.168.0.10:36000\n"));
//! ```

use std::net::IpAddr;

use crate::model::{IpFamily, Protocol};
use crate::netfilter::{save_text, Dump, DumpBuilder, RestoreSink, SaveStyle};
use crate::proxier::config::ProxierSettings;
use crate::proxier::plan::write_order;
use crate::proxier::userspace::{allocate, host_ip};
use crate::render::Rendered;
use crate::snapshot::{ProxySnapshot, ServicePortView};
use crate::{Cluster, Result};

pub use crate::render::iptables::Form;

/// `KUBE-PORTALS-CONTAINER` (nat, from PREROUTING).
pub const KUBE_PORTALS_CONTAINER: &str = "KUBE-PORTALS-CONTAINER";
/// `KUBE-PORTALS-HOST` (nat, from OUTPUT).
pub const KUBE_PORTALS_HOST: &str = "KUBE-PORTALS-HOST";
/// `KUBE-NODEPORT-CONTAINER` (nat, from PREROUTING for local destinations).
pub const KUBE_NODEPORT_CONTAINER: &str = "KUBE-NODEPORT-CONTAINER";
/// `KUBE-NODEPORT-HOST` (nat, from OUTPUT for local destinations).
pub const KUBE_NODEPORT_HOST: &str = "KUBE-NODEPORT-HOST";
/// `KUBE-NODEPORT-NON-LOCAL` (filter, from INPUT).
pub const KUBE_NODEPORT_NON_LOCAL: &str = "KUBE-NODEPORT-NON-LOCAL";

const PORTALS_COMMENT: &str = "\"handle ClusterIPs; NOTE: this must be before the NodePort rules\"";
const NODEPORTS_COMMENT: &str =
    "\"handle service NodePorts; NOTE: this must be the last rule in the chain\"";
const NON_LOCAL_COMMENT: &str = "\"Ensure that non-local NodePort traffic can flow\"";

/// What a portal rule matches on besides protocol and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortalKind {
    /// The cluster IP.
    ClusterIp,
    /// An external IP (`spec.externalIPs`).
    ExternalIp,
    /// A load-balancer ingress IP.
    LoadBalancer,
    /// The node port (any local address).
    NodePort,
}

/// One address (or the node port) a service port is reachable on and redirected from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Portal {
    /// Which kind.
    pub kind: PortalKind,
    /// The address (`None` for the node port: every local address).
    pub ip: Option<IpAddr>,
    /// The port matched (`--dport`).
    pub port: u16,
}

/// One proxied service port: its proxy port and its portals, in kube-proxy's order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProxiedPort {
    /// Index into the snapshot's ports.
    #[serde(skip)]
    pub index: usize,
    /// kube-proxy's service port name (the rule comment).
    pub service_port_name: String,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The port the proxy listens on.
    pub proxy_port: u16,
    /// The portals, in the order kube-proxy opens them.
    pub portals: Vec<Portal>,
}

/// The userspace proxier's state on a node: where the proxy listens and what is redirected
/// to it. Built from the snapshot and the resolved settings ([`Proxy::build`]); the rules are
/// written from it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Proxy {
    /// The family.
    #[serde(skip)]
    pub family: IpFamily,
    /// The bind address is `0.0.0.0`/`::`: container rules REDIRECT.
    pub listens_on_all: bool,
    /// The bind address (when it is one address).
    pub bind_address: IpAddr,
    /// The address host rules DNAT to.
    pub host_ip: IpAddr,
    /// Proxied service ports, in write order.
    pub ports: Vec<ProxiedPort>,
}

impl Proxy {
    /// Allocates proxy ports and lists each service port's portals. Errors: the settings'
    /// userspace checks ([`allocate`], [`host_ip`]), a snapshot of the other family.
    pub fn build(snap: &ProxySnapshot, settings: &ProxierSettings) -> Result<Proxy> {
        settings.check_snapshot(snap)?;
        let us = &settings.userspace;
        let host = host_ip(us, settings.ip_family, settings.node.node_ip())?;
        let order = write_order(&snap.ports);
        let proxy_ports = allocate(&snap.ports, &order, us)?;
        // Plain loops here and below: the WebAssembly module's size counts.
        let mut ports = Vec::with_capacity(order.len());
        for &i in &order {
            let p = &snap.ports[i];
            if let Some(proxy_port) = proxy_ports[i] {
                ports.push(ProxiedPort {
                    index: i,
                    service_port_name: p.service_port_name.to_string(),
                    protocol: p.protocol.lower().to_owned(),
                    proxy_port,
                    portals: portals(p),
                });
            }
        }
        Ok(Proxy {
            family: settings.ip_family,
            listens_on_all: us.listens_on_all(),
            bind_address: us.bind_address,
            host_ip: host,
            ports,
        })
    }

    /// The proxied port of a snapshot index, if proxied.
    pub fn port_of(&self, index: usize) -> Option<&ProxiedPort> {
        self.ports.iter().find(|p| p.index == index)
    }
}

fn portals(p: &ServicePortView) -> Vec<Portal> {
    let at = |kind, ip| Portal {
        kind,
        ip: Some(ip),
        port: p.port,
    };
    let mut out = vec![at(PortalKind::ClusterIp, p.cluster_ip)];
    for &ip in &p.external_ips {
        out.push(at(PortalKind::ExternalIp, ip));
    }
    for &ip in &p.lb_ips {
        out.push(at(PortalKind::LoadBalancer, ip));
    }
    if p.node_port != 0 {
        out.push(Portal {
            kind: PortalKind::NodePort,
            ip: None,
            port: p.node_port,
        });
    }
    out
}

/// `ip/32` or `ip/128` (kube-proxy's `ToCIDR`).
fn cidr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    }
}

/// Extra match of a portal rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    NotFromBridge,
    DstLocal,
}

/// One rule: its chain and its words after `-A CHAIN`, in kube-proxy's argument order.
struct Rule {
    chain: &'static str,
    words: Vec<String>,
}

fn common(name: &str, proto: &str, dport: u16, ip: Option<IpAddr>, extra: Extra) -> Vec<String> {
    let mut w = vec![
        "-m comment --comment".to_owned(),
        format!("\"{name}\""),
        format!("-p {proto} -m {proto} --dport {dport}"),
    ];
    if let Some(ip) = ip {
        w.push(format!("-d {}", cidr(ip)));
    }
    match extra {
        Extra::None => {}
        Extra::NotFromBridge => w.push("-m physdev ! --physdev-is-in".to_owned()),
        Extra::DstLocal => w.push("-m addrtype --dst-type LOCAL".to_owned()),
    }
    w
}

/// The rules of one proxied service port in the order kube-proxy ensures them (rules of
/// different chains interleaved; each chain's own order is what matters).
fn port_rules(proxy: &Proxy, p: &ProxiedPort, out: &mut Vec<Rule>) {
    let name = p.service_port_name.as_str();
    let proto = p.protocol.as_str();
    let container_target = if proxy.listens_on_all {
        format!("-j REDIRECT --to-ports {}", p.proxy_port)
    } else {
        format!(
            "-j DNAT --to-destination {}",
            crate::ip::join_host_port(&proxy.bind_address, p.proxy_port)
        )
    };
    let host_target = format!(
        "-j DNAT --to-destination {}",
        crate::ip::join_host_port(&proxy.host_ip, p.proxy_port)
    );
    let with = |mut w: Vec<String>, target: &str| {
        w.push(target.to_owned());
        w
    };
    let start = out.len();
    let mut push = |chain: &'static str, words: Vec<String>| {
        // EnsureRule: an identical rule already in the chain is not added again (rules of
        // other service ports differ in their comment).
        if !out[start..]
            .iter()
            .any(|r| r.chain == chain && r.words == words)
        {
            out.push(Rule { chain, words });
        }
    };
    for portal in &p.portals {
        let c = |ip, extra| common(name, proto, portal.port, ip, extra);
        match portal.kind {
            PortalKind::ClusterIp | PortalKind::LoadBalancer => {
                push(
                    KUBE_PORTALS_CONTAINER,
                    with(c(portal.ip, Extra::None), &container_target),
                );
                push(
                    KUBE_PORTALS_HOST,
                    with(c(portal.ip, Extra::None), &host_target),
                );
            }
            PortalKind::ExternalIp => {
                push(
                    KUBE_PORTALS_CONTAINER,
                    with(c(portal.ip, Extra::NotFromBridge), &container_target),
                );
                push(
                    KUBE_PORTALS_CONTAINER,
                    with(c(portal.ip, Extra::DstLocal), &container_target),
                );
                push(
                    KUBE_PORTALS_HOST,
                    with(c(portal.ip, Extra::DstLocal), &host_target),
                );
            }
            PortalKind::NodePort => {
                push(
                    KUBE_NODEPORT_CONTAINER,
                    with(c(None, Extra::None), &container_target),
                );
                push(KUBE_NODEPORT_HOST, with(c(None, Extra::None), &host_target));
                push(
                    KUBE_NODEPORT_NON_LOCAL,
                    with(
                        common(name, proto, p.proxy_port, None, Extra::None),
                        "-m state --state NEW -j ACCEPT",
                    ),
                );
            }
        }
    }
}

/// Writes the chains and their rules (the [`Form::Restore`] payload): filter then nat.
pub fn write_portals(proxy: &Proxy, out: &mut dyn RestoreSink) {
    write(Some(proxy), false, out);
}

/// Writes the five jump rules (the [`Form::Jumps`] payload): `-I` where kube-proxy prepends,
/// `-A` where it appends.
pub fn write_jumps(out: &mut dyn RestoreSink) {
    write(None, true, out);
}

/// Writes the portal chains and rules of `proxy` (if given) and the jumps (if `jumps`), one
/// pass per table (filter, nat), the jumps before the rules. (One copy for every sink: the
/// WebAssembly module's size counts.)
fn write(proxy: Option<&Proxy>, jumps: bool, out: &mut dyn RestoreSink) {
    let mut rules: Vec<Rule> = Vec::new();
    if let Some(proxy) = proxy {
        for p in &proxy.ports {
            port_rules(proxy, p, &mut rules);
        }
    }
    let emit = |out: &mut dyn RestoreSink, chain: &str| {
        for r in rules.iter().filter(|r| r.chain == chain) {
            let words: Vec<&str> = r.words.iter().map(String::as_str).collect();
            out.append(chain, &words);
        }
    };
    out.table("filter");
    if proxy.is_some() {
        out.chain(KUBE_NODEPORT_NON_LOCAL);
    }
    if jumps {
        out.insert(
            "INPUT",
            &[
                "-m comment --comment",
                NON_LOCAL_COMMENT,
                "-j",
                KUBE_NODEPORT_NON_LOCAL,
            ],
        );
    }
    emit(out, KUBE_NODEPORT_NON_LOCAL);
    out.commit();
    out.table("nat");
    let nat = [
        KUBE_PORTALS_CONTAINER,
        KUBE_PORTALS_HOST,
        KUBE_NODEPORT_CONTAINER,
        KUBE_NODEPORT_HOST,
    ];
    if proxy.is_some() {
        for c in nat {
            out.chain(c);
        }
    }
    if jumps {
        for (chain, target) in [
            ("PREROUTING", KUBE_PORTALS_CONTAINER),
            ("OUTPUT", KUBE_PORTALS_HOST),
        ] {
            out.insert(
                chain,
                &["-m comment --comment", PORTALS_COMMENT, "-j", target],
            );
        }
        for (chain, target) in [
            ("PREROUTING", KUBE_NODEPORT_CONTAINER),
            ("OUTPUT", KUBE_NODEPORT_HOST),
        ] {
            out.append(
                chain,
                &[
                    "-m addrtype --dst-type LOCAL -m comment --comment",
                    NODEPORTS_COMMENT,
                    "-j",
                    target,
                ],
            );
        }
    }
    for c in nat {
        emit(out, c);
    }
    out.commit();
}

/// The portal chains and the jumps as one rule model (what [`Form::Save`] prints, what a trace
/// walks).
pub fn portal_dump(proxy: &Proxy) -> Result<Dump> {
    let mut b = DumpBuilder::new(proxy.family == IpFamily::IPv6);
    write(Some(proxy), true, &mut b);
    b.finish()
}

/// Renders a cluster's userspace-mode rules for the node and family named in `settings`
/// (resolved against the cluster's Node object as the iptables renderer does).
pub fn render(cluster: &Cluster, settings: &ProxierSettings, form: Form) -> Result<String> {
    Ok(render_with_warnings(cluster, settings, form)?.text)
}

/// [`render`], with the warnings of the snapshot the text was rendered from.
pub fn render_with_warnings(
    cluster: &Cluster,
    settings: &ProxierSettings,
    form: Form,
) -> Result<Rendered> {
    let (resolved, snap) = settings.resolve_and_snapshot(cluster)?;
    let text = render_snapshot(&snap, &resolved, form)?;
    Ok(Rendered::new(text, snap))
}

/// Renders a snapshot with settings used as given.
pub fn render_snapshot(
    snap: &ProxySnapshot,
    settings: &ProxierSettings,
    form: Form,
) -> Result<String> {
    let proxy = Proxy::build(snap, settings)?;
    render_proxy(&proxy, form)
}

/// Renders a built [`Proxy`].
pub fn render_proxy(proxy: &Proxy, form: Form) -> Result<String> {
    Ok(match form {
        Form::Restore => {
            let mut out = String::new();
            write_portals(proxy, &mut out);
            out
        }
        Form::Jumps => {
            let mut out = String::new();
            write_jumps(&mut out);
            out
        }
        Form::Save => {
            let style = SaveStyle {
                ipv6: proxy.family == IpFamily::IPv6,
                ..SaveStyle::default()
            };
            save_text(&[&portal_dump(proxy)?], &style)
        }
    })
}

/// Whether a protocol gets portals in this mode (TCP and UDP).
pub fn proxied(protocol: &Protocol) -> bool {
    crate::proxier::userspace::proxied(protocol)
}
