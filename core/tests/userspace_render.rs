//! kube-proxy userspace mode's portal rules (spec: core/src/render/userspace.rs), pinned rule
//! by rule against `proxier.go`'s argument lists (`iptablesCommonPortalArgs`,
//! `iptablesContainerPortalArgs`, `iptablesHostPortalArgs`, `iptablesNonLocalNodePortArgs`,
//! `iptablesInit`), in restore, jumps and save form.

use svccore::load::load_strs;
use svccore::proxier::config::{ProxierSettings, SettingsFlags};
use svccore::render::userspace::{render, Form};
use svccore::Cluster;

fn cluster() -> Cluster {
    let text = include_str!("userspace_data/cluster.yaml");
    load_strs([(Some("cluster.yaml"), text)]).unwrap()
}

fn settings(json: &str) -> ProxierSettings {
    ProxierSettings::from_json_str(json, Some("proxy.json")).unwrap()
}

fn lines(text: &str, chain: &str) -> Vec<String> {
    let prefix = format!("-A {chain} ");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

const RANGE: &str = r#"{"nodeName": "node-a", "userspace": {"portRange": "36000-36009"}}"#;

#[test]
fn cluster_ip_external_ip_lb_ingress_in_container_chain_restore_form() {
    let text = render(&cluster(), &settings(RANGE), Form::Restore).unwrap();
    assert_eq!(
        lines(&text, "KUBE-PORTALS-CONTAINER"),
        [
            // Write order: service port names sorted; ports from the range, lowest first.
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "kube-system/dns:dns" -p udp -m udp --dport 53 -d 10.96.0.10/32 -j REDIRECT --to-ports 36000"#,
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "kube-system/dns:dns-tcp" -p tcp -m tcp --dport 53 -d 10.96.0.10/32 -j REDIRECT --to-ports 36001"#,
            // An unnamed port's comment is the service name alone; the LB ingress IP gets the
            // cluster IP's rule, the hostname-only ingress nothing.
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/lb" -p tcp -m tcp --dport 443 -d 10.96.2.2/32 -j REDIRECT --to-ports 36002"#,
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/lb" -p tcp -m tcp --dport 443 -d 198.51.100.20/32 -j REDIRECT --to-ports 36002"#,
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 -d 10.96.1.1/32 -j REDIRECT --to-ports 36003"#,
            // An external IP: not from a bridge port, then to a local address.
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 -d 203.0.113.7/32 -m physdev ! --physdev-is-in -j REDIRECT --to-ports 36003"#,
            r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 -d 203.0.113.7/32 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 36003"#,
        ]
    );
}

#[test]
fn host_chain_dnats_to_the_node_ip_and_external_ips_only_when_local() {
    let text = render(&cluster(), &settings(RANGE), Form::Restore).unwrap();
    assert_eq!(
        lines(&text, "KUBE-PORTALS-HOST"),
        [
            r#"-A KUBE-PORTALS-HOST -m comment --comment "kube-system/dns:dns" -p udp -m udp --dport 53 -d 10.96.0.10/32 -j DNAT --to-destination 192.168.0.10:36000"#,
            r#"-A KUBE-PORTALS-HOST -m comment --comment "kube-system/dns:dns-tcp" -p tcp -m tcp --dport 53 -d 10.96.0.10/32 -j DNAT --to-destination 192.168.0.10:36001"#,
            r#"-A KUBE-PORTALS-HOST -m comment --comment "shop/lb" -p tcp -m tcp --dport 443 -d 10.96.2.2/32 -j DNAT --to-destination 192.168.0.10:36002"#,
            r#"-A KUBE-PORTALS-HOST -m comment --comment "shop/lb" -p tcp -m tcp --dport 443 -d 198.51.100.20/32 -j DNAT --to-destination 192.168.0.10:36002"#,
            r#"-A KUBE-PORTALS-HOST -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 -d 10.96.1.1/32 -j DNAT --to-destination 192.168.0.10:36003"#,
            r#"-A KUBE-PORTALS-HOST -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 -d 203.0.113.7/32 -m addrtype --dst-type LOCAL -j DNAT --to-destination 192.168.0.10:36003"#,
        ]
    );
}

#[test]
fn node_ports_in_nodeport_chains_and_proxy_port_accepted_in_filter() {
    let text = render(&cluster(), &settings(RANGE), Form::Restore).unwrap();
    assert_eq!(
        lines(&text, "KUBE-NODEPORT-CONTAINER"),
        [
            // The SCTP port (node port 30999) has no proxy socket, so no rules.
            r#"-A KUBE-NODEPORT-CONTAINER -m comment --comment "shop/lb" -p tcp -m tcp --dport 30443 -j REDIRECT --to-ports 36002"#,
            r#"-A KUBE-NODEPORT-CONTAINER -m comment --comment "shop/web:http" -p tcp -m tcp --dport 30080 -j REDIRECT --to-ports 36003"#,
        ]
    );
    assert_eq!(
        lines(&text, "KUBE-NODEPORT-HOST"),
        [
            r#"-A KUBE-NODEPORT-HOST -m comment --comment "shop/lb" -p tcp -m tcp --dport 30443 -j DNAT --to-destination 192.168.0.10:36002"#,
            r#"-A KUBE-NODEPORT-HOST -m comment --comment "shop/web:http" -p tcp -m tcp --dport 30080 -j DNAT --to-destination 192.168.0.10:36003"#,
        ]
    );
    assert_eq!(
        lines(&text, "KUBE-NODEPORT-NON-LOCAL"),
        [
            r#"-A KUBE-NODEPORT-NON-LOCAL -m comment --comment "shop/lb" -p tcp -m tcp --dport 36002 -m state --state NEW -j ACCEPT"#,
            r#"-A KUBE-NODEPORT-NON-LOCAL -m comment --comment "shop/web:http" -p tcp -m tcp --dport 36003 -m state --state NEW -j ACCEPT"#,
        ]
    );
    assert!(text.starts_with("*filter\n:KUBE-NODEPORT-NON-LOCAL - [0:0]\n"));
    assert!(text.contains(
        "COMMIT\n*nat\n:KUBE-PORTALS-CONTAINER - [0:0]\n:KUBE-PORTALS-HOST - [0:0]\n\
         :KUBE-NODEPORT-CONTAINER - [0:0]\n:KUBE-NODEPORT-HOST - [0:0]\n"
    ));
}

#[test]
fn jumps_prepend_portals_and_append_node_ports() {
    let text = render(&cluster(), &settings(RANGE), Form::Jumps).unwrap();
    assert_eq!(
        text,
        "*filter\n\
         -I INPUT -m comment --comment \"Ensure that non-local NodePort traffic can flow\" -j KUBE-NODEPORT-NON-LOCAL\n\
         COMMIT\n\
         *nat\n\
         -I PREROUTING -m comment --comment \"handle ClusterIPs; NOTE: this must be before the NodePort rules\" -j KUBE-PORTALS-CONTAINER\n\
         -I OUTPUT -m comment --comment \"handle ClusterIPs; NOTE: this must be before the NodePort rules\" -j KUBE-PORTALS-HOST\n\
         -A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment \"handle service NodePorts; NOTE: this must be the last rule in the chain\" -j KUBE-NODEPORT-CONTAINER\n\
         -A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment \"handle service NodePorts; NOTE: this must be the last rule in the chain\" -j KUBE-NODEPORT-HOST\n\
         COMMIT\n"
    );
}

#[test]
fn save_form_orders_arguments_as_iptables_save_prints_them() {
    let text = render(&cluster(), &settings(RANGE), Form::Save).unwrap();
    // The whole filter table, and the nat lines that show each reordering.
    assert!(text.starts_with(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :KUBE-NODEPORT-NON-LOCAL - [0:0]\n\
         -A INPUT -m comment --comment \"Ensure that non-local NodePort traffic can flow\" -j KUBE-NODEPORT-NON-LOCAL\n\
         -A KUBE-NODEPORT-NON-LOCAL -p tcp -m comment --comment \"shop/lb\" -m tcp --dport 36002 -m state --state NEW -j ACCEPT\n\
         -A KUBE-NODEPORT-NON-LOCAL -p tcp -m comment --comment \"shop/web:http\" -m tcp --dport 36003 -m state --state NEW -j ACCEPT\n\
         COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n:KUBE-NODEPORT-CONTAINER - [0:0]\n:KUBE-NODEPORT-HOST - [0:0]\n\
         :KUBE-PORTALS-CONTAINER - [0:0]\n:KUBE-PORTALS-HOST - [0:0]\n\
         -A PREROUTING -m comment --comment \"handle ClusterIPs; NOTE: this must be before the NodePort rules\" -j KUBE-PORTALS-CONTAINER\n\
         -A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment \"handle service NodePorts; NOTE: this must be the last rule in the chain\" -j KUBE-NODEPORT-CONTAINER\n\
         -A OUTPUT -m comment --comment \"handle ClusterIPs; NOTE: this must be before the NodePort rules\" -j KUBE-PORTALS-HOST\n\
         -A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment \"handle service NodePorts; NOTE: this must be the last rule in the chain\" -j KUBE-NODEPORT-HOST\n"
    ));
    for line in [
        "-A KUBE-PORTALS-CONTAINER -d 203.0.113.7/32 -p tcp -m comment --comment \"shop/web:http\" -m tcp --dport 80 -m physdev ! --physdev-is-in -j REDIRECT --to-ports 36003\n",
        "-A KUBE-PORTALS-HOST -d 203.0.113.7/32 -p tcp -m comment --comment \"shop/web:http\" -m tcp --dport 80 -m addrtype --dst-type LOCAL -j DNAT --to-destination 192.168.0.10:36003\n",
        "-A KUBE-NODEPORT-CONTAINER -p tcp -m comment --comment \"shop/lb\" -m tcp --dport 30443 -j REDIRECT --to-ports 36002\n",
        "-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p udp -m comment --comment \"kube-system/dns:dns\" -m udp --dport 53 -j REDIRECT --to-ports 36000\n",
    ] {
        assert!(text.contains(line), "missing {line}in\n{text}");
    }
    assert!(text.ends_with("COMMIT\n"));
}

#[test]
fn bound_proxy_address_dnats_containers_and_hosts_to_it() {
    let s = settings(
        r#"{"nodeName": "node-a", "userspace": {"portRange": "36000-36009", "bindAddress": "192.168.0.99"}}"#,
    );
    let text = render(&cluster(), &s, Form::Restore).unwrap();
    let c = lines(&text, "KUBE-PORTALS-CONTAINER");
    assert_eq!(
        c[4],
        r#"-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 -d 10.96.1.1/32 -j DNAT --to-destination 192.168.0.99:36003"#
    );
    // The host chain DNATs to the bind address too, not the node IP.
    assert_eq!(
        lines(&text, "KUBE-NODEPORT-HOST")[1],
        r#"-A KUBE-NODEPORT-HOST -m comment --comment "shop/web:http" -p tcp -m tcp --dport 30080 -j DNAT --to-destination 192.168.0.99:36003"#
    );
    assert!(!text.contains("REDIRECT"));
}

#[test]
fn given_proxy_ports_are_used_and_the_rest_take_the_lowest_free() {
    let s = settings(
        r#"{"nodeName": "node-a", "userspace": {"portRange": "36000-36009",
            "proxyPorts": {"shop/web:http": 36001, "kube-system/dns:dns": 41234}}}"#,
    );
    let text = render(&cluster(), &s, Form::Restore).unwrap();
    let container = lines(&text, "KUBE-PORTALS-CONTAINER");
    let to_ports: Vec<&str> = container
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    // dns:dns given (outside the range is fine: a real node's port), web:http given 36001;
    // dns-tcp takes 36000, lb skips the held 36001 and takes 36002.
    assert_eq!(
        to_ports,
        ["41234", "36000", "36002", "36002", "36001", "36001", "36001"]
    );
}

