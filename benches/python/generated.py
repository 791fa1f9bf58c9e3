"""Generated clusters for the Python benchmarks and the binding's scale tests (standard library
only): ``services`` Services, each with a cluster IP, one port and ``endpoints`` endpoints in one
EndpointSlice, optionally spread over ``nodes`` Nodes.

Addresses are counted, not patterned, so any size fits: cluster IPs from 10.96.0.1 (inside the
default service CIDR 10.96.0.0/12, room for about a million) and endpoint IPs from 10.128.0.1
(10.128.0.0/9), node IPs from 192.168.0.1.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

_CLUSTER_IPS = int(ipaddress.IPv4Address("10.96.0.1"))
_ENDPOINT_IPS = int(ipaddress.IPv4Address("10.128.0.1"))
_NODE_IPS = int(ipaddress.IPv4Address("192.168.0.1"))


def _ip(base: int, offset: int) -> str:
    return str(ipaddress.IPv4Address(base + offset))


def cluster_list(services: int, endpoints: int = 10, nodes: int = 0) -> dict[str, Any]:
    """The cluster as ``kubectl get -o json`` prints a ``kind: List`` of it. With ``nodes``,
    Node objects ``node-0``… and endpoints assigned to them in turn; without, endpoints have no
    ``nodeName`` (any node name is then accepted)."""
    items: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"node-{n}"},
            "status": {"addresses": [{"type": "InternalIP", "address": _ip(_NODE_IPS, n)}]},
        }
        for n in range(nodes)
    ]
    for i in range(services):
        name = f"svc-{i}"
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "big"},
                "spec": {"clusterIP": _ip(_CLUSTER_IPS, i), "ports": [{"port": 80}]},
            }
        )
        eps: list[dict[str, Any]] = []
        for k in range(endpoints):
            e: dict[str, Any] = {"addresses": [_ip(_ENDPOINT_IPS, i * endpoints + k)]}
            if nodes:
                e["nodeName"] = f"node-{(i * endpoints + k) % nodes}"
            eps.append(e)
        items.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-1",
                    "namespace": "big",
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "", "port": 8080}],
                "endpoints": eps,
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}


def cluster_json(services: int, endpoints: int = 10, nodes: int = 0) -> str:
    """:func:`cluster_list` as JSON text."""
    return json.dumps(cluster_list(services, endpoints, nodes))


def cluster_ip(i: int) -> str:
    """The cluster IP of Service ``svc-{i}``."""
    return _ip(_CLUSTER_IPS, i)
