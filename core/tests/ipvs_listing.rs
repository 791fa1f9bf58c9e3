//! `ipvsadm -Ln` goldens: the seed listings (whitespace-normalised, since the pages collapsed
//! spaces), the same listings byte-exact against text built here from ipvsadm's printf formats,
//! and the spec's worked example (ipvs.md §9).

use crate::ipvs_common;

use ipvs_common::*;
use svccore::model::{IpFamily, Protocol};
use svccore::render::ipvs::{render_list, IpvsState, ListOptions, VsId};

fn id(p: Protocol, a: &str, port: u16) -> VsId {
    VsId::new(p, a.parse().unwrap(), port)
}

#[test]
fn seed001_kube_system_listing_is_reproduced() {
    let c = cluster(&["nodes.yaml", "kube-system.yaml"], None);
    let mut st = IpvsState::new();
    st.set_conns(
        id(Protocol::Tcp, "10.96.0.1", 443),
        "192.168.100.53:6443".parse().unwrap(),
        1,
        0,
    );
    let n = node_with(&c, "master", IpFamily::IPv4, |_| {}, Some(&st));
    let got = n.list(Some(&st));
    assert_eq!(normalize(&got), normalize(&seeds()["seed001-kube-system"]));

    let mut want = header(4096);
    want += &svc("TCP", "10.96.0.1:443", "rr");
    want += &rs("192.168.100.53:6443", 1, 1, 0);
    for port in [53, 9153] {
        want += &svc("TCP", &format!("10.96.0.10:{port}"), "rr");
        want += &rs(&format!("10.244.219.65:{port}"), 1, 0, 0);
        want += &rs(&format!("10.244.219.69:{port}"), 1, 0, 0);
    }
    want += &svc("TCP", "10.98.145.184:9094", "rr");
    want += &rs("10.244.219.67:9094", 1, 0, 0);
    want += &svc("TCP", "10.98.165.172:443", "rr");
    want += &rs("192.168.100.51:4443", 1, 0, 0);
    want += &rs("192.168.100.52:4443", 1, 0, 0);
    want += &svc("TCP", "10.109.241.243:5473", "rr");
    want += &rs("192.168.100.51:5473", 1, 0, 0);
    want += &rs("192.168.100.52:5473", 1, 0, 0);
    want += &svc("TCP", "10.111.111.114:443", "rr");
    want += &rs("10.244.219.66:5443", 1, 0, 0);
    want += &rs("10.244.219.68:5443", 1, 0, 0);
    want += &svc("UDP", "10.96.0.10:53", "rr");
    want += &rs("10.244.219.65:53", 1, 0, 0);
    want += &rs("10.244.219.69:53", 1, 0, 0);
    assert_eq!(got, want);
    // Every real-server line is exactly 70 characters, trailing spaces included.
    assert!(got
        .lines()
        .filter(|l| l.starts_with("  ->") && !l.contains("RemoteAddress"))
        .all(|l| l.len() == 70));
}

#[test]
fn seed001_first_listing_is_reproduced_as_an_excerpt() {
    let c = cluster(&["nodes.yaml", "seed001-first.yaml"], None);
    let got = excerpt(&node(&c, "node1").list(None), &["TCP 10.97.97.97:80"]);
    assert_eq!(normalize(&got), normalize(&seeds()["seed001-first"]));
    let mut want = header(4096) + &svc("TCP", "10.97.97.97:80", "rr");
    for a in ["10.244.1.39:80", "10.244.1.40:80", "10.244.2.33:80"] {
        want += &rs(a, 1, 0, 0);
    }
    assert_eq!(got, want);
}

