//! audit of real node dumps in every shape people paste (tests/node-dumps, see its README):
//! `iptables-save -c`, `iptables-legacy-save`, `iptables -S` / `-t nat -S` / `-v -S`, and the
//! `iptables -L` listings that are refused; exact messages.

use std::path::{Path, PathBuf};

use svccore::audit::{audit_with, render_text, ActualDump, AuditReport};
use svccore::render::iptables::ProxierSettings;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/node-dumps")
}

fn case(sub: &str) -> (svccore::Cluster, ProxierSettings) {
    let dir = dir().join(sub);
    let c = std::fs::read_to_string(dir.join("cluster.json")).unwrap();
    let p = std::fs::read_to_string(dir.join("proxy.json")).unwrap();
    let cluster = svccore::load::load_strs([(Some("cluster.json"), c.as_str())]).unwrap();
    (cluster, ProxierSettings::from_json_str(&p, None).unwrap())
}

fn overall() -> (svccore::Cluster, ProxierSettings) {
    case("../conformance/iptables/overall-no-nfacct")
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap()
}

fn audit_sample(name: &str, table: Option<&str>) -> svccore::Result<AuditReport> {
    let (cluster, s) = overall();
    let how = ActualDump {
        file: Some(name),
        table,
    };
    audit_with(&cluster, &s, &sample(name), how)
}

fn err(name: &str, text: &str, table: Option<&str>) -> String {
    let (cluster, s) = overall();
    let how = ActualDump {
        file: Some(name),
        table,
    };
    audit_with(&cluster, &s, text, how).unwrap_err().to_string()
}

#[test]
fn save_outputs_of_both_backends_with_counters_have_no_drift_and_no_notes() {
    for name in ["iptables-nft-save-c.txt", "iptables-legacy-save.txt"] {
        let r = audit_sample(name, None).unwrap();
        assert!(!r.has_drift(), "{name}: {}", render_text(&r));
        assert!(r.notes.is_empty(), "{name}: {:?}", r.notes);
        assert_eq!(r.actual_rules, r.expected_rules, "{name}");
    }
}

#[test]
fn one_table_of_iptables_s_is_inferred_compared_alone_and_said() {
    for (name, table) in [
        ("iptables-t-nat-S.txt", "nat"),
        ("iptables-t-nat-v-S.txt", "nat"),
        ("iptables-S.txt", "filter"),
    ] {
        for given in [None, Some(table)] {
            let r = audit_sample(name, given).unwrap();
            assert!(!r.has_drift(), "{name}: {}", render_text(&r));
            assert_eq!(
                r.notes,
                [format!(
                    "read as `iptables -t {table} -S` output: only the {table} table is compared; \
                     audit `iptables-save` output to compare the filter and nat tables together"
                )]
            );
        }
    }
    // The nat table alone: fewer rules than the whole node, all of them found.
    let nat = audit_sample("iptables-t-nat-S.txt", None).unwrap();
    let all = audit_sample("iptables-nft-save-c.txt", None).unwrap();
    assert!(nat.expected_rules < all.expected_rules);
    assert_eq!(nat.actual_rules, nat.expected_rules);
}

#[test]
fn drift_in_iptables_s_output_is_found() {
    let (cluster, s) = overall();
    let text = sample("iptables-t-nat-S.txt");
    let from = "-j DNAT --to-destination 10.180.0.1:80";
    assert!(text.contains(from));
    let edited = text.replace(from, "-j DNAT --to-destination 10.180.0.9:80");
    let r = audit_with(&cluster, &s, &edited, ActualDump::default()).unwrap();
    assert_eq!(r.service_ports.len(), 1, "{}", render_text(&r));
    assert_eq!(r.service_ports[0].service_port, "ns1/svc1:p80");
    assert_eq!(r.service_ports[0].changed.len(), 1);
}

#[test]
fn iptables_l_listings_are_refused_with_the_command_to_run() {
    for name in ["iptables-t-nat-L-n.txt", "iptables-t-nat-L-n-v.txt"] {
        let first = sample(name).lines().next().unwrap().to_owned();
        assert_eq!(
            err(name, &sample(name), None),
            format!(
                "cannot parse dump: {name}: line 1: this is `iptables -L` output ({first:?}), which \
                 drops what the audit compares (negations, match options, comment quoting, mark \
                 masks): run `iptables-save` on the node (`iptables-save -t nat` for one table) and \
                 audit its output"
            )
        );
    }
}

