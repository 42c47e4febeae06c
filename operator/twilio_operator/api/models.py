"""The custom resources as pydantic models: the single source of the CRD schema.

`crdgen` turns these models into structural OpenAPI schemas; the operator parses
`spec` with them. Field names are camelCase on the wire (alias) and snake_case
in Python. Every field has a description because `kubectl explain` shows it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from twilio_operator.api.cidrs import CIDR_MAX_LENGTH, CIDR_RULES, MAX_IP_ACCESS_ENTRIES, checked_cidr
from twilio_operator.api.durations import DURATION_PATTERN
from twilio_operator.api.regions import Region, processing_region_cel

GROUP = "voip.twilio-operator.dev"
VERSION = "v1alpha1"


@dataclass(frozen=True)
class ResourceKind:
    """How the API server names one of our kinds: every module that addresses it reads it from here."""

    kind: str
    plural: str
    short_name: str

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{VERSION}"


PROVIDER = ResourceKind("TwilioProvider", "twilioproviders", "twp")
# Secret names are limited to 253 characters and the SIP Secret is named <name>-sip-credentials.
SIP_SECRET_SUFFIX = "-sip-credentials"
MAX_PROVIDER_NAME = 253 - len(SIP_SECRET_SUFFIX)
PROVIDER_OBJECT_RULES = (
    {
        "rule": f"size(self.metadata.name) <= {MAX_PROVIDER_NAME} || has(self.spec.sipCredentialsSecretName)",
        "message": f"metadata.name may be at most {MAX_PROVIDER_NAME} characters: the SIP credentials Secret "
        f"is named <name>{SIP_SECRET_SUFFIX} and Secret names are limited to 253; use a shorter name or "
        "set spec.sipCredentialsSecretName",
    },
    {
        "rule": "(has(self.spec.sipCredentialsSecretName) ? self.spec.sipCredentialsSecretName : "
        f"self.metadata.name + '{SIP_SECRET_SUFFIX}') != self.spec.credentialsSecretRef.name",
        "message": "the SIP credentials Secret (spec.sipCredentialsSecretName, default "
        f"<name>{SIP_SECRET_SUFFIX}) must not be the credentials Secret (spec.credentialsSecretRef.name): "
        "the operator writes the SIP Secret and would overwrite the Twilio credentials",
    },
)
PHONE_NUMBER = ResourceKind("TwilioPhoneNumber", "twiliophonenumbers", "twpn")
# Whole-object rules: they read the status, which the spec's own rules cannot.
PHONE_NUMBER_OBJECT_RULES = (
    {
        "rule": "!has(oldSelf.spec.purchase) || !has(self.spec.purchase) || "
        "self.spec.purchase == oldSelf.spec.purchase || !has(oldSelf.status) || "
        "!has(oldSelf.status.purchase) || !has(oldSelf.status.purchase.sid)",
        "message": "spec.purchase cannot change once its number is bought (status.purchase.sid): the "
        "number stays this object's; to buy another, create another TwilioPhoneNumber",
    },
)
EMERGENCY_ADDRESS = ResourceKind("TwilioEmergencyAddress", "twilioemergencyaddresses", "twea")
LIVEKIT_CONNECTION = ResourceKind("LiveKitConnection", "livekitconnections", "lkc")

ACCOUNT_SID_PATTERN = r"^AC[0-9a-f]{32}$"
PHONE_NUMBER_SID_PATTERN = r"^PN[0-9a-f]{32}$"
TRUNK_SID_PATTERN = r"^TK[0-9a-f]{32}$"
CREDENTIAL_LIST_SID_PATTERN = r"^CL[0-9a-f]{32}$"
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
BUNDLE_SID_PATTERN = r"^BU[0-9a-f]{32}$"
ADDRESS_SID_PATTERN = r"^AD[0-9a-f]{32}$"
ISO_COUNTRY_PATTERN = r"^[A-Z]{2}$"
AREA_CODE_PATTERN = r"^[2-9][0-9]{2}$"
# AvailablePhoneNumbers' Contains: 2 to 16 digits or letters (keypad digits), `*` one character, `%`
# a run, a leading `+` anchors at the start, a trailing `$` at the end (twilio_api_v2010.json).
CONTAINS_PATTERN = r"^\+?[0-9A-Za-z*%]{2,16}\$?$"
DNS_LABEL_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

DeletionPolicy = Literal["Delete", "Orphan"]
ReleasePolicy = Literal["Retain", "Release"]
NumberType = Literal["local", "mobile", "toll-free"]
NumberCapability = Literal["voice", "sms", "mms"]
ManagementPolicy = Literal["Full", "ObserveOnly"]
VerificationStatus = Literal["pending", "verified", "warning", "failed"]
CheckStatus = Literal["passed", "warning", "failed", "skipped"]
ConditionStatus = Literal["True", "False", "Unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


# --------------------------------------------------------------------------- TwilioProvider spec


class CredentialsSecretRef(_Model):
    """Where the customer's Twilio credentials live: a Secret in the provider's own namespace."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.apiKeySidKey) == has(self.apiKeySecretKey)",
                    "message": "apiKeySidKey and apiKeySecretKey must be set together",
                }
            ]
        }
    )

    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_LABEL_NAME_PATTERN,
        description="Name of a Secret in the same namespace as the TwilioProvider. There is no namespace "
        "field on purpose: the operator never reads Secrets of other namespaces for you.",
    )
    auth_token_key: str = Field(
        default="authToken",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
        description="Key in the Secret holding the account's Auth Token (32 lowercase hex characters). "
        "Used unless apiKeySidKey and apiKeySecretKey are set.",
    )
    api_key_sid_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
        description="Key in the Secret holding a Twilio API key SID (SK...). When set together with "
        "apiKeySecretKey, the API key is used instead of the Auth Token.",
    )
    api_key_secret_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
        description="Key in the Secret holding the API key's secret.",
    )


