"""Latency, scripted faults, 429 bursts and random failures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import account_auth, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError
from twilio_operator.ports.twilio.http import RewritingAsyncHttpClient, RewritingHttpClient


def test_error_fault_fires_given_times(emulator: EmulatorAdmin, twilio_client: Client) -> None:
    emulator.add_fault("/v1/Trunks", "error", method="POST", status=503, code=20503, times=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            twilio_client.trunking.v1.trunks.create()
        assert (err.value.status, err.value.code) == (503, 20503)
    assert twilio_client.trunking.v1.trunks.create().sid
    assert len(twilio_client.trunking.v1.trunks.list()) == 1  # the faulted creates did not commit
    assert [f["remaining"] for f in emulator.faults()] == [0]


def test_fault_defaults_to_once_and_matches_method_and_full_path(
    emulator: EmulatorAdmin, twilio_client: Client
) -> None:
    emulator.add_fault("/v1/Trunks/TK[0-9a-f]+", "error", method="GET", status=500)
    trunk = twilio_client.trunking.v1.trunks.create()  # POST /v1/Trunks: no match
    assert twilio_client.trunking.v1.trunks.list()  # GET /v1/Trunks: fullmatch fails
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks(trunk.sid).fetch()
    assert err.value.status == 500
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().sid == trunk.sid


def test_unlimited_fault_and_delete(emulator: EmulatorAdmin, twilio_client: Client) -> None:
    fault_id = emulator.add_fault("/v1/Trunks", "error", method="GET", status=500, times=None)
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017 - list errors are plain TwilioExceptions
            twilio_client.trunking.v1.trunks.list()
    emulator.delete_fault(fault_id)
    assert twilio_client.trunking.v1.trunks.list() == []
    with pytest.raises(EmulatorAdminError) as err:
        emulator.delete_fault(fault_id)
    assert err.value.status == 404


def test_commit_then_error_commits(emulator: EmulatorAdmin, twilio_client: Client) -> None:
    emulator.add_fault("/v1/Trunks", "commit_then_error", method="POST")
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks.create(domain_name="committed.pstn.twilio.com")
    assert err.value.status == 500
    trunks = twilio_client.trunking.v1.trunks.list()
    assert [t.domain_name for t in trunks] == ["committed.pstn.twilio.com"]
    assert emulator.requests()[0]["write"] is True and emulator.requests()[0]["status"] == 500


def test_commit_then_hang_sync_client_times_out(
    emulator: EmulatorAdmin, emulator_url: str, twilio_account: TwilioAccount
) -> None:
    client = Client(
        twilio_account.sid,
        twilio_account.auth_token,
        http_client=RewritingHttpClient(emulator_url, timeout=0.5),
    )
    emulator.add_fault("/v1/Trunks", "commit_then_hang", method="POST", hang_seconds=2)
    with pytest.raises(requests.exceptions.Timeout):
        client.trunking.v1.trunks.create(friendly_name="hung")
    assert [t.friendly_name for t in client.trunking.v1.trunks.list()] == ["hung"]


async def test_commit_then_hang_async_client_times_out(
    emulator: EmulatorAdmin, emulator_url: str, twilio_account: TwilioAccount
) -> None:
    http_client = RewritingAsyncHttpClient(emulator_url, timeout=0.5)
    client = Client(twilio_account.sid, twilio_account.auth_token, http_client=http_client)
    try:
        emulator.add_fault("/v1/Trunks", "commit_then_hang", method="POST", hang_seconds=2)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.trunking.v1.trunks.create_async(friendly_name="hung")
        assert time.monotonic() - started < 1.5
        assert [t.friendly_name for t in await client.trunking.v1.trunks.list_async()] == ["hung"]
    finally:
        await http_client.close()


def test_delay_fault(emulator: EmulatorAdmin, twilio_client: Client) -> None:
    emulator.add_fault("/v1/Trunks", "delay", method="GET", delay_ms=300)
    started = time.monotonic()
    assert twilio_client.trunking.v1.trunks.list() == []
    assert time.monotonic() - started >= 0.3
    assert emulator.requests()[-1]["duration_ms"] >= 300


def test_rate_limit_fault_has_retry_after(
    emulator: EmulatorAdmin, emulator_url: str, twilio_account: TwilioAccount
) -> None:
    emulator.add_fault("/v1/Trunks", "rate_limit", retry_after=7)
    response = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account))
    assert response.status == 429 and response.headers["Retry-After"] == "7"
    assert response.json()["code"] == 20429


def test_rate_limit_bursts(emulator: EmulatorAdmin, emulator_url: str, twilio_account: TwilioAccount) -> None:
    emulator.configure(rate_limit={"burst_every_n": 3, "burst_length": 2, "retry_after": 2})
    statuses = [
        raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account)).status for _ in range(10)
    ]
    assert statuses == [200, 200, 200, 429, 429, 200, 200, 200, 429, 429]
    limited = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account))
    assert limited.status == 200  # position 10 in the cycle of 5 starts a fresh window
    emulator.configure(rate_limit={"burst_every_n": 0})
    assert raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account)).status == 200


def test_latency(emulator: EmulatorAdmin, twilio_client: Client) -> None:
    emulator.configure(latency_ms=200)
    started = time.monotonic()
    twilio_client.trunking.v1.trunks.list()
    assert time.monotonic() - started >= 0.2
    emulator.reset()  # back to the startup configuration
    assert emulator.configure()["latency_ms"] == 0


def test_random_fault_rate(emulator: EmulatorAdmin, emulator_url: str, twilio_account: TwilioAccount) -> None:
    emulator.configure(fault_rate=1.0)
    statuses = {
        raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account)).status for _ in range(20)
    }
    assert statuses <= {500, 503} and statuses
    emulator.configure(fault_rate=0.0)
    assert raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account)).status == 200


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "/v1/Trunks", "action": "explode"},
        {"path": "(", "action": "error"},
        {"path": "/v1/Trunks", "action": "error", "status": 200},
        {"path": "/v1/Trunks", "action": "error", "times": 0},
    ],
)
def test_bad_fault_specs_are_rejected(emulator: EmulatorAdmin, spec: dict[str, Any]) -> None:
    with pytest.raises(EmulatorAdminError) as err:
        emulator._call("POST", "/faults", spec)
    assert err.value.status == 400
    assert emulator.faults() == []


def test_faults_never_apply_to_admin_api(emulator: EmulatorAdmin) -> None:
    emulator.add_fault(".*", "error", times=None)
    emulator.configure(fault_rate=1.0, latency_ms=0)
    assert emulator.healthz()
    assert emulator.state()["accounts"] == []


async def test_concurrency_limit_refuses_requests_over_the_limit(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount, async_twilio_client: Client
) -> None:
    """Twilio's 429 is a per-account concurrency limit; the emulator can model it."""
    emulator.configure(latency_ms=100, concurrency_limit=2)
    account = async_twilio_client.api.v2010.accounts(twilio_account.sid)
    results = await asyncio.gather(*(account.fetch_async() for _ in range(6)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, TwilioRestException)]
    assert len(refused) == 4 and all(r.status == 429 and r.code == 20429 for r in refused)
    emulator.configure(concurrency_limit=0)
    results = await asyncio.gather(*(account.fetch_async() for _ in range(6)), return_exceptions=True)
    assert not [r for r in results if isinstance(r, Exception)]
