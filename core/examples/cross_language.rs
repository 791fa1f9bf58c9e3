//! The core's side of the cross-language test (`tests/cross/`): runs a table of calls (trace,
//! endpoints, settings, render_nftables, nftables_service_cidrs) and prints each result as JSON, or
//! `{"error": {kind, message}}`.
//!
//! ```text
//! cross_language tests/cross/calls.json
//! ```
//!
//! The table names its inputs relative to the repository root (the table's grandparent
//! folder); every call runs on the concatenation of its cluster's files, as the Python and
//! JavaScript runners load them. The calls take the JavaScript option names (`from`,
//! `scheduler`); what each returns is the core value the bindings convert: the trace result
//! (`trace_cluster` / `trace_ipvs`), the node's endpoints ([`NodeEndpoints::build`]), the
//! resolved settings ([`ProxierSettings::describe`]) and the nftables text
//! (`render::nftables::render`, as `{"text": ...}`) with the choice of its ServiceCIDRs
//! (`choose_service_cidrs`, as `{source, cidrs, message}`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Value};
use svccore::model::IpFamily;
use svccore::packet::{parse_packet, proxier_family, PacketArgs, TRACE_MODES};
use svccore::proxier::config::{parse_family, ProxierSettings, ProxyMode, SettingsFlags};
use svccore::report::NodeEndpoints;
use svccore::snapshot::ProxySnapshot;
use svccore::{Cluster, Error};

fn main() -> ExitCode {
    let Some(table) = std::env::args().nth(1) else {
        eprintln!("usage: cross_language CALLS.json");
        return ExitCode::from(2);
    };
    match run(Path::new(&table)) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cross_language: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(table: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(table)?)?;
    let root: PathBuf = table
        .canonicalize()?
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .ok_or("the table must be in tests/<folder>/")?
        .to_owned();
    let mut results = Vec::new();
    for call in spec["calls"].as_array().ok_or("calls must be a list")? {
        let files = spec["clusters"][call["cluster"].as_str().unwrap_or_default()]
            .as_array()
            .ok_or("each call names a cluster of the table")?;
        let mut text = String::new();
        for f in files {
            text += &std::fs::read_to_string(root.join(f.as_str().unwrap_or_default()))?;
            text += "\n---\n";
        }
        let cluster = svccore::load::load_strs([(None, text.as_str())])?;
        let args = &call["args"];
        let result = match call["op"].as_str().unwrap_or_default() {
            "trace" => trace(&cluster, args),
            "endpoints" => endpoints(&cluster, args),
            "settings" => settings(&cluster, args),
            "render_nftables" => render_nftables(&cluster, args),
            "nftables_service_cidrs" => nftables_service_cidrs(&cluster, args),
            op => return Err(format!("unknown op {op:?}").into()),
        };
        results
            .push(result.unwrap_or_else(
                |e| json!({"error": {"kind": e.kind(), "message": e.to_string()}}),
            ));
    }
    Ok(serde_json::to_string_pretty(&results)?)
}

fn str_arg<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args[name].as_str()
}

/// The flags of a call: the node, the family, and (ipvs) the scheduler.
fn flags(args: &Value, family: Option<IpFamily>) -> SettingsFlags {
    SettingsFlags {
        node_name: str_arg(args, "node").map(str::to_owned),
        ip_family: family,
        ipvs_scheduler: str_arg(args, "scheduler").map(str::to_owned),
        ..SettingsFlags::default()
    }
}

fn resolved(
    cluster: &Cluster,
    mode: ProxyMode,
    flags: &SettingsFlags,
) -> svccore::Result<ProxierSettings> {
    flags.check_mode(mode, false)?;
    ProxierSettings::layered(cluster.proxy_config.as_ref(), None, flags)?.resolve(cluster)
}

