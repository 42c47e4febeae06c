"""The emulator's in-memory world: accounts and everything they own, with Twilio's cascades."""

from __future__ import annotations

import hashlib
import ipaddress
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twilio_operator.emulator import behaviour
from twilio_operator.emulator.errors import TwilioError, invalid, not_found


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def sip_digest(username: str, password: str) -> str:
    """Digest HA1, the only form in which a SIP password is kept."""
    text = f"{username}:{behaviour.SIP_DIGEST_REALM}:{password}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Number:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    capabilities: dict[str, bool]
    date_created: datetime
    date_updated: datetime
    trunk_sid: str | None = None
    voice_application_sid: str | None = None
    voice_url: str | None = None


@dataclass
class Credential:
    sid: str
    account_sid: str
    credential_list_sid: str
    username: str
    password_digest: str
    date_created: datetime
    date_updated: datetime


@dataclass
class CredentialList:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    credentials: dict[str, Credential] = field(default_factory=dict)


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


@dataclass
class IpAccessControlList:
    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    ip_addresses: dict[str, IpAddress] = field(default_factory=dict)


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
    # credential list sid -> date the link was made
    credential_lists: dict[str, datetime] = field(default_factory=dict)
    # IP access control list sid -> date the link was made
    ip_access_control_lists: dict[str, datetime] = field(default_factory=dict)
    origination_urls: dict[str, OriginationUrl] = field(default_factory=dict)


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
class Account:
    """What an account is everywhere: identity, status, type and the emulator's per-account settings.
    Credentials and data live in its processing regions (`Region`), which are independent."""

    sid: str
    friendly_name: str
    status: str
    type: str
    date_created: datetime
    date_updated: datetime
    regions: dict[str, Region] = field(default_factory=dict)
    home_region: str = behaviour.DEFAULT_REGION  # where the admin API's top-level credentials live
    # reject: every call 401/20005; readable: the account fetch answers 200 with its status.
    suspension_mode: str = behaviour.SUSPENSION_MODE_DEFAULT
    concurrency_limit: int | None = None  # None: the global setting applies
    quotas: dict[str, int] = field(default_factory=dict)  # overrides of behaviour.quota_defaults

    def quota(self, name: str) -> int:
        if name in self.quotas:
            return self.quotas[name]
        return behaviour.quota_defaults(self.type)[name]


@dataclass(eq=False)
class Region:
    """One processing region of an account: its own Auth Token, API keys and data (Twilio: each
    region operates independently; credentials and resources exist only where they were created)."""

    account: Account = field(repr=False)
    name: str
    auth_token: str
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    numbers: dict[str, Number] = field(default_factory=dict)
    credential_lists: dict[str, CredentialList] = field(default_factory=dict)
    ip_access_control_lists: dict[str, IpAccessControlList] = field(default_factory=dict)
    trunks: dict[str, Trunk] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)  # by trunk domain name
    number_routes: dict[str, Route] = field(default_factory=dict)  # by E.164 number

    @property
    def sid(self) -> str:
        return self.account.sid

    @property
    def status(self) -> str:
        return self.account.status


