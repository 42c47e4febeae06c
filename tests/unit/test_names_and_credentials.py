"""Pure decisions: names, credentials parsing, passwords, verdicts."""

from __future__ import annotations

import uuid

import pytest

from twilio_operator.api import credentials, names
from twilio_operator.api.credentials import TwilioCredentials
from twilio_operator.api.models import CredentialsSecretRef
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.provider import verification as checks
from twilio_operator.provider.verification import Check

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
    assert names.trunk_domain(UID, recreations) == domain
    assert names.domain_recreation(UID, domain) == recreations


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
    assert names.domain_recreation(UID, domain) is None


def test_names_fit_twilio_limits() -> None:
    long_name = "x" * 100
    assert len(names.trunk_friendly_name(long_name)) == 64
    assert len(names.credential_list_name(long_name, UID)) <= 64
    assert names.is_our_credential_list(names.credential_list_name(long_name, UID), UID)
    assert not names.is_our_credential_list(names.credential_list_name("a", str(uuid.uuid4())), UID)
    assert len(names.sip_username(UID)) == 32


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
    assert names.termination_uri("twp-x.pstn.twilio.com", ResolvedRegion.of(region)) == uri


@pytest.mark.parametrize(
    ("region", "client"), [(None, None), ("us1", None), ("de1", None), ("ie1", "ie1"), ("au1", "au1")]
)
def test_only_processing_regions_change_the_rest_region(region: str | None, client: str | None) -> None:
    assert ResolvedRegion.of(region).client == client


