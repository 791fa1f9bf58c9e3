"""Python's side of the cross-language test: runs tests/cross/calls.json through the svccore
package and prints each result as JSON (cross.test.mjs compares it with the core's and the
WebAssembly module's).

usage: python run.py calls.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import svccore


def _call(cluster: svccore.Cluster, op: str, args: dict[str, Any]) -> Any:
    # Python's names for the table's (JavaScript's) option names.
    names = {"from": "source", "scheduler": "ipvs_scheduler", "clusterCIDR": "cluster_cidr",
             "serviceCIDRs": "service_cidrs"}  # fmt: skip
    kw = {names.get(k, k): v for k, v in args.items()}
    if op == "trace":
        return cluster.trace(**kw).to_dict()
    if op == "settings":
        return cluster.settings(**kw)
    if op == "render_nftables":
        return {"text": cluster.render_nftables(**kw)}
    if op == "nftables_service_cidrs":
        source, cidrs, message = cluster.nftables_service_cidrs(**kw)
        return {"source": source, "cidrs": cidrs, "message": message}
    if op == "endpoints":
        family = kw.get("family", "IPv4")
        report = cluster.endpoints(node=kw["node"]).to_dict()
        return next(n for n in report["nodes"] if n["node"] == kw["node"] and n["family"] == family)
    raise ValueError(f"unknown op {op!r}")


def main(table: str) -> None:
    spec = json.loads(Path(table).read_text())
    root = Path(table).resolve().parent.parent.parent
    out = []
    for call in spec["calls"]:
        files = spec["clusters"][call["cluster"]]
        text = "".join((root / f).read_text() + "\n---\n" for f in files)
        cluster = svccore.Cluster.from_yaml(text)
        try:
            out.append(_call(cluster, call["op"], call["args"]))
        except svccore.SvcCoreError as e:
            out.append({"error": {"kind": e.kind, "message": str(e)}})
    json.dump(out, sys.stdout, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
