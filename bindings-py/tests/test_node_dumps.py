"""`svccore audit --actual SAMPLE` and `Cluster.audit` on the real node dumps of
tests/node-dumps (see its README): every shape of a matching node exits 0, drift exits 1,
`iptables -L` listings exit 1 naming `iptables-save`; exact messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import svccore
from conftest import REPO
from test_cli import run

DUMPS = REPO / "tests" / "node-dumps"
CASE = REPO / "tests" / "conformance" / "iptables" / "overall-no-nfacct"
OLD = DUMPS / "old-kube-proxy"


def audit(
    actual: Path | str, *extra: str, case: Path = CASE, node: str = "test-hostname"
) -> subprocess.CompletedProcess[str]:
    return run(
        "audit", "-f", str(case / "cluster.json"), "--proxier-settings", str(case / "proxy.json"),
        "--node", node, "--actual", str(actual), *extra,
    )  # fmt: skip


def only_table(table: str) -> str:
    return (
        f"note: read as `iptables -t {table} -S` output: only the {table} table is compared; "
        "audit `iptables-save` output to compare the filter and nat tables together"
    )


@pytest.mark.parametrize(
    ("sample", "note"),
    [
        ("iptables-nft-save-c.txt", None),
        ("iptables-legacy-save.txt", None),
        ("iptables-t-nat-S.txt", only_table("nat")),
        ("iptables-t-nat-v-S.txt", only_table("nat")),
        ("iptables-S.txt", only_table("filter")),
    ],
)
def test_a_matching_node_in_every_shape_exits_0(sample: str, note: str | None) -> None:
    p = audit(DUMPS / sample)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "no drift"
    assert lines[1:-1] == ([note] if note else [])


@pytest.mark.parametrize(
    ("sample", "table"),
    [("iptables-t-nat-S.txt", None), ("iptables-t-nat-S.txt", "nat"), ("iptables-S.txt", None)],
)
def test_drift_in_iptables_s_output_exits_1(tmp_path: Path, sample: str, table: str | None) -> None:
    text = (DUMPS / sample).read_text()
    edited = text.replace('--comment "ns1/svc1:p80', '--comment "ns1/svc1:p81', 1)
    if "ns1/svc1:p80" not in text:  # the filter table: ns6's REJECT
        edited = text.replace("-j REJECT --reject-with icmp-port-unreachable", "-j DROP")
    assert edited != text
    path = tmp_path / sample
    path.write_text(edited)
    p = audit(path, *(["--table", table] if table else []))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "  changed  [" in p.stdout or "  extra    [" in p.stdout


def test_a_save_dump_with_drift_exits_1(tmp_path: Path) -> None:
    text = (DUMPS / "iptables-legacy-save.txt").read_text()
    path = tmp_path / "legacy.save"
    path.write_text(
        text.replace("--to-destination 10.180.0.1:80", "--to-destination 10.180.0.9:80")
    )
    p = audit(path)
    assert p.returncode == 1
    assert "  changed  [nat] KUBE-SEP-SXIVWICOYRO3J4NJ\n" in p.stdout


@pytest.mark.parametrize("sample", ["iptables-t-nat-L-n.txt", "iptables-t-nat-L-n-v.txt"])
def test_iptables_l_listings_exit_1_naming_iptables_save(sample: str) -> None:
    path = DUMPS / sample
    first = path.read_text().splitlines()[0]
    p = audit(path)
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr.endswith(
        f"svccore: error: cannot parse dump: {path}: line 1: this is `iptables -L` output "
        f'("{first}"), which drops what the audit compares (negations, match options, comment '
        "quoting, mark masks): run `iptables-save` on the node (`iptables-save -t nat` for one "
        "table) and audit its output\n"
    )


def test_two_tables_of_iptables_s_exit_1_naming_the_line(tmp_path: Path) -> None:
    filter_s = (DUMPS / "iptables-S.txt").read_text()
    both = tmp_path / "both.S"
    both.write_text(filter_s + (DUMPS / "iptables-t-nat-S.txt").read_text())
    n = len(filter_s.splitlines()) + 1
    p = audit(both)
    assert p.returncode == 1
    assert p.stderr.endswith(
        f"svccore: error: cannot parse dump: {both}: line {n}: line {n} (the -P lines: "
        "PREROUTING, INPUT, OUTPUT, POSTROUTING) is of the nat table, but line 1 (the -P lines: "
        "INPUT, FORWARD, OUTPUT) of the filter table: `iptables -S` lists one table; give each "
        "table's output on its own, or `iptables-save` output\n"
    )
    p = audit(DUMPS / "iptables-t-nat-S.txt", "--table", "filter")
    assert p.returncode == 1
    assert p.stderr.endswith(
        "line 1: line 1 (the -P lines: PREROUTING, INPUT, OUTPUT, POSTROUTING) is of the nat "
        "table, not of the table given (filter)\n"
    )


def test_an_unparsable_line_names_the_file_the_line_and_the_text(tmp_path: Path) -> None:
    text = (DUMPS / "iptables-nft-save-c.txt").read_text()
    bad = tmp_path / "node.save"
    bad.write_text(text.replace("-m tcp --dport 80", "-m tcp --dprt 80", 1))
    n, line = next(
        (i + 1, ln) for i, ln in enumerate(bad.read_text().splitlines()) if "--dprt" in ln
    )
    body = line.split("] ", 1)[1]
    p = audit(bad)
    assert p.returncode == 1
    assert p.stderr.endswith(
        f"svccore: error: cannot parse dump: {bad}: line {n}: option --dprt does not belong to "
        f'the preceding match in "{body.replace(chr(34), chr(92) + chr(34))}"\n'
    )


def test_an_older_kube_proxy_is_noted_before_its_drift() -> None:
    p = audit(OLD / "iptables-save.txt", case=OLD, node="node-a")
    assert p.returncode == 1
    notes = [ln for ln in p.stdout.splitlines() if ln.startswith("note: ")]
    assert [n.split(":")[1] for n in notes] == [
        " signs of kube-proxy v1.18 or older",
        " signs of kube-proxy v1.16 or older",
        " signs of kube-proxy v1.20 or older",
        " svccore renders current kube-proxy's rules",
    ]
    assert p.stdout.index("note: ") < p.stdout.index("\n\n")
    assert '"default/web:"' in notes[0] and "0.33332999982 is 0.33333" in notes[1]


def test_cluster_audit_reads_shapes_and_says_what_it_read() -> None:
    cluster = svccore.Cluster.from_files(CASE / "cluster.json")
    settings = CASE / "proxy.json"
    nat = (DUMPS / "iptables-t-nat-S.txt").read_text()
    r = cluster.audit(nat, node="test-hostname", proxier_settings=settings)
    assert not r.has_drift
    assert r.notes == [only_table("nat").removeprefix("note: ")]
    assert r.to_dict()["notes"] == r.notes
    save = (DUMPS / "iptables-nft-save-c.txt").read_text()
    r = cluster.audit(save, node="test-hostname", proxier_settings=settings)
    assert (r.has_drift, r.notes) == (False, [])
    assert "notes" not in r.to_dict()
    with pytest.raises(svccore.DumpError) as e:
        cluster.audit(
            (DUMPS / "iptables-t-nat-L-n.txt").read_text(),
            node="test-hostname",
            proxier_settings=settings,
            file="nat.L",
        )
    assert (e.value.file, e.value.path) == ("nat.L", "line 1")
    with pytest.raises(svccore.SvcCoreError, match="table= applies to iptables mode"):
        cluster.audit(nat, node="test-hostname", mode="nftables", table="nat")


def test_one_table_of_iptables_save_with_table_exits_0_and_without_it_is_noted(
    tmp_path: Path,
) -> None:
    save = (DUMPS / "iptables-nft-save-c.txt").read_text()
    nat = tmp_path / "nat.save"  # what `iptables-save -c -t nat` prints
    nat.write_text(save[save.index("# Generated", save.index("*filter")) :])
    p = audit(nat, "--table", "nat")
    assert (p.returncode, p.stdout.splitlines()[1:]) == (0, ["no drift"]), p.stderr
    p = audit(nat)
    assert p.returncode == 1
    assert p.stdout.splitlines()[1] == (
        "note: the dump has no filter table (`iptables-save -t nat`?): its kube-proxy rules are "
        'reported missing; give --table nat (table="nat") to compare the nat table alone'
    )
