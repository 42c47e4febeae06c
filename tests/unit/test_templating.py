"""The bounded template renderer: what renders, and what hostile templates get instead of a crash."""

from __future__ import annotations

import time

import pytest

from twilio_operator.api.templating import MAX_OUTPUT, TemplateProblem, render, render_all

VARIABLES = {"username": "alice", "password": "S3cret-Passw0rd", "sipDomain": "x.pstn.twilio.com"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ username }}:{{ password }}", "alice:S3cret-Passw0rd"),
        ('{{ {"u": username}|tojson }}', '{"u": "alice"}'),
        ("{% if previousUsername is defined %}x{% else %}none{% endif %}", "none"),
        ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
        ("{{ username|upper ~ '@' ~ sipDomain }}", "ALICE@x.pstn.twilio.com"),
        ("line\n", "line\n"),
    ],
)
def test_renders(source: str, expected: str) -> None:
    assert render("k", source, VARIABLES) == expected


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("{{ nope }}", "'nope' is undefined"),
        ("{{ username", "syntax error"),
        ("{% set x = 1 %}", "assign is not allowed"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "macro is not allowed"),
        ("{% include 'x' %}", "include is not allowed"),
        ("{{ username.upper() }}", "calls other than range() are not allowed"),
        ("{{ username|center(1000000000) }}", "filter center is not allowed"),
        ("{% for c in password %}{% endfor %}", "for loops must iterate over range"),
        # attribute access that would leave the sandbox
        ("{{ ''.__class__ }}", "SecurityError"),
        ("{{ username.__class__.__mro__ }}", "SecurityError"),
        ("{{ range.__globals__ }}", "SecurityError"),
        # unbounded work: loops, huge values, huge numbers
        ("{% for i in range(100000) %}x{% endfor %}", "range() of more than"),
        ("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", "loop iterations"),
        ("{{ 'x' * 100000000 }}", "grew beyond"),
        ("{{ [1] * 100000000 }}", "grew beyond"),
        ("{{ 10 ** 60 ** 60 ** 60 }}", "bits"),
        ("{{ '%999999999s' % username }}", "formatting with %"),
        ("{{ password|replace('S', 'x' * 9000)|replace('x', 'yyyy') }}", "grew beyond"),
        ("{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}", f"longer than {MAX_OUTPUT}"),
    ],
)
def test_hostile_or_broken_templates_are_problems_not_crashes(source: str, error: str) -> None:
    started = time.monotonic()
    result = render("config.json", source, VARIABLES)
    assert isinstance(result, TemplateProblem), result
    assert result.key == "config.json"
    assert error in result.error
    assert "S3cret-Passw0rd" not in result.message  # a problem never carries a value
    assert time.monotonic() - started < 2.0


def test_render_all_keeps_the_good_keys() -> None:
    rendered, problems = render_all({"good": "{{ username }}", "bad": "{{ nope }}"}, VARIABLES)
    assert rendered == {"good": "alice"}
    assert [p.key for p in problems] == ["bad"]
