"""SIP credential rotation against the emulator: on demand, on schedule, the grace period, retirement,
leftovers, and a failure after each write of the protocol. `sip_auth` is the emulator's check of a
username and password against the trunk, the way Twilio authenticates an outbound call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from twilio_operator.api import names
from twilio_operator.api.errors import TwilioError
from twilio_operator.api.models import SipCredentialsSpec

from .conftest import NAMESPACE, World

SECRET = "acme-sip-credentials"
CREDENTIAL = r".*/CredentialLists/CL[0-9a-f]+/Credentials"
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(world: World) -> Clock:
    clock = Clock()
    world.deps.clock = clock
    return clock


def secret(world: World) -> dict[str, str]:
    return world.kube.secret_text(NAMESPACE, SECRET)


def annotations(world: World) -> dict[str, str]:
    return world.kube.secrets[(NAMESPACE, SECRET)]["annotations"]


def usernames_in_twilio(world: World) -> list[str]:
    [credential_list] = world.account.state()["credential_lists"]
    return sorted(c["username"] for c in credential_list["credentials"])


def authenticates(world: World, username: str, password: str) -> bool:
    return world.emulator.sip_auth(world.status.trunk_domain_name or "", username, password)


def request_rotation(world: World, value: str) -> None:
    world.provider = replace(world.provider, annotations={names.ROTATE_SIP_CREDENTIALS: value})


def assert_every_credential_known(world: World) -> None:
    """The invariant of the protocol: one or two credentials, each of whose password the Secret holds."""
    held = secret(world)
    pairs = {held["username"]: held["password"]}
    if "previousUsername" in held:
        pairs[held["previousUsername"]] = held["previousPassword"]
    in_twilio = usernames_in_twilio(world)
    assert 1 <= len(in_twilio) <= 2
    for username in in_twilio:
        assert username in pairs, f"{username} is in Twilio but its password is in no Secret"
        assert authenticates(world, username, pairs[username])


async def test_on_demand_rotation_keeps_both_pairs_working_until_the_grace_period_ends(
    world: World, clock: Clock
) -> None:
    world.with_spec(sip_credentials=SipCredentialsSpec.model_validate({"gracePeriod": "30m"}))
    await world.reconcile()
    old = secret(world)
    assert authenticates(world, old["username"], old["password"])
    assert (
        world.status.sip_credentials is not None and world.status.sip_credentials.username == old["username"]
    )

    clock.advance(minutes=5)
    request_rotation(world, "1764504000")
    assert (await world.reconcile()).ready
    new = secret(world)
    assert new["username"] != old["username"] and new["password"] != old["password"]
    assert (new["previousUsername"], new["previousPassword"]) == (old["username"], old["password"])
    assert annotations(world)[names.PASSWORD_STATE] == "applied"
    # During the grace period both pairs authenticate.
    assert authenticates(world, new["username"], new["password"])
    assert authenticates(world, old["username"], old["password"])
    assert usernames_in_twilio(world) == sorted([old["username"], new["username"]])
    status = world.status.sip_credentials
    assert status is not None
    assert status.username == new["username"] and status.previous_username == old["username"]
    assert status.created_at == "2026-11-30T12:05:00Z"
    assert status.previous_expires_at == "2026-11-30T12:35:00Z"
    assert status.last_rotation_request == "1764504000"
    assert status.next_rotation_at is None  # no rotationInterval
    assert {"SipCredentialRotating", "SipCredentialRotated"} <= set(world.kube.reasons())

    # The same annotation value does not rotate again; before expiry nothing changes.
    clock.advance(minutes=10)
    await world.reconcile()
    assert secret(world) == new

    clock.advance(minutes=21)
    assert (await world.reconcile()).ready
    retired = secret(world)
    assert "previousUsername" not in retired and "previousPassword" not in retired
    assert names.PREVIOUS_EXPIRES_AT not in annotations(world)
    assert authenticates(world, new["username"], new["password"])
    assert not authenticates(world, old["username"], old["password"])
    assert usernames_in_twilio(world) == [new["username"]]
    assert world.status.sip_credentials is not None
    assert world.status.sip_credentials.previous_username is None
    assert "SipCredentialRetired" in world.kube.reasons()
    # Never a password in an Event or in status.
    assert not any(old["password"] in m or new["password"] in m for *_, m in world.kube.events)
    assert new["password"] not in world.status.model_dump_json()


async def test_scheduled_rotation_follows_the_interval_and_never_overlaps_grace_periods(
    world: World, clock: Clock
) -> None:
    world.with_spec(
        sip_credentials=SipCredentialsSpec.model_validate({"rotationInterval": "24h", "gracePeriod": "1h"})
    )
    await world.reconcile()
    first = secret(world)
    status = world.status.sip_credentials
    assert status is not None and status.next_rotation_at == "2026-12-01T12:00:00Z"
    outcome = await world.reconcile()
    assert outcome.next_step_in == pytest.approx(24 * 3600)

    clock.advance(hours=24, seconds=1)
    outcome = await world.reconcile()
    second = secret(world)
    assert second["username"] == names.rotated_sip_username(world.provider.uid, int(clock.now.timestamp()))
    assert second["previousUsername"] == first["username"]
    assert outcome.next_step_in == pytest.approx(3600)  # the retirement comes first
    status = world.status.sip_credentials
    assert status is not None and status.next_rotation_at == "2026-12-02T12:00:01Z"
    assert_every_credential_known(world)

    clock.advance(hours=1, seconds=1)
    await world.reconcile()
    assert usernames_in_twilio(world) == [second["username"]]


async def test_a_request_during_the_grace_period_retires_the_previous_pair_first(
    world: World, clock: Clock
) -> None:
    await world.reconcile()
    first = secret(world)
    request_rotation(world, "one")
    await world.reconcile()
    second = secret(world)
    clock.advance(seconds=5)
    request_rotation(world, "two")
    await world.reconcile()
    third = secret(world)
    assert third["previousUsername"] == second["username"]
    assert not authenticates(world, first["username"], first["password"])
    assert usernames_in_twilio(world) == sorted([second["username"], third["username"]])
    assert "early" in " ".join(m for *_, m in world.kube.events)


async def test_leftovers_of_ours_are_deleted_and_foreign_credentials_kept(
    world: World, twilio_client: Any
) -> None:
    await world.reconcile()
    list_sid = world.status.credential_list_sid
    prefix = world.provider.uid.replace("-", "")[:20]
    credentials = twilio_client.sip.credential_lists(list_sid).credentials
    for stamp in (1700000000, 1700000001, 1700000002):
        credentials.create(username=f"{prefix}r{stamp}", password="Leftover-Password-123")
    credentials.create(username="someone-else", password="Foreign-Password-123")

    await world.reconcile()

    assert usernames_in_twilio(world) == sorted([secret(world)["username"], "someone-else"])
    assert world.kube.reasons().count("SipCredentialLeftoverDeleted") == 3


@pytest.mark.parametrize(
    ("fault", "what"),
    [
        (
            {"path": CREDENTIAL + r"\.json", "action": "commit_then_error", "method": "POST"},
            "create committed",
        ),
        ({"path": CREDENTIAL + r"\.json", "action": "error", "method": "POST"}, "create refused"),
    ],
)
async def test_a_failed_rotation_create_leaves_only_known_credentials(
    world: World, clock: Clock, fault: dict[str, Any], what: str
) -> None:
    await world.reconcile()
    old = secret(world)
    world.emulator.add_fault(**fault, status=500)
    request_rotation(world, "now")
    with pytest.raises(TwilioError):
        await world.reconcile()
    pending = secret(world)
    assert annotations(world)[names.PASSWORD_STATE] == "pending", what
    assert pending["previousUsername"] == old["username"]
    assert_every_credential_known(world)

    world.emulator.clear_faults()
    assert (await world.reconcile()).ready
    assert secret(world) == pending  # not rotated twice for one request
    assert annotations(world)[names.PASSWORD_STATE] == "applied"
    assert usernames_in_twilio(world) == sorted([old["username"], pending["username"]])
    assert_every_credential_known(world)


async def test_a_failed_retirement_keeps_the_previous_pair_in_the_secret(world: World, clock: Clock) -> None:
    await world.reconcile()
    request_rotation(world, "now")
    await world.reconcile()
    rotated = secret(world)
    clock.advance(hours=2)
    world.emulator.add_fault(
        CREDENTIAL + r"/CR[0-9a-f]+\.json", "error", method="DELETE", status=503, times=None
    )
    with pytest.raises(TwilioError):
        await world.reconcile()
    assert secret(world)["previousUsername"] == rotated["previousUsername"]
    assert_every_credential_known(world)

    world.emulator.clear_faults()
    await world.reconcile()
    assert usernames_in_twilio(world) == [rotated["username"]]
    assert "previousUsername" not in secret(world)


async def test_a_deletion_whose_answer_was_lost_still_retires(world: World, clock: Clock) -> None:
    """Twilio deleted the previous credential, the answer was lost: the delete is retried in place,
    Twilio answers 404 (already gone), and the Secret forgets the pair."""
    await world.reconcile()
    request_rotation(world, "now")
    await world.reconcile()
    rotated = secret(world)
    clock.advance(hours=2)
    world.emulator.add_fault(
        CREDENTIAL + r"/CR[0-9a-f]+\.json", "commit_then_error", method="DELETE", status=500
    )
    assert (await world.reconcile()).ready
    assert usernames_in_twilio(world) == [rotated["username"]]
    assert "previousUsername" not in secret(world)


async def test_lost_secret_during_the_grace_period_deletes_the_unknown_pair(
    world: World, clock: Clock
) -> None:
    await world.reconcile()
    request_rotation(world, "now")
    await world.reconcile()
    rotated = secret(world)
    del world.kube.secrets[(NAMESPACE, SECRET)]

    assert (await world.reconcile()).ready

    repaired = secret(world)
    assert repaired["username"] == rotated["username"] and repaired["password"] != rotated["password"]
    assert "previousUsername" not in repaired
    assert usernames_in_twilio(world) == [rotated["username"]]  # nobody knows the old password any more
    assert authenticates(world, repaired["username"], repaired["password"])


async def test_hand_edited_password_during_the_grace_period_keeps_the_previous_pair(
    world: World, clock: Clock
) -> None:
    await world.reconcile()
    request_rotation(world, "now")
    await world.reconcile()
    rotated = secret(world)
    world.kube.secrets[(NAMESPACE, SECRET)]["data"]["password"] = b"Hand-Edited-Password-1"

    await world.reconcile()

    repaired = secret(world)
    assert repaired["username"] == rotated["username"] and repaired["password"] != "Hand-Edited-Password-1"
    assert repaired["previousUsername"] == rotated["previousUsername"]
    assert_every_credential_known(world)


async def test_renaming_the_sip_secret_in_the_middle_of_a_rotation_breaks_no_credential(
    world: World, clock: Clock
) -> None:
    """The walkthrough's case: renamed while a rotation's grace period runs. Every pair either Secret
    holds keeps authenticating through the grace period; the new Secret gets a new credential; after
    the grace period the old credentials and the old Secret are gone, and nothing else."""
    world.with_spec(sip_credentials=SipCredentialsSpec.model_validate({"gracePeriod": "1h"}))
    await world.reconcile()
    clock.advance(minutes=5)
    request_rotation(world, "r1")
    await world.reconcile()
    old = secret(world)
    assert "previousUsername" in old  # mid-rotation: two credentials work

    world.with_spec(sip_credentials_secret_name="renamed-sip")
    clock.advance(minutes=10)
    assert (await world.reconcile()).ready
    new = world.kube.secret_text(NAMESPACE, "renamed-sip")
    assert new["username"] not in (old["username"], old["previousUsername"])
    assert new["previousUsername"] == old["username"]
    for username, password in (
        (new["username"], new["password"]),
        (old["username"], old["password"]),
        (old["previousUsername"], old["previousPassword"]),
    ):
        assert authenticates(world, username, password), username
    assert secret(world) == old  # the old Secret is left exactly as it was during the grace period
    assert world.status.sip_credentials_secret_name == "renamed-sip"
    assert world.status.sip_credentials and world.status.sip_credentials.previous_username == old["username"]
    assert "SipCredentialsSecretRenamed" in world.kube.reasons()

    clock.advance(minutes=30)  # still within the new grace period
    await world.reconcile()
    assert authenticates(world, old["username"], old["password"])
    assert (NAMESPACE, SECRET) in world.kube.secrets

    clock.advance(hours=1)  # the grace period is over
    await world.reconcile()
    await world.reconcile()  # a leftover goes on the next round, once no Secret holds it
    assert (NAMESPACE, SECRET) not in world.kube.secrets
    assert usernames_in_twilio(world) == [new["username"]]
    assert authenticates(world, new["username"], new["password"])
    assert "previousUsername" not in world.kube.secret_text(NAMESPACE, "renamed-sip")
    assert names.PREVIOUS_SECRET not in world.kube.secrets[(NAMESPACE, "renamed-sip")]["annotations"]


async def test_a_rename_whose_secret_write_is_refused_keeps_the_old_one_working(
    world: World, clock: Clock
) -> None:
    """Renamed onto a Secret that is not the operator's: refused, nothing written there, and the
    credentials of the old Secret keep working; renamed again to a free name, they are handed over."""
    await world.reconcile()
    old = secret(world)
    world.kube.put_secret(NAMESPACE, "someones", {"tls.crt": "x"})
    world.with_spec(sip_credentials_secret_name="someones")
    await world.reconcile()
    assert world.status.sip_credentials_secret_name == SECRET
    assert authenticates(world, old["username"], old["password"])

    world.with_spec(sip_credentials_secret_name="free-name")
    assert (await world.reconcile()).ready
    assert world.kube.secret_text(NAMESPACE, "free-name")["previousUsername"] == old["username"]
    assert authenticates(world, old["username"], old["password"])
