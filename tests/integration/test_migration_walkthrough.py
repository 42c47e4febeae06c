"""docs/migrating.md, step by step, on the real API server and the emulator: a trunk made beforehand
through Twilio's API (as the LiveKit guide has people do), observed, then adopted and managed."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    merge_patch,
    provider_spec,
    secret,
    wait_ready,
    wait_reason,
)
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane


@pytest.mark.usefixtures("operator", "credentials")
def test_observe_then_adopt_then_manage_an_existing_trunk(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    twilio_client: Any,
) -> None:
    # 0. What the user has: a trunk from the LiveKit guide.
    trunk = twilio_client.trunking.v1.trunks.create(
        friendly_name="LiveKit trunk",
        domain_name="walkthrough-livekit.pstn.twilio.com",
        transfer_mode="enable-all",
    )
    twilio_client.trunking.v1.trunks(trunk.sid).origination_urls.create(
        friendly_name="livekit", sip_url="sip:walk.sip.livekit.cloud", priority=1, weight=1, enabled=True
    )

    # 1. Observe: no Twilio write, the differences reported.
    seq = last_seq(emulator)
    spec = provider_spec(
        twilio_account, displayName="LiveKit trunk", trunkSid=trunk.sid, managementPolicy="ObserveOnly"
    )
    create(crds, PROVIDERS, namespace, "livekit", spec)
    observed = wait_reason(crds, namespace, "livekit", "Observing")
    writes = [
        r for r in emulator.requests(since=seq) if r["write"] and r["account_sid"] == twilio_account.sid
    ]
    assert writes == []
    [report] = [d for d in observed["status"]["verificationDetails"] if d["checkName"] == "managedResources"]
    assert "no credential list of this provider exists" in report["message"]
    assert observed["status"]["trunkSid"] == trunk.sid
    assert secret(crds, namespace, "livekit-sip-credentials") is None

    # 3. Manage.
    merge_patch(crds, "twp", namespace, "livekit", {"spec": {"managementPolicy": "Full"}})
    ready = wait_ready(crds, PROVIDERS, namespace, "livekit")
    assert condition(ready)["reason"] == "Provisioned"
    after = twilio_client.trunking.v1.trunks(trunk.sid).fetch()
    assert (after.domain_name, after.friendly_name, after.transfer_mode) == (
        "walkthrough-livekit.pstn.twilio.com",
        "LiveKit trunk",
        "enable-all",
    )
    assert [o.sip_url for o in twilio_client.trunking.v1.trunks(trunk.sid).origination_urls.list()] == [
        "sip:walk.sip.livekit.cloud"
    ]
    assert secret(crds, namespace, "livekit-sip-credentials") is not None

    # trunkSid cannot be changed afterwards.
    refused = crds.kubectl(
        "patch",
        "twp",
        "livekit",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"trunkSid":"TK' + "1" * 32 + '"}}',
    )
    assert refused.returncode != 0 and "trunkSid and credentialListSid are immutable" in refused.stderr
