//! The `iptables-restore --noflush` payload, rule by rule as kube-proxy writes it.
//!
//! spec: kube-proxy-iptables.md §2.3–§2.4 (frame and fixed rules), §3.2–§3.3 (per service port,
//! in exact write order), §3.5 (large-cluster mode), §3.6 (IPv6), §3.7 (quoting).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::IpFamily;
use crate::proxier::plan::{PortPlan, Route};
use crate::snapshot::ServicePortView;

use super::names::*;
use crate::proxier::config::{ProxierSettings, NFACCT_INVALID, NFACCT_LOCALHOST_NPS};

/// Proxier-wide values every service port's rules depend on.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub masquerade_all: bool,
    /// `-s 10.0.0.0/8` etc., without the `!`.
    pub if_local: Option<String>,
    pub nfacct_localhost: bool,
    pub large: bool,
    /// `probability(n)` for small `n`, formatted once.
    probs: Vec<String>,
}

impl Ctx {
    pub fn new(s: &ProxierSettings, total_endpoints: usize) -> Ctx {
        let v6 = s.ip_family == IpFamily::IPv6;
        Ctx {
            masquerade_all: s.masquerade_all,
            if_local: s.local_detector.if_local().map(|[a, b]| format!("{a} {b}")),
            nfacct_localhost: !v6
                && s.iptables.localhost_nodeports
                && s.has_nfacct(NFACCT_LOCALHOST_NPS),
            large: total_endpoints > s.iptables.large_cluster_endpoints_threshold,
            probs: (0..64).map(probability).collect(),
        }
    }

    fn prob(&self, n: usize) -> std::borrow::Cow<'_, str> {
        match self.probs.get(n) {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(probability(n)),
        }
    }
}

/// kube-proxy's `%0.10f` of `1/n` (spec §3.3 (9)).
pub(crate) fn probability(n: usize) -> String {
    format!("{:.10}", 1.0 / n as f64)
}

/// One service port's plan with its iptables chain names: everything its rules need.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub port: PortPlan,
    pub svc: String,
    pub svl: String,
    pub ext: String,
    pub fw: String,
    /// SEP chain name per endpoint index (only for reachable endpoints).
    pub sep: Vec<Option<String>>,
}

impl Plan {
    pub fn new(v: &ServicePortView, port: PortPlan) -> Plan {
        let proto = v.protocol.lower();
        let suffix = suffix_string(hash16(&[&v.service_port_name, proto]));
        let mut sep = vec![None; v.endpoints.len()];
        for &i in &port.endpoints.all_reachable {
            let h = hash16(&[&v.service_port_name, proto, &v.endpoints[i].endpoint]);
            let mut name = String::with_capacity(25);
            name.push_str(SEP_PREFIX);
            name.extend(h.iter().map(|&b| b as char));
            sep[i] = Some(name);
        }
        Plan {
            svc: format!("{SVC_PREFIX}{suffix}"),
            svl: format!("{SVL_PREFIX}{suffix}"),
            ext: format!("{EXT_PREFIX}{suffix}"),
            fw: format!("{FW_PREFIX}{suffix}"),
            sep,
            port,
        }
    }

    fn int_chain<'a>(&'a self, v: &ServicePortView) -> &'a str {
        if v.internal_policy_local {
            &self.svl
        } else {
            &self.svc
        }
    }

    fn ext_policy_chain<'a>(&'a self, v: &ServicePortView) -> &'a str {
        if v.external_policy_local {
            &self.svl
        } else {
            &self.svc
        }
    }

    fn sep(&self, i: usize) -> &str {
        self.sep[i]
            .as_deref()
            .expect("reachable endpoint has a chain")
    }
}

/// `(comment, target)` of the filter rules for traffic that a route refuses, if it does.
fn refusal_rule(route: Route, s: &str) -> Option<(String, &'static str)> {
    let target = match route {
        Route::NoEndpoints => "REJECT",
        Route::NoLocalEndpoints => "DROP",
        Route::Cluster | Route::Local => return None,
    };
    route.refusal(s).map(|c| (format!("\"{c}\""), target))
}

