"""kube-proxy userspace mode's load balancer (LoadBalancerRR) from Python: Balancer("userspace"),
Cluster.simulate(scheduler="userspace") and simulate --mode userspace."""

from __future__ import annotations

import contextlib
import io
import pathlib

import pytest
import svccore
from svccore.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
NGINX = ["10.244.104.10:80", "10.244.166.129:80", "10.244.166.191:80"]


def pick(b: svccore.Balancer, client: str, now: float = 0.0) -> str:
    p = b.pick(client, now=now)
    assert p is not None
    return p


def test_userspace_is_one_of_the_algorithms() -> None:
    assert "userspace" in svccore.ALGORITHMS
    assert "userspace" not in svccore.IPVS_SCHEDULERS
    assert svccore.Balancer("userspace", NGINX).algorithm == "userspace"


def test_round_robin_cycles_through_one_shuffled_order_fixed_by_the_seed() -> None:
    orders = set()
    for seed in range(40):
        b = svccore.Balancer("userspace", NGINX, seed=seed)
        cycle = [pick(b, f"192.0.2.{k}") for k in range(3)]
        assert sorted(cycle) == NGINX
        assert [b.pick("192.0.2.9") for _ in range(6)] == cycle * 2
        again = svccore.Balancer("userspace", NGINX, seed=seed)
        assert [again.pick("192.0.2.1") for _ in range(3)] == cycle
        orders.add(tuple(cycle))
    # kube-proxy shuffles: every one of the 3! orders shows up over 40 seeds.
    assert len(orders) == 6


def test_client_ip_affinity_holds_from_the_last_use_and_does_not_move_the_index() -> None:
    b = svccore.Balancer("userspace", NGINX, affinity_timeout=60, seed=1)
    a = pick(b, "192.0.2.1", now=0.0)
    # Each hit refreshes lastUsed: 59.5 s, then 119 s after the start, still pinned.
    assert b.pick("192.0.2.1", now=59.5) == a
    assert b.pick("192.0.2.1", now=119.0) == a
    second = pick(b, "192.0.2.2", now=119.0)
    assert second != a
    # 60 s after the last use the entry has expired: the next endpoint in turn.
    third = pick(b, "192.0.2.1", now=179.0)
    assert sorted([a, second, third]) == NGINX
    assert b.pick("192.0.2.1", now=180.0) == third


def test_userspace_keeps_its_own_affinity_table() -> None:
    with pytest.raises(svccore.InvalidArgumentError, match="its own table"):
        svccore.Balancer("userspace", NGINX, affinity_timeout=60, affinity="lru")
    with pytest.raises(svccore.InvalidArgumentError, match="apply to IPVS"):
        svccore.Balancer("userspace", NGINX, flags=["mh-port"])


def test_simulate_userspace_gives_every_endpoint_exactly_its_turn() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-study.yaml"))
    r = c.simulate("study/service-clusterip", scheduler="userspace", connections=3000)
    assert r.algorithm == "userspace"
    assert r.picks == dict.fromkeys(NGINX, 1000)
    assert r.balance == 1.0


def test_simulate_userspace_affinity_pins_every_client() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-affinity.yaml"))
    r = c.simulate("study/service-clusterip", scheduler="userspace", clients=30, connections=3000)
    a = r.to_dict()["affinity"]
    assert a["timeout_seconds"] == 10800
    assert a["clients_pinned"] == a["clients"] == 30
    assert a["broken"] == 0


def test_simulate_userspace_ignores_external_traffic_policy() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-study.yaml"))
    r = c.simulate(
        "study/service-loadbalancer",
        node="master",
        source="external",
        scheduler="userspace",
        connections=900,
    )
    assert (r.dropped, r.rejected) == (0, 0)
    assert r.picks == dict.fromkeys(NGINX, 300)
    assert r.note is not None and "traffic policies" in r.note


def test_cli_simulate_mode_userspace(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "simulate",
        "-f",
        str(EXAMPLES / "nginx-study.yaml"),
        "--service",
        "study/service-clusterip",
        "--node",
        "master",
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*args, "--mode", "userspace", "--connections", "300"]) == 0
    text = out.getvalue()
    assert "(userspace, Pod traffic" in text
    assert text.count("     100   33.33%") == 3
    assert main([*args, "--mode", "userspace", "--scheduler", "rr"]) == 2
    assert "--mode userspace uses the proxy's round robin" in capsys.readouterr().err
