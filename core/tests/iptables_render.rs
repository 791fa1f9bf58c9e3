//! Renderer properties beyond the goldens: linear cost, the incremental cache, large-cluster
//! mode, options the fixtures do not cover.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use svccore::categorize::NodeContext;
use svccore::model::{IpFamily, Placement, Protocol, ServiceType};
use svccore::proxier::config::NodeFacts;
use svccore::render::iptables::{
    render_snapshot, Form, IncrementalRenderer, LocalDetector, ProxierSettings,
};
use svccore::snapshot::{EndpointInfo, ProxySnapshot, ServicePortView};

fn view(i: usize, eps: usize) -> ServicePortView {
    let ip = |a: usize, b: usize| -> IpAddr {
        format!("10.{}.{}.{}", a % 250, b / 250 % 250, b % 250)
            .parse()
            .unwrap()
    };
    let mut endpoints: Vec<EndpointInfo> = (0..eps)
        .map(|k| {
            let ip = ip(100 + i / 60000, i * eps + k);
            EndpointInfo {
                place: Placement::new(
                    Some(if k % 3 == 0 { "node-a" } else { "node-b" }.into()),
                    None,
                ),
                ..EndpointInfo::at(ip, 8080)
            }
        })
        .collect();
    endpoints.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    let kind = i % 4;
    ServicePortView {
        namespace: format!("ns{}", i % 50).into(),
        name: format!("svc{i}").into(),
        port_name: "http".into(),
        service_port_name: format!("ns{}/svc{i}:http", i % 50).into(),
        protocol: if i.is_multiple_of(7) {
            Protocol::Udp
        } else {
            Protocol::Tcp
        },
        port: 80,
        target_port: None,
        cluster_ip: ip(96, i),
        node_port: if kind >= 1 {
            30000 + (i % 2700) as u16
        } else {
            0
        },
        external_ips: vec![],
        lb_ips: if kind == 3 { vec![ip(200, i)] } else { vec![] },
        source_ranges: vec![],
        health_check_node_port: 0,
        service_type: [
            ServiceType::ClusterIP,
            ServiceType::NodePort,
            ServiceType::NodePort,
            ServiceType::LoadBalancer,
        ][kind]
            .clone(),
        external_policy_local: kind == 2,
        internal_policy_local: false,
        affinity_seconds: if i.is_multiple_of(5) {
            Some(10800)
        } else {
            None
        },
        topology_keys: vec![],
        endpoints,
    }
}

fn snapshot(n: usize, eps: usize) -> ProxySnapshot {
    ProxySnapshot {
        family: IpFamily::IPv4,
        ports: (0..n).map(|i| view(i, eps)).collect(),
        warnings: vec![],
    }
}

fn settings() -> ProxierSettings {
    ProxierSettings {
        node: NodeFacts {
            ips: vec!["192.168.0.10".parse().unwrap()],
            ..NodeFacts::named("node-a")
        },
        local_detector: LocalDetector::Cidr("10.0.0.0/8".into()),
        ..Default::default()
    }
}

fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn rendering_time_and_size_grow_linearly() {
    let s = settings();
    let node = NodeContext::named("node-a");
    let small = snapshot(300, 5);
    let large = snapshot(3000, 5);
    let mut len = (0, 0);
    let t1 = best_of(3, || {
        len.0 = render_snapshot(&small, &s, &node, Form::Restore)
            .unwrap()
            .len()
    });
    let t10 = best_of(3, || {
        len.1 = render_snapshot(&large, &s, &node, Form::Restore)
            .unwrap()
            .len()
    });
    let size_ratio = len.1 as f64 / len.0 as f64;
    assert!((9.0..11.5).contains(&size_ratio), "size ratio {size_ratio}");
    let ratio = t10.as_secs_f64() / t1.as_secs_f64();
    // Linear is ~10; quadratic would be ~100. Generous for a shared debug-build machine.
    assert!(
        ratio < 30.0,
        "10x input took {ratio:.1}x the time ({t1:?} -> {t10:?})"
    );
}

#[test]
fn incremental_renderer_equals_full_render_through_changes() {
    let s = settings();
    let node = NodeContext::named("node-a");
    let mut snap = snapshot(120, 4);
    let mut inc = IncrementalRenderer::new(s.clone(), node.clone());
    assert_eq!(inc.sync(&snap).unwrap(), 120);
    assert_eq!(
        inc.restore_text(),
        render_snapshot(&snap, &s, &node, Form::Restore).unwrap()
    );
    // Unchanged: nothing re-rendered.
    assert_eq!(inc.sync(&snap).unwrap(), 0);
    // One endpoint removed, one service gone, one new.
    snap.ports[7].endpoints.pop();
    let gone = snap.ports.remove(11);
    snap.ports.push(view(500, 3));
    assert_eq!(inc.sync(&snap).unwrap(), 2);
    assert_eq!(
        inc.restore_text(),
        render_snapshot(&snap, &s, &node, Form::Restore).unwrap()
    );
    assert!(inc
        .port_text(&gone.service_port_name, &gone.protocol)
        .is_none());
    // Crossing the large-cluster threshold re-renders everything without comments.
    let mut big = view(900, 600);
    big.affinity_seconds = None;
    assert!(inc.upsert(big.clone()));
    snap.ports.push(big);
    let full = render_snapshot(&snap, &s, &node, Form::Restore).unwrap();
    assert_eq!(inc.restore_text(), full);
    assert!(!full.contains("-m comment --comment ns0/svc0:http -s"));
}

