"""A number moved to another trunk behind the operator's back (in the Console, by another team, by a
second provider) must cost a handful of Twilio requests, not a loop, and the status must say so."""

from __future__ import annotations

import time
from typing import Any

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    NUMBERS,
    PROVIDERS,
    condition,
    create,
    get,
    provider_spec,
    put_secret,
    wait_for,
    wait_ready,
)
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST = "+15005550006"
QUIET_SECONDS = 20
# Two provider verifications (about 10 reads each) and one number reconcile after the move, with room
# to spare; the loop this guards against made about 130 requests a second.
MAX_REQUESTS = 30
ALERT_THRESHOLD = 60  # metrics.prometheusRule.twilioCallsPerObjectPerMinute in the chart


def test_a_number_moved_to_another_trunk_costs_a_handful_of_requests(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
    twilio_client: Any,
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    provider = wait_ready(crds, PROVIDERS, namespace, "acme")
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    number = wait_ready(crds, NUMBERS, namespace, "line")
    wait_for(
        lambda: get(crds, PROVIDERS, namespace, "acme")["status"].get("phoneNumberCount") == 1,
        what="the provider counts the number",
    )

    # Another team moves the number to a trunk of its own, then the provider verifies.
    account = twilio_client.api.v2010.accounts(twilio_account.sid)
    other = twilio_client.trunking.v1.trunks.create(
        friendly_name="other team", domain_name="other-team.pstn.twilio.com"
    )
    account.incoming_phone_numbers(number["status"]["sid"]).update(trunk_sid=other.sid)
    seq = max((int(r["seq"]) for r in emulator.requests()), default=0)
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token, "touch": "1"})
    time.sleep(QUIET_SECONDS)

    calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account.sid]
    print(f"Twilio requests in {QUIET_SECONDS} s after the move: {len(calls)}")
    assert len(calls) <= MAX_REQUESTS, [f"{r['method']} {r['path']}" for r in calls]
    # The gauge behind the TwilioCallsPerObjectHigh alert saw the requests (setup included: it spans
    # the current and the previous minute) and stays below the chart's default alert threshold.
    [busiest] = [
        float(line.split()[-1])
        for line in operator.metrics().splitlines()
        if line.startswith("twilio_operator_twilio_calls_per_object_max ")
    ]
    assert 0 < busiest <= ALERT_THRESHOLD

    # The status tells the truth: the number reports the conflict, the provider no longer counts it
    # (the provider's recount follows the number's within seconds; waited for, not raced).
    wait_for(
        lambda: get(crds, PROVIDERS, namespace, "acme")["status"].get("verificationStatus") == "verified",
        timeout=30,
        what="the provider verified again without the moved number",
    )
    line = get(crds, NUMBERS, namespace, "line")
    assert condition(line)["reason"] == "Conflict", condition(line)
    assert other.sid in condition(line)["message"]
    assert "trunkSid" not in line["status"], line["status"]
    acme = get(crds, PROVIDERS, namespace, "acme")
    assert acme["status"]["phoneNumberCount"] == 0, acme["status"]
    assert acme["status"]["verificationStatus"] == "verified", acme["status"]["verificationDetails"]
    assert acme["status"]["trunkSid"] == provider["status"]["trunkSid"]
