"""The SIP Secret's template: rendered keys follow the credential through a rotation; a broken key is
Ready=False naming the key, keeps its old value, and its output never reaches an Event or status."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from twilio_operator.api import names
from twilio_operator.api.models import SipCredentialsSpec

from .conftest import NAMESPACE, World

SECRET = "acme-sip-credentials"


def with_template(world: World, data: dict[str, str], **extra: Any) -> None:
    spec = SipCredentialsSpec.model_validate({"template": {"data": data, **extra}})
    world.with_spec(sip_credentials=spec)


def conditions(world: World) -> dict[str, tuple[str, str, str]]:
    return {c.type: (c.status, c.reason, c.message) for c in world.status.conditions}


async def test_template_keys_labels_and_annotations_follow_the_credential(world: World) -> None:
    with_template(
        world,
        {"creds.txt": "{{ username }}:{{ password }}@{{ sipDomain }}", "both": "{{ previousUsername }}"},
        labels={"team": "voice"},
        annotations={"reloader.stakater.com/match": "true"},
    )
    assert (await world.reconcile()).ready
    secret = world.kube.secret_text(NAMESPACE, SECRET)
    assert secret["creds.txt"] == f"{secret['username']}:{secret['password']}@{secret['sipDomain']}"
    assert secret["both"] == ""
    stored = world.kube.secrets[(NAMESPACE, SECRET)]
    assert stored["labels"]["team"] == "voice"
    assert stored["annotations"]["reloader.stakater.com/match"] == "true"

    world.provider = replace(world.provider, annotations={names.ROTATE_SIP_CREDENTIALS: "1"})
    await world.reconcile()
    rotated = world.kube.secret_text(NAMESPACE, SECRET)
    assert rotated["creds.txt"].startswith(f"{rotated['username']}:{rotated['password']}@")
    assert rotated["both"] == secret["username"]

    # A key dropped from the template leaves the Secret.
    with_template(world, {"creds.txt": "{{ username }}"})
    await world.reconcile()
    assert "both" not in world.kube.secret_text(NAMESPACE, SECRET)


async def test_a_broken_key_is_not_ready_and_keeps_its_old_value(world: World) -> None:
    with_template(world, {"good": "{{ username }}", "creds": "{{ password }}"})
    await world.reconcile()
    before = world.kube.secret_text(NAMESPACE, SECRET)

    with_template(world, {"good": "u={{ username }}", "creds": "{{ pasword }}"})
    outcome = await world.reconcile()

    assert not outcome.ready
    ready, stored = conditions(world)["Ready"], conditions(world)["SipCredentialsStored"]
    assert ready[:2] == ("False", "TemplateInvalid") and stored[:2] == ("False", "TemplateInvalid")
    assert "template key creds" in ready[2] and "'pasword' is undefined" in ready[2]
    after = world.kube.secret_text(NAMESPACE, SECRET)
    assert after["creds"] == before["creds"] == before["password"]  # kept as it was
    assert after["good"] == f"u={before['username']}"  # the rest moves on
    assert "TemplateInvalid" in world.kube.reasons()
    assert not any(before["password"] in message for *_, message in world.kube.events)
    assert before["password"] not in world.status.model_dump_json()

    with_template(world, {"good": "u={{ username }}", "creds": "{{ password }}"})
    assert (await world.reconcile()).ready
