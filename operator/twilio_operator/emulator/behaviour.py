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
# Twilio's error catalogue (twilio.com/docs/api/errors/<code>), SIP block: 21240 "Credential List
# Validation Error" lists the password rules (12 characters, mixed case, a digit) and the username
# rule (at most 32) among its causes, and "a Credential List with the same FriendlyName may already
# exist"; 21243 "Credential Validation Error" is the generic one for a Credential's parameters.
# Which one a bad password gets is not said: 21240 (the page with the rules), strict mode 21243.
CODE_CREDENTIAL_LIST_INVALID = 21240
CODE_CREDENTIAL_INVALID = 21243
CODE_BAD_PASSWORD = CODE_CREDENTIAL_LIST_INVALID
CODE_BAD_PASSWORD_STRICT = CODE_CREDENTIAL_INVALID
# ASSUMED: a username must be unique inside one credential list; no cause on any page names a
# duplicate: 21243 (the generic Credential code), strict mode STRICT_UNDOCUMENTED.
CODE_DUPLICATE_USERNAME = CODE_CREDENTIAL_INVALID
# Catalogue 21245 "Trunk Validation Error": "Credential List or IP-ACL already associated with Trunk"
# and "Cannot create more than one Trunk with the same Termination URI". Status 400 assumed.
CODE_TRUNK_VALIDATION = 21245
# Catalogue "Dependencies Violation" codes: 21241 (Credential List), 21236 (IP Access Control List,
# "still mapped to a SIP Domain"), 21247 "Trunk Dependencies" ("Cannot delete trunk while it has
# subdomains", "Cannot create subdomain because parent domain does not exist/account does not own
# it", "Cannot rename domain while it has subdomains"). 21634 "SIP Trunk is in use for emergency
# calling": numbers on the trunk are provisioned for emergency calling. Status 400 assumed.
CODE_CREDENTIAL_LIST_DEPENDENCIES = 21241
CODE_IP_ACL_DEPENDENCIES = 21236
CODE_TRUNK_DEPENDENCIES = 21247
CODE_TRUNK_EMERGENCY = 21634
DEPENDENCY_STATUS = 400
# Documented (twilio.com/docs/api/errors/70051 and /errors/403): a Restricted API key without the
# permission for the resource (or a resource restricted keys cannot reach) -> 403 with 70051.
CODE_PERMISSION_DENIED = 70051
PERMISSION_DENIED_STATUS = 403

# --- Strict mode ---------------------------------------------------------------------------------
# Off by default (documented-behaviour mode). On: every case whose answer Twilio does not document
# (the assumed and invented codes above and below, TrunkSid="") gets this generic 400 with a code no
# client can have been written against, so the operator cannot lean on a guess; and every
# "unconfirmed" behaviour takes its harsher form (docs/emulator.md lists them).
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
# Documented (twilio.com/en-us/changelog/restricted-api-keys-ga, 2025-12-10): "Restricted API Keys is
# only available in the US region". The admin API refuses to seed one elsewhere.
RESTRICTED_KEY_REGIONS = frozenset({"us1"})

# --- Accounts ------------------------------------------------------------------------------------
# Suspended or closed accounts. Twilio's error pages list "account is suspended or closed" as a cause
# of 20003 (401), of 403 and of 20403; they do not say whether the account fetch still answers:
#   reject:  every request authenticated as the account gets 401 with 20005 ("Account not active").
#   readable: the account fetch answers 200 with "status": "suspended"/"closed" (what the Account
#            resource's status field and a parent account's view show); everything else 401/20005.
#   forbidden (default): every request gets 403 with 20403. Documented (twilio.com/docs/api/errors/
#            20403): "The account lacks permission to access the Twilio API. Typically this means the
#            account has been suspended or closed."
INACTIVE_ACCOUNT_STATUS = 401
CODE_ACCOUNT_NOT_ACTIVE = 20005
FORBIDDEN_ACCOUNT_STATUS = 403
CODE_ACCOUNT_FORBIDDEN = 20403
SUSPENSION_MODES = frozenset({"forbidden", "reject", "readable"})
SUSPENSION_MODE_DEFAULT = "forbidden"

