"""Conformance through the command: `svccore render iptables` on every case of
tests/conformance/iptables, checked by the fixtures' own comparer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

CASES_DIR = REPO / "tests" / "conformance" / "iptables"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_case_folder_is_complete(case: Path) -> None:
    for name in ("cluster.json", "proxy.json", "expected.txt"):
        assert (case / name).is_file(), f"{case.name} lacks {name}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_render_iptables_matches_the_golden(case: Path, tmp_path: Path) -> None:
    render = subprocess.run(
        [
            sys.executable,
            "-m",
            "svccore",
            "render",
            "iptables",
            "-f",
            str(case / "cluster.json"),
            "--proxier-settings",
            str(case / "proxy.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert render.returncode == 0, render.stderr
    assert "Traceback" not in render.stderr
    out = tmp_path / "output.txt"
    out.write_text(render.stdout)
    check = subprocess.run(
        [
            sys.executable,
            str(CASES_DIR / "check_fixtures.py"),
            "--compare",
            str(case),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == f"PASS {case.name}\n"
