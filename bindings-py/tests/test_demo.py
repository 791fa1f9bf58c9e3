"""`make demo`'s script (scripts/demo.sh): one reading's length, every step labelled, each
warning once, colour only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

DEMO = REPO / "scripts" / "demo.sh"
SVCCORE = shutil.which("svccore", path=os.path.dirname(sys.executable))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "DEMO_LINES")}
    assert SVCCORE is not None
    return {**env, "SVCCORE": SVCCORE, "TERM": "xterm", **extra}


def _run_on_a_terminal(env: dict[str, str]) -> str:
    main, side = pty.openpty()
    p = subprocess.Popen(["bash", str(DEMO)], stdout=side, stderr=side, env=env)
    os.close(side)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the side closed: the demo ended
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert p.wait(timeout=120) == 0
    return out.decode()


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEMO)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )


def test_demo_fits_a_reading_with_every_step_labelled(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout.splitlines()
    lines = len(out) + len(demo.stderr.splitlines())
    assert lines < 150, lines
    labelled = False
    for line in out:
        if line.startswith("== ") and line.endswith(" =="):
            labelled = True
        elif line.startswith("$ svccore "):
            assert labelled, f"{line}: no step label before it"
    # A cut output says how to print it whole.
    for line in out:
        if "more lines: svccore " in line:
            assert line.startswith("… ")


def test_demo_prints_each_warning_once_and_no_escape_codes_off_a_terminal(
    demo: subprocess.CompletedProcess[str],
) -> None:
    warnings = [ln for ln in demo.stderr.splitlines() if "warning:" in ln]
    assert warnings
    assert len(warnings) == len(set(warnings))
    assert "\x1b" not in demo.stdout + demo.stderr


def test_demo_colour_on_a_terminal_unless_no_color() -> None:
    assert "\x1b[1m$ svccore " in _run_on_a_terminal(_env())
    assert "\x1b" not in _run_on_a_terminal(_env(NO_COLOR="1"))
