#!/usr/bin/env python3
"""How many connections move when a Deployment scales by one?

For one service port, simulates the same client connections before and after removing one
endpoint (scale down) and after adding one (scale up), under IPVS round robin and under Maglev
consistent hashing, and prints the share of connections that land on another endpoint.

    python scaling_disruption.py cluster.yaml study/service-clusterip
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

import svccore


def spare_address(endpoints: list[str]) -> str:
    """An unused address next to the highest endpoint: the pod a scale-up would add."""
    hosts = sorted(ipaddress.ip_address(e.rsplit(":", 1)[0]) for e in endpoints)
    port = endpoints[0].rsplit(":", 1)[1]
    return f"{hosts[-1] + 1}:{port}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("manifests", nargs="+", help="YAML/JSON files of the cluster")
    p.add_argument("--service", required=True, help="ns/name[:port]")
    p.add_argument("--node", help="the node connections arrive on (default: the first)")
    p.add_argument("--connections", type=int, default=10000)
    args = p.parse_args(argv)

    cluster = svccore.Cluster.from_files(*args.manifests)
    base = cluster.simulate(args.service, node=args.node, scheduler="rr", connections=10)
    endpoints = sorted(base.picks)
    if not endpoints:
        print(f"{args.service} has no endpoints on this node", file=sys.stderr)
        return 1
    changes = {
        f"scale down (remove {endpoints[0]})": {"remove_endpoint": endpoints[0]},
        f"scale up (add {spare_address(endpoints)})": {"add_endpoint": spare_address(endpoints)},
    }
    print(f"{args.service}: {len(endpoints)} endpoints, {args.connections} connections")
    print(f"{'change':<40} {'rr moved':>9} {'maglev moved':>13}")
    for label, change in changes.items():
        moved = {}
        for scheduler in ("rr", "maglev"):
            r = cluster.simulate(
                args.service,
                node=args.node,
                scheduler=scheduler,
                connections=args.connections,
                **change,  # type: ignore[arg-type]
            )
            moved[scheduler] = r.to_dict()["disruption"]["moved"]
        print(f"{label:<40} {moved['rr']:>9.1%} {moved['maglev']:>13.1%}")
    ideal = 1 / len(endpoints)
    print(f"(the minimum for removing one of {len(endpoints)} endpoints is {ideal:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
