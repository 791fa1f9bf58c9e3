//! kube-proxy's nftables packet-flow tests (`runPacketFlowTests` in
//! `pkg/proxy/nftables/proxier_test.go`), converted to data in `tests/conformance/nftables-flows`:
//! every flow of every case goes through the nftables tracer, and what the tracer reports must
//! be what kube-proxy's test states (the endpoints, `REJECT`, `DROP` or nothing, and whether
//! the packet is masqueraded). Where each source address comes from (pod, the node, outside)
//! is the `origins` table of each `flows.json` (see the folder's README).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde_json::Value;
use svccore::model::Protocol;
use svccore::packet::parse_origin;
use svccore::render::iptables::ProxierSettings;
use svccore::render::nftables::table;
use svccore::trace::{NftTracer, Packet, TraceResult, Verdict};

fn flows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/nftables-flows")
}

/// Every case folder (one with a `flows.json`), discovered.
fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(flows_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("flows.json").is_file())
        .collect();
    v.sort();
    v
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{dir:?}/{name}: {e}"))
}

/// What kube-proxy's tracer prints for a trace: the endpoints DNATed to, `DROP` or `REJECT`,
/// joined by `, ` (nothing for a packet accepted untouched), in the order the tracer found
/// them; and whether any path was marked for masquerade.
fn kube_proxy_output(t: &TraceResult) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    for o in &t.outcomes {
        match &o.verdict {
            Verdict::Dnat { endpoint, .. } => out.push(endpoint.clone()),
            Verdict::Drop { .. } => out.push("DROP".into()),
            Verdict::Reject { .. } => out.push("REJECT".into()),
            Verdict::Accept => {}
        }
    }
    (out, t.outcomes.iter().any(|o| o.masquerade))
}

fn origin_of(origins: &[Value], src: IpAddr) -> String {
    for o in origins {
        let net: IpNet = o["cidr"].as_str().unwrap().parse().unwrap();
        if net.contains(&src) {
            return o["from"].as_str().unwrap().to_owned();
        }
    }
    panic!("no origin for {src}");
}

/// Runs every flow of one case; returns the failures and the number of flows.
fn run_case(dir: &Path) -> (Vec<String>, usize) {
    let cluster_text = read(dir, "cluster.json");
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&read(dir, "proxy.json"), Some("proxy.json"))
        .unwrap()
        .resolve(&cluster)
        .unwrap();
    let tracer = NftTracer::new(&table(&cluster, &settings).unwrap(), &settings).unwrap();
    let flows: Value = serde_json::from_str(&read(dir, "flows.json")).unwrap();
    let origins = flows["origins"].as_array().unwrap();
    let list = flows["flows"].as_array().unwrap();
    let case = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut failures = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let name = f["name"].as_str().unwrap();
        let src: IpAddr = f["sourceIP"].as_str().unwrap().parse().unwrap();
        let dst: IpAddr = f["destIP"].as_str().unwrap().parse().unwrap();
        let port = f["destPort"].as_u64().unwrap() as u16;
        let from = origin_of(origins, src);
        let mut p = Packet::new(src, dst, port, parse_origin(&from).unwrap());
        p.protocol = Protocol::parse(f["protocol"].as_str().unwrap_or("TCP"));
        let t = tracer.trace(&p).unwrap();
        if std::env::var_os("SHOW_FLOWS").is_some() {
            eprintln!(
                "--- {case} #{} {name} ({from})\n{}",
                i + 1,
                svccore::trace::render_text(&t)
            );
        }
        let (mut got, masq) = kube_proxy_output(&t);
        let want_text = f["output"].as_str().unwrap();
        let mut want: Vec<String> = want_text
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // kube-proxy lists endpoints in vmap order; the tracer lists paths most likely
        // first. The same endpoints, each once, is the claim.
        got.sort();
        want.sort();
        let want_masq = f["masq"].as_bool().unwrap();
        if got != want || masq != want_masq {
            failures.push(format!(
                "{case} #{} {name:?} ({src} from {from} -> {dst}:{port}): want {want_text:?} masq {want_masq}, got {got:?} masq {masq}\n{}",
                i + 1,
                svccore::trace::render_text(&t)
            ));
        }
    }
    (failures, list.len())
}

