"""metav1.Condition handling: types, reasons and a transition-aware setter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import Condition, ConditionStatus
from twilio_operator.api.times import rfc3339

# Condition types.
READY = "Ready"
CREDENTIALS_VERIFIED = "CredentialsVerified"
TRUNK_PROVISIONED = "TrunkProvisioned"
SIP_CREDENTIALS_STORED = "SipCredentialsStored"
PROVIDER_STAGES = (CREDENTIALS_VERIFIED, TRUNK_PROVISIONED, SIP_CREDENTIALS_STORED)
AGENT_TABLE_RENDERED = "AgentTableRendered"  # present only when spec.agentTable has a template
PAUSED = "Paused"  # a condition type and its reason: reconciliation is paused by annotation
RESUMED = "Resumed"
# LiveKitConnection condition types (also READY, and CONFLICT below, a type and a reason).
LIVEKIT_REACHABLE = "LiveKitReachable"  # LiveKit's API answered and accepted the key
TRUNKS_IN_SYNC = "TrunksInSync"  # the inbound and outbound trunk are as the provider and numbers say
DISPATCH_IN_SYNC = "DispatchInSync"  # one dispatch rule per agent, holding that agent's numbers
ORIGINATION_IN_SYNC = "OriginationInSync"  # the provider's Twilio trunk sends inbound calls to sipUri
CONNECTION_STAGES = (LIVEKIT_REACHABLE, TRUNKS_IN_SYNC, DISPATCH_IN_SYNC, ORIGINATION_IN_SYNC)

# Reasons (CamelCase, stable: alerts and ArgoCD health checks key on them). Condition reasons and
# Event reasons share one vocabulary.
PROVISIONED = "Provisioned"
ADOPTION_REFUSED = "AdoptionRefused"  # spec.trunkSid or credentialListSid cannot be adopted
OBSERVING = "Observing"  # managementPolicy ObserveOnly: Ready means readable and reported
PROGRESSING = "Progressing"
VERIFIED = "Verified"
VERIFICATION_WARNING = "VerificationWarning"
VERIFICATION_RECOVERED = "VerificationRecovered"
SECRET_NOT_FOUND = "SecretNotFound"
SECRET_KEY_MISSING = "SecretKeyMissing"
SECRET_INVALID = "SecretInvalid"
AUTH_FAILED = "AuthFailed"
ACCOUNT_INACTIVE = "AccountInactive"
PERMISSION_DENIED = "PermissionDenied"
TWILIO_UNAVAILABLE = "TwilioUnavailable"
TWILIO_REJECTED = "TwilioRejected"
QUOTA_EXCEEDED = "QuotaExceeded"  # an account quota of Twilio (trunks, credential lists) is reached
KUBERNETES_REFUSED = "KubernetesRefused"  # the API server refused one of our own writes
KUBERNETES_UNAVAILABLE = "KubernetesUnavailable"  # it failed one of our requests (5xx, 429, no answer)
STORED = "Stored"
RENDERED = "Rendered"
DELETION_BLOCKED = "DeletionBlocked"
# Events of provisioning and repair steps.
TRUNK_CREATED = "TrunkCreated"
TRUNK_RECREATED = "TrunkRecreated"
TRUNK_UPDATED = "TrunkUpdated"
TERMINATION_URI_CHANGED = "TerminationUriChanged"
CREDENTIAL_LIST_CREATED = "CredentialListCreated"
CREDENTIAL_LIST_ATTACHED = "CredentialListAttached"
ORIGINATION_UPDATED = "OriginationUpdated"
IP_ACCESS_CONTROL_UPDATED = "IpAccessControlUpdated"  # the IP ACL created, its entries or attachment changed
IP_ACCESS_CONTROL_REMOVED = "IpAccessControlRemoved"  # spec.ipAccessControl removed: the IP ACL went
SIP_CREDENTIAL_CREATED = "SipCredentialCreated"
SIP_CREDENTIAL_ROTATED = "SipCredentialRotated"  # a new pair is current (also: a lost Secret repaired)
SIP_CREDENTIAL_ROTATING = "SipCredentialRotating"  # the new pair reached the Secret, not yet Twilio
SIP_CREDENTIAL_RETIRED = "SipCredentialRetired"  # the previous pair left Twilio and the Secret
SIP_CREDENTIAL_LEFTOVER_DELETED = "SipCredentialLeftoverDeleted"  # one of ours nobody knows the password of
TEMPLATE_INVALID = "TemplateInvalid"  # a template of the SIP Secret or the agent table does not render
SECRET_NOT_OWNED = "SecretNotOwned"  # the SIP Secret's name is taken by a Secret the operator did not make
CONFIG_MAP_NOT_OWNED = "ConfigMapNotOwned"  # likewise the agent table's ConfigMap
SIP_SECRET_RENAMED = "SipCredentialsSecretRenamed"  # a rename of the SIP Secret, handled as a rotation
# LiveKitConnection reasons.
REACHED = "Reached"
IN_SYNC = "InSync"
NO_CONFLICT = "NoConflict"
NO_NUMBERS = "NoNumbers"  # the provider has no imported number: LiveKit gets no trunk (and no rule)
LIVEKIT_UNREACHABLE = "LiveKitUnreachable"  # no LiveKit API answered at spec.url (down, wrong host)
LIVEKIT_UNAVAILABLE = "LiveKitUnavailable"  # LiveKit answered with a failure (5xx, its Redis down)
LIVEKIT_AUTH_FAILED = "LiveKitAuthFailed"  # the API key or secret is wrong
LIVEKIT_REJECTED = "LiveKitRejected"  # LiveKit refused a request as it is, or spec.url cannot work
ORIGINATION_PENDING = "OriginationPending"  # the provider has not (yet) put sipUri on its trunk
SIP_CREDENTIALS_PENDING = "SipCredentialsPending"  # the provider's SIP Secret holds no usable pair yet
# Events of a LiveKitConnection's changes in LiveKit.
LIVEKIT_TRUNK_CREATED = "LiveKitTrunkCreated"
LIVEKIT_TRUNK_UPDATED = "LiveKitTrunkUpdated"
LIVEKIT_TRUNK_DELETED = "LiveKitTrunkDeleted"
DISPATCH_RULE_CREATED = "DispatchRuleCreated"
DISPATCH_RULE_UPDATED = "DispatchRuleUpdated"
DISPATCH_RULE_DELETED = "DispatchRuleDeleted"
LIVEKIT_CREDENTIAL_SWITCHED = "LiveKitCredentialSwitched"  # the outbound trunk got the current SIP pair
# On a TwilioProvider: a previous SIP credential outlives its grace period, a LiveKit trunk uses it.
SIP_RETIREMENT_WAITING = "SipCredentialRetirementWaiting"
# Events of deletion.
DELETED = "Deleted"
ORPHANED = "Orphaned"
DETACHED = "Detached"
# Phone numbers.
ATTACHED = "Attached"
NOT_FOUND = "NotFound"
CONFLICT = "Conflict"
PROVIDER_NOT_READY = "ProviderNotReady"
PROVIDER_NOT_FOUND = "ProviderNotFound"
DUPLICATE = "Duplicate"
# Buying a number (spec.purchase): the Event of a purchase, and why one cannot succeed (Twilio's codes:
# docs/numbers.md).
PURCHASED = "Purchased"
NO_NUMBER_AVAILABLE = "NoNumberAvailable"  # no number for sale matches spec.purchase
ADDRESS_REQUIRED = "AddressRequired"  # 21631, 21615: the number needs an Address (spec.purchase.addressSid)
BUNDLE_REQUIRED = "BundleRequired"  # 21649: the number needs a regulatory Bundle (spec.purchase.bundleSid)
INSUFFICIENT_FUNDS = "InsufficientFunds"  # the balance cannot pay the number
TRIAL_NUMBER_LIMIT = "TrialNumberLimit"  # 10002: a trial account holds one number
PURCHASE_REFUSED = "PurchaseRefused"  # any other refusal of the purchase; the message has Twilio's code
# Deleting a TwilioPhoneNumber: the number stays in the account, or is given back to Twilio.
RETAINED = "Retained"
RELEASED = "Released"
RELEASE_REFUSED = "ReleaseRefused"  # releasePolicy Release, but the number is not provably ours or is in use
# Emergency addresses: a number's link to its TwilioEmergencyAddress, and the address itself.
EMERGENCY_ADDRESS_LINKED = "EmergencyAddressLinked"
EMERGENCY_ADDRESS_UNLINKED = "EmergencyAddressUnlinked"
EMERGENCY_ADDRESS_NOT_READY = "EmergencyAddressNotReady"  # the referenced address is missing or not Ready
EMERGENCY_ADDRESS_NOT_REGISTERED = "EmergencyAddressNotRegistered"  # linked, Twilio has not registered it
ADDRESS_ACCEPTED = "AddressAccepted"  # the Address exists in Twilio and matches the spec
ADDRESS_REFUSED = "AddressRefused"  # 21628 (not validated) or 21629 (a correction is suggested)
IN_USE = "InUse"  # a TwilioEmergencyAddress cannot be deleted: numbers still use it

# Ready=False reasons that no retry fixes: a person must change the spec, a Secret, RBAC or the Twilio
# account. ArgoCD's health checks (argocd/*/*/health.lua) call them Degraded, every other reason
# Progressing; tests/packaging/test_argocd_health.py keeps the Lua tables equal to this set.
NEEDS_A_PERSON = frozenset(
    {
        AUTH_FAILED,
        ACCOUNT_INACTIVE,
        PERMISSION_DENIED,
        TWILIO_REJECTED,
        QUOTA_EXCEEDED,
        SECRET_INVALID,
        SECRET_KEY_MISSING,
        ADOPTION_REFUSED,
        KUBERNETES_REFUSED,
        TEMPLATE_INVALID,
        SECRET_NOT_OWNED,
        CONFIG_MAP_NOT_OWNED,
        NOT_FOUND,
        CONFLICT,
        DUPLICATE,
        NO_NUMBER_AVAILABLE,
        ADDRESS_REQUIRED,
        BUNDLE_REQUIRED,
        INSUFFICIENT_FUNDS,
        TRIAL_NUMBER_LIMIT,
        PURCHASE_REFUSED,
        ADDRESS_REFUSED,
        EMERGENCY_ADDRESS_NOT_REGISTERED,
        IN_USE,
        LIVEKIT_AUTH_FAILED,
        LIVEKIT_REJECTED,
    }
)


@dataclass(frozen=True)
class ConditionUpdate:
    """What a reconcile decided about one condition (its timestamp is derived)."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


