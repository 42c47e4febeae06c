"""The consumer templates of examples/sip-templates/ render into what LiveKit, Asterisk and FreeSWITCH
read: JSON with the field names of `lk sip outbound create`, pjsip.conf sections, gateway XML."""

from __future__ import annotations

import configparser
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from twilio_operator.api.models import TwilioProviderSpec
from twilio_operator.api.templating import render_all

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sip-templates"
VARIABLES = {
    "username": "0f8fad5bd9cb469fa165r1764504000",
    "password": "Abcdefghijklmnopqrstuvwxyz012345",
    "sipDomain": "twp-0f8fad5bd9cb469fa16570867728950e.pstn.twilio.com",
    "terminationUri": "sip:twp-0f8fad5bd9cb469fa16570867728950e.pstn.ashburn.twilio.com",
    "trunkSid": "TK" + "0" * 32,
    "region": "us1",
    "previousUsername": "0f8fad5bd9cb469fa16570867728950e",
    "previousPassword": "Zyxwvutsrqponmlkjihgfedcba987654",
}


def rendered(name: str) -> dict[str, str]:
    body: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    spec = TwilioProviderSpec.model_validate(body["spec"])
    assert spec.sip_credentials is not None and spec.sip_credentials.template is not None
    data, problems = render_all(spec.sip_credentials.template.data, VARIABLES)
    assert problems == []
    return data


def test_livekit_outbound_trunk_request() -> None:
    request = json.loads(rendered("livekit.yaml")["outbound-trunk.json"])
    trunk = request["trunk"]
    assert set(trunk) == {"name", "address", "numbers", "authUsername", "authPassword"}
    assert trunk["address"] == VARIABLES["sipDomain"]
    assert (trunk["authUsername"], trunk["authPassword"]) == (VARIABLES["username"], VARIABLES["password"])
    assert all(n.startswith("+") for n in trunk["numbers"])


def test_asterisk_pjsip_sections() -> None:
    config = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",))
    config.read_string(rendered("asterisk.yaml")["pjsip-twilio.conf"])
    auth, aor, endpoint = config["twilio-auth"], config["twilio-aor"], config["twilio"]
    assert (auth["type"], auth["auth_type"]) == ("auth", "userpass")
    assert (auth["username"], auth["password"]) == (VARIABLES["username"], VARIABLES["password"])
    assert aor["type"] == "aor" and aor["contact"] == VARIABLES["terminationUri"]
    assert endpoint["type"] == "endpoint"
    assert endpoint["outbound_auth"] == "twilio-auth" and endpoint["aors"] == "twilio-aor"


def test_freeswitch_gateway_xml() -> None:
    root = ET.fromstring(rendered("freeswitch.yaml")["twilio-gateway.xml"])
    gateway = root.find("gateway")
    assert gateway is not None and gateway.get("name") == "twilio"
    params = {p.get("name"): p.get("value") for p in gateway.findall("param")}
    assert (params["username"], params["password"]) == (VARIABLES["username"], VARIABLES["password"])
    assert params["proxy"] == VARIABLES["terminationUri"].removeprefix("sip:")
    assert params["register"] == "false"


@pytest.mark.parametrize("name", ["livekit.yaml", "asterisk.yaml", "freeswitch.yaml"])
def test_examples_never_render_the_previous_password(name: str) -> None:
    assert all(VARIABLES["previousPassword"] not in value for value in rendered(name).values())
