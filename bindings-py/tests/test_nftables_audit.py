"""`Cluster.audit(..., mode="nftables")` and `svccore audit --mode nftables` on real `nft list`
output: every conformance case's `kernel-list.txt` (nftables 1.0.6, captured from the kernel)
against the case's own cluster and settings, untouched and edited as a drifted node would be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import svccore
from conftest import REPO
from test_cli import run

CASES_DIR = REPO / "tests" / "conformance" / "nftables"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "expected.txt").is_file())
OVERALL = CASES_DIR / "overall"


def _case(case: Path) -> tuple[svccore.Cluster, svccore.ProxierSettings, str]:
    cluster = svccore.Cluster.from_files(case / "cluster.json")
    settings = svccore.ProxierSettings.from_json(
        (case / "proxy.json").read_text(), file="proxy.json"
    )
    return cluster, settings, (case / "kernel-list.txt").read_text()


def _audit(text: str) -> svccore.AuditReport:
    cluster, settings, _ = _case(OVERALL)
    return cluster.audit(
        text, node="test-node", mode="nftables", proxier_settings=settings, file="node.nft"
    )


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_case_kernel_listing_has_no_drift(case: Path) -> None:
    cluster, settings, real = _case(case)
    report = cluster.audit(real, node="test-node", mode="nftables", proxier_settings=settings)
    assert not report.has_drift, str(report)
    assert report.mode == "nftables"
    d = report.to_dict()
    assert d["expected_rules"] == d["actual_rules"] > 20
    assert d["expected_elements"] == d["actual_elements"]
    assert str(report).endswith("no drift\n")


def test_deleted_added_and_changed_rules_per_service_port() -> None:
    real = (OVERALL / "kernel-list.txt").read_text()
    text = _edit(real, "\t\tip saddr 10.180.0.1 jump mark-for-masquerade\n", "")
    text = _edit(
        text,
        "\tchain service-LAUZTJTB-ns4/svc4/tcp/p80 {\n",
        "\tchain service-LAUZTJTB-ns4/svc4/tcp/p80 {\n\t\tip saddr 203.0.113.9 drop\n",
    )
    text = _edit(text, "dnat to 10.180.0.3:80\n\t}\n\n\tchain endpoint-SGOXE6O3", "dnat to "
                 "10.180.0.3:8080\n\t}\n\n\tchain endpoint-SGOXE6O3")  # fmt: skip
    r = _audit(text)
    assert r.has_drift
    assert r.service_ports == ["ns1/svc1:p80", "ns4/svc4:p80", "ns5/svc5:p80"]
    assert r.missing == {
        "ns1/svc1:p80": [
            "add rule ip kube-proxy endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 "
            "ip saddr 10.180.0.1 jump mark-for-masquerade"
        ]
    }
    assert r.extra == {
        "ns4/svc4:p80": ["add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 ip saddr "
                         "203.0.113.9 drop"]
    }  # fmt: skip
    ((want, have),) = r.changed["ns5/svc5:p80"]
    assert want.endswith("meta l4proto tcp dnat to 10.180.0.3:80")
    assert have.endswith("meta l4proto tcp dnat to 10.180.0.3:8080")
    assert r.clean_service_ports == 3


def test_missing_and_extra_elements_per_service_port() -> None:
    real = (OVERALL / "kernel-list.txt").read_text()
    text = _edit(
        real, "\t\t\t     172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80,\n", ""
    )
    text = _edit(
        text,
        '\t\telements = { tcp . 3001 comment "ns2/svc2:p80" : drop }',
        '\t\telements = { tcp . 3001 comment "ns2/svc2:p80" : drop,\n'
        '\t\t\t     tcp . 3999 comment "ns2/svc2:p80" : drop }',
    )
    r = _audit(text)
    assert r.missing == {
        "ns3/svc3:p80": [
            "add element ip kube-proxy service-ips "
            "{ 172.30.0.43 . tcp . 80 : goto service-4AT6LBPK-ns3/svc3/tcp/p80 }"
        ]
    }
    assert r.extra == {
        "ns2/svc2:p80": [
            'add element ip kube-proxy no-endpoint-nodeports { tcp . 3999 comment "ns2/svc2:p80" '
            ": drop }"
        ]
    }
    groups = {g["service_port"]: g for g in r.to_dict()["service_ports"]}
    assert groups["ns3/svc3:p80"]["missing"][0]["chain"] == "service-ips"


def test_ruleset_with_other_tables_and_learned_affinity_entries_is_clean() -> None:
    real = (OVERALL / "kernel-list.txt").read_text()
    learned = _edit(
        real,
        "\t\ttimeout 3h\n\t}\n",
        "\t\ttimeout 3h\n\t\telements = { 10.0.0.7 timeout 3h expires 2h59m58s120ms }\n\t}\n",
    )
    ruleset = (
        "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; "
        'policy accept;\n\t\ttcp dport 22 counter packets 4 bytes 240 accept comment "ssh"\n'
        "\t}\n}\n" + learned + 'table ip6 kube-proxy {\n\tcomment "rules for kube-proxy"\n}\n'
    )
    assert not _audit(ruleset).has_drift


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("garbage\n", "node.nft: line 1: "),
        ("table ip kube-proxy {\n\tchain a {\n\t\ttype nat hook x\n\t}\n}\n", "node.nft: line 3: "),
        ("table ip kube-proxy {\n\tset s {\n\t\ttype ipv4_addr\n", "node.nft: line 2: "),
    ],
)
def test_garbage_is_a_dump_error_with_its_line(text: str, where: str) -> None:
    with pytest.raises(svccore.DumpError) as e:
        _audit(text)
    assert where in str(e.value)
    assert e.value.errors[0].path == where.split(": ")[1]
    assert e.value.errors[0].file == "node.nft"


def test_flags_of_the_other_mode_and_unknown_modes_are_refused() -> None:
    cluster, _, real = _case(OVERALL)
    with pytest.raises(svccore.InvalidArgumentError, match="iptables"):
        cluster.audit(real, node="n", mode="nftables", random_fully=True)
    with pytest.raises(svccore.InvalidArgumentError, match="unknown mode"):
        cluster.audit(real, node="n", mode="ipvs")


def _cli(*args: str) -> tuple[int, str, str]:
    p = run(
        "audit", "--mode", "nftables", "-f", str(OVERALL / "cluster.json"),
        "--proxier-settings", str(OVERALL / "proxy.json"), "--node", "test-node", *args,
    )  # fmt: skip
    return p.returncode, p.stdout, p.stderr


def test_cli_exit_codes_text_and_json(tmp_path: Path) -> None:
    rc, out, err = _cli("--actual", str(OVERALL / "kernel-list.txt"))
    assert rc == 0, err
    assert "(IPv4, nftables)" in out and out.endswith("no drift\n")
    assert "service CIDRs 172.30.0.0/16" in err
    drift = tmp_path / "node.nft"
    real = (OVERALL / "kernel-list.txt").read_text()
    drift.write_text(_edit(real, "dnat to 10.180.0.5:80\n", "dnat to 10.180.0.5:81\n"))
    rc, out, _ = _cli("--actual", str(drift))
    assert rc == 1
    assert "\nns4/svc4:p80:\n  changed  endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80\n" in out
    rc, out, _ = _cli("--actual", str(drift), "-o", "json")
    d = json.loads(out)
    assert rc == 1 and d["has_drift"] and d["mode"] == "nftables"
    assert [g["service_port"] for g in d["service_ports"]] == ["ns4/svc4:p80"]
    bad = tmp_path / "bad.nft"
    bad.write_text("table ip kube-proxy {\n\tchain a {\n")
    rc, out, err = _cli("--actual", str(bad))
    assert rc == 1 and "Traceback" not in err
    assert f"{bad}: line 2: chain a is not closed" in err


def test_cli_help_names_the_nft_version_and_mode() -> None:
    p = run("audit", "--help")
    assert p.returncode == 0
    for w in ("--mode", "nftables 1.0.6", "nft list ruleset", "--service-cidrs"):
        assert w in " ".join(p.stdout.split()), w
