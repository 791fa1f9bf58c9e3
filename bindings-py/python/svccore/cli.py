"""The ``svccore`` command (also ``python -m svccore``).

Exit codes: 0 success; 1 the input cannot be read, parsed or is invalid (every error is printed
on stderr with its file and path); 2 the command line is wrong. No traceback is ever printed:
anything unexpected is reported as ``svccore: error: internal error: ...`` with exit code 1.

Subcommands live in the registry ``COMMANDS`` at the end of this file; each is a ``Command``
(name, help, examples, a function adding its arguments, a function running it). The helpers
``add_input_arguments``, ``add_output_argument`` and ``load_cluster`` give every subcommand the
same ``-f``/``-o`` options and error handling.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import svccore

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

PROG = "svccore"

_INPUT_SUFFIXES = (".yaml", ".yml", ".json")


class InputError(Exception):
    """An input that cannot be used as text (not UTF-8, an empty directory): exit code 1."""


@dataclass(frozen=True)
class Command:
    """One subcommand: ``svccore NAME ...``.

    >>> cmd = Command("hello", "say hello", "Says hello.", "  svccore hello",
    ...               lambda p: None, lambda a: 0)
    >>> cmd.name
    'hello'
    """

    name: str
    """The word after ``svccore``."""
    help: str
    """One line for ``svccore --help``."""
    description: str
    """What it does, for ``svccore NAME --help``."""
    examples: str
    """Example invocations, indented, for ``svccore NAME --help``."""
    add_arguments: Callable[[argparse.ArgumentParser], None]
    """Adds the subcommand's options to its parser."""
    run: Callable[[argparse.Namespace], int]
    """Runs it with the parsed arguments and returns the exit code. Raise ``SvcCoreError`` or
    ``OSError`` for input problems: ``main`` prints them and exits with 1."""


# --- shared options ------------------------------------------------------------------------


def _port_range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        low, high = int(lo), int(hi)
    except ValueError:
        low = high = -1
    if not sep or not (1 <= low <= high <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port range like 30000-32767")
    return low, high


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """Adds ``-f/--filename`` (files, directories, ``-`` for stdin) and
    ``--service-node-port-range``.

    >>> p = argparse.ArgumentParser()
    >>> add_input_arguments(p)
    >>> p.parse_args(["-f", "a.yaml", "b.yaml", "-f", "c.yaml"]).filename
    ['a.yaml', 'b.yaml', 'c.yaml']
    """
    p.add_argument(
        "-f",
        "--filename",
        metavar="FILE",
        action="extend",
        nargs="+",
        required=True,
        help="manifests (JSON or YAML; a directory reads its *.yaml, *.yml, *.json; "
        "'-' reads standard input); repeatable",
    )
    p.add_argument(
        "--service-node-port-range",
        metavar="LOW-HIGH",
        type=_port_range,
        default=(30000, 32767),
        help="the API server's node port range (default: 30000-32767)",
    )


def add_output_argument(p: argparse.ArgumentParser) -> None:
    """Adds ``-o/--output text|json``.

    >>> p = argparse.ArgumentParser()
    >>> add_output_argument(p)
    >>> p.parse_args(["-o", "json"]).output
    'json'
    """
    p.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="output format (default: text)",
    )


def read_sources(paths: Sequence[str]) -> list[tuple[str, str]]:
    """Reads ``-f`` arguments into ``(name, text)`` pairs: ``-`` is standard input, a
    directory contributes its ``*.yaml``, ``*.yml`` and ``*.json`` files in name order.

    >>> read_sources([])
    []
    """
    sources: list[tuple[str, str]] = []
    for path in paths:
        try:
            if path == "-":
                sources.append(("-", sys.stdin.buffer.read().decode("utf-8")))
            elif os.path.isdir(path):
                names = sorted(n for n in os.listdir(path) if n.endswith(_INPUT_SUFFIXES))
                if not names:
                    raise InputError(f"{path}: no .yaml, .yml or .json files in the directory")
                sources.extend(read_sources([os.path.join(path, n) for n in names]))
            else:
                with open(path, encoding="utf-8") as f:
                    sources.append((path, f.read()))
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return sources