#[test]
fn seed001_nginx_rr_listing_with_inactive_counts_is_reproduced() {
    let c = cluster(&["nodes.yaml", "nginx.yaml"], None);
    let vs = id(Protocol::Tcp, "10.97.97.97", 80);
    let mut st = IpvsState::new();
    for (a, inact) in [
        ("10.244.104.10:80", 1),
        ("10.244.166.129:80", 1),
        ("10.244.166.191:80", 2),
    ] {
        st.set_conns(vs.clone(), a.parse().unwrap(), 0, inact);
    }
    let n = node_with(&c, "master", IpFamily::IPv4, |_| {}, Some(&st));
    // The page quotes one service; so does `ipvsadm -Ln -t 10.97.97.97:80` (without the
    // version line).
    let got = excerpt(&n.list(Some(&st)), &["TCP 10.97.97.97:80"]);
    assert_eq!(normalize(&got), normalize(&seeds()["seed001-nginx-rr"]));
    let body = svc("TCP", "10.97.97.97:80", "rr")
        + &rs("10.244.104.10:80", 1, 0, 1)
        + &rs("10.244.166.129:80", 1, 0, 1)
        + &rs("10.244.166.191:80", 1, 0, 2);
    assert_eq!(got, header(4096) + &body);
    let one = render_list(
        &n,
        Some(&st),
        &ListOptions {
            service: Some(vs),
            ..ListOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        one,
        header(4096)
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            + &body
    );
}

#[test]
fn seed001_nginx_client_ip_affinity_lists_persistent_10800() {
    let c = cluster(
        &["nodes.yaml", "nginx.yaml"],
        Some(("sessionAffinity: None", "sessionAffinity: ClientIP")),
    );
    let got = excerpt(&node(&c, "master").list(None), &["TCP 10.97.97.97:80"]);
    assert_eq!(
        normalize(&got),
        normalize(&seeds()["seed001-nginx-clientip"])
    );
    let mut want = header(4096) + &svc("TCP", "10.97.97.97:80", "rr persistent 10800");
    for a in ["10.244.104.10:80", "10.244.166.129:80", "10.244.166.191:80"] {
        want += &rs(a, 1, 0, 0);
    }
    assert_eq!(got, want);
}

#[test]
fn seed001_nodeport_30002_is_listed_on_each_nodes_own_ip() {
    let c = cluster(&["nodes.yaml", "nginx.yaml"], None);
    for (nd, ip, seed) in [
        ("master", "192.168.100.53", "seed001-nodeport-master"),
        ("node1", "192.168.100.51", "seed001-nodeport-node1"),
    ] {
        let full = node(&c, nd).list(None);
        let name = format!("TCP {ip}:30002");
        let got = excerpt(&full, &[name.as_str()]);
        assert_eq!(normalize(&got), normalize(&seeds()[seed]), "{nd}");
        let mut want = header(4096) + &svc("TCP", &format!("{ip}:30002"), "rr");
        for a in ["10.244.104.10:80", "10.244.166.129:80", "10.244.166.191:80"] {
            want += &rs(a, 1, 0, 0);
        }
        assert_eq!(got, want);
        // The comparator quirk (§5): the 192.168 NodePort lists before the 10.x cluster IPs.
        let services: Vec<&str> = full
            .lines()
            .skip(3)
            .filter(|l| !l.starts_with("  ->"))
            .collect();
        assert_eq!(
            services,
            vec![
                format!("TCP  {ip}:30002 rr").as_str(),
                "TCP  10.97.97.97:80 rr",
                "TCP  10.100.46.87:80 rr"
            ]
        );
    }
}

const SPEC_S9: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: minikube}
status: {addresses: [{type: InternalIP, address: 192.168.49.2}]}
---
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, targetPort: 8443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
addressType: IPv4
ports: [{name: https, port: 8443, protocol: TCP}]
endpoints: [{addresses: [192.168.49.2]}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: metrics, port: 9153, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kube-dns-1, namespace: kube-system, labels: {kubernetes.io/service-name: kube-dns}}
addressType: IPv4
ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}, {name: metrics, port: 9153, protocol: TCP}]
endpoints: [{addresses: [10.244.0.2], nodeName: minikube}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.97.97.97
  sessionAffinity: ClientIP
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.244.0.6], nodeName: minikube}, {addresses: [10.244.0.5], nodeName: minikube}]
"#;

