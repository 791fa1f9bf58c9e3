"""`Cluster.trace_many` and the tracers a `Cluster` keeps: every result is what a fresh
`Cluster.trace` gives, and a node's rules are rendered once per mode, family and settings."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
import svccore
from conftest import DATA, REPO
from test_cli import run

# The generator of the Python benchmarks (benches/python/generated.py).
sys.path.insert(0, str(REPO / "benches" / "python"))
from generated import cluster_ip, cluster_json

MODES = ("iptables", "nftables", "ipvs")


def shop() -> svccore.Cluster:
    return svccore.Cluster.from_sources([("shop.yaml", (DATA / "shop.yaml").read_text())])


def generated(n: int) -> svccore.Cluster:
    """`n` Services with a cluster IP and two endpoints each."""
    return svccore.Cluster.from_json(cluster_json(n, endpoints=2))


# Packets of shop.yaml: cluster IPs and node ports from every origin, IPv6, UDP, affinity state
# and a destination no service has.
SHOP_PACKETS: list[dict[str, Any]] = [
    {"src": "10.244.1.9", "dst": "10.96.0.10:80"},
    {"src": "10.244.2.9", "dst": "10.96.0.10:80", "source": "other-node"},
    {"src": "203.0.113.9", "dst": "10.96.0.10:80", "from": "external"},
    {"src": "10.244.1.9", "dst": "10.96.0.10:80", "source": "node"},
    {"src": "10.244.1.5", "dst": "10.96.0.10:80", "recent": ["KUBE-SEP-XYZ"]},
    {"src": "10.244.1.9", "dst": "10.96.0.10:53", "proto": "udp"},
    {"src": "10.244.1.9", "dst": "10.99.99.99:9"},
    {"src": "fd00:10:244::9", "dst": "[fd00:10:96::10]:80"},
]


def single(cluster: svccore.Cluster, packet: dict[str, Any], **kw: Any) -> svccore.TraceResult:
    args = dict(packet)
    if "from" in args:
        args["source"] = args.pop("from")
    return cluster.trace(**args, **kw)


def same(a: svccore.TraceResult, b: svccore.TraceResult) -> None:
    assert a.to_dict() == b.to_dict()
    assert str(a) == str(b)
    assert a.mode == b.mode


@pytest.mark.parametrize("mode", MODES)
def test_trace_many_equals_a_fresh_trace_per_packet(mode: str) -> None:
    many = shop().trace_many(SHOP_PACKETS, node="node-a", mode=mode)
    assert len(many) == len(SHOP_PACKETS)
    for packet, t in zip(SHOP_PACKETS, many, strict=True):
        # A new Cluster has no tracer yet: this trace renders the node's rules itself.
        same(t, single(shop(), packet, node="node-a", mode=mode))
    assert any(t.endpoints() for t in many)
    assert any(not t.endpoints() for t in many)


def test_settings_keywords_hold_for_every_packet() -> None:
    kw: dict[str, Any] = {"node": "node-a", "masquerade_all": True}
    many = shop().trace_many(SHOP_PACKETS[:3], **kw)
    for packet, t in zip(SHOP_PACKETS[:3], many, strict=True):
        same(t, single(shop(), packet, **kw))
    plain = shop().trace_many(SHOP_PACKETS[:1], node="node-a")
    assert many[0].to_dict() != plain[0].to_dict()


def test_repeated_traces_reuse_the_rendered_rules() -> None:
    c = generated(2000)
    packets: list[dict[str, Any]] = [
        {"src": "10.244.0.5", "dst": f"{cluster_ip(i)}:80"} for i in range(100)
    ]
    traced = [c.trace(node="n1", **p) for p in packets]
    # One render for 100 traces (a render of the 2,000 services per trace without the cache).
    assert c._tracer_cache_counts() == (1, 99)
    assert all(len(t.endpoints()) == 2 for t in traced)
    # trace_many on the same node and settings reuses that tracer too.
    many = c.trace_many(packets, node="n1")
    assert c._tracer_cache_counts() == (1, 100)
    for a, b in zip(traced, many, strict=True):
        same(a, b)
    # A fresh cluster's trace gives the same answer as the cached one.
    fresh = generated(2000)
    for i in (0, 57, 99):
        same(traced[i], fresh.trace(node="n1", **packets[i]))
    # Another node, mode or setting is another tracer.
    c.trace(node="n2", **packets[0])
    c.trace(node="n1", mode="nftables", **packets[0])
    c.trace(node="n1", masquerade_all=True, **packets[0])
    assert c._tracer_cache_counts() == (4, 100)
    c.trace(node="n1", **packets[1])
    assert c._tracer_cache_counts() == (4, 101)


def test_the_cache_is_bounded_and_keeps_the_most_recent() -> None:
    c = generated(3)  # no Node objects: any node name is accepted
    p: dict[str, Any] = SHOP_PACKETS[0]
    for node in ("a", "b", "c", "d", "e"):
        c.trace(node=node, **p)
    assert c._tracer_cache_counts() == (5, 0)
    c.trace(node="e", **p)  # most recent: kept
    c.trace(node="a", **p)  # oldest of five: dropped
    assert c._tracer_cache_counts() == (6, 1)


def test_a_cluster_cannot_change_under_its_tracers() -> None:
    c = shop()
    with pytest.raises(AttributeError):
        c.services = []  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        c.__dict__  # noqa: B018


@pytest.mark.parametrize(
    ("packets", "message"),
    [
        ([1], "packets[0]: expected a dict"),
        ([{"src": "10.0.0.1"}], 'packets[0]: no "dst"'),
        ([SHOP_PACKETS[0], {"dst": "10.0.0.1:80"}], 'packets[1]: no "src"'),
        ([{"src": "10.0.0.1", "dst": "10.0.0.1:80", "port": 1}], 'packets[0]: unknown key "port"'),
        ([{"src": "10.0.0.1", "dst": "10.0.0.1:80", "source": "mars"}], "packets[0]: "),
        (
            [{"src": "10.0.0.1", "dst": "10.0.0.1:80", "proto": 6}],
            'packets[0]: "proto" must be a string',
        ),
        ([{"src": "x", "dst": "10.0.0.1:80"}], 'packets[0]: src "x" is not an IP address'),
        (
            [{"src": "10.0.0.1", "dst": "10.0.0.1:80", "source": "pod", "from": "pod"}],
            'packets[0]: give one of "source" and "from"',
        ),
    ],
)
def test_bad_packets_are_named_by_index(packets: list[Any], message: str) -> None:
    c = shop()
    with pytest.raises(svccore.InvalidArgumentError) as e:
        c.trace_many(packets, node="node-a")
    assert str(e.value).startswith(message)
    assert c._tracer_cache_counts() == (0, 0)


def test_empty_batch_and_bad_mode() -> None:
    assert shop().trace_many([], node="node-a") == []
    with pytest.raises(svccore.InvalidArgumentError):
        shop().trace_many(SHOP_PACKETS[:1], node="node-a", mode="sidecar")


# --- svccore trace --batch -------------------------------------------------------------------

SHOP = str(DATA / "shop.yaml")
BATCH = """# shop packets
10.244.1.9 10.96.0.10:80

