"""`svccore render`, `trace` and `audit` as subprocesses: output, exit codes, warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA, REPO
from test_cli import run

SHOP = str(DATA / "shop.yaml")
CONF = str(DATA / "kube-proxy.conf")
CASE = REPO / "tests" / "conformance" / "iptables" / "lb-source-ranges"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["render", "--help"], ["iptables", "ipvs", "svccore render iptables -f"]),
        (
            ["render", "iptables", "--help"],
            ["--proxier-settings", "--hostname-override", "--nfacct-counter", "examples:"],
        ),
        (["render", "ipvs", "--help"], ["--ipvs-scheduler", "addresses", "examples:"]),
        (["trace", "--help"], ["--from", "--mode", "examples:", "svccore trace -f"]),
        (["audit", "--help"], ["--actual", "examples:", "svccore audit -f"]),
    ],
)
def test_help_has_options_and_examples(args: list[str], words: list[str]) -> None:
    p = run(*args)
    assert p.returncode == 0
    for w in words:
        assert w in p.stdout


def test_top_level_help_lists_the_new_commands() -> None:
    p = run("--help")
    for w in ("render", "trace", "audit"):
        assert w in p.stdout


def test_render_iptables_with_config_and_flags() -> None:
    p = run("render", "iptables", "-f", SHOP, "--node", "node-a", "--config", CONF)
    assert p.returncode == 0, p.stderr
    assert "! -s 10.244.0.0/16" in p.stdout
    p = run(
        "render", "iptables", "-f", SHOP, "--hostname-override", "node-a", "--config", CONF,
        "--cluster-cidr", "10.0.0.0/8", "--iptables-masquerade-bit", "13", "--form", "save",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "! -s 10.0.0.0/8" in p.stdout and "0x2000/0x2000" in p.stdout


def test_render_iptables_reads_stdin() -> None:
    p = run("render", "iptables", "-f", "-", stdin=Path(SHOP).read_bytes())
    assert p.returncode == 0 and "KUBE-SERVICES" in p.stdout


def test_render_warnings_go_to_stderr() -> None:
    p = run("render", "iptables", "-f", str(CASE / "cluster.json"))
    assert p.returncode == 0
    assert (
        "svccore: warning: " in p.stderr
        and '"172.30.0.041" read as 172.30.0.41, as kube-proxy does' in p.stderr
    )
    assert "warning" not in p.stdout


def test_render_ipvs_forms_and_scheduler() -> None:
    p = run("render", "ipvs", "-f", SHOP, "--node", "node-a", "--ipvs-scheduler", "mh")
    assert p.returncode == 0 and "TCP  10.96.0.10:80 mh" in p.stdout
    p = run("render", "ipvs", "-f", SHOP, "--node", "node-a", "--config", CONF, "--form", "save")
    assert p.returncode == 0 and "-A -t 10.96.0.10:80 -s rr" in p.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "iptables", "-f", SHOP, "--proxier-settings", "/nonexistent.json"],
         "svccore: error: cannot read /nonexistent.json: No such file or directory\n"),
        (["render", "ipvs", "-f", SHOP, "--config", str(DATA / "shop.yaml")],
         "svccore: error: invalid configuration: "),
    ],
)  # fmt: skip
def test_errors_exit_1_with_a_message(args: list[str], message: str) -> None:
    p = run(*args)
    assert p.returncode == 1
    assert p.stderr.startswith(message), p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["render"],
        ["render", "nft", "-f", SHOP],
        ["render", "iptables", "-f", SHOP, "--form", "xml"],
        ["render", "iptables", "-f", SHOP, "--iptables-localhost-nodeports", "maybe"],
        ["render", "ipvs", "-f", SHOP, "--ipvs-scheduler", "fifo"],
        ["trace", "-f", SHOP, "--src", "10.0.0.1", "--dst", "10.96.0.10:80"],
        ["trace", "-f", SHOP, "--node", "a", "--src", "1.2.3.4", "--dst", "x", "--from", "mars"],
        ["audit", "-f", SHOP, "--node", "a"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    p = run(*args)
    assert p.returncode == 2
    assert "usage:" in p.stderr


def test_trace_text_and_json() -> None:
    base = ["trace", "-f", SHOP, "--node", "node-a", "--src", "10.244.2.9", "--dst"]
    p = run(*base, "10.96.0.10:80", "--from", "other-node")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("TCP 10.244.2.9 -> 10.96.0.10:80 from OtherNode on node")
    assert "with probability 1/2 = 0.500000000000 (nominal 1/2)" in p.stdout
    p = run(*base, "10.96.0.10:80", "-o", "json")
    d = json.loads(p.stdout)
    assert d["mode"] == "iptables" and d["node"] == "node-a"
    assert {o["verdict"]["kind"] for o in d["outcomes"]} == {"Dnat"}
    p = run(*base, "10.96.0.10:80", "--mode", "ipvs", "--ipvs-scheduler", "sh", "-o", "json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["mode"] == "ipvs" and d["ipvs"]["scheduler"] == "sh"
    assert len(d["outcomes"]) == 1


def test_trace_ipvs_refuses_iptables_only_flags() -> None:
    p = run(
        "trace", "-f", SHOP, "--node", "node-a", "--src", "10.244.2.9", "--dst", "10.96.0.10:80",
        "--mode", "ipvs", "--random-fully",
    )  # fmt: skip
    assert p.returncode == 2
    assert p.stderr == 'svccore: error: random_fully applies to mode "iptables" only\n'


def _real_dump(tmp_path: Path, edit: bool) -> str:
    p = run("render", "iptables", "-f", SHOP, "--node", "node-a", "--form", "save")
    text = p.stdout
    if edit:
        text = text.replace("--dport 30080 -j KUBE-EXT", "--dport 30081 -j KUBE-EXT", 1)
        assert text != p.stdout
    path = tmp_path / "node-a.save"
    path.write_text(text)
    return str(path)


def test_audit_exit_codes_text_and_json(tmp_path: Path) -> None:
    clean = run("audit", "-f", SHOP, "--node", "node-a", "--actual", _real_dump(tmp_path, False))
    assert (clean.returncode, clean.stdout.splitlines()[-1]) == (0, "no drift")
    drift = _real_dump(tmp_path, True)
    p = run("audit", "-f", SHOP, "--node", "node-a", "--actual", drift)
    assert p.returncode == 1, p.stderr
    assert "\x1b[" not in p.stdout  # no colours when stdout is not a terminal
    assert "  changed  [nat] KUBE-NODEPORTS" in p.stdout or "  missing  [nat]" in p.stdout
    p = run("audit", "-f", SHOP, "--node", "node-a", "--actual", drift, "-o", "json")
    assert p.returncode == 1
    d = json.loads(p.stdout)
    assert d["has_drift"] is True and d["service_ports"][0]["service_port"] == "shop/web:http"


def test_audit_reads_the_dump_from_stdin(tmp_path: Path) -> None:
    dump = Path(_real_dump(tmp_path, False)).read_bytes()
    p = run("audit", "-f", SHOP, "--node", "node-a", "--actual", "-", stdin=dump)
    assert p.returncode == 0, p.stderr
    p = run("audit", "-f", "-", "--node", "node-a", "--actual", "-", stdin=dump)
    assert p.returncode == 2
    assert p.stderr == "svccore: error: --actual - and -f - cannot both read standard input\n"


def test_audit_of_a_bad_dump_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.save"
    bad.write_text("garbage\n")
    p = run("audit", "-f", SHOP, "--node", "node-a", "--actual", str(bad))
    assert p.returncode == 1
    assert p.stderr.startswith("svccore: error: cannot parse dump: ")


def test_audit_colours_only_on_a_terminal() -> None:
    from svccore import cli

    text = "x\n  missing  [nat] rule\n  extra    [nat] rule\n"
    assert cli._colourize(text) == (
        "x\n\x1b[31m  missing  [nat] rule\x1b[0m\n\x1b[32m  extra    [nat] rule\x1b[0m\n"
    )
