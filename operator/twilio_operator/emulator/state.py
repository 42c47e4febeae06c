"""The emulator's in-memory world: accounts and everything they own, with Twilio's cascades.

An account's numbers, their inbound routes and its addresses are held once per account; credentials,
trunks, credential lists and IP access control lists once per processing region (`Region`); a
number's voice configuration (trunk, voice URL, application) once per number and region."""

from __future__ import annotations

import hashlib
import ipaddress
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from twilio_operator.emulator import behaviour
from twilio_operator.emulator.errors import TwilioError, invalid, not_found
from twilio_operator.emulator.store import Refusal, Rules, Store

# The two kinds of list a trunk links: the name of the region's lists and of a trunk's links.
ListKind = Literal["credential_lists", "ip_access_control_lists"]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def sip_digest(username: str, password: str) -> str:
    """Digest HA1, the only form in which a SIP password is kept."""
    text = f"{username}:{behaviour.SIP_DIGEST_REALM}:{password}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def country_of(e164: str) -> str:
    """The ISO country of a seeded number without one (longest known prefix; assumed table)."""
    digits = e164.lstrip("+")
    for length in (3, 2, 1):
        country = behaviour.COUNTRY_PREFIXES.get(digits[:length])
        if country:
            return country
    return "US"


@dataclass
class VoiceConfig:
    """A number's voice configuration in one processing region."""

    trunk_sid: str | None = None
    voice_application_sid: str | None = None
    voice_url: str | None = None

    def is_empty(self) -> bool:
        return not (self.trunk_sid or self.voice_application_sid or self.voice_url)


@dataclass
class Number:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    capabilities: dict[str, bool]
    date_created: datetime
    date_updated: datetime
    number_type: str = "local"  # local | mobile | toll-free
    iso_country: str = "US"
    address_requirements: str = "none"
    address_sid: str | None = None
    bundle_sid: str | None = None
    emergency_address_sid: str | None = None
    emergency_address_status: str = "unregistered"
    voice: dict[str, VoiceConfig] = field(default_factory=dict)  # region name -> configuration

    def voice_in(self, region: str) -> VoiceConfig:
        """The configuration in `region`, for reading (an empty one if never written)."""
        return self.voice.get(region) or VoiceConfig()

    def config(self, region: str) -> VoiceConfig:
        """The configuration in `region`, for writing."""
        return self.voice.setdefault(region, VoiceConfig())

    def trunk_in(self, region: str) -> str | None:
        return self.voice_in(region).trunk_sid


NUMBER_RULES = Rules[Number]("PN", "IncomingPhoneNumbers", "incoming_phone_numbers")


@dataclass
class Address:
    sid: str
    account_sid: str
    customer_name: str
    street: str
    street_secondary: str | None
    city: str
    region: str
    postal_code: str
    iso_country: str
    friendly_name: str
    emergency_enabled: bool
    validated: bool
    verified: bool
    date_created: datetime
    date_updated: datetime


ADDRESS_RULES = Rules[Address]("AD", "Addresses", "addresses")


@dataclass
class AvailableNumber:
    """One number of Twilio's inventory that any account may buy (seeded by the admin API)."""

    phone_number: str
    iso_country: str
    number_type: str
    capabilities: dict[str, bool]
    address_requirements: str = "none"
    bundle_required: bool = False
    price: Decimal = Decimal("1.15")
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    beta: bool = False

    @property
    def sid(self) -> str:  # the pager's key
        return self.phone_number


@dataclass
class Credential:
    sid: str
    account_sid: str
    credential_list_sid: str
    username: str
    password_digest: str
    date_created: datetime
    date_updated: datetime


# A username is unique in its list (assumed; the code: behaviour.CODE_DUPLICATE_USERNAME).
CREDENTIAL_RULES = Rules[Credential](
    "CR",
    "Credentials",
    "credentials",
    quota="credentials_per_list",
    unique=lambda c: c.username,
    duplicate=Refusal(
        400, behaviour.CODE_DUPLICATE_USERNAME, "Username already exists in this list", documented=False
    ),
)


@dataclass
class CredentialList:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    credentials: Store[Credential] = field(default_factory=partial(Store, CREDENTIAL_RULES))


