#!/usr/bin/env python3
"""Print criterion's medians of the last ``cargo bench`` run as a markdown table.

    python3 benches/python/criterion_medians.py [FILTER] [--target-dir DIR]

Criterion's console line shows its estimate of the mean; the targets in ``benches/README.md``
are read against the median, which criterion writes to
``<target-dir>/criterion/<group>/<bench>/new/estimates.json``. FILTER keeps the benchmarks
whose name contains it. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def human(ns: float) -> str:
    """A duration in the unit criterion would print it in."""
    if ns < 1e3:
        return f"{ns:.2f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns / 1e6:.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filter", nargs="?", default="")
    parser.add_argument(
        "--target-dir",
        default=os.environ.get("CARGO_TARGET_DIR", "target"),
        help="cargo's target directory (default: $CARGO_TARGET_DIR or ./target)",
    )
    args = parser.parse_args()
    root = Path(args.target_dir) / "criterion"
    rows = []
    for estimates in sorted(root.glob("**/new/estimates.json")):
        name = str(estimates.parent.parent.relative_to(root))
        if args.filter not in name:
            continue
        median = json.loads(estimates.read_text())["median"]
        rows.append((name, median))
    if not rows:
        print(f"no criterion results under {root}", file=sys.stderr)
        return 1
    print("| benchmark | median | 95% interval |")
    print("|---|---:|---:|")
    for name, m in rows:
        ci = m["confidence_interval"]
        interval = f"{human(ci['lower_bound'])} to {human(ci['upper_bound'])}"
        print(f"| `{name}` | {human(m['point_estimate'])} | {interval} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
