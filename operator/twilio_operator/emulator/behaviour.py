"""Every behaviour the emulator models, documented by Twilio or assumed, in one place.

Each constant is listed in docs/emulator.md (with its source, or "assumed"); change both together.
"""

from __future__ import annotations

import re

# --- Errors --------------------------------------------------------------------------------------
MORE_INFO_URL = "https://www.twilio.com/docs/errors/{code}"
CODE_AUTH_FAILED = 20003
CODE_NOT_FOUND = 20404
CODE_TOO_MANY_REQUESTS = 20429
CODE_CONFLICT = 20409
CODE_INTERNAL = 20500
CODE_SERVICE_UNAVAILABLE = 20503
CODE_METHOD_NOT_ALLOWED = 20004
CODE_PAYLOAD_TOO_LARGE = 20413
# Twilio's generic "invalid/missing parameter" code.
CODE_INVALID_PARAMETER = 20001
CODE_DOMAIN_TAKEN = 21248
CODE_INVALID_REGION = 21252
# Not documented: we answer a password that breaks the documented rules with this 21xxx code.
CODE_BAD_PASSWORD = 21622
# INVENTED: a username must be unique inside one credential list; Twilio documents no code for a
# duplicate. Strict mode answers STRICT_UNDOCUMENTED instead.
CODE_DUPLICATE_USERNAME = 21623
# Documented (twilio.com/docs/api/errors/70051 and /errors/403): a Restricted API key without the
# permission for the resource (or a resource restricted keys cannot reach) -> 403 with 70051.
CODE_PERMISSION_DENIED = 70051
PERMISSION_DENIED_STATUS = 403

# --- Strict mode ---------------------------------------------------------------------------------
# Off by default (documented-behaviour mode). On: every case whose answer Twilio does not document
# (the invented codes above and below, quota errors, TrunkSid="") gets this generic 400 with a code
# no client can have been written against, so the operator cannot lean on a guess.
STRICT_DEFAULT = False
STRICT_UNDOCUMENTED = (400, 90000)

# --- Regions -------------------------------------------------------------------------------------
# Documented (twilio.com/docs/global-infrastructure/manage-regional-api-credentials): Auth Tokens and
# API keys are valid only in the processing region that created them; each region's data is separate.
PROCESSING_REGIONS = frozenset({"us1", "ie1", "au1"})
DEFAULT_REGION = "us1"
# Region labels a Twilio host may carry ({product}[.{edge}][.{region}].twilio.com). Assumed: a host
# naming a region that is not a processing region (us2, de1, ...) is processed in us1.
HOST_REGION_LABELS = frozenset({"us1", "us2", "ie1", "de1", "au1", "jp1", "br1", "sg1"})

# --- API keys ------------------------------------------------------------------------------------
# Documented (twilio.com/docs/iam/api-keys/key-resource-v1, twilio-python#259): Main keys can do what
# the Auth Token can; Standard keys everything but /Accounts and /Keys (401 20003); Restricted keys
# only their permissions (403 70051). The admin default is "main" so that tests written before key
# types existed keep working; Twilio's REST API itself can only create standard and restricted keys.
API_KEY_TYPES = frozenset({"main", "standard", "restricted"})
DEFAULT_API_KEY_TYPE = "main"

# --- Accounts ------------------------------------------------------------------------------------
# Suspended or closed accounts. Twilio's error pages list "account is suspended or closed" as a cause
# of 20003 (401) and of 403; they do not say whether the account fetch still answers. Two modes:
#   reject   (default): every request authenticated as the account gets 401 with 20005 ("Account
#            not active"), the account fetch included - the documented outcome for API calls.
#   readable: the account fetch answers 200 with "status": "suspended"/"closed" (what the Account
#            resource's status field and a parent account's view show); everything else 401/20005.
INACTIVE_ACCOUNT_STATUS = 401
CODE_ACCOUNT_NOT_ACTIVE = 20005
SUSPENSION_MODES = frozenset({"reject", "readable"})
SUSPENSION_MODE_DEFAULT = "reject"

