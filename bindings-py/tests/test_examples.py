"""The ops scripts in bindings-py/examples, run on the repository's examples/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import svccore
from conftest import REPO

SCRIPTS = Path(__file__).resolve().parents[1] / "examples"
DUMP = REPO / "examples" / "kube-system.json"
STUDY = REPO / "examples" / "nginx-study.yaml"


def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


def test_node_rules_prints_iptables_and_ipvs() -> None:
    p = script("node_rules.py", str(DUMP), "node1")
    assert p.returncode == 0, p.stderr
    cluster = svccore.Cluster.from_files(DUMP)
    iptables = cluster.render_iptables(node="node1")
    ipvs = cluster.render_ipvs(node="node1")
    assert p.stdout == (
        "# iptables mode: iptables-restore payload on node1\n"
        f"{iptables}\n# ipvs mode: ipvsadm -Ln on node1\n{ipvs}"
    )
    assert "TCP  10.96.0.10:53 rr" in ipvs


def test_audit_node_clean_then_drift(tmp_path: Path) -> None:
    cluster = svccore.Cluster.from_files(DUMP)
    save = cluster.render_iptables(node="node1", form="save")
    real = tmp_path / "node1.save"
    real.write_text(save)
    p = script("audit_node.py", str(DUMP), "node1", str(real))
    assert (p.returncode, p.stdout.splitlines()[-1], p.stderr) == (0, "no drift", "")
    # Someone edited a DNAT rule by hand on the node.
    lines = save.splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if "-j DNAT --to-destination" in line)
    ip_port = lines[i].rsplit(" ", 1)[1].strip()
    lines[i] = lines[i].replace(ip_port, ip_port.rsplit(":", 1)[0] + ":9999")
    real.write_text("".join(lines))
    p = script("audit_node.py", str(DUMP), "node1", str(real))
    assert p.returncode == 1
    assert "changed  [nat]" in p.stdout and ":9999" in p.stdout
    assert p.stderr.startswith("\nDRIFT on node1: ")


def test_audit_node_reports_an_unreadable_dump(tmp_path: Path) -> None:
    bad = tmp_path / "bad.save"
    bad.write_text("not iptables-save output\n")
    p = script("audit_node.py", str(DUMP), "node1", str(bad))
    assert p.returncode == 2
    assert p.stderr.startswith(f"{bad}: cannot parse dump: ")


def test_scaling_disruption_maglev_moves_fewer_connections_than_rr() -> None:
    p = script("scaling_disruption.py", str(STUDY), "--service", "study/service-clusterip")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "study/service-clusterip: 3 endpoints, 10000 connections"
    for row in lines[2:4]:
        rr, maglev = (float(x.rstrip("%")) for x in row.split()[-2:])
        assert maglev < rr
    assert lines[-1] == "(the minimum for removing one of 3 endpoints is 33.3%)"
