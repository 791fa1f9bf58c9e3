//! nftables renderer behaviour that no golden covers, checked against kube-proxy's nftables
//! proxier (`pkg/proxy/nftables/proxier.go`): IPv6, masqueradeAll, the no-op detector,
//! "match all" nodePortAddresses, internalTrafficPolicy Local, terminating endpoints,
//! UDP/SCTP and multi-port services, source ranges containing the node IP, LB ipMode Proxy,
//! stale chains, and the errors.

use serde_json::{json, Value};
use svccore::categorize::NodeContext;
use svccore::model::IpFamily;
use svccore::render::iptables::ProxierSettings;
use svccore::render::nftables::{render, table_for_snapshot, Family, Form};
use svccore::snapshot::ProxySnapshot;

/// The conformance fixtures' proxier settings (`NewFakeProxier(IPv4)`), with `over` applied.
fn settings(over: Value) -> ProxierSettings {
    let mut base = json!({
        "nodeName": "test-node",
        "nodeIPs": ["192.168.0.2"],
        "ipFamily": "IPv4",
        "clusterCIDR": "10.0.0.0/8",
        "masqueradeAll": false,
        "masqueradeMark": "0x4000",
        "nodePortAddresses": ["192.168.0.2/32", "2001:db8::1/128"],
        "interfaceAddresses": ["127.0.0.1/8", "::1/128", "192.168.0.2/24", "2001:db8::1/64"],
        "serviceCIDRs": ["172.30.0.0/16", "fd00:30::/108"],
        "staleChains": []
    });
    for (k, v) in over.as_object().unwrap() {
        base[k] = v.clone();
    }
    ProxierSettings::from_json_str(&base.to_string(), Some("proxy.json")).unwrap()
}

fn service(name: &str, spec: Value, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "ns"}, "spec": spec, "status": status})
}

fn slice(svc: &str, family: &str, ports: Value, endpoints: Value) -> Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": format!("{svc}-1"), "namespace": "ns",
                        "labels": {"kubernetes.io/service-name": svc}},
           "addressType": family, "ports": ports, "endpoints": endpoints})
}

fn ep(ip: &str, node: &str, conditions: Value) -> Value {
    json!({"addresses": [ip], "nodeName": node, "conditions": conditions})
}

fn render_items(items: Vec<Value>, s: &ProxierSettings, form: Form) -> String {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
    let cluster = svccore::load::load_strs([(Some("cluster.json"), list.as_str())]).unwrap();
    render(&cluster, s, form).unwrap()
}

fn dump(items: Vec<Value>, s: &ProxierSettings) -> String {
    render_items(items, s, Form::Dump)
}

/// The rule texts of `chain` (the part after the chain name), in order.
fn rules<'a>(text: &'a str, chain: &str) -> Vec<&'a str> {
    let head = format!("add rule {} kube-proxy {chain} ", family_of(text));
    text.lines()
        .filter_map(|l| l.strip_prefix(head.as_str()))
        .collect()
}

fn family_of(text: &str) -> &str {
    text.split(' ').nth(2).unwrap()
}

/// Every element line (without the `add element FAMILY kube-proxy ` head).
fn elements(text: &str) -> Vec<&str> {
    let fam = family_of(text);
    text.lines()
        .filter_map(|l| l.strip_prefix("add element "))
        .filter_map(move |l| l.strip_prefix(fam))
        .map(|l| l.strip_prefix(" kube-proxy ").unwrap())
        .collect()
}

fn chains(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("add chain "))
        .map(|l| l.split(' ').nth(4).unwrap())
        .collect()
}

fn one_port(port: u16, proto: &str, name: &str) -> Value {
    json!([{"name": name, "protocol": proto, "port": port, "targetPort": port}])
}

