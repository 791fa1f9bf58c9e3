"""Documentation that must stay true: docstring examples of every public name, the README's
Python blocks, and the bundled examples."""

from __future__ import annotations

import doctest
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import svccore
import svccore.cli
from conftest import REPO


def _documented() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name in svccore.__all__:
        obj = getattr(svccore, name)
        if not inspect.isclass(obj):
            continue
        out.append((name, obj))
        for attr, raw in vars(obj).items():
            # Methods and properties; plain class attributes (SvcCoreError.errors) are data.
            if not attr.startswith("_") and (callable(raw) or hasattr(raw, "__get__")):
                out.append((f"{name}.{attr}", getattr(obj, attr)))
    return out


def _run_examples(name: str, doc: str, globs: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(doc, globs, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


@pytest.mark.parametrize(("name", "obj"), _documented(), ids=[n for n, _ in _documented()])
def test_public_name_is_documented_and_its_examples_pass(name: str, obj: Any) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    # Classes and methods carry an example each; attributes (properties) a sentence, their
    # examples are in the class docstring.
    if inspect.isclass(obj) or inspect.isroutine(obj):
        assert ">>>" in doc, f"{name} has no example"
    _run_examples(name, doc, {})


@pytest.mark.parametrize("module", [svccore, svccore.cli], ids=lambda m: m.__name__)
def test_python_module_doctests_pass(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


READMES = {
    "README.md": REPO / "README.md",
    "bindings-py/README.md": REPO / "bindings-py" / "README.md",
}


def _readme_blocks(name: str) -> list[str]:
    text = READMES[name].read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.parametrize("name", READMES)
def test_readme_has_python_examples(name: str) -> None:
    assert _readme_blocks(name)


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, i) for name in READMES for i in range(len(_readme_blocks(name)))],
)
def test_readme_python_example_runs(
    name: str, index: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _readme_blocks(name)[index]
    exec(compile(code, f"{name} python block {index + 1}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out, "a README example should show its result"


EXAMPLES = sorted((REPO / "examples").glob("*.yaml")) if (REPO / "examples").is_dir() else []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_bundled_example_loads_and_reports(path: Path) -> None:
    cluster = svccore.Cluster.from_files(path)
    if "invalid" not in path.name:
        assert cluster.validate() == [], "examples/*.yaml are valid unless named *invalid*"
        assert str(cluster.endpoints())
