"""Cluster.from_manifests: dicts, lists, `kind: List`, and the official Kubernetes client."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import svccore

SVC: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "targetPort": 8080}]},
}
SLICE: dict[str, Any] = {
    "apiVersion": "discovery.k8s.io/v1",
    "kind": "EndpointSlice",
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "labels": {"kubernetes.io/service-name": "web"},
    },
    "addressType": "IPv4",
    "ports": [{"name": "", "port": 8080}],
    "endpoints": [{"addresses": ["10.244.0.5"], "nodeName": "n1", "conditions": {"ready": True}}],
}


@pytest.mark.parametrize(
    "objects",
    [
        [SVC, SLICE],
        (SVC, SLICE),
        {"apiVersion": "v1", "kind": "List", "items": [SVC, SLICE]},
        [{"apiVersion": "v1", "kind": "List", "items": [SVC]}, SLICE],
    ],
    ids=["list", "tuple", "kind-List", "nested"],
)
def test_accepts_dicts_lists_tuples_and_kind_list(objects: Any) -> None:
    c = svccore.Cluster.from_manifests(objects)
    assert [s.key for s in c.services] == ["shop/web"]
    assert c.summary().endpoints["IPv4"]["by_node"] == {"n1": 1}


def test_reads_snake_case_to_dict_form_but_keeps_label_keys() -> None:
    svc = {
        "api_version": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": None, "labels": {"app_name": "web"}},
        "spec": {
            "cluster_ip": "10.96.0.10",
            "cluster_ips": ["10.96.0.10"],
            "selector": {"app_name": "web"},
            "session_affinity": "ClientIP",
            "session_affinity_config": {"client_ip": {"timeout_seconds": 60}},
            "ports": [{"port": 80, "node_port": None, "target_port": "http"}],
        },
    }
    s = svccore.Cluster.from_manifests(svc).services[0]
    assert (s.namespace, s.cluster_ip, s.cluster_ips) == ("default", "10.96.0.10", ["10.96.0.10"])
    assert s.selector == {"app_name": "web"}
    assert s.ports[0].target_port == "http"


def test_datetimes_become_timestamps() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "creationTimestamp": datetime.datetime(
                2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc
            ),
        },
    }
    c = svccore.Cluster.from_manifests(pod)
    assert c.summary().pods == 1


@pytest.mark.parametrize(
    ("objects", "path", "message"),
    [
        (42, "", "expected a Kubernetes object, got a number"),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": {1, 2}}},
            "metadata.name",
            "unsupported value of type set",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {1: "x"}},
            "metadata",
            "keys must be strings, got int",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 2**70}]}},
            "spec.ports[0].port",
            "is out of range",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "spec": {"x": float("nan")}},
            "spec.x",
            "not a finite number",
        ),
    ],
)
def test_unsupported_values_are_manifest_errors_with_their_path(
    objects: Any, path: str, message: str
) -> None:
    with pytest.raises(svccore.ManifestError, match=message) as e:
        svccore.Cluster.from_manifests(objects, file="obj")
    assert (e.value.file, e.value.path) == ("obj", path)


def test_a_cycle_is_an_error_not_a_crash() -> None:
    d: dict[str, Any] = {"apiVersion": "v1", "kind": "Service"}
    d["spec"] = d
    with pytest.raises(svccore.ManifestError, match="nested too deeply"):
        svccore.Cluster.from_manifests(d)


def test_wrong_field_types_list_every_error() -> None:
    with pytest.raises(svccore.ManifestError) as e:
        svccore.Cluster.from_manifests(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "a"},
                    "spec": {"ports": "80"},
                },
                {"kind": "Service"},
            ]
        )
    assert [i.path for i in e.value.errors] == ["[0].spec.ports", "[1]"]
    assert str(e.value).startswith("2 invalid manifest errors:\n")


class TestKubernetesClient:
    """Objects of the official `kubernetes` package (its models and their to_dict())."""

    client = pytest.importorskip("kubernetes.client")

    def service(self) -> Any:
        k = self.client
        return k.V1Service(
            api_version="v1",
            kind="Service",
            metadata=k.V1ObjectMeta(name="web", namespace="shop", labels={"app_name": "web"}),
            spec=k.V1ServiceSpec(
                type="LoadBalancer",
                cluster_ip="10.96.0.10",
                cluster_ips=["10.96.0.10"],
                external_ips=["192.0.2.10"],
                external_traffic_policy="Local",
                health_check_node_port=31000,
                load_balancer_source_ranges=["203.0.113.0/24"],
                selector={"app_name": "web"},
                session_affinity="ClientIP",
                session_affinity_config=k.V1SessionAffinityConfig(
                    client_ip=k.V1ClientIPConfig(timeout_seconds=60)
                ),
                ports=[k.V1ServicePort(name="http", port=80, target_port=8080, node_port=30080)],
            ),
            status=k.V1ServiceStatus(
                load_balancer=k.V1LoadBalancerStatus(
                    ingress=[k.V1LoadBalancerIngress(ip="198.51.100.1")]
                )
            ),
        )

    def slice(self) -> Any:
        k = self.client
        return k.V1EndpointSlice(
            api_version="discovery.k8s.io/v1",
            kind="EndpointSlice",
            address_type="IPv4",
            metadata=k.V1ObjectMeta(
                name="web-1", namespace="shop", labels={"kubernetes.io/service-name": "web"}
            ),
            ports=[k.DiscoveryV1EndpointPort(name="http", port=8080, protocol="TCP")],
            endpoints=[
                k.V1Endpoint(
                    addresses=["10.244.0.5"],
                    node_name="n1",
                    conditions=k.V1EndpointConditions(ready=True),
                ),
                k.V1Endpoint(
                    addresses=["10.244.0.6"],
                    node_name="n2",
                    conditions=k.V1EndpointConditions(ready=True),
                ),
            ],
        )

    def test_model_objects_load_like_their_wire_form(self) -> None:
        objs = [self.service(), self.slice()]
        from_models = svccore.Cluster.from_manifests(objs)
        from_dicts = svccore.Cluster.from_manifests([o.to_dict() for o in objs])
        wire = svccore.Cluster.from_manifests([o.to_dict(serialize=True) for o in objs])
        for c in (from_models, from_dicts):
            assert [s.to_dict() for s in c.services] == [s.to_dict() for s in wire.services]
            assert c.summary().to_dict() == wire.summary().to_dict()
            assert str(c.endpoints()) == str(wire.endpoints())
        s = from_models.services[0]
        assert (s.cluster_ips, s.external_ips, s.selector) == (
            ["10.96.0.10"],
            ["192.0.2.10"],
            {"app_name": "web"},
        )
        assert from_models.validate() == []

    def test_a_service_list_from_the_api_has_items_without_kind(self) -> None:
        k = self.client
        svc = self.service()
        svc.api_version = None
        svc.kind = None
        lst = k.V1ServiceList(
            api_version="v1", kind="ServiceList", items=[svc], metadata=k.V1ListMeta()
        )
        c = svccore.Cluster.from_manifests(lst)
        assert [s.key for s in c.services] == ["shop/web"]
