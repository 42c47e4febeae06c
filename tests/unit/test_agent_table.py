"""The number-to-agent table: which TwilioPhoneNumbers are in it, its JSON, and the LiveKit dispatch
rules and Asterisk dialplan that examples/agent-tables/ render from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from twilio_operator.api.agent_table import TABLE_KEY, AgentEntry, entry_of, render_table
from twilio_operator.api.models import TwilioProviderSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agent-tables"
READY = {"conditions": [{"type": "Ready", "status": "True"}]}


def number(name: str, e164: str, agent: dict[str, Any] | None, ready: bool = True) -> dict[str, Any]:
    status = {"phoneNumber": e164, "sid": "PN" + "0" * 32, **(READY if ready else {})}
    spec: dict[str, Any] = {"providerRef": {"name": "acme"}, "phoneNumber": e164}
    if agent is not None:
        spec["agentRef"] = agent
    return {"metadata": {"name": name}, "spec": spec, "status": status}


ENTRIES = [
    e
    for e in (
        entry_of(
            number("support", "+15005550006", {"name": "support-agent", "sipUri": "sip:support@10.0.0.5"})
        ),
        entry_of(number("sales", "+15005550007", {"name": "sales-agent"})),
    )
    if e is not None
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            number("a", "+15005550006", {"name": "x"}),
            AgentEntry("+15005550006", "PN" + "0" * 32, "x", "", "a"),
        ),
        (number("a", "+15005550006", None), None),  # no agent named
        (number("a", "+15005550006", {"name": "x"}, ready=False), None),  # not on the trunk
        ({**number("a", "+1", {"name": "x"}), "metadata": {"name": "a", "deletionTimestamp": "t"}}, None),
    ],
)
def test_which_numbers_are_in_the_table(body: dict[str, Any], expected: AgentEntry | None) -> None:
    assert entry_of(body) == expected


def test_table_json_is_sorted_and_complete() -> None:
    data, problems = render_table(reversed(ENTRIES), {}, None)
    assert problems == [] and set(data) == {TABLE_KEY}
    table = json.loads(data[TABLE_KEY])
    assert [row["phoneNumber"] for row in table] == ["+15005550006", "+15005550007"]
    assert table[0] == {
        "phoneNumber": "+15005550006",
        "numberSid": "PN" + "0" * 32,
        "agent": "support-agent",
        "sipUri": "sip:support@10.0.0.5",
        "object": "support",
    }


def rendered(name: str) -> dict[str, str]:
    body = yaml.safe_load((EXAMPLES / name).read_text())
    spec = TwilioProviderSpec.model_validate(body["spec"])
    assert spec.agent_table is not None
    context = {"provider": "acme", "namespace": "voice", "trunkSid": "TK" + "0" * 32, "sipDomain": "d"}
    data, problems = render_table(ENTRIES, {**context, "originationUris": []}, spec.agent_table.template)
    assert problems == []
    return data


def test_livekit_dispatch_rules() -> None:
    rules = json.loads(rendered("livekit.yaml")["dispatch-rules.json"])
    assert len(rules) == 2
    for rule, entry in zip(rules, ENTRIES, strict=True):
        body = rule["dispatch_rule"]
        assert set(body) == {"name", "inboundNumbers", "rule", "roomConfig"}
        assert body["inboundNumbers"] == [entry.phoneNumber]
        assert body["rule"]["dispatchRuleIndividual"]["roomPrefix"].startswith("call-")
        assert body["roomConfig"]["agents"] == [{"agentName": entry.agent}]


def test_asterisk_dialplan() -> None:
    text = rendered("asterisk.yaml")["extensions-twilio.conf"]
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(";")]
    assert lines[0] == "[from-twilio]"
    assert lines[-1] == "exten => _X.,1,Hangup(1)"
    blocks: dict[str, list[str]] = {}
    current = ""
    for line in lines[1:-1]:
        match = re.fullmatch(r"exten => (\+[0-9]+),1,NoOp\(agent (\S+)\)", line)
        if match:
            current = match.group(1)
            blocks[current] = []
        else:
            assert line.startswith("same => n,"), line
            blocks[current].append(line.removeprefix("same => n,"))
    assert blocks == {
        "+15005550006": ["Dial(PJSIP/agents/sip:support@10.0.0.5)", "Hangup()"],
        "+15005550007": ["Dial(PJSIP/sales-agent)", "Hangup()"],
    }


def test_a_table_template_that_loops_over_a_string_is_refused() -> None:
    from twilio_operator.api.models import AgentTableTemplate

    template = AgentTableTemplate(data={"x": "{% for c in provider %}{% endfor %}"})
    data, problems = render_table(ENTRIES, {"provider": "acme"}, template)
    assert "x" not in data and "for loops must iterate over" in problems[0].error
