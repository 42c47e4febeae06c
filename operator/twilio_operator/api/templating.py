"""Bounded rendering of user templates (the SIP Secret's extra keys, the agent table's ConfigMap).

A template is written by whoever may edit a TwilioProvider and is rendered inside the operator,
next to the SIP password, so it is treated as hostile:

- Jinja2's `SandboxedEnvironment` stops attribute access to Python internals (`__class__`, ...);
  `StrictUndefined` turns every unknown name into an error instead of an empty string.
- Only a small language is accepted (checked on the parsed template before it runs): output,
  `if`, `for` over `range(...)`, expressions, a list of filters. No `set`, macros, imports,
  includes, blocks or calls other than `range`: without them no value can grow step by step.
- The work is bounded: all loops of one rendering share an iteration budget, every filter's and
  operator's result is size-checked, the output is streamed and cut at a size limit, and a
  wall-clock deadline is checked at each iteration and each chunk of output.

Errors come back as `TemplateProblem` naming the key and what is wrong, never the rendered text:
the output may hold a password, so it must not reach a log, an Event or a condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT = 16384  # characters of one rendered value
MAX_ITERATIONS = 10000  # loop iterations of one rendering, all loops together
MAX_RANGE = 1000  # items of one range()
DEADLINE_SECONDS = 0.5  # wall-clock time of one rendering
MAX_EXPONENT = 64
MAX_INT_BITS = 4096

ALLOWED_FILTERS = frozenset(
    {
        "default",
        "d",
        "e",
        "escape",
        "first",
        "join",
        "last",
        "length",
        "lower",
        "replace",
        "string",
        "tojson",
        "trim",
        "upper",
        "urlencode",
        "int",
    }
)
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.Concat,
    nodes.If,
    nodes.For,
    nodes.Call,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.CondExpr,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.BinExpr,
    nodes.UnaryExpr,
)


class TemplateLimitExceeded(TemplateError):
    """A rendering went over one of the bounds (output size, iterations, time, operand size)."""


@dataclass(frozen=True)
class TemplateProblem:
    """Why a template could not be rendered; names the key and the error, never any value."""

    key: str
    error: str

    @property
    def message(self) -> str:
        return f"template key {self.key}: {self.error}"


class _Budget:
    def __init__(self) -> None:
        self.iterations = 0
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimitExceeded(f"more than {MAX_ITERATIONS} loop iterations")
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(f"rendering took longer than {DEADLINE_SECONDS}s")


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT:
        raise TemplateLimitExceeded(f"a value grew beyond {MAX_OUTPUT} characters")
    return value


class _BoundedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise TemplateLimitExceeded("string formatting with % is not allowed")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise TemplateLimitExceeded(f"exponent above {MAX_EXPONENT}")
        if isinstance(left, int) and isinstance(right, int) and operator in ("*", "**"):
            bits = left.bit_length() * (abs(right) if operator == "**" else 1) + (
                right.bit_length() if operator == "*" else 0
            )
            if bits > MAX_INT_BITS:
                raise TemplateLimitExceeded(f"a number grew beyond {MAX_INT_BITS} bits")
        if operator == "*":
            sized = next((v for v in (left, right) if isinstance(v, str | list | tuple)), None)
            count = right if sized is left else left
            if sized is not None and isinstance(count, int) and len(sized) * count > MAX_OUTPUT:
                raise TemplateLimitExceeded(f"a value grew beyond {MAX_OUTPUT} characters")
        return _check_size(super().call_binop(context, operator, left, right))


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return _check_size(fn(*args, **kwargs))

    # Keep jinja's pass_context / pass_environment markers of the original filter.
    for attribute in ("jinja_pass_arg",):
        if hasattr(fn, attribute):
            setattr(run, attribute, getattr(fn, attribute))
    run.__name__ = name
    return run


def _safe_replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_s, new_s = str(value), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None:
        hits = min(hits, count)
    if len(text) + hits * max(0, len(new_s) - len(old_s)) > MAX_OUTPUT:
        raise TemplateLimitExceeded(f"a value grew beyond {MAX_OUTPUT} characters")
    return text.replace(old_s, new_s, -1 if count is None else count)


def _environment(budget: _Budget) -> _BoundedEnvironment:
    env = _BoundedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,  # block tags on their own lines leave no blank lines in a config file
        lstrip_blocks=True,
    )
    env.filters = {name: _bounded_filter(name, FILTERS[name]) for name in ALLOWED_FILTERS}
    env.filters["replace"] = _safe_replace

    def bounded_range(*args: int) -> Iterator[int]:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise TemplateLimitExceeded(f"range() of more than {MAX_RANGE} items")
        for number in numbers:
            budget.tick()
            yield number

    env.globals = {"range": bounded_range}
    return env


class _Counted:
    """A list variable whose iteration spends the rendering's loop budget."""

    def __init__(self, items: Sequence[Any], budget: _Budget) -> None:
        self._items, self._budget = list(items), budget

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self._budget.tick()
            yield item

    def __len__(self) -> int:
        return len(self._items)