class OriginationUri(_Model):
    """A SIP endpoint Twilio sends inbound calls to (the voice-agent platform's SIP address)."""

    sip_url: str = Field(
        pattern=r"^sip:[^\s]+$",
        max_length=255,
        description="SIP URI of the endpoint, e.g. sip:agents.example.com;transport=tcp. "
        "Twilio supports sip: only.",
    )
    priority: int = Field(
        default=10,
        ge=0,
        le=65535,
        description="Lower values are tried first (0-65535).",
    )
    weight: int = Field(
        default=10,
        ge=1,
        le=65535,
        description="Share of calls among URIs of the same priority (1-65535).",
    )
    enabled: bool = Field(default=True, description="Whether Twilio may use this URI.")


RecordingMode = Literal[
    "do-not-record",
    "record-from-ringing",
    "record-from-answer",
    "record-from-ringing-dual",
    "record-from-answer-dual",
]
RecordingTrim = Literal["trim-silence", "do-not-trim"]
TransferCallerId = Literal["from-transferee", "from-transferor"]
# Twilio's trunk transfer_mode (twilio_trunking_v1.json, trunk_enum_transfer_setting).
TransferMode = Literal["disable-all", "enable-all", "sip-only"]


class TrunkRecording(_Model):
    """Call recording on the trunk (Twilio's trunk Recording resource)."""

    mode: RecordingMode = Field(description="Whether and from when calls are recorded.")
    trim: RecordingTrim | None = Field(default=None, description="Trim leading and trailing silence.")


class TrunkSettings(_Model):
    """Optional settings of the Elastic SIP trunk, as Twilio's trunk resource names them. A field left
    unset leaves Twilio's value alone; a field that is set is kept as set (drift is repaired)."""

    secure: bool | None = Field(
        default=None, description="Require TLS signalling and SRTP media for calls on the trunk."
    )
    cnam_lookup_enabled: bool | None = Field(
        default=None, description="Look up the caller's name (CNAM) for inbound calls."
    )
    transfer_caller_id: TransferCallerId | None = Field(
        default=None, description="Caller ID on transferred calls: from-transferee or from-transferor."
    )
    disaster_recovery_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=2048,
        description="URL Twilio requests when a call to the trunk's origination URIs fails.",
    )
    disaster_recovery_method: Literal["GET", "POST"] | None = Field(
        default=None, description="HTTP method for disasterRecoveryUrl."
    )
    recording: TrunkRecording | None = Field(default=None, description="Call recording on the trunk.")


Cidr = Annotated[
    str,
    AfterValidator(checked_cidr),
    Field(
        max_length=CIDR_MAX_LENGTH,
        description="An IPv4 address (a /32) or a CIDR block given by its network address.",
        json_schema_extra={"x-kubernetes-validations": list(CIDR_RULES)},
    ),
]


class IpAccessControl(_Model):
    """Admit SIP traffic to the trunk from these addresses: an IP access control list of the
    operator's own, attached to the trunk, beside the credential list (which stays)."""

    cidrs: list[Cidr] = Field(
        min_length=1,
        max_length=MAX_IP_ACCESS_ENTRIES,
        description="IPv4 addresses (203.0.113.5) or CIDR blocks (203.0.113.0/24, /8 to /32) of the "
        f"platform's SIP servers, at most {MAX_IP_ACCESS_ENTRIES} (Twilio's limit per list). Twilio "
        "accepts IPv4 only. The operator keeps its IP access control list at exactly this set.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )


TEMPLATE_KEY_LIMIT = 20  # rendered keys per template
TEMPLATE_SOURCE_LIMIT = 16384  # characters of one template


class SipSecretTemplate(_Model):
    """Extra keys, labels and annotations of the SIP credentials Secret, for a consumer's own format."""

    data: dict[str, str] = Field(
        default_factory=dict,
        max_length=TEMPLATE_KEY_LIMIT,
        description="Extra Secret keys, each a Jinja2 template (sandboxed, undefined names are errors) over "
        "username, password, sipDomain, terminationUri, trunkSid, region, and previousUsername and "
        "previousPassword (empty outside a rotation's grace period). The five standard keys cannot be "
        "replaced. See docs/rotation.md and examples/sip-templates/.",
        json_schema_extra={
            "additionalProperties": {"type": "string", "maxLength": TEMPLATE_SOURCE_LIMIT},
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(k, k.matches('" + SECRET_KEY_PATTERN + "') && !(k in ['username', "
                    "'password', 'sipDomain', 'terminationUri', 'trunkSid', 'previousUsername', "
                    "'previousPassword']))",
                    "message": "template keys must be valid Secret keys and not one of the standard keys",
                }
            ],
        },
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="Extra labels of the Secret (plain values, not templates).",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="Extra annotations of the Secret (plain values, not templates), e.g. for Reloader.",
    )


class AgentTableTemplate(_Model):
    """Extra keys, labels and annotations of the agent table ConfigMap."""

    data: dict[str, str] = Field(
        default_factory=dict,
        max_length=TEMPLATE_KEY_LIMIT,
        description="Extra ConfigMap keys, each a Jinja2 template (sandboxed, undefined names are errors) "
        "over numbers (a list of {phoneNumber, numberSid, agent, sipUri, object}, loop with "
        "{% for n in numbers %}), provider, namespace, trunkSid, sipDomain and originationUris. "
        "See docs/agents.md and examples/agent-tables/.",
        json_schema_extra={
            "additionalProperties": {"type": "string", "maxLength": TEMPLATE_SOURCE_LIMIT},
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(k, k.matches('" + SECRET_KEY_PATTERN + "') && k != 'agents.json')",
                    "message": "template keys must be valid ConfigMap keys other than agents.json",
                }
            ],
        },
    )
    labels: dict[str, str] = Field(
        default_factory=dict, max_length=20, description="Extra labels of the ConfigMap (plain values)."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, max_length=20, description="Extra annotations of the ConfigMap (plain values)."
    )


