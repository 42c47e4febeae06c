"""The reconcile against what real Twilio does and our earlier guesses did not model (issue 14):
API key types, suspended accounts that can still read themselves."""

from __future__ import annotations

from dataclasses import replace

import pytest
from twilio.rest import Client

from twilio_operator.api.errors import TwilioError
from twilio_operator.api.models import CredentialsSecretRef, OriginationUri

from .conftest import CREDENTIALS_SECRET, NAMESPACE, World


def use_api_key(world: World, key: dict[str, str]) -> None:
    world.kube.put_secret(NAMESPACE, CREDENTIALS_SECRET, {"keySid": key["sid"], "keySecret": key["secret"]})
    ref = CredentialsSecretRef(
        name=CREDENTIALS_SECRET, api_key_sid_key="keySid", api_key_secret_key="keySecret"
    )
    spec = world.provider.spec.model_copy(update={"credentials_secret_ref": ref})
    world.provider = replace(world.provider, spec=spec)


def conditions(world: World) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in world.status.conditions}


def details(world: World) -> dict[str, tuple[str, str]]:
    return {d.check_name: (d.status, d.message) for d in world.status.verification_details}


async def test_standard_key_provisions_and_says_what_it_could_not_check(world: World) -> None:
    use_api_key(world, world.emulator.add_api_key(world.account.sid, type="standard"))

    outcome = await world.reconcile()

    assert outcome.ready, outcome.message
    assert conditions(world)["Ready"] == ("True", "Provisioned")
    assert details(world)["accountActive"] == (
        "skipped",
        "a Standard API key cannot read the account; use a Main key or the Auth Token to verify "
        "account status",
    )
    assert details(world)["sipTrunkingAccess"][0] == "passed"
    assert world.status.verification_status == "verified"
    assert world.status.trunk_sid


async def test_restricted_key_without_a_permission_is_permission_denied(world: World) -> None:
    permissions = [
        "/twilio/trunking/trunks/read",
        "/twilio/api/sip/credential-lists/read",
        "/twilio/api/incoming-phone-numbers/read",
    ]
    key = world.emulator.add_api_key(world.account.sid, type="restricted", permissions=permissions)
    use_api_key(world, key)

    with pytest.raises(TwilioError) as failure:
        await world.reconcile()

    assert failure.value.permission_denied
    ready = next(c for c in world.status.conditions if c.type == "Ready")
    assert ready.reason == "PermissionDenied"
    assert "create SIP trunk" in ready.message and "70051" in ready.message
    assert world.account.state()["trunks"] == []


@pytest.mark.parametrize(("mode", "code"), [("forbidden", 20403), ("reject", 20005), ("readable", 20005)])
async def test_suspended_account_is_account_inactive_in_every_mode(
    world: World, mode: str, code: int
) -> None:
    """forbidden (the default) is twilio.com/docs/api/errors/20403: 403, "Typically this means the
    account has been suspended or closed"."""
    world.emulator.patch_account(world.account.sid, status="suspended", suspension_mode=mode)

    with pytest.raises(TwilioError) as failure:
        await world.reconcile()

    assert failure.value.code == code and failure.value.account_inactive

    assert conditions(world)["Ready"] == ("False", "AccountInactive")
    assert conditions(world)["CredentialsVerified"] == ("False", "AccountInactive")


async def test_ready_at_a_concurrency_limit_of_one_with_100ms_latency(world: World) -> None:
    """New Twilio accounts have been limited to one request in flight: the adaptive bound must get
    every step through (verification alone fires four parallel reads)."""
    world.emulator.patch_account(world.account.sid, concurrency_limit=1)
    world.emulator.configure(latency_ms=100)

    outcome = await world.reconcile()

    assert outcome.ready, outcome.message
    refused = [r for r in world.emulator.requests() if r["status"] == 429]
    assert refused, "the limit was never hit: the test proves nothing"
    assert len(refused) <= 6, f"{len(refused)} refusals: the bound did not settle"
    assert (await world.reconcile()).ready


def fill_trunks(client: Client, count: int) -> None:
    """`count` trunks made by someone else in the account."""
    for i in range(count):
        client.trunking.v1.trunks.create(domain_name=f"other-{i}.pstn.twilio.com")


def ready_condition(world: World) -> tuple[str, str, str]:
    ready = next(c for c in world.status.conditions if c.type == "Ready")
    return ready.status, ready.reason, ready.message


async def test_the_101st_trunk_is_quota_exceeded_and_leaves_nothing(
    world: World, twilio_client: Client
) -> None:
    fill_trunks(twilio_client, 100)
    seq = world.last_seq()

    for _ in range(2):  # a retry must not walk through new domain names
        with pytest.raises(TwilioError):
            await world.reconcile()

    status, reason, message = ready_condition(world)
    assert (status, reason) == ("False", "QuotaExceeded")
    assert "100 SIP trunks" in message and "allows 100" in message
    state = world.account.state()
    assert len(state["trunks"]) == 100 and state["credential_lists"] == []
    posts = [r for r in world.emulator.requests(since=seq) if r["method"] == "POST"]
    assert [(r["path"], r["status"]) for r in posts] == [("/v1/Trunks", 400)] * 2  # one domain, twice


async def test_a_quota_below_the_documented_one_is_read_from_twilios_code(
    world: World, twilio_client: Client
) -> None:
    """An account whose trunk limit is lower than the documented 100: the count cannot explain the
    refusal, Twilio's code (21244, "Maximum Number of Trunks reached") does."""
    world.emulator.patch_account(world.account.sid, quotas={"trunks": 2})
    fill_trunks(twilio_client, 2)

    with pytest.raises(TwilioError) as failure:
        await world.reconcile()

    assert failure.value.code == 21244
    status, reason, message = ready_condition(world)
    assert (status, reason) == ("False", "QuotaExceeded")
    assert "SIP trunks" in message and "quota reached" in message
    assert world.account.state()["credential_lists"] == []


async def test_trial_account_gets_one_trunk(world: World, twilio_client: Client) -> None:
    world.emulator.patch_account(world.account.sid, type="Trial")
    fill_trunks(twilio_client, 1)

    with pytest.raises(TwilioError):
        await world.reconcile()

    status, reason, message = ready_condition(world)
    assert (status, reason) == ("False", "QuotaExceeded")
    assert "trial account" in message and "allows 1" in message
    assert world.account.state()["credential_lists"] == []


async def test_the_101st_credential_list_is_quota_exceeded(world: World, twilio_client: Client) -> None:
    for i in range(100):
        twilio_client.sip.credential_lists.create(friendly_name=f"other {i}")

    with pytest.raises(TwilioError):
        await world.reconcile()

    status, reason, message = ready_condition(world)
    assert (status, reason) == ("False", "QuotaExceeded")
    assert "100 credential lists" in message


async def test_a_normalised_origination_url_is_not_rewritten(world: World, twilio_client: Client) -> None:
    """If Twilio rewrote a sip_url (case, parameter order), the operator must not loop on it."""
    uri = {"sipUrl": "sip:Agents.Example.com;transport=TCP", "priority": 10, "weight": 10, "enabled": True}
    world.with_spec(origination_uris=[OriginationUri.model_validate(uri)])
    assert (await world.reconcile()).ready
    [url] = twilio_client.trunking.v1.trunks(world.status.trunk_sid).origination_urls.list()
    twilio_client.trunking.v1.trunks(world.status.trunk_sid).origination_urls(url.sid).update(
        sip_url="sip:agents.example.com;transport=tcp"
    )
    seq = world.last_seq()

    assert (await world.reconcile()).ready

    assert world.writes_since(seq) == []