#[test]
fn two_tables_of_iptables_s_in_one_text_are_an_error_naming_the_line() {
    let filter = sample("iptables-S.txt");
    let both = filter.clone() + &sample("iptables-t-nat-S.txt");
    let n = filter.lines().count() + 1;
    assert_eq!(
        err("both.S", &both, None),
        format!(
            "cannot parse dump: both.S: line {n}: line {n} (the -P lines: PREROUTING, INPUT, OUTPUT, \
             POSTROUTING) is of the nat table, but line 1 (the -P lines: INPUT, FORWARD, OUTPUT) of \
             the filter table: `iptables -S` lists one table; give each table's output on its own, \
             or `iptables-save` output"
        )
    );
    // Without -P lines (`iptables -S CHAIN` pasted one after another): kube-proxy's chains.
    let grepped = "-N KUBE-FORWARD\n-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\
                   -N KUBE-MARK-MASQ\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n";
    assert_eq!(
        err("chains.S", grepped, None),
        "cannot parse dump: chains.S: line 3: line 3 (chain KUBE-MARK-MASQ) is of the nat table, but \
         line 1 (chain KUBE-FORWARD) of the filter table: `iptables -S` lists one table; give each \
         table's output on its own, or `iptables-save` output"
    );
}

#[test]
fn a_table_given_must_agree_with_the_output_and_be_filter_or_nat() {
    let nat = sample("iptables-t-nat-S.txt");
    assert_eq!(
        err("nat.S", &nat, Some("filter")),
        "cannot parse dump: nat.S: line 1: line 1 (the -P lines: PREROUTING, INPUT, OUTPUT, \
         POSTROUTING) is of the nat table, not of the table given (filter)"
    );
    assert_eq!(
        err("nat.S", &nat, Some("mangle")),
        "table \"mangle\": kube-proxy's iptables rules are in the filter and nat \
         tables"
    );
    let mangle = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n\
                  -P POSTROUTING ACCEPT\n-N KUBE-PROXY-CANARY\n";
    assert_eq!(
        err("mangle.S", mangle, None),
        "cannot parse dump: mangle.S: line 1: this is the mangle table's `iptables -S` output (its \
         -P lines); kube-proxy's rules are in the filter and nat tables: give `iptables -t nat -S` \
         or `iptables -S` output"
    );
    assert_eq!(
        err("services.S", "-N KUBE-SERVICES\n-N KUBE-NODEPORTS\n", None),
        "cannot parse dump: services.S: cannot tell which table this `iptables -S` output lists (no \
         -P lines, no chain of one table): name it (--table nat or --table filter, table=)"
    );
}

#[test]
fn a_table_given_restricts_an_iptables_save_output_and_a_missing_table_is_said() {
    let (cluster, s) = overall();
    let save = sample("iptables-nft-save-c.txt");
    // `iptables-save -t nat`: the nat section alone.
    let nat_only: String = save[save.find("*nat").unwrap()..].to_owned();
    let r = audit_with(
        &cluster,
        &s,
        &nat_only,
        ActualDump {
            file: None,
            table: Some("nat"),
        },
    )
    .unwrap();
    assert!(!r.has_drift(), "{}", render_text(&r));
    assert!(r.notes.is_empty());
    let r = audit_with(&cluster, &s, &nat_only, ActualDump::default()).unwrap();
    assert!(r.has_drift());
    assert_eq!(
        r.notes,
        [
            "the dump has no filter table (`iptables-save -t nat`?): its kube-proxy rules are \
          reported missing; give --table nat (table=\"nat\") to compare the nat table alone"
        ]
    );
}

#[test]
fn unparsable_lines_name_the_file_the_line_and_what_it_says() {
    let save = sample("iptables-legacy-save.txt");
    let bad = save.replacen("-m comment --comment", "-m comment --coment", 1);
    let n = bad.lines().position(|l| l.contains("--coment")).unwrap() + 1;
    let line = bad.lines().nth(n - 1).unwrap();
    assert_eq!(
        err("node1.save", &bad, None),
        format!("cannot parse dump: node1.save: line {n}: option --coment does not belong to the preceding match in {line:?}")
    );
    assert_eq!(
        err("node1.save", "garbage\n", None),
        "cannot parse dump: node1.save: line 1: \"garbage\" is outside a table: iptables-save output \
         opens each table with a *filter, *nat, ... line"
    );
    let cut = &save[..save.find("COMMIT").unwrap()];
    assert_eq!(
        err("node1.save", cut, None),
        format!(
            "cannot parse dump: node1.save: line {}: the table of line 2 does not end with COMMIT (a \
             cut-off dump?)",
            cut.lines().count()
        )
    );
    let s_bad = sample("iptables-t-nat-S.txt").replacen("-N KUBE-SERVICES", "-X KUBE-SERVICES", 1);
    let n = s_bad.lines().position(|l| l == "-X KUBE-SERVICES").unwrap() + 1;
    assert_eq!(
        err("nat.S", &s_bad, None),
        format!(
            "cannot parse dump: nat.S: line {n}: iptables -S prints only -P, -N and -A lines; \
             unexpected line in \"-X KUBE-SERVICES\""
        )
    );
    assert_eq!(
        err("ruleset.nft", "table ip kube-proxy {\n}\n", None),
        "cannot parse dump: ruleset.nft: line 1: this is `nft list` output: audit it in nftables \
         mode (--mode nftables, mode=\"nftables\")"
    );
}

