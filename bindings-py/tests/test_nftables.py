"""kube-proxy's nftables mode through Python and the command: `Cluster.render_nftables` and
`svccore render nftables`, including every case of tests/conformance/nftables checked by the
fixtures' own comparer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import svccore
from conftest import DATA, REPO
from test_cli import run

CASES_DIR = REPO / "tests" / "conformance" / "nftables"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "expected.txt").is_file())
SHOP = str(DATA / "shop.yaml")


def test_the_conformance_cases_are_found() -> None:
    # Discovered, not listed: every folder with an expected.txt is a case.
    assert CASES
    assert {c.name for c in CASES} >= {"overall", "bad-ips", "repeated-01-initial"}


def _compare(case: Path, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "output.txt"
    out.write_text(text)
    return subprocess.run(
        [sys.executable, str(CASES_DIR / "check_fixtures.py"), "--compare", str(case), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_render_nftables_command_matches_the_golden(case: Path, tmp_path: Path) -> None:
    p = run(
        "render",
        "nftables",
        "-f",
        str(case / "cluster.json"),
        "--proxier-settings",
        str(case / "proxy.json"),
        "--form",
        "dump",
    )
    assert p.returncode == 0, p.stderr
    check = _compare(case, p.stdout, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == f"PASS {case.name}\n"


@pytest.mark.parametrize("case", CASES[:3], ids=[c.name for c in CASES[:3]])
def test_render_nftables_method_load_form_normalizes_to_the_golden(
    case: Path, tmp_path: Path
) -> None:
    c = svccore.Cluster.from_files(case / "cluster.json")
    text = c.render_nftables(proxier_settings=case / "proxy.json", form="load")
    kinds = [line.split(" ")[1] for line in text.splitlines()]
    order = ["table", "chain", "set", "map", "rule", "element"]
    assert [order.index(k) for k in kinds] == sorted(order.index(k) for k in kinds)
    check = _compare(case, text, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_wrong_golden_is_reported_by_the_comparer(tmp_path: Path) -> None:
    case = CASES_DIR / "overall"
    c = svccore.Cluster.from_files(case / "cluster.json")
    text = c.render_nftables(proxier_settings=case / "proxy.json")
    check = _compare(case, text.replace("0x4000", "0x8000"), tmp_path)
    assert check.returncode == 1


def test_flags_override_the_settings_file() -> None:
    case = CASES_DIR / "overall"
    c = svccore.Cluster.from_files(case / "cluster.json")
    text = c.render_nftables(
        proxier_settings=case / "proxy.json",
        masquerade_mark="0x8000",
        service_cidrs=["172.30.0.0/16", "172.31.0.0/16", "fd00::/108"],
        nodeport_addresses=None,
        cluster_cidr="10.1.0.0/16",
    )
    assert "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x8000\n" in text
    assert 'ip daddr { 172.30.0.0/16,172.31.0.0/16 } drop comment "Drop traffic' in text
    assert "ip saddr != 10.1.0.0/16 jump mark-for-masquerade" in text


def test_ipv6_family_renders_the_ip6_table() -> None:
    c = svccore.Cluster.from_yaml(
        """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: fd00::10, clusterIPs: [fd00::10], ipFamilies: [IPv6], ports: [{port: 80}]}
"""
    )
    text = c.render_nftables(node="node-a", family="IPv6", nodeport_addresses=["fd00:1::/64"])
    assert text.startswith('add table ip6 kube-proxy { comment "rules for kube-proxy" ; }\n')
    assert (
        "add element ip6 kube-proxy no-endpoint-services "
        '{ fd00::10 . tcp . 80 comment "shop/web" : goto reject-chain }' in text
    )
    assert "add set ip6 kube-proxy cluster-ips { type ipv6_addr ;" in text


def test_bad_arguments_raise_the_right_errors() -> None:
    c = svccore.Cluster.from_yaml("")
    with pytest.raises(svccore.InvalidArgumentError, match='unknown nftables form "save"'):
        c.render_nftables(form="save")
    with pytest.raises(svccore.ConfigError, match=r"serviceCIDRs\[0\]"):
        c.render_nftables(service_cidrs=["nope"])
    with pytest.raises(svccore.InvalidArgumentError, match="unknown IP family"):
        c.render_nftables(family="IPv5")
    with pytest.raises(svccore.InvalidArgumentError, match="random_fully"):
        c.render_nftables(random_fully=True)


def test_render_nftables_help_offers_only_nftables_flags() -> None:
    p = run("render", "nftables", "--help")
    assert p.returncode == 0
    for w in (
        "--proxier-settings",
        "--service-cidrs",
        "--cluster-cidr",
        "dump",
        "load",
        "examples:",
    ):
        assert w in p.stdout
    for w in (
        "--nfacct-counter",
        "--random-fully",
        "--iptables-localhost-nodeports",
        "--conntrack-tcp-be-liberal",
    ):
        assert w not in p.stdout
    assert "nftables" in run("render", "--help").stdout


def test_render_nftables_command_flags_and_usage_errors() -> None:
    p = run(
        "render",
        "nftables",
        "-f",
        SHOP,
        "--node",
        "node-a",
        "--service-cidrs",
        "10.96.0.0/16",
        "--form",
        "load",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("add table ip kube-proxy")
    assert "ip daddr { 10.96.0.0/16 } drop" in p.stdout
    p = run("render", "nftables", "-f", SHOP, "--random-fully")
    assert p.returncode == 2
    p = run("render", "nftables", "-f", SHOP, "--form", "save")
    assert p.returncode == 2
