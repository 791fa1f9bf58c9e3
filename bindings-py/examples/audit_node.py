#!/usr/bin/env python3
"""Has kube-proxy's iptables state on a node drifted?

Compares a node's ``iptables-save`` with the rules kube-proxy should have written for the
cluster in a ``kubectl get -o json`` dump. Prints the differences per service port and exits 1
when there is drift, 0 when the node is clean (a cron job or a CI check can use the exit code).

    kubectl get svc,endpointslices,nodes -A -o json > cluster.json
    ssh worker-1 sudo iptables-save > worker-1.save
    python audit_node.py cluster.json worker-1 worker-1.save
"""

from __future__ import annotations

import argparse
import json
import sys

import svccore


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dump", help="kubectl get -o json output")
    p.add_argument("node", help="the node's name")
    p.add_argument("save", help="the node's iptables-save output")
    p.add_argument("--cluster-cidr", help="kube-proxy's --cluster-cidr, if it has one")
    args = p.parse_args(argv)

    with open(args.dump, encoding="utf-8") as f:
        cluster = svccore.Cluster.from_manifests(json.load(f), file=args.dump)
    with open(args.save, encoding="utf-8") as f:
        actual = f.read()
    try:
        report = cluster.audit(actual, node=args.node, cluster_cidr=args.cluster_cidr)
    except svccore.DumpError as e:
        print(f"{args.save}: {e}", file=sys.stderr)
        return 2
    print(report, end="")
    if report.has_drift:
        groups = ", ".join(report.service_ports)
        print(f"\nDRIFT on {args.node}: {groups}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