class AgentTableSpec(_Model):
    """The ConfigMap that tells the voice platform which agent answers which number."""

    config_map_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=DNS_LABEL_NAME_PATTERN,
        description="Name of the ConfigMap. Default: <metadata.name>-agents.",
    )
    template: AgentTableTemplate | None = Field(
        default=None, description="Extra keys rendered from the table, e.g. LiveKit dispatch rules."
    )


class SipCredentialsSpec(_Model):
    """How the SIP credential is rotated and how its Secret looks to consumers."""

    rotation_interval: str | None = Field(
        default=None,
        pattern=DURATION_PATTERN,
        max_length=16,
        description="Rotate the SIP credential this long after it was created, e.g. 720h (at least 1h; "
        "shorter values count as 1h). Unset: rotate only on demand (annotation "
        "voip.twilio-operator.dev/rotate-sip-credentials) or when the Secret is lost.",
    )
    grace_period: str = Field(
        default="1h",
        pattern=DURATION_PATTERN,
        max_length=16,
        description="How long the previous credential keeps working after a rotation, so that consumers can "
        "reload the Secret without dropping a call.",
    )
    template: SipSecretTemplate | None = Field(
        default=None, description="Extra keys, labels and annotations of the SIP credentials Secret."
    )


class TwilioProviderSpec(_Model):
    """Desired state of a customer's Twilio integration."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    # Twilio keeps REST resources in the processing region that created them.
                    "rule": f"{processing_region_cel('self')} == {processing_region_cel('oldSelf')}",
                    "message": "region cannot move between Twilio processing regions (us1, ie1, au1): Twilio "
                    "keeps the trunk in the region that created it; create a new TwilioProvider instead",
                },
                {
                    "rule": "!has(self.transferMode) || !has(self.supportsCallTransfer) || "
                    "self.supportsCallTransfer == (self.transferMode != 'disable-all')",
                    "message": "supportsCallTransfer and transferMode disagree: transferMode disable-all is "
                    "supportsCallTransfer false, enable-all and sip-only are true; set one of them, or both "
                    "alike",
                },
                {
                    "rule": "has(self.trunkSid) == has(oldSelf.trunkSid) && (!has(self.trunkSid) || "
                    "self.trunkSid == oldSelf.trunkSid) && has(self.credentialListSid) == "
                    "has(oldSelf.credentialListSid) && (!has(self.credentialListSid) || "
                    "self.credentialListSid == oldSelf.credentialListSid)",
                    "message": "trunkSid and credentialListSid are immutable: adopt another trunk with a new "
                    "TwilioProvider",
                },
            ]
        }
    )

    display_name: str = Field(
        min_length=1,
        max_length=100,
        description="Human-readable name of the integration; used in the Twilio friendly names.",
    )
    account_sid: str = Field(
        pattern=ACCOUNT_SID_PATTERN,
        description="Twilio Account SID: AC followed by 32 lowercase hex digits. Immutable.",
        json_schema_extra={
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "accountSid is immutable"}]
        },
    )
    credentials_secret_ref: CredentialsSecretRef = Field(
        description="The Secret with the account's Auth Token or API key.",
    )
    region: Region | None = Field(
        default=None,
        description="Twilio region. ie1 and au1 are processing regions: the trunk is managed there and "
        "inbound calls are processed there. us1, us2, de1, jp1, br1 and sg1 choose the termination edge "
        "of the termination URI. Unset and us1 both process in US1; they differ only in the termination "
        "URI: unset gives the global name (sip:NAME.pstn.twilio.com, Twilio picks the nearest edge), us1 "
        "pins the Ashburn edge (sip:NAME.pstn.ashburn.twilio.com). A change that moves the termination "
        "URI posts a TerminationUriChanged Event: update the platform's outbound trunk.",
    )
    supports_call_transfer: bool | None = Field(
        default=None,
        description="Shorthand for call transfer on a trunk the operator created: true is transfer mode "
        "enable-all, false (and unset) disable-all. An adopted trunk (trunkSid) keeps its transfer mode "
        "unless transferMode is set. Must agree with transferMode when both are set.",
    )
    transfer_mode: TransferMode | None = Field(
        default=None,
        description="The trunk's call transfer mode, as Twilio names it: disable-all, enable-all (SIP REFER "
        "to the PSTN and SIP) or sip-only (REFER to SIP only). Wins over supportsCallTransfer and, unlike "
        "it, also applies to an adopted trunk. Must agree with supportsCallTransfer when both are set.",
    )
    sip_credentials_secret_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=DNS_LABEL_NAME_PATTERN,
        description="Name of the Secret the operator writes the SIP credentials to. "
        "Default: <metadata.name>-sip-credentials.",
    )
    deletion_policy: DeletionPolicy | None = Field(
        default=None,
        description="Delete removes the Twilio trunk and credential list with the object; Orphan leaves "
        "Twilio untouched and keeps the SIP credentials Secret. Unset: Delete for what the operator "
        "created, while an adopted trunk or credential list (spec.trunkSid, spec.credentialListSid) is "
        "kept; set Delete explicitly to delete adopted ones too.",
    )
    verification_interval: str = Field(
        default="1h",
        pattern=DURATION_PATTERN,
        max_length=16,
        description="How often to re-verify the credentials and repair drift, e.g. 30m or 1h. Default 1h, "
        "minimum 1m (shorter values are refused). Changes of the credentials Secret are noticed at once.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('1m')",
                    "message": "verificationInterval must be at least 1m: each verification makes about "
                    "eight Twilio requests against the customer's account",
                }
            ]
        },
    )
    origination_uris: list[OriginationUri] = Field(
        default_factory=list,
        max_length=10,
        description="SIP endpoints the trunk sends inbound calls to (the voice agents' SIP address). Each "
        "sipUrl at most once. An empty list removes every origination URI of the trunk: inbound calls "
        "then no longer arrive anywhere.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(a, self.exists_one(b, b.sipUrl.lowerAscii() == a.sipUrl.lowerAscii()))",
                    "message": "originationUris lists a sipUrl twice: Twilio keeps one origination URL per "
                    "SIP URI, so give each endpoint once (with its priority and weight)",
                }
            ]
        },
    )
    trunk_sid: str | None = Field(
        default=None,
        pattern=TRUNK_SID_PATTERN,
        description="Adopt this existing trunk (TK...) of the account instead of creating one. The operator "
        "never renames its domain, does not touch its friendly name or transfer mode, manages its "
        "origination URIs only when originationUris is set, and keeps it on deletion unless "
        "deletionPolicy is Delete. Immutable.",
    )
    credential_list_sid: str | None = Field(
        default=None,
        pattern=CREDENTIAL_LIST_SID_PATTERN,
        description="Adopt this existing credential list (CL...) for the SIP credential instead of creating "
        "one; it is attached to the trunk if it is not. Immutable.",
    )
    management_policy: ManagementPolicy = Field(
        default="Full",
        description="Full provisions and repairs the trunk. ObserveOnly makes no Twilio write at all and "
        "creates no SIP Secret: it reads, verifies and reports every difference from this spec as "
        "verificationStatus warning; deleting an ObserveOnly provider leaves Twilio untouched. Switch "
        "to Full to converge.",
    )
    trunk: TrunkSettings | None = Field(
        default=None,
        description="Optional trunk settings (secure, CNAM lookup, transfer caller ID, disaster recovery, "
        "recording). Unset fields leave Twilio's values alone.",
    )
    sip_credentials: SipCredentialsSpec | None = Field(
        default=None, description="Rotation and consumer format of the SIP credentials Secret."
    )
    ip_access_control: IpAccessControl | None = Field(
        default=None,
        description="Admit SIP traffic from these IPv4 addresses or CIDR blocks (Asterisk, FreeSWITCH on "
        "static IPs): the operator keeps an IP access control list of its own with exactly these entries "
        "and attaches it to the trunk, in addition to the credential list. Removing the field detaches "
        "and deletes that list. See docs/ip-access-control.md.",
    )
    agent_table: AgentTableSpec | None = Field(
        default=None,
        description="Where the number-to-agent table of this provider's TwilioPhoneNumbers is published "
        "(a ConfigMap, always kept current; this only names it and adds templated keys).",
    )


# --------------------------------------------------------------------------- status


_SipUriItem = Annotated[str, Field(description="A SIP URI.")]
_NumberItem = Annotated[str, Field(description="A phone number in E.164 form.")]
_NameItem = Annotated[str, Field(description="An object name.")]


class Condition(_Model):
    """A metav1.Condition."""

    type: str = Field(max_length=316, description="Condition type, e.g. Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(max_length=1024, description="CamelCase reason for the last transition.")
    message: str = Field(default="", max_length=32768, description="Human-readable details.")
    last_transition_time: str = Field(description="When the status last changed (RFC 3339).")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this condition was computed from."
    )


class VerificationDetail(_Model):
    """The result of one verification check."""

    check_name: str = Field(description="Which check ran, e.g. accountActive.")
    status: CheckStatus = Field(
        description="passed, warning, failed, or skipped (the credentials may not make that check; "
        "the message says why)."
    )
    message: str = Field(default="", description="What the check found.")
    timestamp: str = Field(description="When the check ran (RFC 3339).")
    details: dict[str, str] = Field(default_factory=dict, description="Extra facts the check collected.")


class AvailableNumber(_Model):
    """One incoming phone number of the account."""

    phone_number: str = Field(description="E.164 number.")
    sid: str = Field(description="IncomingPhoneNumber SID (PN...).")
    voice: bool = Field(default=False, description="Whether the number is voice capable.")
    trunk_sid: str | None = Field(default=None, description="Trunk the number is on, if any.")


class SipCredentialsStatus(_Model):
    """Which SIP credential is current, which one is still in its grace period, what happens next."""

    model_config = ConfigDict(extra="ignore")

    username: str | None = Field(default=None, description="Username of the current SIP credential.")
    created_at: str | None = Field(default=None, description="When the current credential was created.")
    next_rotation_at: str | None = Field(
        default=None, description="When the next scheduled rotation is due (unset without rotationInterval)."
    )
    previous_username: str | None = Field(
        default=None, description="Username of the previous credential, valid until previousExpiresAt."
    )
    previous_expires_at: str | None = Field(
        default=None, description="When the previous credential is deleted from Twilio and the Secret."
    )
    last_rotation_request: str | None = Field(
        default=None,
        description="The last value of the rotate-sip-credentials annotation that was handled.",
    )
    previous_kept_for: list[_NameItem] | None = Field(
        default=None,
        description="LiveKitConnections whose LiveKit outbound trunk still uses the previous credential: "
        "its retirement (or the next rotation) waits until they have switched to the current one.",
    )


class _Status(_Model):
    # Status is written by the operator only; unknown fields from older versions are tolerated.
    model_config = ConfigDict(extra="ignore")


class AgentTableStatus(_Model):
    """What the operator last wrote to the agent-table ConfigMap (a digest, never the content)."""

    config_map: str = Field(description="The ConfigMap's name.")
    digest: str = Field(
        description="SHA-256 of the data, labels and annotations applied: an operator restarted over an "
        "unchanged table does not write it again."
    )


class TwilioProviderStatus(_Status):
    """Observed state, written by the operator only. Never holds a token, key secret or password."""

    observed_generation: int | None = Field(default=None, description="Last metadata.generation handled.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready plus one condition per stage: CredentialsVerified, TrunkProvisioned, "
        "SipCredentialsStored.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    provider_type: Literal["twilio"] | None = Field(default=None, description="Always twilio.")
    verification_status: VerificationStatus | None = Field(
        default=None, description="pending, verified, warning or failed."
    )
    last_verified_at: str | None = Field(default=None, description="When the checks last ran (RFC 3339).")
    verification_details: list[VerificationDetail] = Field(
        default_factory=list, description="Result of each check of the last verification."
    )
    phone_number_count: int | None = Field(
        default=None, description="Phone numbers imported and managed through this provider."
    )
    account_phone_number_count: int | None = Field(
        default=None, description="All incoming phone numbers of the Twilio account."
    )
    available_numbers: list[AvailableNumber] = Field(
        default_factory=list,
        max_length=100,
        description="The first 100 incoming numbers of the account, refreshed with each verification.",
    )
    trunk_sid: str | None = Field(default=None, description="SID of the Elastic SIP trunk (TK...).")
    trunk_domain_name: str | None = Field(default=None, description="The trunk's domain name.")
    termination_uri: str | None = Field(
        default=None, description="SIP URI the platform dials for outbound calls (sip:NAME.pstn...)."
    )
    credential_list_sid: str | None = Field(default=None, description="SID of the credential list (CL...).")
    ip_access_control_list_sid: str | None = Field(
        default=None,
        description="SID of the operator's IP access control list (AL...), when spec.ipAccessControl is set.",
    )
    sip_credentials_secret_name: str | None = Field(
        default=None, description="Secret holding the SIP username, password and termination URI."
    )
    region: str | None = Field(default=None, description="The region the trunk is configured for.")
    supports_call_transfer: bool | None = Field(
        default=None, description="Whether call transfer is enabled (transferMode other than disable-all)."
    )
    transfer_mode: str | None = Field(default=None, description="The trunk's transfer mode in Twilio.")
    trunk_recreations: int | None = Field(
        default=None, description="How often the trunk was found deleted in Twilio and recreated."
    )
    origination_uris: list[_SipUriItem] | None = Field(
        default=None,
        description="The SIP URIs the trunk sends inbound calls to, as the last reconcile left (or, under "
        "ObserveOnly, found) them: spec.originationUris merged with the sipUri of each LiveKitConnection "
        "of this provider. Unset while the operator does not manage them.",
    )
    agent_table: AgentTableStatus | None = Field(
        default=None,
        description="The agent-table ConfigMap as last written (handlers/agent_table.py is its one writer).",
    )
    sip_credentials: SipCredentialsStatus | None = Field(
        default=None,
        description="The SIP credential's rotation state: usernames and times, never a password.",
    )


# --------------------------------------------------------------------------- TwilioPhoneNumber


class LocalObjectReference(_Model):
    """A reference to an object in the same namespace."""

    name: str = Field(
        min_length=1, max_length=253, pattern=DNS_LABEL_NAME_PATTERN, description="Object name."
    )


class AgentRef(_Model):
    """The voice agent that answers the number."""

    name: str = Field(
        min_length=1,
        max_length=253,
        description="Agent name on the voice platform (e.g. the LiveKit agentName to dispatch).",
    )
    sip_uri: str | None = Field(
        default=None,
        pattern=r"^sips?:[^\s]+$",
        max_length=255,
        description="SIP URI the voice platform forwards this number's calls to. Twilio sends every call "
        "of the trunk to the provider's originationUris with the dialled number in the Request-URI; the "
        "platform routes it by that number using the provider's agent table ConfigMap, where this URI is "
        "published (see docs/agents.md).",
    )


Capability = Annotated[NumberCapability, Field(description="voice, sms or mms.")]


def _voice_only() -> list[Capability]:
    return ["voice"]


class NumberPurchase(_Model):
    """Buy a number: search Twilio's AvailablePhoneNumbers with these criteria and buy the first match."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.areaCode) || self.country in ['US', 'CA']",
                    "message": "areaCode applies to US and CA numbers only (Twilio's AreaCode filter); use "
                    "contains for other countries",
                }
            ]
        }
    )

    country: str = Field(
        pattern=ISO_COUNTRY_PATTERN,
        description="ISO 3166-1 alpha-2 country of the number, e.g. US, GB, DE. Most countries outside the "
        "US and Canada require a regulatory bundle (bundleSid) or an address (addressSid): see "
        "docs/numbers.md.",
    )
    type: NumberType = Field(
        default="local", description="local, mobile or toll-free (Twilio's number types)."
    )
    area_code: str | None = Field(
        default=None,
        pattern=AREA_CODE_PATTERN,
        description="Three-digit area code (US and CA only), e.g. 415.",
    )
    contains: str | None = Field(
        default=None,
        pattern=CONTAINS_PATTERN,
        description="Twilio's Contains pattern: 2 to 16 digits or letters (letters stand for keypad "
        "digits), * for one digit, % for any run of digits, a leading + anchors at the start of the number "
        "(with its country code), a trailing $ at its end. E.g. 555, +1415%, 0100$.",
    )
    capabilities: list[Capability] = Field(
        default_factory=_voice_only,
        max_length=3,
        description="What the number must be able to do: voice (required: calls reach the SIP trunk), "
        "and optionally sms and mms.",
        json_schema_extra={
            "x-kubernetes-list-type": "set",
            "x-kubernetes-validations": [
                {"rule": "'voice' in self", "message": "a number on a SIP trunk must be voice capable"}
            ],
        },
    )
    bundle_sid: str | None = Field(
        default=None,
        pattern=BUNDLE_SID_PATTERN,
        description="An approved regulatory Bundle (BU...) of the account, passed to Twilio with the "
        "purchase. Countries that require one refuse the purchase without it (Twilio error 21649).",
    )
    address_sid: str | None = Field(
        default=None,
        pattern=ADDRESS_SID_PATTERN,
        description="An Address (AD...) of the account, passed to Twilio with the purchase, for numbers "
        "with an address requirement (Twilio errors 21631, 21615). Not the emergency address: that is "
        "emergencyAddressRef.",
    )


