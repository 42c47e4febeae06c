"""Pure decisions: names derived from the object, credential parsing, verification verdicts.

Nothing here does I/O, so all of it is unit-tested with tables.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from twilio_operator.models import CheckStatus, CredentialsSecretRef, VerificationStatus
from twilio_operator.twilio_gateway import PROCESSING_REGIONS, REGION_EDGES, TwilioCredentials

DOMAIN_SUFFIX = ".pstn.twilio.com"
AUTH_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
API_KEY_SID_RE = re.compile(r"^SK[0-9a-f]{32}$")
API_KEY_SECRET_RE = re.compile(r"^[A-Za-z0-9]{16,128}$")
PASSWORD_LENGTH = 32
PASSWORD_ALPHABET = string.ascii_letters + string.digits

# Annotations on the SIP credentials Secret that make the password protocol crash-safe.
ANNOTATION_PREFIX = "voip.twilio-operator.dev"
PASSWORD_STATE = f"{ANNOTATION_PREFIX}/password-state"  # "pending" until Twilio has the password
PASSWORD_FINGERPRINT = f"{ANNOTATION_PREFIX}/password-fingerprint"  # detects edits by hand
DELETION_POLICY_OVERRIDE = f"{ANNOTATION_PREFIX}/deletion-policy"  # "Orphan" lets a stuck object go
PENDING, APPLIED = "pending", "applied"

# Keys of the SIP credentials Secret, named for a voice platform's outbound-trunk settings.
SIP_USERNAME, SIP_PASSWORD, SIP_DOMAIN, SIP_TERMINATION_URI, SIP_TRUNK_SID = (
    "username",
    "password",
    "sipDomain",
    "terminationUri",
    "trunkSid",
)


# --------------------------------------------------------------------------- names


def object_tag(uid: str) -> str:
    """`twp-<uid hex>`: the mark that makes a Twilio resource ours (36 chars, fits every name limit)."""
    return "twp-" + uid.replace("-", "").lower()


def trunk_domain(uid: str, recreations: int = 0) -> str:
    """The trunk's domain: unique across Twilio, so a UID-derived one can only be ours.

    A deleted domain stays reserved for 30 days, so a recreated trunk needs a new one.
    """
    suffix = f"-r{recreations}" if recreations else ""
    return f"{object_tag(uid)}{suffix}{DOMAIN_SUFFIX}"


def domain_recreation(uid: str, domain: str) -> int | None:
    """Which recreation a domain belongs to, or None when it is not this object's."""
    match = re.fullmatch(re.escape(object_tag(uid)) + r"(?:-r([0-9]+))?" + re.escape(DOMAIN_SUFFIX), domain)
    if match is None:
        return None
    return int(match.group(1) or 0)


def trunk_friendly_name(display_name: str) -> str:
    return display_name[:64]


def tagged_name(display_name: str, uid: str) -> str:
    """A friendly name readable in the Twilio console and findable by its tag (<= 64 chars)."""
    tag = f" ({object_tag(uid)})"
    return display_name[: 64 - len(tag)] + tag


credential_list_name = tagged_name


def is_our_credential_list(friendly_name: str, uid: str) -> bool:
    return f"({object_tag(uid)})" in friendly_name


def sip_username(uid: str) -> str:
    return uid.replace("-", "").lower()[:32]


def transfer_mode(supports_call_transfer: bool) -> str:
    return "enable-all" if supports_call_transfer else "disable-all"


def client_region(region: str | None) -> str | None:
    """The processing region the REST calls go to; us1 and edge-only regions use the default."""
    return region if region in PROCESSING_REGIONS else None


def termination_uri(domain: str, region: str | None) -> str:
    """The SIP URI to dial: the region's edge alias when a region is set, else the global name."""
    if region is None:
        return f"sip:{domain}"
    name = domain.removesuffix(DOMAIN_SUFFIX)
    return f"sip:{name}.pstn.{REGION_EDGES[region]}.twilio.com"


def sip_secret_name(name: str, configured: str | None) -> str:
    return configured or f"{name}-sip-credentials"


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


def password_fingerprint(uid: str, password: str) -> str:
    """A salted digest that tells whether the Secret's password is the one we gave Twilio."""
    return hashlib.sha256(f"{uid}:{password}".encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- credentials


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
    region: str | None,
) -> TwilioCredentials | CredentialProblem:
    from twilio_operator import conditions as c

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
        for item in (key_sid, key_secret):
            if isinstance(item, CredentialProblem):
                return item
        assert isinstance(key_sid, str) and isinstance(key_secret, str)
        if not API_KEY_SID_RE.match(key_sid):
            return CredentialProblem(
                c.SECRET_INVALID, f"key {ref.api_key_sid_key} of {where} is not an API key SID (SK + 32 hex)"
            )
        if not API_KEY_SECRET_RE.match(key_secret):
            return CredentialProblem(
                c.SECRET_INVALID, f"key {ref.api_key_secret_key} of {where} is not an API key secret"
            )
        return TwilioCredentials(account_sid, key_sid, key_secret, client_region(region))
    token = value(ref.auth_token_key)
    if isinstance(token, CredentialProblem):
        return token
    if not AUTH_TOKEN_RE.match(token):
        return CredentialProblem(
            c.SECRET_INVALID,
            f"key {ref.auth_token_key} of {where} is not a Twilio Auth Token (32 lowercase hex characters)",
        )
    return TwilioCredentials(account_sid, account_sid, token, client_region(region))


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str
    details: tuple[tuple[str, str], ...] = ()


def verdict(checks: Iterable[Check]) -> VerificationStatus:
    statuses = {check.status for check in checks}
    if not statuses:
        return "pending"
    if "failed" in statuses:
        return "failed"
    if "warning" in statuses:
        return "warning"
    return "verified"
