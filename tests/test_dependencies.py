"""Every module the shipped packages import is the standard library's, our own, or a declared dependency's: a
package that arrives only through another (rich through Textual, protobuf through opentelemetry-proto) can be
dropped by that package's next release and break a fresh install."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("parsers", "orchtui", "tui")
OPTIONAL = {"grpc": "grpc"}  # imported only behind the `grpc` extra, with a message saying how to install it


def imported_modules() -> dict[str, set[str]]:
    """Top-level module -> the files of ours that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def declared() -> tuple[set[str], dict[str, set[str]]]:
    """Normalized names of the runtime dependencies, and of each extra's."""
    runtime: set[str] = set()
    extras: dict[str, set[str]] = {}
    for requirement in requires("orchtui") or []:
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", requirement)
        if extra:
            extras.setdefault(extra.group(1), set()).add(name)
        else:
            runtime.add(name)
    return runtime, extras


def test_every_third_party_import_is_a_declared_dependency():
    runtime, extras = declared()
    distributions = packages_distributions()
    undeclared = {}
    for module, files in imported_modules().items():
        if module in OURS or module in sys.stdlib_module_names:
            continue
        names = {name.lower().replace("_", "-") for name in distributions.get(module, [])}
        allowed = runtime | extras.get(OPTIONAL.get(module, ""), set())
        if not names & allowed:
            undeclared[module] = (sorted(names), sorted(files)[:3])
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_scan_sees_the_imports_it_checks():
    modules = imported_modules()
    assert {"orjson", "rich", "textual", "google", "httpx"} <= set(modules)
    assert "parsers/otlp_proto.py" in modules["google"]
