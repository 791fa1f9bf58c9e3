"""The ``svccore`` command (also ``python -m svccore``).

Exit codes: 0 success; 1 the input cannot be read, parsed or is invalid (every error is printed
on stderr with its file and path), a service or node named is not in it, or ``svccore audit``
found drift; 2 the command line is wrong: an unknown option, options that contradict each other,
or an option's value the core refuses (``--src notanip``, ``--flags sh-bogus``: an
``svccore.InvalidArgumentError``; ``--cluster-cidr bogus``: a ``svccore.ConfigError`` without a
file). No traceback is ever printed: anything unexpected is reported as
``svccore: error: internal error: ...`` with exit code 1.

Warnings go to stderr once per run each (``-q/--quiet`` hides them; ``-o json`` output that
carries warnings still does).

Subcommands live in the registry ``COMMANDS`` at the end of this file; each is a ``Command``
(name, help, examples, a function adding its arguments, a function running it). The helpers
``add_input_arguments``, ``add_output_argument`` and ``load_cluster`` give every subcommand the
same ``-f``/``-o`` options and error handling.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple, NoReturn

import svccore

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_DRIFT = 1
"""``svccore audit``: the node's rules differ from kube-proxy's."""

PROG = "svccore"

_INPUT_SUFFIXES = (".yaml", ".yml", ".json")


class UsageError(Exception):
    """Options that contradict each other: exit code 2, like argparse's own usage errors."""


class _Stderr:
    """What the run has said on stderr: each distinct line once; warnings not at all with
    ``-q``."""

    quiet = False
    said: ClassVar[set[str]] = set()

    @classmethod
    def reset(cls, quiet: bool) -> None:
        cls.quiet = quiet
        cls.said = set()

    @classmethod
    def say(cls, line: str, *, warning: bool = False) -> None:
        if (warning and cls.quiet) or line in cls.said:
            return
        cls.said.add(line)
        print(line, file=sys.stderr)


class _Exit:
    """How the process ends: :func:`command` ends it with :func:`leave`, without the
    interpreter's teardown, and then every cluster the run loaded is kept to the end (freeing
    one of 10,000 Services object by object is exit work :func:`leave` exists to skip). A run
    of :func:`main` in a process that goes on (a test, a script) keeps nothing."""

    fast = False
    kept: ClassVar[list[svccore.Cluster]] = []


class InputError(Exception):
    """An input that cannot be used as text (not UTF-8, an empty directory): exit code 1."""


class Command(NamedTuple):
    """One subcommand: ``svccore NAME ...`` (a named tuple: importing ``dataclasses`` would
    cost every run a few milliseconds).

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
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="do not print warnings on stderr (-o json output still carries those it has)",
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


def _utf8(data: bytes) -> bytes:
    """``data``, checked to be UTF-8 (``UnicodeDecodeError`` otherwise). The bytes go to the
    core as they are, which holds them without a copy: an ASCII file is never made a ``str``.

    >>> _utf8(b"name: caf\\xc3\\xa9")
    b'name: caf\\xc3\\xa9'
    """
    if not data.isascii():
        data.decode("utf-8")  # only for the error: the str is dropped at once
    return data


def _text_file(data: bytes) -> bytes:
    """A file's bytes with line ends as reading it in text mode gives them (``\\r\\n`` and
    ``\\r`` become ``\\n``); a copy is made only when there is a carriage return.

    >>> _text_file(b"a: 1\\r\\nb: 2\\rc: 3\\n")
    b'a: 1\\nb: 2\\nc: 3\\n'
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def read_sources(paths: Sequence[str]) -> list[tuple[str, bytes]]:
    """Reads ``-f`` arguments into ``(name, UTF-8 text)`` pairs: ``-`` is standard input, a
    directory contributes its ``*.yaml``, ``*.yml`` and ``*.json`` files in name order.

    >>> read_sources([])
    []
    """
    sources: list[tuple[str, bytes]] = []
    for path in paths:
        try:
            if path == "-":
                sources.append(("-", _utf8(sys.stdin.buffer.read())))
            elif os.path.isdir(path):
                names = sorted(n for n in os.listdir(path) if n.endswith(_INPUT_SUFFIXES))
                if not names:
                    raise InputError(f"{path}: no .yaml, .yml or .json files in the directory")
                sources.extend(read_sources([os.path.join(path, n) for n in names]))
            else:
                with open(path, "rb") as f:
                    sources.append((path, _text_file(_utf8(f.read()))))
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return sources


def load_cluster(args: argparse.Namespace) -> svccore.Cluster:
    """The cluster named by ``-f`` (and ``--service-node-port-range``)."""
    cluster = svccore.Cluster.from_sources(
        read_sources(args.filename), node_port_range=args.service_node_port_range
    )
    if _Exit.fast:
        _Exit.kept.append(cluster)
    return cluster


def write_output(render: Callable[..., object], **kwargs: Any) -> None:
    """Calls a render method of ``svccore.Cluster`` with ``kwargs`` so that it writes its text
    on standard output itself (``out=sys.stdout.buffer``), after what was written as text: a
    text of tens of megabytes is then neither made a ``str`` nor encoded again.

    >>> def render(*, out=None):  # as Cluster.render_iptables
    ...     return "ok\\n" if out is None else out.write(b"ok\\n")
    >>> write_output(render)
    ok
    """
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a stand-in for stdout that takes only str
        sys.stdout.write(str(render(**kwargs)))
        return
    sys.stdout.flush()
    render(out=buffer, **kwargs)


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _warn(issues: Sequence[svccore.Issue]) -> None:
    for issue in issues:
        _Stderr.say(f"{PROG}: warning: {issue}", warning=True)


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
    description="Loads the manifests and checks every object as the API server would, and the "
    "objects against each other (one name twice, a cluster IP or node port already "
    "allocated: both objects' files and paths). Prints a one-line summary and exits 0 when "
    "valid; prints every error with its file and path on stderr and exits 1 when not (also "
    "when a file cannot be read or parsed). Warnings (a file without objects, an "
    "EndpointSlice whose Service is not in the input) do not fail validation.",
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
        help="show this node only (also one without a Node object or endpoints); default: "
        "every node",
    )
    add_output_argument(p)