class TwilioPhoneNumberSpec(_Model):
    """Import one of the account's phone numbers onto a provider's trunk, or buy one (purchase)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.phoneNumber), has(self.phoneNumberSid), has(self.purchase)]"
                    ".filter(x, x).size() == 1",
                    "message": "set exactly one of phoneNumber, phoneNumberSid or purchase",
                },
                {
                    "rule": "self.providerRef.name == oldSelf.providerRef.name",
                    "message": "providerRef is immutable",
                },
                {
                    "rule": "has(self.phoneNumber) == has(oldSelf.phoneNumber) && (!has(self.phoneNumber) "
                    "|| self.phoneNumber == oldSelf.phoneNumber) && has(self.phoneNumberSid) == "
                    "has(oldSelf.phoneNumberSid) && (!has(self.phoneNumberSid) || "
                    "self.phoneNumberSid == oldSelf.phoneNumberSid) && has(self.purchase) == "
                    "has(oldSelf.purchase)",
                    "message": "phoneNumber and phoneNumberSid are immutable, and purchase can be neither "
                    "added nor removed: to import or buy another number, create another TwilioPhoneNumber "
                    "(deleting this one detaches its number)",
                },
                {
                    "rule": "!has(self.releasePolicy) || self.releasePolicy != 'Release' || "
                    "has(self.purchase)",
                    "message": "releasePolicy Release applies only to a number bought with spec.purchase: an "
                    "imported number is never released from the account",
                },
            ]
        }
    )

    provider_ref: LocalObjectReference = Field(
        description="The TwilioProvider (same namespace). Immutable: create another TwilioPhoneNumber "
        "to move the number to another provider."
    )
    phone_number: str | None = Field(
        default=None,
        pattern=E164_PATTERN,
        description="The number in E.164 form, e.g. +14155550100. Set exactly one of phoneNumber, "
        "phoneNumberSid and purchase. Immutable.",
    )
    phone_number_sid: str | None = Field(
        default=None,
        pattern=PHONE_NUMBER_SID_PATTERN,
        description="The IncomingPhoneNumber SID (PN...). Set exactly one of phoneNumber, "
        "phoneNumberSid and purchase. Immutable.",
    )
    agent_ref: AgentRef | None = Field(default=None, description="The voice agent that answers this number.")
    allow_takeover: bool = Field(
        default=False,
        description="Move the number even if it is on another trunk that no TwilioProvider manages (made by "
        "hand or by another tool). Without it, such a number is reported as a Conflict and left alone. A "
        "number on another TwilioProvider's trunk is never moved (delete the TwilioPhoneNumber there, "
        "which detaches it); two objects that both set allowTakeover for one number are both a Conflict.",
    )
    purchase: NumberPurchase | None = Field(
        default=None,
        description="Buy a number instead of importing one: the operator searches Twilio's available "
        "numbers with these criteria, buys the first match (exactly once, also across crashes: the number "
        "carries this object's namespace and name in its friendly name) and then imports it like any "
        "other. Set exactly one of phoneNumber, phoneNumberSid and purchase. Its fields can change until "
        "the number is bought (status.purchase.sid), then not at all.",
    )
    release_policy: ReleasePolicy = Field(
        default="Retain",
        description="What deleting this object does to the number in the Twilio account. Retain (default) "
        "detaches it from the trunk and keeps it in the account. Release gives it back to Twilio, which "
        "is irreversible (nobody can buy it back); it applies only to a number this object bought "
        "(spec.purchase), never to an imported one, and is refused while another TwilioPhoneNumber or "
        "another trunk uses the number.",
    )
    emergency_address_ref: LocalObjectReference | None = Field(
        default=None,
        description="A TwilioEmergencyAddress of the same namespace and provider: registered with the "
        "number for emergency calls (Twilio charges for an emergency call from a US or Canadian number "
        "without one). Removing the field, or deleting this object, unlinks it.",
    )


class PhoneCapabilities(_Model):
    """What the number can do."""

    voice: bool = Field(default=False, description="Voice calls.")
    sms: bool = Field(default=False, description="SMS.")
    mms: bool = Field(default=False, description="MMS.")
    fax: bool = Field(default=False, description="Fax.")


class PurchaseStatus(_Model):
    """The number this object bought, or how its purchase is going."""

    model_config = ConfigDict(extra="ignore")

    sid: str | None = Field(
        default=None,
        description="IncomingPhoneNumber SID of the number this object bought (also when it was found "
        "again by its friendly name after a crash or a re-creation of the object).",
    )
    phone_number: str | None = Field(default=None, description="E.164 number bought.")
    purchased_at: str | None = Field(
        default=None, description="When the operator bought the number or found it again (RFC 3339)."
    )
    failures: int | None = Field(
        default=None,
        description="Consecutive purchase attempts that bought nothing; each waits twice as long as the "
        "last (a change of the spec tries again at once).",
    )
    last_attempt_at: str | None = Field(default=None, description="When the last failed attempt was made.")
    attempted_generation: int | None = Field(
        default=None, description="The metadata.generation of the last failed attempt."
    )


class TwilioPhoneNumberStatus(_Status):
    """Observed state of an imported or bought number."""

    observed_generation: int | None = Field(default=None, description="Last metadata.generation handled.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: the number is on the provider's trunk.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    sid: str | None = Field(default=None, description="IncomingPhoneNumber SID.")
    phone_number: str | None = Field(default=None, description="E.164 number.")
    trunk_sid: str | None = Field(default=None, description="Trunk the number is attached to.")
    capabilities: PhoneCapabilities | None = Field(default=None, description="The number's capabilities.")
    agent: str | None = Field(default=None, description="The agent that answers the number.")
    voice_region: str | None = Field(
        default=None,
        description="The number's inbound processing region (one for the whole account) as last read "
        "or written by the operator; its calls reach the provider's trunk only when it is the "
        "provider's processing region.",
    )
    previous_voice_region: str | None = Field(
        default=None,
        description="The number's inbound processing region before the operator changed it (us1 when "
        "it was never set); restored when the number is detached.",
    )
    previous_voice_application_sid: str | None = Field(
        default=None,
        description="The voice application (AP...) the number had before the operator attached it (setting "
        "a trunk deletes it in Twilio); given back when the number is detached.",
    )
    purchase: PurchaseStatus | None = Field(
        default=None, description="Set for spec.purchase: the number bought, or the failed attempts."
    )
    emergency_address_sid: str | None = Field(
        default=None,
        description="The Address (AD...) this object registered as the number's emergency address.",
    )
    emergency_address_status: str | None = Field(
        default=None,
        description="Twilio's emergency_address_status of the number: registered, pending-registration, "
        "registration-failure, unregistered, ...",
    )


# --------------------------------------------------------------------------- TwilioEmergencyAddress


class TwilioEmergencyAddressSpec(_Model):
    """A street address registered for emergency calls: a Twilio Address with EmergencyEnabled."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.providerRef.name == oldSelf.providerRef.name",
                    "message": "providerRef is immutable: an Address lives in one Twilio account",
                },
                {
                    "rule": "self.isoCountry == oldSelf.isoCountry",
                    "message": "isoCountry is immutable (Twilio does not change an Address's country): "
                    "create another TwilioEmergencyAddress",
                },
            ]
        }
    )

    provider_ref: LocalObjectReference = Field(
        description="The TwilioProvider (same namespace) whose Twilio account holds the address. Immutable."
    )
    customer_name: str = Field(
        min_length=1, max_length=100, description="The name of the person or business at the address."
    )
    street: str = Field(min_length=1, max_length=200, description="Number and street, e.g. 1 Market St.")
    street_secondary: str | None = Field(
        default=None, min_length=1, max_length=200, description="Suite, floor or unit, e.g. Floor 3."
    )
    city: str = Field(min_length=1, max_length=100, description="City.")
    region: str = Field(
        min_length=1,
        max_length=100,
        description="State or region; for US addresses the two-letter abbreviation, e.g. CA.",
    )
    postal_code: str = Field(min_length=1, max_length=20, description="Postal code.")
    iso_country: str = Field(
        pattern=ISO_COUNTRY_PATTERN,
        description="ISO 3166-1 alpha-2 country, e.g. US. Twilio's emergency calling does not cover every "
        "country (docs/numbers.md); a number whose address Twilio cannot register reports "
        "EmergencyAddressNotRegistered. Immutable.",
    )