#[test]
fn large_cluster_mode_drops_only_endpoint_comments() {
    let mut s = settings();
    s.iptables.large_cluster_endpoints_threshold = 10;
    let snap = snapshot(4, 3); // 12 endpoints > 10
    let text = render_snapshot(&snap, &s, &NodeContext::named("node-a"), Form::Restore).unwrap();
    for l in text.lines() {
        if l.starts_with("-A KUBE-SEP-")
            || (l.starts_with("-A KUBE-SVC-") && l.contains("KUBE-SEP-"))
        {
            assert!(!l.contains("--comment"), "{l}");
        }
    }
    assert!(text.contains("cluster IP\""));
}

#[test]
fn masquerade_all_and_bridge_detector() {
    let mut s = settings();
    s.masquerade_all = true;
    let snap = snapshot(1, 1);
    let node = NodeContext::named("node-a");
    let text = render_snapshot(&snap, &s, &node, Form::Restore).unwrap();
    assert!(
        text.contains("-m udp -p udp -d 10.96.0.0 --dport 80 -j KUBE-MARK-MASQ"),
        "{text}"
    );
    let cfg = svccore::model::ProxyConfig {
        detect_local_mode: Some(svccore::model::DetectLocalMode::BridgeInterface),
        bridge_interface: Some("cbr0".into()),
        ..Default::default()
    };
    let mut s = ProxierSettings::from_proxy_config(&cfg).unwrap();
    s.node.name = "node-a".into();
    let text = render_snapshot(&snap, &s, &node, Form::Restore).unwrap();
    assert!(
        text.contains("--dport 80 ! -i cbr0 -j KUBE-MARK-MASQ"),
        "{text}"
    );
    // The production mark and --random-fully by default.
    assert!(text.contains("-j MARK --or-mark 0x00004000"));
    assert!(text.contains("-j MASQUERADE --random-fully"));
}

#[test]
fn save_form_is_sorted_and_reserialised() {
    let s = settings();
    let snap = snapshot(3, 2);
    let text = render_snapshot(&snap, &s, &NodeContext::named("node-a"), Form::Save).unwrap();
    assert!(text.starts_with("*mangle\n:PREROUTING ACCEPT [0:0]\n"));
    assert!(text.contains("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"));
    assert!(text.contains(
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
    ));
    assert!(!text.contains(" -d 10.96.0.1 "));
    // Family mismatch is refused.
    let v6 = ProxierSettings {
        ip_family: IpFamily::IPv6,
        ..s
    };
    assert!(render_snapshot(&snap, &v6, &NodeContext::named("node-a"), Form::Save).is_err());
}

/// `n` ClusterIP Services of `eps` endpoints each (one EndpointSlice each) and their Node, as
/// `kubectl get -o json` lists them.
fn cluster_json(n: usize, eps: usize) -> String {
    let mut items = vec![
        r#"{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.10"}]}}"#
            .to_owned(),
    ];
    for i in 0..n {
        items.push(format!(
            r#"{{"apiVersion": "v1", "kind": "Service", "metadata": {{"name": "s{i}", "namespace": "ns"}},
              "spec": {{"clusterIP": "10.96.{}.{}", "ports": [{{"name": "http", "port": 80, "targetPort": 8080}}]}}}}"#,
            i / 250,
            i % 250 + 1
        ));
        let endpoints: Vec<String> = (0..eps)
            .map(|k| {
                let a = i * eps + k;
                format!(
                    r#"{{"addresses": ["10.244.{}.{}"], "nodeName": "node-{}", "conditions": {{"ready": true}}}}"#,
                    a / 250,
                    a % 250 + 1,
                    if k % 2 == 0 { "a" } else { "b" }
                )
            })
            .collect();
        items.push(format!(
            r#"{{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
              "metadata": {{"name": "s{i}-x", "namespace": "ns", "labels": {{"kubernetes.io/service-name": "s{i}"}}}},
              "ports": [{{"name": "http", "port": 8080}}], "endpoints": [{}]}}"#,
            endpoints.join(", ")
        ));
    }
    format!(
        r#"{{"apiVersion": "v1", "kind": "List", "items": [{}]}}"#,
        items.join(",\n")
    )
}

/// What a command writes to a file in pieces as the rules are made is, joined, the text a
/// render returns, with the same warnings; pieces end at line ends and stay near their size.
#[test]
fn written_pieces_join_to_the_rendered_text() {
    use svccore::netfilter::CHUNK;
    use svccore::render::{iptables_text, iptables_write, IPTABLES_MODES};
    let c = svccore::load::load_strs([(None, cluster_json(2_000, 6).as_str())]).unwrap();
    let s = ProxierSettings::new(IpFamily::IPv4, "node-a");
    let mut largest = 0;
    for mode in IPTABLES_MODES {
        for form in [Form::Restore, Form::Save, Form::Jumps] {
            let whole = iptables_text(mode, &c, &s, form).unwrap();
            let mut pieces: Vec<String> = Vec::new();
            let written =
                iptables_write(mode, &c, &s, form, &mut |p| pieces.push(p.to_owned())).unwrap();
            assert!(pieces.concat() == whole.text, "{mode:?} {form:?}");
            assert_eq!(
                (written.family, &written.warnings),
                (whole.family, &whole.warnings)
            );
            for p in &pieces[..pieces.len() - 1] {
                assert!(p.ends_with('\n') && p.len() >= CHUNK - 4096 && p.len() < CHUNK + 4096);
            }
            largest = largest.max(whole.text.len());
        }
    }
    // The restore payload spans several pieces.
    assert!(largest > 3 * CHUNK, "{largest}");
}