# --- Quotas --------------------------------------------------------------------------------------
# Documented (twilio.com/docs/sip-trunking/scale-and-limits, and the SIP CredentialList resource page):
# 100 trunks and 100 credential lists per account, 1,000 credentials per list; trial accounts get 1
# trunk and 1 origination phone number. Counted per processing region (assumed). The codes: below.
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
# Documented codes (Twilio's error catalogue): 21244 "Maximum Number of Trunks reached", 21239
# "Maximum Credential Lists Reached", 21242 "Maximum Credentials Reached for List" (1000), 21237
# "Maximum IP Addresses Reached for List", 21255 "Maximum IP Access Control Lists reached" (1000).
# No code names the trial's one origination number: 20001 assumed (strict: STRICT_UNDOCUMENTED).
# The HTTP status (400) is assumed.
QUOTA_STATUS = 400
QUOTA_CODES = {
    "trunks": 21244,
    "credential_lists": 21239,
    "credentials_per_list": 21242,
    "ip_addresses_per_list": 21237,
    "ip_access_control_lists": 21255,
    "trunk_phone_numbers": 20001,
}
UNDOCUMENTED_QUOTA_CODES = frozenset({"trunk_phone_numbers"})
# The resource pages say 100 IP addresses per list; catalogue 21237 says "cannot contain more than 25
# Addresses". Default 100, strict mode 25 (unconfirmed which one holds).
STRICT_IP_ADDRESSES_PER_LIST = 25
QUOTA_MESSAGES = {
    "trunks": "The account has reached its limit of {limit} SIP trunks",
    "credential_lists": "The account has reached its limit of {limit} credential lists",
    "credentials_per_list": "The credential list has reached its limit of {limit} credentials",
    "trunk_phone_numbers": "The account has reached its limit of {limit} origination phone numbers",
    "ip_access_control_lists": "The account has reached its limit of {limit} IP access control lists",
    "ip_addresses_per_list": "The IP access control list has reached its limit of {limit} IP addresses",
}


