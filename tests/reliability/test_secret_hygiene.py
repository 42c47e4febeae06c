"""Item 5, secret hygiene: no token, key secret or SIP password anywhere but in their Secrets.

Recognisable sentinels are seeded (an Auth Token 'deadbeef'*4, a rotated one, a wrong one, an API key
secret), a full lifecycle runs with the operator at DEBUG (--verbose), and every operator log line,
every Event, every TwilioProvider (status, annotations, managed fields) and the metadata of the SIP
Secrets is scanned for each sentinel and every SIP password the operator generated, raw and base64
encoded (also as the HTTP Basic credential `AC...:token`). The same for a LiveKitConnection: its API
secret (right and wrong) and the SIP passwords it hands LiveKit.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    decoded,
    delete,
    events,
    get,
    provider_spec,
    put_secret,
    secret,
    wait_for,
    wait_gone,
    wait_ready,
    wait_reason,
)
from fixtures.operator_process import StartOperator
from twilio_operator.api.credentials import TwilioCredentials
from twilio_operator.api.errors import TwilioError
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector
from twilio_operator.testing.controlplane import ControlPlane
from twilio_operator.testing.livekit import LiveKitServer

TOKEN = "deadbeef" * 4
ROTATED = "cafebabe" * 4
WRONG = "feedface" * 4
KEY_SECRET = "S3ntinelKeySecretXyZ0123456789ab"
ROTATE = "voip.twilio-operator.dev/rotate-sip-credentials"


def forms(value: str, account_sid: str = "") -> set[str]:
    """The ways a secret could show up: raw, base64 (Secret data), Basic auth (request headers)."""
    found = {value, base64.b64encode(value.encode()).decode()}
    if account_sid:
        found.add(base64.b64encode(f"{account_sid}:{value}".encode()).decode())
    return found


def test_no_secret_leaks_over_a_full_lifecycle(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, start_operator: StartOperator
) -> None:
    account = TwilioAccount.create(
        emulator, auth_token=TOKEN, api_keys=[{"secret": KEY_SECRET}], incoming_phone_numbers=[{}]
    )
    sid, key_sid = account.sid, account.api_keys[0].sid
    put_secret(crds, namespace, "twilio-credentials", {"authToken": TOKEN})
    put_secret(crds, namespace, "twilio-key", {"sid": key_sid, "secret": KEY_SECRET})
    operator = start_operator()
    assert "--verbose" in " ".join(operator.process.args)  # type: ignore[union-attr]

    passwords: set[str] = set()
    stop = threading.Event()

    def harvest() -> None:  # every SIP password that ever sits in a Secret
        while not stop.is_set():
            for name in ("token-sip-credentials", "key-sip-credentials"):
                sip = secret(crds, namespace, name)
                if sip and "password" in (sip.get("data") or {}):
                    passwords.add(decoded(sip)["password"])
            time.sleep(0.1)

    harvester = threading.Thread(target=harvest, daemon=True)
    harvester.start()
    snapshots: list[Any] = []
    try:
        template = {"data": {"creds.txt": "{{ username }}:{{ password }} {{ previousPassword }}"}}
        sip = {"gracePeriod": "3s", "template": template}
        create(crds, PROVIDERS, namespace, "token", provider_spec(account, sipCredentials=sip))
        key_ref = {"name": "twilio-key", "apiKeySidKey": "sid", "apiKeySecretKey": "secret"}
        create(crds, PROVIDERS, namespace, "key", provider_spec(account, credentialsSecretRef=key_ref))
        wait_ready(crds, PROVIDERS, namespace, "token")
        wait_ready(crds, PROVIDERS, namespace, "key")
        snapshots.append(get(crds, PROVIDERS, namespace, "token"))

        # Rotate the token: Twilio first, then the Secret.
        emulator.patch_account(sid, auth_token=ROTATED)
        put_secret(crds, namespace, "twilio-credentials", {"authToken": ROTATED})
        wait_for(
            lambda: condition(get(crds, PROVIDERS, namespace, "token")).get("status") == "True", 20, "rotated"
        )
        # A wrong token: AuthFailed, with Twilio's message in status and an Event.
        put_secret(crds, namespace, "twilio-credentials", {"authToken": WRONG})
        failed = wait_reason(crds, namespace, "token", "AuthFailed", timeout=20)
        snapshots.append(failed)
        put_secret(crds, namespace, "twilio-credentials", {"authToken": ROTATED})
        wait_for(
            lambda: condition(get(crds, PROVIDERS, namespace, "token")).get("status") == "True", 20, "fixed"
        )
        # Rotate the SIP password too (a second generated password to look for).
        crds.request("DELETE", f"/api/v1/namespaces/{namespace}/secrets/token-sip-credentials")
        wait_for(lambda: len(passwords) >= 3, 20, "a rotated SIP password")
        # And a zero-downtime rotation with a template rendering both pairs: a fourth password.
        annotated = crds.kubectl("annotate", "twp", "token", "-n", namespace, f"{ROTATE}=1", "--overwrite")
        assert annotated.returncode == 0, annotated.stderr
        wait_for(lambda: len(passwords) >= 4, 60, "a password of a zero-downtime rotation")
        wait_for(
            lambda: "previousUsername" not in decoded(secret(crds, namespace, "token-sip-credentials") or {}),
            30,
            "the previous pair retired",
        )
        time.sleep(1)
        snapshots += [get(crds, PROVIDERS, namespace, n) for n in ("token", "key")]
        sip_metadata = [
            (secret(crds, namespace, n) or {}).get("metadata")
            for n in ("token-sip-credentials", "key-sip-credentials")
        ]
        recorded_events = events(crds, namespace)
        delete(crds, namespace, "token")
        delete(crds, namespace, "key")
        wait_gone(crds, namespace, "token")
        wait_gone(crds, namespace, "key")
        recorded_events = events(crds, namespace)
    finally:
        stop.set()
        harvester.join(timeout=5)
    operator.stop()

    assert len(passwords) >= 4, "expected the SIP passwords of both providers and two rotations"
    sentinels: dict[str, set[str]] = {
        "auth token": forms(TOKEN, sid),
        "rotated token": forms(ROTATED, sid),
        "wrong token": forms(WRONG, sid),
        "API key secret": forms(KEY_SECRET, key_sid),
    }
    for number, password in enumerate(sorted(passwords)):
        sentinels[f"SIP password #{number}"] = forms(password)
    log = operator.log()
    debug_lines = [line for line in log.splitlines() if "[DEBUG" in line]
    assert len(debug_lines) > 50, "the operator must have logged at DEBUG (the scan would prove little)"
    assert "response body" not in log  # kubernetes_asyncio's DEBUG dump of API answers (Secret data)
    haystacks = {
        "operator log": log,
        "events": json.dumps(recorded_events),
        "providers": json.dumps(snapshots),
        "SIP Secret metadata": json.dumps(sip_metadata),
        "emulator request log": json.dumps(emulator.requests()),
    }
    leaks = [
        f"{what} in {where}"
        for what, needles in sentinels.items()
        for where, text in haystacks.items()
        if any(needle in text for needle in needles)
    ]
    assert leaks == [], leaks
    # The failure itself was explained without the secret.
    message = condition(snapshots[1])["message"]
    assert "401" in message or "20003" in message, message
    assert "AuthFailed" in {e["reason"] for e in recorded_events}


async def test_twilio_error_strings_are_sanitised(emulator: EmulatorAdmin) -> None:
    account = TwilioAccount.create(emulator, auth_token=TOKEN)
    connector = TwilioLibraryConnector(emulator.base_url, timeout=5)
    try:
        wrong = connector.connect(TwilioCredentials(account.sid, account.sid, WRONG))
        try:
            await wrong.fetch_account()
        except TwilioError as error:
            text = str(error)
        else:
            raise AssertionError("a wrong token must fail")
        assert text.startswith("cannot fetch the Twilio account: HTTP 401"), text
        assert not any(n in text for n in forms(WRONG, account.sid))
        assert "\x1b" not in text and "://" not in text and "/Accounts/" not in text, text

        # Whatever Twilio's message says, a known secret never survives into the error.
        right = connector.connect(TwilioCredentials(account.sid, account.sid, TOKEN))
        echoed = right._error("create SIP trunk", 400, 21212, f"bad value {TOKEN}\x1b[31m")  # type: ignore[attr-defined]
        assert TOKEN not in str(echoed) and "[redacted]" in str(echoed) and "\x1b" not in str(echoed)
    finally:
        await connector.close()


LIVEKIT_WRONG_SECRET = "S3ntinelWrongLiveKitSecret0123456789abcdef"


def test_no_livekit_secret_leaks_over_a_connection_lifecycle(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    livekit: LiveKitServer,
    start_operator: StartOperator,
) -> None:
    """The LiveKit API secret (right and wrong) and every SIP password the operator handed LiveKit:
    never in the operator's log at DEBUG, an Event, a LiveKitConnection or TwilioProvider (status,
    annotations, managed fields), nor livekit-server's own log."""
    put_secret(crds, namespace, "livekit-api", {"apiKey": livekit.api_key, "apiSecret": livekit.api_secret})
    operator = start_operator(TWILIO_OPERATOR_LIVEKIT_RESYNC_SECONDS="3")
    passwords: set[str] = set()
    snapshots: list[Any] = []

    def harvest() -> set[str]:
        sip = decoded(secret(crds, namespace, "acme-sip-credentials") or {})
        passwords.update(v for k, v in sip.items() if k in ("password", "previousPassword"))
        return passwords

    create(
        crds,
        PROVIDERS,
        namespace,
        "acme",
        provider_spec(twilio_account, sipCredentials={"gracePeriod": "3s"}),
    )
    wait_ready(crds, PROVIDERS, namespace, "acme", timeout=45)
    spec = {"providerRef": {"name": "acme"}, "phoneNumber": "+15005550006", "agentRef": {"name": "support"}}
    create(crds, "twiliophonenumbers", namespace, "support", spec)
    connection = {
        "providerRef": {"name": "acme"},
        "url": livekit.url,
        "apiSecretRef": {"name": "livekit-api"},
        "sipUri": "sip:agents.sip.example.test",
    }
    create(crds, "livekitconnections", namespace, "agents", connection)
    wait_ready(crds, "livekitconnections", namespace, "agents", timeout=60)
    harvest()
    # A rotation: LiveKit's outbound trunk gets the new password.
    annotated = crds.kubectl("annotate", "twp", "acme", "-n", namespace, f"{ROTATE}=1", "--overwrite")
    assert annotated.returncode == 0, annotated.stderr
    wait_for(lambda: len(harvest()) >= 2, 30, "the rotated SIP password")
    username = decoded(secret(crds, namespace, "acme-sip-credentials") or {})["username"]
    wait_for(
        lambda: (
            ((get(crds, "livekitconnections", namespace, "agents") or {}).get("status") or {})
            .get("outboundTrunk", {})
            .get("username")
            == username
        ),
        30,
        "LiveKit switched",
    )
    # A wrong API secret: LiveKitAuthFailed, said without the secret.
    put_secret(crds, namespace, "livekit-api", {"apiKey": livekit.api_key, "apiSecret": LIVEKIT_WRONG_SECRET})
    failed = wait_reason(
        crds, namespace, "agents", "LiveKitAuthFailed", timeout=30, plural="livekitconnections"
    )
    snapshots.append(failed)
    put_secret(crds, namespace, "livekit-api", {"apiKey": livekit.api_key, "apiSecret": livekit.api_secret})
    wait_ready(crds, "livekitconnections", namespace, "agents", timeout=30)
    snapshots += [
        get(crds, "livekitconnections", namespace, "agents"),
        get(crds, PROVIDERS, namespace, "acme"),
    ]
    recorded_events = events(crds, namespace)
    delete(crds, namespace, "agents", plural="livekitconnections")
    wait_for(lambda: get(crds, "livekitconnections", namespace, "agents") is None, 30, "the connection gone")
    recorded_events = events(crds, namespace)
    operator.stop()

    sentinels = {
        "LiveKit API secret": forms(livekit.api_secret),
        "wrong LiveKit API secret": forms(LIVEKIT_WRONG_SECRET),
        **{f"SIP password #{n}": forms(p) for n, p in enumerate(sorted(passwords))},
    }
    log = operator.log()
    assert len([line for line in log.splitlines() if "[DEBUG" in line]) > 50
    haystacks = {
        "operator log": log,
        "events": json.dumps(recorded_events),
        "objects": json.dumps(snapshots),
        "livekit-server log": livekit.livekit_log.read_text(errors="replace"),
    }
    leaks = [
        f"{what} in {where}"
        for what, needles in sentinels.items()
        for where, text in haystacks.items()
        if any(needle in text for needle in needles)
    ]
    assert leaks == [], leaks
    message = condition(snapshots[0])["message"]
    assert "LiveKit did not accept the API key and secret" in message, message
    assert "LiveKitAuthFailed" in {e["reason"] for e in recorded_events}
