"""ProxyConfig: a kube-proxy KubeProxyConfiguration (config.conf)."""

from __future__ import annotations

import pytest
import svccore
from conftest import DATA


def test_reads_kubeadm_config_conf() -> None:
    cfg = svccore.ProxyConfig.from_yaml((DATA / "kube-proxy.conf").read_text(), file="config.conf")
    assert cfg.mode == "ipvs"
    assert cfg.cluster_cidr == "10.244.0.0/16"
    assert (cfg.masquerade_all, cfg.masquerade_bit) == (False, 14)
    assert (cfg.ipvs_scheduler, cfg.ipvs_strict_arp) == ("rr", True)
    assert cfg.node_port_addresses == ["192.168.0.0/24"]
    assert cfg.detect_local_mode == "ClusterCIDR"
    assert cfg.localhost_node_ports is None
    assert cfg.file == "config.conf"
    assert cfg.validate() == []
    assert cfg.to_dict()["ipvs_scheduler"] == "rr"
    assert repr(cfg) == "<ProxyConfig mode=ipvs>"


def test_validate_reports_bad_values_with_their_path() -> None:
    cfg = svccore.ProxyConfig.from_yaml(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
        "kind: KubeProxyConfiguration\n"
        "clusterCIDR: 10.244.0.0/33\n",
        file="c.conf",
    )
    [issue] = cfg.validate()
    assert (issue.file, issue.path) == ("c.conf", "clusterCIDR")


def test_parse_error_in_config() -> None:
    with pytest.raises(svccore.ParseError):
        svccore.ProxyConfig.from_yaml("mode: [", file="c.conf")


def test_cluster_exposes_the_config_given_with_manifests() -> None:
    c = svccore.Cluster.from_files(DATA / "kube-proxy.conf")
    assert c.proxy_config is not None and c.proxy_config.ipvs_strict_arp is True