# Unique names only in strict mode (catalogue 21240, unconfirmed): the routes ask then.
CREDENTIAL_LIST_RULES = Rules[CredentialList](
    "CL",
    "CredentialLists",
    "credential_lists",
    quota="credential_lists",
    unique=lambda cl: cl.friendly_name,
    duplicate=Refusal(
        400,
        behaviour.CODE_CREDENTIAL_LIST_INVALID,
        "A Credential List with the same FriendlyName already exists",
    ),
)


@dataclass
class IpAddress:
    sid: str
    account_sid: str
    ip_access_control_list_sid: str
    friendly_name: str
    ip_address: str
    cidr_prefix_length: int
    date_created: datetime
    date_updated: datetime


IP_ADDRESS_RULES = Rules[IpAddress](
    "IP",
    "IpAddresses",
    "ip_addresses",
    quota="ip_addresses_per_list",
    unique=lambda ip: (ip.ip_address, ip.cidr_prefix_length),
    duplicate=Refusal(
        *behaviour.DUPLICATE_IP_ADDRESS, "IP address already exists in this list", documented=False
    ),
)


@dataclass
class IpAccessControlList:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    ip_addresses: Store[IpAddress] = field(default_factory=partial(Store, IP_ADDRESS_RULES))


IP_ACCESS_CONTROL_LIST_RULES = Rules[IpAccessControlList](
    "AL", "IpAccessControlLists", "ip_access_control_lists", quota="ip_access_control_lists"
)


@dataclass
class OriginationUrl:
    sid: str
    account_sid: str
    trunk_sid: str
    weight: int
    priority: int
    enabled: bool
    friendly_name: str
    sip_url: str
    date_created: datetime
    date_updated: datetime


ORIGINATION_URL_RULES = Rules[OriginationUrl]("OU", "OriginationUrls", "origination_urls")


@dataclass
class Link:
    """A credential list or IP access control list (`sid`) linked to a trunk since `date_created`."""

    sid: str
    trunk_sid: str
    date_created: datetime


CREDENTIAL_LIST_LINK_RULES = Rules[Link](
    "CL",
    "CredentialLists",
    "credential_lists",
    unique=lambda link: link.sid,
    duplicate=Refusal(*behaviour.DUPLICATE_LINK, "Credential List already associated with Trunk"),
)
IP_ACCESS_CONTROL_LIST_LINK_RULES = Rules[Link](
    "AL",
    "IpAccessControlLists",
    "ip_access_control_lists",
    unique=lambda link: link.sid,
    duplicate=Refusal(*behaviour.DUPLICATE_LINK, "IP-ACL already associated with Trunk"),
)


@dataclass
class Trunk:
    sid: str
    account_sid: str
    date_created: datetime
    date_updated: datetime
    friendly_name: str | None = None
    domain_name: str | None = None
    disaster_recovery_url: str | None = None
    disaster_recovery_method: str | None = "POST"
    transfer_mode: str = "disable-all"
    transfer_caller_id: str = "from-transferee"
    secure: bool = False
    cnam_lookup_enabled: bool = False
    symmetric_rtp_enabled: bool = False
    recording_mode: str = "do-not-record"
    recording_trim: str = "do-not-trim"
    credential_lists: Store[Link] = field(default_factory=partial(Store, CREDENTIAL_LIST_LINK_RULES))
    ip_access_control_lists: Store[Link] = field(
        default_factory=partial(Store, IP_ACCESS_CONTROL_LIST_LINK_RULES)
    )
    origination_urls: Store[OriginationUrl] = field(default_factory=partial(Store, ORIGINATION_URL_RULES))

    def links(self, kind: ListKind) -> Store[Link]:
        return self.credential_lists if kind == "credential_lists" else self.ip_access_control_lists


TRUNK_RULES = Rules[Trunk]("TK", "Trunks", "trunks", quota="trunks")


@dataclass
class Route:
    """An inbound processing region assignment (routes.twilio.com/v2), for a trunk domain or a number."""

    sid: str
    account_sid: str
    target: str  # the trunk domain name or the E.164 number
    voice_region: str
    friendly_name: str | None
    date_created: datetime
    date_updated: datetime


