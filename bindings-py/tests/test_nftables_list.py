"""The nftables `list` form and the ServiceCIDR choice through Python and the command.

The kernel's own listing of every conformance case is `kernel-list.txt` (nft 1.0.6, loaded in
name order within each kind); `tests/kernel/test_nftables.py` checks the form against the
kernel directly. Here the command's list form (load order) must hold the same blocks, byte for
byte, in that order once sets, maps and chains are each put in name order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import svccore
from conftest import REPO
from test_cli import run

CASES_DIR = REPO / "tests" / "conformance" / "nftables"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "expected.txt").is_file())

SERVICE_CIDR = """
apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata: {name: kubernetes}
spec: {cidrs: [10.96.0.0/12]}
"""


def _by_name(listing: str) -> str:
    """The listing with its set, map and chain blocks each sorted by name."""
    head, _, body = listing.partition("\n\tset ")
    body = "\tset " + body.rstrip("\n").removesuffix("}")
    blocks = [b if b.endswith("\n") else b + "\n" for b in body.split("\n\n")]
    rank = {"set": 0, "map": 1, "chain": 2}

    def key(block: str) -> tuple[int, bytes]:
        m = re.match(r"\t(set|map|chain) (\S+) \{", block)
        assert m, block
        return rank[m.group(1)], m.group(2).encode()

    return head + "\n" + "\n".join(sorted(blocks, key=key)) + "}\n"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_render_nftables_list_form_holds_the_kernel_listing(case: Path) -> None:
    p = run(
        "render",
        "nftables",
        "-f",
        str(case / "cluster.json"),
        "--proxier-settings",
        str(case / "proxy.json"),
        "--form",
        "list",
    )
    assert p.returncode == 0, p.stderr
    want = (case / "kernel-list.txt").read_text()
    assert _by_name(p.stdout) == want


def test_render_nftables_says_where_the_service_cidrs_came_from(tmp_path: Path) -> None:
    case = CASES_DIR / "overall"
    p = run(
        "render",
        "nftables",
        "-f",
        str(case / "cluster.json"),
        "--proxier-settings",
        str(case / "proxy.json"),
    )
    assert p.returncode == 0, p.stderr
    assert (
        "svccore: service CIDRs 172.30.0.0/16: from --service-cidrs / the serviceCIDRs setting"
        in p.stderr
    )

    objects = tmp_path / "cidr.yaml"
    objects.write_text(SERVICE_CIDR)
    p = run(
        "render",
        "nftables",
        "-f",
        str(case / "cluster.json"),
        "-f",
        str(objects),
        "--proxier-settings",
        str(case / "proxy.json"),
        "--form",
        "list",
    )
    assert p.returncode == 0, p.stderr
    assert "svccore: service CIDRs 10.96.0.0/12: from 1 ServiceCIDR object (kubernetes)" in p.stderr
    assert "\t\tip daddr 10.96.0.0/12 drop comment" in p.stdout

    p = run("render", "nftables", "-f", str(case / "cluster.json"))
    assert "svccore: no service CIDRs" in p.stderr
    assert "unallocated" not in p.stdout


def test_nftables_service_cidrs_reports_the_source() -> None:
    c = svccore.Cluster.from_yaml(SERVICE_CIDR)
    source, cidrs, message = c.nftables_service_cidrs(service_cidrs=["172.30.0.0/16"])
    assert (source, cidrs) == ("objects", ["10.96.0.0/12"])
    assert "ServiceCIDR object (kubernetes)" in message
    empty = svccore.Cluster.from_yaml("apiVersion: v1\nkind: List\nitems: []\n")
    assert empty.nftables_service_cidrs(service_cidrs=["172.30.0.0/16"])[:2] == (
        "settings",
        ["172.30.0.0/16"],
    )
    assert empty.nftables_service_cidrs()[:2] == ("none", [])


def test_bad_service_cidr_object_is_a_validation_error_with_path() -> None:
    c = svccore.Cluster.from_yaml(
        SERVICE_CIDR.replace("10.96.0.0/12", "10.96.0.1/12"), file="c.yaml"
    )
    with pytest.raises(svccore.ValidationError) as e:
        c.render_nftables(node="n", form="list")
    assert [(i.path, i.message) for i in e.value.errors] == [
        (
            "spec.cidrs[0]",
            '"10.96.0.1/12" is not a valid CIDR: must be the network address 10.96.0.0/12',
        )
    ]
    assert e.value.errors[0].file == "c.yaml"
