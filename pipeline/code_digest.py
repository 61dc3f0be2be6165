"""Content hash of the code behind a dotted function path, for TFX's cache keys.

TFX's cache key holds a user function's dotted path (`models.model.run_fn`), not the code behind it,
so an edit to the model would be served from cache. Components that run project code carry this
digest in their configuration (Transform's and Trainer's custom_config, the skill metric's config):
an edit re-runs exactly what it touches.
"""
import ast
import hashlib
import importlib.util

PROJECT_PACKAGES = ("models", "pipeline", "schema", "serving")


def code_digest(function_path: str) -> str:
    """Hash of the module behind a dotted function path and of every project module it imports,
    transitively."""
    digest = hashlib.sha256()
    seen, pending = set(), [function_path.rsplit(".", 1)[0]]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # `from package.module import Name`: Name is no module
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, "rb") as f:
            source = f.read()
        digest.update(name.encode() + b"\0" + source)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            pending += [m for m in found if m.split(".")[0] in PROJECT_PACKAGES]
    return digest.hexdigest()[:16]