@dataclass
class ApiKey:
    sid: str
    secret: str
    type: str  # main | standard | restricted (behaviour.API_KEY_TYPES)
    permissions: frozenset[str] = frozenset()


@dataclass
class DomainClaim:
    """A termination domain: one account owns it, with at most one trunk per processing region
    (twilio.com/docs/global-infrastructure/regional-sip-trunks)."""

    account_sid: str
    trunks: dict[str, str] = field(default_factory=dict)  # region name -> trunk sid


@dataclass
class Account:
    """What an account is everywhere: identity, status, type, its numbers, their routes, its addresses
    and the emulator's per-account settings. Credentials and the rest of the data live in its
    processing regions (`Region`), which are independent."""

    sid: str
    friendly_name: str
    status: str
    type: str
    date_created: datetime
    date_updated: datetime
    regions: dict[str, Region] = field(default_factory=dict)
    home_region: str = behaviour.DEFAULT_REGION  # where the admin API's top-level credentials live
    suspension_mode: str = behaviour.SUSPENSION_MODE_DEFAULT
    concurrency_limit: int | None = None  # None: the global setting applies
    quotas: dict[str, int] = field(default_factory=dict)  # overrides of behaviour.quota_defaults
    balance: Decimal | None = None  # None: the default opening balance of the account's type
    numbers: Store[Number] = field(default_factory=partial(Store, NUMBER_RULES))
    number_routes: dict[str, Route] = field(default_factory=dict)  # by E.164 number
    trunk_routes: dict[str, Route] = field(default_factory=dict)  # by trunk domain name
    addresses: Store[Address] = field(default_factory=partial(Store, ADDRESS_RULES))

    def quota(self, name: str, strict: bool = False) -> int:
        if name in self.quotas:
            return self.quotas[name]
        return behaviour.quota_defaults(self.type, strict)[name]

    def current_balance(self) -> Decimal:
        if self.balance is None:
            self.balance = Decimal(behaviour.DEFAULT_BALANCES.get(self.type, "0.00"))
        return self.balance

    _sid_by_e164: dict[str, str] = field(default_factory=dict, repr=False)

    def number_by_e164(self, e164: str) -> Number | None:
        sid = self._sid_by_e164.get(e164)
        return self.numbers.get(sid) if sid else None

    def add_number(self, number: Number) -> None:
        self.numbers.add(number)
        self._sid_by_e164[number.phone_number] = number.sid

    def remove_number(self, number: Number) -> None:
        self.numbers.remove(number.sid)
        self._sid_by_e164.pop(number.phone_number, None)


@dataclass(eq=False)
class Region:
    """One processing region of an account: its own Auth Token, API keys and data (Twilio: each
    region operates independently; credentials and resources exist only where they were created).
    Numbers, routes and addresses are the account's, seen from here."""

    account: Account = field(repr=False)
    name: str
    auth_token: str
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    credential_lists: Store[CredentialList] = field(default_factory=partial(Store, CREDENTIAL_LIST_RULES))
    ip_access_control_lists: Store[IpAccessControlList] = field(
        default_factory=partial(Store, IP_ACCESS_CONTROL_LIST_RULES)
    )
    trunks: Store[Trunk] = field(default_factory=partial(Store, TRUNK_RULES))

    @property
    def sid(self) -> str:
        return self.account.sid

    @property
    def status(self) -> str:
        return self.account.status

    @property
    def numbers(self) -> Store[Number]:
        return self.account.numbers

    def lists(self, kind: ListKind) -> Store[CredentialList] | Store[IpAccessControlList]:
        return self.credential_lists if kind == "credential_lists" else self.ip_access_control_lists

    @property
    def routes(self) -> dict[str, Route]:
        return self.account.trunk_routes

    @property
    def number_routes(self) -> dict[str, Route]:
        return self.account.number_routes


class World:
    """All state. Single-threaded (one event loop), so no locking."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - SIDs need uniqueness, not secrecy
        self.clear()

    def clear(self) -> None:
        """Forget everything but keep the SID generator going, so SIDs never repeat in a run."""
        self.accounts: dict[str, Account] = {}
        self.api_key_owner: dict[str, Region] = {}  # SK sid -> the region that created it
        self.domains: dict[str, DomainClaim] = {}  # live domain name -> owner and trunks (unique)
        self.reserved_domains: set[str] = set()
        self.inventory: dict[str, AvailableNumber] = {}  # Twilio's numbers for sale, by E.164
        self.address_rules: list[dict[str, Any]] = []  # see admin: /_emulator/address_rules
        self._phone_counter = 0

    def new_sid(self, prefix: str) -> str:
        return f"{prefix}{self._rng.getrandbits(128):032x}"

    # --- accounts --------------------------------------------------------------------------------
    def create_account(self, spec: dict[str, Any]) -> Account:
        """`spec` as the admin API takes it: the top-level credentials go to spec["region"] (us1 unless
        given), and so do the voice settings of the top-level numbers; spec["regions"] adds more."""
        sid = spec.get("sid") or self.new_sid("AC")
        if sid in self.accounts:
            raise TwilioError(409, behaviour.CODE_CONFLICT, f"Account {sid} already exists")
        created = now()
        account = Account(
            sid=sid,
            friendly_name=spec.get("friendly_name") or f"Emulated account {sid[-6:]}",
            status=spec.get("status") or "active",
            type=spec.get("type") or "Full",
            date_created=created,
            date_updated=created,
        )
        account.home_region = spec.get("region") or behaviour.DEFAULT_REGION
        self.apply_settings(account, spec)
        self.accounts[sid] = account
        self.add_region(account, account.home_region, spec)
        for name, region_spec in (spec.get("regions") or {}).items():
            self.add_region(account, name, region_spec or {})
        return account

    @staticmethod
    def apply_settings(account: Account, spec: dict[str, Any]) -> None:
        if spec.get("suspension_mode") is not None:
            account.suspension_mode = spec["suspension_mode"]
        if "concurrency_limit" in spec:
            account.concurrency_limit = spec["concurrency_limit"]
        if spec.get("quotas") is not None:
            account.quotas.update(spec["quotas"])
        if spec.get("balance") is not None:
            account.balance = Decimal(str(spec["balance"]))

    def add_region(self, account: Account, name: str, spec: dict[str, Any]) -> Region:
        """Credentials of `account` in processing region `name` (and numbers whose voice settings are
        given for it); adds to an existing one."""
        region = account.regions.get(name)
        if region is None:
            region = Region(account, name, spec.get("auth_token") or secrets.token_hex(16))
            account.regions[name] = region
        elif spec.get("auth_token"):
            region.auth_token = spec["auth_token"]
        for key in spec.get("api_keys") or []:
            key_sid = key.get("sid") or self.new_sid("SK")
            if key_sid in self.api_key_owner:
                raise TwilioError(409, behaviour.CODE_CONFLICT, f"API key {key_sid} already exists")
            region.api_keys[key_sid] = ApiKey(
                sid=key_sid,
                secret=key.get("secret") or secrets.token_hex(16),
                type=key.get("type") or behaviour.DEFAULT_API_KEY_TYPE,
                permissions=frozenset(key.get("permissions") or ()),
            )
            self.api_key_owner[key_sid] = region
        self.add_numbers(region, spec.get("incoming_phone_numbers") or [])
        return region

    def add_numbers(self, region: Region, specs: list[dict[str, Any]]) -> list[Number]:
        """Numbers of the account (global); voice_url, voice_application_sid and trunk_sid at the top
        of a spec are its configuration in `region`, "voice": {region: {...}} sets any region's."""
        account = region.account
        added = []
        for spec in specs:
            phone = spec.get("phone_number") or self._next_phone_number(account)
            if account.number_by_e164(phone) is not None:
                raise TwilioError(409, behaviour.CODE_CONFLICT, f"{phone} is already a number of the account")
            caps = {"voice": True, "sms": True, "mms": True, "fax": False}
            caps.update(spec.get("capabilities") or {})
            created = now()
            number = Number(
                sid=spec.get("sid") or self.new_sid("PN"),
                account_sid=account.sid,
                phone_number=phone,
                friendly_name=spec.get("friendly_name") or phone,
                capabilities=caps,
                date_created=created,
                date_updated=created,
                number_type=spec.get("type") or "local",
                iso_country=spec.get("iso_country") or country_of(phone),
                address_requirements=spec.get("address_requirements") or "none",
            )
            keys = ("voice_url", "voice_application_sid", "trunk_sid")
            voice: dict[str, dict[str, Any]] = {region.name: {k: spec[k] for k in keys if k in spec}}
            for name, config in (spec.get("voice") or {}).items():
                voice.setdefault(name, {}).update(config or {})
            for name, config in voice.items():
                self.set_voice(account, number, name, config)
            account.add_number(number)
            added.append(number)
        return added

    @staticmethod
    def set_voice(account: Account, number: Number, region_name: str, config: dict[str, Any]) -> None:
        """Seed a number's voice configuration in a region (admin); a trunk must be one of that region."""
        if not config:
            return
        trunk_sid = config.get("trunk_sid")
        region = account.regions.get(region_name)
        if trunk_sid and (region is None or trunk_sid not in region.trunks):
            raise invalid(f"trunk_sid {trunk_sid} is not a trunk of the account in {region_name}")
        target = number.config(region_name)
        for key in ("voice_url", "voice_application_sid", "trunk_sid"):
            if key in config:
                setattr(target, key, config[key] or None)
        if target.trunk_sid and "voice_application_sid" not in config:
            target.voice_application_sid = None
        number.date_updated = now()

    def _next_phone_number(self, account: Account) -> str:
        while True:
            self._phone_counter += 1
            phone = f"+1555{self._phone_counter:07d}"
            if account.number_by_e164(phone) is None:
                return phone

    def find_account(self, sid: str) -> Account | None:
        return self.accounts.get(sid)

    @staticmethod
    def check_quota(region: Region, name: str, used: int, strict: bool = False) -> None:
        """Refuse one more of `name` when `used` already reaches the account's quota."""
        limit = region.account.quota(name, strict)
        if used >= limit:
            raise TwilioError(
                behaviour.QUOTA_STATUS,
                behaviour.QUOTA_CODES[name],
                behaviour.QUOTA_MESSAGES[name].format(limit=limit),
            )

    # --- trunk domains ---------------------------------------------------------------------------
    def claim_domain(self, region: Region, domain: str, trunk_sid: str, strict: bool = False) -> str:
        """Give `domain` to the trunk in `region`. Unique across Twilio; one account may hold it once
        per region; a subdomain needs its parent to be a live domain of the same account."""
        name = domain.lower()
        if not behaviour.DOMAIN_NAME_RE.fullmatch(name):
            raise invalid(
                "DomainName must contain only letters, digits, '-' and '.' and end with .pstn.twilio.com"
            )
        if len(name.split(".")) > behaviour.DOMAIN_SUFFIX_LABELS + 1:
            parent = self.domains.get(name.split(".", 1)[1])
            if parent is None or parent.account_sid != region.sid:
                raise TwilioError(
                    behaviour.DEPENDENCY_STATUS,
                    behaviour.CODE_TRUNK_DEPENDENCIES,
                    "Cannot create subdomain: the parent domain does not exist or is not the account's",
                )
        claim = self.domains.get(name)
        if claim is None:
            if name in self.reserved_domains:
                raise TwilioError(400, behaviour.CODE_DOMAIN_TAKEN, "Trunk Domain already taken")
            claim = self.domains[name] = DomainClaim(region.sid)
        elif claim.account_sid != region.sid:
            raise TwilioError(400, behaviour.CODE_DOMAIN_TAKEN, "Trunk Domain already taken")
        else:
            holder = claim.trunks.get(region.name)
            if holder is not None and holder != trunk_sid:
                code = behaviour.CODE_TRUNK_VALIDATION if strict else behaviour.CODE_DOMAIN_TAKEN
                message = (
                    "Cannot create more than one Trunk with the same Termination URI"
                    if strict
                    else ("Trunk Domain already taken")
                )
                raise TwilioError(400, code, message)
        claim.trunks[region.name] = trunk_sid
        return name

    def has_subdomains(self, domain: str) -> bool:
        suffix = "." + domain
        return any(name.endswith(suffix) for name in self.domains)

    def last_holder(self, region: Region, trunk: Trunk) -> bool:
        """Whether `trunk` is the only trunk holding its domain (in any region)."""
        claim = self.domains.get(trunk.domain_name or "")
        return claim is not None and set(claim.trunks) == {region.name}

    def release_domain(self, region: Region, domain: str | None) -> None:
        if not domain:
            return
        claim = self.domains.get(domain)
        if claim is None:
            return
        claim.trunks.pop(region.name, None)
        if not claim.trunks:
            del self.domains[domain]
            if behaviour.DOMAIN_RESERVED_AFTER_DELETE:
                self.reserved_domains.add(domain)

    # --- cascades --------------------------------------------------------------------------------
    def delete_trunk(self, region: Region, trunk: Trunk) -> None:
        """Drop links and origination URLs, detach numbers (in this region); credential lists and IP
        ACLs survive; the domain's route goes with the last trunk holding the domain."""
        region.trunks.remove(trunk.sid)
        if trunk.domain_name and self.last_holder(region, trunk):
            region.account.trunk_routes.pop(trunk.domain_name, None)
        self.release_domain(region, trunk.domain_name)
        for number in region.numbers.values():
            config = number.voice.get(region.name)
            if config is not None and config.trunk_sid == trunk.sid:
                config.trunk_sid = None
                number.date_updated = now()

    @staticmethod
    def delete_list(region: Region, kind: ListKind, sid: str) -> None:
        """A credential list or IP access control list goes with its entries and is unlinked from
        every trunk."""
        region.lists(kind).remove(sid)
        for trunk in region.trunks.values():
            trunk.links(kind).remove(sid)

    @staticmethod
    def trunks_linking(region: Region, kind: ListKind, sid: str) -> list[str]:
        """The trunks of `region` that link the list `sid`."""
        return [t.sid for t in region.trunks.values() if sid in t.links(kind)]

    @staticmethod
    def numbers_on_trunks(region: Region) -> list[Number]:
        return [n for n in region.numbers.values() if n.trunk_in(region.name)]

    @staticmethod
    def trunk_numbers(region: Region, trunk_sid: str) -> list[Number]:
        return [n for n in region.numbers.values() if n.trunk_in(region.name) == trunk_sid]

    @staticmethod
    def attach_number(region: Region, number: Number, trunk_sid: str | None) -> None:
        config = number.config(region.name)
        config.trunk_sid = trunk_sid
        if trunk_sid:
            config.voice_application_sid = None  # documented: setting a trunk deletes the application
        number.date_updated = now()

    def release_number(self, account: Account, number: Number) -> None:
        """The number leaves the account (every region) with its route; it is not for sale again."""
        account.remove_number(number)
        account.number_routes.pop(number.phone_number, None)

    @staticmethod
    def address_dependents(account: Account, address_sid: str) -> list[Number]:
        return [
            n for n in account.numbers.values() if address_sid in (n.address_sid, n.emergency_address_sid)
        ]

    @staticmethod
    def link_emergency_address(account: Account, number: Number, address_sid: str | None) -> None:
        number.emergency_address_sid = address_sid
        if address_sid is None:
            number.emergency_address_status = "unregistered"
        else:
            address = account.addresses[address_sid]
            registrable = address.iso_country.upper() in behaviour.EMERGENCY_REGISTRATION_COUNTRIES
            number.emergency_address_status = "registered" if registrable else "registration-failure"
        number.date_updated = now()

    # --- lookups that raise 404 (the stores' fetch for the rest) ----------------------------------
    def owned_domain(self, region: Region, domain: str) -> str:
        """`domain` (lower-case) if the account holds it in any region, else 404."""
        name = domain.lower()
        claim = self.domains.get(name)
        if claim is None or claim.account_sid != region.sid:
            raise not_found("The requested resource /Trunks/" + domain)
        return name

    # --- SIP admission (admin checks) ------------------------------------------------------------
    def termination_trunk(self, domain: str, region_name: str | None = None) -> tuple[Region, Trunk] | None:
        """The trunk a SIP request to `domain` reaches: the one in `region_name` if given, else in the
        region the domain's route names, else in the account's home region, else any (assumed:
        Twilio says a trunk is active in one region at a time but not how the termination region is
        picked)."""
        claim = self.domains.get(domain.lower())
        account = self.accounts.get(claim.account_sid) if claim is not None else None
        if claim is None or account is None or not claim.trunks:
            return None
        if region_name is not None:
            order = [region_name]
        else:
            route = account.trunk_routes.get(domain.lower())
            order = [route.voice_region] if route is not None else []
            order += [account.home_region, *sorted(claim.trunks)]
        for name in order:
            trunk_sid = claim.trunks.get(name)
            region = account.regions.get(name)
            if trunk_sid and region is not None and trunk_sid in region.trunks:
                return region, region.trunks[trunk_sid]
        return None

    def sip_auth(
        self, domain: str, username: str, password: str, region_name: str | None = None
    ) -> tuple[bool, str]:
        found = self.termination_trunk(domain, region_name)
        if found is None:
            return False, "no trunk has this domain name"
        region, trunk = found
        if not trunk.credential_lists:
            return False, "no credential list is attached to the trunk"
        digest = sip_digest(username, password)
        for cl_sid in trunk.credential_lists:
            for cred in region.credential_lists[cl_sid].credentials.values():
                if cred.username == username:
                    if secrets.compare_digest(cred.password_digest, digest):
                        return True, "ok"
                    return False, "wrong password"
        return False, "unknown username"

    def ip_auth(self, domain: str, source_ip: str, region_name: str | None = None) -> tuple[bool, str]:
        """Would Twilio accept a SIP request from `source_ip` on the trunk by IP: is it inside an entry
        of an IP access control list attached to the trunk (twilio.com/docs/sip-trunking/api/
        ipaccesscontrollist-resource: "the source IP address must be in one of the lists")."""
        found = self.termination_trunk(domain, region_name)
        if found is None:
            return False, "no trunk has this domain name"
        region, trunk = found
        if not trunk.ip_access_control_lists:
            return False, "no IP access control list is attached to the trunk"
        try:
            source = ipaddress.IPv4Address(source_ip)
        except ValueError:
            return False, "not an IPv4 address"
        for al_sid in trunk.ip_access_control_lists:
            for entry in region.ip_access_control_lists[al_sid].ip_addresses.values():
                network = ipaddress.IPv4Network(
                    f"{entry.ip_address}/{entry.cidr_prefix_length}", strict=False
                )
                if source in network:
                    return True, "ok"
        return False, "the address is in no attached IP access control list"

    def call_auth(
        self,
        domain: str,
        *,
        source_ip: str | None,
        username: str | None,
        password: str | None,
        both_required: bool,
        region_name: str | None = None,
    ) -> dict[str, Any]:
        """Would a SIP request to `domain` from `source_ip` with these digest credentials be admitted:
        each attached method is checked; with both attached, one passing suffices unless
        `both_required` (strict mode)."""
        found = self.termination_trunk(domain, region_name)
        if found is None:
            return {"ok": False, "reason": "no trunk has this domain name", "ip": None, "credentials": None}
        _, trunk = found
        checks: dict[str, dict[str, Any] | None] = {"ip": None, "credentials": None}
        if trunk.ip_access_control_lists:
            ok, why = (
                self.ip_auth(domain, source_ip or "", region_name)
                if source_ip
                else (False, "no source address")
            )
            checks["ip"] = {"ok": ok, "reason": why}
        if trunk.credential_lists:
            ok, why = (
                self.sip_auth(domain, username, password or "", region_name)
                if username
                else (False, "no credentials offered")
            )
            checks["credentials"] = {"ok": ok, "reason": why}
        attached = [c for c in checks.values() if c is not None]
        if not attached:
            verdict, reason = False, "the trunk has no termination authentication (auth_type is empty)"
        elif both_required:
            failed = [name for name, c in checks.items() if c is not None and not c["ok"]]
            verdict = not failed
            reason = "ok" if verdict else f"{' and '.join(failed)} check failed (both are required)"
        else:
            verdict = any(c["ok"] for c in attached)
            reason = "ok" if verdict else "no attached check passed"
        return {"ok": verdict, "reason": reason, **checks}