/// The IP of an endpoint string (`ip:port` or `[ip]:port`), as printed there.
fn endpoint_host(e: &str) -> &str {
    match e.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => e.rsplit_once(':').map_or(e, |(h, _)| h),
    }
}

/// `-A CHAIN -m comment --comment C -m P -p P -d DST --dport PORT -j TARGET`: the shape of
/// every per-address rule kube-proxy writes (spec: kube-proxy-iptables.md §3.3 (1)-(3)).
fn dport_rule(
    out: &mut String,
    chain: &str,
    comment: &str,
    proto: &str,
    dst: &str,
    port: &str,
    target: &str,
) {
    line(
        out,
        &[
            "-A",
            chain,
            "-m",
            "comment",
            "--comment",
            comment,
            "-m",
            proto,
            "-p",
            proto,
            "-d",
            dst,
            "--dport",
            port,
            "-j",
            target,
        ],
    );
}

/// Appends one rule line: the words joined by single spaces, then `\n`.
fn line(out: &mut String, words: &[&str]) {
    let mut first = true;
    for w in words {
        if w.is_empty() {
            continue;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(w);
    }
    out.push('\n');
}

fn chain_line(out: &mut String, chain: &str) {
    out.push(':');
    out.push_str(chain);
    out.push_str(" - [0:0]\n");
}

/// Filter rules of one service port (spec §3.3 steps (1)–(5), filter parts, in write order).
pub(crate) fn write_filter(v: &ServicePortView, p: &Plan, out: &mut String) {
    let s = v.service_port_name.as_str();
    let proto = v.protocol.lower();
    let port = v.port.to_string();
    let ext_filter = refusal_rule(p.port.external, s);
    // (1)
    if let Some((c, t)) = refusal_rule(p.port.internal, s) {
        let cip = v.cluster_ip.to_string();
        dport_rule(out, KUBE_SERVICES, &c, proto, &cip, &port, t);
    }
    // (2)
    if let Some((c, t)) = &ext_filter {
        for eip in &v.external_ips {
            let eip = eip.to_string();
            dport_rule(out, KUBE_EXTERNAL_SERVICES, c, proto, &eip, &port, t);
        }
    }
    // (3)
    if p.port.firewall {
        let c = format!("\"{s} traffic not accepted by {}\"", p.fw);
        for lb in &v.lb_ips {
            let lb = lb.to_string();
            dport_rule(out, KUBE_PROXY_FIREWALL, &c, proto, &lb, &port, "DROP");
        }
    }
    if let Some((c, t)) = &ext_filter {
        for lb in &v.lb_ips {
            let lb = lb.to_string();
            dport_rule(out, KUBE_EXTERNAL_SERVICES, c, proto, &lb, &port, t);
        }
    }
    // (4)
    if v.node_port != 0 {
        if let Some((c, t)) = &ext_filter {
            let np = v.node_port.to_string();
            line(
                out,
                &[
                    "-A",
                    KUBE_EXTERNAL_SERVICES,
                    "-m",
                    "comment",
                    "--comment",
                    c,
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "--dport",
                    &np,
                    "-j",
                    t,
                ],
            );
        }
    }
    // (5)
    if v.health_check_node_port != 0 {
        let c = format!("\"{s} health check node port\"");
        let hc = v.health_check_node_port.to_string();
        line(
            out,
            &[
                "-A",
                KUBE_NODEPORTS,
                "-m",
                "comment",
                "--comment",
                &c,
                "-m",
                "tcp",
                "-p",
                "tcp",
                "--dport",
                &hc,
                "-j",
                "ACCEPT",
            ],
        );
    }
}

/// Nat chain lines of one service port: EXT, FW, SVC, SVL, SEPs (each when used).
pub(crate) fn write_nat_chains(v: &ServicePortView, p: &Plan, out: &mut String) {
    let _ = v;
    if p.port.external_chain {
        chain_line(out, &p.ext);
    }
    if p.port.firewall {
        chain_line(out, &p.fw);
    }
    if p.port.cluster_chain {
        chain_line(out, &p.svc);
    }
    if p.port.local_chain {
        chain_line(out, &p.svl);
    }
    for &i in &p.port.endpoints.all_reachable {
        chain_line(out, p.sep(i));
    }
}

/// Nat rules of one service port (spec §3.3, nat parts of (1)–(4), then (6)–(11)).
pub(crate) fn write_nat_rules(ctx: &Ctx, v: &ServicePortView, p: &Plan, out: &mut String) {
    let s = v.service_port_name.as_str();
    let proto = v.protocol.lower();
    let port = v.port.to_string();
    let cip = v.cluster_ip.to_string();
    let lb_target = if p.port.firewall { &p.fw } else { &p.ext };
    let c_cluster = format!("\"{s} cluster IP\"");
    // (1)
    if p.port.internal.is_served() {
        dport_rule(
            out,
            KUBE_SERVICES,
            &c_cluster,
            proto,
            &cip,
            &port,
            p.int_chain(v),
        );
    }
    if p.port.has_endpoints() {
        // (2)
        if !v.external_ips.is_empty() {
            let c = format!("\"{s} external IP\"");
            for eip in &v.external_ips {
                let eip = eip.to_string();
                dport_rule(out, KUBE_SERVICES, &c, proto, &eip, &port, &p.ext);
            }
        }
        // (3)
        let c_lb = format!("\"{s} loadbalancer IP\"");
        for lb in &v.lb_ips {
            let lb = lb.to_string();
            dport_rule(out, KUBE_SERVICES, &c_lb, proto, &lb, &port, lb_target);
        }
        // (4)
        if v.node_port != 0 {
            let np = v.node_port.to_string();
            if ctx.nfacct_localhost {
                line(
                    out,
                    &[
                        "-A",
                        KUBE_NODEPORTS,
                        "-m",
                        "comment",
                        "--comment",
                        s,
                        "-m",
                        proto,
                        "-p",
                        proto,
                        "-d",
                        "127.0.0.0/8",
                        "--dport",
                        &np,
                        "-m",
                        "nfacct",
                        "--nfacct-name",
                        NFACCT_LOCALHOST_NPS,
                        "-j",
                        &p.ext,
                    ],
                );
            }
            line(
                out,
                &[
                    "-A",
                    KUBE_NODEPORTS,
                    "-m",
                    "comment",
                    "--comment",
                    s,
                    "-m",
                    proto,
                    "-p",
                    proto,
                    "--dport",
                    &np,
                    "-j",
                    &p.ext,
                ],
            );
        }
    }
    // (6)
    if p.port.internal.is_served() && (ctx.masquerade_all || ctx.if_local.is_some()) {
        let not_local = match (&ctx.if_local, ctx.masquerade_all) {
            (Some(l), false) => format!("! {l}"),
            _ => String::new(),
        };
        line(
            out,
            &[
                "-A",
                p.int_chain(v),
                "-m",
                "comment",
                "--comment",
                &c_cluster,
                "-m",
                proto,
                "-p",
                proto,
                "-d",
                &cip,
                "--dport",
                &port,
                &not_local,
                "-j",
                KUBE_MARK_MASQ,
            ],
        );
    }
    // (7)
    if p.port.external_chain {
        if !v.external_policy_local {
            let c = format!("\"masquerade traffic for {s} external destinations\"");
            line(
                out,
                &[
                    "-A",
                    &p.ext,
                    "-m",
                    "comment",
                    "--comment",
                    &c,
                    "-j",
                    KUBE_MARK_MASQ,
                ],
            );
        } else {
            if let Some(l) = &ctx.if_local {
                let c = format!("\"pod traffic for {s} external destinations\"");
                line(
                    out,
                    &[
                        "-A",
                        &p.ext,
                        "-m",
                        "comment",
                        "--comment",
                        &c,
                        l,
                        "-j",
                        &p.svc,
                    ],
                );
            }
            let c = format!("\"masquerade LOCAL traffic for {s} external destinations\"");
            line(
                out,
                &[
                    "-A",
                    &p.ext,
                    "-m",
                    "comment",
                    "--comment",
                    &c,
                    "-m",
                    "addrtype",
                    "--src-type",
                    "LOCAL",
                    "-j",
                    KUBE_MARK_MASQ,
                ],
            );
            let c = format!("\"route LOCAL traffic for {s} external destinations\"");
            line(
                out,
                &[
                    "-A",
                    &p.ext,
                    "-m",
                    "comment",
                    "--comment",
                    &c,
                    "-m",
                    "addrtype",
                    "--src-type",
                    "LOCAL",
                    "-j",
                    &p.svc,
                ],
            );
        }
        if p.port.external.is_served() {
            line(out, &["-A", &p.ext, "-j", p.ext_policy_chain(v)]);
        }
    }
    // (8)
    if p.port.firewall {
        let c = format!("\"{s} loadbalancer IP\"");
        for src in &v.source_ranges {
            let src = src.to_string();
            line(
                out,
                &[
                    "-A",
                    &p.fw,
                    "-m",
                    "comment",
                    "--comment",
                    &c,
                    "-s",
                    &src,
                    "-j",
                    &p.ext,
                ],
            );
        }
        if p.port.source_ranges_contain_node_ip {
            for lb in &v.lb_ips {
                let lb = lb.to_string();
                line(
                    out,
                    &[
                        "-A",
                        &p.fw,
                        "-m",
                        "comment",
                        "--comment",
                        &c,
                        "-s",
                        &lb,
                        "-j",
                        &p.ext,
                    ],
                );
            }
        }
        let c = format!("\"other traffic to {s} will be dropped by KUBE-PROXY-FIREWALL\"");
        line(out, &["-A", &p.fw, "-m", "comment", "--comment", &c]);
    }
    // (9), (10)
    if p.port.cluster_chain {
        write_endpoint_rules(ctx, v, p, &p.svc, &p.port.endpoints.cluster, out);
    }
    if p.port.local_chain {
        write_endpoint_rules(ctx, v, p, &p.svl, &p.port.endpoints.local, out);
    }
    // (11)
    for &i in &p.port.endpoints.all_reachable {
        let e = &v.endpoints[i];
        let sep = p.sep(i);
        out.push_str("-A ");
        out.push_str(sep);
        if !ctx.large {
            out.push_str(" -m comment --comment ");
            out.push_str(s);
        }
        out.push_str(" -s ");
        out.push_str(endpoint_host(&e.endpoint));
        out.push_str(" -j ");
        out.push_str(KUBE_MARK_MASQ);
        out.push('\n');
        out.push_str("-A ");
        out.push_str(sep);
        if !ctx.large {
            out.push_str(" -m comment --comment ");
            out.push_str(s);
        }
        if v.affinity_seconds.is_some() {
            out.push_str(" -m recent --name ");
            out.push_str(sep);
            out.push_str(" --set");
        }
        out.push_str(" -m ");
        out.push_str(proto);
        out.push_str(" -p ");
        out.push_str(proto);
        out.push_str(" -j DNAT --to-destination ");
        out.push_str(&e.endpoint);
        out.push('\n');
    }
}

fn write_endpoint_rules(
    ctx: &Ctx,
    v: &ServicePortView,
    p: &Plan,
    chain: &str,
    list: &[usize],
    out: &mut String,
) {
    let s = v.service_port_name.as_str();
    let comment = |out: &mut String, i: usize| {
        if !ctx.large {
            out.push_str(" -m comment --comment \"");
            out.push_str(s);
            out.push_str(" -> ");
            out.push_str(&v.endpoints[i].endpoint);
            out.push('"');
        }
    };
    if let Some(secs) = v.affinity_seconds {
        for &i in list {
            let sep = p.sep(i);
            out.push_str("-A ");
            out.push_str(chain);
            comment(out, i);
            out.push_str(" -m recent --name ");
            out.push_str(sep);
            let _ = write!(out, " --rcheck --seconds {secs} --reap -j ");
            out.push_str(sep);
            out.push('\n');
        }
    }
    let n = list.len();
    for (k, &i) in list.iter().enumerate() {
        out.push_str("-A ");
        out.push_str(chain);
        comment(out, i);
        if k + 1 < n {
            out.push_str(" -m statistic --mode random --probability ");
            out.push_str(&ctx.prob(n - k));
        }
        out.push_str(" -j ");
        out.push_str(p.sep(i));
        out.push('\n');
    }
}

/// Filter chain lines (spec §2.4).
pub(crate) fn filter_head(s: &ProxierSettings, out: &mut String) {
    out.push_str("*filter\n");
    for c in [
        KUBE_SERVICES,
        KUBE_EXTERNAL_SERVICES,
        KUBE_FORWARD,
        KUBE_NODEPORTS,
        KUBE_PROXY_FIREWALL,
    ] {
        chain_line(out, c);
    }
    let fw = s.ip_family == IpFamily::IPv4 && s.iptables.localhost_nodeports;
    if fw {
        chain_line(out, KUBE_FIREWALL);
        out.push_str("-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n");
    }
}

/// The KUBE-FORWARD rules and the end of the filter table.
pub(crate) fn filter_tail(s: &ProxierSettings, out: &mut String) {
    let m = &s.masquerade_mark;
    if !s.iptables.conntrack_tcp_liberal {
        out.push_str("-A KUBE-FORWARD -m conntrack --ctstate INVALID");
        if s.ip_family == IpFamily::IPv4 && s.has_nfacct(NFACCT_INVALID) {
            out.push_str(" -m nfacct --nfacct-name ");
            out.push_str(NFACCT_INVALID);
        }
        out.push_str(" -j DROP\n");
    }
    let _ = writeln!(
        out,
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {m}/{m} -j ACCEPT"
    );
    out.push_str("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    out.push_str("COMMIT\n");
}

/// The fixed nat chain lines.
pub(crate) fn nat_chains_head(out: &mut String) {
    out.push_str("*nat\n");
    for c in [
        KUBE_SERVICES,
        KUBE_NODEPORTS,
        KUBE_POSTROUTING,
        KUBE_MARK_MASQ,
    ] {
        chain_line(out, c);
    }
}

/// The fixed nat rules that open the rule section.
pub(crate) fn nat_rules_head(s: &ProxierSettings, out: &mut String) {
    let m = &s.masquerade_mark;
    let _ = writeln!(
        out,
        "-A KUBE-POSTROUTING -m mark ! --mark {m}/{m} -j RETURN\n-A KUBE-POSTROUTING -j MARK --xor-mark {m}"
    );
    out.push_str("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE");
    if s.iptables.random_fully {
        out.push_str(" --random-fully");
    }
    out.push('\n');
    let _ = writeln!(out, "-A KUBE-MARK-MASQ -j MARK --or-mark {m}");
}

/// The nodeports tail rule(s) and the end of the nat table (spec §2.4).
pub(crate) fn nat_tail(s: &ProxierSettings, out: &mut String) {
    const C: &str = "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";
    let v6 = s.ip_family == IpFamily::IPv6;
    match node_port_ips(s) {
        None => {
            out.push_str(C);
            out.push_str(" -m addrtype --dst-type LOCAL");
            if v6 {
                out.push_str(" ! -d ::1/128");
            } else if !s.iptables.localhost_nodeports {
                out.push_str(" ! -d 127.0.0.0/8");
            }
            out.push_str(" -j KUBE-NODEPORTS\n");
        }
        Some(ips) => {
            for ip in ips {
                if ip.is_loopback() && (v6 || !s.iptables.localhost_nodeports) {
                    continue;
                }
                let _ = writeln!(out, "{C} -d {ip} -j KUBE-NODEPORTS");
            }
        }
    }
    out.push_str("COMMIT\n");
}

/// kube-proxy's `NodePortAddresses`: `None` when all local addresses match, else the node's
/// interface IPs inside one of the CIDRs of this family (order: CIDR order, then interface
/// order; upstream's order is a Go map's and unspecified).
pub(crate) fn node_port_ips(s: &ProxierSettings) -> Option<Vec<IpAddr>> {
    let cidrs = s.node_port_cidrs()?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for c in cidrs {
        for a in &s.node.interface_addresses {
            let ip = a.addr();
            if c.contains(&ip) && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    Some(ips)
}