def test_generated_passwords_meet_twilio_rules_and_differ() -> None:
    passwords = {credentials.generate_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(len(p) == 32 and credentials.meets_twilio_password_rules(p) for p in passwords)


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
    assert credentials.meets_twilio_password_rules(password) is ok


def test_fingerprint_is_salted_and_never_the_password() -> None:
    fp = credentials.password_fingerprint(UID, "Secret1Password")
    assert "Secret1Password" not in fp
    assert fp != credentials.password_fingerprint(str(uuid.uuid4()), "Secret1Password")


TOKEN_REF = CredentialsSecretRef(name="creds")
KEY_REF = CredentialsSecretRef(name="creds", api_key_sid_key="sid", api_key_secret_key="secret")


@pytest.mark.parametrize(
    ("ref", "data", "expected"),
    [
        (TOKEN_REF, None, "SecretNotFound"),
        (TOKEN_REF, {}, "SecretKeyMissing"),
        (TOKEN_REF, {"authToken": b"ABCDEF0123456789ABCDEF0123456789"}, "SecretInvalid"),
        (TOKEN_REF, {"authToken": b"\x00\xff"}, "SecretInvalid"),
        (TOKEN_REF, {"authToken": TOKEN.encode()}, TwilioCredentials(AC, AC, TOKEN)),
        (TOKEN_REF, {"authToken": (TOKEN + "\n").encode()}, TwilioCredentials(AC, AC, TOKEN)),
        (KEY_REF, {"sid": b"SK" + b"1" * 32}, "SecretKeyMissing"),
        (KEY_REF, {"sid": b"AC" + b"1" * 32, "secret": b"s" * 32}, "SecretInvalid"),
        (KEY_REF, {"sid": b"SK" + b"1" * 32, "secret": b"bad secret!"}, "SecretInvalid"),
        (
            KEY_REF,
            {"sid": b"SK" + b"1" * 32, "secret": b"s" * 32},
            TwilioCredentials(AC, "SK" + "1" * 32, "s" * 32),
        ),
    ],
)
def test_parse_credentials(ref: CredentialsSecretRef, data: dict | None, expected: object) -> None:
    result = credentials.parse_credentials(ref, "ns", data, AC, ResolvedRegion())
    if isinstance(expected, str):
        assert isinstance(result, credentials.CredentialProblem) and result.reason == expected
        assert "Secret ns/creds" in result.message
        for value in (data or {}).values():
            assert value.decode(errors="ignore") not in result.message or not value
    else:
        assert result == expected


def test_credentials_repr_hides_the_secret() -> None:
    assert TOKEN not in repr(TwilioCredentials(AC, AC, TOKEN))


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
    results = [Check(f"c{i}", s, "") for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    assert checks.verdict(results) == verdict


def _sip_secret(uid: str, generated: str, **overrides: str) -> tuple[dict[str, bytes], dict[str, str]]:
    values = {
        names.SIP_USERNAME: names.sip_username(uid),
        names.SIP_PASSWORD: generated,
        names.SIP_DOMAIN: "twp-x.pstn.twilio.com",
        names.SIP_TERMINATION_URI: "sip:twp-x.pstn.twilio.com",
        names.SIP_TRUNK_SID: "TK" + "0" * 32,
        **overrides,
    }
    annotations = {names.PASSWORD_FINGERPRINT: credentials.password_fingerprint(uid, generated)}
    return {k: v.encode() for k, v in values.items()}, annotations


@pytest.mark.parametrize(
    ("edit", "intact"),
    [
        ({}, True),
        ({names.SIP_PASSWORD: "Other1Password"}, False),  # the fingerprint no longer matches it
        ({names.SIP_USERNAME: "someone-else"}, False),
        ({names.SIP_DOMAIN: "elsewhere.pstn.twilio.com"}, False),
        ({names.SIP_TERMINATION_URI: "sip:elsewhere"}, False),
        ({names.SIP_TRUNK_SID: "TK" + "1" * 32}, False),
    ],
)
def test_a_sip_secret_is_intact_only_when_every_key_is_what_the_operator_wrote(
    edit: dict[str, str], intact: bool
) -> None:
    expected, annotations = _sip_secret(UID, "Secret1Password")
    data, _ = _sip_secret(UID, "Secret1Password", **edit)
    connection = {k: v.decode() for k, v in expected.items() if k != names.SIP_PASSWORD}
    assert credentials.sip_secret_intact(UID, data, annotations, connection) is intact


@pytest.mark.parametrize(
    ("wanted", "drift"),
    [
        (None, {}),
        ({}, {}),  # nothing stated: nothing compared
        ({"secure": True}, {"secure": True}),
        ({"secure": False}, {}),  # equal to the trunk
        (
            {"cnam_lookup_enabled": True, "transfer_caller_id": "from-transferee"},
            {"cnam_lookup_enabled": True},
        ),
        (
            {"disaster_recovery_url": "https://x.example/dr"},
            {"disaster_recovery_url": "https://x.example/dr"},
        ),
    ],
)
def test_trunk_drift_compares_only_what_the_spec_states(wanted: dict | None, drift: dict) -> None:
    from twilio_operator.api.models import TwilioProviderSpec, TwilioProviderStatus
    from twilio_operator.api.twilio_values import CredentialList, Trunk
    from twilio_operator.provider.diff import TwilioSeen, UpdateTrunk, diff
    from twilio_operator.provider.resource import Provider

    trunk = Trunk(sid="TK" + "1" * 32, domain_name="d", friendly_name="f", transfer_mode="disable-all")
    body = {
        "displayName": "f",
        "accountSid": AC,
        "credentialsSecretRef": {"name": "s"},
        "trunkSid": trunk.sid,
    }
    if wanted is not None:
        body["trunk"] = {
            "".join(w.title() if i else w for i, w in enumerate(k.split("_"))): v for k, v in wanted.items()
        }
    spec = TwilioProviderSpec.model_validate(body)  # adopted: name and transfer mode are not compared
    provider = Provider("ns", "acme", UID, 1, spec, TwilioProviderStatus())
    seen = TwilioSeen(trunk, CredentialList("CL1", "x"), attached_lists=("CL1",))
    updates = [c for c in diff(provider, seen) if isinstance(c, UpdateTrunk)]
    assert (dict(updates[0].fields) if updates else {}) == drift


def test_number_manifest_selection_and_names() -> None:
    from twilio_operator.phone_number.manifest import manifests, object_name, select

    numbers = ["+15005550006", "+15005550007", "+442071234567"]
    assert select(numbers, everything=True, pattern=None, wanted=[]) == (numbers, [])
    assert select(numbers, everything=False, pattern=r"^\+1", wanted=[]) == (numbers[:2], [])
    assert select(numbers, everything=False, pattern=None, wanted=["+442071234567", "+1999"]) == (
        ["+442071234567"],
        ["+1999"],
    )
    assert object_name("acme", "+15005550006") == "acme-15005550006"
    assert len(object_name("x" * 253, "+15005550006")) == 253
    [doc] = manifests("acme", "ns", ["+15005550006"])
    assert doc["metadata"] == {"name": "acme-15005550006", "namespace": "ns"}


def test_switching_back_to_a_token_with_a_merge_patch_says_which_fields_to_remove() -> None:
    """A merge patch that sets authTokenKey keeps apiKeySidKey/apiKeySecretKey: say so."""
    ref = CredentialsSecretRef.model_validate(
        {
            "name": "creds",
            "authTokenKey": "authToken",
            "apiKeySidKey": "keySid",
            "apiKeySecretKey": "keySecret",
        }
    )
    problem = credentials.parse_credentials(ref, "ns", {"authToken": b"0" * 32}, AC, ResolvedRegion())
    assert isinstance(problem, credentials.CredentialProblem)
    assert problem.reason == "SecretKeyMissing"
    assert "remove both fields" in problem.message and "sets them to null" in problem.message
    assert "0" * 32 not in problem.message