#[test]
fn without_a_range_ports_come_from_the_kernel_ephemeral_range() {
    let text = render(
        &cluster(),
        &settings(r#"{"nodeName": "node-a"}"#),
        Form::Restore,
    )
    .unwrap();
    assert!(text.contains("--dport 53 -d 10.96.0.10/32 -j REDIRECT --to-ports 32768\n"));
    assert!(text.contains("--dport 30080 -j REDIRECT --to-ports 32771\n"));
}

#[test]
fn port_range_and_bind_address_come_from_flags_and_configuration() {
    let flags = SettingsFlags {
        proxy_port_range: Some("40000+3".into()),
        bind_address: Some("0.0.0.0".into()),
        node_name: Some("node-a".into()),
        ..Default::default()
    };
    let s = ProxierSettings::layered(None, None, &flags).unwrap();
    let text = render(&cluster(), &s, Form::Restore).unwrap();
    assert!(text.contains("--to-ports 40003\n"));
    let cfg_cluster = load_strs([
        (
            Some("cluster.yaml"),
            include_str!("userspace_data/cluster.yaml"),
        ),
        (
            Some("kube-proxy.yaml"),
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n\
             mode: userspace\nportRange: 50000-50003\nbindAddress: 192.168.0.10\n",
        ),
    ])
    .unwrap();
    let s = ProxierSettings::from_cluster(&cfg_cluster, "node-a", svccore::model::IpFamily::IPv4)
        .unwrap();
    let text = render(&cfg_cluster, &s, Form::Restore).unwrap();
    assert!(text.contains("-j DNAT --to-destination 192.168.0.10:50003\n"));
}

#[test]
fn refuses_bad_userspace_settings_with_their_path() {
    let c = cluster();
    let err = |json: &str| {
        let e = match ProxierSettings::from_json_str(json, Some("proxy.json")) {
            Ok(s) => render(&c, &s, Form::Restore).unwrap_err(),
            Err(e) => e,
        };
        (e.issues()[0].path.clone(), e.to_string())
    };
    let (path, msg) = err(r#"{"userspace": {"portRange": "36009-36000"}}"#);
    assert_eq!(path, "userspace.portRange");
    assert!(
        msg.contains("end port cannot be less than start port"),
        "{msg}"
    );
    let (path, msg) = err(r#"{"userspace": {"portRange": "36000-36002"}}"#);
    assert_eq!(path, "userspace.portRange");
    assert!(msg.contains("no free port left"), "{msg}");
    let (path, msg) = err(r#"{"userspace": {"proxyPorts": {"shop/nope": 36000}}}"#);
    assert_eq!(path, "userspace.proxyPorts[\"shop/nope\"]");
    assert!(msg.contains("names no TCP or UDP service port"), "{msg}");
    let (path, _) =
        err(r#"{"userspace": {"proxyPorts": {"shop/lb": 36000, "shop/web:http": 36000}}}"#);
    assert!(path.starts_with("userspace.proxyPorts["), "{path}");
    let (path, msg) = err(r#"{"userspace": {"proxyPorts": {"shop/lb\" -j ACCEPT": 1}}}"#);
    assert!(path.starts_with("userspace.proxyPorts["), "{path}");
    assert!(msg.contains("service port name"), "{msg}");
    let (path, msg) = err(r#"{"userspace": {"bindAddress": "127.0.0.1"}}"#);
    assert_eq!(path, "userspace.bindAddress");
    assert!(msg.contains("cannot proxy on localhost"), "{msg}");
    let (path, _) = err(r#"{"userspace": {"bindAddress": "fd00::1"}}"#);
    assert_eq!(path, "userspace.bindAddress");
    let (path, _) = err(r#"{"userspace": {"bindAddress": "1.2.3"}}"#);
    assert_eq!(path, "userspace.bindAddress");
    let (path, _) = err(r#"{"userspace": {"colour": 1}}"#);
    assert_eq!(path, "userspace.colour");
}

#[test]
fn validation_accepts_userspace_mode_and_checks_its_fields() {
    let cfg = |body: &str| {
        let text = format!(
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n{body}"
        );
        let c = load_strs([(Some("kp.yaml"), text.as_str())]).unwrap();
        svccore::validate::validate(&c, &Default::default())
            .into_iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect::<Vec<_>>()
    };
    assert!(cfg("mode: userspace\nportRange: 36000-36099\n").is_empty());
    let issues = cfg("mode: userspace\nportRange: 9-1\nbindAddress: 127.0.0.1\n");
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(issues[0].starts_with("portRange: "), "{issues:?}");
    assert!(
        issues[1].contains("cannot proxy on localhost"),
        "{issues:?}"
    );
    assert_eq!(cfg("mode: sidecar\n").len(), 1);
}

#[test]
fn ipv6_portals_use_128_and_bracketed_dnat() {
    let c = load_strs([(
        None,
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"ns"},
            "spec":{"clusterIP":"fd00::10","ipFamilies":["IPv6"],"ports":[{"port":80}]}}"#,
    )])
    .unwrap();
    let s = settings(
        r#"{"ipFamily": "IPv6", "nodeIPs": ["fd00:1::5"], "userspace": {"bindAddress": "::"}}"#,
    );
    let text = render(&c, &s, Form::Restore).unwrap();
    assert!(text.contains(
        "-A KUBE-PORTALS-HOST -m comment --comment \"ns/web\" -p tcp -m tcp --dport 80 -d fd00::10/128 -j DNAT --to-destination [fd00:1::5]:32768\n"
    ), "{text}");
}

#[test]
fn audit_finds_no_drift_in_the_save_form_and_reads_back_a_nodes_proxy_ports() {
    use svccore::audit::{userspace::audit, ActualDump};
    let c = cluster();
    let s = settings(RANGE);
    let save = render(&c, &s, Form::Save).unwrap();
    let clean = audit(&c, &s, &save, ActualDump::default()).unwrap();
    assert!(!clean.has_drift(), "{clean:?}");
    assert_eq!((clean.mode, clean.expected_rules), ("userspace", 24));
    // Rules reordered across services (kube-proxy's map order) and the kubelet's own chains
    // are not drift.
    let mut lines: Vec<&str> = save.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("-A KUBE-PORTALS-CONTAINER"))
        .unwrap();
    lines.swap(i, i + 4);
    let node = lines.join("\n").replace(
        ":KUBE-PORTALS-HOST - [0:0]\n",
        ":KUBE-PORTALS-HOST - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n",
    ) + "\n";
    assert!(!audit(&c, &s, &node, ActualDump::default())
        .unwrap()
        .has_drift());
    // A node whose kube-proxy picked other ports: every rule of that port changes, and the
    // note gives the node's ports as the settings that make them match.
    let node = save
        .replace("--to-ports 36003", "--to-ports 40001")
        .replace(":36003", ":40001")
        .replace("--dport 36003", "--dport 40001");
    let r = audit(&c, &s, &node, ActualDump::default()).unwrap();
    assert_eq!(r.service_ports.len(), 1);
    assert_eq!(r.service_ports[0].service_port, "shop/web:http");
    assert_eq!(r.service_ports[0].changed.len(), 8);
    let note = r.notes.iter().find(|n| n.contains("proxyPorts")).unwrap();
    assert!(
        note.ends_with(
            r#""userspace": {"proxyPorts": {"kube-system/dns:dns": 36000, "kube-system/dns:dns-tcp": 36001, "shop/lb": 36002, "shop/web:http": 40001}}"#
        ),
        "{note}"
    );
    let given = settings(
        r#"{"nodeName": "node-a", "userspace": {"portRange": "36000-36009",
            "proxyPorts": {"shop/web:http": 40001}}}"#,
    );
    assert!(!audit(&c, &given, &node, ActualDump::default())
        .unwrap()
        .has_drift());
}

#[test]
fn an_identical_rule_is_ensured_once() {
    // kube-proxy ensures each rule (iptables -C, then -A): an LB ingress IP listed twice, or
    // equal to the cluster IP, adds no second copy.
    let c = load_strs([(
        None,
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"lb","namespace":"ns"},
            "spec":{"type":"LoadBalancer","clusterIP":"10.96.0.5","ports":[{"port":80,"nodePort":30080}]},
            "status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.1"},{"ip":"198.51.100.1"},{"ip":"10.96.0.5"}]}}}"#,
    )])
    .unwrap();
    let text = render(
        &c,
        &settings(r#"{"nodeIPs": ["192.168.0.10"]}"#),
        Form::Restore,
    )
    .unwrap();
    let container = lines(&text, "KUBE-PORTALS-CONTAINER");
    assert_eq!(container.len(), 2, "{text}");
    assert!(container[0].contains("-d 10.96.0.5/32"));
    assert!(container[1].contains("-d 198.51.100.1/32"));
    assert_eq!(lines(&text, "KUBE-PORTALS-HOST").len(), 2);
}