def _check_language(tree: nodes.Template, iterables: frozenset[str] = frozenset()) -> str | None:
    """The first construct outside the accepted language, or None."""
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            return f"{type(node).__name__.lower()} is not allowed in templates"
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            return f"filter {node.name} is not allowed (allowed: {', '.join(sorted(ALLOWED_FILTERS))})"
        if isinstance(node, nodes.Call) and not (
            isinstance(node.node, nodes.Name) and node.node.name == "range"
        ):
            return "calls other than range() are not allowed"
        if isinstance(node, nodes.For) and not (
            (
                isinstance(node.iter, nodes.Call)
                and isinstance(node.iter.node, nodes.Name)
                and node.iter.node.name == "range"
            )
            or (isinstance(node.iter, nodes.Name) and node.iter.name in iterables)
        ):
            allowed = ", ".join(["range(...)", *sorted(iterables)])
            return f"for loops must iterate over {allowed}"
    return None


def render(key: str, source: str, variables: Mapping[str, Any]) -> str | TemplateProblem:
    """Render one template within the bounds, or say why not. List variables can be looped over."""
    budget = _Budget()
    env = _environment(budget)
    iterables = frozenset(k for k, v in variables.items() if isinstance(v, list | tuple))
    variables = {k: _Counted(v, budget) if k in iterables else v for k, v in variables.items()}
    try:
        tree = env.parse(source)
    except TemplateError as error:
        return TemplateProblem(key, f"syntax error: {error.message or type(error).__name__}")
    forbidden = _check_language(tree, iterables)
    if forbidden is not None:
        return TemplateProblem(key, forbidden)
    try:
        template = env.from_string(tree)
        size, parts = 0, []
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimitExceeded(f"output longer than {MAX_OUTPUT} characters")
            if time.monotonic() > budget.deadline:
                raise TemplateLimitExceeded(f"rendering took longer than {DEADLINE_SECONDS}s")
            parts.append(chunk)
    except TemplateError as error:
        # Jinja's messages name the undefined variable or the unsafe attribute, never a value.
        return TemplateProblem(key, f"{type(error).__name__}: {error.message or ''}".rstrip(": "))
    except (ArithmeticError, TypeError, ValueError, RecursionError, MemoryError) as error:
        return TemplateProblem(key, f"{type(error).__name__} while rendering")
    return "".join(parts)


def render_all(
    templates: Mapping[str, str], variables: Mapping[str, Any]
) -> tuple[dict[str, str], list[TemplateProblem]]:
    """Render every key: the ones that worked, and the problems of the others."""
    rendered: dict[str, str] = {}
    problems: list[TemplateProblem] = []
    for key in sorted(templates):
        result = render(key, templates[key], variables)
        if isinstance(result, TemplateProblem):
            problems.append(result)
        else:
            rendered[key] = result
    return rendered, problems