class World:
    """All state. Single-threaded (one event loop), so no locking."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - SIDs need uniqueness, not secrecy
        self.clear()

    def clear(self) -> None:
        """Forget everything but keep the SID generator going, so SIDs never repeat in a run."""
        self.accounts: dict[str, Account] = {}
        self.api_key_owner: dict[str, Region] = {}  # SK sid -> the region that created it
        self.domains: dict[str, str] = {}  # live domain name -> trunk sid (unique across Twilio)
        self.reserved_domains: set[str] = set()
        self._phone_counter = 0

    def new_sid(self, prefix: str) -> str:
        return f"{prefix}{self._rng.getrandbits(128):032x}"

    # --- accounts --------------------------------------------------------------------------------
    def create_account(self, spec: dict[str, Any]) -> Account:
        """`spec` as the admin API takes it: the top-level credentials and numbers go to
        spec["region"] (us1 unless given); spec["regions"] adds more regions."""
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

    def add_region(self, account: Account, name: str, spec: dict[str, Any]) -> Region:
        """Credentials (and numbers) of `account` in processing region `name`; adds to an existing one."""
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

    def add_numbers(self, account: Region, specs: list[dict[str, Any]]) -> list[Number]:
        added = []
        for spec in specs:
            phone = spec.get("phone_number") or self._next_phone_number()
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
                voice_application_sid=spec.get("voice_application_sid"),
                voice_url=spec.get("voice_url"),
            )
            account.numbers[number.sid] = number
            added.append(number)
        return added

    def _next_phone_number(self) -> str:
        self._phone_counter += 1
        return f"+1555{self._phone_counter:07d}"

    def find_account(self, sid: str) -> Account | None:
        return self.accounts.get(sid)

    def all_regions(self) -> list[Region]:
        return [r for a in self.accounts.values() for r in a.regions.values()]

    @staticmethod
    def check_quota(account: Region, name: str, used: int) -> None:
        """Refuse one more of `name` when `used` already reaches the account's quota."""
        limit = account.account.quota(name)
        if used >= limit:
            status, code = behaviour.QUOTA_ERROR
            raise TwilioError(status, code, behaviour.QUOTA_MESSAGES[name].format(limit=limit))

    # --- trunks ----------------------------------------------------------------------------------
    def claim_domain(self, domain: str, trunk_sid: str) -> str:
        name = domain.lower()
        if not behaviour.DOMAIN_NAME_RE.fullmatch(name):
            raise invalid(
                "DomainName must contain only letters, digits and '-' and end with .pstn.twilio.com"
            )
        owner = self.domains.get(name)
        if (owner is not None and owner != trunk_sid) or (owner is None and name in self.reserved_domains):
            raise TwilioError(400, behaviour.CODE_DOMAIN_TAKEN, "Trunk Domain already taken")
        self.domains[name] = trunk_sid
        return name

    def release_domain(self, domain: str | None) -> None:
        if domain:
            self.domains.pop(domain, None)
            if behaviour.DOMAIN_RESERVED_AFTER_DELETE:
                self.reserved_domains.add(domain)

    def delete_trunk(self, account: Region, trunk: Trunk) -> None:
        """Drop links and origination URLs, detach numbers; credential lists and IP ACLs survive."""
        del account.trunks[trunk.sid]
        self.release_domain(trunk.domain_name)
        if trunk.domain_name:
            account.routes.pop(trunk.domain_name, None)
        for number in account.numbers.values():
            if number.trunk_sid == trunk.sid:
                number.trunk_sid = None
                number.date_updated = now()

    def delete_credential_list(self, account: Region, cred_list: CredentialList) -> None:
        """Deletes its credentials and unlinks it from every trunk."""
        del account.credential_lists[cred_list.sid]
        for trunk in account.trunks.values():
            trunk.credential_lists.pop(cred_list.sid, None)

    def delete_ip_access_control_list(self, account: Region, acl: IpAccessControlList) -> None:
        """Deletes its addresses and unlinks it from every trunk (as for credential lists)."""
        del account.ip_access_control_lists[acl.sid]
        for trunk in account.trunks.values():
            trunk.ip_access_control_lists.pop(acl.sid, None)

    @staticmethod
    def numbers_on_trunks(account: Region) -> list[Number]:
        return [n for n in account.numbers.values() if n.trunk_sid]

    def trunk_numbers(self, account: Region, trunk_sid: str) -> list[Number]:
        return [n for n in account.numbers.values() if n.trunk_sid == trunk_sid]

    def attach_number(self, number: Number, trunk_sid: str | None) -> None:
        number.trunk_sid = trunk_sid
        if trunk_sid:
            number.voice_application_sid = None  # documented: setting a trunk deletes the application
        number.date_updated = now()

    # --- lookups that raise 404 ------------------------------------------------------------------
    @staticmethod
    def get_trunk(account: Region, sid: str) -> Trunk:
        trunk = account.trunks.get(sid)
        if trunk is None:
            raise not_found("The requested resource /Trunks/" + sid)
        return trunk

    @staticmethod
    def get_credential_list(account: Region, sid: str) -> CredentialList:
        found = account.credential_lists.get(sid)
        if found is None:
            raise not_found("The requested resource /CredentialLists/" + sid)
        return found

    @staticmethod
    def get_ip_access_control_list(account: Region, sid: str) -> IpAccessControlList:
        found = account.ip_access_control_lists.get(sid)
        if found is None:
            raise not_found("The requested resource /IpAccessControlLists/" + sid)
        return found

    @staticmethod
    def get_number(account: Region, sid: str) -> Number:
        found = account.numbers.get(sid)
        if found is None:
            raise not_found("The requested resource /IncomingPhoneNumbers/" + sid)
        return found

    def trunk_by_domain(self, account: Region, domain: str) -> Trunk:
        trunk_sid = self.domains.get(domain.lower())
        trunk = account.trunks.get(trunk_sid) if trunk_sid else None
        if trunk is None:
            raise not_found("The requested resource /Trunks/" + domain)
        return trunk

    # --- SIP authentication (admin check) --------------------------------------------------------
    def sip_auth(self, domain: str, username: str, password: str) -> tuple[bool, str]:
        trunk_sid = self.domains.get(domain.lower())
        if trunk_sid is None:
            return False, "no trunk has this domain name"
        account = next((a for a in self.all_regions() if trunk_sid in a.trunks), None)
        if account is None:
            return False, "no trunk has this domain name"
        trunk = account.trunks[trunk_sid]
        if not trunk.credential_lists:
            return False, "no credential list is attached to the trunk"
        digest = sip_digest(username, password)
        for cl_sid in trunk.credential_lists:
            for cred in account.credential_lists[cl_sid].credentials.values():
                if cred.username == username:
                    if secrets.compare_digest(cred.password_digest, digest):
                        return True, "ok"
                    return False, "wrong password"
        return False, "unknown username"

    def ip_auth(self, domain: str, source_ip: str) -> tuple[bool, str]:
        """Would Twilio accept a SIP request from `source_ip` on the trunk by IP: is it inside an entry
        of an IP access control list attached to the trunk (twilio.com/docs/sip-trunking/api/
        ipaccesscontrollist-resource: "the source IP address must be in one of the lists")."""
        trunk_sid = self.domains.get(domain.lower())
        account = next((a for a in self.all_regions() if trunk_sid in a.trunks), None) if trunk_sid else None
        if account is None or trunk_sid is None:
            return False, "no trunk has this domain name"
        trunk = account.trunks[trunk_sid]
        if not trunk.ip_access_control_lists:
            return False, "no IP access control list is attached to the trunk"
        try:
            source = ipaddress.IPv4Address(source_ip)
        except ValueError:
            return False, "not an IPv4 address"
        for al_sid in trunk.ip_access_control_lists:
            for entry in account.ip_access_control_lists[al_sid].ip_addresses.values():
                network = ipaddress.IPv4Network(
                    f"{entry.ip_address}/{entry.cidr_prefix_length}", strict=False
                )
                if source in network:
                    return True, "ok"
        return False, "the address is in no attached IP access control list"
