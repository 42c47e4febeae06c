"""Names derived from an object: Twilio resource names, the SIP Secret and its keys, our annotations.

Twilio trunk domains are unique across Twilio, so one derived from the object's UID can only be ours;
that is what lets a reconcile find its resources again after a lost write or a crash.
"""

from __future__ import annotations

import hashlib
import re

from twilio_operator.api.models import GROUP, SIP_SECRET_SUFFIX
from twilio_operator.api.regions import ResolvedRegion

DOMAIN_SUFFIX = ".pstn.twilio.com"
FRIENDLY_NAME_LIMIT = 64  # Twilio's limit for friendly names

# The finalizer that keeps a credentials Secret while a TwilioProvider needs it to clean up Twilio
# ("in use" protection), and the label that marks such a Secret.
IN_USE_FINALIZER = f"{GROUP}/in-use"
CREDENTIALS_LABEL = f"{GROUP}/credentials"
# A salted digest of the credentials Secret's data as the operator last saw it: a Secret event whose
# data still matches it (the operator's own protection patch, a label change) wakes no provider.
CREDENTIALS_DIGEST = f"{GROUP}/credentials-digest"

# Annotations users and the operator put on objects.
PAUSED_ANNOTATION = f"{GROUP}/paused"  # "true": no Twilio call and no write until it is removed
DELETION_POLICY_OVERRIDE = f"{GROUP}/deletion-policy"  # "Orphan" lets a stuck object go
# Annotations on the SIP credentials Secret that make the password protocol crash-safe.
PASSWORD_STATE = f"{GROUP}/password-state"  # "pending" until Twilio has the password
PASSWORD_FINGERPRINT = f"{GROUP}/password-fingerprint"  # detects edits by hand
PENDING, APPLIED = "pending", "applied"
# The previous pair during a rotation's grace period: its fingerprint and when it is retired.
PREVIOUS_FINGERPRINT = f"{GROUP}/previous-password-fingerprint"
PREVIOUS_EXPIRES_AT = f"{GROUP}/previous-expires-at"
# The rotate-sip-credentials annotation value a rotation was started for (kept on the Secret too,
# so a crash before the status write does not rotate twice for one request).
ROTATION_REQUEST = f"{GROUP}/rotation-request"
# The template keys the operator rendered last, so that a key removed from the template is removed.
TEMPLATE_KEYS = f"{GROUP}/template-keys"
# On the SIP credentials Secret: the name of the TwilioProvider it was made for. With our label it
# lets a provider of that name take over the Secret an Orphan-deleted predecessor left behind.
SIP_SECRET_OF = f"{GROUP}/sip-credentials-of"
# On the SIP credentials Secret after a rename of spec.sipCredentialsSecretName: the Secret that held
# the credentials before; it is deleted with the previous credential when the grace period ends.
PREVIOUS_SECRET = f"{GROUP}/previous-secret"
# On a TwilioProvider: the UID of an Orphan-deleted TwilioProvider whose trunk (named after that UID)
# it may adopt; without it such a trunk counts as another provider's and the adoption is refused.
ADOPT_FROM = f"{GROUP}/adopt-from"
# On a TwilioProvider: a new value asks for one rotation of the SIP credential.
ROTATE_SIP_CREDENTIALS = f"{GROUP}/rotate-sip-credentials"

# Keys of the SIP credentials Secret, named for a voice platform's outbound-trunk settings.
SIP_USERNAME = "username"
SIP_PASSWORD = "password"
SIP_DOMAIN = "sipDomain"
SIP_TERMINATION_URI = "terminationUri"
SIP_TRUNK_SID = "trunkSid"
SIP_PREVIOUS_USERNAME = "previousUsername"  # present only during a rotation's grace period
SIP_PREVIOUS_PASSWORD = "previousPassword"
STANDARD_SIP_KEYS = (
    SIP_USERNAME,
    SIP_PASSWORD,
    SIP_DOMAIN,
    SIP_TERMINATION_URI,
    SIP_TRUNK_SID,
    SIP_PREVIOUS_USERNAME,
    SIP_PREVIOUS_PASSWORD,
)
USERNAME_PREFIX_LENGTH = 20  # of the UID's hex digits in a rotated username


def object_tag(uid: str) -> str:
    """`twp-<uid hex>`: the mark that makes a Twilio resource ours (36 chars, fits every name limit)."""
    return "twp-" + uid.replace("-", "").lower()


