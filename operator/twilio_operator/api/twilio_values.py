"""The values that cross the Twilio port: frozen, library-free copies of what Twilio returned. They
live in api/ because the pure rules (verification, adoption, the diff) read them too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True)
class Account:
    sid: str
    status: str
    friendly_name: str
    type: str


@dataclass(frozen=True)
class Trunk:
    sid: str
    domain_name: str
    friendly_name: str
    transfer_mode: str
    secure: bool = False
    cnam_lookup_enabled: bool = False
    transfer_caller_id: str = "from-transferee"
    disaster_recovery_url: str | None = None
    disaster_recovery_method: str | None = None


@dataclass(frozen=True)
class Recording:
    mode: str
    trim: str


@dataclass(frozen=True)
class CredentialList:
    sid: str
    friendly_name: str


@dataclass(frozen=True)
class IpAccessControlList:
    sid: str
    friendly_name: str


@dataclass(frozen=True)
class IpAddress:
    sid: str
    ip_address: str
    cidr_prefix_length: int


@dataclass(frozen=True)
class Credential:
    sid: str
    username: str


@dataclass(frozen=True)
class OriginationUrl:
    sid: str
    sip_url: str
    priority: int
    weight: int
    enabled: bool
    friendly_name: str


@dataclass(frozen=True)
class IncomingNumber:
    """A number as one processing region sees it: the number is the account's in every region, its
    voice configuration (trunk, application, URL) is that region's own."""

    sid: str
    phone_number: str
    trunk_sid: str | None
    voice: bool = False
    sms: bool = False
    mms: bool = False
    fax: bool = False
    voice_application_sid: str | None = None
    voice_url: str | None = None
    friendly_name: str = ""
    emergency_address_sid: str | None = None
    emergency_address_status: str | None = None  # registered, unregistered, pending-registration, ...


@dataclass(frozen=True)
class NumberPage:
    """The first numbers of an account, how many there are in all, and every number's trunk."""

    numbers: tuple[IncomingNumber, ...]
    total: int
    trunk_of: Mapping[str, str | None] = field(default_factory=dict)  # number SID -> trunk SID
    phone_numbers: frozenset[str] = frozenset()  # every E.164 number of the account


# --------------------------------------------------------------------------- buying numbers, addresses

NumberType = Literal["local", "mobile", "toll-free"]


@dataclass(frozen=True)
class NumberSearch:
    """What AvailablePhoneNumbers is asked for: one country and type, and optional filters."""

    country: str  # ISO 3166-1 alpha-2
    number_type: NumberType
    area_code: str | None = None
    contains: str | None = None
    voice: bool = True
    sms: bool = False
    mms: bool = False


@dataclass(frozen=True)
class NumberForSale:
    """One AvailablePhoneNumber: a number Twilio offers, and the address it would require."""

    phone_number: str
    iso_country: str
    address_requirements: str  # none | any | local | foreign
    locality: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AddressFields:
    """The fields of a Twilio Address that the operator writes (the TwilioEmergencyAddress spec)."""

    customer_name: str
    street: str
    city: str
    region: str
    postal_code: str
    iso_country: str
    street_secondary: str | None = None


@dataclass(frozen=True)
class Address:
    sid: str
    friendly_name: str
    fields: AddressFields
    emergency_enabled: bool
    validated: bool
    verified: bool


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str