AddressValidation = Literal["verified", "validated", "accepted", "refused"]


class TwilioEmergencyAddressStatus(_Status):
    """The Twilio Address and what Twilio said about it."""

    observed_generation: int | None = Field(default=None, description="Last metadata.generation handled.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: the Address exists in Twilio with emergency calling enabled and matches the "
        "spec.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    address_sid: str | None = Field(default=None, description="SID of the Twilio Address (AD...).")
    validation: AddressValidation | None = Field(
        default=None,
        description="verified or validated (Twilio's flags on the Address), accepted (stored, neither flag "
        "set: the country may not require validation), or refused (Twilio refused the address; the Ready "
        "condition carries Twilio's reason and any suggested correction).",
    )
    validated: bool | None = Field(default=None, description="Twilio's validated flag of the Address.")
    verified: bool | None = Field(default=None, description="Twilio's verified flag of the Address.")


# --------------------------------------------------------------------------- LiveKitConnection

LIVEKIT_URL_PATTERN = r"^(https?|wss?)://[^\s/?#]+(/[^\s]*)?$"
LiveKitTransport = Literal["auto", "udp", "tcp", "tls"]
LiveKitMediaEncryption = Literal["disable", "allow", "require"]
MAX_LIVEKIT_ALLOWED_ADDRESSES = 100
ROOM_PREFIX_PATTERN = r"^[A-Za-z0-9_.-]*$"


def _checked_address(text: str) -> str:
    """An IP address or CIDR block (IPv4 or IPv6), as LiveKit's inbound trunk allows them."""
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or CIDR block") from None
    return text


AllowedAddress = Annotated[
    str,
    AfterValidator(_checked_address),
    Field(
        max_length=64,
        description="An IP address or CIDR block (IPv4 or IPv6) allowed to send calls to the inbound trunk.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "isIP(self) || isCIDR(self)",
                    "message": "must be an IP address like 54.172.60.1 or a CIDR block like 54.172.60.0/30",
                }
            ]
        },
    ),
]