def merge_conditions(
    existing: Iterable[Condition],
    updates: Iterable[ConditionUpdate],
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Apply updates to the existing list; lastTransitionTime moves only when the status flips."""
    by_type = {c.type: c for c in existing}
    for update in updates:
        previous = by_type.get(update.type)
        flipped = previous is None or previous.status != update.status
        by_type[update.type] = Condition(
            type=update.type,
            status=update.status,
            reason=update.reason,
            message=update.message,
            last_transition_time=rfc3339(now)
            if flipped or previous is None
            else previous.last_transition_time,
            observed_generation=generation,
        )
    order = {t: i for i, t in enumerate((READY, *PROVIDER_STAGES, *CONNECTION_STAGES))}
    return sorted(by_type.values(), key=lambda c: (order.get(c.type, len(order)), c.type))


def find(conditions: Iterable[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: Iterable[Condition], type_: str = READY) -> bool:
    """Whether the condition is present with status True: the one "Ready is True" rule."""
    found = find(conditions, type_)
    return found is not None and found.status == "True"


@dataclass(frozen=True)
class ReadyState:
    """The Ready condition as every reader sees it: of a status model, of a raw status as kopf hands
    it over (no model parse on the hot watch path), or of a list of conditions."""

    status: str | None = None  # True, False, Unknown; None: no Ready condition
    reason: str | None = None
    message: str = ""

    @property
    def is_true(self) -> bool:
        return self.status == "True"

    @classmethod
    def of(cls, source: Any) -> ReadyState:
        conditions = source.conditions if hasattr(source, "conditions") else source
        if isinstance(conditions, Mapping):
            conditions = conditions.get("conditions")
        for cond in conditions or ():
            if isinstance(cond, Mapping):
                if cond.get("type") == READY:
                    return cls(cond.get("status"), cond.get("reason"), str(cond.get("message") or ""))
            elif cond.type == READY:
                return cls(cond.status, cond.reason, cond.message)
        return cls()


def twilio_failure_reason(error: TwilioError, *, quota: bool = False) -> str:
    """The one mapping from a failed Twilio call to a Ready reason, for every kind."""
    if error.kind is ErrorKind.AUTH:
        if error.account_inactive:
            return ACCOUNT_INACTIVE
        return PERMISSION_DENIED if error.permission_denied else AUTH_FAILED
    if error.kind is ErrorKind.TRANSIENT:
        return TWILIO_UNAVAILABLE
    return QUOTA_EXCEEDED if quota else TWILIO_REJECTED


AUTH_HINT = (
    "check the account SID, the secret and the region: Auth Tokens and API keys work only in the region "
    "that created them"
)


def twilio_failure_message(error: TwilioError, reason: str) -> str:
    """The condition message: Twilio's own words, with what to check when the credentials failed."""
    return f"{error}; {AUTH_HINT}" if reason == AUTH_FAILED else str(error)
