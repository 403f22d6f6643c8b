"""The house's written rules that a test can check: every public name of storage/ and bot/ has a docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def undocumented(source: str, where: str) -> list[str]:
    """Public classes, functions and methods of ``source`` without a docstring, as ``where:line Class.name``.

    Public means the name does not start with ``_``; methods of a private class are not walked, nor functions
    nested in functions (neither is reachable from outside).
    """
    missing: list[str] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if child.name.startswith("_"):
                continue
            if not ast.get_docstring(child):
                missing.append(f"{where}:{child.lineno} {prefix}{child.name}")
            if isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")

    walk(ast.parse(source), "")
    return missing


def undocumented_in(package: str) -> tuple[int, list[str]]:
    """How many modules of ``package`` (migrations left out) were read, and their undocumented public names."""
    files = [p for p in sorted((ROOT / package).rglob("*.py")) if "migrations" not in p.parts]
    missing: list[str] = []
    for path in files:
        missing += undocumented(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return len(files), missing


def test_the_check_finds_a_public_name_without_docstring() -> None:
    source = '''
class Documented:
    """Says what it holds."""

    def method(self) -> None:
        pass

    def _private(self) -> None:
        pass


async def fetch() -> None:
    """Says what it returns."""

    def nested() -> None:
        pass


class _Hidden:
    def method(self) -> None:
        pass
'''
    assert undocumented(source, "m.py") == ["m.py:5 Documented.method"]


def test_every_public_name_of_the_storage_layer_has_a_docstring() -> None:
    read, missing = undocumented_in("storage")
    assert read >= 10, "storage/ modules not found"
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


@pytest.mark.xfail(reason="the application layer (bot/) is being documented next (issue 11 §2)", strict=False)
def test_every_public_name_of_the_application_layer_has_a_docstring() -> None:
    read, missing = undocumented_in("bot")
    assert read >= 10, "bot/ modules not found"
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)
