//! `audit::nftables` against real `nft list` output: every conformance case's `kernel-list.txt`
//! (what nftables 1.0.6 printed after the case was loaded into a network namespace) audited
//! against the case's own cluster and settings, untouched and with edits a drifted node would
//! show, each finding attributed to its service port.

use crate::conformance_common;

use proptest::prelude::*;
use svccore::audit::nftables::audit;
use svccore::audit::{AuditReport, ServiceAudit, NODE_GROUP};
use svccore::render::iptables::ProxierSettings;
use svccore::render::nftables::parse::parse_listing;
use svccore::render::nftables::{render, Family, Form};
use svccore::{Cluster, Error};

fn case(name: &str) -> (Cluster, ProxierSettings, String) {
    let dir = conformance_common::dir("nftables").join(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let cluster =
        svccore::load::load_strs([(Some("cluster.json"), read("cluster.json").as_str())]).unwrap();
    let settings = ProxierSettings::from_json_str(&read("proxy.json"), Some("proxy.json")).unwrap();
    (cluster, settings, read("kernel-list.txt"))
}

fn overall() -> (Cluster, ProxierSettings, String) {
    case("overall")
}

fn run(c: &Cluster, s: &ProxierSettings, text: &str) -> AuditReport {
    audit(c, s, text, Some("node.nft")).unwrap()
}

fn group<'a>(r: &'a AuditReport, name: &str) -> &'a ServiceAudit {
    r.service_ports
        .iter()
        .find(|g| g.service_port == name)
        .unwrap_or_else(|| panic!("no group {name} in {}", svccore::audit::render_text(r)))
}

/// The only group with drift, which must be `name`.
fn only<'a>(r: &'a AuditReport, name: &str) -> &'a ServiceAudit {
    let groups: Vec<&str> = r
        .service_ports
        .iter()
        .map(|g| g.service_port.as_str())
        .collect();
    assert_eq!(groups, [name], "{}", svccore::audit::render_text(r));
    group(r, name)
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "edit target {from:?}");
    text.replace(from, to)
}

#[test]
fn every_case_kernel_listing_has_no_drift() {
    let cases = conformance_common::cases("nftables");
    assert_eq!(cases.len(), 13);
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (c, s, real) = case(&name);
        let r = run(&c, &s, &real);
        assert!(
            !r.has_drift(),
            "{name}: {}",
            svccore::audit::render_text(&r)
        );
        assert_eq!(r.mode, "nftables");
        assert_eq!(
            (r.expected_rules, r.expected_elements),
            (r.actual_rules, r.actual_elements),
            "{name}"
        );
        assert!(r.expected_rules > 20, "{name}: {}", r.expected_rules);
        assert_eq!(
            r.clean_service_ports,
            svccore::snapshot::ProxySnapshot::build(&c, s.ip_family)
                .unwrap()
                .ports
                .len(),
            "{name}"
        );
    }
}