NUMBER_TAG_PREFIX = "twpn-"
ADDRESS_TAG_PREFIX = "twpe-"
EMERGENCY_FRIENDLY_NAME_LIMIT = 32  # Twilio's limit for an emergency Address's friendly name


def number_tag(namespace: str, name: str) -> str:
    """`twpn-<24 hex>`: the mark of a number a TwilioPhoneNumber bought, derived from the object's
    namespace and name (not its UID), so that the object re-created under the same name (kubectl
    delete and apply, an ArgoCD prune and sync) finds its number again instead of buying another."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:24]
    return NUMBER_TAG_PREFIX + digest


def purchased_number_name(namespace: str, name: str) -> str:
    """The friendly name a bought number gets: `<namespace>/<name> (twpn-...)`, readable in the Twilio
    Console and exact (the reconcile finds the number by it), at most 64 characters."""
    tag = f" ({number_tag(namespace, name)})"
    return f"{namespace}/{name}"[: FRIENDLY_NAME_LIMIT - len(tag)] + tag


def is_purchased_by(friendly_name: str, namespace: str, name: str) -> bool:
    """Whether a number's friendly name still carries the purchase tag of this object."""
    return f"({number_tag(namespace, name)})" in friendly_name


def address_name(uid: str) -> str:
    """The friendly name of a TwilioEmergencyAddress's Twilio Address: `twpe-` and 27 hex digits of
    the UID (Twilio allows emergency addresses 32 characters), which finds it again after a crash."""
    return (ADDRESS_TAG_PREFIX + uid.replace("-", "").lower())[:EMERGENCY_FRIENDLY_NAME_LIMIT]


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
    return display_name[:FRIENDLY_NAME_LIMIT]


def tagged_name(display_name: str, uid: str) -> str:
    """A friendly name readable in the Twilio console and findable by its tag (<= 64 chars)."""
    tag = f" ({object_tag(uid)})"
    return display_name[: FRIENDLY_NAME_LIMIT - len(tag)] + tag


credential_list_name = tagged_name


def is_our_credential_list(friendly_name: str, uid: str) -> bool:
    return f"({object_tag(uid)})" in friendly_name


# The IP access control list carries the same tag in its friendly name as the credential list.
ip_access_control_list_name = tagged_name
is_our_ip_access_control_list = is_our_credential_list


def sip_username(uid: str) -> str:
    """The first SIP username of a provider (and the only one before rotation existed)."""
    return uid.replace("-", "").lower()[:32]


def rotated_sip_username(uid: str, created_unix: int) -> str:
    """A rotated SIP username: 20 hex digits of the UID, "r", the creation time (<= 32 chars).

    The time in the name makes each rotation's username new (Twilio keeps a username unique per
    list) and tells the credential's age without any other record.
    """
    return f"{uid.replace('-', '').lower()[:USERNAME_PREFIX_LENGTH]}r{created_unix}"


def is_sip_username_of(uid: str, username: str | None) -> bool:
    """Whether a username is one the operator made for this provider (first or rotated)."""
    if not username:
        return False
    if username == sip_username(uid):
        return True
    prefix = uid.replace("-", "").lower()[:USERNAME_PREFIX_LENGTH]
    return re.fullmatch(re.escape(prefix) + r"r[0-9]{1,11}", username) is not None


def sip_username_created(uid: str, username: str) -> int | None:
    """The creation time (unix seconds) a rotated username carries; None for the first username."""
    if username == sip_username(uid) or not is_sip_username_of(uid, username):
        return None
    return int(username.rsplit("r", 1)[1])


def transfer_mode(supports_call_transfer: bool | None) -> str:
    """The transfer mode spec.supportsCallTransfer stands for (unset: disable-all, Twilio's default)."""
    return "enable-all" if supports_call_transfer else "disable-all"


def termination_uri(domain: str, region: ResolvedRegion) -> str:
    """The SIP URI to dial: the region's edge alias when a region is set, else the global name."""
    edge = region.termination_edge
    if edge is None:
        return f"sip:{domain}"
    name = domain.removesuffix(DOMAIN_SUFFIX)
    return f"sip:{name}.pstn.{edge}.twilio.com"


def sip_secret_name(name: str, configured: str | None) -> str:
    return configured or f"{name}{SIP_SECRET_SUFFIX}"
