"""Hostile input, generated: the API server refuses what is malformed with a readable reason; the
operator survives the rest, reports it in status, and does not hot-loop."""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fixtures.emulator import last_seq
from fixtures.kube import PROVIDERS, condition, get, path, wait_for
from fixtures.operator_process import StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
    derandomize=True,  # the same examples on every CI run: a red build always means a regression
)
ACCOUNT_SID = "AC" + "ab" * 16

# Anything JSON can carry, including what no schema expects.
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
names = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.just("x" * 5000)
secret_refs = st.fixed_dictionaries(
    {"name": st.sampled_from(["creds", "missing", "Bad Name!", ""]) | junk},
    optional={"authTokenKey": st.sampled_from(["authToken", "token", ""]) | junk, "apiKeySidKey": junk},
)
specs = st.fixed_dictionaries(
    {},
    optional={
        "displayName": names | junk,
        "accountSid": st.sampled_from([ACCOUNT_SID, "AC123", ""]) | junk,
        "credentialsSecretRef": secret_refs | junk,
        "region": st.sampled_from(["us1", "ie1", "mars", "US1"]) | junk,
        "supportsCallTransfer": st.booleans() | junk,
        "deletionPolicy": st.sampled_from(["Delete", "Orphan", "delete"]) | junk,
        "verificationInterval": st.sampled_from(["1h", "90s", "1d", "0s"]) | junk,
        "originationUris": st.lists(st.fixed_dictionaries({"sipUrl": st.text(max_size=40)}), max_size=3)
        | junk,
        "sipCredentialsSecretName": st.text(max_size=80) | junk,
    },
)
secret_values = st.binary(max_size=200) | st.text(max_size=100).map(str.encode) | st.just(b"ab" * 16)


def test_generated_providers_are_refused_readably_or_handled(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, start_operator: StartOperator
) -> None:
    # Dozens of providers whose tokens Twilio refuses each retry once per auth-retry delay (60 s by
    # default): a steady trickle, not a loop. The quiet-window bounds below are about loops, so the
    # retry is set long enough to stay out of the window.
    operator = start_operator(TWILIO_OPERATOR_AUTH_RETRY_SECONDS="600")
    accepted: list[str] = []
    refused: list[str] = []
    valid = {"displayName": "Ünïcødé ☎", "accountSid": ACCOUNT_SID, "credentialsSecretRef": {"name": "creds"}}

    @SETTINGS
    @given(spec=specs, token=secret_values)
    @example(spec=valid, token=b"\xff\xfe binary")
    @example(spec={**valid, "region": "ie1", "originationUris": []}, token=b"not-hex")
    @example(spec={**valid, "displayName": "x" * 101}, token=b"")
    def check(spec: dict[str, Any], token: bytes) -> None:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "data": {"authToken": base64.b64encode(token).decode()},
        }
        crds.request("PUT", f"/api/v1/namespaces/{namespace}/secrets/creds", secret)
        name = f"h-{uuid.uuid4().hex[:10]}"
        body = {
            "apiVersion": "voip.twilio-operator.dev/v1alpha1",
            "kind": "TwilioProvider",
            "metadata": {"name": name},
            "spec": spec,
        }
        status, result = crds.request("POST", path(PROVIDERS, namespace), body)
        if status == 201:
            accepted.append(name)
            return
        assert status in (400, 422), (status, result)
        message = result["message"] if isinstance(result, dict) else str(result)
        assert "invalid" in message.lower(), message  # the API server says what is wrong
        assert len(message) < 20000
        refused.append(message)

    crds.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {}},
    )
    check()
    assert accepted and refused, (len(accepted), len(refused))

    # Every accepted object gets a status with a reason, and the operator is still alive.
    for name in accepted:
        reason = wait_for(
            lambda n=name: condition(get(crds, PROVIDERS, namespace, n)).get("reason"),
            timeout=60,
            what=f"{name} has a Ready reason",
        )
        # The Secret holds junk or a token of no account: never Ready, and the reason says why.
        assert reason in ("SecretInvalid", "SecretKeyMissing", "SecretNotFound", "AuthFailed"), reason
    assert operator.alive()
    assert "Traceback" not in operator.log()

    # The last Secret writes above woke every provider once more: let that round drain (no request
    # for 3 s, within a minute) before the quiet window starts.
    def drained() -> bool:
        before = last_seq(emulator)
        time.sleep(3)
        return last_seq(emulator) == before

    wait_for(drained, timeout=60, what="the operator's last round to drain")

    # No hot loop: over ten quiet seconds, almost nothing happens.
    lines_before, seq_before = len(operator.log().splitlines()), last_seq(emulator)
    time.sleep(10)
    assert len(operator.log().splitlines()) - lines_before < 50
    quiet = emulator.requests(since=seq_before)
    by_kind: dict[str, int] = {}
    for r in quiet:
        kind = f"{r['account_sid']} {r['method']} {re.sub(r'[A-Z]{2}[0-9a-f]{32}', 'SID', r['path'])}"
        by_kind[kind] = by_kind.get(kind, 0) + 1
    assert len(quiet) < 20, sorted(by_kind.items(), key=lambda kv: -kv[1])[:8]