def load_cluster(args: argparse.Namespace) -> svccore.Cluster:
    """The cluster named by ``-f`` (and ``--service-node-port-range``)."""
    return svccore.Cluster.from_sources(
        read_sources(args.filename), node_port_range=args.service_node_port_range
    )


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _warn(issues: Sequence[svccore.Issue]) -> None:
    for issue in issues:
        print(f"{PROG}: warning: {issue}", file=sys.stderr)


# --- svccore validate ----------------------------------------------------------------------


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_output_argument(p)


def _run_validate(args: argparse.Namespace) -> int:
    try:
        cluster = load_cluster(args)
    except svccore.SvcCoreError as e:
        if args.output != "json":
            raise
        _print_json(
            {
                "valid": False,
                "error": {"kind": e.kind, "message": str(e)},
                "errors": [i.to_dict() for i in e.errors],
                "warnings": [],
                "summary": None,
            }
        )
        return EXIT_INVALID
    errors = cluster.validate(node_port_range=args.service_node_port_range)
    summary = cluster.summary()
    if args.output == "json":
        _print_json(
            {
                "valid": not errors,
                "error": None,
                "errors": [i.to_dict() for i in errors],
                "warnings": [i.to_dict() for i in cluster.warnings],
                "summary": summary.to_dict(),
            }
        )
        return EXIT_INVALID if errors else EXIT_OK
    _warn(cluster.warnings)
    if errors:
        for issue in errors:
            print(issue, file=sys.stderr)
        n = len(errors)
        print(f"{PROG}: error: {n} validation error{'s' if n != 1 else ''}", file=sys.stderr)
        return EXIT_INVALID
    print(f"valid: {summary}")
    return EXIT_OK


VALIDATE = Command(
    name="validate",
    help="check manifests against the API server's rules",
    description="Loads the manifests and checks every object as the API server would. "
    "Prints a one-line summary and exits 0 when valid; prints every error with its file "
    "and path on stderr and exits 1 when not (also when a file cannot be read or parsed).",
    examples="  svccore validate -f service.yaml -f endpointslice.yaml\n"
    "  kubectl get svc,endpointslices -A -o json | svccore validate -f -\n"
    "  svccore validate -f manifests/ --service-node-port-range 20000-22767 -o json",
    add_arguments=_validate_arguments,
    run=_run_validate,
)


# --- svccore endpoints ---------------------------------------------------------------------


def _endpoints_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    p.add_argument(
        "--node",
        metavar="NAME",
        help="also show this node (e.g. one without a Node object or endpoints)",
    )
    add_output_argument(p)


def _run_endpoints(args: argparse.Namespace) -> int:
    cluster = load_cluster(args)
    report = cluster.endpoints(node=args.node)
    if args.output == "json":
        _print_json(report.to_dict())
    else:
        sys.stdout.write(str(report))
    return EXIT_OK


ENDPOINTS = Command(
    name="endpoints",
    help="show which endpoints each node uses for each service port",
    description="For every node (Node objects, nodes named by endpoints, and --node) and "
    "every service port: the endpoints used for cluster-policy and local-policy traffic, "
    "whether the port has endpoints at all, and fallbacks to terminating endpoints, as "
    "kube-proxy categorizes them.",
    examples="  svccore endpoints -f cluster.yaml\n"
    "  svccore endpoints -f cluster.yaml --node worker-1 -o json",
    add_arguments=_endpoints_arguments,
    run=_run_endpoints,
)


# --- svccore simulate ----------------------------------------------------------------------

SCHEDULERS = ("iptables", "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh", "maglev", "ring-hash")


def _simulate_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    p.add_argument("--service", metavar="NS/NAME[:PORT]", required=True,
                   help="the service port (port name or number; optional for one-port services)")
    p.add_argument("--node", metavar="NAME",
                   help="the node the connections arrive on (default: the first Node)")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="iptables",
                   help="the engine (default: iptables, kube-proxy's random cascade)")
    p.add_argument("--from", dest="source", choices=("pod", "node", "external"), default="pod",
                   help="where clients connect from: pod/node to the cluster IP, external to a "
                   "node port, external IP or LB IP (default: pod)")
    p.add_argument("--clients", type=int, default=100, metavar="N", help="distinct clients (default: 100)")
    p.add_argument("--connections", type=int, default=10000, metavar="N",
                   help="new connections (default: 10000)")
    p.add_argument("--duration", type=float, default=3600.0, metavar="S",
                   help="seconds over which connections arrive (default: 3600)")
    p.add_argument("--hold", type=float, default=1.0, metavar="S",
                   help="seconds each connection stays established (default: 1)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument("--affinity-timeout", type=int, metavar="S",
                   help="override the Service's ClientIP timeout (0 turns affinity off)")
    p.add_argument("--flags", default="", metavar="F[,F]",
                   help="IPVS scheduler flags: sh-fallback, sh-port, mh-fallback, mh-port")
    p.add_argument("--table-size", type=int, metavar="M", help="Maglev / mh table size")
    p.add_argument("--remove-endpoint", metavar="IP:PORT", help="measure disruption of removing it")
    p.add_argument("--add-endpoint", metavar="IP:PORT", help="measure disruption of adding it")
    add_output_argument(p)


