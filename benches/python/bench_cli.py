#!/usr/bin/env python3
"""The whole ``svccore render`` command against ``python -c 'json.load(...)'`` of the same file,
in the same run, and where the command's time goes (standard library only).

    python benches/python/bench_cli.py target/lean-10k.json --node node-1 [--repeat 7]

Run it with the interpreter of the environment ``svccore`` is installed in (built with
``--release``). For each file, rounds interleave so that every measurement sees the same phases
of a shared machine; each figure is the best of ``--repeat`` (interference only adds time):

- the command lines, as processes, output to ``/dev/null``: ``python -c pass`` (start-up),
  ``json.load`` of the file, and ``svccore render MODE -f FILE --node NODE``; wall clock, and
  CPU time (user + system) against ``json.load``'s CPU time;
- the phases of the command inside one process, timed as ``svccore.cli`` runs them: importing
  ``svccore.cli``, building the argument parser, reading the file, loading it, the proxier
  settings, rendering, the warnings and node notes printed on stderr, and writing the text to
  ``/dev/null``.

``--python`` (repeatable) names the interpreters of environments with different builds
installed (the same Python): each gets a column, all measured in the same rounds, all against
the best ``json.load`` of any of them.

Prints a markdown table; reports only (no targets checked).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

# One process: times the command's phases as `svccore.cli` runs them and prints them as JSON.
_PHASES = r"""
import json, os, sys, time
t0 = time.perf_counter()
import svccore.cli as cli
t = {"import svccore.cli": time.perf_counter() - t0}
path, mode, node = sys.argv[1:4]

def phase(name, fn):
    s = time.perf_counter()
    r = fn()
    t[name] = time.perf_counter() - s
    return r

args = phase(
    "parse arguments",
    lambda: cli.build_parser().parse_args(["render", mode, "-f", path, "--node", node, "-q"]),
)
cli._Stderr.reset(True)

sources = phase("read file", lambda: cli.read_sources(args.filename))
cluster = phase("load", lambda: svccore.Cluster.from_sources(sources))
if mode == "iptables":
    settings = phase("settings", lambda: cli.iptables_settings(args))
    render = lambda **kw: cluster.render_iptables(node=node, form="restore", **settings, **kw)
else:
    settings = phase("settings", lambda: cli.nftables_settings(args))
    render = lambda **kw: cluster.render_nftables(node=node, form="dump", **settings, **kw)
# As the command does it: the text written to the output by the render method where the build
# offers that (`out`), else returned as str and written.
writes_itself = "``out``" in (cluster.render_iptables.__doc__ or "")
with open(os.devnull, "wb" if writes_itself else "w") as out:
    if writes_itself:
        phase("render + write (to /dev/null)", lambda: render(out=out))
    else:
        text = phase("render", render)
        phase("write (to /dev/null)", lambda: out.write(text))
phase("warnings", lambda: cluster.proxy_warnings("IPv4"))
phase("node notes", lambda: cli.note_node(cluster, mode, node, **settings))
print(json.dumps(t))
""".replace("import json, os, sys, time", "import json, os, sys, time\nimport svccore")


def run(cmd: list[str]) -> tuple[float, float]:
    """Seconds one process takes, output to /dev/null: wall clock, and CPU (user + system, less
    sensitive to the other work of a shared machine)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), cmd)
    return wall, usage.ru_utime + usage.ru_stime


def svccore_command(py: str) -> list[str]:
    """The ``svccore`` script installed beside interpreter ``py``, else ``py -m svccore``."""
    exe = os.path.join(os.path.dirname(py), "svccore")
    return [exe] if os.path.exists(exe) else [py, "-m", "svccore"]


def measure(path: str, mode: str, node: str, repeat: int, pythons: list[str]) -> list[str]:
    """Markdown rows for one file: each figure for each interpreter (a column each), and
    against ``json.load`` by the first interpreter in the same rounds."""
    commands: dict[str, Callable[[str], list[str]]] = {
        "python -c pass": lambda py: [py, "-c", "pass"],
        "json.load (process)": lambda py: [py, "-c", f"import json; json.load(open({path!r}))"],
        f"svccore render {mode} (process)": lambda py: [
            *svccore_command(py),
            "render",
            mode,
            "-f",
            path,
            "--node",
            node,
        ],
    }
    # The output once per build: its size, and whether the builds agree byte for byte.
    outputs = [
        subprocess.run(
            commands[f"svccore render {mode} (process)"](py), check=True, capture_output=True
        ).stdout
        for py in pythons
    ]
    agree = "identical" if len(set(outputs)) == 1 else "DIFFERENT"
    best: list[dict[str, float]] = [{} for _ in pythons]
    for _ in range(repeat):
        for b, py in zip(best, pythons, strict=True):
            for name, cmd in commands.items():
                wall, cpu = run(cmd(py))
                b[name] = min(b.get(name, float("inf")), wall)
                cpu_name = name.replace("(process)", "(process, CPU)")
                b[cpu_name] = min(b.get(cpu_name, float("inf")), cpu)
            out = subprocess.run(
                [py, "-c", _PHASES, path, mode, node], check=True, capture_output=True, text=True
            )
            for name, secs in json.loads(out.stdout).items():
                b[name] = min(b.get(name, float("inf")), secs)
    # The same interpreter in every environment: the best json.load of all of them (CPU
    # figures against its CPU figure).
    j = min(b["json.load (process)"] for b in best)
    j_cpu = min(b["json.load (process, CPU)"] for b in best)
    heads = " | ".join(f"`{py}` ms | against json.load" for py in pythons)
    rows = [
        f"\n### `{os.path.basename(path)}` ({os.path.getsize(path) / 1e6:.1f} MB), "
        f"render {mode} --node {node}, output {len(outputs[0]) / 1e6:.1f} MB ({agree})\n",
        f"| what | {heads} |",
        "|---|" + "---:|---:|" * len(pythons),
    ]
    names = list(dict.fromkeys(n for b in best for n in b))
    for name in names:
        cells = []
        for b in best:
            secs = b.get(name)
            base = j_cpu if "CPU" in name else j
            cells.append("- | -" if secs is None else f"{secs * 1e3:.1f} | {secs / base:.2f}")
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description="The svccore command against json.load.")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--node", default="node-1")
    ap.add_argument("--mode", default="iptables", choices=("iptables", "nftables"))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument(
        "--python",
        action="append",
        help="an interpreter whose environment has svccore installed (repeat to compare builds; "
        "default: this one)",
    )
    args = ap.parse_args()
    pythons = args.python or [sys.executable]
    print(f"load average {os.getloadavg()[0]:.2f} at start")
    for path in args.files:
        print("\n".join(measure(path, args.mode, args.node, args.repeat, pythons)))
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
