"""The exception classes: one per core error kind, all SvcCoreError (a ValueError)."""

from __future__ import annotations

import pytest
import svccore
from conftest import DATA

KINDS = {
    svccore.ParseError: "parse",
    svccore.ManifestError: "manifest",
    svccore.ValidationError: "validation",
    svccore.UnknownServiceError: "unknown-service",
    svccore.ConfigError: "config",
    svccore.InvalidArgumentError: "invalid-argument",
    svccore.DumpError: "dump",
}


@pytest.mark.parametrize("cls", list(KINDS))
def test_every_kind_is_an_svccore_error_and_a_value_error(cls: type[Exception]) -> None:
    assert issubclass(cls, svccore.SvcCoreError)
    assert issubclass(cls, ValueError)
    assert cls.__module__ == "svccore"


def test_base_class_has_attribute_defaults_for_errors_raised_by_python_code() -> None:
    e = svccore.SvcCoreError("custom")
    assert (e.kind, e.file, e.path, e.errors) == ("error", None, None, [])


def test_parse_error_carries_file_and_line() -> None:
    with pytest.raises(svccore.ParseError) as e:
        svccore.Cluster.from_files(DATA / "broken.yaml")
    err = e.value
    assert err.kind == "parse"
    assert err.file == str(DATA / "broken.yaml")
    assert err.path == "line 4 column 5"
    assert str(err) == (
        f"cannot parse input: {DATA / 'broken.yaml'}: line 4 column 5: "
        "invalid YAML: did not find expected ',' or '}'"
    )
    assert [i.path for i in err.errors] == ["line 4 column 5"]


def test_truncated_json_says_so() -> None:
    with pytest.raises(svccore.ParseError, match=r"invalid JSON \(truncated\?\)"):
        svccore.Cluster.from_json('{"kind": ', file="x.json")


def test_manifest_error_lists_every_problem_with_path() -> None:
    with pytest.raises(svccore.ManifestError) as e:
        svccore.Cluster.from_files(DATA / "not-k8s.json")
    err = e.value
    assert err.kind == "manifest"
    assert err.path == "[0].spec.ports"
    assert [(i.path, i.message) for i in err.errors] == [
        ("[0].spec.ports", "must be a list, got a string"),
        ("[1]", "not a Kubernetes object: kind and apiVersion must be a string"),
    ]


def test_validation_error_from_endpoints_has_errors() -> None:
    yaml = """
apiVersion: v1
kind: Service
metadata: {name: Web}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
"""
    with pytest.raises(svccore.ValidationError, match=r'"Web" is not a valid Service name') as e:
        svccore.Cluster.from_yaml(yaml, file="w.yaml").endpoints()
    assert (e.value.file, e.value.path) == ("w.yaml", "metadata.name")


def test_config_error_when_no_kube_proxy_configuration() -> None:
    with pytest.raises(svccore.ConfigError) as e:
        svccore.ProxyConfig.from_yaml("apiVersion: v1\nkind: List\nitems: []\n", file="c.conf")
    assert str(e.value) == "invalid configuration: c.conf: no KubeProxyConfiguration in the input"
    assert e.value.kind == "config"


def test_invalid_argument_error_for_a_bad_loader_range() -> None:
    with pytest.raises(svccore.InvalidArgumentError) as e:
        svccore.Cluster.from_yaml("", node_port_range=(0, 100))
    assert e.value.kind == "invalid-argument"
    assert e.value.errors == []
    assert e.value.path is None


def test_a_rust_panic_becomes_svccore_error_not_panic_exception() -> None:
    with pytest.raises(svccore.SvcCoreError) as e:
        svccore._svccore._panic_for_tests()
    assert type(e.value) is svccore.SvcCoreError
    assert str(e.value) == "internal error: deliberate panic for tests"
