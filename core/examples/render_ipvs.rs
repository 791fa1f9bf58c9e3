//! Renders kube-proxy's ipvs mode for one node from manifests.
//!
//! ```text
//! cargo run -q -p svccore --example render_ipvs -- --node NAME [--family IPv4|IPv6]
//!     [--form list|stats|rate|save|ipset|iptables|addresses|lookup]
//!     [--scheduler S] [--node-address IP]... [--ifindex N] [--mac MAC]
//!     [--no-jumps] [--lookup PROTO/IP/PORT] FILE...
//! ```
//! `addresses` renders every family the manifests have (dual stack: both proxiers).

use std::process::ExitCode;

use ipnet::IpNet;

use svccore::model::{IpFamily, Protocol};
use svccore::proxier::config::ProxierSettings;
use svccore::render::ipvs::{
    render_addresses, render_iptables, render_list, IptablesOptions, IpvsNode, ListFormat,
    ListOptions,
};
use svccore::select::ipvs::Scheduler;
use svccore::snapshot::ProxySnapshot;
use svccore::Loader;

fn main() -> ExitCode {
    match run() {
        Ok(s) => {
            print!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render_ipvs: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let (mut node, mut form, mut family) = (String::new(), "list".to_owned(), IpFamily::IPv4);
    let (mut sched, mut addrs, mut files) = (None, Vec::new(), Vec::new());
    let (mut ifindex, mut mac, mut jumps, mut lookup) = (None, None, true, None);
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or(format!("{n} needs a value"));
        match a.as_str() {
            "--node" => node = val("--node")?,
            "--form" => form = val("--form")?,
            "--family" => {
                family = IpFamily::parse(&val("--family")?).ok_or("family: IPv4 or IPv6")?
            }
            "--scheduler" => sched = Some(val("--scheduler")?),
            "--node-address" => addrs.push(
                val("--node-address")?
                    .parse::<std::net::IpAddr>()
                    .map_err(|e| e.to_string())?,
            ),
            "--ifindex" => {
                ifindex = Some(
                    val("--ifindex")?
                        .parse::<u32>()
                        .map_err(|e| e.to_string())?,
                )
            }
            "--mac" => mac = Some(val("--mac")?),
            "--no-jumps" => jumps = false,
            "--lookup" => lookup = Some(val("--lookup")?),
            f if !f.starts_with("--") => files.push(f.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let mut l = Loader::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
        l.add_str(Some(f), &text).map_err(|e| e.to_string())?;
    }
    let cluster = l.finish().map_err(|e| e.to_string())?;
    let build = |fam: IpFamily| -> Result<IpvsNode, String> {
        let snap = ProxySnapshot::build(&cluster, fam).map_err(|e| e.to_string())?;
        let mut s =
            ProxierSettings::from_cluster(&cluster, &node, fam).map_err(|e| e.to_string())?;
        if let Some(x) = &sched {
            s.ipvs.scheduler = Scheduler::parse(x).map_err(|e| e.to_string())?;
        }
        if !addrs.is_empty() {
            s.node.ips = addrs.clone();
            s.node.ips.sort_by_key(|a| IpFamily::of(a) != fam);
            s.node.interface_addresses = addrs.iter().map(|a| IpNet::from(*a)).collect();
        }
        if let Some(i) = ifindex {
            s.ipvs.dummy_ifindex = i;
        }
        if let Some(m) = &mac {
            s.ipvs.dummy_mac = m.clone();
        }
        IpvsNode::build(&snap, &s, None).map_err(|e| e.to_string())
    };
    if form == "addresses" {
        let v4 = build(IpFamily::IPv4)?;
        let v6 = build(IpFamily::IPv6)?;
        let nodes: Vec<&IpvsNode> = [&v4, &v6]
            .into_iter()
            .filter(|n| n.settings.ip_family == family || !n.bound_addresses.is_empty())
            .collect();
        return Ok(render_addresses(&nodes));
    }
    let n = build(family)?;
    let list = |format| {
        render_list(
            &n,
            None,
            &ListOptions {
                format,
                ..ListOptions::default()
            },
        )
        .map_err(|e| e.to_string())
    };
    match form.as_str() {
        "list" => list(ListFormat::Default),
        "stats" => list(ListFormat::Stats),
        "rate" => list(ListFormat::Rate),
        "save" => Ok(n.save()),
        "ipset" => Ok(n.ipset_save()),
        "iptables" => Ok(render_iptables(
            &n,
            &IptablesOptions {
                with_jumps: jumps,
                comments: true,
            },
        )),
        "lookup" => {
            let q = lookup.ok_or("--lookup PROTO/IP/PORT")?;
            let parts: Vec<&str> = q.split('/').collect();
            let [p, ip, port] = parts[..] else {
                return Err("--lookup PROTO/IP/PORT".into());
            };
            let ip = ip
                .parse()
                .map_err(|e: std::net::AddrParseError| e.to_string())?;
            let port = port
                .parse()
                .map_err(|e: std::num::ParseIntError| e.to_string())?;
            match n.lookup_result(&Protocol::parse(&p.to_uppercase()), ip, port) {
                Some(r) => serde_json::to_string_pretty(&r)
                    .map(|s| s + "\n")
                    .map_err(|e| e.to_string()),
                None => Ok("null\n".into()),
            }
        }
        other => Err(format!("unknown form {other}")),
    }
}