fn trace(cluster: &Cluster, args: &Value) -> svccore::Result<Value> {
    let packet = parse_packet(&PacketArgs {
        src: str_arg(args, "src").unwrap_or_default(),
        dst: str_arg(args, "dst").unwrap_or_default(),
        port: None,
        proto: str_arg(args, "proto").unwrap_or("tcp"),
        from: str_arg(args, "from").unwrap_or("pod"),
    })?;
    let mode = ProxyMode::parse_among(str_arg(args, "mode").unwrap_or("iptables"), &TRACE_MODES)?;
    let s = resolved(cluster, mode, &flags(args, Some(proxier_family(&packet))))?;
    let t = svccore::trace::trace_mode(mode, cluster, &s, &packet)?;
    let mut v = serde_json::to_value(&t).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    v["mode"] = json!(mode.as_str());
    Ok(v)
}

fn family_arg(args: &Value) -> svccore::Result<IpFamily> {
    Ok(str_arg(args, "family")
        .map(parse_family)
        .transpose()?
        .unwrap_or(IpFamily::IPv4))
}

fn endpoints(cluster: &Cluster, args: &Value) -> svccore::Result<Value> {
    let snap = ProxySnapshot::build(cluster, family_arg(args)?)?;
    let report = NodeEndpoints::build(cluster, &snap, str_arg(args, "node").unwrap_or_default());
    serde_json::to_value(&report).map_err(|e| Error::InvalidArgument(e.to_string()))
}

fn settings(cluster: &Cluster, args: &Value) -> svccore::Result<Value> {
    let mode =
        ProxyMode::parse_among(str_arg(args, "mode").unwrap_or("iptables"), &ProxyMode::ALL)?;
    let s = resolved(cluster, mode, &flags(args, Some(family_arg(args)?)))?;
    Ok(s.describe())
}

fn strings_arg(args: &Value, name: &str) -> Option<Vec<String>> {
    args[name].as_array().map(|a| {
        a.iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    })
}

/// `render_nftables`: the node, the family (default: the settings'), the form and the flags
/// `clusterCIDR` and `serviceCIDRs`, layered over the cluster's configuration.
fn render_nftables(cluster: &Cluster, args: &Value) -> svccore::Result<Value> {
    use svccore::render::nftables::{parse_form, render};
    let form = parse_form(str_arg(args, "form").unwrap_or("dump"))?;
    let family = str_arg(args, "family").map(parse_family).transpose()?;
    let flags = SettingsFlags {
        cluster_cidr: str_arg(args, "clusterCIDR").map(str::to_owned),
        service_cidrs: strings_arg(args, "serviceCIDRs"),
        ..flags(args, family)
    };
    flags.check_mode(ProxyMode::Nftables, false)?;
    let s = ProxierSettings::layered(cluster.proxy_config.as_ref(), None, &flags)?;
    Ok(json!({"text": render(cluster, &s, form)?}))
}

/// `nftables_service_cidrs`: which ServiceCIDRs the nftables proxier uses (`serviceCIDRs`
/// stands in when the cluster has no ServiceCIDR object), and where they come from.
fn nftables_service_cidrs(cluster: &Cluster, args: &Value) -> svccore::Result<Value> {
    use svccore::proxier::service_cidrs::{choose_service_cidrs, ServiceCidrSource};
    let flags = SettingsFlags {
        service_cidrs: strings_arg(args, "serviceCIDRs"),
        ..SettingsFlags::default()
    };
    let s = ProxierSettings::layered(cluster.proxy_config.as_ref(), None, &flags)?;
    let choice = choose_service_cidrs(cluster, &s)?;
    let source = match choice.source {
        ServiceCidrSource::Objects(_) => "objects",
        ServiceCidrSource::Settings => "settings",
        ServiceCidrSource::None => "none",
    };
    let cidrs: Vec<String> = choice.cidrs.iter().map(ToString::to_string).collect();
    Ok(json!({"source": source, "cidrs": cidrs, "message": choice.source.describe(&choice.cidrs)}))
}