/// The spec's §9 listing and save text, copied from ipvs.md with the `$` end markers removed.
const SPEC_S9_LIST: &str = "IP Virtual Server version 1.2.1 (size=4096)$
Prot LocalAddress:Port Scheduler Flags$
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn$
TCP  192.168.49.2:30080 rr persistent 10800$
  -> 10.244.0.5:8080              Masq    1      0          0         $
  -> 10.244.0.6:8080              Masq    1      0          0         $
TCP  10.96.0.1:443 rr$
  -> 192.168.49.2:8443            Masq    1      0          0         $
TCP  10.96.0.10:53 rr$
  -> 10.244.0.2:53                Masq    1      0          0         $
TCP  10.96.0.10:9153 rr$
  -> 10.244.0.2:9153              Masq    1      0          0         $
TCP  10.97.97.97:80 rr persistent 10800$
  -> 10.244.0.5:8080              Masq    1      0          0         $
  -> 10.244.0.6:8080              Masq    1      0          0         $
UDP  10.96.0.10:53 rr$
  -> 10.244.0.2:53                Masq    1      0          0         $
";

const SPEC_S9_SAVE: &str = "-A -t 192.168.49.2:30080 -s rr -p 10800
-a -t 192.168.49.2:30080 -r 10.244.0.5:8080 -m -w 1
-a -t 192.168.49.2:30080 -r 10.244.0.6:8080 -m -w 1
-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 192.168.49.2:8443 -m -w 1
-A -t 10.96.0.10:53 -s rr
-a -t 10.96.0.10:53 -r 10.244.0.2:53 -m -w 1
-A -t 10.96.0.10:9153 -s rr
-a -t 10.96.0.10:9153 -r 10.244.0.2:9153 -m -w 1
-A -t 10.97.97.97:80 -s rr -p 10800
-a -t 10.97.97.97:80 -r 10.244.0.5:8080 -m -w 1
-a -t 10.97.97.97:80 -r 10.244.0.6:8080 -m -w 1
-A -u 10.96.0.10:53 -s rr
-a -u 10.96.0.10:53 -r 10.244.0.2:53 -m -w 1
";

#[test]
fn spec_worked_example_list_and_save_are_byte_exact() {
    let c = cluster_str(SPEC_S9);
    let n = node(&c, "minikube");
    assert_eq!(n.list(None), SPEC_S9_LIST.replace("$\n", "\n"));
    assert_eq!(n.save(), SPEC_S9_SAVE);
}

#[test]
fn spec_worked_example_ipset_members() {
    use svccore::render::ipvs::KubeSet;
    let c = cluster_str(SPEC_S9);
    let n = node(&c, "minikube");
    let members = |s: KubeSet| n.ipset(s).sorted_entries().join(" ");
    assert_eq!(
        members(KubeSet::ClusterIp),
        "10.96.0.1,tcp:443 10.96.0.10,tcp:53 10.96.0.10,tcp:9153 10.96.0.10,udp:53 10.97.97.97,tcp:80"
    );
    assert_eq!(members(KubeSet::NodePortTcp), "30080");
    assert_eq!(
        members(KubeSet::LoopBack),
        "10.244.0.2,tcp:53,10.244.0.2 10.244.0.2,tcp:9153,10.244.0.2 10.244.0.2,udp:53,10.244.0.2 10.244.0.5,tcp:8080,10.244.0.5 10.244.0.6,tcp:8080,10.244.0.6"
    );
    assert_eq!(
        members(KubeSet::IpvsIps),
        "10.96.0.1 10.96.0.10 10.97.97.97"
    );
    // Kernel list order is newest first: ascending insertion gives [.6, .5] (§9 "Scheduling").
    let vs = n
        .lookup(&Protocol::Tcp, "10.97.97.97".parse().unwrap(), 80)
        .unwrap();
    let kernel: Vec<String> = vs.real_servers.iter().map(|r| r.addr.to_string()).collect();
    assert_eq!(kernel, vec!["10.244.0.6:8080", "10.244.0.5:8080"]);
}
