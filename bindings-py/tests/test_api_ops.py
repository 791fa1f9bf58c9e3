"""The Python API as the README presents it: from_files, real defaults in signatures."""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Iterator

import pytest
import svccore
from conftest import REPO
from svccore import cli

STUDY = REPO / "examples" / "nginx-study.yaml"
AFFINITY = REPO / "examples" / "nginx-affinity.yaml"


def test_from_files_takes_a_path_a_list_or_several() -> None:
    one = svccore.Cluster.from_files(STUDY)
    assert one.nodes == ["master", "node1", "node2"]
    both = svccore.Cluster.from_files([str(STUDY), AFFINITY])
    assert (
        both.summary().to_dict() == svccore.Cluster.from_files(STUDY, AFFINITY).summary().to_dict()
    )
    assert len(both.services) > len(one.services)
    assert svccore.Cluster.from_files((STUDY,)).nodes == one.nodes


def test_from_files_refuses_other_types_with_a_message() -> None:
    with pytest.raises(TypeError, match="from_files takes paths or lists of paths, not int"):
        svccore.Cluster.from_files(3)  # type: ignore[arg-type]
    with pytest.raises(OSError) as e:
        svccore.Cluster.from_files([STUDY, "/nonexistent.yaml"])
    assert e.value.filename == "/nonexistent.yaml"


def _defaults(f: object) -> dict[str, object]:
    return {
        n: p.default
        for n, p in inspect.signature(f).parameters.items()  # type: ignore[arg-type]
        if p.default is not inspect.Parameter.empty
    }


@pytest.mark.parametrize(
    "f",
    [
        svccore.Cluster.simulate,
        svccore.Balancer,
        svccore.Cluster.trace,
        svccore.Cluster.render_iptables,
        svccore.Cluster.audit,
        svccore.Cluster.from_files,
    ],
)
def test_signatures_show_real_defaults(f: object) -> None:
    defaults = _defaults(f)
    assert Ellipsis not in defaults.values(), inspect.signature(f)  # type: ignore[arg-type]


def test_simulate_flags_default_is_none_and_means_no_flags() -> None:
    assert _defaults(svccore.Cluster.simulate)["flags"] is None
    c = svccore.Cluster.from_files(STUDY)
    a = c.simulate("study/service-clusterip", scheduler="sh", connections=500)
    b = c.simulate("study/service-clusterip", scheduler="sh", connections=500, flags=[])
    assert a.picks == b.picks


def _subcommands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices: dict[str, argparse.ArgumentParser] = action.choices
            for name, sub in choices.items():
                full = f"{prefix} {name}".strip()
                nested = list(_subcommands(sub, full))
                yield from nested or [(full, sub)]


def _table_options() -> set[str]:
    text = (REPO / "bindings-py" / "README.md").read_text()
    section = text.split("### Command options and keyword arguments", 1)[1]
    rows = [ln for ln in section.splitlines() if ln.startswith("| `")]
    assert rows
    return {
        o for row in rows for o in re.findall(r"(?<![\w-])--?[a-z][a-z-]*", row.split(" | ")[0])
    }


def test_every_option_is_its_keyword_or_in_the_table() -> None:
    table = _table_options()
    seen: set[str] = set()
    for command, parser in _subcommands(cli.build_parser()):
        method = getattr(svccore.Cluster, command.replace(" ", "_"))
        params = inspect.signature(method).parameters
        takes_flags = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for action in parser._actions:
            for option in action.option_strings:
                seen.add(option)
                name = option.lstrip("-").replace("-", "_")
                if name in params or (takes_flags and name in svccore.PROXIER_FLAGS):
                    continue
                assert option in table, f"{command} {option}: neither {name}= nor in the table"
    # No row for an option that does not exist.
    assert table <= seen | {"--version"}, table - seen