def quota_defaults(account_type: str, strict: bool = False) -> dict[str, int]:
    trial = account_type == "Trial"
    return {
        "trunks": 1 if trial else 100,
        "credential_lists": 100,
        "credentials_per_list": 1000,
        "trunk_phone_numbers": 1 if trial else UNLIMITED,
        "ip_access_control_lists": 1000,
        "ip_addresses_per_list": STRICT_IP_ADDRESSES_PER_LIST if strict else 100,
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
# Subdomains (a.b.pstn.twilio.com) exist: catalogue 21247 ("Cannot create subdomain because parent
# domain does not exist/account does not own it"). The parent must be a live domain of the account.
DOMAIN_NAME_RE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.pstn\.twilio\.com")
DOMAIN_SUFFIX_LABELS = 3  # pstn.twilio.com
# Deleted domain names stay reserved for the emulator's lifetime (Twilio: up to 30 days).
DOMAIN_RESERVED_AFTER_DELETE = True
# Documented (twilio.com/docs/global-infrastructure/regional-sip-trunks): "You can create an SIP
# Trunk with the same friendly name and Termination URI in multiple Regions" - one account may hold
# a domain once per processing region. The same account's second trunk with a domain in ONE region:
# 21248 (assumed), strict mode 21245 ("Cannot create more than one Trunk with the same Termination
# URI"; unconfirmed which code answers).

# --- Associations --------------------------------------------------------------------------------
# Documented (catalogue 21245): linking a credential list or IP ACL that is already associated with
# the trunk: 400 (assumed status) with 21245, in both modes.
DUPLICATE_LINK = (400, CODE_TRUNK_VALIDATION)
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
# answer; strict mode: STRICT_UNDOCUMENTED).
DUPLICATE_IP_ADDRESS = (400, CODE_INVALID_PARAMETER)


# --- Numbers -------------------------------------------------------------------------------------
# IncomingPhoneNumbers update with a TrunkSid that is not a trunk of this account: 400 + 20001.
UNKNOWN_TRUNK_SID_STATUS = 400
# Documented (the trunk_sid / voice_application_sid descriptions in twilio_api_v2010.json): setting a
# trunk_sid deletes voice_application_sid and vice versa; voice_url is then ignored, not deleted.
# FriendlyName filter on IncomingPhoneNumbers is an exact match; PhoneNumber is a substring match
# where '*' stands for one digit (as documented).
# A trunk or number never given an inbound processing region has no route resource: GET answers
# 404 (20404), which means US1 processing (twilio.com/docs/global-infrastructure/inbound-processing-api).


# --- Regional availability -----------------------------------------------------------------------
# Documented (twilio.com/docs/global-infrastructure/regional-product-and-feature-availability): the
# "SIP Trunk Phone Number API subresource" is not supported in IE1. The AU1 list could not be read:
# served there by default, refused there in strict mode (unconfirmed). Twilio's answer is not
# documented: 404 / 20404 (assumed), strict mode STRICT_UNDOCUMENTED.
TRUNK_PHONE_NUMBERS_UNSUPPORTED = frozenset({"ie1"})
TRUNK_PHONE_NUMBERS_UNSUPPORTED_STRICT = frozenset({"ie1", "au1"})

# --- SIP termination admission (/_emulator/call-auth) ---------------------------------------------
# Documented: an IP ACL admits a source address inside one of its entries (sip-trunking/api/
# ipaccesscontrollist-resource); a credential list admits a digest of one of its credentials. With
# both attached, whether one suffices or both must pass is not documented: either (default),
# both (strict mode; reports say both are required - unconfirmed).
ADMISSION_DEFAULT = "either"
ADMISSION_STRICT = "both"

# --- Numbers: global, voice configuration per region ---------------------------------------------
# Documented (twilio.com/docs/global-infrastructure/localized-uris/regional-migration-best-practices):
# "phone numbers you own are globally accessible resources, and available in all Home regions, their
# Voice configurations are specific to a Region" (also errors/22199: "Phone Numbers have a
# configuration for each region"). A number is held once per account; trunk_sid, voice_url and
# voice_application_sid are held per processing region. The inbound route (routes v2 PhoneNumbers,
# VoiceRegion) is one per number for the whole account (inbound-processing-region-api-phone-number).
NUMBER_TYPES = {"local": "Local", "mobile": "Mobile", "toll-free": "TollFree"}
ADDRESS_REQUIREMENTS = frozenset({"none", "any", "local", "foreign"})
# E.164 country prefixes for seeded numbers without an iso_country (assumed; longest prefix wins).
COUNTRY_PREFIXES = {"1": "US", "44": "GB", "353": "IE", "61": "AU", "49": "DE", "33": "FR", "81": "JP"}

# --- Buying and releasing numbers ----------------------------------------------------------------
# Documented (twilio.com/docs/iam/test-credentials, "Test IncomingPhoneNumbers"): an area code without
# numbers 21452, an invalid number 21421, an unavailable number 21422 (errors/21422: "Twilio does not
# own the phone number in question" or "it is reserved for another account"). A released number is
# not bought back (terraform-provider-twilio#138: 21422 after a release): it never returns to the
# emulator's inventory. Missing both PhoneNumber and AreaCode ("You must provide an area_code or a
# phone_number", twilio_api_v2010.json): 400 / 20001 (code assumed).
CODE_PHONE_NUMBER_INVALID = 21421
CODE_INVALID_AREA_CODE = 21451  # errors/21451 "Invalid area code"
CODE_PHONE_NUMBER_NOT_AVAILABLE = 21422
CODE_NO_NUMBERS_IN_AREA_CODE = 21452
# Documented: errors/21631 "Phone Number Requires an Address" ("you are now required to pass in an
# AddressSid that satisfies the requirement"), errors/21615 "Phone Number Requires a Local Address",
# errors/21649 "Phone Number Requires a Bundle". Status 400 assumed.
CODE_ADDRESS_REQUIRED = 21631
CODE_LOCAL_ADDRESS_REQUIRED = 21615
CODE_BUNDLE_REQUIRED = 21649
# Documented (errors/10002 "Trial accounts do not support the feature you tried to use": "you may have
# tried to provision more than one number"): a trial account holds one number. Status 400 assumed.
CODE_TRIAL_LIMIT = 10002
TRIAL_NUMBER_LIMIT = 1
# ASSUMED: Twilio documents no code for a purchase the balance cannot pay: 400 / 10001 ("Account is not
# active", the catalogue's lack-of-funds entry); strict mode STRICT_UNDOCUMENTED. Prices and opening
# balances are assumed too (Twilio publishes prices per country; trial balances are about $15).
INSUFFICIENT_FUNDS = (400, 10001)
DEFAULT_PRICES = {"local": "1.15", "mobile": "1.15", "toll-free": "2.15"}
DEFAULT_BALANCES = {"Full": "1000.00", "Trial": "15.50"}
CURRENCY = "USD"
# Reported (terraform-provider-twilio#149): a number with an emergency address cannot be released
# until the address is removed. No code is documented: 400 / 21634 (the catalogue's "in use for
# emergency calling" code; assumed), strict mode STRICT_UNDOCUMENTED.
RELEASE_WITH_EMERGENCY_ADDRESS = (400, CODE_TRUNK_EMERGENCY)
# Reported (twilio-node#706, 2021): EmergencyAddressSid given when buying is ignored; an update sets
# it. Default: applied (the parameter is documented); strict mode: ignored (unconfirmed).

# --- Addresses -----------------------------------------------------------------------------------
# Documented (twilio.com/docs/usage/api/address): an address that fails validation is refused with
# 21628; a near match is corrected unless AutoCorrectAddress=false, then refused with 21629 naming the
# suggestion. Which addresses fail is the emulator's rule list (/_emulator/address_rules), empty by
# default. FriendlyName: up to 64 characters, 32 for emergency addresses (twilio_api_v2010.json).
CODE_ADDRESS_INVALID = 21628
CODE_ADDRESS_SUGGESTED = 21629
ADDRESS_FRIENDLY_NAME_MAX = 64
EMERGENCY_FRIENDLY_NAME_MAX = 32
# Documented (voice/tutorials/emergency-calling-for-programmable-voice): "only US, Canada and UK are
# enabled for emergency address registration". An emergency address of another country linked to a
# number: emergency_address_status registration-failure (assumed); else registered at once (assumed;
# Twilio passes through pending-registration).
EMERGENCY_REGISTRATION_COUNTRIES = frozenset({"US", "CA", "GB"})
# ASSUMED: deleting an address that numbers use (address_sid or emergency_address_sid; Twilio lists
# them at .../Addresses/{AD}/DependentPhoneNumbers.json) is refused: 400 / 20001, strict mode
# STRICT_UNDOCUMENTED. The same for an EmergencyAddressSid that is not an emergency address.
ADDRESS_IN_USE = (400, CODE_INVALID_PARAMETER)
