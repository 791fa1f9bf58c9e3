#!/usr/bin/env python3
"""Benchmarks of the Python binding (standard library only: timeit).

    python benches/python/bench_python.py [--quick]

Measures, against the installed ``svccore`` (build it with ``--release``: ``make install`` or
``maturin develop --release``; a debug build is several times slower):

* ``Balancer.pick``: nanoseconds per call (rr, maglev; the same client string, then 200,000
  distinct ones), best of several repeats;
* ``Balancer.pick_many``: picks per second over a 1,000,000-entry ``array('I')`` of clients;
* ``Cluster.from_manifests``: seconds to load a generated ``kubectl get -o json``-style dict of
  10,000 Services and their EndpointSlices (3 endpoints each).

Prints a markdown table with each target; exits 1 if a target is missed (``--no-check`` to
only report).
"""

from __future__ import annotations

import argparse
import array
import random
import sys
import timeit
from typing import Any

import svccore

BACKENDS = [f"10.244.{i // 250}.{i % 250 + 1}:8080" for i in range(10)]


def bench_pick(algorithm: str, n: int) -> float:
    """Nanoseconds per ``pick`` call (best of 5 runs of ``n`` calls)."""
    b = svccore.Balancer(algorithm, BACKENDS)
    pick = b.pick
    t = min(timeit.repeat(lambda: pick("192.0.2.7"), number=n, repeat=5))
    return t / n * 1e9


def bench_pick_distinct(algorithm: str, n: int) -> float:
    """Nanoseconds per ``pick`` over ``n`` distinct client strings (a Python loop; best of 5):
    each address is parsed, none comes from the parse cache."""
    ips = [f"100.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)]
    b = svccore.Balancer(algorithm, BACKENDS)
    pick = b.pick

    def run() -> None:
        for ip in ips:
            pick(ip)

    t = min(timeit.repeat(run, number=1, repeat=5))
    return t / n * 1e9


def bench_pick_many(algorithm: str, n: int) -> float:
    """Picks per second of ``pick_many`` over ``n`` clients (best of 5)."""
    rng = random.Random(1)
    clients = array.array("I", (rng.getrandbits(32) for _ in range(n)))
    b = svccore.Balancer(algorithm, BACKENDS)
    t = min(timeit.repeat(lambda: b.pick_many(clients), number=1, repeat=5))
    return n / t


def generated_dump(services: int) -> dict[str, Any]:
    """A ``kubectl get svc,endpointslices -A -o json``-style List."""
    items: list[dict[str, Any]] = []
    for i in range(services):
        ns, name = f"ns-{i % 100}", f"svc-{i}"
        ip = f"10.{96 + i // 65536}.{(i // 256) % 256}.{i % 256}"
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "uid": f"uid-{i}"},
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": ip,
                    "clusterIPs": [ip],
                    "ipFamilies": ["IPv4"],
                    "selector": {"app": name},
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                    "sessionAffinity": "None",
                    "internalTrafficPolicy": "Cluster",
                },
            }
        )
        items.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-abcde",
                    "namespace": ns,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {
                        "addresses": [f"10.{128 + k}.{(i // 256) % 256}.{i % 256}"],
                        "conditions": {"ready": True, "serving": True, "terminating": False},
                        "nodeName": f"node-{(i + k) % 50}",
                    }
                    for k in range(3)
                ],
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}


def bench_from_manifests(services: int) -> float:
    """Seconds to load the generated dump (best of 3)."""
    dump = generated_dump(services)
    return min(timeit.repeat(lambda: svccore.Cluster.from_manifests(dump), number=1, repeat=3))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="svccore Python binding benchmarks")
    p.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    p.add_argument("--no-check", action="store_true", help="do not fail on missed targets")
    args = p.parse_args(argv)
    calls = 20_000 if args.quick else 200_000
    many = 100_000 if args.quick else 1_000_000

    rows: list[tuple[str, str, str, bool]] = []
    for algorithm in ("rr", "maglev"):
        ns = bench_pick(algorithm, calls)
        rows.append((f"`Balancer.pick` ({algorithm})", f"{ns:.0f} ns/call", "≤ 300 ns", ns <= 300))
    ns = bench_pick_distinct("rr", calls)
    rows.append(
        (
            f"`Balancer.pick` (rr, {calls:,} distinct clients, loop included)",
            f"{ns:.0f} ns/call",
            "≤ 300 ns",
            ns <= 300,
        )
    )
    for algorithm in ("rr", "maglev"):
        rate = bench_pick_many(algorithm, many)
        rows.append(
            (
                f"`Balancer.pick_many` ({algorithm}, {many:,} x `array('I')`)",
                f"{rate / 1e6:.1f} M picks/s",
                "≥ 10 M/s",
                rate >= 10e6,
            )
        )
    secs = bench_from_manifests(10_000)
    rows.append(
        (
            "`Cluster.from_manifests` (10,000 services + slices)",
            f"{secs:.3f} s",
            "≤ 0.5 s",
            secs <= 0.5,
        )
    )

    print(f"svccore {svccore.__version__}, Python {sys.version.split()[0]}\n")
    print("| benchmark | result | target | met |")
    print("|---|---:|---:|:---:|")
    for name, result, target, ok in rows:
        print(f"| {name} | {result} | {target} | {'yes' if ok else '**no**'} |")
    missed = [r for r in rows if not r[3]]
    return 1 if missed and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
