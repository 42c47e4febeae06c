"""The number-to-agent table of a provider: which agent answers each number on its trunk.

An Elastic SIP trunk has one set of origination URIs for all its numbers: Twilio sends every inbound
call of the trunk to the provider's `originationUris`, with the dialled number in the Request-URI
(`INVITE sip:+14155550100@agents.example.com`). Which agent answers is decided on the voice
platform, by that number. This table, published in a ConfigMap, is what the platform routes by:
one entry per TwilioPhoneNumber that is attached to the trunk (Ready), with its agent's name and,
when set, the SIP URI the platform forwards the call to. See docs/agents.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api import templating
from twilio_operator.api.models import AgentTableTemplate, OriginationUri

TABLE_KEY = "agents.json"


@dataclass(frozen=True, order=True)
class AgentEntry:
    """One row; field names are camelCase because they are the ConfigMap's JSON field names."""

    phoneNumber: str  # E.164, the number Twilio puts in the Request-URI
    numberSid: str
    agent: str  # agentRef.name
    sipUri: str  # agentRef.sipUri, "" when unset
    object: str  # the TwilioPhoneNumber's name


def entry_of(body: Mapping[str, Any]) -> AgentEntry | None:
    """The table entry of a TwilioPhoneNumber body, or None if its number is not on the trunk or it
    names no agent."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    agent = spec.get("agentRef") or {}
    number = status.get("phoneNumber")
    if not agent.get("name") or not number or not c.ReadyState.of(status).is_true:
        return None
    if (body.get("metadata") or {}).get("deletionTimestamp"):
        return None
    return AgentEntry(
        phoneNumber=str(number),
        numberSid=str(status.get("sid") or ""),
        agent=str(agent["name"]),
        sipUri=str(agent.get("sipUri") or ""),
        object=str((body.get("metadata") or {}).get("name") or ""),
    )


# What a template is checked against in every reconcile, whatever numbers the provider has now: a
# syntax error, an unknown name or a forbidden construct shows here without waiting for a number.
SAMPLE_ENTRY = AgentEntry(
    phoneNumber="+15005550006",
    numberSid="PN" + "0" * 32,
    agent="sample-agent",
    sipUri="sip:sample-agent@agents.example.com",
    object="sample-number",
)


def table_context(
    provider: str,
    namespace: str,
    trunk_sid: str | None,
    sip_domain: str | None,
    origination: Iterable[OriginationUri],
) -> dict[str, Any]:
    """The names a template sees besides `numbers`."""
    return {
        "provider": provider,
        "namespace": namespace,
        "trunkSid": trunk_sid or "",
        "sipDomain": sip_domain or "",
        "originationUris": [u.sip_url for u in origination],
    }


def template_problems(
    template: AgentTableTemplate | None, context: Mapping[str, Any]
) -> list[templating.TemplateProblem]:
    """The template's problems when rendered for one sample number."""
    return render_table([SAMPLE_ENTRY], context, template)[1]


def table_json(entries: Iterable[AgentEntry]) -> str:
    return json.dumps([asdict(e) for e in sorted(entries)], indent=2, sort_keys=True) + "\n"


def render_table(
    entries: Iterable[AgentEntry], context: Mapping[str, Any], template: AgentTableTemplate | None
) -> tuple[dict[str, str], list[templating.TemplateProblem]]:
    """The ConfigMap's data: agents.json, plus the template's keys that rendered (and the problems)."""
    ordered = sorted(entries)
    data = {TABLE_KEY: table_json(ordered)}
    if template is None or not template.data:
        return data, []
    variables = {**context, "numbers": [asdict(e) for e in ordered]}
    rendered, problems = templating.render_all(template.data, variables)
    return {**data, **rendered}, problems
