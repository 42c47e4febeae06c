"""No state outside the state: the handler modules keep nothing mutable at module level.

What the process remembers between two handler calls belongs in OperatorState (handlers/state.py),
where `forget` drops it when its object is gone. A module global is never dropped: a dict of
"what was published last" outlived its provider, and a provider made again under the same name never
got its agent-table ConfigMap back (tests/component/test_provider_recreated.py).

Every name a handler module assigns at its top level must be immutable (numbers, strings, frozen
values, functions, classes, type aliases); no function may rebind a module global (`global`).
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import logging
import pkgutil
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import twilio_operator.handlers

HANDLER_MODULES = sorted(
    f"{twilio_operator.handlers.__name__}.{info.name}"
    for info in pkgutil.iter_modules(twilio_operator.handlers.__path__)
)
IMMUTABLE_SCALARS = (int, float, complex, str, bytes, bool, type(None), range, re.Pattern, enum.Enum)


def immutable(value: Any) -> bool:
    if isinstance(value, IMMUTABLE_SCALARS):
        return True
    if isinstance(value, (tuple, frozenset)):  # NamedTuples too
        return all(immutable(item) for item in value)
    if isinstance(value, types.MappingProxyType):
        return all(immutable(k) and immutable(v) for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        frozen = params is not None and params.frozen
        return frozen and all(immutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    # Code and types: functions (decorated handlers included), classes, modules, type aliases.
    if inspect.isroutine(value) or isinstance(value, (type, types.ModuleType)):
        return True
    if typing.get_origin(value) is not None or isinstance(value, (typing.TypeVar, typing.ParamSpec)):
        return True
    # A logger is configuration of the logging system, which is process-wide by design.
    return isinstance(value, logging.Logger)


def top_level_names(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    yield name.id, node.lineno


def source_of(module: types.ModuleType) -> tuple[str, ast.Module]:
    path = Path(str(module.__file__))
    return str(path), ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("module_name", HANDLER_MODULES)
def test_a_handler_module_keeps_no_mutable_global(module_name: str) -> None:
    module = importlib.import_module(module_name)
    path, tree = source_of(module)
    mutable = [
        f"{path}:{line}: {name} = {type(getattr(module, name)).__name__}"
        for name, line in top_level_names(tree)
        if hasattr(module, name) and not immutable(getattr(module, name))
    ]
    assert not mutable, "module-level state belongs in OperatorState (handlers/state.py):\n" + "\n".join(
        mutable
    )


@pytest.mark.parametrize("module_name", HANDLER_MODULES)
def test_no_handler_rebinds_a_module_global(module_name: str) -> None:
    path, tree = source_of(importlib.import_module(module_name))
    rebinding = [
        f"{path}:{node.lineno}: global {', '.join(node.names)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    assert not rebinding, "\n".join(rebinding)


def test_the_check_sees_the_globals_that_were_there() -> None:
    """What the check above must catch: the module globals handlers/ kept before OperatorState held
    them (a digest cache, locks by name, last-seen annotations, the liveness progress)."""
    from twilio_operator.handlers.state import Progress
    from twilio_operator.provider.agent_table import Published

    for value in (Published(), {}, {("ns", "name"): None}, Progress(), [], set(), {"labels": {}}):
        assert not immutable(value), value
    for value in (60.0, "id", ("a", 1), frozenset({"x"}), types.MappingProxyType({"shard": "a"})):
        assert immutable(value), value
