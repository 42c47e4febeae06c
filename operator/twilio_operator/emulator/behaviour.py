"""Every choice the emulator makes where Twilio's documents are silent, in one place.

Each constant is listed in docs/emulator.md; change both together.
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
# A username must be unique inside one credential list (Twilio rejects duplicates; code undocumented).
CODE_DUPLICATE_USERNAME = 21623

# --- Accounts ------------------------------------------------------------------------------------
# Suspended or closed accounts: every request authenticated as them is answered 401 with 20005
# ("Account not active"); the account fetch is not exempt.
INACTIVE_ACCOUNT_STATUS = 401
CODE_ACCOUNT_NOT_ACTIVE = 20005
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
VOICE_REGIONS = frozenset({"us1", "us2", "ie1", "de1", "au1", "jp1", "br1", "sg1"})

# Letters, digits and '-' labels, ending in .pstn.twilio.com (case-insensitive; stored lower-case).
DOMAIN_NAME_RE = re.compile(r"[A-Za-z0-9-]+\.pstn\.twilio\.com")
# Deleted domain names stay reserved for the emulator's lifetime (Twilio: up to 30 days).
DOMAIN_RESERVED_AFTER_DELETE = True

# --- Associations --------------------------------------------------------------------------------
# Linking a credential list that is already linked to the trunk: 409 with 20409.
DUPLICATE_CREDENTIAL_LIST_STATUS = 409
# POST /v1/Trunks/TK/PhoneNumbers with a number already on TK: 409 with 20409. A number on another
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


def auth_type_for(credential_list_count: int) -> tuple[str, list[str]]:
    """A trunk's (auth_type, auth_type_set) derived from its attachments (no IP ACLs here)."""
    if credential_list_count:
        return "CREDENTIAL_LIST", ["CREDENTIAL_LIST"]
    return "", []


# --- Numbers -------------------------------------------------------------------------------------
# IncomingPhoneNumbers update with a TrunkSid that is not a trunk of this account: 400 + 20001.
UNKNOWN_TRUNK_SID_STATUS = 400
# FriendlyName filter on IncomingPhoneNumbers is an exact match; PhoneNumber is a substring match
# where '*' stands for one digit (as documented).
# Before any POST /v2/Trunks/{domain}, a trunk's route reads as voice_region us1 (created lazily).
DEFAULT_VOICE_REGION = "us1"