#[test]
fn every_converted_packet_flow_traces_as_kube_proxy_states() {
    let cases = cases();
    assert!(cases.len() >= 6, "converted cases missing: {cases:?}");
    let mut failures = Vec::new();
    let mut total = 0;
    for dir in &cases {
        let (f, n) = run_case(dir);
        assert!(n > 0, "{dir:?} has no flows");
        total += n;
        failures.extend(f);
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} flows failed",
        failures.len()
    );
    // README.md counts them: every converted check runs.
    assert_eq!(total, 193, "the README's flow count");
}

#[test]
fn kube_proxy_output_reads_a_trace_as_upstream_prints_it() {
    // One endpoint, not masqueraded: what upstream prints as "10.180.0.1:80", masq false.
    let dir = flows_dir().join("TestClusterIPGeneral");
    let cluster_text = read(&dir, "cluster.json");
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&read(&dir, "proxy.json"), None)
        .unwrap()
        .resolve(&cluster)
        .unwrap();
    let tracer = NftTracer::new(&table(&cluster, &settings).unwrap(), &settings).unwrap();
    let p = Packet::new(
        "10.180.0.2".parse().unwrap(),
        "172.30.0.41".parse().unwrap(),
        80,
        svccore::trace::Origin::LocalPod,
    );
    let (got, masq) = kube_proxy_output(&tracer.trace(&p).unwrap());
    assert_eq!((got, masq), (vec!["10.180.0.1:80".to_owned()], false));
}

/// Every rule shape the renderer writes is one the tracer reads: each conformance case of
/// `tests/conformance/nftables` and each flow case, with every local-traffic detector,
/// masquerade-all and "match all" NodePort addresses, builds a tracer, and a packet from a pod
/// to each service port's cluster IP ends somewhere.
#[test]
fn every_table_the_renderer_writes_can_be_traced() {
    use svccore::proxier::config::LocalDetector;
    use svccore::snapshot::ProxySnapshot;
    let conformance = flows_dir().join("../nftables");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&conformance)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.txt").is_file())
        .collect();
    dirs.extend(cases());
    assert!(dirs.len() > 13);
    let mut traced = 0;
    for dir in dirs {
        let cluster_text = read(&dir, "cluster.json");
        let cluster =
            svccore::load::load_strs([(Some("cluster.json"), cluster_text.as_str())]).unwrap();
        let base = ProxierSettings::from_json_str(&read(&dir, "proxy.json"), None)
            .unwrap()
            .resolve(&cluster)
            .unwrap();
        let detectors = [
            base.local_detector.clone(),
            LocalDetector::None,
            LocalDetector::BridgeInterface("cbr0".into()),
            LocalDetector::InterfaceNamePrefix("veth".into()),
        ];
        for (k, detector) in detectors.into_iter().enumerate() {
            let mut s = base.clone();
            s.local_detector = detector;
            s.masquerade_all = k == 1;
            if k == 2 {
                s.node_port_addresses = None;
            }
            let table = table(&cluster, &s).unwrap();
            let tracer =
                NftTracer::new(&table, &s).unwrap_or_else(|e| panic!("{dir:?} variant {k}: {e}"));
            let snap = ProxySnapshot::build(&cluster, s.ip_family).unwrap();
            for v in &snap.ports {
                let src: IpAddr = if v.cluster_ip.is_ipv4() {
                    "10.0.0.2".parse().unwrap()
                } else {
                    "fd00:10::2".parse().unwrap()
                };
                let mut p =
                    Packet::new(src, v.cluster_ip, v.port, svccore::trace::Origin::LocalPod);
                p.protocol = v.protocol.clone();
                let t = tracer.trace(&p).unwrap();
                assert!(!t.outcomes.is_empty(), "{dir:?} {}", v.service_port_name);
                traced += 1;
            }
        }
    }
    assert!(traced > 100, "{traced}");
}