def _run_simulate(args: argparse.Namespace) -> int:
    cluster = load_cluster(args)
    report = cluster.simulate(
        args.service,
        node=args.node,
        scheduler=args.scheduler,
        source=args.source,
        clients=args.clients,
        connections=args.connections,
        duration=args.duration,
        hold=args.hold,
        seed=args.seed,
        affinity_timeout=args.affinity_timeout,
        flags=[f for f in args.flags.split(",") if f],
        table_size=args.table_size,
        remove_endpoint=args.remove_endpoint,
        add_endpoint=args.add_endpoint,
    )
    if args.output == "json":
        _print_json(report.to_dict())
    else:
        sys.stdout.write(str(report))
    return EXIT_OK


SIMULATE = Command(
    name="simulate",
    help="drive connections through a service port and show where they land",
    description="Sends connections from many clients over time to one service port, through "
    "the node's real configuration (traffic policies, topology, ClientIP affinity) and the "
    "chosen engine, and prints the share per endpoint, balance, affinity hits and, with "
    "--remove-endpoint/--add-endpoint, the disruption. IPVS schedulers also print the "
    "virtual server's ipvsadm listing with the live connection counts.",
    examples="  svccore simulate -f examples/nginx-study.yaml --service study/service-clusterip\n"
    "  svccore simulate -f examples/nginx-affinity.yaml --service study/service-clusterip "
    "--scheduler rr\n"
    "  svccore simulate -f examples/nginx-study.yaml --service study/service-clusterip "
    "--scheduler maglev --remove-endpoint 10.244.166.129:80 -o json",
    add_arguments=_simulate_arguments,
    run=_run_simulate,
)


# --- the subcommand registry -----------------------------------------------------------------
#
# To add a subcommand (`render`, `trace`, `simulate`, `audit` come here once the core has
# them): write `_<name>_arguments(p)` (reuse add_input_arguments / add_output_argument) and
# `_run_<name>(args) -> int` (reuse load_cluster; let SvcCoreError/OSError propagate), define
# `NAME = Command(...)` with a help line and examples, and append it below. Then add a test in
# bindings-py/tests/test_cli.py (exit codes 0/1/2, no traceback).
COMMANDS: tuple[Command, ...] = (
    VALIDATE,
    ENDPOINTS,
    SIMULATE,
)


# --- main ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command, one subparser per registered command.

    >>> build_parser().prog
    'svccore'
    """
    examples = "\n".join(c.examples for c in COMMANDS)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="kube-proxy's view of Kubernetes Services, offline.",
        epilog=f"examples:\n{examples}\n\nexit codes: 0 ok, 1 invalid or unreadable input, "
        "2 usage error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {svccore.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for c in COMMANDS:
        p = sub.add_parser(
            c.name,
            help=c.help,
            description=c.description,
            epilog=f"examples:\n{c.examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        c.add_arguments(p)
        p.set_defaults(run=c.run)
    return parser


def _report(e: svccore.SvcCoreError) -> None:
    print(f"{PROG}: error: {e}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line and returns the exit code (usage errors exit with 2 through
    argparse).

    >>> main(["validate", "-f", "/nonexistent.yaml"])
    1
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except svccore.SvcCoreError as e:
        _report(e)
        return EXIT_INVALID
    except BrokenPipeError:
        # The reader went away (`svccore endpoints ... | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INVALID
    except OSError as e:
        what = e.strerror or str(e)
        where = f" {e.filename}" if e.filename else ""
        print(f"{PROG}: error: cannot read{where}: {what}", file=sys.stderr)
        return EXIT_INVALID
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        print(f"{PROG}: error: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_INVALID