# --- Quotas --------------------------------------------------------------------------------------
# Documented (twilio.com/docs/sip-trunking/scale-and-limits, and the SIP CredentialList resource page):
# 100 trunks and 100 credential lists per account, 1,000 credentials per list; trial accounts get 1
# trunk and 1 origination phone number. Counted per processing region (assumed). The error Twilio
# answers is not documented: assumed 400 with 20001 (strict mode: STRICT_UNDOCUMENTED).
# IP access control lists: 1,000 per account, 100 entries (addresses or CIDR blocks) per list
# (twilio.com/docs/voice/sip/api/sip-ipaccesscontrollist-resource and .../sip-ipaddress-resource).
QUOTA_NAMES = frozenset(
    {
        "trunks",
        "credential_lists",
        "credentials_per_list",
        "trunk_phone_numbers",
        "ip_access_control_lists",
        "ip_addresses_per_list",
    }
)
UNLIMITED = 1_000_000_000
QUOTA_ERROR = (400, 20001)
QUOTA_MESSAGES = {
    "trunks": "The account has reached its limit of {limit} SIP trunks",
    "credential_lists": "The account has reached its limit of {limit} credential lists",
    "credentials_per_list": "The credential list has reached its limit of {limit} credentials",
    "trunk_phone_numbers": "The account has reached its limit of {limit} origination phone numbers",
    "ip_access_control_lists": "The account has reached its limit of {limit} IP access control lists",
    "ip_addresses_per_list": "The IP access control list has reached its limit of {limit} IP addresses",
}


def quota_defaults(account_type: str) -> dict[str, int]:
    trial = account_type == "Trial"
    return {
        "trunks": 1 if trial else 100,
        "credential_lists": 100,
        "credentials_per_list": 1000,
        "trunk_phone_numbers": 1 if trial else UNLIMITED,
        "ip_access_control_lists": 1000,
        "ip_addresses_per_list": 100,
    }


# --- Concurrency ---------------------------------------------------------------------------------
# Documented (twilio.com/docs/api/errors/20429): too many concurrent requests of one account get 429
# with 20429; responses carry Twilio-Concurrent-Requests. Twilio publishes no number (new accounts
# have been limited to 1): the limit is a setting, global (config) or per account, 0 = off.
CONCURRENCY_HEADER = "Twilio-Concurrent-Requests"
# Credentials of account A used on /2010-04-01/Accounts/B/...: 401 20003 (the credentials do not
# authenticate B), not 404. Resources owned by another account (TK, CL, PN...) are plain 404s.
PATH_ACCOUNT_MISMATCH_STATUS = 401

# --- Limits --------------------------------------------------------------------------------------
MAX_BODY_BYTES = 1024 * 1024
FRIENDLY_NAME_MAX = 64
USERNAME_MAX = 32
PASSWORD_MIN = 12
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 1000
WEIGHT_RANGE = (1, 65535)
PRIORITY_RANGE = (0, 65535)
# Documented (twilio.com/docs/global-infrastructure/inbound-processing-api): VoiceRegion is a
# processing region (us1, ie1, au1), not an edge; others get 400 with 21252 (assumed code).
VOICE_REGIONS = PROCESSING_REGIONS

# Letters, digits and '-' labels, ending in .pstn.twilio.com (case-insensitive; stored lower-case).
DOMAIN_NAME_RE = re.compile(r"[A-Za-z0-9-]+\.pstn\.twilio\.com")
# Deleted domain names stay reserved for the emulator's lifetime (Twilio: up to 30 days).
DOMAIN_RESERVED_AFTER_DELETE = True

# --- Associations --------------------------------------------------------------------------------
# INVENTED: linking a credential list that is already linked to the trunk: 409 with 20409 (Twilio
# documents no answer; strict mode: STRICT_UNDOCUMENTED).
DUPLICATE_CREDENTIAL_LIST_STATUS = 409
# INVENTED: POST /v1/Trunks/TK/PhoneNumbers with a number already on TK: 409 with 20409. A number on another
# trunk is moved to TK (as IncomingPhoneNumbers update with TrunkSid does).
DUPLICATE_PHONE_NUMBER_STATUS = 409
MOVE_NUMBER_FROM_OTHER_TRUNK = True

