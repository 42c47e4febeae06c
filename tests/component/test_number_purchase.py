"""spec.purchase against the emulator (issue 27): buy the first match exactly once, then import it;
a purchase that cannot succeed is a condition in Twilio's codes (each refusal in both emulator modes);
nothing for sale backs off; deleting keeps the number (Retain) or releases one the object bought."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.rest import Client

from twilio_operator.api import names
from twilio_operator.api.errors import ErrorKind, TwilioError

from .conftest import NAMESPACE, World
from .numbers_rig import BUY, NumberRig, numbers_in_account, purchases, searches, wait_for_the_hung_answer

US_415 = {"country": "US", "areaCode": "415"}


async def ready_provider(world: World) -> None:
    assert (await world.reconcile()).ready


async def test_buys_the_first_match_that_needs_no_address_and_imports_it(world: World) -> None:
    await ready_provider(world)
    world.emulator.add_available_numbers(
        [
            {"phone_number": "+14155550100", "address_requirements": "any"},
            {"phone_number": "+14155550101"},
            {"phone_number": "+12125550100"},
        ]
    )
    rig = NumberRig(world, purchase=US_415, agentRef={"name": "support"})
    seq = world.last_seq()

    outcome = await rig.reconcile()

    assert outcome.ready, outcome.message
    bought = numbers_in_account(world)["+14155550101"]
    assert bought["friendly_name"] == names.purchased_number_name(NAMESPACE, "line")
    assert bought["trunk_sid"] == world.status.trunk_sid
    status = rig.parsed
    assert status.purchase is not None and status.purchase.sid == bought["sid"] == status.sid
    assert status.purchase.failures is None and status.phone_number == "+14155550101"
    assert len(purchases(world, seq)) == 1
    assert rig.events("Purchased") and "bought +14155550101" in rig.events("Purchased")[0]

    seq = world.last_seq()
    assert (await rig.reconcile()).ready
    assert purchases(world, seq) == [] and searches(world, seq) == []  # bought once, then imported


async def test_a_purchase_whose_answer_was_lost_is_found_again_not_bought_twice(world: World) -> None:
    await ready_provider(world)
    world.emulator.add_available_numbers(count=3, area_code="415")
    rig = NumberRig(world, purchase=US_415)
    # Twilio buys the number; the answer never arrives (the adapter gives up after 3 s).
    world.emulator.add_fault(BUY, "commit_then_hang", method="POST", hang_seconds=5)
    seq = world.last_seq()

    with pytest.raises(TwilioError) as lost:
        await rig.reconcile()
    assert lost.value.kind is ErrorKind.TRANSIENT
    assert rig.parsed.purchase is None  # nothing recorded: the crash window of a real operator

    outcome = await rig.reconcile()

    assert outcome.ready, outcome.message
    ours = [n for n in numbers_in_account(world).values() if n["friendly_name"].endswith(")")]
    assert len(ours) == 1 and rig.parsed.purchase is not None
    assert rig.parsed.purchase.sid == ours[0]["sid"]
    # The retry looked first and found it: one number left the inventory, none was bought again (the
    # hung request is logged only when its answer is finally sent, so the log is not asked here).
    assert len(world.emulator.available_numbers()) == 2
    assert [r for r in purchases(world, seq) if r["status"] != 201] == []
    wait_for_the_hung_answer(world, seq, BUY)
    assert len(purchases(world, seq)) == 1  # the one that hung: no other purchase was made
    assert "again by its friendly name" in rig.events("Purchased")[0]


async def test_nothing_for_sale_backs_off_and_a_spec_change_tries_at_once(world: World) -> None:
    await ready_provider(world)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    world.deps.clock = lambda: now[0]
    rig = NumberRig(world, purchase=US_415)
    seq = world.last_seq()

    first = await rig.reconcile(retry=60)
    assert (first.ready, first.reason, first.retry_in) == (False, "NoNumberAvailable", 60)
    assert "no US local numbers in area code 415 with voice for sale" in first.message

    # 20 reconciles (wake-ups, restarts) over the next 20 minutes: searches at 60 s, 180 s, 420 s,
    # 900 s only (each wait twice the last), never in between.
    attempts = []
    for minute in range(1, 21):
        now[0] = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=60 * minute + 1)
        before = world.last_seq()
        outcome = await rig.reconcile(retry=60)
        assert outcome.reason == "NoNumberAvailable" and outcome.retry_in is not None
        if searches(world, before):
            attempts.append(minute)
    assert attempts == [1, 3, 7, 15]
    assert len(searches(world, seq)) == 5 and purchases(world, seq) == []
    assert rig.parsed.purchase is not None and rig.parsed.purchase.failures == 5
    assert len(rig.events("NoNumberAvailable")) == 1  # one Event, not one per attempt

    world.emulator.add_available_numbers(count=1, area_code="212")
    rig.change(purchase={"country": "US", "areaCode": "212"})
    before = world.last_seq()
    outcome = await rig.reconcile(retry=60)  # a person's change: at once, despite the backoff
    assert outcome.ready, outcome.message
    assert len(purchases(world, before)) == 1


def gb_address(client: Client, account_sid: str, country: str = "GB") -> str:
    address = client.api.v2010.accounts(account_sid).addresses.create(
        customer_name="Acme",
        street="1 High St",
        city="London",
        region="LDN",
        postal_code="E1 6AN",
        iso_country=country,
    )
    return str(address.sid)


REFUSALS: list[tuple[str, list[dict[str, Any]], dict[str, Any], str, str]] = [
    (
        "address-any",
        [
            {
                "phone_number": "+447700900100",
                "iso_country": "GB",
                "type": "mobile",
                "address_requirements": "any",
            }
        ],
        {"country": "GB", "type": "mobile"},
        "AddressRequired",
        "+447700900100 requires an Address (anywhere in the world) (Twilio error 21631): set "
        "spec.purchase.addressSid",
    ),
    (
        "address-local",
        [{"phone_number": "+493012345678", "iso_country": "DE", "address_requirements": "local"}],
        {"country": "DE", "addressSid": "from-us"},
        "AddressRequired",
        "requires an Address in DE (local to the number) (Twilio error 21615): the Address given",
    ),
    (
        "bundle",
        [{"phone_number": "+493012345679", "iso_country": "DE", "bundle_required": True}],
        {"country": "DE"},
        "BundleRequired",
        "requires a regulatory Bundle for DE local numbers (Twilio error 21649)",
    ),
]


@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
@pytest.mark.parametrize(
    ("inventory", "purchase", "reason", "fragment"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
async def test_regulated_numbers_say_which_document_is_missing(
    world: World,
    twilio_client: Client,
    strict: bool,
    inventory: list[dict[str, Any]],
    purchase: dict[str, Any],
    reason: str,
    fragment: str,
) -> None:
    """21631, 21615 and 21649 are documented: the same answer in both emulator modes."""
    await ready_provider(world)
    world.emulator.configure(strict=strict)
    world.emulator.add_available_numbers(inventory)
    if purchase.get("addressSid") == "from-us":
        purchase = {**purchase, "addressSid": gb_address(twilio_client, world.account.sid, "US")}
    rig = NumberRig(world, purchase=purchase)
    before = set(numbers_in_account(world))

    outcome = await rig.reconcile()

    assert (outcome.ready, outcome.reason) == (False, reason)
    assert fragment in outcome.message, outcome.message
    assert "docs/numbers.md" in outcome.message
    assert set(numbers_in_account(world)) == before  # nothing bought
    assert rig.parsed.purchase is not None and rig.parsed.purchase.failures == 1


async def test_a_bundle_and_a_local_address_buy_the_regulated_number(
    world: World, twilio_client: Client
) -> None:
    await ready_provider(world)
    world.emulator.add_available_numbers(
        [
            {
                "phone_number": "+493012345678",
                "iso_country": "DE",
                "address_requirements": "local",
                "bundle_required": True,
            }
        ]
    )
    address = gb_address(twilio_client, world.account.sid, "DE")
    rig = NumberRig(world, purchase={"country": "DE", "addressSid": address, "bundleSid": "BU" + "1" * 32})

    assert (await rig.reconcile()).ready
    bought = numbers_in_account(world)["+493012345678"]
    assert (bought["address_sid"], bought["bundle_sid"]) == (address, "BU" + "1" * 32)


@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
async def test_a_trial_account_holding_a_number_is_trial_number_limit(world: World, strict: bool) -> None:
    """10002 is documented: the same in both modes."""
    await ready_provider(world)
    world.emulator.configure(strict=strict)
    world.emulator.patch_account(world.account.sid, type="Trial")
    world.emulator.add_available_numbers(count=1, area_code="415")
    rig = NumberRig(world, purchase=US_415)

    outcome = await rig.reconcile()

    assert (outcome.ready, outcome.reason) == (False, "TrialNumberLimit")
    assert "Twilio error 10002" in outcome.message and "upgrade the account" in outcome.message


@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
async def test_insufficient_funds_is_said_with_the_balance(world: World, strict: bool) -> None:
    """Twilio documents no code for it: the emulator's 10001 is assumed, strict mode answers 90000. The
    operator says InsufficientFunds for 10001 and otherwise PurchaseRefused with the balance."""
    await ready_provider(world)
    world.emulator.configure(strict=strict)
    world.emulator.patch_account(world.account.sid, balance="0.50")
    world.emulator.add_available_numbers(count=1, area_code="415")
    rig = NumberRig(world, purchase=US_415)

    outcome = await rig.reconcile()

    assert not outcome.ready
    if strict:
        assert outcome.reason == "PurchaseRefused" and "Twilio error 90000" in outcome.message
        assert "the account balance is 0.50 USD" in outcome.message
    else:
        assert outcome.reason == "InsufficientFunds" and "Twilio error 10001" in outcome.message
    assert "+14155550001" not in numbers_in_account(world)


# --------------------------------------------------------------------------- deleting: Retain, Release


async def bought_line(world: World, **spec: Any) -> NumberRig:
    await ready_provider(world)
    world.emulator.add_available_numbers(count=2, area_code="415")
    rig = NumberRig(world, purchase=US_415, **spec)
    assert (await rig.reconcile()).ready
    return rig


async def test_retain_keeps_the_number_and_the_recreated_object_imports_it_without_a_purchase(
    world: World,
) -> None:
    rig = await bought_line(world)
    sid = rig.parsed.sid

    result = await rig.delete()

    assert "kept +14155550001 in the account" in result
    kept = numbers_in_account(world)["+14155550001"]
    assert kept["sid"] == sid and kept["trunk_sid"] is None
    [retained] = rig.events("Retained")
    assert "kept +14155550001" in retained and "releasePolicy Retain" in retained
    assert "it is off the trunk; a TwilioPhoneNumber of this namespace and name" in retained

    again = NumberRig(world, purchase=US_415)  # same namespace and name, a new UID
    seq = world.last_seq()
    outcome = await again.reconcile()
    assert outcome.ready, outcome.message
    assert purchases(world, seq) == [] and again.parsed.sid == sid
    assert numbers_in_account(world)["+14155550001"]["trunk_sid"] == world.status.trunk_sid


@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
async def test_release_unlinks_the_emergency_address_then_gives_the_number_back(
    world: World, twilio_client: Client, strict: bool
) -> None:
    """Twilio refuses to release a number with an emergency address (strict mode: 90000): the
    operator unlinks it first, so neither answer is ever seen."""
    rig = await bought_line(world, releasePolicy="Release")
    world.emulator.configure(strict=strict)
    address = twilio_client.api.v2010.accounts(world.account.sid).addresses.create(
        customer_name="Acme",
        street="1 Market St",
        city="San Francisco",
        region="CA",
        postal_code="94105",
        iso_country="US",
        emergency_enabled=True,
    )
    world.emulator.patch_number(world.account.sid, "+14155550001", emergency_address_sid=address.sid)
    seq = world.last_seq()

    result = await rig.delete()

    assert result.endswith("released +14155550001")
    assert "+14155550001" not in numbers_in_account(world)
    refused = [r for r in world.emulator.requests(since=seq) if r["status"] >= 400]
    assert [r for r in refused if r["method"] == "DELETE"] == []  # the release itself never refused
    # Strict mode refuses the detach's TrunkSid="" (the adapter then uses the trunk's subresource).
    assert len(refused) == (1 if strict else 0), refused
    [released] = rig.events("Released")
    assert (
        "+14155550001" in released and "cannot be undone" in released and "nobody can buy it back" in released
    )
    # Gone for good: Twilio never sells it again (21422).
    rig2 = NumberRig(world, name="other", purchase={"country": "US", "contains": "+14155550001"})
    outcome = await rig2.reconcile()
    assert outcome.reason == "NoNumberAvailable"


async def test_release_is_refused_for_a_number_not_provably_bought_or_still_used(world: World) -> None:
    # The purchase tag removed from the friendly name by hand: no proof in Twilio any more.
    rig = await bought_line(world, releasePolicy="Release")
    world.emulator.patch_number(world.account.sid, "+14155550001", friendly_name="renamed by hand")
    assert "kept +14155550001" in await rig.delete()
    assert "+14155550001" in numbers_in_account(world)
    [refused] = rig.events("ReleaseRefused")
    assert "no longer carries this object's purchase tag" in refused and "stays in Twilio account" in refused

    # Another TwilioPhoneNumber asks for the number.
    other = NumberRig(
        world, name="second", purchase={"country": "US", "areaCode": "415"}, releasePolicy="Release"
    )
    assert (await other.reconcile()).ready
    assert "kept +14155550002" in await other.delete(others={"tenant-b/line"})
    assert "tenant-b/line uses it too" in other.events("ReleaseRefused")[0]

    # A forged status naming an imported number of the account: its friendly name carries no tag.
    imported_sid = numbers_in_account(world)["+15005550006"]["sid"]
    forged = NumberRig(world, name="forged", purchase=US_415, releasePolicy="Release")
    forged.status = {"sid": imported_sid, "purchase": {"sid": imported_sid}}
    assert "kept +15005550006" in await forged.delete()
    assert "+15005550006" in numbers_in_account(world)


async def test_an_imported_number_is_kept_whatever_the_policy_says(world: World) -> None:
    """The API server refuses releasePolicy Release without spec.purchase; a status or spec that got
    past it anyway (an older CRD) still never releases an imported number."""
    await ready_provider(world)
    rig = NumberRig(world, phoneNumber="+15005550006")
    assert (await rig.reconcile()).ready
    rig.spec["releasePolicy"] = "Release"

    assert "kept +15005550006" in await rig.delete()

    assert "+15005550006" in numbers_in_account(world)
    assert "it was imported, not bought by this object" in rig.events("ReleaseRefused")[0]