class LiveKitApiSecretRef(_Model):
    """The Secret with the LiveKit API key and secret, in the connection's own namespace."""

    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_LABEL_NAME_PATTERN,
        description="Name of a Secret in the same namespace as the LiveKitConnection. There is no "
        "namespace field on purpose: the operator never reads Secrets of other namespaces for you.",
    )
    api_key_key: str = Field(
        default="apiKey",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
        description="Key in the Secret holding the LiveKit API key (e.g. APIxxxxxxxx).",
    )
    api_secret_key: str = Field(
        default="apiSecret",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY_PATTERN,
        description="Key in the Secret holding the LiveKit API secret. The key needs LiveKit's SIP "
        "admin grant (any key of a self-hosted server, or a Cloud project key).",
    )


class LiveKitInbound(_Model):
    """Settings of LiveKit's inbound trunk (calls from Twilio to the agents)."""

    allowed_addresses: list[AllowedAddress] = Field(
        default_factory=list,
        max_length=MAX_LIVEKIT_ALLOWED_ADDRESSES,
        description="Source addresses LiveKit accepts calls from, e.g. Twilio's signalling ranges of "
        "your region. Empty: any address (the trunk still matches only its numbers).",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    krisp_enabled: bool = Field(default=False, description="Krisp noise cancellation on the caller's audio.")


class LiveKitOutbound(_Model):
    """Settings of LiveKit's outbound trunk (calls from the agents through Twilio)."""

    transport: LiveKitTransport = Field(
        default="auto",
        description="How LiveKit reaches the Twilio termination URI: auto, udp, tcp or tls.",
    )
    destination_country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="Two-letter country code (ISO 3166-1 alpha-2) LiveKit routes outbound calls through, "
        "e.g. US. Unset: LiveKit's default routing.",
    )


