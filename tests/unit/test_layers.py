"""The import rule: pure core <- I/O layer <- Dagster definitions <- tools, never the other way.

Parsed with `ast`, so a violating import fails here even when nothing executes it. A layer may
import its own modules and any layer below it; the table says what each layer must never import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from orchestration.io.settings import PROJECT_ROOT

# Top-level import names each layer may not use (third-party packages or higher layers).
FORBIDDEN = {
    "ml_assets": {"dagster", "dagster_dbt", "duckdb", "sqlalchemy", "orchestration", "tools"},
    "orchestration/io": {"dagster", "dagster_dbt", "orchestration.defs", "tools"},
    "orchestration/defs": {"tools"},
    "orchestration/definitions.py": {"tools"},
}
# Only the I/O layer's settings module reads the environment (tools may: they are entry points).
ENVIRONMENT_READERS = {"orchestration/io/settings.py"}


def _modules(layer: str) -> list[Path]:
    path = PROJECT_ROOT / layer
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
            # `from orchestration import defs` names a module too.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _forbidden(name: str, banned: set[str]) -> str | None:
    return next((b for b in banned if name == b or name.startswith(f"{b}.")), None)


def _violations(module: Path, tree: ast.AST, banned: set[str]) -> list[str]:
    """One line per offending import statement: `path:line imports name`."""
    rel = module.relative_to(PROJECT_ROOT) if module.is_absolute() else module
    seen: dict[int, str] = {}
    for line, name in _imports(tree):
        if line not in seen and _forbidden(name, banned):
            seen[line] = f"{rel}:{line} imports {name}"
    return [seen[line] for line in sorted(seen)]


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ / os.getenv / os.putenv."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in {"environ", "getenv", "putenv", "unsetenv"}
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    violations = []
    for module in _modules(layer):
        tree = ast.parse(module.read_text(), filename=str(module))
        violations += _violations(module, tree, FORBIDDEN[layer])
    assert not violations, f"imports against the layer rule ({layer} must not use " + (
        f"{sorted(FORBIDDEN[layer])}):\n" + "\n".join(violations)
    )


def test_only_settings_reads_the_environment() -> None:
    violations = []
    for layer in ("ml_assets", "orchestration"):
        for module in _modules(layer):
            rel = str(module.relative_to(PROJECT_ROOT))
            if rel in ENVIRONMENT_READERS:
                continue
            tree = ast.parse(module.read_text(), filename=rel)
            violations += [f"{rel}:{line}" for line in _environment_reads(tree)]
    assert not violations, "environment read outside orchestration/io/settings.py:\n" + "\n".join(
        violations
    )


def test_the_core_opens_no_file() -> None:
    """ml_assets takes data, not paths: no open(), read_text/read_bytes or write_* calls."""
    io_calls = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "savefig"}
    violations = []
    for module in _modules("ml_assets"):
        tree = ast.parse(module.read_text(), filename=str(module))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            # savefig into a BytesIO buffer is rendering, not file I/O.
            if name == "savefig":
                continue
            if name in io_calls:
                violations.append(f"{module.relative_to(PROJECT_ROOT)}:{node.lineno} {name}()")
    assert not violations, "file I/O in the pure core:\n" + "\n".join(violations)


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself works: a core-style module importing dagster is reported."""
    tree = ast.parse("import numpy\nfrom dagster import asset\nfrom orchestration import defs\n")
    module = Path("orchestration/io/example.py")
    assert _violations(module, tree, FORBIDDEN["orchestration/io"]) == [
        "orchestration/io/example.py:2 imports dagster",
        "orchestration/io/example.py:3 imports orchestration.defs",
    ]
    assert _violations(module, ast.parse("import numpy, pandas\n"), FORBIDDEN["ml_assets"]) == []
    assert _environment_reads(ast.parse("import os\nx = os.environ.get('A')\n")) == [2]
