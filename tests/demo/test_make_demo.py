"""`make demo` (hack/demo.py) runs end to end on this machine and prints no secret.

Needs the control-plane binaries (`make controlplane`), like the integration tier.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from twilio_operator.api.credentials import meets_twilio_password_rules

REPO = Path(__file__).resolve().parents[2]
SIP_SECRET_KEYS = ("password", "sipDomain", "terminationUri", "trunkSid", "username")
# A generated SIP password: 32 letters and digits (plan.generate_password), standing alone.
PASSWORD_LIKE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])")
BASE64_LIKE = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40,}={0,2}")


def example_auth_token() -> str:
    secret = yaml.safe_load((REPO / "examples" / "01-credentials-secret.yaml").read_text())
    token: str = secret["stringData"]["authToken"]
    return token


def looks_like_sip_password(text: str) -> bool:
    return any(meets_twilio_password_rules(m.group()) for m in PASSWORD_LIKE.finditer(text))


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "hack" / "demo.py"), "--number-timeout", "15"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(150)
def test_demo_gets_the_provider_ready(demo: subprocess.CompletedProcess[str]) -> None:
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-4000:]
    ready_line = r"OK: TwilioProvider acme is Ready after [0-9.]+s \(trunk TK[0-9a-f]{32}"
    assert re.search(ready_line, output), output
    assert re.search(r"^\s+acme\s+True\s+verified\s+TK[0-9a-f]{32}", output, re.MULTILINE), output
    keys = re.search(r"acme-sip-credentials.*\n((?:[ \t]+\w+\n)+)", output)
    assert keys is not None, output
    assert tuple(keys.group(1).split()) == SIP_SECRET_KEYS
    assert "TwilioPhoneNumber support-line" in output  # reported either way, Ready or not
    assert "Cleaning up" in output


@pytest.mark.timeout(150)
def test_demo_prints_no_secret(demo: subprocess.CompletedProcess[str]) -> None:
    output = demo.stdout + demo.stderr
    token = example_auth_token()
    assert token not in output
    assert base64.b64encode(token.encode()).decode() not in output
    assert not looks_like_sip_password(output)
    for encoded in BASE64_LIKE.findall(output):  # nor a Secret value as kubectl would show it
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            continue
        assert not looks_like_sip_password(decoded) and token not in decoded


def test_the_password_check_would_catch_a_password() -> None:
    from twilio_operator.api.credentials import generate_password

    password = generate_password()
    assert looks_like_sip_password(f"password: {password}\n")
    assert not looks_like_sip_password("trunk TKc0cca84299ab6b60cff167675819360e")


# A LiveKit API secret of the harness: 40 URL-safe characters (testing/livekit.py), standing alone.
URLSAFE_40 = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40}(?![A-Za-z0-9_-])")


@pytest.fixture(scope="module")
def livekit_demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "hack" / "demo.py"), "--livekit", "--number-timeout", "15"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.timeout(300)
def test_demo_livekit_shows_numbers_reaching_their_agents_and_a_rotation(
    livekit_demo: subprocess.CompletedProcess[str],
) -> None:
    """`make demo-livekit`: the connection Ready, one dispatch rule per agent, the Twilio trunk pointing
    at LiveKit, and LiveKit's outbound pair accepted by Twilio before and after a rotation."""
    output = livekit_demo.stdout + livekit_demo.stderr
    assert livekit_demo.returncode == 0, output[-4000:]
    assert re.search(r"OK: LiveKitConnection agents is Ready after [0-9.]+s", output), output
    assert re.search(r"^\s+agents\s+acme\s+True\s+2\s+ST_\w+\s+ST_\w+\s+False", output, re.MULTILINE), output
    assert re.search(r"dispatch rule SDR_\w+: \+15005550006 -> agent support-agent", output), output
    assert re.search(r"dispatch rule SDR_\w+: \+15005550007 -> agent sales-agent", output), output
    assert "origination: sip:myproject.sip.livekit.cloud;transport=tcp" in output
    before = re.search(r"before: LiveKit dials as (\w+); Twilio accepts it: True", output)
    after = re.search(
        r"after:  LiveKit dials as (\w+) \(status.outboundTrunk.username (\w+)\); Twilio accepts it: True",
        output,
    )
    assert before and after, output
    assert after.group(1) == after.group(2) != before.group(1)
    assert "Cleaning up" in output


@pytest.mark.timeout(300)
def test_demo_livekit_prints_no_secret(livekit_demo: subprocess.CompletedProcess[str]) -> None:
    output = livekit_demo.stdout + livekit_demo.stderr
    assert not looks_like_sip_password(output)
    assert URLSAFE_40.findall(output) == []  # the LiveKit API secret of the harness
    assert example_auth_token() not in output