def _run_endpoints(args: argparse.Namespace) -> int:
    cluster = load_cluster(args)
    report = cluster.endpoints(node=args.node)
    if args.node is not None:
        report = report.only(args.node)
    if args.node is not None and cluster.nodes:
        # An extra node is the option's purpose: a name no Node object has is only noted.
        note_node(cluster, "iptables", args.node, allow_unknown_node=True)
    if args.output == "json":
        _print_json(report.to_dict())
    else:
        sys.stdout.write(str(report))
    return EXIT_OK


ENDPOINTS = Command(
    name="endpoints",
    help="show which endpoints each node uses for each service port",
    description="For every node (Node objects and nodes named by endpoints), or --node alone, "
    "and every service port: the endpoints used for cluster-policy and local-policy traffic, "
    "whether the port has endpoints at all, and fallbacks to terminating endpoints, as "
    "kube-proxy categorizes them.",
    examples="  svccore endpoints -f cluster.yaml\n"
    "  svccore endpoints -f cluster.yaml --node worker-1 -o json",
    add_arguments=_endpoints_arguments,
    run=_run_endpoints,
)


# --- svccore simulate ----------------------------------------------------------------------

SCHEDULERS = svccore.ALGORITHMS


def _simulate_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    p.add_argument(
        "--service",
        metavar="NS/NAME[:PORT]",
        required=True,
        help="the service port (port name or number; optional for one-port services)",
    )
    p.add_argument(
        "--node",
        metavar="NAME",
        help="the node the connections arrive on (default: the first Node)",
    )
    add_allow_unknown_node_argument(p)
    p.add_argument(
        "--scheduler",
        choices=SCHEDULERS,
        help="the engine (default: iptables, kube-proxy's random cascade; with --mode nftables, "
        "nftables; with --mode userspace, userspace; with --mode ipvs, rr)",
    )
    p.add_argument(
        "--mode",
        choices=("iptables", "nftables", "userspace", "ipvs"),
        help="kube-proxy's mode: iptables (the cascade), nftables (numgen random, affinity "
        "sets), userspace (the proxy's round robin over its shuffled list, its own ClientIP "
        "table; every ready endpoint, no traffic policies) or ipvs (--scheduler, default rr, "
        "and the virtual server's ipvsadm listing with live connection counts)",
    )
    p.add_argument(
        "--from",
        dest="source",
        choices=("pod", "node", "external"),
        default="pod",
        help="where clients connect from: pod/node to the cluster IP, external to a "
        "node port, external IP or LB IP (default: pod)",
    )
    p.add_argument(
        "--clients", type=int, default=100, metavar="N", help="distinct clients (default: 100)"
    )
    p.add_argument(
        "--connections",
        type=int,
        default=10000,
        metavar="N",
        help="new connections (default: 10000)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=3600.0,
        metavar="S",
        help="seconds over which connections arrive (default: 3600)",
    )
    p.add_argument(
        "--hold",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds each connection stays established (default: 1)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument(
        "--affinity-timeout",
        type=int,
        metavar="S",
        help="override the Service's ClientIP timeout (0 turns affinity off)",
    )
    p.add_argument(
        "--flags",
        default="",
        metavar="F[,F]",
        help="IPVS scheduler flags: sh-fallback, sh-port, mh-fallback, mh-port",
    )
    p.add_argument("--table-size", type=int, metavar="M", help="Maglev / mh table size")
    p.add_argument("--remove-endpoint", metavar="IP:PORT", help="measure disruption of removing it")
    p.add_argument("--add-endpoint", metavar="IP:PORT", help="measure disruption of adding it")
    add_output_argument(p)


class ProgressBar:
    """A one-line progress bar on standard error, drawn only when it is a terminal and the run
    is long enough to need one.

    >>> bar = ProgressBar(enabled=False)
    >>> bar(5, 10)
    >>> bar.close()
    """

    WIDTH = 30

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.WIDTH * done // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\rsimulating [{bar}] {done}/{total}")
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        """Clears the bar's line."""
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# Below this many connections a simulation is instant and a bar would only flicker.
_PROGRESS_MIN_CONNECTIONS = 200_000


def _scheduler(args: argparse.Namespace) -> str:
    """The engine from ``--scheduler`` and ``--mode``; a contradiction is a usage error.

    >>> _scheduler(argparse.Namespace(scheduler=None, mode="ipvs"))
    'rr'
    """
    if args.mode == "ipvs":
        if args.scheduler == "iptables":
            raise UsageError("--mode ipvs takes an IPVS scheduler, not iptables")
        return args.scheduler or "rr"
    if args.mode == "iptables" and args.scheduler not in (None, "iptables"):
        raise UsageError(f"--mode iptables uses kube-proxy's cascade, not {args.scheduler}")
    if args.mode == "nftables":
        if args.scheduler not in (None, "nftables"):
            raise UsageError(f"--mode nftables uses numgen random, not {args.scheduler}")
        return "nftables"
    if args.mode == "userspace":
        if args.scheduler not in (None, "userspace"):
            raise UsageError(f"--mode userspace uses the proxy's round robin, not {args.scheduler}")
        return "userspace"
    return args.scheduler or "iptables"


def _run_simulate(args: argparse.Namespace) -> int:
    _scheduler(args)  # contradictory options fail before the inputs are read
    cluster = load_cluster(args)
    bar = ProgressBar(None if args.connections >= _PROGRESS_MIN_CONNECTIONS else False)
    try:
        report = _simulate(cluster, args, bar)
    finally:
        bar.close()
    node = report.node
    if args.node is None and node:
        _Stderr.say(f"{PROG}: node {node} (the first Node object; --node chooses another)")
    mode = "ipvs" if _scheduler(args) in svccore.IPVS_SCHEDULERS else "iptables"
    note_node(cluster, mode, node or None, allow_unknown_node=True)
    if args.output == "json":
        _print_json(report.to_dict())
    else:
        sys.stdout.write(str(report))
    return EXIT_OK


def _simulate(
    cluster: svccore.Cluster, args: argparse.Namespace, bar: ProgressBar
) -> svccore.SimulationReport:
    return cluster.simulate(
        args.service,
        node=args.node,
        scheduler=_scheduler(args),
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
        progress=bar if bar.enabled else None,
        allow_unknown_node=bool(args.allow_unknown_node),
    )


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
    "--scheduler maglev --remove-endpoint 10.244.166.129:80 -o json\n"
    "  svccore simulate -f examples/nginx-affinity.yaml --service study/service-clusterip "
    "--mode nftables\n"
    "  svccore simulate -f examples/nginx-affinity.yaml --service study/service-clusterip "
    "--mode userspace",
    add_arguments=_simulate_arguments,
    run=_run_simulate,
)


