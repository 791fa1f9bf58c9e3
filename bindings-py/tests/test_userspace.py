"""kube-proxy userspace mode from Python: its load balancer (LoadBalancerRR) as
Balancer("userspace"), Cluster.simulate(scheduler="userspace") and simulate --mode userspace;
its portal rules as Cluster.render_iptables(mode="userspace") and render iptables --mode
userspace; Cluster.trace(mode="userspace") and trace --mode userspace."""

from __future__ import annotations

import contextlib
import io
import json
import pathlib

import pytest
import svccore
from svccore.cli import main
from test_cli import run

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


# --- the portal rules and the trace -------------------------------------------------------

PORTALS = pathlib.Path(__file__).parent / "data" / "userspace.yaml"


@pytest.fixture
def portals() -> svccore.Cluster:
    return svccore.Cluster.from_sources([("userspace.yaml", PORTALS.read_text())])


def test_render_iptables_mode_userspace_writes_the_portal_rules(portals: svccore.Cluster) -> None:
    text = portals.render_iptables(
        mode="userspace", node="node-a", form="save", proxy_port_range="36000-36009"
    )
    assert (
        '-A KUBE-PORTALS-CONTAINER -d 10.96.1.1/32 -p tcp -m comment --comment "shop/web:http" '
        "-m tcp --dport 80 -j REDIRECT --to-ports 36003\n" in text
    )
    assert (
        '-A KUBE-NODEPORT-HOST -p tcp -m comment --comment "shop/web:http" -m tcp --dport 30080 '
        "-j DNAT --to-destination 192.168.0.10:36003\n" in text
    )
    # The settings' proxyPorts mapping (a real node's ports) and the bind address.
    restore = portals.render_iptables(
        mode="userspace",
        node="node-a",
        proxier_settings={"userspace": {"proxyPorts": {"shop/web:http": 41000}}},
        bind_address="192.168.0.10",
    )
    assert (
        '-A KUBE-PORTALS-CONTAINER -m comment --comment "shop/web:http" -p tcp -m tcp --dport 80 '
        "-d 10.96.1.1/32 -j DNAT --to-destination 192.168.0.10:41000\n" in restore
    )


def test_render_iptables_mode_userspace_refuses_flags_and_settings_of_other_modes(
    portals: svccore.Cluster,
) -> None:
    with pytest.raises(svccore.InvalidArgumentError, match='applies to mode "iptables" only'):
        portals.render_iptables(mode="userspace", node="node-a", random_fully=False)
    with pytest.raises(svccore.InvalidArgumentError, match='applies to mode "userspace" only'):
        portals.render_iptables(node="node-a", proxy_port_range="36000-36009")
    with pytest.raises(svccore.InvalidArgumentError, match="expected iptables or userspace"):
        portals.render_iptables(mode="ipvs", node="node-a")
    with pytest.raises(svccore.ConfigError) as e:
        portals.render_iptables(mode="userspace", node="node-a", proxy_port_range="36000-36002")
    assert e.value.path == "userspace.portRange"


def test_trace_mode_userspace_shows_the_portal_then_the_proxy_pick(
    portals: svccore.Cluster,
) -> None:
    t = portals.trace(
        node="node-a",
        src="10.244.1.9",
        dst="10.96.1.1:80",
        mode="userspace",
        proxy_port_range="36000-36009",
    )
    assert t.mode == "userspace"
    assert t.endpoints() == {"10.244.1.5:8080": 0.5, "10.244.2.6:8080": 0.5}
    text = str(t)
    assert "KUBE-PORTALS-CONTAINER #5: REDIRECT to the proxy port 36003 of shop/web:http" in text
    assert "proxy  shop/web:http #1: round robin" in text
    host = portals.trace(
        node="node-a", src="192.168.0.10", dst="10.96.1.1:80", source="node", mode="userspace"
    )
    assert "KUBE-PORTALS-HOST" in str(host)


def test_cli_render_and_trace_mode_userspace() -> None:
    p = run(
        "render",
        "iptables",
        "-f",
        str(PORTALS),
        "--node",
        "node-a",
        "--mode",
        "userspace",
        "--proxy-port-range",
        "36000-36009",
        "--form",
        "jumps",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("*filter\n-I INPUT -m comment --comment ")
    p = run(
        "trace",
        "-f",
        str(PORTALS),
        "--node",
        "node-a",
        "--src",
        "203.0.113.9",
        "--dst",
        "192.168.0.10:30080",
        "--from",
        "external",
        "--mode",
        "userspace",
        "--proxy-port-range",
        "36000-36009",
        "-o",
        "json",
    )
    assert p.returncode == 0, p.stderr
    t = json.loads(p.stdout)
    assert t["mode"] == "userspace"
    assert {o["verdict"]["endpoint"] for o in t["outcomes"]} == {
        "10.244.1.5:8080",
        "10.244.2.6:8080",
    }
    p = run(
        "render",
        "iptables",
        "-f",
        str(PORTALS),
        "--node",
        "node-a",
        "--proxy-port-range",
        "36000-36009",
    )
    assert p.returncode == 2
    assert 'proxy_port_range applies to mode "userspace" only' in p.stderr


def test_audit_mode_userspace_gives_the_nodes_proxy_ports(portals: svccore.Cluster) -> None:
    save = portals.render_iptables(mode="userspace", node="node-a", form="save")
    assert not portals.audit(save, node="node-a", mode="userspace").has_drift
    node = save.replace("--to-ports 32771", "--to-ports 40001").replace(":32771", ":40001")
    report = portals.audit(node, node="node-a", mode="userspace")
    assert report.has_drift
    assert any('"shop/web:http": 40001' in n for n in report.notes)
    given = {"userspace": {"proxyPorts": {"shop/web:http": 40001}}}
    # The filter rule still names 32771 on this node: only it is left.
    rest = portals.audit(node, node="node-a", mode="userspace", proxier_settings=given)
    assert list(rest.changed) == ["shop/web:http"]
    p = run(
        "audit",
        "-f",
        str(PORTALS),
        "--node",
        "node-a",
        "--mode",
        "userspace",
        "--actual",
        "-",
        stdin=save.encode(),
    )
    assert p.returncode == 0, p.stderr
    assert "no drift" in p.stdout
