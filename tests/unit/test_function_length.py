"""The ratchet of issue 23: no function of the operator over 60 lines unless its docstring says why
(it names the 60 lines). A long function usually mixes observing, deciding and acting."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "twilio_operator"
LIMIT = 60


def test_no_function_is_longer_than_the_limit_without_saying_why() -> None:
    long: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            reason = ast.get_docstring(node) or ""
            if length > LIMIT and f"{LIMIT} lines" not in reason.replace("\n", " "):
                long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []
