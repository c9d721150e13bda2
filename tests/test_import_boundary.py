"""The engine never imports the web half, Django, Celery or dnspython (STYLE.md).

dnspython is allowed in exactly one adapter module, analysis/dns.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "analysis"
FORBIDDEN = {"django", "celery", "dkim2web", "dns"}
ALLOWED = {"dns.py": {"dns"}}


def _top_level_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def test_the_engine_imports_nothing_from_the_web_side() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert files, f"no engine sources under {ENGINE}"
    offences = []
    for path in files:
        allowed = ALLOWED.get(str(path.relative_to(ENGINE)), set())
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for lineno, module in _top_level_imports(tree):
            if module in FORBIDDEN - allowed:
                offences.append(f"{path.relative_to(ENGINE.parent)}:{lineno} imports {module}")
    assert not offences, "\n".join(offences)


def test_the_checker_sees_every_import_form() -> None:
    source = "import dns.resolver\nfrom django.db import models\ndef f():\n    import celery\n"
    assert [m for _, m in _top_level_imports(ast.parse(source))] == ["dns", "django", "celery"]
    assert _top_level_imports(ast.parse("from . import dns\nfrom .dns import x\n")) == []