class LiveKitDispatch(_Model):
    """How inbound calls reach agents: one dispatch rule per agent."""

    room_prefix: str = Field(
        default="call-",
        max_length=64,
        pattern=ROOM_PREFIX_PATTERN,
        description="Prefix of the room each call gets (LiveKit's individual dispatch rule names the room "
        "<roomPrefix>_<caller>_<random>).",
    )
    default_agent: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description="The agent that answers the provider's numbers whose TwilioPhoneNumber has no "
        "agentRef. Unset: such numbers get no dispatch rule, and LiveKit rejects their calls.",
    )


class LiveKitConnectionSpec(_Model):
    """Keep LiveKit's SIP side (trunks and dispatch rules) equal to a TwilioProvider and its numbers."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.providerRef.name == oldSelf.providerRef.name",
                    "message": "providerRef is immutable: create another LiveKitConnection",
                },
            ]
        }
    )

    provider_ref: LocalObjectReference = Field(
        description="The TwilioProvider (same namespace) whose trunk, SIP credentials and imported "
        "numbers LiveKit is connected to. Immutable."
    )
    url: str = Field(
        pattern=LIVEKIT_URL_PATTERN,
        max_length=2048,
        description="URL of the LiveKit server's API, e.g. https://myproject.livekit.cloud or "
        "http://livekit.livekit.svc:7880 (ws:// and wss:// mean the same).",
    )
    api_secret_ref: LiveKitApiSecretRef = Field(description="The Secret with the LiveKit API key and secret.")
    sip_uri: str = Field(
        pattern=r"^sip:[^\s]+$",
        max_length=255,
        description="LiveKit's SIP address that Twilio sends inbound calls to: the address of your "
        "self-hosted SIP service (sip:sip.example.com;transport=tcp) or sip:<project>.sip.livekit.cloud. "
        "The TwilioProvider adds it to its trunk's origination URIs (see docs/livekit.md).",
    )
    media_encryption: LiveKitMediaEncryption = Field(
        default="disable",
        description="SRTP for calls through both trunks: disable, allow or require (require it only with "
        "a Twilio trunk that is secure).",
    )
    inbound: LiveKitInbound | None = Field(default=None, description="Settings of the inbound trunk.")
    outbound: LiveKitOutbound | None = Field(default=None, description="Settings of the outbound trunk.")
    dispatch: LiveKitDispatch | None = Field(
        default=None, description="Room prefix and default agent of the dispatch rules."
    )
    deletion_policy: DeletionPolicy = Field(
        default="Delete",
        description="Delete removes the LiveKit trunks and dispatch rules with the object; Orphan leaves "
        "them in LiveKit.",
    )


class LiveKitTrunkStatus(_Model):
    """One of the connection's LiveKit trunks as it was last written or observed."""

    id: str = Field(description="LiveKit's trunk ID (ST_...).")
    numbers: list[_NumberItem] = Field(
        default_factory=list, description="The numbers the trunk holds (E.164)."
    )


