"""Credentials, both directions: the customer's Twilio credentials parsed from their Secret, and the
SIP password the operator generates, with the rule that tells whether its Secret is still intact.

Pure functions over values: the Secret's bytes come in, a verdict goes out; values never leave in a
message (messages name the Secret and the key, never what is in it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.models import CredentialsSecretRef
from twilio_operator.api.regions import ResolvedRegion

AUTH_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
API_KEY_SID_RE = re.compile(r"^SK[0-9a-f]{32}$")
API_KEY_SECRET_RE = re.compile(r"^[A-Za-z0-9]{16,128}$")
PASSWORD_LENGTH = 32
PASSWORD_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class TwilioCredentials:
    """How to authenticate as one account. `secret` is an Auth Token or an API key secret."""

    account_sid: str
    username: str  # the Account SID, or an API key SID (SK...)
    secret: str = field(repr=False)
    region: ResolvedRegion = field(default_factory=ResolvedRegion)


@dataclass(frozen=True)
class CredentialProblem:
    """Why the credentials Secret cannot be used. The message names Secret and key, never a value."""

    reason: str
    message: str


def parse_credentials(
    ref: CredentialsSecretRef,
    namespace: str,
    data: Mapping[str, bytes] | None,
    account_sid: str,
    region: ResolvedRegion,
) -> TwilioCredentials | CredentialProblem:
    where = f"Secret {namespace}/{ref.name}"
    if data is None:
        return CredentialProblem(c.SECRET_NOT_FOUND, f"{where} not found")

    def value(key: str) -> str | CredentialProblem:
        raw = data.get(key)
        if raw is None:
            return CredentialProblem(c.SECRET_KEY_MISSING, f"{where} has no key {key}")
        try:
            return raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return CredentialProblem(c.SECRET_INVALID, f"key {key} of {where} is not UTF-8 text")

    if ref.api_key_sid_key and ref.api_key_secret_key:
        key_sid, key_secret = value(ref.api_key_sid_key), value(ref.api_key_secret_key)
        for problem in (key_sid, key_secret):
            if isinstance(problem, CredentialProblem):
                if problem.reason == c.SECRET_KEY_MISSING and ref.auth_token_key in data:
                    # Switched back to the Auth Token with a merge patch, which keeps the key fields.
                    return CredentialProblem(
                        problem.reason,
                        f"{problem.message}; credentialsSecretRef names an API key (apiKeySidKey, "
                        f"apiKeySecretKey): to use the Auth Token in key {ref.auth_token_key}, remove both "
                        "fields (a merge patch keeps them unless it sets them to null)",
                    )
                return problem
        assert isinstance(key_sid, str) and isinstance(key_secret, str)
        if not API_KEY_SID_RE.match(key_sid):
            return CredentialProblem(
                c.SECRET_INVALID, f"key {ref.api_key_sid_key} of {where} is not an API key SID (SK + 32 hex)"
            )
        if not API_KEY_SECRET_RE.match(key_secret):
            return CredentialProblem(
                c.SECRET_INVALID, f"key {ref.api_key_secret_key} of {where} is not an API key secret"
            )
        return TwilioCredentials(account_sid, key_sid, key_secret, region)
    token = value(ref.auth_token_key)
    if isinstance(token, CredentialProblem):
        return token
    if not AUTH_TOKEN_RE.match(token):
        return CredentialProblem(
            c.SECRET_INVALID,
            f"key {ref.auth_token_key} of {where} is not a Twilio Auth Token (32 lowercase hex characters)",
        )
    return TwilioCredentials(account_sid, account_sid, token, region)


# --------------------------------------------------------------------------- the SIP password


def generate_password() -> str:
    """32 random letters and digits with at least one digit, one upper- and one lower-case letter."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if meets_twilio_password_rules(password):
            return password


def meets_twilio_password_rules(password: str) -> bool:
    return (
        len(password) >= 12
        and any(c.isdigit() for c in password)
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
    )


def data_digest(salt: str, data: Mapping[str, bytes]) -> str:
    """A salted digest of a Secret's data: tells whether the data changed, reveals nothing of it."""
    digest = hashlib.sha256(salt.encode())
    for key in sorted(data):
        digest.update(b"\0" + key.encode() + b"\0" + data[key])
    return digest.hexdigest()[:24]


def password_fingerprint(uid: str, password: str) -> str:
    """A salted digest that tells whether the Secret's password is the one we gave Twilio."""
    return hashlib.sha256(f"{uid}:{password}".encode()).hexdigest()[:24]


def decoded_text(data: Mapping[str, bytes], key: str) -> str | None:
    """The value of `key` as UTF-8 text; None when absent or not text."""
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def current_sip_pair(
    uid: str, data: Mapping[str, bytes], annotations: Mapping[str, str]
) -> tuple[str, str] | None:
    """(username, password) of the Secret if the username is one of ours and the password the one we
    generated (its fingerprint matches), else None."""
    username, password = decoded_text(data, names.SIP_USERNAME), decoded_text(data, names.SIP_PASSWORD)
    if username is None or password is None or not names.is_sip_username_of(uid, username):
        return None
    if annotations.get(names.PASSWORD_FINGERPRINT) != password_fingerprint(uid, password):
        return None
    return username, password


def previous_sip_pair(
    uid: str, data: Mapping[str, bytes], annotations: Mapping[str, str]
) -> tuple[str, str] | None:
    """The previous (username, password) kept during a rotation's grace period, if intact."""
    username, password = (
        decoded_text(data, names.SIP_PREVIOUS_USERNAME),
        decoded_text(data, names.SIP_PREVIOUS_PASSWORD),
    )
    if username is None or password is None or not names.is_sip_username_of(uid, username):
        return None
    if annotations.get(names.PREVIOUS_FINGERPRINT) != password_fingerprint(uid, password):
        return None
    return username, password


def sip_secret_intact(
    uid: str, data: Mapping[str, bytes], annotations: Mapping[str, str], connection: Mapping[str, str]
) -> bool:
    """The one rule for "the SIP Secret needs no repair": the username is one of ours, the password is
    the one we generated for it, and every other connection key (sipDomain, terminationUri, trunkSid)
    holds what the operator wrote. The username is not compared with `connection`: rotation changes it."""
    if current_sip_pair(uid, data, annotations) is None:
        return False
    return all(
        decoded_text(data, key) == value for key, value in connection.items() if key != names.SIP_USERNAME
    )
