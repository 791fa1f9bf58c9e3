"""Cluster.render_iptables, render_ipvs, trace and audit: what kube-proxy writes on a node and
what it does with a packet."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
import svccore
from conftest import DATA, REPO

CASES = REPO / "tests" / "conformance" / "iptables"


@pytest.fixture
def shop() -> svccore.Cluster:
    return svccore.Cluster.from_files(DATA / "shop.yaml")


def test_render_iptables_takes_proxier_settings_in_every_form(tmp_path: Path) -> None:
    case = CASES / "overall"
    cluster = svccore.Cluster.from_files(case / "cluster.json")
    text = (case / "proxy.json").read_text()
    path = tmp_path / "proxy.json"
    path.write_text(text)
    forms = [
        svccore.ProxierSettings.from_json(text),
        json.loads(text),
        text,
        path,
    ]
    outputs = {cluster.render_iptables(proxier_settings=f) for f in forms}
    assert len(outputs) == 1
    assert "KUBE-MARK-MASQ -j MARK --or-mark 0x4000" in outputs.pop()


def test_flags_override_settings_which_override_the_configuration(shop: svccore.Cluster) -> None:
    cfg = svccore.ProxyConfig.from_yaml((DATA / "kube-proxy.conf").read_text())
    rules = shop.render_iptables(node="node-a", config=cfg)
    assert "! -s 10.244.0.0/16" in rules  # clusterCIDR of the configuration
    rules = shop.render_iptables(
        node="node-a", config=cfg, proxier_settings={"clusterCIDR": "10.0.0.0/8"}
    )
    assert "! -s 10.0.0.0/8" in rules
    rules = shop.render_iptables(
        node="node-a",
        config=cfg,
        proxier_settings={"clusterCIDR": "10.0.0.0/8"},
        cluster_cidr="10.128.0.0/9",
        masquerade_bit=13,
    )
    assert "! -s 10.128.0.0/9" in rules
    assert "--or-mark 0x00002000" in rules


def test_render_forms(shop: svccore.Cluster) -> None:
    save = shop.render_iptables(node="node-a", form="save")
    assert save.startswith("*mangle\n")
    assert "-A PREROUTING -m comment --comment" in save
    jumps = shop.render_iptables(node="node-a", form="jumps")
    assert "KUBE-SERVICES" in jumps and "KUBE-SEP" not in jumps
    listing = shop.render_ipvs(node="node-a")
    assert listing.startswith("IP Virtual Server version 1.2.1")
    assert "TCP  10.96.0.10:80 rr" in listing
    assert "-s mh" in shop.render_ipvs(node="node-a", form="save", ipvs_scheduler="mh")
    assert "KUBE-CLUSTER-IP" in shop.render_ipvs(node="node-a", form="ipset")
    assert "inet 10.96.0.10/32" in shop.render_ipvs(node="node-a", form="addresses")
    assert "-A KUBE-SERVICES" in shop.render_ipvs(node="node-a", form="iptables")
    assert "Conns" in shop.render_ipvs(node="node-a", form="stats")
    assert "CPS" in shop.render_ipvs(node="node-a", form="rate")


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (
            lambda c: c.render_iptables(form="xml"),
            svccore.InvalidArgumentError,
            'unknown iptables form "xml": expected restore, save or jumps',
        ),
        (
            lambda c: c.render_iptables(masquerade_bit=40),
            svccore.ConfigError,
            "invalid configuration: masqueradeBit: must be between 0 and 31, got 40",
        ),
        (
            lambda c: c.render_iptables(cluster_cidr="nope"),
            svccore.ConfigError,
            'invalid configuration: clusterCIDR: "nope" is not a CIDR',
        ),
        (
            lambda c: c.render_iptables(proxier_settings='{"bogus": 1}'),
            svccore.ConfigError,
            "invalid configuration: bogus: unknown field (known: nodeName, ",
        ),
        (
            lambda c: c.render_iptables(proxier_settings=42),
            svccore.InvalidArgumentError,
            "proxier_settings must be a ProxierSettings, a dict, JSON text or a path",
        ),
        (
            lambda c: c.render_iptables(family="IPv5"),
            svccore.InvalidArgumentError,
            'unknown IP family "IPv5": expected "IPv4" or "IPv6"',
        ),
        (
            lambda c: c.render_ipvs(form="json"),
            svccore.InvalidArgumentError,
            'unknown ipvs form "json": expected one of list, save, ipset, iptables, addresses',
        ),
        (
            lambda c: c.render_ipvs(ipvs_scheduler="fifo"),
            svccore.InvalidArgumentError,
            'unknown IPVS scheduler "fifo": expected one of rr, wrr, lc',
        ),
        (
            lambda c: c.trace(node="n", src="x", dst="10.96.0.10:80"),
            svccore.InvalidArgumentError,
            'src "x" is not an IP address',
        ),
        (
            lambda c: c.trace(node="n", src="10.0.0.1", dst="10.96.0.10"),
            svccore.InvalidArgumentError,
            'dst "10.96.0.10" has no port: write ip:port ([ip]:port for IPv6)',
        ),
        (
            lambda c: c.trace(node="n", src="10.0.0.1", dst="10.96.0.10:80", proto="icmp"),
            svccore.InvalidArgumentError,
            'unknown protocol "icmp": expected tcp, udp or sctp',
        ),
        (
            lambda c: c.trace(node="n", src="10.0.0.1", dst="10.96.0.10:80", source="mars"),
            svccore.InvalidArgumentError,
            'unknown traffic source "mars": expected pod, node, other-node or external',
        ),
        (
            lambda c: c.trace(node="n", src="10.0.0.1", dst="10.96.0.10:80", mode="nft"),
            svccore.InvalidArgumentError,
            'unknown mode "nft": expected iptables, ipvs, nftables or userspace',
        ),
        (
            lambda c: c.trace(
                node="n", src="10.0.0.1", dst="10.96.0.10:80", mode="ipvs", random_fully=True
            ),
            svccore.InvalidArgumentError,
            'random_fully applies to mode "iptables" only',
        ),
        (
            lambda c: c.trace(node="n", src="10.0.0.1", dst="10.96.0.10:80", ipvs_scheduler="rr"),
            svccore.InvalidArgumentError,
            'ipvs_scheduler applies to mode "ipvs" only',
        ),
        (
            lambda c: c.trace(node="n", src="fd00::1", dst="10.96.0.10:80"),
            svccore.InvalidArgumentError,
            "src fd00::1 and dst 10.96.0.10 are of different IP families",
        ),
        (
            lambda c: c.audit("garbage", node="node-a"),
            svccore.DumpError,
            'cannot parse dump: iptables-save: line 1: "garbage" is outside a table: iptables-save '
            "output opens each table with a *filter, *nat, ... line",
        ),
    ],
)
def test_errors_are_typed_with_clear_messages(
    shop: svccore.Cluster, call: object, exc: type[Exception], message: str
) -> None:
    with pytest.raises(exc) as info:
        call(shop)  # type: ignore[operator]
    assert str(info.value).startswith(message), str(info.value)


def test_a_missing_settings_file_is_an_os_error(shop: svccore.Cluster, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        shop.render_iptables(proxier_settings=tmp_path / "missing.json")


def test_settings_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"nodeIPs": ["x"]}')
    with pytest.raises(svccore.ConfigError) as info:
        svccore.Cluster.from_yaml("").render_iptables(proxier_settings=path)
    assert (info.value.file, info.value.path) == (str(path), "nodeIPs[0]")


def test_trace_iptables_outcomes_carry_exact_probabilities(shop: svccore.Cluster) -> None:
    # From another node's pod, to the NodePort service's cluster IP: two ready endpoints.
    t = shop.trace(node="node-a", src="10.244.2.9", dst="10.96.0.10:80", source="other-node")
    assert t.mode == "iptables"
    assert t.node == "node-a"
    assert [o.verdict for o in t.outcomes] == ["dnat", "dnat"]
    assert sum(o.probability for o in t.outcomes) == 1
    assert {o.nominal for o in t.outcomes} == {Fraction(1, 2)}
    assert set(t.endpoints()) == {"10.244.1.5:8080", "10.244.2.7:8080"}
    assert all(o.chain is not None and o.chain.startswith("KUBE-SEP-") for o in t.outcomes)
    d = t.to_dict()
    assert d["mode"] == "iptables"
    assert d["outcomes"][0]["probability"]["fraction"] == "1/2"
    assert str(t).startswith("TCP 10.244.2.9 -> 10.96.0.10:80 from OtherNode on node")


def test_trace_external_traffic_policy_local_drops_without_a_local_endpoint() -> None:
    node_c = "apiVersion: v1\nkind: Node\nmetadata: {name: node-c}\n"
    node_c += "status: {addresses: [{type: InternalIP, address: 192.168.0.12}]}\n"
    c = svccore.Cluster.from_sources(
        [("shop.yaml", (DATA / "shop.yaml").read_text()), ("node-c.yaml", node_c)]
    )
    t = c.trace(node="node-c", src="203.0.113.9", dst="192.168.0.12:30080", source="external")
    (o,) = t.outcomes
    assert (o.verdict, o.endpoint) == ("drop", None)
    assert o.reason == "shop/web:http has no local endpoints"
    t = c.trace(node="node-a", src="203.0.113.9", dst="192.168.0.10:30080", source="external")
    assert [(o.verdict, o.endpoint, o.masquerade) for o in t.outcomes] == [
        ("dnat", "10.244.1.5:8080", False)
    ]


def test_trace_from_the_node_itself_is_masqueraded(shop: svccore.Cluster) -> None:
    t = shop.trace(
        node="node-a",
        src="192.168.0.10",
        dst="10.96.0.10:80",
        source="node",
        cluster_cidr="10.244.0.0/16",
    )
    assert t.outcomes and all(o.masquerade for o in t.outcomes)
    assert str(t).startswith("TCP 192.168.0.10 -> 10.96.0.10:80 from Host")


def test_trace_ipvs_shows_the_virtual_server_and_the_pick(shop: svccore.Cluster) -> None:
    t = shop.trace(
        node="node-a", src="10.244.1.9", dst="10.96.0.10:80", mode="ipvs", ipvs_scheduler="sh"
    )
    assert t.mode == "ipvs"
    (o,) = t.outcomes
    assert o.verdict == "dnat" and o.probability == 1 and o.decimal == 1.0
    vs = t.virtual_server
    assert vs is not None
    assert (vs["kind"], vs["scheduler"], vs["service_port_name"]) == (
        "cluster-ip",
        "sh",
        "shop/web:http",
    )
    assert o.endpoint in [r["address"] for r in vs["real_servers"]]
    assert t.to_dict()["ipvs"]["scheduler"] == "sh"
    assert "ipvs virtual server TCP  10.96.0.10:80 (cluster-ip)" in str(t)
    # Not a service: accepted, no virtual server.
    t = shop.trace(node="node-a", src="10.244.1.9", dst="10.96.9.9:80", mode="ipvs")
    assert [o.verdict for o in t.outcomes] == ["accept"] and t.virtual_server is None


def test_audit_finds_an_edited_rule_and_nothing_in_a_clean_dump(shop: svccore.Cluster) -> None:
    save = shop.render_iptables(node="node-a", form="save")
    clean = shop.audit(save, node="node-a")
    assert not clean.has_drift
    assert clean.service_ports == [] and clean.missing == {} and clean.extra == {}
    assert clean.expected_rules == clean.actual_rules > 0
    assert str(clean).endswith("no drift\n")
    lines = save.splitlines()
    i = next(k for k, line in enumerate(lines) if "-j DNAT" in line)
    removed = lines.pop(i)
    report = shop.audit("\n".join(lines) + "\n", node="node-a")
    assert report.has_drift and report.node == "node-a" and report.family == "IPv4"
    (group,) = report.service_ports
    assert report.missing == {group: [removed]}
    assert report.to_dict()["has_drift"] is True
    assert f"  missing  [nat] {removed}" in str(report)


def test_proxier_settings_class() -> None:
    s = svccore.ProxierSettings.from_dict({"nodeName": "a", "masqueradeAll": True})
    assert s.fields == ["nodeName", "masqueradeAll"] and s.file is None
    assert s.to_dict()["masqueradeAll"] is True
    with pytest.raises(svccore.ConfigError, match=r"^invalid configuration: ipFamily: must be"):
        svccore.ProxierSettings.from_dict({"ipFamily": "IPv5"})
    with pytest.raises(svccore.ConfigError) as info:
        svccore.ProxierSettings.from_json("{", file="p.json")
    assert info.value.file == "p.json"


def test_proxy_warnings_report_kube_proxy_tolerances() -> None:
    c = svccore.Cluster.from_files(CASES / "lb-source-ranges" / "cluster.json")
    messages = [w.message for w in c.proxy_warnings()]
    assert '"172.30.0.041" read as 172.30.0.41, as kube-proxy does' in messages
    with pytest.raises(svccore.InvalidArgumentError):
        c.proxy_warnings("v4")


def test_proxy_warnings_after_a_render_are_those_of_its_family() -> None:
    path = CASES / "lb-source-ranges" / "cluster.json"
    fresh = svccore.Cluster.from_files(path)
    expected = {f: [str(w) for w in fresh.proxy_warnings(f)] for f in ("IPv4", "IPv6")}
    assert expected["IPv4"] and expected["IPv4"] != expected["IPv6"]
    renders: dict[str, Callable[[svccore.Cluster, str], object]] = {
        "iptables": lambda c, f: c.render_iptables(node="n", family=f, allow_unknown_node=True),
        "nftables": lambda c, f: c.render_nftables(node="n", family=f, allow_unknown_node=True),
        "ipvs": lambda c, f: c.render_ipvs(node="n", family=f, allow_unknown_node=True),
    }
    for mode, render in renders.items():
        c = svccore.Cluster.from_files(path)
        render(c, "IPv6")
        got = {f: [str(w) for w in c.proxy_warnings(f)] for f in ("IPv6", "IPv4")}
        assert got == expected, mode


def test_render_methods_write_the_same_text_to_a_binary_file() -> None:
    # 10,000 services without endpoints: the iptables text is over 1 MiB, written in pieces.
    items: list[dict[str, object]] = []
    for i in range(10000):
        meta = {"name": f"s{i}", "namespace": "big"}
        ip = f"10.96.{i // 250}.{i % 250 + 1}"
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta,
                "spec": {"clusterIP": ip, "ports": [{"port": 80}]},
            }
        )
    cluster = svccore.Cluster.from_json(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    renders: dict[str, Callable[..., object]] = {
        "iptables": cluster.render_iptables,
        "nftables": cluster.render_nftables,
        "ipvs": cluster.render_ipvs,
    }
    sizes = {}
    for mode, render in renders.items():
        text = render(node="n")
        assert isinstance(text, str)
        out = io.BytesIO()
        assert render(node="n", out=out) is None
        assert out.getvalue() == text.encode(), mode
        sizes[mode] = len(text)
    assert sizes["iptables"] > 1 << 20
    with pytest.raises(AttributeError):
        cluster.render_iptables(node="n", out=object())  # type: ignore[call-overload]


def test_node_is_the_host_and_other_node_enters_from_the_network(shop: svccore.Cluster) -> None:
    kw = {"node": "node-a", "src": "192.168.0.11", "dst": "192.168.0.10:30080"}
    host = shop.trace(source="node", **kw)  # type: ignore[arg-type]
    other = shop.trace(source="other-node", **kw)  # type: ignore[arg-type]
    assert host.to_dict()["packet"]["origin"] == "Host"
    assert other.to_dict()["packet"]["origin"] == "OtherNode"
    assert {s["chain"] for o in host.outcomes for s in o.steps} >= {"OUTPUT"}
    assert "OUTPUT" not in {s["chain"] for o in other.outcomes for s in o.steps}
    assert svccore.TRAFFIC_SOURCES == ("pod", "node", "other-node", "external")


def test_flags_are_one_keyword_set_checked_by_the_core(shop: svccore.Cluster) -> None:
    with pytest.raises(
        TypeError, match="render_iptables\\(\\) got an unexpected keyword argument 'colour'"
    ):
        shop.render_iptables(colour=True)  # type: ignore[call-overload]
    with pytest.raises(
        svccore.InvalidArgumentError, match='random_fully applies to mode "iptables"'
    ):
        shop.render_ipvs(node="node-a", random_fully=True)
    with pytest.raises(svccore.InvalidArgumentError, match='ipvs_scheduler applies to mode "ipvs"'):
        shop.audit(shop.render_iptables(form="save"), node="node-a", ipvs_scheduler="rr")
    with pytest.raises(svccore.InvalidArgumentError, match="expected a boolean"):
        shop.render_iptables(masquerade_all="yes")  # type: ignore[call-overload]
    # None is "not given", for any mode.
    assert shop.render_ipvs(node="node-a", random_fully=None) == shop.render_ipvs(node="node-a")


def test_name_lists_come_from_the_core_and_the_stubs_declare_every_flag() -> None:
    import ast

    assert svccore.IPVS_SCHEDULERS == ("rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh")
    assert set(svccore.IPVS_SCHEDULERS) < set(svccore.ALGORITHMS)
    assert svccore.PROTOCOLS == ("tcp", "udp", "sctp")
    stub = ast.parse((Path(svccore.__file__).parent / "_svccore.pyi").read_text())
    flags = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "_ProxierFlags")
    declared = {a.target.id for a in flags.body if isinstance(a, ast.AnnAssign)}  # type: ignore[union-attr]
    assert declared == set(svccore.PROXIER_FLAGS) - {"node", "family"}
