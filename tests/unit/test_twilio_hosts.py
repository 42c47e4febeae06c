"""The hosts the twilio library is pointed at, as the operator builds its client (and the smoke tier
reuses it): ie1 and au1 need the region and its edge, `{product}.{edge}.{region}.twilio.com`; the
region alone gives `{product}.{region}.twilio.com`, a pattern Twilio retired (2026-04-28), so a
regional smoke run would have verified nothing."""

from __future__ import annotations

import pytest

from twilio_operator.api.credentials import TwilioCredentials
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.ports.twilio.adapter import library_client

ACCOUNT = "AC" + "0" * 32


@pytest.mark.parametrize(
    ("region", "api", "trunking", "routes"),
    [
        (None, "api.twilio.com", "trunking.twilio.com", "routes.twilio.com"),
        ("us1", "api.twilio.com", "trunking.twilio.com", "routes.twilio.com"),
        (
            "de1",
            "api.twilio.com",
            "trunking.twilio.com",
            "routes.twilio.com",
        ),  # an edge of the termination URI only
        (
            "ie1",
            "api.dublin.ie1.twilio.com",
            "trunking.dublin.ie1.twilio.com",
            "routes.dublin.ie1.twilio.com",
        ),
        (
            "au1",
            "api.sydney.au1.twilio.com",
            "trunking.sydney.au1.twilio.com",
            "routes.sydney.au1.twilio.com",
        ),
    ],
)
def test_the_client_reaches_the_regions_own_hosts(
    region: str | None, api: str, trunking: str, routes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.setenv(name, "jp1")  # never read: the operator's client ignores the environment
    client = library_client(TwilioCredentials(ACCOUNT, ACCOUNT, "0" * 32, ResolvedRegion.of(region)))
    for host, expected in (("api", api), ("trunking", trunking), ("routes", routes)):
        built = client.get_hostname(f"https://{host}.twilio.com/v1/Trunks")
        assert built == f"https://{expected}/v1/Trunks"
