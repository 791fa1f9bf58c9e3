"""kube-proxy's nftables mode in `trace` and `simulate`: `Cluster.trace(mode="nftables")`,
`Cluster.simulate(scheduler="nftables")` and the `--mode nftables` options of the command."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import svccore
from conftest import DATA
from test_cli import run

SHOP = str(DATA / "shop.yaml")


@pytest.fixture
def shop() -> svccore.Cluster:
    return svccore.Cluster.from_sources([("shop.yaml", (DATA / "shop.yaml").read_text())])


def test_nftables_is_a_trace_mode_of_the_core() -> None:
    assert "nftables" in svccore.TRACE_MODES
    assert set(svccore.TRACE_MODES) == {"iptables", "ipvs", "nftables", "userspace"}


def test_trace_walks_the_table_with_numgen_shares(shop: svccore.Cluster) -> None:
    t = shop.trace(
        node="node-a", src="10.244.2.9", dst="10.96.0.10:80", source="other-node", mode="nftables"
    )
    assert t.mode == "nftables" and t.node == "node-a"
    assert [o.verdict for o in t.outcomes] == ["dnat", "dnat"]
    assert [o.probability for o in t.outcomes] == [Fraction(1, 2), Fraction(1, 2)]
    assert {o.nominal for o in t.outcomes} == {Fraction(1, 2)}
    assert set(t.endpoints()) == {"10.244.1.5:8080", "10.244.2.7:8080"}
    assert all(o.chain is not None and o.chain.startswith("endpoint-") for o in t.outcomes)
    text = str(t)
    assert text.startswith("TCP 10.244.2.9 -> 10.96.0.10:80 from OtherNode on node")
    assert "nat-prerouting #1: jump services" in text
    assert "numgen random mod 2 = 0: goto endpoint-" in text
    d = t.to_dict()
    assert d["mode"] == "nftables"
    assert d["outcomes"][0]["probability"]["fraction"] == "1/2"
    assert d["outcomes"][0]["steps"][0]["chain"] == "filter-prerouting-pre-dnat"


def test_trace_external_traffic_policy_local_drops_with_the_reason() -> None:
    node_c = "apiVersion: v1\nkind: Node\nmetadata: {name: node-c}\n"
    node_c += "status: {addresses: [{type: InternalIP, address: 192.168.0.12}]}\n"
    c = svccore.Cluster.from_sources(
        [("shop.yaml", (DATA / "shop.yaml").read_text()), ("node-c.yaml", node_c)]
    )
    t = c.trace(
        node="node-c",
        src="203.0.113.9",
        dst="192.168.0.12:30080",
        source="external",
        mode="nftables",
    )
    (o,) = t.outcomes
    assert (o.verdict, o.endpoint) == ("drop", None)
    assert o.reason == "shop/web:http has no local endpoints"
    t = c.trace(
        node="node-a",
        src="203.0.113.9",
        dst="192.168.0.10:30080",
        source="external",
        mode="nftables",
    )
    assert [(o.verdict, o.endpoint, o.masquerade) for o in t.outcomes] == [
        ("dnat", "10.244.1.5:8080", False)
    ]


def test_trace_from_the_node_takes_the_output_path_and_is_masqueraded(
    shop: svccore.Cluster,
) -> None:
    t = shop.trace(
        node="node-a",
        src="192.168.0.10",
        dst="10.96.0.10:80",
        source="node",
        mode="nftables",
        cluster_cidr="10.244.0.0/16",
    )
    assert t.outcomes and all(o.masquerade for o in t.outcomes)
    text = str(t)
    assert "nat-output #1: jump services" in text and "nat-prerouting" not in text
    assert "masquerading #3: masquerade" in text


def test_trace_refuses_an_unknown_mode_listing_nftables(shop: svccore.Cluster) -> None:
    with pytest.raises(
        svccore.InvalidArgumentError, match=r"expected iptables, ipvs, nftables or userspace"
    ):
        shop.trace(node="node-a", src="10.0.0.1", dst="10.96.0.10:80", mode="nft")


def test_trace_command_in_nftables_mode() -> None:
    base = ["trace", "-f", SHOP, "--node", "node-a", "--src", "10.244.2.9", "--dst"]
    p = run(*base, "10.96.0.10:80", "--mode", "nftables")
    assert p.returncode == 0, p.stderr
    assert "with probability 1/2 = 0.500000000000 (nominal 1/2)" in p.stdout
    assert "@service-ips 10.96.0.10 . tcp . 80: goto service-" in p.stdout
    p = run(*base, "10.96.0.99:80", "--mode", "nftables", "-o", "json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["mode"] == "nftables"
    assert [o["verdict"]["kind"] for o in d["outcomes"]] == ["Accept"]


def test_simulate_nftables_spreads_and_keeps_affinity(shop: svccore.Cluster) -> None:
    r = shop.simulate("shop/web", node="node-a", scheduler="nftables", connections=4000)
    assert r.algorithm == "nftables"
    shares = r.to_dict()["endpoints"]
    assert {e["endpoint"] for e in shares} == {"10.244.1.5:8080", "10.244.2.7:8080"}
    assert all(e["expected_share"] == 0.5 for e in shares)
    assert all(abs(e["share"] - 0.5) < 0.05 for e in shares)
    r = shop.simulate(
        "shop/web", node="node-a", scheduler="nftables", connections=2000, affinity_timeout=3600
    )
    a = r.to_dict()["affinity"]
    assert a["clients_pinned"] == a["clients"] and a["broken"] == 0


def test_simulate_command_mode_nftables() -> None:
    base = ["simulate", "-f", SHOP, "--service", "shop/web", "--node", "node-a"]
    p = run(*base, "--mode", "nftables", "--connections", "100", "-o", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["algorithm"] == "nftables"
    p = run(*base, "--mode", "nftables", "--scheduler", "rr")
    assert p.returncode == 2
    assert "--mode nftables uses numgen random, not rr" in p.stderr


AFFINITY = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  ports: [{port: 80}]
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: "", port: 8080}]
endpoints: [{addresses: [10.1.0.1]}, {addresses: [10.1.0.2]}, {addresses: [10.1.0.3]}]
"""


def test_a_client_in_an_affinity_set_goes_to_its_endpoint() -> None:
    c = svccore.Cluster.from_yaml(AFFINITY)

    def trace(recent: list[str] | None = None) -> svccore.TraceResult:
        return c.trace(
            node="node-a", src="10.244.0.9", dst="10.96.0.10:80", mode="nftables", recent=recent
        )

    t = trace()
    # No entry: numgen over three endpoints, the kernel's exact shares (value 0 takes the
    # extra one of 2^32 draws).
    assert [str(o.probability) for o in t.outcomes] == [
        "715827883/2147483648",
        "1431655765/4294967296",
        "1431655765/4294967296",
    ]
    sets = [
        line.split()[4]
        for line in c.render_nftables(node="node-a").splitlines()
        if line.startswith("add set ip kube-proxy affinity-") and "10.1.0.2/8080" in line
    ]
    (name,) = sets
    t = trace([name])
    (o,) = t.outcomes
    assert o.endpoint == "10.1.0.2:8080" and o.probability == 1
    assert f"client in @{name}: goto endpoint-" in str(t)
    p = run(
        "trace", "--node", "node-a", "--src", "10.244.0.9", "--dst", "10.96.0.10:80",
        "--mode", "nftables", "--recent", name, "-o", "json", "-f", "-",
        stdin=AFFINITY.encode(),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert [o["verdict"]["endpoint"] for o in json.loads(p.stdout)["outcomes"]] == ["10.1.0.2:8080"]
