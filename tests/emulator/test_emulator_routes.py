"""routes.twilio.com/v2 (twilio.com/docs/global-infrastructure/inbound-processing-api): a trunk or
number has an inbound processing region only once one was assigned; before that GET is a 404 (US1).
VoiceRegion takes a processing region, not an edge."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin

DOMAIN = "routes-test.pstn.twilio.com"


def test_trunk_route_is_404_until_set_and_get_creates_nothing(
    twilio_client: Client, emulator: EmulatorAdmin
) -> None:
    twilio_client.trunking.v1.trunks.create(domain_name=DOMAIN)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            twilio_client.routes.v2.trunks(DOMAIN).fetch()
        assert (err.value.status, err.value.code) == (404, 20404)
    assert emulator.state()["accounts"][0]["routes"] == []
    route = twilio_client.routes.v2.trunks(DOMAIN).update(voice_region="au1", friendly_name="to sydney")
    assert (route.voice_region, route.sip_trunk_domain, route.friendly_name) == ("au1", DOMAIN, "to sydney")
    fetched = twilio_client.routes.v2.trunks(DOMAIN).fetch()
    assert (fetched.sid, fetched.voice_region) == (route.sid, "au1")
    assert twilio_client.routes.v2.trunks(DOMAIN).update(voice_region="us1").sid == route.sid


def test_route_of_an_unknown_trunk_is_404(twilio_client: Client) -> None:
    with pytest.raises(TwilioRestException) as err:
        twilio_client.routes.v2.trunks("nobody.pstn.twilio.com").update(voice_region="ie1")
    assert err.value.status == 404


@pytest.mark.parametrize("value", ["us2", "de1", "dublin", "IE1", ""])
def test_voice_region_must_be_a_processing_region(twilio_client: Client, value: str) -> None:
    twilio_client.trunking.v1.trunks.create(domain_name=DOMAIN)
    number = "+15005550006"
    for call in (
        lambda: twilio_client.routes.v2.trunks(DOMAIN).update(voice_region=value),
        lambda: twilio_client.routes.v2.phone_numbers(number).update(voice_region=value),
    ):
        with pytest.raises(TwilioRestException) as err:
            call()
        assert (err.value.status, err.value.code) == (400, 21252)


def test_phone_number_route(twilio_client: Client, twilio_account: TwilioAccount) -> None:
    number = twilio_account.incoming_phone_numbers[0].phone_number
    with pytest.raises(TwilioRestException) as err:
        twilio_client.routes.v2.phone_numbers(number).fetch()
    assert err.value.status == 404
    route = twilio_client.routes.v2.phone_numbers(number).update(voice_region="ie1")
    assert (route.phone_number, route.voice_region) == (number, "ie1")
    assert route.sid.startswith("QQ") and route.account_sid == twilio_account.sid
    assert twilio_client.routes.v2.phone_numbers(number).fetch().voice_region == "ie1"
    # The other number still has none.
    other = twilio_account.incoming_phone_numbers[1].phone_number
    with pytest.raises(TwilioRestException):
        twilio_client.routes.v2.phone_numbers(other).fetch()


@pytest.mark.parametrize("number", ["+19999999999", "15005550006"])
def test_phone_number_route_needs_a_number_of_the_account(twilio_client: Client, number: str) -> None:
    with pytest.raises(TwilioRestException) as err:
        twilio_client.routes.v2.phone_numbers(number).update(voice_region="ie1")
    assert (err.value.status, err.value.code) == (404, 20404)


def test_releasing_a_number_drops_its_route(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    number = twilio_account.incoming_phone_numbers[0]
    twilio_client.routes.v2.phone_numbers(number.phone_number).update(voice_region="au1")
    twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers(number.sid).delete()
    # The same number bought again starts without a route.
    emulator.add_numbers(twilio_account.sid, numbers=[{"phone_number": number.phone_number}])
    with pytest.raises(TwilioRestException) as err:
        twilio_client.routes.v2.phone_numbers(number.phone_number).fetch()
    assert err.value.status == 404
