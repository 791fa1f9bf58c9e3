//! The ipvs renderer's rules, form by form: IPv6 widths, UDP/SCTP, scheduler flags, persistence,
//! the local-policy fallback, weight-0 draining, stats/rate columns, ipsets, iptables payload,
//! kube-ipvs0 addresses and the trace lookup.

use crate::ipvs_common;

use ipvs_common::*;
use svccore::model::{IpFamily, Protocol};
use svccore::proxier::config::{LocalDetector, ProxierSettings};
use svccore::render::ipvs::*;
use svccore::select::ipvs::Scheduler;

fn rich(node: &str, fam: IpFamily) -> IpvsNode {
    node_with(&cluster(&["rich.yaml"], None), node, fam, |_| {}, None)
}

const V6: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec: {ipFamilies: [IPv6], clusterIP: "fd00:10:96::1", ports: [{name: https, port: 443, targetPort: 8443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: default, labels: {kubernetes.io/service-name: api}}
addressType: IPv6
ports: [{name: https, port: 8443, protocol: TCP}]
endpoints:
- {addresses: ["fd00:10:244:1:ffff:ffff:ffff:5"]}
- {addresses: ["fd00:10:244:1::5"]}
"#;

#[test]
fn ipv6_addresses_are_bracketed_and_long_ones_push_columns_right() {
    let c = cluster_str(V6);
    let n = node_with(&c, "n", IpFamily::IPv6, |_| {}, None);
    // Lines from ipvs.md §2.4, `$` markers removed. Their order here is the comparator's:
    // word 2 of `::5` is 0 and of the long one 0xffffffff, and 0 - 0xffffffff wraps to +1, so
    // the long address sorts first.
    let want = header(4096)
        + "TCP  [fd00:10:96::1]:443 rr\n"
        + "  -> [fd00:10:244:1:ffff:ffff:ffff:5]:8443 Masq    1      0          0         \n"
        + "  -> [fd00:10:244:1::5]:8443      Masq    1      0          0         \n";
    assert_eq!(n.list(None), want);
    assert_eq!(
        n.save(),
        "-A -t [fd00:10:96::1]:443 -s rr\n\
         -a -t [fd00:10:96::1]:443 -r [fd00:10:244:1:ffff:ffff:ffff:5]:8443 -m -w 1\n\
         -a -t [fd00:10:96::1]:443 -r [fd00:10:244:1::5]:8443 -m -w 1\n"
    );
}

#[test]
fn ipv6_services_sort_with_the_per_word_wrap() {
    let n = rich("node-a", IpFamily::IPv6);
    let services: Vec<String> = n
        .list(None)
        .lines()
        .skip(3)
        .filter(|l| !l.starts_with("  ->"))
        .map(str::to_owned)
        .collect();
    // fd00:: minus 2001:: wraps negative, so fd00 addresses list first.
    assert_eq!(
        services,
        vec![
            "TCP  [fd00:96::10:1]:80 rr",
            "TCP  [fd00:192::10]:30080 rr",
            "TCP  [2001:db8::10]:80 rr"
        ]
    );
    assert_eq!(
        n.ipset(KubeSet::LoadBalancerSourceCidr).name,
        "KUBE-6-LOAD-BALANCER-SOURCE-CID"
    );
    assert_eq!(
        n.ipset(KubeSet::LoadBalancerSourceCidr).sorted_entries(),
        vec!["2001:db8::10,tcp:80,2001:db8:1::/64"]
    );
    let ipt = n.iptables();
    assert!(ipt.contains("-A KUBE-SERVICES -s ::1/128 -j RETURN\n"));
    assert!(ipt.contains(
        "-A KUBE-IPVS-OUT-FILTER -s 2001:db8::10 -m ipvs --vaddr 2001:db8::10 --vproto tcp --vport 80 -j DROP\n"
    ));
}

#[test]
fn udp_and_sctp_node_ports_get_their_own_sets_and_servers() {
    let n = rich("node-a", IpFamily::IPv4);
    let l = n.list(None);
    assert!(l.contains(&(svc("UDP", "192.168.0.10:31353", "rr") + &rs("10.244.2.9:5353", 1, 0, 0))));
    assert!(
        l.contains(&(svc("SCTP", "192.168.0.10:31777", "rr") + &rs("10.244.1.77:7777", 1, 0, 0)))
    );
    assert!(l.contains(&svc("SCTP", "10.96.10.4:7777", "rr")));
    assert_eq!(
        n.ipset(KubeSet::NodePortUdp).sorted_entries(),
        vec!["31353"]
    );
    assert_eq!(
        n.ipset(KubeSet::NodePortSctp).sorted_entries(),
        vec!["192.168.0.10,sctp:31777"]
    );
    let s = n.save();
    assert!(s.contains("-A --sctp-service 192.168.0.10:31777 -s rr\n"));
    assert!(s.contains("-a -u 10.96.10.5:5353 -r 10.244.2.9:5353 -m -w 1\n"));
    let ipt = n.iptables();
    assert!(ipt.contains("-A KUBE-NODE-PORT -p udp -m comment --comment \"Kubernetes nodeport UDP port for masquerade purpose\" -m set --match-set KUBE-NODE-PORT-UDP dst -j KUBE-MARK-MASQ\n"));
    assert!(ipt.contains("-A KUBE-NODE-PORT -p sctp -m comment --comment \"Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'\" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ\n"));
}

#[test]
fn mh_gets_mh_port_and_other_schedulers_print_their_own_flag_names() {
    let c = cluster(&["nodes.yaml", "nginx.yaml"], None);
    let n = node_with(
        &c,
        "master",
        IpFamily::IPv4,
        |s| s.ipvs.scheduler = Scheduler::Mh,
        None,
    );
    assert!(n.list(None).contains("TCP  10.97.97.97:80 mh (mh-port)\n"));
    let sh = node_with(
        &c,
        "master",
        IpFamily::IPv4,
        |s| s.ipvs.scheduler = Scheduler::Sh,
        None,
    );
    assert!(sh.list(None).contains("TCP  10.97.97.97:80 sh\n"));
    let mut vs = sh.virtual_servers[0].clone();
    vs.flags = FLAG_SCHED1 | FLAG_SCHED2;
    assert_eq!(vs.sched_flags_text(), "sh-fallback,sh-port");
    vs.scheduler = "mh".into();
    vs.flags = FLAG_SCHED2 | FLAG_SCHED1;
    assert_eq!(vs.sched_flags_text(), "mh-fallback,mh-port");
    vs.scheduler = "wlc".into();
    vs.flags = FLAG_SCHED1 | FLAG_SCHED2 | FLAG_SCHED3;
    assert_eq!(vs.sched_flags_text(), "flag-1,flag-2,flag-3");
}

#[test]
fn persistence_netmask_and_ops_print_like_ipvsadm() {
    let c = cluster(&["nodes.yaml", "nginx.yaml"], None);
    let mut n = node(&c, "master");
    let vs = n
        .virtual_servers
        .iter_mut()
        .find(|v| v.id.port == 80 && v.id.addr.to_string() == "10.97.97.97")
        .unwrap();
    vs.scheduler = "sh".into();
    vs.flags = FLAG_PERSISTENT | FLAG_SCHED1 | FLAG_SCHED2 | FLAG_ONEPACKET;
    vs.timeout = 300;
    vs.netmask = u32::from(std::net::Ipv4Addr::new(255, 255, 255, 0));
    let l = n.list(None);
    assert!(
        l.contains(
            "TCP  10.97.97.97:80 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0 ops\n"
        ),
        "{l}"
    );
    assert!(n.save().contains(
        "-A -t 10.97.97.97:80 -s sh -p 300 -M 255.255.255.0 -o -b sh-fallback,sh-port\n"
    ));
}

#[test]
fn local_policy_without_local_endpoints_falls_back_to_cluster_endpoints() {
    let n = rich("node-a", IpFamily::IPv4);
    // dns-ext has ETP Local and its only endpoint runs on node-b.
    let ext = n
        .lookup_result(&Protocol::Udp, "198.51.100.53".parse().unwrap(), 53)
        .unwrap();
    assert!(ext.local_fallback);
    assert_eq!(ext.endpoints_from, EndpointSource::LocalFallbackToCluster);
    assert_eq!(ext.real_servers[0].address, "10.244.2.53:53");
    let cip = n
        .lookup_result(&Protocol::Udp, "10.96.10.3".parse().unwrap(), 53)
        .unwrap();
    assert!(!cip.local_fallback);
    // web has ETP Local with a local endpoint on node-a: only that one.
    let lb = n
        .lookup_result(&Protocol::Tcp, "203.0.113.10".parse().unwrap(), 80)
        .unwrap();
    assert_eq!(lb.endpoints_from, EndpointSource::Local);
    assert_eq!(lb.real_servers.len(), 1);
    // ITP Local, not externally accessible: the cluster list is empty, so no real server.
    let itp = n
        .lookup(&Protocol::Tcp, "10.96.10.6".parse().unwrap(), 8080)
        .unwrap();
    assert!(itp.local_fallback() && itp.real_servers.is_empty());
    // The payload says so in comments.
    let ipt = n.iptables();
    assert!(ipt.starts_with("# ipvs mode: traffic policy Local with no local endpoint falls back"));
    assert!(ipt.contains("#   198.51.100.53:53/UDP (infra/dns-ext:dns)\n"));
    // A node with no endpoint of web falls back for the LB and node port too.
    let c = cluster(&["rich.yaml"], None);
    let n = node_with(
        &c,
        "node-c",
        IpFamily::IPv4,
        |s| {
            s.node.interface_addresses = vec!["192.168.0.12/32".parse().unwrap()];
        },
        None,
    );
    let np = n
        .lookup_result(&Protocol::Tcp, "192.168.0.12".parse().unwrap(), 30080)
        .unwrap();
    assert!(np.local_fallback);
    assert_eq!(np.real_servers.len(), 2);
}

#[test]
fn dropped_tcp_endpoints_stay_at_weight_zero_only_while_they_have_connections() {
    let c = cluster(&["rich.yaml"], None);
    let vs_id = VsId::new(Protocol::Tcp, "10.96.10.7".parse().unwrap(), 80);
    let fresh = node(&c, "node-a");
    assert_eq!(
        fresh
            .lookup(&Protocol::Tcp, vs_id.addr, 80)
            .unwrap()
            .real_servers
            .len(),
        1
    );

    let mut st = IpvsState::new();
    st.set_conns(vs_id.clone(), "10.244.1.21:8080".parse().unwrap(), 3, 12);
    let n = node_with(&c, "node-a", IpFamily::IPv4, |_| {}, Some(&st));
    let l = n.list(Some(&st));
    assert!(
        l.contains(
            &(svc("TCP", "10.96.10.7:80", "rr")
                + &rs("10.244.1.20:8080", 1, 0, 0)
                + &rs("10.244.1.21:8080", 0, 3, 12))
        ),
        "{l}"
    );
    assert!(n
        .save()
        .contains("-a -t 10.96.10.7:80 -r 10.244.1.21:8080 -m -w 0\n"));

    let assumed = node_with(
        &c,
        "node-a",
        IpFamily::IPv4,
        |s| s.ipvs.assume_draining = true,
        None,
    );
    let vs = assumed.lookup(&Protocol::Tcp, vs_id.addr, 80).unwrap();
    assert_eq!(
        vs.real_servers
            .iter()
            .filter(|r| r.draining && r.weight == 0)
            .count(),
        1
    );

    // UDP real servers are deleted at once, connections or not.
    let mut st = IpvsState::new();
    let udp = VsId::new(Protocol::Udp, "10.96.10.5".parse().unwrap(), 5353);
    st.set_conns(udp.clone(), "10.244.9.9:5353".parse().unwrap(), 0, 5);
    let n = node_with(&c, "node-a", IpFamily::IPv4, |_| {}, Some(&st));
    assert_eq!(
        n.lookup(&Protocol::Udp, udp.addr, 5353)
            .unwrap()
            .real_servers
            .len(),
        1
    );
}

#[test]
fn stats_and_rate_listings_use_ipvsadm_columns() {
    let c = cluster(&["nodes.yaml", "kube-system.yaml"], None);
    let n = node(&c, "master");
    let vs = VsId::new(Protocol::Tcp, "10.96.0.1".parse().unwrap(), 443);
    let dst: std::net::SocketAddr = "192.168.100.53:6443".parse().unwrap();
    let mut st = IpvsState::new();
    st.real_servers.insert(
        (vs.clone(), dst),
        RsState {
            stats: Counters5([12, 3456, 3000, 123_456_789, 9_876_543_210]),
            rates: Counters5([1, 20, 18, 2400, 150_000_000]),
            ..RsState::default()
        },
    );
    let opts = |format| ListOptions {
        format,
        service: Some(vs.clone()),
        ..ListOptions::default()
    };
    let stats = render_list(&n, Some(&st), &opts(ListFormat::Stats)).unwrap();
    let title = format!(
        "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
        "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
    );
    let nums = format!(
        "{:>9}{:>9}{:>9}{:>8}K{:>8}M",
        12, 3456, 3000, 123_456, 9_876
    );
    assert_eq!(
        stats,
        format!(
            "{title}{:<33}{nums}\n  -> {:<28}{nums}\n",
            "TCP  10.96.0.1:443", "192.168.100.53:6443"
        )
    );
    let rate = render_list(&n, Some(&st), &opts(ListFormat::Rate)).unwrap();
    let svc_nums = format!("{:>9}{:>9}{:>9}{:>9}{:>8}K", 1, 20, 18, 2400, 150_000);
    let rs_nums = format!(" {:>8} {:>8} {:>8}{:>9}{:>8}K", 1, 20, 18, 2400, 150_000);
    assert!(
        rate.ends_with(&format!(
            "{:<33}{svc_nums}\n  -> {:<28}{rs_nums}\n",
            "TCP  10.96.0.1:443", "192.168.100.53:6443"
        )),
        "{rate}"
    );
    assert!(rate.starts_with(&format!(
        "{:<33} {:>8} {:>8}",
        "Prot LocalAddress:Port", "CPS", "InPPS"
    )));
    // Without state every counter is 0.
    let zero = render_list(&n, None, &opts(ListFormat::Stats)).unwrap();
    assert!(zero.contains(&format!(
        "  -> {:<28}{}\n",
        "192.168.100.53:6443",
        format!("{:>9}", 0).repeat(5)
    )));
}

#[test]
fn node_addresses_are_not_bound_and_ipvs_ips_lists_the_bound_ones() {
    let n = rich("node-a", IpFamily::IPv4);
    let ext = n
        .lookup(&Protocol::Tcp, "192.168.0.10".parse().unwrap(), 53)
        .unwrap();
    assert_eq!(ext.kind, VsKind::ExternalIp);
    assert!(!ext.bound);
    let ips = n.ipset(KubeSet::IpvsIps).sorted_entries();
    assert!(!ips.contains(&"192.168.0.10"));
    assert!(ips.contains(&"198.51.100.53") && ips.contains(&"203.0.113.11"));
    assert_eq!(ips.len(), n.bound_addresses.len());
    assert_eq!(
        n.ipset(KubeSet::LoadBalancerSourceIp).sorted_entries(),
        vec!["203.0.113.10,tcp:80,203.0.113.10"]
    );
    assert_eq!(
        n.lb_no_node_access,
        vec![("203.0.113.11".parse().unwrap(), "tcp".to_owned(), 443)]
    );
    assert!(n
        .lookup(&Protocol::Tcp, "10.1.2.3".parse().unwrap(), 80)
        .is_none());
}

#[test]
fn cluster_ip_masquerade_rule_follows_masquerade_all_and_the_local_detector() {
    let c = cluster(&["rich.yaml"], None);
    let rule = |tweak: &dyn Fn(&mut ProxierSettings)| {
        let n = node_with(&c, "node-a", IpFamily::IPv4, |s| tweak(s), None);
        n.iptables()
            .lines()
            .find(|l| l.contains("--match-set KUBE-CLUSTER-IP") && l.contains("KUBE-MARK-MASQ"))
            .unwrap()
            .to_owned()
    };
    let head = "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP";
    assert_eq!(rule(&|_| {}), format!("{head} src,dst -j KUBE-MARK-MASQ"));
    assert_eq!(
        rule(&|s| s.local_detector = LocalDetector::Cidr("10.244.0.0/16".into())),
        format!("{head} dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ")
    );
    assert_eq!(
        rule(&|s| s.local_detector = LocalDetector::InterfaceNamePrefix("veth".into())),
        format!("{head} dst,dst ! -i veth+ -j KUBE-MARK-MASQ")
    );
    assert_eq!(
        rule(&|s| s.masquerade_all = true),
        format!("{head} dst,dst -j KUBE-MARK-MASQ")
    );
}

#[test]
fn settings_come_from_the_kube_proxy_configuration_and_the_node() {
    let yaml = std::fs::read_to_string(data("rich.yaml")).unwrap()
        + "---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n\
           clusterCIDR: 10.244.0.0/16,fd00:244::/56\nipvs: {scheduler: wrr}\n\
           iptables: {masqueradeBit: 15}\nnodePortAddresses: [192.168.0.0/24]\n";
    let c = cluster_str(&yaml);
    let s = ProxierSettings::from_cluster(&c, "node-a", IpFamily::IPv6).unwrap();
    assert_eq!(s.ipvs.scheduler, Scheduler::Wrr);
    assert_eq!(s.masquerade_mark, "0x00008000");
    assert_eq!(
        s.local_detector,
        LocalDetector::Cidr("fd00:244::/56".into())
    );
    assert_eq!(s.node.node_ip(), Some("fd00:192::10".parse().unwrap()));
    // No IPv6 CIDR in nodePortAddresses: every IPv6 node address.
    assert_eq!(
        nodeport_ips(&s),
        vec!["fd00:192::10".parse::<std::net::IpAddr>().unwrap()]
    );
    let bad = yaml.replace("masqueradeBit: 15", "masqueradeBit: 40");
    let err =
        ProxierSettings::from_cluster(&cluster_str(&bad), "node-a", IpFamily::IPv4).unwrap_err();
    assert_eq!(err.kind(), "config");
}

#[test]
fn kube_ipvs0_lists_ipv4_in_bind_order_then_ipv6_newest_first() {
    let c = cluster(&["rich.yaml"], None);
    let v4 = node_with(&c, "node-a", IpFamily::IPv4, |_| {}, None);
    let v6 = node_with(&c, "node-a", IpFamily::IPv6, |_| {}, None);
    let text = render_addresses(&[&v4, &v6]);
    let mut want = String::from(
        "5: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default qlen 1000\n    link/ether 6e:8c:1f:00:00:01 brd ff:ff:ff:ff:ff:ff\n",
    );
    for ip in &v4.bound_addresses {
        want += &format!("    inet {ip}/32 scope global kube-ipvs0\n       valid_lft forever preferred_lft forever\n");
    }
    for ip in ["2001:db8::10", "fd00:96::10:1"] {
        want += &format!(
            "    inet6 {ip}/128 scope global \n       valid_lft forever preferred_lft forever\n"
        );
    }
    assert_eq!(text, want);
    // Bind order is creation order: infra/dns-ext's cluster IP first (snapshot order).
    assert_eq!(v4.bound_addresses[0].to_string(), "10.96.10.3");
}

#[test]
fn family_mismatch_is_an_invalid_argument() {
    let c = cluster(&["rich.yaml"], None);
    let snap = svccore::snapshot::ProxySnapshot::build(&c, IpFamily::IPv4).unwrap();
    let s = ProxierSettings::new(IpFamily::IPv6, "node-a");
    assert_eq!(
        IpvsNode::build(&snap, &s, None).unwrap_err().kind(),
        "invalid-argument"
    );
}
