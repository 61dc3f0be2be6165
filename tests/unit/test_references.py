"""Every `module.name` the project's code and tests name in one of the project's own modules exists
there: a function moved or removed is caught here, not by the one end-to-end run that reaches the
caller (a removed formatter once crashed every run at its last step, the runs index)."""
import ast
import os
from typing import Dict, Iterator, List, Set

from pipeline.configs import PROJECT_ROOT

PACKAGES = ("cli", "pipeline", "serving", "schema", "models", "benchmarks", "tests")


def _sources() -> Iterator[str]:
    for package in PACKAGES:
        for root, _, names in os.walk(os.path.join(PROJECT_ROOT, package)):
            yield from (os.path.join(root, n) for n in names if n.endswith(".py"))


def _module_path(dotted: str) -> str:
    return os.path.join(PROJECT_ROOT, *dotted.split(".")) + ".py"


def defined_names(path: str) -> Set[str]:
    """Names a module defines or imports anywhere in it (functions, classes, assignments, imports)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = {"__name__", "__file__", "__doc__"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def missing_references(path: str, defined: Dict[str, Set[str]]) -> List[str]:
    """`alias.attr` in `path` where `alias` is a project module imported as `from package import
    module` and `attr` is not defined in it."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    modules = {alias.asname or alias.name: f"{node.module}.{alias.name}"
               for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
               and node.module.split(".")[0] in PACKAGES for alias in node.names
               if os.path.exists(_module_path(f"{node.module}.{alias.name}"))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            module = modules[node.value.id]
            if module not in defined:
                defined[module] = defined_names(_module_path(module))
            if node.attr not in defined[module]:
                found.append(f"{os.path.relpath(path, PROJECT_ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_every_name_used_from_a_project_module_is_defined_there():
    defined: Dict[str, Set[str]] = {}
    assert [m for path in _sources() for m in missing_references(path, defined)] == []


def test_the_scan_finds_a_name_a_module_does_not_define(tmp_path):
    user = tmp_path / "user.py"
    user.write_text("from pipeline import evaluation, metrics\n"
                    "metrics.shown('auc', 0.5)\nevaluation.text(0.5)\n", encoding="utf-8")
    assert missing_references(str(user), {}) == [f"{os.path.relpath(user, PROJECT_ROOT)}:3: evaluation.text"]
