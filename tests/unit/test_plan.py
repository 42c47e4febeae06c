"""Pure decisions: names, credentials parsing, passwords, verdicts."""

from __future__ import annotations

import uuid

import pytest

from twilio_operator import plan
from twilio_operator.models import CredentialsSecretRef
from twilio_operator.twilio_gateway import TwilioCredentials

UID = "0f8fad5b-d9cb-469f-a165-70867728950e"
AC = "AC" + "a" * 32
TOKEN = "0123456789abcdef" * 2


@pytest.mark.parametrize(
    ("recreations", "domain"),
    [
        (0, "twp-0f8fad5bd9cb469fa16570867728950e.pstn.twilio.com"),
        (1, "twp-0f8fad5bd9cb469fa16570867728950e-r1.pstn.twilio.com"),
        (12, "twp-0f8fad5bd9cb469fa16570867728950e-r12.pstn.twilio.com"),
    ],
)
def test_trunk_domain_is_derived_from_the_uid(recreations: int, domain: str) -> None:
    assert plan.trunk_domain(UID, recreations) == domain
    assert plan.domain_recreation(UID, domain) == recreations


@pytest.mark.parametrize(
    "domain",
    [
        "twp-0f8fad5bd9cb469fa16570867728950f.pstn.twilio.com",  # another object
        "twp-0f8fad5bd9cb469fa16570867728950e.pstn.twilio.com.evil",
        "acme.pstn.twilio.com",
        "twp-0f8fad5bd9cb469fa16570867728950e-rx.pstn.twilio.com",
    ],
)
def test_foreign_domains_are_not_ours(domain: str) -> None:
    assert plan.domain_recreation(UID, domain) is None


def test_names_fit_twilio_limits() -> None:
    long_name = "x" * 100
    assert len(plan.trunk_friendly_name(long_name)) == 64
    assert len(plan.credential_list_name(long_name, UID)) <= 64
    assert plan.is_our_credential_list(plan.credential_list_name(long_name, UID), UID)
    assert not plan.is_our_credential_list(plan.credential_list_name("a", str(uuid.uuid4())), UID)
    assert len(plan.sip_username(UID)) == 32


@pytest.mark.parametrize(
    ("region", "uri"),
    [
        (None, "sip:twp-x.pstn.twilio.com"),
        ("us1", "sip:twp-x.pstn.ashburn.twilio.com"),
        ("de1", "sip:twp-x.pstn.frankfurt.twilio.com"),
        ("ie1", "sip:twp-x.pstn.dublin.twilio.com"),
        ("br1", "sip:twp-x.pstn.sao-paulo.twilio.com"),
    ],
)
def test_termination_uri_uses_the_edge_of_the_region(region: str | None, uri: str) -> None:
    assert plan.termination_uri("twp-x.pstn.twilio.com", region) == uri


@pytest.mark.parametrize(
    ("region", "client"), [(None, None), ("us1", None), ("de1", None), ("ie1", "ie1"), ("au1", "au1")]
)
def test_only_processing_regions_change_the_rest_region(region: str | None, client: str | None) -> None:
    assert plan.client_region(region) == client


def test_generated_passwords_meet_twilio_rules_and_differ() -> None:
    passwords = {plan.generate_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(len(p) == 32 and plan.meets_twilio_password_rules(p) for p in passwords)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Short1a", False),
        ("alllowercase123", False),
        ("ALLUPPER123456", False),
        ("NoDigitsHereAtAll", False),
        ("Good1Password", True),
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    assert plan.meets_twilio_password_rules(password) is ok


def test_fingerprint_is_salted_and_never_the_password() -> None:
    fp = plan.password_fingerprint(UID, "Secret1Password")
    assert "Secret1Password" not in fp
    assert fp != plan.password_fingerprint(str(uuid.uuid4()), "Secret1Password")


TOKEN_REF = CredentialsSecretRef(name="creds")
KEY_REF = CredentialsSecretRef(name="creds", api_key_sid_key="sid", api_key_secret_key="secret")


@pytest.mark.parametrize(
    ("ref", "data", "expected"),
    [
        (TOKEN_REF, None, "SecretNotFound"),
        (TOKEN_REF, {}, "SecretKeyMissing"),
        (TOKEN_REF, {"authToken": b"ABCDEF0123456789ABCDEF0123456789"}, "SecretInvalid"),
        (TOKEN_REF, {"authToken": b"\x00\xff"}, "SecretInvalid"),
        (TOKEN_REF, {"authToken": TOKEN.encode()}, TwilioCredentials(AC, AC, TOKEN, None)),
        (TOKEN_REF, {"authToken": (TOKEN + "\n").encode()}, TwilioCredentials(AC, AC, TOKEN, None)),
        (KEY_REF, {"sid": b"SK" + b"1" * 32}, "SecretKeyMissing"),
        (KEY_REF, {"sid": b"AC" + b"1" * 32, "secret": b"s" * 32}, "SecretInvalid"),
        (KEY_REF, {"sid": b"SK" + b"1" * 32, "secret": b"bad secret!"}, "SecretInvalid"),
        (
            KEY_REF,
            {"sid": b"SK" + b"1" * 32, "secret": b"s" * 32},
            TwilioCredentials(AC, "SK" + "1" * 32, "s" * 32, None),
        ),
    ],
)
def test_parse_credentials(ref: CredentialsSecretRef, data: dict | None, expected: object) -> None:
    result = plan.parse_credentials(ref, "ns", data, AC, None)
    if isinstance(expected, str):
        assert isinstance(result, plan.CredentialProblem) and result.reason == expected
        assert "Secret ns/creds" in result.message
        for value in (data or {}).values():
            assert value.decode(errors="ignore") not in result.message or not value
    else:
        assert result == expected


def test_credentials_repr_hides_the_secret() -> None:
    assert TOKEN not in repr(TwilioCredentials(AC, AC, TOKEN, None))


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((), "pending"),
        (("passed",), "verified"),
        (("passed", "warning"), "warning"),
        (("warning", "failed"), "failed"),
    ],
)
def test_verdict(statuses: tuple[str, ...], verdict: str) -> None:
    checks = [plan.Check(f"c{i}", s, "") for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    assert plan.verdict(checks) == verdict
