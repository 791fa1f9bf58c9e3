"""The `svccore` command, run as a subprocess: exit codes 0/1/2 and never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import svccore
from conftest import DATA

SHOP = str(DATA / "shop.yaml")
INVALID = str(DATA / "invalid.yaml")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "svccore", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in p.stderr, p.stderr
    assert "Traceback" not in p.stdout, p.stdout
    return p


def test_version() -> None:
    p = run("--version")
    assert (p.returncode, p.stdout) == (0, f"svccore {svccore.__version__}\n")


def test_console_script_is_installed() -> None:
    script = shutil.which("svccore", path=os.path.dirname(sys.executable))
    assert script is not None
    p = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert p.returncode == 0


def test_help_lists_commands_examples_and_exit_codes() -> None:
    p = run("--help")
    assert p.returncode == 0
    for text in ("validate", "endpoints", "examples:", "svccore validate -f", "exit codes"):
        assert text in p.stdout
    p = run("validate", "--help")
    assert p.returncode == 0
    assert "--service-node-port-range" in p.stdout and "examples:" in p.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["validate"],
        ["validate", "-f", SHOP, "--service-node-port-range", "3-1"],
        ["validate", "-f", SHOP, "--service-node-port-range", "abc"],
        ["validate", "-f", SHOP, "-o", "yaml"],
        ["endpoints", "-f", SHOP, "--bogus"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    p = run(*args)
    assert p.returncode == 2
    assert "svccore" in p.stderr and "error:" in p.stderr
    assert p.stdout == ""


def test_validate_valid_prints_one_line_summary_and_exits_0() -> None:
    p = run("validate", "-f", SHOP)
    assert p.returncode == 0
    assert p.stdout == (
        "valid: 4 services (2 ClusterIP, 1 NodePort, 1 ExternalName; 1 headless), "
        "3 service ports, 4 endpoints (IPv4: 4 on 2 nodes), 2 nodes, 1 warning\n"
    )
    assert p.stderr.startswith(f"svccore: warning: {SHOP}: [4].spec.selector: ")


def test_validate_invalid_prints_every_error_with_path_and_exits_1() -> None:
    p = run("validate", "-f", INVALID)
    assert p.returncode == 1
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0].startswith(f"{INVALID}: items[0].spec.ports[0].nodePort: ")
    assert lines[1].startswith(f"{INVALID}: items[1].metadata.name: ")
    assert lines[-1] == "svccore: error: 2 validation errors"


def test_validate_uses_the_node_port_range() -> None:
    p = run("validate", "-f", INVALID, "--service-node-port-range", "30000-40000")
    assert p.returncode == 1
    assert "nodePort" not in p.stderr
    assert "svccore: error: 1 validation error\n" in p.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken.yaml", "invalid YAML: did not find expected ',' or '}'"),
        ("not-k8s.json", "[1]: not a Kubernetes object"),
    ],
)
def test_load_errors_exit_1_with_path(name: str, expected: str) -> None:
    p = run("validate", "-f", str(DATA / name))
    assert p.returncode == 1
    assert p.stderr.startswith("svccore: error: ")
    assert expected in p.stderr


def test_unreadable_inputs_exit_1(tmp_path: Path) -> None:
    p = run("validate", "-f", str(tmp_path / "missing.yaml"))
    assert p.returncode == 1
    assert (
        p.stderr
        == f"svccore: error: cannot read {tmp_path / 'missing.yaml'}: No such file or directory\n"
    )
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes(b"kind: \xe9\n")
    p = run("validate", "-f", str(latin))
    assert p.returncode == 1
    assert "not UTF-8 text" in p.stderr
    (tmp_path / "empty").mkdir()
    p = run("validate", "-f", str(tmp_path / "empty"))
    assert p.returncode == 1
    assert "no .yaml, .yml or .json files" in p.stderr


def test_crlf_and_non_ascii_files_read_as_text_mode_reads_them(tmp_path: Path) -> None:
    """The command hands a file's bytes to the core; line ends are what reading it as text
    gives (a YAML block scalar keeps no carriage return), and UTF-8 beyond ASCII is kept."""
    yaml = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: caf\u00e9\n"
        "  labels:\n    note: |\n      one\n      two\nspec: {clusterIP: 10.96.0.1, "
        "ports: [{port: 80}]}\n"
    )
    lf, crlf, cr = tmp_path / "lf.yaml", tmp_path / "crlf.yaml", tmp_path / "cr.yaml"
    lf.write_bytes(yaml.encode())
    crlf.write_bytes(yaml.replace("\n", "\r\n").encode())
    cr.write_bytes(yaml.replace("\n", "\r").encode())
    outs = [run("validate", "-o", "json", "-f", str(p)) for p in (lf, crlf, cr)]
    assert [p.returncode for p in outs] == [1, 1, 1]  # "café" is no DNS-1123 label
    errors = [json.loads(p.stdout)["errors"] for p in outs]
    messages = [e["message"] for e in errors[0]]
    assert messages[0].startswith('"caf\u00e9" is not valid'), messages
    assert '"one\\ntwo\\n" is not a valid label value' in messages, messages
    strip = [[{k: v for k, v in e.items() if k != "file"} for e in es] for es in errors]
    assert strip[0] == strip[1] == strip[2]


def test_stdin_and_directories(tmp_path: Path) -> None:
    p = run("validate", "-f", "-", stdin=(DATA / "shop.yaml").read_bytes())
    assert p.returncode == 0
    assert p.stdout.startswith("valid: 4 services")
    shutil.copy(DATA / "shop.yaml", tmp_path / "a.yaml")
    shutil.copy(DATA / "kube-proxy.conf", tmp_path / "ignored.conf")
    p = run("validate", "-f", str(tmp_path))
    assert p.returncode == 0
    p = run("validate", "-f", "-", stdin=b"kind: [")
    assert p.returncode == 1
    assert p.stderr.startswith("svccore: error: cannot parse input: -: line 2 column 1: ")


def test_validate_json_output() -> None:
    p = run("validate", "-f", SHOP, "-o", "json")
    assert p.returncode == 0
    out = json.loads(p.stdout)
    assert out["valid"] is True and out["errors"] == [] and out["error"] is None
    assert out["summary"]["services"] == 4
    assert out["warnings"][0]["path"] == "[4].spec.selector"
    p = run("validate", "-f", INVALID, "-o", "json")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["valid"] is False
    assert [e["path"] for e in out["errors"]] == [
        "items[0].spec.ports[0].nodePort",
        "items[1].metadata.name",
    ]
    p = run("validate", "-f", str(DATA / "not-k8s.json"), "-o", "json")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["error"]["kind"] == "manifest"
    assert len(out["errors"]) == 2


def test_endpoints_text_and_json() -> None:
    p = run("endpoints", "-f", SHOP)
    assert p.returncode == 0
    assert p.stdout.startswith("node node-a (IPv4)\n  shop/api:grpc TCP 10.96.0.20:9000\n")
    p = run("endpoints", "-f", SHOP, "--node", "node-c")
    assert p.returncode == 0
    assert p.stdout.startswith("node node-c (IPv4) [no Node object]\n")
    assert "node node-a" not in p.stdout
    p = run("endpoints", "-f", SHOP, "-o", "json")
    assert p.returncode == 0
    assert [n["node"] for n in json.loads(p.stdout)["nodes"]] == ["node-a", "node-b"]


def test_endpoints_of_unproxyable_service_exits_1() -> None:
    bad = (
        b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        b"spec: {clusterIP: 10.0.0.1, ports: [{port: 0}]}\n"
    )
    p = run("endpoints", "-f", "-", stdin=bad)
    assert p.returncode == 1
    assert p.stderr == (
        "svccore: error: invalid object: -: spec.ports[0].port: "
        "must be between 1 and 65535, got 0\n"
    )


def test_the_command_keeps_what_it_loaded_until_its_fast_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`svccore` ends with `os._exit` (`leave`), so the clusters it loaded are held to the end
    rather than freed object by object; `main` run inside a process that goes on holds none."""
    from svccore import cli

    monkeypatch.setattr(cli._Exit, "kept", [])
    assert cli.main(["validate", "-f", SHOP]) == 0
    assert cli._Exit.kept == []
    monkeypatch.setattr(cli._Exit, "fast", True)
    assert cli.main(["validate", "-f", SHOP]) == 0
    assert [type(c) for c in cli._Exit.kept] == [svccore.Cluster]
    assert "valid" in capsys.readouterr().out