#[test]
fn a_deleted_rule_is_missing_in_its_service_port() {
    let (c, s, real) = overall();
    let text = edit(
        &real,
        "\t\tip saddr 10.180.0.1 jump mark-for-masquerade\n",
        "",
    );
    let r = run(&c, &s, &text);
    let g = only(&r, "ns1/svc1:p80");
    assert_eq!(g.missing.len(), 1);
    assert_eq!(
        g.missing[0].rule,
        "add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 ip saddr 10.180.0.1 jump mark-for-masquerade"
    );
    assert_eq!(
        g.missing[0].chain,
        "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    );
    assert!(g.extra.is_empty() && g.changed.is_empty());
    assert_eq!(r.actual_rules + 1, r.expected_rules);
}

#[test]
fn an_added_rule_is_extra_in_its_service_port() {
    let (c, s, real) = overall();
    let text = edit(
        &real,
        "\tchain service-LAUZTJTB-ns4/svc4/tcp/p80 {\n",
        "\tchain service-LAUZTJTB-ns4/svc4/tcp/p80 {\n\t\tip saddr 203.0.113.9 drop comment \"added by hand\"\n",
    );
    let r = run(&c, &s, &text);
    let g = only(&r, "ns4/svc4:p80");
    assert_eq!(g.extra.len(), 1, "{g:?}");
    assert_eq!(
        g.extra[0].rule,
        "add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 ip saddr 203.0.113.9 drop comment \"added by hand\""
    );
    assert!(g.missing.is_empty() && g.changed.is_empty() && g.reordered.is_empty());
}

#[test]
fn a_changed_endpoint_port_is_a_changed_rule() {
    let (c, s, real) = overall();
    let text = edit(
        &real,
        "dnat to 10.180.0.5:80\n",
        "dnat to 10.180.0.5:8080\n",
    );
    let r = run(&c, &s, &text);
    let g = only(&r, "ns4/svc4:p80");
    assert_eq!(g.changed.len(), 1, "{g:?}");
    let ch = &g.changed[0];
    assert_eq!(
        ch.chain,
        "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80"
    );
    assert!(ch
        .expected
        .ends_with("meta l4proto tcp dnat to 10.180.0.5:80"));
    assert!(ch
        .actual
        .ends_with("meta l4proto tcp dnat to 10.180.0.5:8080"));
    assert!(g.missing.is_empty() && g.extra.is_empty());
    let text = svccore::audit::render_text(&r);
    assert!(text.contains("  changed  endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80\n       want add rule ip kube-proxy"), "{text}");
}

#[test]
fn a_missing_element_is_found_by_its_key() {
    let (c, s, real) = overall();
    let text = edit(
        &real,
        "\t\t\t     172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80,\n",
        "",
    );
    let r = run(&c, &s, &text);
    let g = only(&r, "ns3/svc3:p80");
    assert_eq!(g.missing.len(), 1);
    assert_eq!(g.missing[0].chain, "service-ips");
    assert_eq!(
        g.missing[0].rule,
        "add element ip kube-proxy service-ips { 172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80 }"
    );
    assert_eq!(r.actual_elements + 1, r.expected_elements);
}

#[test]
fn extra_elements_go_to_the_port_they_lead_to_or_the_node() {
    let (c, s, real) = overall();
    // An unknown node port leading to ns3's chain, and an address nothing owns.
    let text = edit(
        &real,
        "\t\telements = { tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80,\n",
        "\t\telements = { tcp . 3009 : goto external-4AT6LBPK-ns3/svc3/tcp/p80, tcp . 3001 : goto external-42NFTM6N-ns2/svc2/tcp/p80,\n",
    );
    let text = edit(
        &text,
        "\t\telements = { 192.168.0.2 }\n",
        "\t\telements = { 192.168.0.2, 192.168.0.3 }\n",
    );
    let r = run(&c, &s, &text);
    let groups: Vec<&str> = r
        .service_ports
        .iter()
        .map(|g| g.service_port.as_str())
        .collect();
    assert_eq!(groups, [NODE_GROUP, "ns3/svc3:p80"]);
    assert_eq!(
        group(&r, "ns3/svc3:p80").extra[0].rule,
        "add element ip kube-proxy service-nodeports { tcp . 3009 : goto external-4AT6LBPK-ns3/svc3/tcp/p80 }"
    );
    assert_eq!(
        group(&r, NODE_GROUP).extra[0].rule,
        "add element ip kube-proxy nodeport-ips { 192.168.0.3 }"
    );
}

#[test]
fn a_changed_verdict_or_comment_is_a_changed_element() {
    let (c, s, real) = overall();
    let text = edit(
        &real,
        "172.30.0.46 . tcp . 80 comment \"ns6/svc6:p80\" : goto reject-chain }",
        "172.30.0.46 . tcp . 80 comment \"ns6/svc6:p80\" : drop }",
    );
    let r = run(&c, &s, &text);
    let g = only(&r, "ns6/svc6:p80");
    assert_eq!(g.changed.len(), 1);
    assert_eq!(g.changed[0].chain, "no-endpoint-services");
    assert!(g.changed[0].actual.ends_with(": drop }"));
    // A cluster IP dropped from cluster-ips is its service port's.
    let text = edit(
        &real,
        "\t\t\t     172.30.0.45, 172.30.0.46 }\n",
        "\t\t\t     172.30.0.45 }\n",
    );
    let r = run(&c, &s, &text);
    assert_eq!(
        only(&r, "ns6/svc6:p80").missing[0].rule,
        "add element ip kube-proxy cluster-ips { 172.30.0.46 }"
    );
}

#[test]
fn chains_and_sets_missing_or_extra_and_declarations_changed() {
    let (c, s, real) = overall();
    // Remove the firewall chain block (and its blank line).
    let block = "\tchain firewall-HVFWP5L3-ns5/svc5/tcp/p80 {\n\t\tip saddr != 203.0.113.0/25 drop\n\t}\n\n";
    let text = edit(&real, block, "");
    // A stale chain of a deleted service, and a base chain at another priority.
    let text = edit(
        &text,
        "\tchain filter-forward {\n",
        "\tchain endpoint-AAAAAAAA-gone/old/tcp/http__10.1.1.1/80 {\n\t}\n\n\tchain filter-forward {\n",
    );
    let text = edit(&text, "priority dstnat - 10;", "priority dstnat;");
    let r = run(&c, &s, &text);
    let fw = group(&r, "ns5/svc5:p80");
    assert_eq!(
        fw.missing_chains,
        ["ip kube-proxy firewall-HVFWP5L3-ns5/svc5/tcp/p80"]
    );
    assert_eq!(fw.missing.len(), 1);
    assert_eq!(
        group(&r, "gone/old:http").extra_chains,
        ["ip kube-proxy endpoint-AAAAAAAA-gone/old/tcp/http__10.1.1.1/80"]
    );
    let node = group(&r, NODE_GROUP);
    assert_eq!(node.changed.len(), 1);
    assert_eq!(
        node.changed[0].expected,
        "add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; policy accept ; }"
    );
    assert!(node.changed[0].actual.contains("priority -100 ;"));

    // The affinity set gone: a missing set of ns5.
    let set = "\tset affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout 3h\n\t}\n\n";
    let r = run(&c, &s, &edit(&real, set, ""));
    assert_eq!(
        only(&r, "ns5/svc5:p80").missing_sets,
        ["ip kube-proxy affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"]
    );
    // Its timeout changed: a changed declaration.
    let r = run(&c, &s, &edit(&real, "\t\ttimeout 3h\n", "\t\ttimeout 1h\n"));
    let g = only(&r, "ns5/svc5:p80");
    assert!(g.changed[0].expected.contains("timeout 10800s ;"), "{g:?}");
    assert!(g.changed[0].actual.contains("timeout 3600s ;"), "{g:?}");
}

#[test]
fn swapped_rules_are_a_reordering() {
    let (c, s, real) = overall();
    let a = "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n";
    let b = "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports\n";
    let text = edit(&real, &format!("{a}{b}"), &format!("{b}{a}"));
    let r = run(&c, &s, &text);
    let g = only(&r, NODE_GROUP);
    assert_eq!(g.reordered, ["ip kube-proxy services"]);
    assert!(g.missing.is_empty() && g.extra.is_empty() && g.changed.is_empty());
}

#[test]
fn learned_affinity_entries_counters_handles_and_other_tables_are_not_drift() {
    let (c, s, real) = overall();
    // What `nft -a list ruleset` prints on a busy node with a firewall table around ours.
    let mut text = String::from(
        "table inet filter { # handle 1\n\tset allowed { # handle 3\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/8, 192.168.1.1 }\n\t}\n\n\tchain input { # handle 1\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 22 counter packets 10 bytes 600 accept comment \"ssh {x}\" # handle 2\n\t}\n}\n",
    );
    text.push_str(&edit(
        &real,
        "\t\ttimeout 3h\n\t}\n",
        "\t\ttimeout 3h\n\t\telements = { 10.0.0.7 timeout 3h expires 2h59m58s120ms, 10.0.0.9 expires 1h }\n\t}\n",
    ));
    text.push_str("table ip6 kube-proxy {\n\tcomment \"rules for kube-proxy\"\n\tchain x {\n\t\tdrop\n\t}\n}\ntable ip nat {\n}\n");
    let text = edit(
        &text,
        "\t\tmasquerade fully-random\n",
        "\t\tcounter packets 3 bytes 180 masquerade fully-random # handle 77\n",
    );
    let r = run(&c, &s, &text);
    // Counter values are dropped but the counter statement itself is not kube-proxy's.
    let g = only(&r, NODE_GROUP);
    assert_eq!(g.changed.len(), 1, "{g:?}");
    assert_eq!(
        g.changed[0].actual,
        "add rule ip kube-proxy masquerading counter masquerade fully-random"
    );
    let text = text.replace(
        "\t\tcounter packets 3 bytes 180 masquerade fully-random # handle 77\n",
        "\t\tmasquerade fully-random # handle 77\n",
    );
    let r = run(&c, &s, &text);
    assert!(!r.has_drift(), "{}", svccore::audit::render_text(&r));
}

#[test]
fn a_node_without_the_table_misses_everything() {
    let (c, s, _) = overall();
    let r = run(&c, &s, "table inet filter {\n}\n");
    let node = group(&r, NODE_GROUP);
    assert_eq!(
        node.missing[0].rule,
        "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }"
    );
    assert_eq!(r.actual_rules, 0);
    assert_eq!(r.clean_service_ports, 0);
    let r = run(&c, &s, "");
    assert!(r.has_drift());
    // A table taken over (`flags owner`) is a changed table.
    let (_, _, real) = overall();
    let text = edit(
        &real,
        "\tcomment \"rules for kube-proxy\"\n",
        "\tflags owner\n\tcomment \"rules for kube-proxy\"\n",
    );
    let r = run(&c, &s, &text);
    let g = only(&r, NODE_GROUP);
    assert_eq!(
        (g.changed[0].expected.as_str(), g.changed[0].actual.as_str()),
        (
            "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }",
            "add table ip kube-proxy { flags owner ; comment \"rules for kube-proxy\" ; }"
        )
    );
}

#[test]
fn ipv6_tables_audit_against_their_own_list_form() {
    let (c, mut s, _) = overall();
    s.ip_family = svccore::model::IpFamily::IPv6;
    s.node.ips = vec!["2001:db8::1".parse().unwrap()];
    let v6 = render(&c, &s, Form::List).unwrap();
    assert!(v6.starts_with("table ip6 kube-proxy {"));
    let r = run(&c, &s, &format!("table ip kube-proxy {{\n}}\n{v6}"));
    assert!(!r.has_drift(), "{}", svccore::audit::render_text(&r));
}

#[test]
fn garbage_is_an_error_with_file_and_line() {
    let (c, s, real) = overall();
    let cases: [(&str, &str); 7] = [
        ("hello world\n", "node.nft: line 1: expected `table FAMILY NAME {`"),
        ("add table ip kube-proxy\n", "node.nft: line 1: `add …` is nft input"),
        ("table ip kube-proxy {\n\tchain a {\n\t\tdrop\n", "node.nft: line 2: chain a is not closed"),
        ("table ip kube-proxy {\n\tset s {\n\t\ttype ipv4_addr\n\t\tbogus 1\n\t}\n}\n", "node.nft: line 4: set s: unexpected `bogus 1`"),
        ("table ip kube-proxy {\n\tmap m {\n\t\ttype ipv4_addr : verdict\n\t\telements = { 1.2.3.4 }\n\t}\n}\n", "node.nft: line 4: map m: element `1.2.3.4` has no `: VALUE`"),
        ("table ip kube-proxy {\n\tchain a {\n\t\ttype filter hook input priority sideways; policy accept;\n\t}\n}\n", "node.nft: line 3: chain a: bad priority `sideways`"),
        ("table ip kube-proxy {\n\tchain a {\n\t}\n\n\tchain a {\n\t}\n}\n", "node.nft: line 5: a second chain a"),
    ];
    for (text, want) in cases {
        let e = audit(&c, &s, text, Some("node.nft")).unwrap_err();
        assert!(matches!(e, Error::Dump(_)), "{e:?}");
        assert!(e.to_string().contains(want), "{e} / {want}");
    }
    // A cut-off listing names the line of the block left open.
    let cut = &real[..real.find("\tchain masquerading").unwrap() + 40];
    let e = audit(&c, &s, cut, Some("node.nft")).unwrap_err();
    assert!(
        e.to_string().contains("chain masquerading is not closed"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Garbled listings (lines dropped, duplicated, cut or salted with braces, quotes and
    /// keywords) give a report or a located error, never a panic.
    #[test]
    fn garbled_listings_never_panic(
        ops in prop::collection::vec((0usize..200, 0u8..6, "[{}\" a-z0-9:.,;#/-]{0,12}"), 0..12)
    ) {
        let real = std::fs::read_to_string(conformance_common::dir("nftables").join("overall/kernel-list.txt")).unwrap();
        let mut lines: Vec<String> = real.lines().map(str::to_owned).collect();
        for (at, op, junk) in ops {
            if lines.is_empty() { break; }
            let i = at % lines.len();
            match op {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(i, l); }
                2 => { let l = &mut lines[i]; let cut = l.char_indices().map(|(k, _)| k).nth(at % (l.len() + 1)).unwrap_or(l.len()); l.truncate(cut); }
                3 => lines[i].push_str(&junk),
                4 => lines.insert(i, junk),
                _ => lines[i] = format!("\t\t{junk} {}", lines[i].trim()),
            }
        }
        let text = lines.join("\n");
        match parse_listing(&text, Some("g.nft"), Family::Ip) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_string().contains("g.nft: line "), "{}", e),
        }
        let (c, s, _) = overall();
        let _ = audit(&c, &s, &text, Some("g.nft"));
    }

    /// Any bytes at all.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = parse_listing(&text, None, Family::Ip6);
        let _ = parse_listing(&format!("table ip kube-proxy {{\n{text}\n}}\n"), None, Family::Ip);
    }
}
