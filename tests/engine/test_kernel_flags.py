"""numba compiles a kernel first reached from a ``fastmath`` kernel with fastmath and caches it
so: a kernel also called on its own (from Python, or from an exact kernel) would then give bits
that depend on which caller ran first in a fresh cache. Every lesson's kernel modules are
checked, together (a kernel of one may call another's)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import dlcourse

PACKAGE = Path(dlcourse.__file__).parent
MODULES = sorted(path for path in PACKAGE.rglob("*.py") if "njit" in path.read_text())


def _kernels(tree: ast.Module) -> dict[str, str]:
    """Every njit function of a module (nested ones too): name -> fastmath, exact or inline."""
    kinds = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                flags = ast.unparse(decorator)
                if flags.startswith("njit"):
                    kinds[node.name] = ("inline" if "inline='always'" in flags
                                        else "fastmath" if "fastmath=True" in flags else "exact")
    return kinds


def _called_from_python(path: Path) -> set[str]:
    """Names called as ``<module>.name(...)`` in the other modules of the kernel's lesson."""
    return {name for other in path.parent.glob("*.py") if other != path
            for name in re.findall(rf"{path.stem}\.(\w+)\(", other.read_text())}


# a lesson's kernel modules checked as one: a kernel of one may call another's
LESSONS = sorted({path.parent for path in MODULES})


def test_the_check_sees_the_kernels_and_their_callers():
    assert {path.relative_to(PACKAGE).as_posix() for path in MODULES} >= {
        "som/_kernels.py", "som/_small_kernels.py", "embeddings/_kernels.py"}
    som = PACKAGE / "som" / "_kernels.py"
    small = PACKAGE / "som" / "_small_kernels.py"
    kinds = _kernels(ast.parse(som.read_text())) | _kernels(ast.parse(small.read_text()))
    assert kinds["small_batch_epoch"] == "fastmath" and kinds["batch_step"] == "exact"
    assert kinds["small_batch_epochs"] == "exact"
    assert {"batch_step", "winner_distances"} <= _called_from_python(som)
    assert "small_batch_epochs" in _called_from_python(small)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_fastmath_kernel_calls_an_exact_kernel_called_elsewhere(lesson):
    paths = [path for path in MODULES if path.parent == lesson]
    trees = [ast.parse(path.read_text()) for path in paths]
    kinds = {name: kind for tree in trees for name, kind in _kernels(tree).items()}
    assert "fastmath" in kinds.values()  # the check sees the lesson's kernels
    # exact kernels called from Python (any module of the lesson) or from an exact kernel
    elsewhere = {name for path in paths for name in _called_from_python(path)}
    calls: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in kinds:
                calls[node.name] = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call)
                                    and isinstance(c.func, ast.Name) and c.func.id in kinds
                                    and c.func.id != node.name}
    for name, callees in calls.items():
        if kinds[name] == "exact":
            elsewhere |= callees
    for name, callees in calls.items():
        if kinds[name] == "fastmath":
            shared = {c for c in callees if kinds[c] == "exact" and c in elsewhere}
            assert not shared, (name, shared)
