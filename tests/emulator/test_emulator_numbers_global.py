"""Numbers are global, their voice configuration is per region, and the inbound route is one per number
(twilio.com/docs/global-infrastructure/localized-uris/regional-migration-best-practices: "phone numbers
you own are globally accessible resources, and available in all Home regions, their Voice
configurations are specific to a Region"). The trunk PhoneNumbers subresource is not served in IE1
(regional-product-and-feature-availability)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from fixtures.emulator import TwilioAccount, account_state
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError
from twilio_operator.ports.twilio.http import RewritingHttpClient

IE1 = {"region": "ie1", "edge": "dublin"}
AU1 = {"region": "au1", "edge": "sydney"}
NUMBER = "+15005550100"
STRICT = (400, 90000)


@pytest.fixture
def account(emulator: EmulatorAdmin) -> dict[str, Any]:
    """One account with distinct tokens in us1, ie1 and au1 and one number."""
    return emulator.create_account(
        incoming_phone_numbers=[{"phone_number": NUMBER}], regions={"ie1": {}, "au1": {}}
    )


def clients(url: str, account: dict[str, Any]) -> tuple[Client, Client, Client]:
    sid, regions = account["sid"], account["regions"]
    make = lambda token, where: Client(sid, token, http_client=RewritingHttpClient(url), **where)  # noqa: E731
    return (
        make(regions["us1"]["auth_token"], {}),
        make(regions["ie1"]["auth_token"], IE1),
        make(regions["au1"]["auth_token"], AU1),
    )


def refusal(call: Callable[[], Any]) -> tuple[int, int]:
    """(status, code) of a refused call; list calls raise a plain TwilioException with the response."""
    with pytest.raises(TwilioException) as err:
        call()
    if isinstance(err.value, TwilioRestException):
        return err.value.status, int(err.value.code)
    response = err.value.args[1]
    return response.status_code, int(json.loads(response.text)["code"])


def test_one_number_with_a_voice_configuration_per_region(
    emulator_url: str, emulator: EmulatorAdmin, account: dict[str, Any]
) -> None:
    us1, ie1, _ = clients(emulator_url, account)
    sid = account["sid"]
    us1_trunk = us1.trunking.v1.trunks.create(domain_name="global-us.pstn.twilio.com")
    pn = account["incoming_phone_numbers"][0]["sid"]
    us1.api.v2010.accounts(sid).incoming_phone_numbers(pn).update(trunk_sid=us1_trunk.sid)

    seen_from_ie1 = ie1.api.v2010.accounts(sid).incoming_phone_numbers(pn).fetch()
    assert (seen_from_ie1.sid, seen_from_ie1.phone_number) == (pn, NUMBER)
    assert seen_from_ie1.trunk_sid is None  # ie1's configuration is its own

    ie1.api.v2010.accounts(sid).incoming_phone_numbers(pn).update(voice_url="https://ie1.example.com/voice")
    ie1.api.v2010.accounts(sid).incoming_phone_numbers(pn).update(friendly_name="support")
    from_us1 = us1.api.v2010.accounts(sid).incoming_phone_numbers(pn).fetch()
    assert (from_us1.trunk_sid, from_us1.voice_url, from_us1.friendly_name) == (
        us1_trunk.sid,
        None,
        "support",
    )

    [listed] = emulator.numbers(sid)
    assert listed["voice"] == {
        "ie1": {
            "trunk_sid": None,
            "voice_url": "https://ie1.example.com/voice",
            "voice_application_sid": None,
        },
        "us1": {"trunk_sid": us1_trunk.sid, "voice_url": None, "voice_application_sid": None},
    }
    assert (listed["trunk_sid"], listed["region"]) == (us1_trunk.sid, "us1")
    [state_number] = account_state(emulator, sid)["incoming_phone_numbers"]
    assert state_number["voice"] == listed["voice"]


def test_one_inbound_route_per_number_for_the_whole_account(
    emulator_url: str, emulator: EmulatorAdmin, account: dict[str, Any]
) -> None:
    us1, ie1, au1 = clients(emulator_url, account)
    ie1.routes.v2.phone_numbers(NUMBER).update(voice_region="ie1")
    assert us1.routes.v2.phone_numbers(NUMBER).fetch().voice_region == "ie1"
    au1.routes.v2.phone_numbers(NUMBER).update(voice_region="au1")
    assert ie1.routes.v2.phone_numbers(NUMBER).fetch().voice_region == "au1"
    assert emulator.numbers(account["sid"])[0]["voice_region"] == "au1"
    state = account_state(emulator, account["sid"])
    assert [(r["phone_number"], r["voice_region"]) for r in state["number_routes"]] == [(NUMBER, "au1")]


def test_admin_sets_voice_configuration_and_route(
    emulator_url: str, emulator: EmulatorAdmin, account: dict[str, Any]
) -> None:
    us1, ie1, _ = clients(emulator_url, account)
    trunk = ie1.trunking.v1.trunks.create()
    patched = emulator.patch_number(
        account["sid"], NUMBER, voice={"ie1": {"trunk_sid": trunk.sid}}, voice_region="ie1"
    )
    assert (patched["voice"]["ie1"]["trunk_sid"], patched["voice_region"]) == (trunk.sid, "ie1")
    pn = patched["sid"]
    assert ie1.api.v2010.accounts(account["sid"]).incoming_phone_numbers(pn).fetch().trunk_sid == trunk.sid
    assert us1.api.v2010.accounts(account["sid"]).incoming_phone_numbers(pn).fetch().trunk_sid is None
    assert us1.routes.v2.phone_numbers(NUMBER).fetch().voice_region == "ie1"
    emulator.patch_number(account["sid"], pn, voice_region=None)
    with pytest.raises(TwilioRestException) as err:
        us1.routes.v2.phone_numbers(NUMBER).fetch()
    assert err.value.status == 404
    with pytest.raises(EmulatorAdminError) as refused:  # a trunk of another region is refused
        emulator.patch_number(account["sid"], pn, voice={"us1": {"trunk_sid": trunk.sid}})
    assert refused.value.status == 400


def test_seeded_numbers_take_voice_settings_per_region(emulator: EmulatorAdmin) -> None:
    account = emulator.create_account(
        incoming_phone_numbers=[{"phone_number": "+15005550111", "voice_url": "https://us.example.com"}],
        regions={
            "ie1": {
                "incoming_phone_numbers": [
                    {"phone_number": "+353100000009", "voice_url": "https://ie.example.com"}
                ]
            }
        },
    )
    numbers = {n["phone_number"]: n["voice"] for n in emulator.numbers(account["sid"])}
    assert numbers == {
        "+15005550111": {
            "us1": {"trunk_sid": None, "voice_url": "https://us.example.com", "voice_application_sid": None}
        },
        "+353100000009": {
            "ie1": {"trunk_sid": None, "voice_url": "https://ie.example.com", "voice_application_sid": None}
        },
    }


def test_deleting_a_trunk_detaches_numbers_only_in_its_region(
    emulator_url: str, account: dict[str, Any]
) -> None:
    us1, ie1, _ = clients(emulator_url, account)
    sid, pn = account["sid"], account["incoming_phone_numbers"][0]["sid"]
    us1_trunk, ie1_trunk = us1.trunking.v1.trunks.create(), ie1.trunking.v1.trunks.create()
    us1.api.v2010.accounts(sid).incoming_phone_numbers(pn).update(trunk_sid=us1_trunk.sid)
    ie1.api.v2010.accounts(sid).incoming_phone_numbers(pn).update(trunk_sid=ie1_trunk.sid)
    ie1.trunking.v1.trunks(ie1_trunk.sid).delete()
    assert ie1.api.v2010.accounts(sid).incoming_phone_numbers(pn).fetch().trunk_sid is None
    assert us1.api.v2010.accounts(sid).incoming_phone_numbers(pn).fetch().trunk_sid == us1_trunk.sid


def test_releasing_removes_the_number_from_every_region(emulator_url: str, account: dict[str, Any]) -> None:
    us1, ie1, _ = clients(emulator_url, account)
    sid, pn = account["sid"], account["incoming_phone_numbers"][0]["sid"]
    ie1.api.v2010.accounts(sid).incoming_phone_numbers(pn).delete()
    assert us1.api.v2010.accounts(sid).incoming_phone_numbers.list() == []
    with pytest.raises(TwilioRestException) as err:
        us1.api.v2010.accounts(sid).incoming_phone_numbers(pn).fetch()
    assert err.value.status == 404


def test_trunk_phone_numbers_subresource_is_not_served_in_ie1(
    emulator_url: str, emulator: EmulatorAdmin, account: dict[str, Any]
) -> None:
    us1, ie1, au1 = clients(emulator_url, account)
    pn = account["incoming_phone_numbers"][0]["sid"]
    ie1_trunk = ie1.trunking.v1.trunks.create()
    for call in (
        lambda: ie1.trunking.v1.trunks(ie1_trunk.sid).phone_numbers.create(phone_number_sid=pn),
        lambda: ie1.trunking.v1.trunks(ie1_trunk.sid).phone_numbers.list(),
        lambda: ie1.trunking.v1.trunks(ie1_trunk.sid).phone_numbers(pn).delete(),
    ):
        assert refusal(call) == (404, 20404)  # assumed answer
    # Updating the number works in IE1; the subresource works in US1 and (by default) AU1.
    ie1.api.v2010.accounts(account["sid"]).incoming_phone_numbers(pn).update(trunk_sid=ie1_trunk.sid)
    us1_trunk, au1_trunk = us1.trunking.v1.trunks.create(), au1.trunking.v1.trunks.create()
    assert (
        us1.trunking.v1.trunks(us1_trunk.sid).phone_numbers.create(phone_number_sid=pn).trunk_sid
        == us1_trunk.sid
    )
    assert (
        au1.trunking.v1.trunks(au1_trunk.sid).phone_numbers.create(phone_number_sid=pn).trunk_sid
        == au1_trunk.sid
    )
    # Strict mode: Twilio's answer is not documented, and AU1's list could not be read: refused there too.
    emulator.configure(strict=True)
    for client, trunk in ((ie1, ie1_trunk), (au1, au1_trunk)):
        with pytest.raises(TwilioRestException) as err:
            client.trunking.v1.trunks(trunk.sid).phone_numbers(pn).delete()
        assert (err.value.status, err.value.code) == STRICT
    us1.trunking.v1.trunks(us1_trunk.sid).phone_numbers(pn).delete()


def test_same_domain_once_per_region_and_the_route_is_per_domain(
    emulator_url: str, emulator: EmulatorAdmin, account: dict[str, Any]
) -> None:
    """regional-sip-trunks: "You can create an SIP Trunk with the same friendly name and Termination
    URI in multiple Regions"; a second one in the same region: 21248 (strict mode: 21245)."""
    us1, ie1, _ = clients(emulator_url, account)
    domain = "twin.pstn.twilio.com"
    first = us1.trunking.v1.trunks.create(domain_name=domain)
    second = ie1.trunking.v1.trunks.create(domain_name=domain)
    with pytest.raises(TwilioRestException) as err:
        us1.trunking.v1.trunks.create(domain_name=domain)
    assert (err.value.status, err.value.code) == (400, 21248)
    emulator.configure(strict=True)
    with pytest.raises(TwilioRestException) as err:
        ie1.trunking.v1.trunks.create(domain_name=domain)
    assert (err.value.status, err.value.code) == (400, 21245)
    emulator.configure(strict=False)
    ie1.routes.v2.trunks(domain).update(voice_region="ie1")
    assert us1.routes.v2.trunks(domain).fetch().voice_region == "ie1"
    us1.trunking.v1.trunks(first.sid).delete()  # the ie1 trunk still holds the domain and its route
    assert ie1.routes.v2.trunks(domain).fetch().voice_region == "ie1"
    ie1.trunking.v1.trunks(second.sid).delete()
    state = emulator.state()
    assert domain in state["reserved_domains"]
    with pytest.raises(TwilioRestException) as err:
        us1.trunking.v1.trunks.create(domain_name=domain)
    assert err.value.code == 21248