#[test]
fn an_older_kube_proxys_rules_get_notes_naming_each_sign_and_the_releases() {
    let (cluster, s) = case("old-kube-proxy");
    let name = "old-kube-proxy/iptables-save.txt";
    let text = sample(name);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let how = ActualDump {
        file: Some(name),
        table: None,
    };
    let r = audit_with(&cluster, &s, &text, how).unwrap();
    assert!(r.has_drift());
    assert_eq!(
        r.notes,
        [
            format!(
                "signs of kube-proxy v1.18 or older: {} comment(s) name a service port without a \
                 port name with a trailing colon (\"default/web:\", first at line {}); kube-proxy \
                 v1.19 and later write \"default/web\", and the KUBE-SVC-/KUBE-SEP- chain names \
                 hashed from that name differ too",
                text.lines()
                    .filter(|l| l.contains("\"default/web:"))
                    .count(),
                line_of("default/web:")
            ),
            format!(
                "signs of kube-proxy v1.16 or older: 1 statistic probability is 1/n rounded to 5 \
                 decimals (0.33332999982 is 0.33333, first at line {}); kube-proxy v1.17 and later \
                 round to 10 decimals",
                line_of("--probability 0.33332999982")
            ),
            format!(
                "signs of kube-proxy v1.20 or older: 1 external-IP rule(s) match \"-m physdev ! \
                 --physdev-is-in\" (first at line {}); kube-proxy v1.21 and later send external-IP \
                 traffic to the service chain without it",
                line_of("--physdev-is-in")
            ),
            "svccore renders current kube-proxy's rules: drift that follows from these signs is \
             the version difference, not a fault of the node"
                .to_owned(),
        ]
    );
    // The report says it before the drift.
    let out = render_text(&r);
    let first_group = out.find("\n\n").unwrap();
    assert!(out[..first_group].contains("\nnote: signs of kube-proxy v1.18 or older"));
    // Current kube-proxy's rules for the same cluster show none of the signs.
    let current =
        svccore::render::iptables::render(&cluster, &s, svccore::render::iptables::Form::Save)
            .unwrap();
    let r = audit_with(&cluster, &s, &current, ActualDump::default()).unwrap();
    assert!(!r.has_drift() && r.notes.is_empty(), "{}", render_text(&r));
}

#[test]
fn the_nft_backends_warning_of_legacy_tables_is_a_note() {
    // The line iptables-save (nf_tables) printed here when the namespace also held legacy
    // tables (make-samples.sh loads the backends in separate namespaces to avoid it).
    let save = sample("iptables-nft-save-c.txt").replacen(
        "*filter\n",
        "*filter\n# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n",
        1,
    );
    let (cluster, s) = overall();
    let r = audit_with(&cluster, &s, &save, ActualDump::default()).unwrap();
    assert!(!r.has_drift());
    assert_eq!(
        r.notes,
        ["the node also has iptables-legacy tables (the nft backend's warning line): a kube-proxy \
          using the legacy backend wrote its rules there; audit `iptables-legacy-save` output too"]
    );
}

#[test]
fn ipvsadm_output_is_refused_naming_what_the_audit_reads() {
    for text in [
        "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n",
        "-A -t 10.96.0.1:443 -s rr\n-a -t 10.96.0.1:443 -r 192.168.0.2:6443 -m -w 1\n",
    ] {
        assert_eq!(
            err("node.ipvs", text, None),
            "cannot parse dump: node.ipvs: line 1: this is `ipvsadm` output: the audit reads \
             kube-proxy's iptables rules (`iptables-save`) or nftables table (`nft list`)"
        );
    }
}

#[test]
fn ipvs_modes_rules_are_named_and_not_taken_for_an_older_iptables_mode() {
    // kube-proxy's ipvs mode in nat KUBE-SERVICES (spec: ipvs.md): its external-IP ACCEPT rule
    // has the physdev match that iptables mode dropped in v1.21, with another target.
    let text = "*nat\n:KUBE-SERVICES - [0:0]\n\
        -A KUBE-SERVICES ! -s 10.0.0.0/8 -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n\
        -A KUBE-SERVICES -m comment --comment \"Kubernetes service external ip + port for masquerade and filter purpose\" -m set --match-set KUBE-EXTERNAL-IP dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT\n\
        COMMIT\n";
    let (cluster, s) = overall();
    let how = ActualDump {
        file: None,
        table: Some("nat"),
    };
    let r = audit_with(&cluster, &s, text, how).unwrap();
    assert_eq!(
        r.notes,
        ["the rules look like kube-proxy's ipvs mode (ipset KUBE-CLUSTER-IP matched at line 3): \
          the iptables audit compares iptables mode's rules; compare the node's `ipvsadm -Ln` \
          with `svccore render ipvs`"]
    );
}
