#!/usr/bin/env python3
"""The loader through the Python binding against Python's own ``json.loads`` of the same text,
in the same run (standard library only).

    cargo run --release -p svccore-benches --example gen_cluster -- 10000 10 > /tmp/c10k.json
    python benches/python/bench_load.py /tmp/c10k.json [--repeat 7]

Against the installed ``svccore`` (build it with ``--release``). For each file, best of
``--repeat`` runs: ``json.loads(text)``; ``svccore.Cluster.from_json(text)`` followed by
``validate()`` (text → validated cluster, the issue's "end to end"); and their ratio. Files
whose name ends in ``.yaml`` are read with ``from_yaml`` (there is no YAML parser in Python's
standard library to compare with). Prints a markdown table; reports only (no targets checked).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import svccore


def best(fn: Callable[[], object], repeat: int) -> float:
    """Seconds of the fastest of ``repeat`` calls (interference only ever adds time)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def load_validate(text: str, path: str) -> None:
    """Text → validated cluster, as ``svccore validate`` does it."""
    read = (
        svccore.Cluster.from_yaml if path.endswith((".yaml", ".yml")) else svccore.Cluster.from_json
    )
    errors = read(text, file=path).validate()
    assert not errors, errors[:3]


def measure(path: str, repeat: int) -> str:
    """One markdown row: the file, json.loads and svccore, interleaved so that both see the
    same phases of a shared machine."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    mb = len(text.encode()) / 1e6
    yaml = path.endswith((".yaml", ".yml"))
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(best(lambda: load_validate(text, path), 1))
        if not yaml:
            theirs.append(best(lambda: json.loads(text), 1))
    t_ours = min(ours)
    cmp, ratio = "-", "-"
    if theirs:
        t_json = min(theirs)
        cmp, ratio = f"{t_json * 1e3:.0f} ms", f"{t_json / t_ours:.2f} times faster"
    return (
        f"| `{os.path.basename(path)}` | {mb:.1f} | {cmp} | {t_ours * 1e3:.0f} ms "
        f"| {mb / t_ours:.0f} | {ratio} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description="svccore's loader against json.loads.")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} at start\n")
    print("| input | MB | json.loads | svccore load+validate | MB/s | svccore against json.loads |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in args.files:
        print(measure(path, args.repeat))
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
