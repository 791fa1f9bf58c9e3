#!/usr/bin/env python3
"""Nothing from the text to the rules is quadratic.

Runs `core/examples/scale_probe` (load, validate and every renderer, once each, on a generated
cluster of N Services with ten endpoints each) under callgrind at 1x, 4x and 16x a size,
counting each stage's instructions (`--toggle-collect=scale_probe::stage_*`, inclusive), and
fails when a stage's count grows more than 24x from 1x to 16x: linear is 16x, n log n about
18x, quadratic 256x. Instruction counts are what the code does, the same on a busy machine and
an idle one; wall-clock time also grows with the caches the data outgrows, which is not what
this test is about.

    tests/scaling/run.py target/release/examples/scale_probe [BASE]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = (1, 4, 16)
BOUND = 24.0
STAGE = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+\*?\s*\S*scale_probe::(stage_\w+)")


def counts(probe: str, services: int, workdir: Path) -> dict[str, int]:
    """Each stage's inclusive instruction count at `services`."""
    out = workdir / f"callgrind.{services}"
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--collect-atstart=no",
            "--toggle-collect=scale_probe::stage_*",
            probe,
            str(services),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if run.returncode != 0:
        sys.exit(f"scale_probe {services} failed under callgrind:\n{run.stderr[-2000:]}")
    print(f"  {run.stdout.strip()}")
    report = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, int] = {}
    for line in report.splitlines():
        m = STAGE.match(line)
        if m:
            found[m.group(2)] = max(found.get(m.group(2), 0), int(m.group(1).replace(",", "")))
    if len(found) != 7:
        sys.exit(f"expected 7 stages in the callgrind report at {services}, found {sorted(found)}")
    return found


def main() -> int:
    probe = sys.argv[1]
    base = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as d:
        per_size = {}
        for k in SIZES:
            print(f"{k}x: {k * base} services")
            per_size[k] = counts(probe, k * base, Path(d))
    failed = []
    print(f"{'stage':<32}{'1x':>16}{'4x':>16}{'16x':>16}  growth 1x->16x (bound {BOUND:g}x)")
    for stage, first in per_size[1].items():
        growth = per_size[16][stage] / first
        row = "".join(f"{per_size[k][stage]:>16,}" for k in SIZES)
        print(f"{stage:<32}{row}  {growth:6.2f}x")
        if growth > BOUND:
            failed.append(stage)
    if failed:
        print(f"FAIL: grew more than {BOUND:g}x: {', '.join(failed)}")
        return 1
    print("every stage grows at most linearly (or n log n)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