fn cluster_ip_service(name: &str, ip: &str, extra: Value) -> Value {
    let mut spec = json!({"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                          "ports": one_port(80, "TCP", "p80")});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    service(name, spec, json!({}))
}

#[test]
fn ipv6_table_is_ip6_with_ipv6_addr_types_and_ipv6_matches() {
    let s = settings(json!({"ipFamily": "IPv6", "nodeIPs": ["2001:db8::1"],
                            "clusterCIDR": "fd00:10::/64"}));
    let items = vec![
        service(
            "svc1",
            json!({"type": "NodePort", "clusterIP": "fd00:30::10", "clusterIPs": ["fd00:30::10"],
                   "ipFamilies": ["IPv6"],
                   "ports": [{"name": "p80", "protocol": "TCP", "port": 80, "targetPort": 80,
                              "nodePort": 3001}],
                   "sessionAffinity": "ClientIP",
                   "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 300}}}),
            json!({}),
        ),
        slice(
            "svc1",
            "IPv6",
            one_port(8080, "TCP", "p80"),
            json!([ep("fd00:10::5", "other", json!({}))]),
        ),
    ];
    let t = dump(items, &s);
    assert!(
        t.lines().all(|l| l.split(' ').nth(2) == Some("ip6")),
        "every object is in the ip6 table:\n{t}"
    );
    assert!(t.starts_with("add table ip6 kube-proxy { comment \"rules for kube-proxy\" ; }\n"));
    assert!(t.contains(
        "add set ip6 kube-proxy cluster-ips { type ipv6_addr ; comment \"Active ClusterIPs\" ; }"
    ));
    assert!(t.contains("add map ip6 kube-proxy service-ips { type ipv6_addr . inet_proto . inet_service : verdict ;"));
    // Only the IPv6 service CIDR; only the non-loopback IPv6 NodePort address.
    assert_eq!(
        rules(&t, "cluster-ips-check"),
        [
            "ip6 daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
            "ip6 daddr { fd00:30::/108 } drop comment \"Drop traffic to unallocated ClusterIPs\"",
        ]
    );
    let els = elements(&t);
    assert!(els.contains(&"nodeport-ips { 2001:db8::1 }"), "{els:?}");
    assert_eq!(
        els.iter().filter(|e| e.starts_with("nodeport-ips")).count(),
        1
    );
    let base = svccore::render::nftables::names::port_base("ns", "svc1", "tcp", "p80");
    let epb = svccore::render::nftables::names::endpoint_base(
        "ns",
        "svc1",
        "tcp",
        "p80",
        "[fd00:10::5]:8080",
    );
    assert!(epb.ends_with("-ns/svc1/tcp/p80__fd00.10..5/8080"), "{epb}");
    assert_eq!(
        rules(&t, &format!("service-{base}")),
        [
            "ip6 daddr fd00:30::10 ip6 saddr != fd00:10::/64 jump mark-for-masquerade".to_owned(),
            format!("ip6 saddr @affinity-{epb} goto endpoint-{epb}"),
            format!("numgen random mod 1 vmap {{ 0 : goto endpoint-{epb} }}"),
        ]
    );
    assert_eq!(
        rules(&t, &format!("endpoint-{epb}")),
        [
            "ip6 saddr fd00:10::5 jump mark-for-masquerade".to_owned(),
            format!("update @affinity-{epb} {{ ip6 saddr }}"),
            "meta l4proto tcp dnat to [fd00:10::5]:8080".to_owned(),
        ]
    );
    assert!(t.contains(&format!(
        "add set ip6 kube-proxy affinity-{epb} {{ type ipv6_addr ; flags dynamic,timeout ; timeout 300s ; }}"
    )));
    assert!(els.contains(
        &format!("service-ips {{ fd00:30::10 . tcp . 80 : goto service-{base} }}").as_str()
    ));
    assert_eq!(
        rules(&t, "services")[1],
        "ip6 daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"
    );

    // The model says the same.
    let list = json!({"apiVersion": "v1", "kind": "List", "items": []}).to_string();
    let cluster = svccore::load::load_strs([(None, list.as_str())]).unwrap();
    let snap = ProxySnapshot::build(&cluster, IpFamily::IPv6).unwrap();
    let table = table_for_snapshot(&snap, &s, &NodeContext::named("test-node")).unwrap();
    assert_eq!(table.family(), Family::Ip6);
    assert!(table.sets().all(|set| set.key_type == "ipv6_addr"));
}

#[test]
fn masquerade_all_masquerades_every_cluster_ip_packet_without_a_source_match() {
    let items = vec![
        cluster_ip_service("svc1", "172.30.0.41", json!({})),
        slice(
            "svc1",
            "IPv4",
            one_port(80, "TCP", "p80"),
            json!([ep("10.180.0.1", "other", json!({}))]),
        ),
    ];
    let base = svccore::render::nftables::names::port_base("ns", "svc1", "tcp", "p80");
    let t = dump(items.clone(), &settings(json!({"masqueradeAll": true})));
    assert_eq!(
        rules(&t, &format!("service-{base}"))[0],
        "ip daddr 172.30.0.41 jump mark-for-masquerade"
    );
    // masqueradeAll wins over the detector; without either there is no masquerade rule.
    let t = dump(items.clone(), &settings(json!({"clusterCIDR": null})));
    let r = rules(&t, &format!("service-{base}"));
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("numgen random mod 1 vmap"));
    let t = dump(items, &settings(json!({})));
    assert_eq!(
        rules(&t, &format!("service-{base}"))[0],
        "ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade"
    );
}

#[test]
fn etp_local_without_detector_keeps_only_the_local_traffic_short_circuits() {
    let items = vec![
        service(
            "svc2",
            json!({"type": "NodePort", "clusterIP": "172.30.0.42", "clusterIPs": ["172.30.0.42"],
                   "ports": [{"name": "p80", "protocol": "TCP", "port": 80, "targetPort": 80,
                              "nodePort": 3001}],
                   "externalTrafficPolicy": "Local"}),
            json!({}),
        ),
        slice(
            "svc2",
            "IPv4",
            one_port(80, "TCP", "p80"),
            json!([
                ep("10.180.0.2", "test-node", json!({})),
                ep("10.180.0.3", "other", json!({}))
            ]),
        ),
    ];
    let base = svccore::render::nftables::names::port_base("ns", "svc2", "tcp", "p80");
    let t = dump(items, &settings(json!({"clusterCIDR": null})));
    assert_eq!(
        rules(&t, &format!("external-{base}")),
        [
            "fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\""
                .to_owned(),
            format!(
                "fib saddr type local goto service-{base} comment \"short-circuit local traffic\""
            ),
            format!("goto local-{base}"),
        ]
    );
    // The local chain picks among the local endpoint only; the cluster chain among both.
    let local = rules(&t, &format!("local-{base}"));
    assert_eq!(local.len(), 1);
    assert!(local[0].starts_with("numgen random mod 1 vmap { 0 : goto endpoint-"));
    assert!(local[0].contains("10.180.0.2/80"));
    assert!(rules(&t, &format!("service-{base}"))[0].starts_with("numgen random mod 2 vmap"));
}

#[test]
fn match_all_nodeport_addresses_use_fib_and_leave_out_the_nodeport_set() {
    for npa in [json!(null), json!(["0.0.0.0/0"]), json!(["2001:db8::/64"])] {
        let t = dump(vec![], &settings(json!({"nodePortAddresses": npa})));
        assert!(!t.contains("nodeport-ips"), "{npa}: {t}");
        assert_eq!(
            rules(&t, "services"),
            [
                "ip daddr . meta l4proto . th dport vmap @service-ips",
                "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
            ]
        );
        assert_eq!(
            rules(&t, "nodeport-endpoints-check"),
            ["ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports"]
        );
    }
    let t = dump(
        vec![],
        &settings(json!({"ipFamily": "IPv6", "nodeIPs": ["2001:db8::1"],
                         "clusterCIDR": "fd00::/64", "nodePortAddresses": null})),
    );
    assert_eq!(
        rules(&t, "nodeport-endpoints-check"),
        ["ip6 daddr != ::1 meta l4proto . th dport vmap @no-endpoint-nodeports"]
    );
    // A loopback address inside the CIDRs is never a NodePort address.
    let t = dump(
        vec![],
        &settings(json!({"nodePortAddresses": ["127.0.0.0/8", "192.168.0.0/16"]})),
    );
    assert_eq!(
        elements(&t),
        ["nodeport-ips { 192.168.0.2 }"],
        "loopback dropped"
    );
}

#[test]
fn itp_local_without_a_local_endpoint_drops_cluster_ip_traffic() {
    let svc = cluster_ip_service(
        "svc3",
        "172.30.0.43",
        json!({"internalTrafficPolicy": "Local"}),
    );
    let base = svccore::render::nftables::names::port_base("ns", "svc3", "tcp", "p80");
    let remote = vec![
        svc.clone(),
        slice(
            "svc3",
            "IPv4",
            one_port(80, "TCP", "p80"),
            json!([ep("10.180.0.3", "other", json!({}))]),
        ),
    ];
    let t = dump(remote, &settings(json!({})));
    let els = elements(&t);
    assert!(els.contains(
        &"no-endpoint-services { 172.30.0.43 . tcp . 80 comment \"ns/svc3:p80\" : drop }"
    ));
    assert!(!els.iter().any(|e| e.starts_with("service-ips")), "{els:?}");
    assert!(els.contains(&"cluster-ips { 172.30.0.43 }"));
    // Not externally accessible: neither a cluster-policy nor a local chain, no endpoint chain.
    assert!(
        !chains(&t).iter().any(|c| c.contains("ns/svc3")),
        "{:?}",
        chains(&t)
    );

    let local = vec![
        svc,
        slice(
            "svc3",
            "IPv4",
            one_port(80, "TCP", "p80"),
            json!([
                ep("10.180.0.3", "other", json!({})),
                ep("10.180.0.4", "test-node", json!({}))
            ]),
        ),
    ];
    let t = dump(local, &settings(json!({})));
    assert!(elements(&t).contains(
        &format!("service-ips {{ 172.30.0.43 . tcp . 80 : goto local-{base} }}").as_str()
    ));
    let r = rules(&t, &format!("local-{base}"));
    assert_eq!(
        r[0],
        "ip daddr 172.30.0.43 ip saddr != 10.0.0.0/8 jump mark-for-masquerade"
    );
    assert!(r[1].starts_with("numgen random mod 1 vmap") && r[1].contains("10.180.0.4/80"));
    assert!(!chains(&t)
        .iter()
        .any(|c| c.starts_with("service-") && c.contains("ns/svc3")));
}

#[test]
fn terminating_endpoints_are_used_only_when_no_endpoint_is_ready() {
    let svc = cluster_ip_service("svc4", "172.30.0.44", json!({}));
    let base = svccore::render::nftables::names::port_base("ns", "svc4", "tcp", "p80");
    let term = json!({"ready": false, "serving": true, "terminating": true});
    let gone = json!({"ready": false, "serving": false, "terminating": true});
    let t = dump(
        vec![
            svc.clone(),
            slice(
                "svc4",
                "IPv4",
                one_port(80, "TCP", "p80"),
                json!([
                    ep("10.180.0.5", "other", term.clone()),
                    ep("10.180.0.6", "other", json!({}))
                ]),
            ),
        ],
        &settings(json!({})),
    );
    let r = rules(&t, &format!("service-{base}"));
    assert!(
        r[1].starts_with("numgen random mod 1 vmap") && r[1].contains("10.180.0.6/80"),
        "{r:?}"
    );
    let t = dump(
        vec![
            svc.clone(),
            slice(
                "svc4",
                "IPv4",
                one_port(80, "TCP", "p80"),
                json!([ep("10.180.0.5", "other", term.clone())]),
            ),
        ],
        &settings(json!({})),
    );
    assert!(rules(&t, &format!("service-{base}"))[1].contains("10.180.0.5/80"));
    let t = dump(
        vec![
            svc,
            slice(
                "svc4",
                "IPv4",
                one_port(80, "TCP", "p80"),
                json!([ep("10.180.0.5", "other", gone)]),
            ),
        ],
        &settings(json!({})),
    );
    assert!(elements(&t).contains(
        &"no-endpoint-services { 172.30.0.44 . tcp . 80 comment \"ns/svc4:p80\" : goto reject-chain }"
    ));
}

#[test]
fn multi_port_udp_and_sctp_services_get_a_chain_set_per_port_and_protocol() {
    let items = vec![
        service(
            "dns",
            json!({"type": "ClusterIP", "clusterIP": "172.30.0.10", "clusterIPs": ["172.30.0.10"],
                   "ports": [{"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
                             {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
                             {"name": "s", "protocol": "SCTP", "port": 9, "targetPort": 9}]}),
            json!({}),
        ),
        slice(
            "dns",
            "IPv4",
            json!([{"name": "dns", "protocol": "UDP", "port": 5353},
                   {"name": "dns-tcp", "protocol": "TCP", "port": 5353},
                   {"name": "s", "protocol": "SCTP", "port": 9}]),
            json!([ep("10.180.0.7", "other", json!({}))]),
        ),
    ];
    let t = dump(items, &settings(json!({})));
    let names = svccore::render::nftables::names::endpoint_base;
    for (proto, port, ep_port) in [
        ("udp", "dns", "5353"),
        ("tcp", "dns-tcp", "5353"),
        ("sctp", "s", "9"),
    ] {
        let base = svccore::render::nftables::names::port_base("ns", "dns", proto, port);
        let epb = names("ns", "dns", proto, port, &format!("10.180.0.7:{ep_port}"));
        assert!(chains(&t).contains(&format!("service-{base}").as_str()));
        assert_eq!(
            rules(&t, &format!("endpoint-{epb}"))[1],
            format!("meta l4proto {proto} dnat to 10.180.0.7:{ep_port}")
        );
        let svc_port = if proto == "sctp" { 9 } else { 53 };
        assert!(elements(&t).contains(
            &format!("service-ips {{ 172.30.0.10 . {proto} . {svc_port} : goto service-{base} }}")
                .as_str()
        ));
    }
    // One cluster-ips element for the three ports (kube-proxy adds a key once).
    assert_eq!(
        elements(&t)
            .iter()
            .filter(|e| **e == "cluster-ips { 172.30.0.10 }")
            .count(),
        1
    );
}

fn lb(name: &str, ranges: Value, ingress: Value) -> Value {
    service(
        name,
        json!({"type": "LoadBalancer", "clusterIP": "172.30.0.45", "clusterIPs": ["172.30.0.45"],
               "ports": [{"name": "p80", "protocol": "TCP", "port": 80, "targetPort": 80,
                          "nodePort": 3002}],
               "loadBalancerSourceRanges": ranges}),
        json!({"loadBalancer": {"ingress": ingress}}),
    )
}

#[test]
fn source_ranges_containing_the_node_ip_let_the_lb_ips_through() {
    let base = svccore::render::nftables::names::port_base("ns", "svc5", "tcp", "p80");
    let eps = slice(
        "svc5",
        "IPv4",
        one_port(80, "TCP", "p80"),
        json!([ep("10.180.0.3", "other", json!({}))]),
    );
    let t = dump(
        vec![
            lb(
                "svc5",
                json!(["203.0.113.0/25", "192.168.0.0/16"]),
                json!([{"ip": "5.6.7.8"}, {"ip": "5.6.7.9"}]),
            ),
            eps.clone(),
        ],
        &settings(json!({})),
    );
    assert_eq!(
        rules(&t, &format!("firewall-{base}")),
        ["ip saddr != { 203.0.113.0/25 , 192.168.0.0/16 , 5.6.7.8 , 5.6.7.9 } drop"]
    );
    let t = dump(
        vec![
            lb(
                "svc5",
                json!(["203.0.113.0/25"]),
                json!([{"ip": "5.6.7.8"}]),
            ),
            eps,
        ],
        &settings(json!({})),
    );
    assert_eq!(
        rules(&t, &format!("firewall-{base}")),
        ["ip saddr != { 203.0.113.0/25 } drop"]
    );
}

#[test]
fn source_ranges_filter_lb_traffic_even_without_endpoints() {
    let base = svccore::render::nftables::names::port_base("ns", "svc5", "tcp", "p80");
    let t = dump(
        vec![lb(
            "svc5",
            json!(["203.0.113.0/25"]),
            json!([{"ip": "5.6.7.8"}]),
        )],
        &settings(json!({})),
    );
    let els = elements(&t);
    assert!(els.contains(
        &format!("firewall-ips {{ 5.6.7.8 . tcp . 80 : goto firewall-{base} }}").as_str()
    ));
    assert!(els.contains(
        &"no-endpoint-services { 5.6.7.8 . tcp . 80 comment \"ns/svc5:p80\" : goto reject-chain }"
    ));
    assert!(els.contains(
        &"no-endpoint-nodeports { tcp . 3002 comment \"ns/svc5:p80\" : goto reject-chain }"
    ));
    assert!(!els.iter().any(|e| e.starts_with("service-ips")));
    assert!(!chains(&t).contains(&format!("external-{base}").as_str()));
}

#[test]
fn lb_ip_mode_proxy_gets_no_service_ips_element() {
    let base = svccore::render::nftables::names::port_base("ns", "svc5", "tcp", "p80");
    let t = dump(
        vec![
            lb(
                "svc5",
                json!([]),
                json!([{"ip": "5.6.7.8", "ipMode": "Proxy"}, {"ip": "5.6.7.9", "ipMode": "VIP"}]),
            ),
            slice(
                "svc5",
                "IPv4",
                one_port(80, "TCP", "p80"),
                json!([ep("10.180.0.3", "other", json!({}))]),
            ),
        ],
        &settings(json!({})),
    );
    let els = elements(&t);
    assert!(!els.iter().any(|e| e.contains("5.6.7.8")), "{els:?}");
    assert!(els.contains(
        &format!("service-ips {{ 5.6.7.9 . tcp . 80 : goto external-{base} }}").as_str()
    ));
}

#[test]
fn stale_chains_are_bare_and_never_duplicate_an_active_chain() {
    let base = svccore::render::nftables::names::port_base("ns", "svc1", "tcp", "p80");
    let active = format!("service-{base}");
    let items = vec![
        cluster_ip_service("svc1", "172.30.0.41", json!({})),
        slice(
            "svc1",
            "IPv4",
            one_port(80, "TCP", "p80"),
            json!([ep("10.180.0.1", "other", json!({}))]),
        ),
    ];
    let t = dump(
        items,
        &settings(
            json!({"staleChains": [active, "service-AAAAAAAA-ns/old/tcp/p", "service-AAAAAAAA-ns/old/tcp/p"]}),
        ),
    );
    let c = chains(&t);
    assert_eq!(c.iter().filter(|n| **n == active).count(), 1);
    assert_eq!(
        c.iter()
            .filter(|n| **n == "service-AAAAAAAA-ns/old/tcp/p")
            .count(),
        1
    );
    assert!(rules(&t, "service-AAAAAAAA-ns/old/tcp/p").is_empty());
}

#[test]
fn settings_that_would_corrupt_rule_text_are_refused_with_their_field() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": []}).to_string();
    let cluster = svccore::load::load_strs([(None, list.as_str())]).unwrap();
    let mut s = settings(json!({}));
    s.stale_chains = vec!["ok".into(), "bad name; drop".into()];
    let e = render(&cluster, &s, Form::Load).unwrap_err();
    assert_eq!(e.kind(), "config");
    assert_eq!(e.issues()[0].path, "staleChains[1]");
    let mut s = settings(json!({}));
    s.masquerade_mark = "0x4000 ; drop".into();
    let e = render(&cluster, &s, Form::Load).unwrap_err();
    assert_eq!(e.issues()[0].path, "masqueradeMark");
    let mut s = settings(json!({}));
    s.local_detector =
        svccore::render::iptables::LocalDetector::BridgeInterface("br0 accept".into());
    let e = render(&cluster, &s, Form::Load).unwrap_err();
    assert_eq!(e.issues()[0].path, "detectLocal.bridgeInterface");
    // An interface detector is written with kube-proxy's `iif`.
    let mut s = settings(json!({}));
    s.local_detector = svccore::render::iptables::LocalDetector::BridgeInterface("cbr0".into());
    let items = vec![
        cluster_ip_service("svc1", "172.30.0.41", json!({})),
        slice(
            "svc1",
            "IPv4",
            one_port(80, "TCP", "p80"),
            json!([ep("10.180.0.1", "other", json!({}))]),
        ),
    ];
    let base = svccore::render::nftables::names::port_base("ns", "svc1", "tcp", "p80");
    let t = dump(items, &s);
    assert_eq!(
        rules(&t, &format!("service-{base}"))[0],
        "ip daddr 172.30.0.41 iif != cbr0 jump mark-for-masquerade"
    );
}

#[test]
fn a_snapshot_of_the_other_family_is_refused() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": []}).to_string();
    let cluster = svccore::load::load_strs([(None, list.as_str())]).unwrap();
    let snap = ProxySnapshot::build(&cluster, IpFamily::IPv6).unwrap();
    let e = table_for_snapshot(
        &snap,
        &settings(json!({})),
        &NodeContext::named("test-node"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), "invalid-argument");
}