# --- shared proxier options ----------------------------------------------------------------


def _bool(text: str) -> bool:
    v = text.lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def _bool_option(help_: str) -> dict[str, Any]:
    """The options of a boolean kube-proxy setting: ``--NAME`` or ``--NAME=true`` sets it,
    ``--NAME=false`` clears it, leaving it out keeps the configuration's value (or the default).

    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--random-fully", **_bool_option("x"))
    >>> [p.parse_args(a).random_fully for a in ([], ["--random-fully"], ["--random-fully=false"])]
    [None, True, False]
    """
    return {
        "nargs": "?",
        "const": True,
        "type": _bool,
        "metavar": "true|false",
        "help": f"{help_} (alone: true; =false turns it off; default: the configuration's)",
    }


def _cidrs(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _read_text(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8")
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def add_node_argument(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    """Adds ``--node NAME`` (alias ``--hostname-override``) and ``--allow-unknown-node``."""
    p.add_argument(
        "--node",
        "--hostname-override",
        dest="node",
        metavar="NAME",
        required=required,
        help="the node (kube-proxy's --hostname-override): its endpoints are local, its Node "
        "object gives the node IPs"
        + ("" if required else " (default: hostnameOverride, else the first Node object)"),
    )
    add_allow_unknown_node_argument(p)


def add_allow_unknown_node_argument(p: argparse.ArgumentParser) -> None:
    """Adds ``--allow-unknown-node``: without it, a ``--node`` that no Node object has is an
    error when the input has Node objects."""
    p.add_argument(
        "--allow-unknown-node",
        action="store_const",
        const=True,
        help="accept a --node no Node object has (it then has no IPs or labels)",
    )


def note_node(cluster: svccore.Cluster, mode: str, node: str | None, **settings: Any) -> None:
    """Prints on stderr which node is used and why when ``--node`` was left out, and what is
    unknown about it (``Cluster.node_notes``)."""
    for note in cluster.node_notes(node=node, mode=mode, **settings):
        _Stderr.say(f"{PROG}: {note}")


def add_config_argument(p: argparse.ArgumentParser) -> None:
    """Adds ``--config FILE`` (a KubeProxyConfiguration)."""
    p.add_argument(
        "--config",
        metavar="FILE",
        help="a KubeProxyConfiguration (kube-proxy's --config file, the config.conf of the "
        "kube-proxy ConfigMap); replaces one given with -f",
    )


# The command-line options of the proxier flags (``svccore.PROXIER_FLAGS`` and the settings
# file), by flag name. Which subcommand offers which is the core's table,
# ``svccore.PROXIER_FLAG_MODES``; the core also refuses a flag of another mode.
_FLAG_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "proxier_settings": (
        "--proxier-settings",
        {
            "metavar": "FILE",
            "help": "proxier settings as JSON (the proxy.json of the conformance cases); only "
            "the fields given count",
        },
    ),
    "cluster_cidr": (
        "--cluster-cidr",
        {"metavar": "CIDR", "help": "--cluster-cidr (local traffic detector)"},
    ),
    "masquerade_all": (
        "--masquerade-all",
        _bool_option("masquerade all service traffic"),
    ),
    "masquerade_bit": (
        "--iptables-masquerade-bit",
        {"type": int, "metavar": "N", "help": "the fwmark bit for masquerading (0-31; default 14)"},
    ),
    "masquerade_mark": (
        "--masquerade-mark",
        {"metavar": "TEXT", "help": "the mark text itself (e.g. 0x4000)"},
    ),
    "localhost_nodeports": (
        "--iptables-localhost-nodeports",
        _bool_option("accept node ports on localhost"),
    ),
    "nodeport_addresses": (
        "--nodeport-addresses",
        {"type": _cidrs, "metavar": "CIDR,...", "help": "the addresses node ports listen on"},
    ),
    "nfacct_counters": (
        "--nfacct-counter",
        {
            "action": "append",
            "metavar": "NAME",
            "help": "an nfacct counter the node has (repeatable)",
        },
    ),
    "random_fully": (
        "--random-fully",
        _bool_option("iptables supports --random-fully"),
    ),
    "conntrack_tcp_be_liberal": (
        "--conntrack-tcp-be-liberal",
        _bool_option("nf_conntrack_tcp_be_liberal is set (no INVALID drop rule)"),
    ),
    "service_cidrs": (
        "--service-cidrs",
        {
            "type": _cidrs,
            "metavar": "CIDR,...",
            "help": "the ServiceCIDRs (nftables): traffic to their unallocated addresses is "
            "dropped",
        },
    ),
    "ipvs_scheduler": (
        "--ipvs-scheduler",
        {"choices": svccore.IPVS_SCHEDULERS, "help": "the IPVS scheduler (ipvs mode)"},
    ),
    "proxy_port_range": (
        "--proxy-port-range",
        {
            "metavar": "RANGE",
            "help": "the ports the userspace proxy listens on (min-max, min+offset or one port; "
            "default: the kernel's ephemeral range)",
        },
    ),
    "bind_address": (
        "--bind-address",
        {
            "metavar": "IP",
            "help": "the address the userspace proxy listens on (default 0.0.0.0: containers "
            "are REDIRECTed; one address: DNAT to it)",
        },
    ),
    "strict": (
        "--strict",
        {
            "action": "store_const",
            "const": True,
            "help": "refuse what kube-proxy tolerates (the warnings, each with its path) "
            "instead of going on",
        },
    ),
}


def add_proxier_arguments(p: argparse.ArgumentParser, modes: tuple[str, ...], title: str) -> None:
    """Adds ``--config`` and the command-line options of the proxier flags the core gives
    ``modes``, in the core's order. Later sources override earlier ones: defaults,
    configuration, settings file, flags."""
    add_config_argument(p)
    g = p.add_argument_group(title)
    for name in ("proxier_settings", *svccore.PROXIER_FLAGS):
        if name in _FLAG_OPTIONS and set(modes) & set(svccore.PROXIER_FLAG_MODES[name]):
            option, kwargs = _FLAG_OPTIONS[name]
            g.add_argument(option, dest=name, **kwargs)


def add_nftables_settings_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the nftables proxier's settings: ``--proxier-settings``, ``--config`` and the
    kube-proxy flags that apply to nftables mode (no localhost NodePorts, nfacct counters,
    --random-fully choice, conntrack liberal or large-cluster mode there)."""
    add_config_argument(p)
    g = p.add_argument_group("nftables proxier flags (override --config and --proxier-settings)")
    g.add_argument(
        "--proxier-settings",
        metavar="FILE",
        help="proxier settings as JSON (the proxy.json of the conformance cases); only the "
        "fields given count",
    )
    g.add_argument("--cluster-cidr", metavar="CIDR", help="--cluster-cidr (local traffic detector)")
    g.add_argument("--masquerade-all", **_bool_option("masquerade all service traffic"))
    g.add_argument(
        "--iptables-masquerade-bit",
        dest="masquerade_bit",
        type=int,
        metavar="N",
        help="the fwmark bit for masquerading (0-31; default 14)",
    )
    g.add_argument("--masquerade-mark", metavar="TEXT", help="the mark text itself (e.g. 0x4000)")
    g.add_argument(
        "--nodeport-addresses",
        type=_cidrs,
        metavar="CIDR,...",
        help="the addresses node ports listen on",
    )
    g.add_argument(
        "--service-cidrs",
        type=_cidrs,
        metavar="CIDR,...",
        help="the ServiceCIDRs: traffic to their unallocated addresses is dropped",
    )
    option, kwargs = _FLAG_OPTIONS["strict"]
    g.add_argument(option, dest="strict", **kwargs)


def nftables_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the nftables proxier settings, from the parsed options."""
    settings = None
    if args.proxier_settings:
        settings = svccore.ProxierSettings.from_json(
            _read_text(args.proxier_settings), file=args.proxier_settings
        )
    return {
        "config": load_config(args),
        "proxier_settings": settings,
        "cluster_cidr": args.cluster_cidr,
        "masquerade_all": args.masquerade_all,
        "masquerade_bit": args.masquerade_bit,
        "masquerade_mark": args.masquerade_mark,
        "nodeport_addresses": args.nodeport_addresses,
        "service_cidrs": args.service_cidrs,
        "strict": args.strict,
        "allow_unknown_node": args.allow_unknown_node,
    }


def load_config(args: argparse.Namespace) -> svccore.ProxyConfig | None:
    """The ``--config`` file, if given."""
    if not getattr(args, "config", None):
        return None
    return svccore.ProxyConfig.from_yaml(_read_text(args.config), file=args.config)


def proxier_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The proxier flags the options gave (``svccore.PROXIER_FLAGS``; ``node`` and ``family``
    are passed apart). Which mode takes which flag is the core's decision."""
    own = ("node", "family")
    return {
        name: getattr(args, name)
        for name in svccore.PROXIER_FLAGS
        if name not in own and getattr(args, name, None) is not None
    }


def iptables_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the iptables proxier settings, from the parsed options."""
    settings = None
    if args.proxier_settings:
        settings = svccore.ProxierSettings.from_json(
            _read_text(args.proxier_settings), file=args.proxier_settings
        )
    return {"config": load_config(args), "proxier_settings": settings, **proxier_flags(args)}


def _settings_family(settings: dict[str, Any]) -> str:
    ps = settings.get("proxier_settings")
    return str(ps.to_dict()["ipFamily"]) if ps is not None else "IPv4"


def _warn_proxy(cluster: svccore.Cluster, family: str = "IPv4") -> None:
    _warn(cluster.warnings)
    _warn(cluster.proxy_warnings(family))


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


_COLOURS = {
    "  missing": "31",
    "  extra": "32",
    "  changed": "33",
    "       want": "31",
    "       have": "32",
    "  reordered": "33",
}


def _colourize(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        code = next((c for p, c in _COLOURS.items() if line.startswith(p)), None)
        out.append(f"\x1b[{code}m{line.rstrip(chr(10))}\x1b[0m\n" if code else line)
    return "".join(out)


# --- svccore render ------------------------------------------------------------------------

IPTABLES_FORMS = ("restore", "save", "jumps")
NFTABLES_FORMS = ("dump", "load", "list")
IPVS_FORMS = ("list", "save", "ipset", "iptables", "addresses", "stats", "rate")

_RENDER_IPTABLES_EXAMPLES = (
    "  svccore render iptables -f cluster.json --node worker-1\n"
    "  svccore render iptables -f cluster.json --node worker-1 --mode userspace "
    "--proxy-port-range 36000-36999\n"
    "  svccore render iptables -f cluster.json --proxier-settings proxy.json --form save\n"
    "  kubectl get svc,endpointslices,nodes -A -o json | svccore render iptables -f - "
    "--node worker-1 --config kube-proxy.yaml --masquerade-all"
)
_RENDER_NFTABLES_EXAMPLES = (
    "  svccore render nftables -f cluster.json --node worker-1\n"
    "  svccore render nftables -f CASE/cluster.json --proxier-settings CASE/proxy.json "
    "--form dump\n"
    "  svccore render nftables -f cluster.json --node worker-1 --service-cidrs 10.96.0.0/16 "
    "--form load > kube-proxy.nft"
)
_RENDER_IPVS_EXAMPLES = (
    "  svccore render ipvs -f cluster.json --node worker-1\n"
    "  svccore render ipvs -f cluster.json --node worker-1 --ipvs-scheduler mh --form save\n"
    "  svccore render ipvs -f cluster.json --config kube-proxy.yaml --form ipset"
)


def _render_iptables_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_node_argument(p)
    p.add_argument(
        "--form",
        choices=IPTABLES_FORMS,
        default="restore",
        help="restore: the iptables-restore payload of a full sync (default); save: "
        "what iptables-save prints on the node; jumps: the jump rules and canaries",
    )
    p.add_argument(
        "--mode",
        dest="iptables_mode",
        choices=("iptables", "userspace"),
        default="iptables",
        help="iptables: kube-proxy's iptables mode (default); userspace: the userspace mode "
        "of Kubernetes 1.25 and earlier, whose rules send service traffic to the proxy's own "
        "ports (restore: the portal chains; jumps: their jump rules; save: both as "
        "iptables-save prints them)",
    )
    p.add_argument(
        "--family",
        choices=("IPv4", "IPv6"),
        help="the proxier's family (default: the settings', else IPv4)",
    )
    add_proxier_arguments(
        p,
        ("iptables", "userspace"),
        "proxier flags (override --config and --proxier-settings; a flag of the other mode is "
        "refused)",
    )


def _run_render_iptables(args: argparse.Namespace) -> int:
    cluster = load_cluster(args)
    settings = iptables_settings(args)
    mode = args.iptables_mode
    write_output(
        cluster.render_iptables,
        node=args.node,
        form=args.form,
        mode=mode,
        family=args.family,
        **settings,
    )
    _warn_proxy(cluster, args.family or _settings_family(settings))
    note_node(cluster, mode, args.node, family=args.family, **settings)
    return EXIT_OK


def _render_nftables_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_node_argument(p)
    p.add_argument(
        "--form",
        choices=NFTABLES_FORMS,
        default="dump",
        help="dump: the table as kube-proxy's tests dump it, objects sorted by name "
        "(default); load: the same add lines in an order nft -f accepts; list: what "
        "'nft list table ip kube-proxy' prints once the load form is loaded (nft 1.0.6)",
    )
    p.add_argument(
        "--family",
        choices=("IPv4", "IPv6"),
        help="the proxier's family: table ip or ip6 (default: the settings', else IPv4)",
    )
    add_nftables_settings_arguments(p)


def _run_render_nftables(args: argparse.Namespace) -> int:
    cluster = load_cluster(args)
    settings = nftables_settings(args)
    write_output(
        cluster.render_nftables, node=args.node, form=args.form, family=args.family, **settings
    )
    _warn_proxy(cluster, args.family or _settings_family(settings))
    note_node(cluster, "nftables", args.node, family=args.family, **settings)
    _source, _cidrs, message = cluster.nftables_service_cidrs(
        proxier_settings=settings["proxier_settings"], service_cidrs=settings["service_cidrs"]
    )
    _Stderr.say(f"{PROG}: {message}")
    return EXIT_OK


def _render_ipvs_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_node_argument(p)
    p.add_argument(
        "--form",
        choices=IPVS_FORMS,
        default="list",
        help="list: ipvsadm -Ln (default); stats/rate: its --stats/--rate variants; "
        "save: ipvsadm -S -n; ipset: ipset save; iptables: the ipvs-mode "
        "iptables-restore payload; addresses: ip addr show kube-ipvs0",
    )
    p.add_argument(
        "--family",
        choices=("IPv4", "IPv6"),
        default="IPv4",
        help="the proxier's family (default: IPv4)",
    )
    add_proxier_arguments(p, ("ipvs",), "ipvs proxier flags (override --config)")


def _run_render_ipvs(args: argparse.Namespace) -> int:
    cluster = load_cluster(args)
    write_output(
        cluster.render_ipvs,
        node=args.node,
        form=args.form,
        config=load_config(args),
        family=args.family,
        **proxier_flags(args),
    )
    _warn_proxy(cluster, args.family)
    note_node(
        cluster,
        "ipvs",
        args.node,
        config=load_config(args),
        family=args.family,
        **proxier_flags(args),
    )
    return EXIT_OK


def _render_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="mode", metavar="MODE", required=True)
    for name, help_, description, examples, add, run in (
        (
            "iptables",
            "kube-proxy's iptables mode: iptables-restore / iptables-save text",
            "Renders the rules kube-proxy's iptables mode writes on a node, byte for byte; with "
            "--mode userspace, the portal rules of the userspace mode (Kubernetes 1.25 and "
            "earlier). Settings are layered as kube-proxy reads them: defaults, the "
            "KubeProxyConfiguration (--config, else one given with -f), --proxier-settings, then "
            "the flags.",
            _RENDER_IPTABLES_EXAMPLES,
            _render_iptables_arguments,
            _run_render_iptables,
        ),
        (
            "nftables",
            "kube-proxy's nftables mode: the kube-proxy table as nft add lines",
            "Renders the table kube-proxy's nftables mode programs on a node, byte for byte as "
            "kube-proxy's own tests dump it. Settings are layered as for iptables: defaults, the "
            "KubeProxyConfiguration (--config, else one given with -f), --proxier-settings, "
            "then the flags.",
            _RENDER_NFTABLES_EXAMPLES,
            _render_nftables_arguments,
            _run_render_nftables,
        ),
        (
            "ipvs",
            "kube-proxy's ipvs mode: ipvsadm, ipset, iptables and kube-ipvs0 text",
            "Renders what kube-proxy's ipvs mode programs on a node as the text of the tools an "
            "operator runs there (counters are 0). The scheduler comes from --ipvs-scheduler, else "
            "the KubeProxyConfiguration, else rr.",
            _RENDER_IPVS_EXAMPLES,
            _render_ipvs_arguments,
            _run_render_ipvs,
        ),
    ):
        sp = sub.add_parser(
            name,
            help=help_,
            description=description,
            epilog=f"examples:\n{examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add(sp)
        sp.set_defaults(render_run=run)


def _run_render(args: argparse.Namespace) -> int:
    run: Callable[[argparse.Namespace], int] = args.render_run
    return run(args)


RENDER = Command(
    name="render",
    help="render what kube-proxy writes on a node (iptables, nftables or ipvs mode)",
    description="Renders what kube-proxy programs on one node: 'render iptables' (iptables "
    "mode), 'render nftables' (nftables mode) or 'render ipvs' (ipvs mode). See "
    "'svccore render MODE --help'.",
    examples=f"{_RENDER_IPTABLES_EXAMPLES}\n{_RENDER_NFTABLES_EXAMPLES}\n{_RENDER_IPVS_EXAMPLES}",
    add_arguments=_render_arguments,
    run=_run_render,
)


# --- svccore trace -------------------------------------------------------------------------


def _trace_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_node_argument(p, required=True)
    p.add_argument("--src", metavar="IP", help="the client address (required without --batch)")
    p.add_argument(
        "--dst",
        metavar="IP:PORT",
        help="the destination ([IP]:PORT for IPv6; required without --batch)",
    )
    p.add_argument(
        "--batch",
        metavar="FILE",
        help="trace many packets on the node, rendering its rules once: one packet a line, "
        "'SRC DST [PROTO] [FROM]' separated by blanks (DST is IP:PORT, [IP]:PORT for IPv6; "
        "PROTO and FROM default to --proto and --from); blank lines and lines starting with # "
        "are skipped; '-' reads stdin. Prints one result per packet: JSON lines with -o json. "
        "A bad line stops the run before any trace, naming its line (exit 2)",
    )
    p.add_argument(
        "--proto", choices=svccore.PROTOCOLS, default="tcp", help="protocol (default: tcp)"
    )
    p.add_argument(
        "--from",
        dest="source",
        choices=svccore.TRAFFIC_SOURCES,
        default="pod",
        help="pod: a pod on the node (default); node: the node itself (host network); "
        "other-node: another node or its pods; external: outside the cluster",
    )
    p.add_argument(
        "--mode",
        choices=svccore.TRACE_MODES,
        default="iptables",
        help="kube-proxy's mode (default: iptables)",
    )
    p.add_argument(
        "--recent",
        metavar="NAME",
        action="append",
        help="ClientIP affinity state the client has a live entry in: a recent list "
        "(iptables, KUBE-SEP-...) or an affinity set (nftables, affinity-...); repeatable",
    )
    add_proxier_arguments(
        p,
        svccore.TRACE_MODES,
        "proxier flags (override --config and --proxier-settings; a flag of another mode is "
        "refused)",
    )
    add_output_argument(p)
    p.set_defaults(trace_parser=p)


def _batch_packets(path: str, proto: str, source: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The packets of a --batch file and the line number of each."""
    packets: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        text = _read_text(path)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if not 2 <= len(fields) <= 4:
            raise UsageError(
                f"{path}:{n}: expected 'SRC DST [PROTO] [FROM]', got {len(fields)} field(s)"
            )
        packet: dict[str, Any] = {"src": fields[0], "dst": fields[1]}
        packet["proto"] = fields[2] if len(fields) > 2 else proto
        packet["source"] = fields[3] if len(fields) > 3 else source
        if packet["proto"].lower() not in svccore.PROTOCOLS:
            raise UsageError(
                f"{path}:{n}: protocol {packet['proto']!r}: expected "
                + ", ".join(svccore.PROTOCOLS)
            )
        if packet["source"] not in svccore.TRAFFIC_SOURCES:
            raise UsageError(
                f"{path}:{n}: source {packet['source']!r}: expected "
                + ", ".join(svccore.TRAFFIC_SOURCES)
            )
        packets.append(packet)
        lines.append(n)
    return packets, lines


def _run_trace_batch(args: argparse.Namespace) -> int:
    if args.src is not None or args.dst is not None:
        raise UsageError("--batch takes the packets from its file: leave out --src and --dst")
    if args.batch == "-" and "-" in args.filename:
        raise UsageError("--batch - and -f - cannot both read standard input")
    packets, lines = _batch_packets(args.batch, args.proto, args.source)
    cluster = load_cluster(args)
    settings = iptables_settings(args)
    if args.recent:
        for packet in packets:
            packet["recent"] = args.recent
    try:
        results = cluster.trace_many(packets, node=args.node, mode=args.mode, **settings)
    except svccore.InvalidArgumentError as e:
        # "packets[I]: why" names a packet: say which line of the file it is.
        found = re.match(r"packets\[(\d+)\]: (.*)", str(e), re.S)
        if not found:
            raise
        raise UsageError(f"{args.batch}:{lines[int(found[1])]}: {found[2]}") from None
    families = sorted({"IPv6" if p["dst"].startswith("[") else "IPv4" for p in packets})
    for family in families or ["IPv4"]:
        _warn_proxy(cluster, family)
        note_node(cluster, args.mode, args.node, family=family, **settings)
    for i, result in enumerate(results):
        if args.output == "json":
            sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        else:
            sys.stdout.write(("\n" if i else "") + str(result))
    return EXIT_OK


def _run_trace(args: argparse.Namespace) -> int:
    if args.batch is not None:
        return _run_trace_batch(args)
    if args.src is None or args.dst is None:
        # argparse's own message and usage line, as for any missing option.
        args.trace_parser.error("the following arguments are required: --src, --dst (or --batch)")
    cluster = load_cluster(args)
    settings = iptables_settings(args)
    result = cluster.trace(
        node=args.node,
        src=args.src,
        dst=args.dst,
        proto=args.proto,
        source=args.source,
        mode=args.mode,
        recent=args.recent,
        **settings,
    )
    family = "IPv6" if args.dst.startswith("[") else "IPv4"
    _warn_proxy(cluster, family)
    note_node(cluster, args.mode, args.node, family=family, **settings)
    if args.output == "json":
        _print_json(result.to_dict())
    else:
        sys.stdout.write(str(result))
    return EXIT_OK


TRACE = Command(
    name="trace",
    help="follow a packet through a node's kube-proxy rules",
    description="Traces the first packet of a connection through the rules kube-proxy writes "
    "on a node: every path with its exact probability (iptables mode: the kernel's "
    "quantised -m statistic thresholds), the endpoint it is DNATed to, whether it is dropped "
    "or rejected and why, whether it is masqueraded, and the rules that acted. --mode nftables "
    "walks the kube-proxy table (numgen random: the kernel's exact share of each endpoint); "
    "--mode ipvs shows the virtual server and the real server its scheduler picks.",
    examples="  svccore trace -f cluster.json --node worker-1 --src 10.244.1.5 "
    "--dst 10.96.0.10:80\n"
    "  svccore trace -f cluster.json --node worker-1 --src 203.0.113.9 --dst 192.168.0.10:30080 "
    "--from external -o json\n"
    "  svccore trace -f cluster.json --node worker-1 --src 10.244.1.5 --dst 10.96.0.10:80 "
    "--mode ipvs --ipvs-scheduler mh\n"
    "  svccore trace -f cluster.json --node worker-1 --src 10.244.1.5 --dst 10.96.0.10:80 "
    "--mode nftables\n"
    "  svccore trace -f cluster.json --node worker-1 --batch packets.txt -o json\n"
    "      (packets.txt: '10.244.1.5 10.96.0.10:80' / '203.0.113.9 192.168.0.10:30080 tcp "
    "external')",
    add_arguments=_trace_arguments,
    run=_run_trace,
)


# --- svccore audit -------------------------------------------------------------------------


def _audit_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_node_argument(p, required=True)
    p.add_argument(
        "--actual",
        metavar="FILE",
        required=True,
        help="the node's iptables-save (or ip6tables-save) output, either backend, -c or not, "
        "or one table's 'iptables -S' ('iptables -L' listings are refused); with --mode nftables "
        "its 'nft list table ip kube-proxy' (ip6) or 'nft list ruleset'; '-' reads stdin",
    )
    p.add_argument(
        "--table",
        choices=("filter", "nat"),
        help="the table an 'iptables -S' output lists (default: told by its -P lines and "
        "kube-proxy's chains); with iptables-save output, compare that table alone",
    )
    p.add_argument(
        "--mode",
        choices=("iptables", "nftables", "userspace"),
        default="iptables",
        help="kube-proxy's mode (default: iptables); nftables reads the listing syntax of "
        "nftables 1.0.6; userspace compares the portal rules (a note gives the node's proxy "
        "ports as the settings' userspace.proxyPorts when they differ)",
    )
    p.add_argument(
        "--family",
        choices=("IPv4", "IPv6"),
        help="the proxier's family (default: the settings', else IPv4)",
    )
    add_proxier_arguments(
        p,
        ("iptables", "nftables", "userspace"),
        "proxier flags (override --config and --proxier-settings; a flag of another mode is "
        "refused)",
    )
    add_output_argument(p)


def _run_audit(args: argparse.Namespace) -> int:
    if args.actual == "-" and "-" in args.filename:
        raise UsageError("--actual - and -f - cannot both read standard input")
    cluster = load_cluster(args)
    actual = _read_text(args.actual)
    settings = iptables_settings(args)
    if args.table and args.mode == "nftables":
        raise InputError("--table applies to --mode iptables")
    report = cluster.audit(
        actual,
        node=args.node,
        family=args.family,
        mode=args.mode,
        file=args.actual,
        table=args.table,
        **settings,
    )
    _warn_proxy(cluster, report.family)
    if args.mode == "nftables":
        _source, _cidrs, message = cluster.nftables_service_cidrs(
            proxier_settings=settings["proxier_settings"],
            service_cidrs=settings.get("service_cidrs"),
        )
        _Stderr.say(f"{PROG}: {message}")
    note_node(cluster, args.mode, args.node, family=args.family, **settings)
    # A default that does not hold on the node shows as drift: the report says which it used.
    assumed = cluster.assumed_defaults(mode=args.mode, **settings)
    if args.output == "json":
        _print_json({**report.to_dict(), "assumed_defaults": assumed})
    else:
        text = _with_assumed(str(report), assumed)
        sys.stdout.write(_colourize(text) if _use_colour() else text)
    return EXIT_DRIFT if report.has_drift else EXIT_OK


def _with_assumed(text: str, assumed: Sequence[dict[str, Any]]) -> str:
    """An audit's report with the defaults it assumed after its first paragraph (the summary
    and its notes).

    >>> a = [{"flag": "--x", "value": "1", "meaning": "y"}]
    >>> print(_with_assumed("audit x\\nno drift\\n", a))
    audit x
    defaults assumed (no flag, configuration or settings file gave them; a wrong one is drift):
      --x=1: y
    no drift
    <BLANKLINE>
    """
    if not assumed:
        return text
    head = "defaults assumed (no flag, configuration or settings file gave them; a wrong one "
    lines = [head + "is drift):"]
    lines += [f"  {a['flag']}={a['value']}: {a['meaning']}" for a in assumed]
    block = "\n".join(lines) + "\n"
    first, sep, rest = text.partition("\n\n")
    if sep:
        return f"{first}\n{block}\n{rest}"
    *summary, last = text.splitlines(keepends=True)
    return "".join(summary) + block + last


AUDIT = Command(
    name="audit",
    help="compare a node's iptables-save or nft list with what kube-proxy should have written",
    description="Audits a node's iptables-save output against the rules kube-proxy's iptables "
    "mode should have written there: per service port, the rules missing, extra or changed, "
    "chains reordered, missing or stale. Counters, quoting and other iptables-save details do "
    "not count. Either backend's iptables-save (-c or not) is read, and one table's "
    "'iptables -S' (that table alone is compared); 'iptables -L' listings lose rule details "
    "and are refused. Notes before the findings say what was read and the signs of an older "
    "kube-proxy (trailing-colon comments, 5-decimal probabilities, physdev external-IP rules). "
    "--mode nftables audits the node's 'nft list table ip kube-proxy' (or 'nft list "
    "ruleset', other tables ignored) against kube-proxy's nftables table: chains and their "
    "rules in order, sets and maps and their elements, base-chain hooks and priorities; nft's "
    "re-serialization, element order, counter values and learned affinity entries do not "
    "count. The listing syntax understood is that of nftables 1.0.6 (the version the list form "
    "was checked with). Exits 0 when there is no drift, 1 when there is (or the input is "
    "invalid).",
    examples="  ssh worker-1 iptables-save > worker-1.save\n"
    "  svccore audit -f cluster.json --node worker-1 --actual worker-1.save\n"
    "  svccore audit -f cluster.json --node worker-1 --actual worker-1.save "
    "--config kube-proxy.yaml -o json\n"
    "  ssh worker-1 iptables -t nat -S > worker-1.nat\n"
    "  svccore audit -f cluster.json --node worker-1 --actual worker-1.nat --table nat\n"
    "  ssh worker-1 nft list table ip kube-proxy > worker-1.nft\n"
    "  svccore audit --mode nftables -f cluster.json --node worker-1 --actual worker-1.nft "
    "--service-cidrs 10.96.0.0/16",
    add_arguments=_audit_arguments,
    run=_run_audit,
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
    RENDER,
    TRACE,
    AUDIT,
)


# --- main ----------------------------------------------------------------------------------


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The parser of the whole command, one subparser per registered command; ``prog`` is the
    name usage lines show (``kubectl svccore`` for the plugin).

    >>> build_parser().prog
    'svccore'
    """
    examples = "\n".join(c.examples for c in COMMANDS)
    parser = argparse.ArgumentParser(
        prog=prog,
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


def kubectl_plugin() -> NoReturn:
    """The ``kubectl-svccore`` entry point: ``kubectl svccore ...`` runs the command, with
    ``kubectl svccore`` in its usage lines. Reads what ``kubectl get -o json`` prints, like
    ``svccore`` itself; it does not talk to the API server.

    >>> build_parser("kubectl svccore").format_usage()
    'usage: kubectl svccore [-h] [--version] COMMAND ...\\n'
    """
    _Exit.fast = True
    leave(main(prog="kubectl svccore"))


def command() -> NoReturn:
    """The ``svccore`` entry point (and ``python -m svccore``): :func:`main`, then :func:`leave`."""
    _Exit.fast = True
    leave(main())


def leave(code: int) -> NoReturn:
    """Ends the process with ``code`` once standard output and error are flushed, without the
    interpreter's teardown, as mypy's ``--fast-exit`` does: freeing a loaded cluster of 10,000
    Services object by object takes longer than the rest of a small command's exit (the
    clusters the run loaded are still held, see ``_Exit``). Nothing the
    command opens is left unwritten (it writes only to standard output and error). A reader that
    went away before the last flush (``svccore ... | head``) ends it quietly with 1, as in
    :func:`main`.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = EXIT_INVALID
    except OSError as e:
        print(f"{PROG}: error: cannot write the output: {e.strerror or e}", file=sys.stderr)
        code = EXIT_INVALID
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Runs the command line and returns the exit code (usage errors exit with 2: argparse's,
    ``UsageError``, the core's ``InvalidArgumentError`` and a ``ConfigError`` of a flag).

    >>> main(["validate", "-f", "/nonexistent.yaml"])
    1
    """
    args = build_parser(prog).parse_args(argv)
    _Stderr.reset(bool(getattr(args, "quiet", False)))
    try:
        return int(args.run(args))
    except svccore.InvalidArgumentError as e:
        # An option's value the core refuses is the command line's fault, like argparse's.
        _report(e)
        return EXIT_USAGE
    except svccore.ConfigError as e:
        # A setting without a file came from a flag (every file the command reads is named).
        _report(e)
        return EXIT_USAGE if e.file is None else EXIT_INVALID
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
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        print(f"{PROG}: error: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_INVALID
