#!/usr/bin/env python3
"""A fleet audit on every core against one: N nodes of a 10,000-service cluster.

    python benches/python/bench_fleet.py [--services 10000] [--nodes 100] [--dask]

Against the installed ``svccore`` (build it with ``--release``). Generates the cluster (each
Service with 10 endpoints spread over the nodes), writes each node's ``iptables-save`` as a
clean node would print it into a temporary directory, then audits the directory with
``bindings-py/examples/fleet_audit.py``'s loop in 1 worker process and in one per core, and on
a Dask ``LocalCluster`` with ``--dask``. Every node must come out clean. Prints a markdown
table; reports only (no targets checked).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import svccore
from generated import cluster_json

REPO = Path(__file__).resolve().parents[2]


def fleet_module() -> Any:
    """``bindings-py/examples/fleet_audit.py``, importable by name (worker processes unpickle
    its results by module name)."""
    sys.path.insert(0, str(REPO / "bindings-py" / "examples"))
    return importlib.import_module("fleet_audit")


def main() -> None:
    ap = argparse.ArgumentParser(description="A fleet audit on every core against one.")
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--dask", action="store_true", help="also on a Dask LocalCluster")
    args = ap.parse_args()
    fleet = fleet_module()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        manifest = Path(d) / "cluster.json"
        manifest.write_text(cluster_json(args.services, nodes=args.nodes))
        cluster = svccore.Cluster.from_files(manifest)
        dumps_dir = Path(d) / "dumps"
        dumps_dir.mkdir()
        t0 = time.perf_counter()
        size = 0
        for node in cluster.nodes:
            text = cluster.render_iptables(node=node, form="save")
            size += len(text)
            (dumps_dir / f"{node}.iptables-save").write_text(text)
        print(
            f"{args.nodes} dumps of {size / len(cluster.nodes) / 1e6:.1f} MB each written in "
            f"{time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.1f}"
        )
        dumps = fleet.node_dumps(dumps_dir)
        rows = []
        runs: list[tuple[str, Any]] = [
            ("1 process", lambda: fleet.audit_with_processes(cluster, dumps, 1)),
            (f"{cores} processes", lambda: fleet.audit_with_processes(cluster, dumps, cores)),
        ]
        for label, run in runs:
            t = time.perf_counter()
            results = run()
            rows.append((label, time.perf_counter() - t, os.getloadavg()[0]))
            assert [r.line() for r in results] == [f"{n}: clean" for n in sorted(dumps)]
        if args.dask:
            with fleet.dask_client("local", cores) as client:
                t = time.perf_counter()
                results = fleet.audit_with_dask(client, cluster, dumps)
                rows.append(
                    (
                        f"Dask LocalCluster, {cores} workers",
                        time.perf_counter() - t,
                        os.getloadavg()[0],
                    )
                )
                assert [r.line() for r in results] == [f"{n}: clean" for n in sorted(dumps)]
    one = rows[0][1]
    head = f"{args.nodes} nodes, {args.services} services"
    print(f"\n| {head} | wall clock | per node | speed-up | load after |")
    print("|---|---:|---:|---:|---:|")
    for label, secs, load in rows:
        per_node = secs / args.nodes * 1e3
        print(f"| {label} | {secs:.1f} s | {per_node:.0f} ms | {one / secs:.2f}x | {load:.1f} |")


if __name__ == "__main__":
    main()
