"""Cluster: loading from text, files and Python objects; services, validation, reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import svccore
from conftest import DATA

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app_name": "web"}},
    "spec": {
        "type": "NodePort",
        "clusterIP": "10.96.0.10",
        "clusterIPs": ["10.96.0.10"],
        "selector": {"app_name": "web"},
        "externalTrafficPolicy": "Local",
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}],
    },
}


def test_loads_every_kind_from_a_multi_document_yaml_file() -> None:
    c = svccore.Cluster.from_files(DATA / "shop.yaml")
    assert [s.key for s in c.services] == ["shop/web", "shop/api", "shop/db", "shop/payments"]
    assert c.nodes == ["node-a", "node-b"]
    assert c.proxy_config is None


def test_from_files_merges_several_files_and_accepts_str_paths() -> None:
    c = svccore.Cluster.from_files(str(DATA / "shop.yaml"), DATA / "kube-proxy.conf")
    assert c.proxy_config is not None
    assert c.proxy_config.mode == "ipvs"


def test_from_files_raises_file_not_found_with_the_name() -> None:
    with pytest.raises(FileNotFoundError) as e:
        svccore.Cluster.from_files(DATA / "nope.yaml")
    assert e.value.filename == str(DATA / "nope.yaml")


def test_from_files_rejects_non_utf8_with_parse_error(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"kind: \xe9\n")
    with pytest.raises(svccore.ParseError, match="not UTF-8 text") as e:
        svccore.Cluster.from_files(p)
    assert e.value.path == "byte 6"


def test_from_json_reads_a_list_and_rejects_yaml() -> None:
    c = svccore.Cluster.from_json(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [SERVICE]})
    )
    assert c.services[0].key == "shop/web"
    with pytest.raises(svccore.ParseError, match="use from_yaml for YAML"):
        svccore.Cluster.from_json("kind: Service")


def test_from_sources_names_each_input_in_errors() -> None:
    with pytest.raises(svccore.ManifestError) as e:
        svccore.Cluster.from_sources([("ok.json", json.dumps(SERVICE)), ("bad.json", "[1]")])
    assert [(i.file, i.path) for i in e.value.errors] == [("bad.json", "[0]")]


def test_from_sources_takes_utf8_bytes_as_it_takes_str() -> None:
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": [SERVICE]})
    from_str = svccore.Cluster.from_sources([("a.json", text)])
    from_bytes = svccore.Cluster.from_sources([("a.json", text.encode())])
    assert [s.to_dict() for s in from_bytes.services] == [s.to_dict() for s in from_str.services]
    assert from_bytes.summary().to_dict() == from_str.summary().to_dict()
    with pytest.raises(svccore.ParseError, match="not UTF-8 text") as e:
        svccore.Cluster.from_sources([("ok.json", text.encode()), ("l.yaml", b"kind: \xe9\n")])
    assert (e.value.file, e.value.path) == ("l.yaml", "byte 6")
    with pytest.raises(TypeError, match="a text must be str or bytes, not int"):
        svccore.Cluster.from_sources([("n.json", 5)])  # type: ignore[list-item]


def test_service_attributes_and_to_dict() -> None:
    s = svccore.Cluster.from_manifests(SERVICE).services[0]
    assert (s.namespace, s.name, s.type, s.cluster_ip, s.headless) == (
        "shop",
        "web",
        "NodePort",
        "10.96.0.10",
        False,
    )
    assert s.external_traffic_policy == "Local"
    assert s.internal_traffic_policy is None
    port = s.ports[0]
    assert (port.name, port.protocol, port.port, port.target_port, port.node_port) == (
        "http",
        "TCP",
        80,
        8080,
        30080,
    )
    d = s.to_dict()
    assert d["type"] == "NodePort"
    assert d["ports"] == [
        {"name": "http", "protocol": "TCP", "port": 80, "target_port": 8080, "node_port": 30080}
    ]
    assert json.loads(json.dumps(d)) == d
    assert repr(s) == "<Service shop/web NodePort>"


def test_missing_cluster_ip_and_node_port_are_allocated_with_warnings() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "a"},
        "spec": {"type": "NodePort", "ports": [{"port": 80}]},
    }
    c = svccore.Cluster.from_manifests(svc, file="a.json", node_port_range=(20000, 20010))
    s = c.services[0]
    assert s.cluster_ip is not None and s.cluster_ip.startswith("10.")
    node_port = s.ports[0].node_port
    assert node_port is not None and 20000 <= node_port <= 20010
    assert c.warnings and all(w.file == "a.json" for w in c.warnings)
    assert c.validate(node_port_range=(20000, 20010)) == []


def test_validate_returns_every_error_with_file_and_path() -> None:
    issues = svccore.Cluster.from_files(DATA / "invalid.yaml").validate()
    assert [(i.file, i.path) for i in issues] == [
        (str(DATA / "invalid.yaml"), "items[0].spec.ports[0].nodePort"),
        (str(DATA / "invalid.yaml"), "items[1].metadata.name"),
    ]
    assert "not in the valid node port range 30000-32767" in issues[0].message
    assert str(issues[0]).startswith(f"{DATA / 'invalid.yaml'}: items[0].spec.ports[0].nodePort: ")


def test_validate_uses_the_given_node_port_range() -> None:
    c = svccore.Cluster.from_manifests(SERVICE)
    assert c.validate() == []
    [issue] = c.validate(node_port_range=(31000, 32000))
    assert issue.path == "spec.ports[0].nodePort"


@pytest.mark.parametrize("bad", [(0, 10), (32767, 30000), (1, 70000)])
def test_validate_rejects_a_bad_node_port_range(bad: tuple[int, int]) -> None:
    with pytest.raises(svccore.InvalidArgumentError, match="invalid node port range"):
        svccore.Cluster.from_manifests(SERVICE).validate(node_port_range=bad)


def test_issue_equality_hash_repr_and_dict() -> None:
    a = svccore.Cluster.from_files(DATA / "invalid.yaml").validate()
    b = svccore.Cluster.from_files(DATA / "invalid.yaml").validate()
    assert a == b
    assert len({*a, *b}) == 2
    assert repr(a[1]).startswith(
        f"Issue(file={str(DATA / 'invalid.yaml')!r}, path='items[1].metadata.name'"
    )
    assert set(a[0].to_dict()) == {"file", "path", "message"}


def test_summary_counts_and_one_line_text() -> None:
    s = svccore.Cluster.from_files(DATA / "shop.yaml").summary()
    assert (s.services, s.headless, s.external_name, s.service_ports) == (4, 1, 1, 3)
    assert s.services_by_type == {"ClusterIP": 2, "ExternalName": 1, "NodePort": 1}
    assert s.endpoints == {
        "IPv4": {"total": 4, "by_node": {"node-a": 2, "node-b": 2}, "without_node": 0}
    }
    assert (s.nodes, s.pods, s.warnings, s.endpoint_slices) == (2, 1, 1, 2)
    assert str(s) == (
        "4 services (2 ClusterIP, 1 NodePort, 1 ExternalName; 1 headless), 3 service ports, "
        "4 endpoints (IPv4: 4 on 2 nodes), 2 nodes, 1 warning"
    )
    assert s.to_dict()["services_by_type"] == s.services_by_type


def test_endpoints_report_local_lists_per_node() -> None:
    report = svccore.Cluster.from_files(DATA / "shop.yaml").endpoints(node="node-c")
    assert report.nodes == ["node-a", "node-b", "node-c"]
    d = report.to_dict()
    web = {
        n["node"]: p
        for n in d["nodes"]
        for p in n["ports"]
        if p["service_port_name"] == "shop/web:http"
    }
    assert [e["endpoint"] for e in web["node-a"]["local"]] == ["10.244.1.5:8080"]
    assert [e["endpoint"] for e in web["node-b"]["local"]] == ["10.244.2.7:8080"]
    assert web["node-c"]["local"] == []
    assert web["node-c"]["has_endpoints"] is True
    text = str(report)
    assert "node node-c (IPv4) [no Node object]\n" in text
    assert "    local   10.244.1.5:8080 (node-a)\n" in text


def test_endpoints_raises_validation_error_for_unproxyable_service() -> None:
    bad = json.loads(json.dumps(SERVICE))
    bad["spec"]["ports"][0]["port"] = 70000
    with pytest.raises(svccore.ValidationError) as e:
        svccore.Cluster.from_manifests(bad, file="bad.json").endpoints()
    assert e.value.kind == "validation"
    assert (e.value.file, e.value.path) == ("bad.json", "spec.ports[0].port")
    assert str(e.value) == (
        "invalid object: bad.json: spec.ports[0].port: must be between 1 and 65535, got 70000"
    )


def test_repr_of_cluster_shows_the_summary() -> None:
    assert (
        repr(svccore.Cluster.from_yaml(""))
        == "<Cluster: 0 services, 0 service ports, 0 endpoints, 0 nodes, 1 warning>"
    )


def _allocator_options(env: dict[str, str]) -> dict[str, str]:
    """The options the extension's allocator reports when the package is imported with
    ``env`` added to the environment (mimalloc prints them under MIMALLOC_VERBOSE), and the
    MIMALLOC_ variables the interpreter still sees after the import."""
    import os
    import re
    import subprocess
    import sys

    code = "import os, svccore; print(sorted(k for k in os.environ if k.startswith('MIMALLOC_')))"
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    options = dict(re.findall(r"option '(\w+)': (\S+)", run.stderr))
    options["left in the environment"] = run.stdout.strip()
    return options


def test_the_allocator_asks_for_no_huge_pages_and_the_environment_is_left_alone() -> None:
    got = _allocator_options({"MIMALLOC_VERBOSE": "1"})
    assert got["allow_thp"] == "0"
    assert got["left in the environment"] == "['MIMALLOC_VERBOSE']"
    # A value the user set wins, and stays set.
    got = _allocator_options({"MIMALLOC_VERBOSE": "1", "MIMALLOC_ALLOW_THP": "1"})
    assert got["allow_thp"] == "1"
    assert got["left in the environment"] == "['MIMALLOC_ALLOW_THP', 'MIMALLOC_VERBOSE']"
