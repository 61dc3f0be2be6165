"""Imports flow one way: cli -> pipeline -> serving -> schema -> models (each may skip layers),
never back up, so each layer can be read, tested and reused without the ones above it. And the
command line is built without TensorFlow, which only the commands that need it import."""
import ast
import os
import subprocess
import sys
from typing import Dict, Set

from pipeline.configs import PROJECT_ROOT

LAYERS = ("cli", "pipeline", "serving", "schema", "models")  # top first


def imported_packages() -> Dict[str, Set[str]]:
    """Package -> the project packages its modules import (inside functions too)."""
    found: Dict[str, Set[str]] = {package: set() for package in LAYERS}
    for package in LAYERS:
        for root, _, names in os.walk(os.path.join(PROJECT_ROOT, package)):
            for name in (n for n in names if n.endswith(".py")):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        modules = [node.module]
                    elif isinstance(node, ast.Import):
                        modules = [alias.name for alias in node.names]
                    else:
                        continue
                    found[package] |= {m.split(".")[0] for m in modules} & set(LAYERS) - {package}
    return found


def test_no_package_imports_a_package_above_it():
    upward = {package: sorted(p for p in imports if LAYERS.index(p) < LAYERS.index(package))
              for package, imports in imported_packages().items()}
    assert {package: above for package, above in upward.items() if above} == {}


def test_the_scan_sees_the_imports_that_are_there():
    imports = imported_packages()
    assert "pipeline" in imports["cli"] and "serving" in imports["pipeline"]
    assert "models" in imports["schema"] and imports["models"] == set()


def test_the_command_line_is_built_without_importing_tensorflow():
    """~2 s of imports every `tfxpipe` command (`--help`, `runs`, `predict` ...) would pay."""
    script = ("import contextlib, io, sys, cli.main\n"
              "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
              "    cli.main.main(['--help'])  # builds every command's parser\n"
              "print(sorted(m for m in ('tensorflow', 'tfx', 'tensorflow_data_validation', "
              "'apache_beam') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, check=True)
    assert loaded.stdout.strip() == "[]"
