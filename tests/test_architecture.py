"""The layers of the code, read from its import graph: no module imports one of a layer above its own,
and no import circle. Every import counts, inside functions too (a lazy import is still a
dependency); only ``if TYPE_CHECKING:`` blocks (types, never run) and a package's imports of its own
parts (``facegan.convert`` naming its converters) are left out. A new module is placed in LAYERS
(the README's *Layout* says the same in words)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

# Lowest first. A module may import its own layer's and lower layers' modules.
LAYERS = [
    ("base", ["facegan", "facegan.checks", "facegan.files", "facegan.distributed", "facegan.latent",
              "facegan.labels", "facegan.images", "facegan.faces", "facegan.data", "facegan.losses"]),
    ("models", ["facegan.models", "facegan.models.*"]),
    ("convert", ["facegan.convert", "facegan.convert.*"]),
    ("checkpoints, metrics, training", ["facegan.hub", "facegan.attributes", "facegan.metrics", "facegan.quality",
                                        "facegan.onnx_export", "facegan.train", "facegan.jobs"]),
    ("uses", ["facegan.directions", "facegan.project", "facegan.studio", "facegan.explorer", "facegan.classgrid",
              "facegan.editor", "facegan.translator", "facegan.pipelines"]),
    ("interfaces", ["facegan.cli", "facegan.cli.*", "facegan.__main__", "apps", "apps.*"]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    files = [*ROOT.glob("facegan/**/*.py"), *ROOT.glob("apps/*.py")]
    return {module_name(p): p for p in files}


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (``from facegan import hub`` -> facegan.hub)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    own_parts = {m for m in found if m.startswith(name + ".")}  # a package importing its own modules
    return {m for m in found if m in known and m != name} - own_parts


def layer_of(name: str) -> int:
    for i, (_, members) in enumerate(LAYERS):
        for m in members:
            if name == m or (m.endswith(".*") and name.startswith(m[:-1])):
                return i
    raise KeyError(name)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def test_every_module_has_a_layer(graph):
    unplaced = [m for m in graph if not _placed(m)]
    assert not unplaced, f"place these modules in tests/test_architecture.py LAYERS: {unplaced}"


def _placed(name: str) -> bool:
    try:
        layer_of(name)
    except KeyError:
        return False
    return True


def test_no_module_imports_from_a_layer_above(graph):
    upward = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
              for a, deps in sorted(graph.items()) for b in sorted(deps)
              if _placed(a) and _placed(b) and layer_of(b) > layer_of(a)]
    assert not upward, "\n".join(upward)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_circles(graph):
    assert cycles(graph) == []


def test_the_checks_see_a_circle_and_an_upward_import(tmp_path):
    """The reader and the rules on a made-up pair of modules: each check can fail."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from facegan import hub\n")
    b.write_text("def f():\n    from facegan.models import stylegan\n"
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from facegan import studio\n")
    known = {"facegan.hub", "facegan.models.stylegan", "facegan.studio", "facegan"}
    assert imports_of("facegan.models.stylegan", a, known) == {"facegan.hub", "facegan"}
    assert imports_of("facegan.hub", b, known) == {"facegan.models.stylegan"}  # lazy counts, TYPE_CHECKING not
    assert layer_of("facegan.hub") > layer_of("facegan.models.stylegan")
    assert cycles({"x": {"y"}, "y": {"x"}, "z": {"x"}}) == [["x", "y"]]
