"""Many nodes: a Cluster pickles, and examples/fleet_audit.py audits a directory of node dumps
in worker processes and on a Dask LocalCluster, with the same answers as one audit per node."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
import svccore
from conftest import REPO

STUDY = REPO / "examples" / "nginx-study.yaml"
KUBE_SYSTEM = REPO / "examples" / "kube-system.json"
FLEET = Path(__file__).resolve().parents[1] / "examples" / "fleet_audit.py"


def same(a: svccore.Cluster, b: svccore.Cluster) -> None:
    """Two clusters are the same to every reader: objects, warnings and each node's rules."""
    assert repr(a) == repr(b)
    assert a.nodes == b.nodes
    assert [s.to_dict() for s in a.services] == [s.to_dict() for s in b.services]
    assert a.warnings == b.warnings
    assert a.validate() == b.validate()
    nodes: list[str | None] = [*a.nodes] or [None]
    for node in nodes:
        assert a.render_iptables(node=node) == b.render_iptables(node=node)
        assert a.render_nftables(node=node) == b.render_nftables(node=node)
        assert a.render_ipvs(node=node) == b.render_ipvs(node=node)


def test_a_cluster_pickles_from_every_constructor() -> None:
    study = STUDY.read_text()
    objects = json.loads(KUBE_SYSTEM.read_text())
    # A Service with neither a cluster IP nor a node port: both allocations must come back.
    alloc = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: d}\n"
        "spec: {type: NodePort, ports: [{port: 80}]}\n"
    )
    clusters = [
        svccore.Cluster.from_yaml(study, file="study.yaml"),
        svccore.Cluster.from_json(KUBE_SYSTEM.read_text(), file="k.json"),
        svccore.Cluster.from_sources([("a.yaml", study), ("b.json", KUBE_SYSTEM.read_text())]),
        svccore.Cluster.from_sources(
            [("a.yaml", study.encode()), ("b.json", KUBE_SYSTEM.read_bytes())]
        ),
        svccore.Cluster.from_files(STUDY, KUBE_SYSTEM),
        svccore.Cluster.from_manifests(objects, file="objects"),
        svccore.Cluster.from_yaml(alloc, node_port_range=(31000, 31010)),
    ]
    for c in clusters:
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            same(c, pickle.loads(pickle.dumps(c, protocol=protocol)))
        same(c, copy.deepcopy(c))
    np = pickle.loads(pickle.dumps(clusters[-1]))
    assert np.services[0].ports[0].node_port == clusters[-1].services[0].ports[0].node_port
    assert 31000 <= np.services[0].ports[0].node_port <= 31010


def test_an_unknown_pickle_format_is_refused() -> None:
    c = svccore.Cluster.from_yaml("apiVersion: v1\nkind: Node\nmetadata: {name: a}\n")
    fn, (state,) = cast("tuple[Any, tuple[Any]]", c.__reduce__())
    with pytest.raises(
        ValueError, match="a Cluster pickled in format 99; this svccore reads format 1"
    ):
        fn((99, *state[1:]))


def write_dumps(tmp: Path, cluster: svccore.Cluster) -> dict[str, str]:
    """Each node's expected iptables-save, as a clean node would print it; then node1 loses a
    rule and node2 gains one."""
    saves = {n: cluster.render_iptables(node=n, form="save") for n in cluster.nodes}
    lines = saves["node1"].splitlines(keepends=True)
    sep = next(i for i, line in enumerate(lines) if line.startswith("-A KUBE-SEP-"))
    saves["node1"] = "".join(lines[:sep] + lines[sep + 1 :])
    head, nat = saves["node2"].split("*nat\n")
    extra = "-A KUBE-SERVICES -d 10.96.99.99/32 -p tcp -m tcp --dport 80 -j ACCEPT\n"
    saves["node2"] = f"{head}*nat\n{nat.replace('COMMIT', extra + 'COMMIT')}"
    for n, text in saves.items():
        (tmp / f"{n}.iptables-save").write_text(text)
    return saves


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, str(FLEET), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.mark.parametrize(
    "backend", [["--workers", "1"], ["--workers", "2"], ["--dask", "local", "--workers", "2"]]
)
def test_fleet_audit_agrees_with_one_audit_per_node(tmp_path: Path, backend: list[str]) -> None:
    if "--dask" in backend:
        pytest.importorskip(
            "distributed", reason="Dask is an optional extra (requirements-dev installs it)"
        )
    cluster = svccore.Cluster.from_files(STUDY)
    saves = write_dumps(tmp_path, cluster)
    expected = []
    for n in sorted(saves):
        report = cluster.audit(saves[n], node=n)
        expected.append(
            f"{n}: DRIFT {', '.join(report.service_ports)}" if report.has_drift else f"{n}: clean"
        )
    assert expected[0] == "master: clean"
    assert expected[1].startswith("node1: DRIFT study/") and expected[2].startswith("node2: DRIFT ")

    p = fleet(str(STUDY), str(tmp_path), *backend)
    assert p.returncode == 1, p.stderr
    assert p.stdout.splitlines() == expected
    assert "3 nodes audited in " in p.stderr


def test_fleet_audit_reports_an_unreadable_dump_and_an_empty_directory(tmp_path: Path) -> None:
    cluster = svccore.Cluster.from_files(STUDY)
    (tmp_path / "master.iptables-save").write_text(
        cluster.render_iptables(node="master", form="save")
    )
    (tmp_path / "node1.iptables-save").write_text("Chain KUBE-SERVICES (2 references)\n")
    p = fleet(str(STUDY), str(tmp_path), "--workers", "2")
    assert p.returncode == 2, p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "master: clean"
    dump = tmp_path / "node1.iptables-save"
    assert out[1].startswith(
        f"node1: cannot audit: cannot parse dump: {dump}: line 1: this is `iptables -L` output"
    ), out[1]
    empty = tmp_path / "empty"
    empty.mkdir()
    p = fleet(str(STUDY), str(empty))
    assert (p.returncode, p.stderr) == (2, f"{empty}: no *.iptables-save files\n")
