//! A small driver for the kernel tests (tests/kernel) until the CLI exists.
//!
//! ```text
//! render_iptables [--proxier-settings FILE] [--node NAME] [--family IPv4|IPv6]
//!                 [--form restore|save|jumps] [--mode iptables|userspace] [-f] CLUSTER_FILE...
//! render_iptables ... --trace SRC DST PORT PROTO [pod|node|other-node|external]   (JSON result)
//! render_iptables ... --audit SAVE_FILE                                 (text report, exit 1 on drift)
//! ```

use std::process::ExitCode;

use svccore::model::IpFamily;
use svccore::render::iptables::{render, Form, ProxierSettings};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("render_iptables: {e}");
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
    let mut form = Form::Restore;
    let mut files = Vec::new();
    let mut trace_args: Option<Vec<String>> = None;
    let mut audit_file = None;
    let mut recent = Vec::new();
    let mut userspace = false;
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
                    .ok_or("form must be restore, save or jumps")?
            }
            "--trace" => {
                let v: Vec<String> = (0..5).filter_map(|_| args.next()).collect();
                if v.len() != 5 {
                    return Err("--trace SRC DST PORT PROTO FROM".into());
                }
                trace_args = Some(v);
            }
            "--mode" => {
                userspace = match args.next().as_deref() {
                    Some("iptables") => false,
                    Some("userspace") => true,
                    _ => return Err("mode must be iptables or userspace".into()),
                }
            }
            "-f" => files.push(args.next().ok_or("missing FILE")?),
            "--recent" => recent.push(args.next().ok_or("missing KUBE-SEP name")?),
            "--audit" => audit_file = Some(args.next().ok_or("missing SAVE_FILE")?),
            _ if a.starts_with("--") => return Err(format!("unknown option {a}").into()),
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
    if let Some(t) = trace_args {
        let restore = render(&cluster, &settings, Form::Restore)?;
        let mut packet = svccore::packet::parse_packet(&svccore::packet::PacketArgs {
            src: &t[0],
            dst: &t[1],
            port: Some(t[2].parse()?),
            proto: &t[3],
            from: &t[4],
        })?;
        packet.recent = recent.clone();
        let resolved = settings.resolve(&cluster)?;
        let result = svccore::trace::trace(&restore, &resolved, &packet)?;
        println!("{}", serde_json::to_string_pretty(&result)?);
        eprint!("{}", svccore::trace::render_text(&result));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(f) = audit_file {
        let dump = std::fs::read_to_string(&f)?;
        let report = svccore::audit::audit(&cluster, &settings, &dump)?;
        print!("{}", svccore::audit::render_text(&report));
        return Ok(if report.has_drift() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    if userspace {
        print!(
            "{}",
            svccore::render::userspace::render(&cluster, &settings, form)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render(&cluster, &settings, form)?);
    Ok(ExitCode::SUCCESS)
}
