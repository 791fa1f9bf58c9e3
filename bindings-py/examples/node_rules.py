#!/usr/bin/env python3
"""What should kube-proxy have programmed on this node?

Reads a ``kubectl get -o json`` dump (Services, EndpointSlices, Nodes, ...) and prints the
iptables-restore payload kube-proxy's iptables mode writes on NODE, then the ``ipvsadm -Ln``
listing its ipvs mode would show.

    kubectl get svc,endpointslices,nodes -A -o json > cluster.json
    python node_rules.py cluster.json worker-1 [--config kube-proxy.yaml]
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
    p.add_argument("--config", help="kube-proxy's KubeProxyConfiguration (config.conf)")
    args = p.parse_args(argv)

    with open(args.dump, encoding="utf-8") as f:
        cluster = svccore.Cluster.from_manifests(json.load(f), file=args.dump)
    config = None
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = svccore.ProxyConfig.from_yaml(f.read(), file=args.config)
    for w in cluster.warnings + cluster.proxy_warnings():
        print(f"warning: {w}", file=sys.stderr)

    print(f"# iptables mode: iptables-restore payload on {args.node}")
    print(cluster.render_iptables(node=args.node, config=config), end="")
    print(f"\n# ipvs mode: ipvsadm -Ln on {args.node}")
    print(cluster.render_ipvs(node=args.node, config=config), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