203.0.113.9 10.96.0.10:80 tcp external
fd00:10:244::9 [fd00:10:96::10]:80
10.244.1.9 10.96.0.10:53 udp
"""
BATCH_PACKETS: list[dict[str, Any]] = [
    {"src": "10.244.1.9", "dst": "10.96.0.10:80"},
    {"src": "203.0.113.9", "dst": "10.96.0.10:80", "proto": "tcp", "source": "external"},
    {"src": "fd00:10:244::9", "dst": "[fd00:10:96::10]:80"},
    {"src": "10.244.1.9", "dst": "10.96.0.10:53", "proto": "udp"},
]


@pytest.mark.parametrize("mode", MODES)
def test_cli_batch_prints_json_lines_of_each_packets_trace(mode: str, tmp_path: Any) -> None:
    f = tmp_path / "packets.txt"
    f.write_text(BATCH)
    p = run(
        "trace", "-f", SHOP, "--node", "node-a", "--mode", mode, "--batch", str(f), "-o", "json"
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == len(BATCH_PACKETS)
    for line, packet in zip(lines, BATCH_PACKETS, strict=True):
        assert json.loads(line) == single(shop(), packet, node="node-a", mode=mode).to_dict()


def test_cli_batch_text_and_stdin_and_defaults_from_the_flags() -> None:
    p = run(
        "trace", "-f", SHOP, "--node", "node-a", "--batch", "-", "--from", "other-node",
        stdin=b"10.244.2.9 10.96.0.10:80\n10.244.2.9 10.96.0.10:53 udp pod\n",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    a = single(
        shop(), {"src": "10.244.2.9", "dst": "10.96.0.10:80", "source": "other-node"}, node="node-a"
    )
    b = single(shop(), {"src": "10.244.2.9", "dst": "10.96.0.10:53", "proto": "udp"}, node="node-a")
    assert p.stdout == f"{a}\n{b}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.1 10.96.0.10:80\n\n10.0.0.1\n", "-:3: expected 'SRC DST [PROTO] [FROM]', got 1"),
        ("10.0.0.1 10.96.0.10:80 tcp pod extra\n", "-:1: expected 'SRC DST [PROTO] [FROM]', got 5"),
        ("# c\n10.0.0.1 10.96.0.10:80 icmp\n", "-:2: protocol 'icmp'"),
        ("10.0.0.1 10.96.0.10:80 tcp mars\n", "-:1: source 'mars'"),
        ("10.0.0.1 10.96.0.10:80\n10.0.0.1 10.96.0.10\n", '-:2: dst "10.96.0.10" has no port'),
        ("10.0.0.1 10.96.0.10:80\n\n10.0.0.x 10.96.0.10:80\n", '-:3: src "10.0.0.x" is not an IP'),
    ],
)
def test_cli_batch_refuses_a_bad_line_by_number(text: str, message: str) -> None:
    p = run("trace", "-f", SHOP, "--node", "node-a", "--batch", "-", stdin=text.encode())
    assert p.returncode == 2
    assert p.stdout == ""
    assert f"svccore: error: {message}" in p.stderr


def test_cli_trace_needs_a_packet_or_a_batch_not_both(tmp_path: Any) -> None:
    assert run("trace", "-f", SHOP, "--node", "node-a").returncode == 2
    f = tmp_path / "p.txt"
    f.write_text("10.0.0.1 10.96.0.10:80\n")
    p = run("trace", "-f", SHOP, "--node", "node-a", "--batch", str(f), "--src", "10.0.0.1")
    assert p.returncode == 2 and "--batch" in p.stderr
    p = run("trace", "-f", SHOP, "--node", "node-a", "--batch", str(tmp_path / "missing"))
    assert p.returncode == 1 and "missing" in p.stderr
