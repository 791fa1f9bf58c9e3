"""The command as an operator meets it: exit codes, warnings, boolean settings both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import svccore
from conftest import REPO

STUDY = str(REPO / "examples" / "nginx-study.yaml")
AFFINITY = str(REPO / "examples" / "nginx-affinity.yaml")
ORPHAN = str(REPO / "tests" / "bad-manifests" / "endpoints-bad-ip.yaml")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "svccore", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "trace",
                "-f",
                STUDY,
                "--node",
                "master",
                "--src",
                "notanip",
                "--dst",
                "10.97.97.97:80",
            ],
            'svccore: error: src "notanip" is not an IP address\n',
        ),
        (
            [
                "simulate",
                "-f",
                STUDY,
                "--service",
                "study/service-clusterip",
                "--flags",
                "sh-bogus",
            ],
            'svccore: error: unknown scheduler flag "sh-bogus"; valid flags are sh-fallback, '
            "sh-port, mh-fallback, mh-port\n",
        ),
        (
            ["simulate", "-f", STUDY, "--service", "study/service-clusterip", "--scheduler", "foo"],
            None,  # argparse's own choice check
        ),
        (
            ["audit", "-f", "-", "--node", "master", "--actual", "-"],
            "svccore: error: --actual - and -f - cannot both read standard input\n",
        ),
        (
            [
                "trace",
                "-f",
                STUDY,
                "--node",
                "master",
                "--src",
                "10.0.0.1",
                "--dst",
                "10.97.97.97:80",
                "--masquerade-all=maybe",
            ],
            None,
        ),
        (
            ["render", "iptables", "-f", STUDY, "-q", "--iptables-masquerade-bit", "40"],
            "svccore: error: invalid configuration: masqueradeBit: must be between 0 and 31, "
            "got 40\n",
        ),
        (
            ["render", "iptables", "-f", STUDY, "-q", "--cluster-cidr", "bogus"],
            'svccore: error: invalid configuration: clusterCIDR: "bogus" is not a CIDR\n',
        ),
        (
            [
                "trace",
                "-f",
                STUDY,
                "--node",
                "master",
                "--src",
                "10.0.0.1",
                "--dst",
                "10.97.97.97:80",
                "--mode",
                "ipvs",
                "--random-fully",
            ],
            'svccore: error: random_fully applies to mode "iptables" only\n',
        ),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str | None) -> None:
    p = run(*args)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    if message is not None:
        assert p.stderr.endswith(message), p.stderr


def test_input_errors_still_exit_1(tmp_path: Path) -> None:
    p = run(
        "trace", "-f", STUDY, "--node", "nodee2", "--src", "10.0.0.1", "--dst", "10.97.97.97:80"
    )
    assert p.returncode == 1
    assert "no Node named nodee2" in p.stderr
    p = run("simulate", "-f", STUDY, "--service", "study/nothing")
    assert p.returncode == 1
    assert p.stderr.endswith("svccore: error: unknown service study/nothing\n")
    # The same setting from a file is the input's fault: exit 1 with the file's name.
    conf = tmp_path / "kube-proxy.yaml"
    conf.write_text(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
        "iptables:\n  masqueradeBit: 40\n"
    )
    p = run("render", "iptables", "-f", STUDY, "-q", "--config", str(conf))
    assert p.returncode == 1
    assert p.stderr == (
        f"svccore: error: invalid configuration: {conf}: iptables.masqueradeBit: must be "
        "between 0 and 31, got 40\n"
    )


WARNING = (
    f"svccore: warning: {ORPHAN}: metadata.name: no Service default/web in the input: "
    "kube-proxy uses these Endpoints for nothing"
)


def test_each_warning_once_per_run() -> None:
    # The same file twice: the loader and the proxy snapshot both see the orphan Endpoints twice.
    p = run("render", "iptables", "-f", ORPHAN, "-f", ORPHAN, "--allow-unknown-node")
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines.count(WARNING) == 1, p.stderr
    assert len(lines) == len(set(lines)), p.stderr


def test_quiet_hides_warnings_and_json_keeps_them() -> None:
    p = run("render", "iptables", "-f", ORPHAN, "--allow-unknown-node", "-q")
    assert p.returncode == 0
    assert "warning" not in p.stderr
    # The file is invalid for the API server too (a bad address): exit 1, warnings in the JSON.
    p = run("validate", "-f", ORPHAN, "--quiet", "-o", "json")
    assert p.returncode == 1
    assert "warning" not in p.stderr
    warnings = json.loads(p.stdout)["warnings"]
    assert [w["message"] for w in warnings] == [
        "no Service default/web in the input: kube-proxy uses these Endpoints for nothing"
    ]
    p = run("validate", "-f", ORPHAN)
    assert WARNING in p.stderr.splitlines()


def _masquerade_rules(*flags: str) -> list[str]:
    p = run("render", "iptables", "-f", STUDY, "--node", "master", "-q", *flags)
    assert p.returncode == 0, p.stderr
    return [line for line in p.stdout.splitlines() if "-j MASQUERADE" in line]


def test_random_fully_settable_both_ways() -> None:
    default = _masquerade_rules()
    off = _masquerade_rules("--random-fully=false")
    on = _masquerade_rules("--random-fully")
    assert (
        default
        == on
        == [
            '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
            "-j MASQUERADE --random-fully"
        ]
    )
    assert off == [
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE"
    ]
    assert _masquerade_rules("--random-fully", "false") == off


def test_false_overrides_the_configuration(tmp_path: Path) -> None:
    # masqueradeAll true in a KubeProxyConfiguration, turned off again by the flag.
    conf = tmp_path / "kube-proxy.yaml"
    conf.write_text(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
        "iptables:\n  masqueradeAll: true\n"
    )
    base = ["render", "iptables", "-f", STUDY, "--node", "master", "-q", "--config", str(conf)]

    def marks(*extra: str) -> int:
        p = run(*base, *extra)
        assert p.returncode == 0, p.stderr
        # --masquerade-all: the cluster IP's rule that marks every packet (no -s, no detector).
        return p.stdout.count(
            '-A KUBE-SVC-FGOSKYZ2SUD3AIAL -m comment --comment "study/service-clusterip cluster '
            'IP" -m tcp -p tcp -d 10.97.97.97 --dport 80 -j KUBE-MARK-MASQ\n'
        )

    assert marks() == 1
    assert marks("--masquerade-all=false") == 0
    assert marks("--masquerade-all") == 1


@pytest.mark.parametrize(
    "option",
    [
        "--masquerade-all",
        "--random-fully",
        "--conntrack-tcp-be-liberal",
        "--iptables-localhost-nodeports",
    ],
)
def test_every_boolean_setting_takes_true_and_false(option: str) -> None:
    for value in ("true", "false"):
        p = run("render", "iptables", "-f", STUDY, "--node", "master", "-q", f"{option}={value}")
        assert p.returncode == 0, p.stderr
    p = run("render", "iptables", "--help")
    assert f"{option} [true|false]" in p.stdout


def test_trace_drop_names_the_cause_and_the_rule() -> None:
    # The LoadBalancer: externalTrafficPolicy Local, no nginx pod on master, the client
    # inside loadBalancerSourceRanges.
    args = ["-f", STUDY, "--node", "master", "--src", "192.168.100.9", "--dst", "10.101.135.10:80"]
    p = run("trace", *args, "--from", "external", "-q")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[2] == (
        "[1] DROPPED: study/service-loadbalancer has no local endpoints: externalTrafficPolicy "
        "is Local and node master has no local endpoint with probability 1 = 1.000000000000 "
        "(nominal 1)"
    )
    assert lines[3] == (
        '    by the rule "study/service-loadbalancer traffic not accepted by '
        'KUBE-FW-VCL2J7QMJCOSZ3LO"'
    )
    p = run("trace", *args, "--from", "external", "-q", "-o", "json")
    outcome = json.loads(p.stdout)["outcomes"][0]
    assert outcome["cause"] == (
        "study/service-loadbalancer has no local endpoints: externalTrafficPolicy is Local and "
        "node master has no local endpoint"
    )
    assert outcome["verdict"] == {
        "kind": "Drop",
        "reason": "study/service-loadbalancer traffic not accepted by KUBE-FW-VCL2J7QMJCOSZ3LO",
    }


def test_simulate_disruption_says_what_was_sampled_in_text_and_json() -> None:
    args = [
        "simulate", "-f", STUDY, "--service", "study/service-clusterip", "--scheduler", "maglev",
        "--remove-endpoint", "10.244.166.129:80", "--connections", "2000",
    ]  # fmt: skip
    p = run(*args, "-q")
    assert p.returncode == 0, p.stderr
    line = p.stdout.splitlines()[-1]
    assert line.startswith(
        "disruption (remove 10.244.166.129:80): of 2000 sampled connections (apart from the "
        "run's, each picked before and after the change), "
    ), line
    assert line.endswith("moved needlessly (their endpoint stayed and no new one took them)")
    d = json.loads(run(*args, "-q", "-o", "json").stdout)["disruption"]
    assert set(d) == {"change", "sampled_connections", "moved", "moved_needlessly"}
    assert d["sampled_connections"] == 2000
    assert (
        f"{d['moved'] * 100:.2f}% moved, {d['moved_needlessly'] * 100:.2f}% moved needlessly"
        in line
    )


def test_kubectl_plugin_is_found_and_runs() -> None:
    bindir = os.path.normpath(os.path.dirname(sys.executable))
    plugin = shutil.which("kubectl-svccore", path=bindir)
    assert plugin is not None, "the package installs the kubectl-svccore entry point"
    p = subprocess.run([plugin, "--help"], capture_output=True, text=True, check=False)
    assert p.returncode == 0
    assert p.stdout.startswith("usage: kubectl svccore [-h] [--version] COMMAND ...\n")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH (the Debian package kubectl provides it)")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    found = subprocess.run(
        [kubectl, "plugin", "list"], capture_output=True, text=True, env=env, check=False
    )
    assert f"{bindir}/kubectl-svccore" in found.stdout.splitlines(), found.stdout
    # kubectl runs it as `kubectl svccore ...`, without a cluster to talk to.
    args = ["--node", "master", "--src", "192.168.100.9", "--dst", "10.101.135.10:80"]
    with open(STUDY, "rb") as f:
        p = subprocess.run(
            [kubectl, "svccore", "trace", "-f", "-", *args, "--from", "external", "-q"],
            stdin=f,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
    assert p.returncode == 0, p.stderr
    assert "DROPPED: study/service-loadbalancer has no local endpoints" in p.stdout
    p = subprocess.run(
        [kubectl, "svccore", "trace", "-f", STUDY, *args[:4]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert p.returncode == 2
    assert "usage: kubectl svccore trace" in p.stderr


def test_endpoints_node_shows_that_node_only() -> None:
    every = run("endpoints", "-f", STUDY, "-q")
    heads = [ln for ln in every.stdout.splitlines() if ln.startswith("node ")]
    assert heads == ["node master (IPv4)", "node node1 (IPv4)", "node node2 (IPv4)"]
    one = run("endpoints", "-f", STUDY, "-q", "--node", "node1")
    assert one.returncode == 0, one.stderr
    assert [ln for ln in one.stdout.splitlines() if ln.startswith("node ")] == ["node node1 (IPv4)"]
    # The block is the same as in the full report.
    block = every.stdout.split("\n\n")[1]
    assert one.stdout.strip("\n") == block.strip("\n")
    data = json.loads(run("endpoints", "-f", STUDY, "-q", "--node", "node1", "-o", "json").stdout)
    assert [n["node"] for n in data["nodes"]] == ["node1"]
    # A node known by no object is still shown (with --allow-unknown-node semantics: a note).
    extra = run("endpoints", "-f", STUDY, "-q", "--node", "node9")
    assert [ln for ln in extra.stdout.splitlines() if ln.startswith("node ")] == [
        "node node9 (IPv4) [no Node object]"
    ]


def test_audit_says_which_defaults_it_assumed(tmp_path: Path) -> None:
    # A node whose iptables (1.4.21) has no --random-fully: its iptables-save.
    save = run("render", "iptables", "-f", STUDY, "--node", "node1", "-q", "--form", "save",
               "--random-fully=false")  # fmt: skip
    node = tmp_path / "node1.save"
    node.write_text(save.stdout)
    audit = ["audit", "-f", STUDY, "--node", "node1", "-q", "--actual", str(node)]
    p = run(*audit)
    assert p.returncode == 1  # the default, --random-fully=true, shows as drift
    lines = p.stdout.splitlines()
    assert lines[0].startswith('audit of node "node1" (IPv4): ')
    assert lines[1] == (
        "defaults assumed (no flag, configuration or settings file gave them; a wrong one is "
        "drift):"
    )
    assert (
        "  --random-fully=true: the node's iptables has --random-fully (1.6.2 or later); "
        "--random-fully=false for an older one"
    ) in lines
    p = run(*audit, "--random-fully=false", "--cluster-cidr", "10.244.0.0/16")
    assert p.returncode == 1  # the detector is now given and differs from the node's
    p = run(*audit, "--random-fully=false")
    assert p.returncode == 0, p.stdout
    assert lines[-1] != "no drift" and p.stdout.splitlines()[-1] == "no drift"
    assert "--random-fully=" not in p.stdout
    assert "  --cluster-cidr=none: no local-traffic detector" in p.stdout
    data = json.loads(run(*audit, "--random-fully=false", "-o", "json").stdout)
    flags = [a["flag"] for a in data["assumed_defaults"]]
    assert flags == [
        "--cluster-cidr",
        "--masquerade-all",
        "--iptables-masquerade-bit",
        "--iptables-localhost-nodeports",
        "--nodeport-addresses",
        "--nfacct-counter",
        "--conntrack-tcp-be-liberal",
    ]
    assert data["assumed_defaults"][1] == {
        "flag": "--masquerade-all",
        "value": "false",
        "meaning": "only traffic that needs it is masqueraded",
    }


def _big_cluster(tmp_path: Path, services: int = 3000, per_service: int = 4) -> str:
    """A cluster whose iptables rules are several MiB (the command writes them in pieces)."""
    items: list[dict[str, object]] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-a"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.10"}]},
        }
    ]
    for i in range(services):
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"s{i}", "namespace": "ns"},
                "spec": {
                    "clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                },
            }
        )
        eps = [
            {"addresses": [f"10.244.{a // 250}.{a % 250 + 1}"], "nodeName": "node-a"}
            for a in range(i * per_service, (i + 1) * per_service)
        ]
        items.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "addressType": "IPv4",
                "metadata": {
                    "name": f"s{i}-x",
                    "namespace": "ns",
                    "labels": {"kubernetes.io/service-name": f"s{i}"},
                },
                "ports": [{"name": "http", "port": 8080}],
                "endpoints": eps,
            }
        )
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return str(path)


@pytest.mark.parametrize("form", ["restore", "save"])
def test_render_writes_the_rendered_text_whole(tmp_path: Path, form: str) -> None:
    big = _big_cluster(tmp_path)
    args = ["render", "iptables", "-f", big, "--node", "node-a", "--form", form, "-q"]
    p = subprocess.run(
        [sys.executable, "-m", "svccore", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    want = svccore.Cluster.from_files([big]).render_iptables(node="node-a", form=form)
    assert len(want) > 3 << 20
    assert p.stdout.decode() == want


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    big = _big_cluster(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-m", "svccore", "render", "iptables", "-f", big, "--node", "node-a"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(100).startswith(b"*filter\n")
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == 1
    assert "Traceback" not in err and "Exception ignored" not in err, err
