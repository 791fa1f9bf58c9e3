//! `ipvsadm -S -n` parses back (with a parser written here from ipvsadm's option grammar) to the
//! virtual and real servers the renderer built.

use crate::ipvs_common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ipvs_common::*;
use svccore::model::IpFamily;
use svccore::render::ipvs::IpvsNode;
use svccore::select::ipvs::Scheduler;

#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Svc {
    sched: String,
    persistent: Option<u32>,
    mask: Option<String>,
    flags: String,
    ops: bool,
    dests: BTreeMap<SocketAddr, (String, i32)>,
}

/// (protocol switch, address) -> service.
fn parse_save(text: &str) -> BTreeMap<(String, SocketAddr), Svc> {
    let mut out: BTreeMap<(String, SocketAddr), Svc> = BTreeMap::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split(' ').collect();
        assert!(t.len() >= 3, "short line {line:?}");
        let cmd = t[0];
        let key = match t[1] {
            "-t" | "-u" | "--sctp-service" => (t[1].to_owned(), t[2].parse().expect(line)),
            other => panic!("unknown service switch {other} in {line:?}"),
        };
        let mut i = 3;
        match cmd {
            "-A" => {
                assert!(!out.contains_key(&key), "duplicate service {line:?}");
                let mut s = Svc::default();
                while i < t.len() {
                    match t[i] {
                        "-s" => s.sched = t[i + 1].to_owned(),
                        "-p" => s.persistent = Some(t[i + 1].parse().unwrap()),
                        "-M" => s.mask = Some(t[i + 1].to_owned()),
                        "-b" => s.flags = t[i + 1].to_owned(),
                        "-o" => {
                            s.ops = true;
                            i += 1;
                            continue;
                        }
                        o => panic!("unknown option {o} in {line:?}"),
                    }
                    i += 2;
                }
                out.insert(key, s);
            }
            "-a" => {
                let s = out.get_mut(&key).expect("real server before its service");
                let (mut addr, mut fwd, mut w) = (None, String::new(), 1);
                while i < t.len() {
                    match t[i] {
                        "-r" => {
                            addr = Some(t[i + 1].parse::<SocketAddr>().unwrap());
                            i += 2;
                        }
                        "-m" | "-g" | "-i" => {
                            fwd = t[i].to_owned();
                            i += 1;
                        }
                        "-w" => {
                            w = t[i + 1].parse().unwrap();
                            i += 2;
                        }
                        o => panic!("unknown option {o} in {line:?}"),
                    }
                }
                s.dests.insert(addr.unwrap(), (fwd, w));
            }
            o => panic!("unknown command {o}"),
        }
    }
    out
}

fn model(n: &IpvsNode) -> BTreeMap<(String, SocketAddr), Svc> {
    n.virtual_servers
        .iter()
        .map(|v| {
            let sw = match v.id.protocol.lower() {
                "tcp" => "-t",
                "udp" => "-u",
                _ => "--sctp-service",
            };
            let s = Svc {
                sched: v.scheduler.clone(),
                persistent: v.persistence(),
                mask: None,
                flags: v.sched_flags_text(),
                ops: false,
                dests: v
                    .real_servers
                    .iter()
                    .map(|r| (r.addr, ("-m".to_owned(), r.weight)))
                    .collect(),
            };
            ((sw.to_owned(), SocketAddr::new(v.id.addr, v.id.port)), s)
        })
        .collect()
}

#[test]
fn save_parses_back_to_the_same_servers_for_every_fixture() {
    let cases: Vec<(Vec<&str>, &str, IpFamily, Option<&str>)> = vec![
        (
            vec!["nodes.yaml", "nginx.yaml"],
            "master",
            IpFamily::IPv4,
            None,
        ),
        (
            vec!["nodes.yaml", "kube-system.yaml"],
            "node1",
            IpFamily::IPv4,
            None,
        ),
        (vec!["rich.yaml"], "node-a", IpFamily::IPv4, None),
        (vec!["rich.yaml"], "node-a", IpFamily::IPv6, None),
        (vec!["rich.yaml"], "node-a", IpFamily::IPv4, Some("mh")),
        (vec!["rich.yaml"], "node-b", IpFamily::IPv4, Some("sh")),
    ];
    for (files, nd, fam, sched) in cases {
        let c = cluster(&files, None);
        let n = node_with(
            &c,
            nd,
            fam,
            |s| {
                if let Some(x) = sched {
                    s.ipvs.scheduler = Scheduler::parse(x).unwrap();
                }
                s.ipvs.assume_draining = true;
            },
            None,
        );
        let parsed = parse_save(&n.save());
        assert_eq!(parsed, model(&n), "{files:?} {nd} {fam:?} {sched:?}");
        assert!(!parsed.is_empty());
    }
}

#[test]
fn save_lists_mh_port_and_persistence_in_ipvsadm_option_order() {
    let c = cluster(
        &["nodes.yaml", "nginx.yaml"],
        Some(("sessionAffinity: None", "sessionAffinity: ClientIP")),
    );
    let n = node_with(
        &c,
        "master",
        IpFamily::IPv4,
        |s| s.ipvs.scheduler = Scheduler::Mh,
        None,
    );
    let save = n.save();
    assert!(
        save.contains("-A -t 10.97.97.97:80 -s mh -p 10800 -b mh-port\n"),
        "{save}"
    );
    assert!(
        save.contains("-A -t 192.168.100.53:30002 -s mh -b mh-port\n"),
        "{save}"
    );
}

#[test]
fn every_shared_example_renders_and_its_save_parses_back_on_every_node() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // examples/ not present in this checkout
    };
    let mut seen = 0;
    for e in entries.flatten() {
        let path = e.path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut l = svccore::Loader::new();
        l.add_str(path.to_str(), &text).unwrap();
        let c = l.finish().unwrap();
        let mut nodes: Vec<String> = c.nodes.iter().map(|n| n.meta.name.to_string()).collect();
        nodes.push("not-a-node".into());
        for nd in &nodes {
            for fam in [IpFamily::IPv4, IpFamily::IPv6] {
                let n = node_with(&c, nd, fam, |_| {}, None);
                assert_eq!(parse_save(&n.save()), model(&n), "{path:?} {nd} {fam:?}");
                let l = n.list(None);
                assert!(l.starts_with("IP Virtual Server version 1.2.1 (size=4096)\n"));
                let _ = (n.ipset_save(), n.iptables(), n.addresses());
                seen += 1;
            }
        }
    }
    assert!(seen > 0);
}