@pytest.mark.parametrize("strict", [False, True])  # documented: the same in both modes
def test_subdomains_need_a_parent_of_the_same_account(
    emulator_url: str,
    emulator: EmulatorAdmin,
    account: dict[str, Any],
    strict: bool,
) -> None:
    """Catalogue 21247 "Trunk Dependencies": subdomains need their parent; a parent with subdomains
    cannot be deleted or renamed."""
    emulator.configure(strict=strict)
    us1, _, _ = clients(emulator_url, account)
    with pytest.raises(TwilioRestException) as err:
        us1.trunking.v1.trunks.create(domain_name="east.acme.pstn.twilio.com")
    assert (err.value.status, err.value.code) == (400, 21247)
    parent = us1.trunking.v1.trunks.create(domain_name="acme.pstn.twilio.com")
    child = us1.trunking.v1.trunks.create(domain_name="east.acme.pstn.twilio.com")
    assert child.domain_name == "east.acme.pstn.twilio.com"
    other = TwilioAccount.create(emulator)
    other_client = Client(other.sid, other.auth_token, http_client=RewritingHttpClient(emulator_url))
    with pytest.raises(TwilioRestException) as err:
        other_client.trunking.v1.trunks.create(domain_name="west.acme.pstn.twilio.com")
    assert err.value.code == 21247
    for call in (
        lambda: us1.trunking.v1.trunks(parent.sid).delete(),
        lambda: us1.trunking.v1.trunks(parent.sid).update(domain_name="renamed.pstn.twilio.com"),
    ):
        with pytest.raises(TwilioRestException) as err:
            call()
        assert (err.value.status, err.value.code) == (400, 21247)
    us1.trunking.v1.trunks(child.sid).delete()
    us1.trunking.v1.trunks(parent.sid).delete()


def test_transfer_mode_has_three_values(emulator_url: str, account: dict[str, Any]) -> None:
    us1, _, _ = clients(emulator_url, account)
    trunk = us1.trunking.v1.trunks.create()
    for mode in ("enable-all", "sip-only", "disable-all"):
        assert us1.trunking.v1.trunks(trunk.sid).update(transfer_mode=mode).transfer_mode == mode
    with pytest.raises(TwilioRestException) as err:
        us1.trunking.v1.trunks(trunk.sid).update(transfer_mode="pstn-only")
    assert err.value.status == 400
