//! A small driver for the nftables kernel test (tests/kernel/test_nftables.py), with the
//! arguments of `svccore render nftables`.
//!
//! ```text
//! render_nftables [--proxier-settings FILE] [--node NAME] [--family IPv4|IPv6]
//!                 [--form dump|load|list] [-f] CLUSTER_FILE...
//! render_nftables ... --audit LISTING_FILE     (`nft list` output: text report, exit 1 on drift)
//! ```
//!
//! Says on stderr where the service CIDRs came from (ServiceCIDR objects or the settings).

use std::process::ExitCode;

use svccore::model::IpFamily;
use svccore::proxier::config::ProxierSettings;
use svccore::proxier::service_cidrs::choose_service_cidrs;
use svccore::render::nftables::{table, Form};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("render_nftables: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut settings = ProxierSettings::default();
    let mut settings_file = None;
    let mut node = None;
    let mut family = None;
    let mut form = Form::Load;
    let mut files = Vec::new();
    let mut audit_file = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--proxier-settings" => settings_file = Some(args.next().ok_or("missing FILE")?),
            "--node" => node = Some(args.next().ok_or("missing NAME")?),
            "--family" => {
                family = Some(
                    IpFamily::parse(&args.next().ok_or("missing family")?)
                        .ok_or("family must be IPv4 or IPv6")?,
                )
            }
            "--form" => {
                form = Form::parse(&args.next().ok_or("missing form")?)
                    .ok_or("form must be dump, load or list")?
            }
            "-f" => files.push(args.next().ok_or("missing FILE")?),
            "--audit" => audit_file = Some(args.next().ok_or("missing LISTING_FILE")?),
            _ if a.starts_with('-') => return Err(format!("unknown option {a}").into()),
            _ => files.push(a),
        }
    }
    if let Some(f) = &settings_file {
        settings.apply_json_str(&std::fs::read_to_string(f)?, Some(f))?;
    }
    if let Some(n) = node {
        settings.node.name = n;
    }
    if let Some(f) = family {
        settings.ip_family = f;
    }
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| Ok((f.clone(), std::fs::read_to_string(f)?)))
        .collect::<Result<_, std::io::Error>>()?;
    let cluster =
        svccore::load::load_strs(texts.iter().map(|(f, t)| (Some(f.as_str()), t.as_str())))?;
    let choice = choose_service_cidrs(&cluster, &settings)?;
    eprintln!("{}", choice.source.describe(&choice.cidrs));
    if let Some(f) = audit_file {
        let listing = std::fs::read_to_string(&f)?;
        let report = svccore::audit::nftables::audit(&cluster, &settings, &listing, Some(&f))?;
        print!("{}", svccore::audit::render_text(&report));
        return Ok(if report.has_drift() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    print!("{}", table(&cluster, &settings)?.text(form));
    Ok(ExitCode::SUCCESS)
}
