#!/usr/bin/env python3
"""Traces through the Python binding on a 10,000-service cluster (standard library only).

    python benches/python/bench_trace.py [--services N]

Against the installed ``svccore`` (build it with ``--release``). For each mode: the first
``Cluster.trace`` on a node (it renders and reads the node's rules), the median of the next 200
``Cluster.trace`` calls on that node (the cluster keeps the rules), one ``trace_many`` of
10,000 packets (one per service, a pod to its cluster IP) on that cluster (the rules already
read), and the same on a fresh cluster, build included.
Prints a markdown table; reports only (no targets checked).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import svccore
from generated import cluster_ip, cluster_json


def main() -> None:
    ap = argparse.ArgumentParser(description="Traces through the Python binding.")
    ap.add_argument("--services", type=int, default=10_000)
    n = ap.parse_args().services
    packets: list[dict[str, Any]] = [
        {"src": "10.244.0.5", "dst": f"{cluster_ip(i)}:80"} for i in range(n)
    ]
    print(
        f"| mode ({n:,} services x 10 endpoints) | first trace | later trace (median of 200) "
        f"| trace_many of {n:,} packets | the same on a fresh cluster |"
    )
    print("|---|---:|---:|---:|---:|")
    for mode in svccore.TRACE_MODES:
        c = svccore.Cluster.from_json(cluster_json(n, nodes=1))
        t0 = time.perf_counter()
        c.trace(node="node-0", mode=mode, **packets[0])
        first = time.perf_counter() - t0
        later = []
        for p in packets[1:201]:
            t0 = time.perf_counter()
            c.trace(node="node-0", mode=mode, **p)
            later.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        c.trace_many(packets, node="node-0", mode=mode)
        built = time.perf_counter() - t0
        fresh = svccore.Cluster.from_json(cluster_json(n, nodes=1))
        t0 = time.perf_counter()
        fresh.trace_many(packets, node="node-0", mode=mode)
        many = time.perf_counter() - t0
        print(
            f"| {mode} | {first:.3f} s | {statistics.median(later) * 1e6:.0f} µs "
            f"| {built:.3f} s | {many:.3f} s |"
        )


if __name__ == "__main__":
    main()
