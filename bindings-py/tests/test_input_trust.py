"""Input an operator can trust: conflicts across objects, what rendering tolerates (and
``--strict``), node names checked against the Node objects, empty input and raw API lists.
Every message is asserted whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import svccore
from svccore.cli import main

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "bad-manifests"
RAW = ROOT / "tests" / "raw-api"
STUDY = str(ROOT / "examples" / "nginx-study.yaml")

TOLERATED = """\
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: shop}
spec: {clusterIP: 10.96.0.9}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 80}
  - {name: http, port: 81, targetPort: 8081}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8081}]
endpoints: [{addresses: [10.244.1.5]}, {addresses: ["fd00::5"]}]
"""

TOLERATED_WARNINGS = [
    "[0].spec.ports: Service shop/empty has no ports: kube-proxy programs nothing for it",
    "[1].spec.ports[0].nodePort: 80 is outside the node port range 30000-32767: kube-proxy "
    "programs it as given",
    '[2].endpoints[1].addresses[0]: "fd00::5" is not an IPv4 address (addressType IPv4): '
    "ignored, as kube-proxy does",
    '[1].spec.ports[0]: port name "http" (TCP) is used again by spec.ports[1]: kube-proxy '
    "keeps the last port of a name and protocol, so this one is not programmed",
]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def tolerated(tmp_path: Path) -> str:
    path = tmp_path / "tolerated.yaml"
    path.write_text(TOLERATED)
    return str(path)


# --- conflicts across objects ----------------------------------------------------------------


def test_validate_names_both_objects_of_a_node_port_conflict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = str(BAD / "conflict-node-port.yaml")
    code, out, err = cli(capsys, "validate", "-f", f)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{f}: items[1].spec.ports[0].nodePort: node port 30080 is already allocated to "
        f"Service shop/web at {f}: items[0].spec.ports[0].nodePort",
        "svccore: error: 1 validation error",
    ]


def test_validate_json_lists_each_conflict_with_its_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = str(BAD / "conflict-duplicate-service.yaml")
    code, out, _ = cli(capsys, "validate", "-f", f, "-o", "json")
    errors = __import__("json").loads(out)["errors"]
    assert code == 1
    assert errors == [
        {
            "file": f,
            "path": "[1].metadata.name",
            "message": f"Service shop/web already exists: the first is at {f}: [0].metadata.name",
        }
    ]


def test_a_slice_without_its_service_is_a_warning_not_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = tmp_path / "slice.yaml"
    f.write_text(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\n"
        "addressType: IPv4\nendpoints: [{addresses: [10.244.1.5]}]\n"
    )
    code, out, err = cli(capsys, "validate", "-f", str(f))
    assert (code, out) == (
        0,
        "valid: 0 services, 0 service ports, 1 endpoint (IPv4: 1 on 0 nodes, 1 without node), "
        "0 nodes, 1 warning\n",
    )
    assert err == (
        f"svccore: warning: {f}: metadata.labels.kubernetes.io/service-name: no Service "
        "shop/web in the input: kube-proxy uses this EndpointSlice for nothing\n"
    )


def test_rendering_keeps_the_last_of_two_services_of_one_name_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = str(BAD / "conflict-duplicate-service.yaml")
    code, out, err = cli(capsys, "render", "iptables", "-f", f, "--node", "n1")
    assert code == 0
    assert "10.96.0.11" in out and "10.96.0.10" not in out
    assert (
        f"svccore: warning: {f}: [0].metadata.name: Service shop/web is given again at {f}: "
        "[1].metadata.name: kube-proxy's informer keeps the last object of a name, so this one "
        "is ignored\n"
    ) in err


# --- what render tolerates, it says ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["iptables", "nftables", "ipvs"])
def test_render_says_what_it_tolerates_with_paths(
    capsys: pytest.CaptureFixture[str], tolerated: str, mode: str
) -> None:
    code, out, err = cli(capsys, "render", mode, "-f", tolerated, "--node", "n1")
    assert code == 0 and out
    lines = err.splitlines()
    for w in TOLERATED_WARNINGS:
        assert f"svccore: warning: {tolerated}: {w}" in lines


@pytest.mark.parametrize("mode", ["iptables", "nftables", "ipvs"])
def test_render_strict_refuses_with_every_path(
    capsys: pytest.CaptureFixture[str], tolerated: str, mode: str
) -> None:
    code, out, err = cli(capsys, "render", mode, "-f", tolerated, "--node", "n1", "--strict")
    assert (code, out) == (1, "")
    assert err == "svccore: error: 4 invalid object errors:\n" + "".join(
        f"  {tolerated}: {w}\n" for w in TOLERATED_WARNINGS
    )


@pytest.mark.parametrize("method", ["render_iptables", "render_nftables", "render_ipvs"])
def test_python_render_strict_raises_validation_error(method: str) -> None:
    c = svccore.Cluster.from_yaml(TOLERATED, file="t.yaml")
    render: Callable[..., str] = getattr(c, method)
    assert render(node="n1")
    with pytest.raises(svccore.ValidationError) as info:
        render(node="n1", strict=True)
    assert [str(i) for i in info.value.errors] == [f"t.yaml: {w}" for w in TOLERATED_WARNINGS]


def test_strict_passes_clean_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys,
        "render",
        "iptables",
        "-f",
        str(RAW / "services.json"),
        "-f",
        str(RAW / "endpointslices.json"),
        "--node",
        "kind-control-plane",
        "--strict",
        "--allow-unknown-node",
    )
    assert code == 0 and "kube-system/kube-dns:dns" in out


# --- node names ------------------------------------------------------------------------------

UNKNOWN = "svccore: error: no Node named nodee2 (did you mean node2?)\n"


@pytest.mark.parametrize(
    "args",
    [
        ["render", "iptables"],
        ["render", "nftables"],
        ["render", "ipvs"],
        ["trace", "--src", "10.0.0.1", "--dst", "10.96.0.1:80"],
        ["trace", "--src", "10.0.0.1", "--dst", "10.96.0.1:80", "--mode", "ipvs"],
        ["simulate", "--service", "study/service-clusterip"],
    ],
)
def test_a_mistyped_node_is_refused_with_the_closest_name(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = cli(capsys, *args, "-f", STUDY, "--node", "nodee2")
    assert (code, out) == (1, "")
    assert err.endswith(UNKNOWN)


def test_audit_refuses_a_mistyped_node(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    save = tmp_path / "node.save"
    save.write_text("")
    code, _, err = cli(capsys, "audit", "-f", STUDY, "--node", "nodee2", "--actual", str(save))
    assert code == 1 and err.endswith(UNKNOWN)


def test_no_suggestion_when_no_name_is_close(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(
        capsys,
        "trace",
        "-f",
        STUDY,
        "--node",
        "nosuch",
        "--src",
        "10.0.0.1",
        "--dst",
        "10.96.0.1:80",
    )
    assert code == 1 and err.endswith("svccore: error: no Node named nosuch\n")


def test_allow_unknown_node_renders_and_notes_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "render", "iptables", "-f", STUDY, "--node", "nodee2", "--allow-unknown-node"
    )
    assert code == 0 and out
    assert err.endswith(
        "svccore: no Node named nodee2 (did you mean node2?): the node has no IPs or labels\n"
    )


def test_without_node_the_first_node_object_is_used_and_said(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_default = cli(capsys, "render", "iptables", "-f", STUDY)
    explicit = cli(capsys, "render", "iptables", "-f", STUDY, "--node", "master")
    assert with_default[0] == 0 and with_default[1] == explicit[1]
    assert with_default[2].endswith(
        "svccore: node master (the first Node object; --node chooses another)\n"
    )
    assert "the first Node object" not in explicit[2]
    code, _, err = cli(capsys, "simulate", "-f", STUDY, "--service", "study/service-clusterip")
    assert code == 0
    assert err.endswith("svccore: node master (the first Node object; --node chooses another)\n")


def test_without_node_objects_the_missing_facts_are_said(
    capsys: pytest.CaptureFixture[str],
) -> None:
    f = str(RAW / "services.json")
    code, _, err = cli(capsys, "render", "ipvs", "-f", f, "--node", "worker-1")
    assert code == 0
    assert err == (
        "svccore: no Node objects: the IPs and labels of node worker-1 are unknown, so no "
        "NodePort addresses, no node IP for load-balancer source ranges, no zone for topology "
        "hints\n"
    )
    code, _, err = cli(capsys, "render", "iptables", "-f", f)
    assert err == (
        "svccore: no node given and no Node objects: no endpoint is local and the node has no IPs\n"
    )


def test_endpoints_notes_an_unknown_extra_node(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "endpoints", "-f", STUDY, "--node", "nodee2")
    assert code == 0 and "nodee2" in out
    assert err.endswith(
        "svccore: no Node named nodee2 (did you mean node2?): the node has no IPs or labels\n"
    )


@pytest.fixture(scope="module")
def study() -> svccore.Cluster:
    return svccore.Cluster.from_files(STUDY)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, **kw: c.render_iptables(**kw),
        lambda c, **kw: c.render_nftables(**kw),
        lambda c, **kw: c.render_ipvs(**kw),
        lambda c, **kw: c.trace(src="10.0.0.1", dst="10.96.0.1:80", **kw),
        lambda c, **kw: c.audit("", **kw),
        lambda c, **kw: c.simulate("study/service-clusterip", connections=10, **kw),
        lambda c, **kw: c.node_notes(**kw),
    ],
)
def test_python_raises_unknown_node_error_unless_allowed(
    study: svccore.Cluster, call: Callable[..., Any]
) -> None:
    with pytest.raises(svccore.UnknownNodeError) as info:
        call(study, node="nodee2")
    assert str(info.value) == "no Node named nodee2 (did you mean node2?)"
    assert info.value.kind == "unknown-node"
    call(study, node="nodee2", allow_unknown_node=True)


# --- empty and raw-API input -----------------------------------------------------------------


def test_an_empty_file_is_valid_with_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# kubectl get svc -o yaml > empty.yaml matched nothing\n")
    code, out, err = cli(capsys, "validate", "-f", str(empty))
    assert (code, out) == (
        0,
        "valid: 0 services, 0 service ports, 0 endpoints, 0 nodes, 1 warning\n",
    )
    assert err == f"svccore: warning: {empty}: holds no Kubernetes objects\n"


def test_python_from_yaml_of_nothing_warns() -> None:
    assert [str(w) for w in svccore.Cluster.from_yaml("").warnings] == [
        "the input holds no Kubernetes objects"
    ]
    assert [str(w) for w in svccore.Cluster.from_manifests([]).warnings] == [
        "the input holds no Kubernetes objects"
    ]


def test_raw_api_lists_load_and_validate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "validate", "-f", str(RAW / "services.json"), "-f", str(RAW / "endpointslices.json")
    )
    assert (code, err) == (0, "")
    assert out == (
        "valid: 2 services (2 ClusterIP), 4 service ports, 3 endpoints "
        "(IPv4: 3 on 1 node, 1 without node), 0 nodes\n"
    )
