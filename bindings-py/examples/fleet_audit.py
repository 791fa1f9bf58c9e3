#!/usr/bin/env python3
"""Audits every node of a fleet in parallel: has kube-proxy's iptables state drifted anywhere?

Reads a directory of node dumps, one ``NODE.iptables-save`` file per node (the file name
without the suffix is the Node's name), and audits each against the rules kube-proxy should
have written for the cluster. The nodes are independent, so they are audited in parallel: in
worker processes on this machine (``concurrent.futures``), or on a Dask cluster, through the
same loop (Dask's ``Client.get_executor()`` is a ``concurrent.futures`` executor). Each worker
receives the cluster once (``Cluster`` pickles).

    kubectl get svc,endpointslices,nodes -A -o json > cluster.json
    for n in $(kubectl get nodes -o name | cut -d/ -f2); do
        ssh "$n" sudo iptables-save > "dumps/$n.iptables-save"
    done
    python fleet_audit.py cluster.json dumps/                  # every core here
    python fleet_audit.py cluster.json dumps/ --workers 1      # one process
    python fleet_audit.py cluster.json dumps/ --dask local     # a Dask LocalCluster
    python fleet_audit.py cluster.json dumps/ --dask tcp://scheduler:8786

Prints one line per node (``clean``, ``DRIFT`` with the service ports, or the dump's error)
and exits 1 when a node drifted, 2 when a dump could not be read, 0 when every node is clean.
Dask is optional (``pip install 'svccore[dask]'``); only ``--dask`` needs it.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import svccore

SUFFIX = ".iptables-save"


@dataclass(frozen=True)
class NodeResult:
    """The audit of one node: drift (the service ports that differ), or the dump's error."""

    node: str
    drift: tuple[str, ...]
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.node}: cannot audit: {self.error}"
        if self.drift:
            return f"{self.node}: DRIFT {', '.join(self.drift)}"
        return f"{self.node}: clean"


def audit_node(cluster: svccore.Cluster, node: str, dump: str) -> NodeResult:
    """Audits one node's dump file (runs in a worker)."""
    try:
        with open(dump, encoding="utf-8") as f:
            actual = f.read()
        report = cluster.audit(actual, node=node, file=dump)
    except (OSError, UnicodeDecodeError, svccore.SvcCoreError) as e:
        return NodeResult(node, (), str(e))
    return NodeResult(node, tuple(report.service_ports) if report.has_drift else ())


# A process pool receives the cluster once per worker, through its initializer.
_WORKER_CLUSTER: svccore.Cluster | None = None


def _init_worker(cluster: svccore.Cluster) -> None:
    global _WORKER_CLUSTER
    _WORKER_CLUSTER = cluster


def _audit_in_worker(node: str, dump: str) -> NodeResult:
    assert _WORKER_CLUSTER is not None, "the pool's initializer sets the cluster"
    return audit_node(_WORKER_CLUSTER, node, dump)


def node_dumps(directory: str | os.PathLike[str]) -> dict[str, str]:
    """The dumps of a directory: node name → path, in name order."""
    return {p.name[: -len(SUFFIX)]: str(p) for p in sorted(Path(directory).glob(f"*{SUFFIX}"))}


def audit_fleet(
    executor: cf.Executor, fn: Callable[..., NodeResult], dumps: dict[str, str], *leading: Any
) -> list[NodeResult]:
    """The loop every backend runs: submit ``fn(*leading, node, path)`` for each node, collect
    the results as they finish, and return them in node-name order."""
    futures = [executor.submit(fn, *leading, node, path) for node, path in dumps.items()]
    results = [f.result() for f in cf.as_completed(futures)]
    return sorted(results, key=lambda r: r.node)


def audit_with_processes(
    cluster: svccore.Cluster, dumps: dict[str, str], workers: int
) -> list[NodeResult]:
    """Audits in ``workers`` processes of this machine."""
    with cf.ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(cluster,)
    ) as ex:
        return audit_fleet(ex, _audit_in_worker, dumps)


@contextmanager
def dask_client(address: str, workers: int) -> Iterator[Any]:
    """A Dask client: of a new ``LocalCluster`` of worker processes for ``local``, else of the
    scheduler at ``address``."""
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SystemExit(f"--dask needs Dask: pip install 'svccore[dask]' ({e})") from e
    dd: Any = distributed  # Dask has no type hints
    if address == "local":
        cluster = dd.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, dd.Client(cluster) as client:
            yield client
    else:
        with dd.Client(address) as client:
            yield client


def audit_with_dask(
    client: Any, cluster: svccore.Cluster, dumps: dict[str, str]
) -> list[NodeResult]:
    """Audits on a Dask cluster: the cluster is sent to every worker once (``scatter``), and the
    same loop as for processes runs on the client's ``concurrent.futures`` executor. The dump
    paths must be readable by the workers (a shared directory, or the same machine)."""
    shared = client.scatter(cluster, broadcast=True)
    return audit_fleet(client.get_executor(pure=False), audit_node, dumps, shared)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "cluster", nargs="+", help="the cluster's objects: kubectl get -o json/yaml output"
    )
    p.add_argument("dumps", help=f"a directory of NODE{SUFFIX} files")
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: every core)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="audit on Dask: 'local' (a LocalCluster) or a scheduler address",
    )
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be at least 1")

    cluster = svccore.Cluster.from_files(args.cluster)
    dumps = node_dumps(args.dumps)
    if not dumps:
        print(f"{args.dumps}: no *{SUFFIX} files", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if args.dask:
        with dask_client(args.dask, args.workers) as client:
            results = audit_with_dask(client, cluster, dumps)
    else:
        results = audit_with_processes(cluster, dumps, args.workers)
    elapsed = time.perf_counter() - t0
    for r in results:
        print(r.line())
    how = (
        f"Dask ({args.dask})"
        if args.dask
        else f"{args.workers} process{'es' if args.workers > 1 else ''}"
    )
    print(f"{len(results)} nodes audited in {elapsed:.2f} s on {how}", file=sys.stderr)
    if any(r.error is not None for r in results):
        return 2
    return 1 if any(r.drift for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