# --- Faults and rate limiting --------------------------------------------------------------------
# Scripted faults fire once unless "times" is given (null/0 = unlimited is NOT the default).
FAULT_DEFAULT_TIMES = 1
HANG_SECONDS_DEFAULT = 60.0
RETRY_AFTER_DEFAULT = 1
RANDOM_FAULT_STATUSES = (500, 503)

# --- SIP digest ----------------------------------------------------------------------------------
# Passwords are kept only as the digest HA1 md5(username:realm:password), as Twilio says it does.
SIP_DIGEST_REALM = "sip.twilio.com"


def password_problem(password: str) -> str | None:
    """Why `password` breaks Twilio's documented rules, or None if it is acceptable."""
    if len(password) < PASSWORD_MIN:
        return f"Password must be at least {PASSWORD_MIN} characters long"
    if not any(c.isdigit() for c in password):
        return "Password must contain at least one digit"
    if not any(c.isupper() for c in password) or not any(c.islower() for c in password):
        return "Password must contain both upper and lower case letters"
    return None


def auth_type_for(credential_list_count: int, ip_acl_count: int = 0) -> tuple[str, list[str]]:
    """A trunk's (auth_type, auth_type_set) derived from its attachments. Documented (auth_type in
    twilio_trunking_v1.json): IP_ACL and CREDENTIAL_LIST, comma-delimited when both are mapped, empty
    when none is. The order when both are mapped is assumed."""
    kinds = [
        name
        for name, count in (("IP_ACL", ip_acl_count), ("CREDENTIAL_LIST", credential_list_count))
        if count
    ]
    return ",".join(kinds), kinds


# --- IP access control -----------------------------------------------------------------------------
# Documented (sip-ipaddress-resource, twilio_api_v2010.json): IpAddress is a complete IPv4 address in
# dotted decimal notation ("IPv4 only supported today"; wildcards are not supported); CidrPrefixLength
# is optional and "by default the entire IP address is used". Documented (twilio.com/blog/ip-acl-cidr-block):
# IpAddress may also carry the prefix itself, "54.172.60.0/30". Assumed: prefixes 1..32 are accepted,
# an omitted prefix is stored and answered as 32, host bits beyond the prefix are kept as sent, and
# anything else is 400 / 20001.
CIDR_PREFIX_RANGE = (1, 32)
# Documented (the FriendlyName descriptions in twilio_api_v2010.json): up to 255 characters.
IP_ACL_FRIENDLY_NAME_MAX = 255
CIDR_PREFIX_DEFAULT = 32
# INVENTED: the same address and prefix twice in one list: 400 with 20001 (Twilio documents no
# answer; strict mode: STRICT_UNDOCUMENTED). Linking an IP ACL twice to a trunk: 409 / 20409, as for
# credential lists (strict mode: STRICT_UNDOCUMENTED).
DUPLICATE_IP_ADDRESS = (400, CODE_INVALID_PARAMETER)
DUPLICATE_IP_ACL_STATUS = 409


# --- Numbers -------------------------------------------------------------------------------------
# IncomingPhoneNumbers update with a TrunkSid that is not a trunk of this account: 400 + 20001.
UNKNOWN_TRUNK_SID_STATUS = 400
# Documented (the trunk_sid / voice_application_sid descriptions in twilio_api_v2010.json): setting a
# trunk_sid deletes voice_application_sid and vice versa; voice_url is then ignored, not deleted.
# FriendlyName filter on IncomingPhoneNumbers is an exact match; PhoneNumber is a substring match
# where '*' stands for one digit (as documented).
# A trunk or number never given an inbound processing region has no route resource: GET answers
# 404 (20404), which means US1 processing (twilio.com/docs/global-infrastructure/inbound-processing-api).