class LiveKitOutboundStatus(LiveKitTrunkStatus):
    """The outbound trunk: also where it dials and with which SIP username (never the password)."""

    address: str | None = Field(default=None, description="The Twilio termination address it dials.")
    username: str | None = Field(
        default=None,
        description="The SIP username LiveKit authenticates with. The TwilioProvider keeps a rotated-out "
        "credential in Twilio while this still names it.",
    )


class LiveKitRuleStatus(_Model):
    """One dispatch rule of the connection: one per agent."""

    agent: str = Field(description="The agent the rule dispatches (agentName).")
    id: str = Field(description="LiveKit's dispatch rule ID (SDR_...).")
    numbers: list[_NumberItem] = Field(
        default_factory=list, description="The called numbers the rule applies to."
    )


class LiveKitNumberStatus(_Model):
    """Where a call to one of the provider's imported numbers goes."""

    phone_number: str = Field(description="The number in E.164 form, as Twilio sends it.")
    object: str = Field(description="The TwilioPhoneNumber that imported it.")
    agent: str | None = Field(
        default=None, description="The agent that answers it (agentRef or defaultAgent)."
    )
    dispatch_rule_id: str | None = Field(
        default=None, description="The dispatch rule that sends its calls to the agent (SDR_...)."
    )


class LiveKitConnectionStatus(_Status):
    """Observed state, written by the operator only. Never holds the API secret or a SIP password."""

    observed_generation: int | None = Field(default=None, description="Last metadata.generation handled.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, LiveKitReachable, TrunksInSync, DispatchInSync, OriginationInSync and Conflict.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    inbound_trunk: LiveKitTrunkStatus | None = Field(
        default=None, description="LiveKit's inbound trunk of this connection."
    )
    outbound_trunk: LiveKitOutboundStatus | None = Field(
        default=None, description="LiveKit's outbound trunk of this connection."
    )
    dispatch_rules: list[LiveKitRuleStatus] = Field(
        default_factory=list, description="The dispatch rules, one per agent."
    )
    numbers: list[LiveKitNumberStatus] = Field(
        default_factory=list,
        max_length=1000,
        description="Each imported number of the provider, its agent and its dispatch rule.",
    )
    number_count: int | None = Field(default=None, description="How many numbers the trunks hold.")
    origination_uri: str | None = Field(
        default=None, description="spec.sipUri, when the provider's Twilio trunk sends calls to it."
    )
